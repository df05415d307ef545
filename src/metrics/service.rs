//! Service families, in kube-state-metrics' order (`internal/store/service.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Service;

pub static SERVICE: ResourceDef<Service> = ResourceDef {
    name: "services",
    identity: service_identity,
    families: FAMILIES,
};

fn service_identity(o: &Service) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("service", m.name.as_deref().unwrap_or("")),
        ("uid", m.uid.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Service>] = &[];
