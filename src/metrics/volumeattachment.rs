//! VolumeAttachment families, in kube-state-metrics' order (`internal/store/volumeattachment.go`).
//!
//! Unlike other resources, `kube_volumeattachment_labels` ignores
//! `--metric-labels-allowlist` and always exposes every label, and
//! `kube_volumeattachment_status_attachment_metadata` exposes every attachment metadata key.

use crate::metrics::common::created;
use crate::metrics::family::{identity_labels, kube_map_to_labels_all, Family};
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

static FAMILIES: &[Family<VolumeAttachment>] = &[
    Family::experimental(
        "kube_volumeattachment_labels",
        "Kubernetes labels converted to Prometheus labels.",
        |v, _, s| {
            s.push(
                &kube_map_to_labels_all("label", v.metadata.labels.as_ref()),
                1.0,
            )
        },
    ),
    Family::experimental(
        "kube_volumeattachment_info",
        "Information about volumeattachment.",
        |v, _, s| {
            s.push(
                &[
                    ("attacher", v.spec.attacher.as_str()),
                    ("node", v.spec.node_name.as_str()),
                ],
                1.0,
            )
        },
    ),
    Family::experimental(
        "kube_volumeattachment_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_volumeattachment_spec_source_persistentvolume",
        "PersistentVolume source reference.",
        |v, _, s| {
            if let Some(pv) = v.spec.source.persistent_volume_name.as_deref() {
                s.push(&[("volumename", pv)], 1.0);
            }
        },
    ),
    Family::experimental(
        "kube_volumeattachment_status_attached",
        "Information about volumeattachment.",
        |v, _, s| {
            let attached = v.status.as_ref().is_some_and(|st| st.attached);
            s.value(if attached { 1.0 } else { 0.0 })
        },
    ),
    Family::experimental(
        "kube_volumeattachment_status_attachment_metadata",
        "volumeattachment metadata.",
        |v, _, s| {
            let meta = v
                .status
                .as_ref()
                .and_then(|st| st.attachment_metadata.as_ref());
            s.push(&kube_map_to_labels_all("metadata", meta), 1.0)
        },
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_volumeattachment_labels",
        "kube_volumeattachment_info",
        "kube_volumeattachment_created",
        "kube_volumeattachment_spec_source_persistentvolume",
        "kube_volumeattachment_status_attached",
        "kube_volumeattachment_status_attachment_metadata",
    ];

    const NAME: &str = "csi-5ff16a1ad085261021e21c6cb3a6defb979a8794f25a4f90f6285664cff37224";

    fn rich() -> VolumeAttachment {
        obj(&format!(
            r#"{{
                "metadata": {{"name": "{NAME}", "generation": 2, "labels": {{"app": "foobar"}},
                             "creationTimestamp": "2017-08-01T06:30:18Z"}},
                "spec": {{"attacher": "cinder.csi.openstack.org", "nodeName": "node1",
                          "source": {{"persistentVolumeName": "pvc-44f6ff3f-ba9b-49c4-9b95-8b01c4bd4bab"}}}},
                "status": {{"attached": true, "attachmentMetadata": {{"DevicePath": "/dev/sdd"}}}}
            }}"#
        ))
    }

    #[test]
    fn every_family_like_kube_state_metrics_test_without_any_allowlist() {
        let id = format!(r#"volumeattachment="{NAME}""#);
        assert_eq!(
            render_lines(&VOLUMEATTACHMENT, &rich(), RenderCtx::default(), NAMES),
            vec![
                format!(r#"kube_volumeattachment_labels{{{id},label_app="foobar"}} 1"#),
                format!(
                    r#"kube_volumeattachment_info{{{id},attacher="cinder.csi.openstack.org",node="node1"}} 1"#
                ),
                format!(r#"kube_volumeattachment_created{{{id}}} 1.501569018e+09"#),
                format!(
                    r#"kube_volumeattachment_spec_source_persistentvolume{{{id},volumename="pvc-44f6ff3f-ba9b-49c4-9b95-8b01c4bd4bab"}} 1"#
                ),
                format!(r#"kube_volumeattachment_status_attached{{{id}}} 1"#),
                format!(
                    r#"kube_volumeattachment_status_attachment_metadata{{{id},metadata_device_path="/dev/sdd"}} 1"#
                ),
            ]
        );
    }

    #[test]
    fn inline_source_no_status_no_labels() {
        let v: VolumeAttachment = obj(r#"{"metadata": {"name": "va"},
                "spec": {"attacher": "a", "nodeName": "n", "source": {"inlineVolumeSpec": {}}}}"#);
        assert_eq!(
            render_lines(&VOLUMEATTACHMENT, &v, RenderCtx::default(), NAMES),
            vec![
                r#"kube_volumeattachment_labels{volumeattachment="va"} 1"#,
                r#"kube_volumeattachment_info{volumeattachment="va",attacher="a",node="n"} 1"#,
                r#"kube_volumeattachment_status_attached{volumeattachment="va"} 0"#,
                r#"kube_volumeattachment_status_attachment_metadata{volumeattachment="va"} 1"#,
            ]
        );
    }

    #[test]
    fn detached_with_conflicting_metadata_keys() {
        let v: VolumeAttachment = obj(r#"{"metadata": {"name": "va"},
                "spec": {"attacher": "a", "nodeName": "n", "source": {}},
                "status": {"attached": false,
                           "attachmentMetadata": {"a-b": "1", "a.b": "2", "lun": "3"}}}"#);
        assert_eq!(
            render_lines(&VOLUMEATTACHMENT, &v, RenderCtx::default(), &NAMES[4..]),
            vec![
                r#"kube_volumeattachment_status_attached{volumeattachment="va"} 0"#,
                r#"kube_volumeattachment_status_attachment_metadata{volumeattachment="va",metadata_a_b_conflict1="1",metadata_a_b_conflict2="2",metadata_lun="3"} 1"#,
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        let lines = render_lines(&VOLUMEATTACHMENT, &rich(), RenderCtx::default(), NAMES);
        assert_catalog_labels("volumeattachments", &lines);
    }
}
