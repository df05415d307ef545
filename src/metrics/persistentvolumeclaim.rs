//! PersistentVolumeClaim families, in kube-state-metrics' order (`internal/store/persistentvolumeclaim.go`).

use crate::metrics::common::{self, annotations, created, deletion_timestamp, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::quantity::parse_quantity;
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

static FAMILIES: &[Family<PersistentVolumeClaim>] = &[
    Family::stable(
        "kube_persistentvolumeclaim_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental(
        "kube_persistentvolumeclaim_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_persistentvolumeclaim_info",
        "Information about persistent volume claim.",
        info,
    ),
    Family::stable(
        "kube_persistentvolumeclaim_status_phase",
        "The phase the persistent volume claim is currently in.",
        status_phase,
    ),
    Family::stable(
        "kube_persistentvolumeclaim_resource_requests_storage_bytes",
        "The capacity of storage requested by the persistent volume claim.",
        requests_storage_bytes,
    ),
    Family::stable(
        "kube_persistentvolumeclaim_access_mode",
        "The access mode(s) specified by the persistent volume claim.",
        access_mode,
    ),
    Family::experimental(
        "kube_persistentvolumeclaim_status_condition",
        "Information about status of different conditions of persistent volume claim.",
        status_condition,
    ),
    Family::experimental(
        "kube_persistentvolumeclaim_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_persistentvolumeclaim_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
];

/// The storage class: the beta annotation `volume.beta.kubernetes.io/storage-class` wins
/// over `spec.storageClassName` (KSM's `getPersistentVolumeClaimClass`).
fn info(o: &PersistentVolumeClaim, _: &RenderCtx, s: &mut Samples) {
    let sp = o.spec.as_ref();
    let beta = o
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("volume.beta.kubernetes.io/storage-class"));
    let class = beta
        .or_else(|| sp?.storage_class_name.as_ref())
        .map_or("", String::as_str);
    s.push(
        &[
            ("storageclass", class),
            (
                "volumename",
                sp.and_then(|x| x.volume_name.as_deref()).unwrap_or(""),
            ),
            (
                "volumemode",
                sp.and_then(|x| x.volume_mode.as_deref()).unwrap_or(""),
            ),
        ],
        1.0,
    );
}

/// Once the phase is set, one series per known phase, 1 for the current one.
fn status_phase(o: &PersistentVolumeClaim, _: &RenderCtx, s: &mut Samples) {
    let phase = o.status.as_ref().and_then(|st| st.phase.as_deref());
    let Some(phase) = phase.filter(|p| !p.is_empty()) else {
        return;
    };
    for p in ["Lost", "Bound", "Pending"] {
        s.push(&[("phase", p)], if p == phase { 1.0 } else { 0.0 });
    }
}

/// `requests.storage` as `Quantity.Value()` (whole bytes, rounded up).
fn requests_storage_bytes(o: &PersistentVolumeClaim, _: &RenderCtx, s: &mut Samples) {
    let q = o
        .spec
        .as_ref()
        .and_then(|sp| sp.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"));
    if let Some(v) = q.and_then(|q| parse_quantity(&q.0)) {
        s.value(v.ceil());
    }
}

fn access_mode(o: &PersistentVolumeClaim, _: &RenderCtx, s: &mut Samples) {
    let modes = o.spec.as_ref().and_then(|sp| sp.access_modes.as_deref());
    for m in modes.unwrap_or(&[]) {
        s.push(&[("access_mode", m.as_str())], 1.0);
    }
}

/// Per condition, one series per status (`true`, `false`, `unknown`), 1 for the current.
fn status_condition(o: &PersistentVolumeClaim, _: &RenderCtx, s: &mut Samples) {
    let conds = o.status.as_ref().and_then(|st| st.conditions.as_deref());
    for c in conds.unwrap_or(&[]) {
        common::push_condition(s, None, &c.type_, &c.status);
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

    fn bound_claim() -> PersistentVolumeClaim {
        obj(r#"{
          "metadata": {
            "name": "mysql-data", "namespace": "default",
            "creationTimestamp": "2017-07-14T02:40:00Z",
            "deletionTimestamp": "2017-07-14T02:50:00Z",
            "labels": {"app": "mysql-server"},
            "annotations": {"volume.beta.kubernetes.io/storage-class": "rbd", "pv.kubernetes.io/bind-completed": "yes"}
          },
          "spec": {
            "storageClassName": "ignored-because-of-annotation",
            "volumeName": "pvc-mysqldata",
            "volumeMode": "Filesystem",
            "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
            "resources": {"requests": {"storage": "1Gi"}}
          },
          "status": {
            "phase": "Bound",
            "conditions": [
              {"type": "CustomizedType", "status": "True"},
              {"type": "FileSystemResizePending", "status": "False"},
              {"type": "Resizing", "status": "Unknown"}
            ]
          }
        }"#)
    }

    #[test]
    fn every_family_of_a_bound_claim() {
        let id = r#"namespace="default",persistentvolumeclaim="mysql-data""#;
        let cond = |c: &str, st: &str, v: &str| {
            format!(
                r#"kube_persistentvolumeclaim_status_condition{{{id},condition="{c}",status="{st}"}} {v}"#
            )
        };
        assert_eq!(
            render_lines(&PERSISTENTVOLUMECLAIM, &bound_claim(), allow_all(), &all()),
            vec![
                format!(r#"kube_persistentvolumeclaim_labels{{{id},label_app="mysql-server"}} 1"#),
                format!(r#"kube_persistentvolumeclaim_annotations{{{id},annotation_pv_kubernetes_io_bind_completed="yes",annotation_volume_beta_kubernetes_io_storage_class="rbd"}} 1"#),
                format!(r#"kube_persistentvolumeclaim_info{{{id},storageclass="rbd",volumename="pvc-mysqldata",volumemode="Filesystem"}} 1"#),
                format!(r#"kube_persistentvolumeclaim_status_phase{{{id},phase="Lost"}} 0"#),
                format!(r#"kube_persistentvolumeclaim_status_phase{{{id},phase="Bound"}} 1"#),
                format!(r#"kube_persistentvolumeclaim_status_phase{{{id},phase="Pending"}} 0"#),
                format!("kube_persistentvolumeclaim_resource_requests_storage_bytes{{{id}}} 1.073741824e+09"),
                format!(r#"kube_persistentvolumeclaim_access_mode{{{id},access_mode="ReadWriteOnce"}} 1"#),
                format!(r#"kube_persistentvolumeclaim_access_mode{{{id},access_mode="ReadOnlyMany"}} 1"#),
                cond("CustomizedType", "true", "1"),
                cond("CustomizedType", "false", "0"),
                cond("CustomizedType", "unknown", "0"),
                cond("FileSystemResizePending", "true", "0"),
                cond("FileSystemResizePending", "false", "1"),
                cond("FileSystemResizePending", "unknown", "0"),
                cond("Resizing", "true", "0"),
                cond("Resizing", "false", "0"),
                cond("Resizing", "unknown", "1"),
                format!("kube_persistentvolumeclaim_created{{{id}}} 1.5e+09"),
                format!("kube_persistentvolumeclaim_deletion_timestamp{{{id}}} 1.5000006e+09"),
            ]
        );
    }

    #[test]
    fn pending_claim_without_class_or_status() {
        let c: PersistentVolumeClaim = obj(r#"{
          "metadata": {"name": "p", "namespace": "n"},
          "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1500m"}}},
          "status": {"phase": "Pending"}
        }"#);
        let id = r#"namespace="n",persistentvolumeclaim="p""#;
        assert_eq!(
            render_lines(&PERSISTENTVOLUMECLAIM, &c, RenderCtx::default(), &all()),
            vec![
                format!(
                    r#"kube_persistentvolumeclaim_info{{{id},storageclass="fast",volumename="",volumemode=""}} 1"#
                ),
                format!(r#"kube_persistentvolumeclaim_status_phase{{{id},phase="Lost"}} 0"#),
                format!(r#"kube_persistentvolumeclaim_status_phase{{{id},phase="Bound"}} 0"#),
                format!(r#"kube_persistentvolumeclaim_status_phase{{{id},phase="Pending"}} 1"#),
                // Value() rounds 1.5 bytes up.
                format!("kube_persistentvolumeclaim_resource_requests_storage_bytes{{{id}}} 2"),
            ]
        );
        // No phase at all: no phase series; no request: no bytes series.
        let c: PersistentVolumeClaim = obj(r#"{"metadata": {"name": "p", "namespace": "n"}}"#);
        assert_eq!(
            render_lines(&PERSISTENTVOLUMECLAIM, &c, RenderCtx::default(), &all()),
            vec![format!(
                r#"kube_persistentvolumeclaim_info{{{id},storageclass="",volumename="",volumemode=""}} 1"#
            )]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&PERSISTENTVOLUMECLAIM, &[bound_claim()]);
    }
}
