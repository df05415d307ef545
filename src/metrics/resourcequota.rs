//! ResourceQuota families, in kube-state-metrics' order (`internal/store/resourcequota.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::ResourceQuota;

pub static RESOURCEQUOTA: ResourceDef<ResourceQuota> = ResourceDef {
    name: "resourcequotas",
    identity: resourcequota_identity,
    families: FAMILIES,
};

fn resourcequota_identity(o: &ResourceQuota) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("resourcequota", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ResourceQuota>] = &[];
