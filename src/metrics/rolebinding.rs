//! RoleBinding families, in kube-state-metrics' order (`internal/store/rolebinding.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::RoleBinding;

pub static ROLEBINDING: ResourceDef<RoleBinding> = ResourceDef {
    name: "rolebindings",
    identity: rolebinding_identity,
    families: FAMILIES,
};

fn rolebinding_identity(o: &RoleBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("rolebinding", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<RoleBinding>] = &[];
