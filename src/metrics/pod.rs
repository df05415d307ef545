//! Pod families, in kube-state-metrics' order (`internal/store/pod.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Pod;

pub static POD: ResourceDef<Pod> = ResourceDef {
    name: "pods",
    identity: pod_identity,
    families: FAMILIES,
};

fn pod_identity(o: &Pod) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("pod", m.name.as_deref().unwrap_or("")),
        ("uid", m.uid.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Pod>] = &[];
