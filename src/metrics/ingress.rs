//! Ingress families, in kube-state-metrics' order (`internal/store/ingress.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::networking::v1::Ingress;

pub static INGRESS: ResourceDef<Ingress> = ResourceDef {
    name: "ingresses",
    identity: ingress_identity,
    families: FAMILIES,
};

fn ingress_identity(o: &Ingress) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("ingress", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Ingress>] = &[];
