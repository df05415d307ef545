//! ReplicationController families, in kube-state-metrics' order (`internal/store/replicationcontroller.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::ReplicationController;

pub static REPLICATIONCONTROLLER: ResourceDef<ReplicationController> = ResourceDef {
    name: "replicationcontrollers",
    identity: replicationcontroller_identity,
    families: FAMILIES,
};

fn replicationcontroller_identity(o: &ReplicationController) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("replicationcontroller", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ReplicationController>] = &[];
