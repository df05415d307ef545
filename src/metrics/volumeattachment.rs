//! VolumeAttachment families, in kube-state-metrics' order (`internal/store/volumeattachment.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::storage::v1::VolumeAttachment;

pub static VOLUMEATTACHMENT: ResourceDef<VolumeAttachment> = ResourceDef {
    name: "volumeattachments",
    identity: volumeattachment_identity,
    families: FAMILIES,
};

fn volumeattachment_identity(o: &VolumeAttachment) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("volumeattachment", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<VolumeAttachment>] = &[];
