//! ConfigMap families, in kube-state-metrics' order (`internal/store/configmap.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::ConfigMap;

pub static CONFIGMAP: ResourceDef<ConfigMap> = ResourceDef {
    name: "configmaps",
    identity: configmap_identity,
    families: FAMILIES,
};

fn configmap_identity(o: &ConfigMap) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("configmap", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ConfigMap>] = &[];
