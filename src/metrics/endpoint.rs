//! Endpoints families, in kube-state-metrics' order (`internal/store/endpoint.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Endpoints;

pub static ENDPOINT: ResourceDef<Endpoints> = ResourceDef {
    name: "endpoints",
    identity: endpoint_identity,
    families: FAMILIES,
};

fn endpoint_identity(o: &Endpoints) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("endpoint", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Endpoints>] = &[];
