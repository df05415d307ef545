//! Deployment families, in kube-state-metrics' order (`internal/store/deployment.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::Deployment;

pub static DEPLOYMENT: ResourceDef<Deployment> = ResourceDef {
    name: "deployments",
    identity: deployment_identity,
    families: FAMILIES,
};

fn deployment_identity(o: &Deployment) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("deployment", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Deployment>] = &[];
