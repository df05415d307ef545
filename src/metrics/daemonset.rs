//! DaemonSet families, in kube-state-metrics' order (`internal/store/daemonset.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::DaemonSet;

pub static DAEMONSET: ResourceDef<DaemonSet> = ResourceDef {
    name: "daemonsets",
    identity: daemonset_identity,
    families: FAMILIES,
};

fn daemonset_identity(o: &DaemonSet) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("daemonset", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<DaemonSet>] = &[];
