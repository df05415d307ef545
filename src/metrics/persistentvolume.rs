//! PersistentVolume families, in kube-state-metrics' order (`internal/store/persistentvolume.go`).

use crate::metrics::common::{annotations, created, deletion_timestamp, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::quantity::parse_quantity;
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

static FAMILIES: &[Family<PersistentVolume>] = &[
    Family::stable(
        "kube_persistentvolume_claim_ref",
        "Information about the Persistent Volume Claim Reference.",
        claim_ref,
    ),
    Family::experimental(
        "kube_persistentvolume_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_persistentvolume_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable(
        "kube_persistentvolume_status_phase",
        "The phase indicates if a volume is available, bound to a claim, or released by a claim.",
        status_phase,
    ),
    Family::stable(
        "kube_persistentvolume_info",
        "Information about persistentvolume.",
        info,
    ),
    Family::stable(
        "kube_persistentvolume_capacity_bytes",
        "Persistentvolume capacity in bytes.",
        capacity_bytes,
    ),
    Family::experimental(
        "kube_persistentvolume_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_persistentvolume_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    Family::experimental(
        "kube_persistentvolume_csi_attributes",
        "CSI attributes of the Persistent Volume.",
        csi_attributes,
    )
    .opt_in(),
    Family::experimental(
        "kube_persistentvolume_volume_mode",
        "Volume Mode information for the PersistentVolume.",
        volume_mode,
    ),
    Family::experimental(
        "kube_persistentvolume_access_mode",
        "The access mode(s) specified by the persistent volume.",
        access_mode,
    ),
];

fn claim_ref(o: &PersistentVolume, _: &RenderCtx, s: &mut Samples) {
    let Some(r) = o.spec.as_ref().and_then(|sp| sp.claim_ref.as_ref()) else {
        return;
    };
    s.push(
        &[
            ("name", r.name.as_deref().unwrap_or("")),
            ("claim_namespace", r.namespace.as_deref().unwrap_or("")),
        ],
        1.0,
    );
}

/// Once the phase is set, one series per known phase, 1 for the current one.
fn status_phase(o: &PersistentVolume, _: &RenderCtx, s: &mut Samples) {
    let phase = o.status.as_ref().and_then(|st| st.phase.as_deref());
    let Some(phase) = phase.filter(|p| !p.is_empty()) else {
        return;
    };
    for p in ["Pending", "Available", "Bound", "Released", "Failed"] {
        s.push(&[("phase", p)], if p == phase { 1.0 } else { 0.0 });
    }
}

/// The volume source's identifying fields; only the first source present in KSM's order
/// (GCE PD, EBS, Azure disk, FC, iSCSI, NFS, CSI, local, hostPath) is filled, every other
/// label is empty. FC WWNs/WWIDs are comma-joined.
fn info(o: &PersistentVolume, _: &RenderCtx, s: &mut Samples) {
    let Some(sp) = o.spec.as_ref() else {
        s.push_iter(INFO_LABELS.iter().map(|&k| (k, "")), 1.0);
        return;
    };
    // Values in INFO_LABELS order, minus storageclass (first) and reclaim_policy (last).
    let mut v: [std::borrow::Cow<'_, str>; 19] = Default::default();
    if let Some(x) = &sp.gce_persistent_disk {
        v[0] = x.pd_name.as_str().into();
    } else if let Some(x) = &sp.aws_elastic_block_store {
        v[1] = x.volume_id.as_str().into();
    } else if let Some(x) = &sp.azure_disk {
        v[2] = x.disk_name.as_str().into();
    } else if let Some(x) = &sp.fc {
        v[3] = x.wwids.as_deref().unwrap_or(&[]).join(",").into();
        v[4] = x.lun.map(|l| l.to_string()).unwrap_or_default().into();
        v[5] = x.target_wwns.as_deref().unwrap_or(&[]).join(",").into();
    } else if let Some(x) = &sp.iscsi {
        v[6] = x.target_portal.as_str().into();
        v[7] = x.iqn.as_str().into();
        v[8] = x.lun.to_string().into();
        v[9] = x.initiator_name.as_deref().unwrap_or("").into();
    } else if let Some(x) = &sp.nfs {
        v[10] = x.server.as_str().into();
        v[11] = x.path.as_str().into();
    } else if let Some(x) = &sp.csi {
        v[12] = x.driver.as_str().into();
        v[13] = x.volume_handle.as_str().into();
    } else if let Some(x) = &sp.local {
        v[14] = x.path.as_str().into();
        v[15] = x.fs_type.as_deref().unwrap_or("").into();
    } else if let Some(x) = &sp.host_path {
        v[16] = x.path.as_str().into();
        v[17] = x.type_.as_deref().unwrap_or("").into();
    }
    v[18] = sp
        .persistent_volume_reclaim_policy
        .as_deref()
        .unwrap_or("")
        .into();
    let class = sp.storage_class_name.as_deref().unwrap_or("");
    let values = std::iter::once(class).chain(v.iter().map(|c| c.as_ref()));
    s.push_iter(INFO_LABELS.iter().copied().zip(values), 1.0);
}

const INFO_LABELS: [&str; 20] = [
    "storageclass",
    "gce_persistent_disk_name",
    "ebs_volume_id",
    "azure_disk_name",
    "fc_wwids",
    "fc_lun",
    "fc_target_wwns",
    "iscsi_target_portal",
    "iscsi_iqn",
    "iscsi_lun",
    "iscsi_initiator_name",
    "nfs_server",
    "nfs_path",
    "csi_driver",
    "csi_volume_handle",
    "local_path",
    "local_fs",
    "host_path",
    "host_path_type",
    "reclaim_policy",
];

/// Always one series: `capacity.storage` as `Quantity.Value()`, 0 when absent.
fn capacity_bytes(o: &PersistentVolume, _: &RenderCtx, s: &mut Samples) {
    let q = o
        .spec
        .as_ref()
        .and_then(|sp| sp.capacity.as_ref())
        .and_then(|c| c.get("storage"));
    s.value(q.and_then(|q| parse_quantity(&q.0)).map_or(0.0, f64::ceil));
}

/// CSI volumes only: the Ceph CSI driver's `mounter` and `mapOptions` attributes.
fn csi_attributes(o: &PersistentVolume, _: &RenderCtx, s: &mut Samples) {
    let Some(csi) = o.spec.as_ref().and_then(|sp| sp.csi.as_ref()) else {
        return;
    };
    let attr = |k: &str| {
        csi.volume_attributes
            .as_ref()
            .and_then(|a| a.get(k))
            .map_or("", String::as_str)
    };
    s.push(
        &[
            ("csi_mounter", attr("mounter")),
            ("csi_map_options", attr("mapOptions")),
        ],
        1.0,
    );
}

/// `Filesystem`, the API default, when unset.
fn volume_mode(o: &PersistentVolume, _: &RenderCtx, s: &mut Samples) {
    let mode = o.spec.as_ref().and_then(|sp| sp.volume_mode.as_deref());
    s.push(&[("volumemode", mode.unwrap_or("Filesystem"))], 1.0);
}

fn access_mode(o: &PersistentVolume, _: &RenderCtx, s: &mut Samples) {
    let modes = o.spec.as_ref().and_then(|sp| sp.access_modes.as_deref());
    for m in modes.unwrap_or(&[]) {
        s.push(&[("access_mode", m.as_str())], 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    fn all() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    fn csi_volume() -> PersistentVolume {
        obj(r#"{
          "metadata": {
            "name": "test-pv-csi",
            "creationTimestamp": "2017-07-14T02:40:00Z",
            "deletionTimestamp": "2017-07-14T02:50:00Z",
            "labels": {"app": "mysql-server"},
            "annotations": {"pv.kubernetes.io/provisioned-by": "rbd.csi.ceph.com"}
          },
          "spec": {
            "storageClassName": "csi-rbd",
            "persistentVolumeReclaimPolicy": "Delete",
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
            "volumeMode": "Block",
            "claimRef": {"kind": "PersistentVolumeClaim", "name": "pvc-test", "namespace": "default"},
            "csi": {"driver": "rbd.csi.ceph.com", "volumeHandle": "0001-0009-rook-ceph",
                    "volumeAttributes": {"mounter": "rbd", "mapOptions": "krbd:rxbounce", "pool": "replicapool"}}
          },
          "status": {"phase": "Bound"}
        }"#)
    }

    fn info_line(name: &str, class: &str, source: &[(&str, &str)], reclaim: &str) -> String {
        let mut parts = vec![format!(r#"persistentvolume="{name}""#)];
        for &k in &INFO_LABELS {
            let v = match k {
                "storageclass" => class,
                "reclaim_policy" => reclaim,
                _ => source
                    .iter()
                    .find(|(sk, _)| *sk == k)
                    .map_or("", |(_, v)| *v),
            };
            parts.push(format!(r#"{k}="{v}""#));
        }
        format!("kube_persistentvolume_info{{{}}} 1", parts.join(","))
    }

    #[test]
    fn every_family_of_a_bound_csi_volume() {
        let id = r#"persistentvolume="test-pv-csi""#;
        let phase = |p: &str, v: &str| {
            format!(r#"kube_persistentvolume_status_phase{{{id},phase="{p}"}} {v}"#)
        };
        assert_eq!(
            render_lines(&PERSISTENTVOLUME, &csi_volume(), allow_all(), &all()),
            vec![
                format!(
                    r#"kube_persistentvolume_claim_ref{{{id},name="pvc-test",claim_namespace="default"}} 1"#
                ),
                format!(
                    r#"kube_persistentvolume_annotations{{{id},annotation_pv_kubernetes_io_provisioned_by="rbd.csi.ceph.com"}} 1"#
                ),
                format!(r#"kube_persistentvolume_labels{{{id},label_app="mysql-server"}} 1"#),
                phase("Pending", "0"),
                phase("Available", "0"),
                phase("Bound", "1"),
                phase("Released", "0"),
                phase("Failed", "0"),
                info_line(
                    "test-pv-csi",
                    "csi-rbd",
                    &[
                        ("csi_driver", "rbd.csi.ceph.com"),
                        ("csi_volume_handle", "0001-0009-rook-ceph")
                    ],
                    "Delete"
                ),
                format!("kube_persistentvolume_capacity_bytes{{{id}}} 5.36870912e+09"),
                format!("kube_persistentvolume_created{{{id}}} 1.5e+09"),
                format!("kube_persistentvolume_deletion_timestamp{{{id}}} 1.5000006e+09"),
                format!(
                    r#"kube_persistentvolume_csi_attributes{{{id},csi_mounter="rbd",csi_map_options="krbd:rxbounce"}} 1"#
                ),
                format!(r#"kube_persistentvolume_volume_mode{{{id},volumemode="Block"}} 1"#),
                format!(
                    r#"kube_persistentvolume_access_mode{{{id},access_mode="ReadWriteOnce"}} 1"#
                ),
                format!(
                    r#"kube_persistentvolume_access_mode{{{id},access_mode="ReadWriteOncePod"}} 1"#
                ),
            ]
        );
    }

    #[test]
    fn info_labels_for_each_volume_source() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                r#""gcePersistentDisk": {"pdName": "name"}"#,
                &[("gce_persistent_disk_name", "name")],
            ),
            (
                r#""awsElasticBlockStore": {"volumeID": "aws://eu-west-1c/vol-012d34d567890123b"}"#,
                &[("ebs_volume_id", "aws://eu-west-1c/vol-012d34d567890123b")],
            ),
            (
                r#""azureDisk": {"diskName": "azure_disk_1", "diskURI": "uri"}"#,
                &[("azure_disk_name", "azure_disk_1")],
            ),
            (
                r#""fc": {"lun": 123, "targetWWNs": ["0123456789abcdef", "abcdef0123456789"], "wwids": ["0123456789abcdef", "abcdef0123456789"]}"#,
                &[
                    ("fc_wwids", "0123456789abcdef,abcdef0123456789"),
                    ("fc_lun", "123"),
                    ("fc_target_wwns", "0123456789abcdef,abcdef0123456789"),
                ],
            ),
            (
                r#""fc": {"wwids": ["0123456789abcdef"]}"#,
                &[("fc_wwids", "0123456789abcdef")],
            ),
            (
                r#""iscsi": {"targetPortal": "1.2.3.4:3260", "iqn": "iqn.my.test.server.com", "lun": 123, "initiatorName": "iqn.my.test.initiator"}"#,
                &[
                    ("iscsi_target_portal", "1.2.3.4:3260"),
                    ("iscsi_iqn", "iqn.my.test.server.com"),
                    ("iscsi_lun", "123"),
                    ("iscsi_initiator_name", "iqn.my.test.initiator"),
                ],
            ),
            (
                r#""iscsi": {"targetPortal": "1.2.3.4:3260", "iqn": "iqn", "lun": 0}"#,
                &[
                    ("iscsi_target_portal", "1.2.3.4:3260"),
                    ("iscsi_iqn", "iqn"),
                    ("iscsi_lun", "0"),
                ],
            ),
            (
                r#""nfs": {"server": "1.2.3.4", "path": "/myPath"}"#,
                &[("nfs_server", "1.2.3.4"), ("nfs_path", "/myPath")],
            ),
            (
                r#""local": {"path": "/mnt/data", "fsType": "ext4"}"#,
                &[("local_path", "/mnt/data"), ("local_fs", "ext4")],
            ),
            (
                r#""local": {"path": "/mnt/data"}"#,
                &[("local_path", "/mnt/data")],
            ),
            (
                r#""hostPath": {"path": "/mnt/data", "type": "DirectoryOrCreate"}"#,
                &[
                    ("host_path", "/mnt/data"),
                    ("host_path_type", "DirectoryOrCreate"),
                ],
            ),
            (
                r#""hostPath": {"path": "/mnt/data"}"#,
                &[("host_path", "/mnt/data")],
            ),
            // Two sources: the first in KSM's order wins.
            (
                r#""nfs": {"server": "s", "path": "/p"}, "gcePersistentDisk": {"pdName": "pd"}"#,
                &[("gce_persistent_disk_name", "pd")],
            ),
        ];
        for (source, want) in cases {
            let pv: PersistentVolume = obj(&format!(
                r#"{{"metadata": {{"name": "pv"}}, "spec": {{"storageClassName": "sc", "persistentVolumeReclaimPolicy": "Retain", {source}}}}}"#
            ));
            assert_eq!(
                render_lines(
                    &PERSISTENTVOLUME,
                    &pv,
                    RenderCtx::default(),
                    &["kube_persistentvolume_info"]
                ),
                vec![info_line("pv", "sc", want, "Retain")],
                "{source}"
            );
        }
    }

    #[test]
    fn bare_volume() {
        let pv: PersistentVolume =
            obj(r#"{"metadata": {"name": "pv"}, "status": {"phase": "Available"}}"#);
        let id = r#"persistentvolume="pv""#;
        let phase = |p: &str, v: &str| {
            format!(r#"kube_persistentvolume_status_phase{{{id},phase="{p}"}} {v}"#)
        };
        assert_eq!(
            render_lines(&PERSISTENTVOLUME, &pv, RenderCtx::default(), &all()),
            vec![
                phase("Pending", "0"),
                phase("Available", "1"),
                phase("Bound", "0"),
                phase("Released", "0"),
                phase("Failed", "0"),
                info_line("pv", "", &[], ""),
                format!("kube_persistentvolume_capacity_bytes{{{id}}} 0"),
                format!(r#"kube_persistentvolume_volume_mode{{{id},volumemode="Filesystem"}} 1"#),
            ]
        );
        // A CSI volume without attributes: one series with empty values.
        let pv: PersistentVolume = obj(
            r#"{"metadata": {"name": "pv"}, "spec": {"csi": {"driver": "d", "volumeHandle": "h"}}}"#,
        );
        assert_eq!(
            render_lines(
                &PERSISTENTVOLUME,
                &pv,
                RenderCtx::default(),
                &["kube_persistentvolume_csi_attributes"]
            ),
            vec![format!(
                r#"kube_persistentvolume_csi_attributes{{{id},csi_mounter="",csi_map_options=""}} 1"#
            )]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&PERSISTENTVOLUME, &[csi_volume()]);
    }
}
