//! Namespace families, in kube-state-metrics' order (`internal/store/namespace.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Namespace;

pub static NAMESPACE: ResourceDef<Namespace> = ResourceDef {
    name: "namespaces",
    identity: namespace_identity,
    families: FAMILIES,
};

fn namespace_identity(o: &Namespace) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("namespace", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<Namespace>] = &[];
