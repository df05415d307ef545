//! ReplicaSet families, in kube-state-metrics' order (`internal/store/replicaset.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::ReplicaSet;

pub static REPLICASET: ResourceDef<ReplicaSet> = ResourceDef {
    name: "replicasets",
    identity: replicaset_identity,
    families: FAMILIES,
};

fn replicaset_identity(o: &ReplicaSet) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("replicaset", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ReplicaSet>] = &[];
