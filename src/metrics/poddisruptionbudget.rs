//! PodDisruptionBudget families, in kube-state-metrics' order (`internal/store/poddisruptionbudget.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

pub static PODDISRUPTIONBUDGET: ResourceDef<PodDisruptionBudget> = ResourceDef {
    name: "poddisruptionbudgets",
    identity: poddisruptionbudget_identity,
    families: FAMILIES,
};

fn poddisruptionbudget_identity(o: &PodDisruptionBudget) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("poddisruptionbudget", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<PodDisruptionBudget>] = &[];
