//! StatefulSet families, in kube-state-metrics' order (`internal/store/statefulset.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::StatefulSet;

pub static STATEFULSET: ResourceDef<StatefulSet> = ResourceDef {
    name: "statefulsets",
    identity: statefulset_identity,
    families: FAMILIES,
};

fn statefulset_identity(o: &StatefulSet) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("statefulset", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<StatefulSet>] = &[];
