//! ClusterRoleBinding families, in kube-state-metrics' order (`internal/store/clusterrolebinding.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;

pub static CLUSTERROLEBINDING: ResourceDef<ClusterRoleBinding> = ResourceDef {
    name: "clusterrolebindings",
    identity: clusterrolebinding_identity,
    families: FAMILIES,
};

fn clusterrolebinding_identity(o: &ClusterRoleBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("clusterrolebinding", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<ClusterRoleBinding>] = &[];
