//! PersistentVolume families, in kube-state-metrics' order (`internal/store/persistentvolume.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::PersistentVolume;

pub static PERSISTENTVOLUME: ResourceDef<PersistentVolume> = ResourceDef {
    name: "persistentvolumes",
    identity: persistentvolume_identity,
    families: FAMILIES,
};

fn persistentvolume_identity(o: &PersistentVolume) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("persistentvolume", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<PersistentVolume>] = &[];
