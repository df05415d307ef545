//! StorageClass families, in kube-state-metrics' order (`internal/store/storageclass.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::storage::v1::StorageClass;

pub static STORAGECLASS: ResourceDef<StorageClass> = ResourceDef {
    name: "storageclasses",
    identity: storageclass_identity,
    families: FAMILIES,
};

fn storageclass_identity(o: &StorageClass) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("storageclass", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<StorageClass>] = &[];
