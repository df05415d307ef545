//! PersistentVolumeClaim families, in kube-state-metrics' order (`internal/store/persistentvolumeclaim.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;

pub static PERSISTENTVOLUMECLAIM: ResourceDef<PersistentVolumeClaim> = ResourceDef {
    name: "persistentvolumeclaims",
    identity: persistentvolumeclaim_identity,
    families: FAMILIES,
};

fn persistentvolumeclaim_identity(o: &PersistentVolumeClaim) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("persistentvolumeclaim", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<PersistentVolumeClaim>] = &[];
