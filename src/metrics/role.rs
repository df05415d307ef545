//! Role families, in kube-state-metrics' order (`internal/store/role.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::Role;

pub static ROLE: ResourceDef<Role> = ResourceDef {
    name: "roles",
    identity: role_identity,
    families: FAMILIES,
};

fn role_identity(o: &Role) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("role", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Role>] = &[];
