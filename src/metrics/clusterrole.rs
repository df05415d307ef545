//! ClusterRole families, in kube-state-metrics' order (`internal/store/clusterrole.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::ClusterRole;

pub static CLUSTERROLE: ResourceDef<ClusterRole> = ResourceDef {
    name: "clusterroles",
    identity: clusterrole_identity,
    families: FAMILIES,
};

fn clusterrole_identity(o: &ClusterRole) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("clusterrole", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<ClusterRole>] = &[];
