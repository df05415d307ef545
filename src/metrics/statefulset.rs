//! StatefulSet families, in kube-state-metrics' order (`internal/store/statefulset.go`).

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};

pub static STATEFULSET: ResourceDef<StatefulSet> = ResourceDef {
    name: "statefulsets",
    identity: statefulset_identity,
    families: FAMILIES,
};

fn statefulset_identity(o: &StatefulSet) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("statefulset", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<StatefulSet>] = &[
    Family::stable(
        "kube_statefulset_created",
        "Unix creation timestamp",
        common::created,
    ),
    Family::stable(
        "kube_statefulset_status_replicas",
        "The number of replicas per StatefulSet.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.replicas) as f64),
    ),
    Family::stable(
        "kube_statefulset_status_replicas_available",
        "The number of available replicas per StatefulSet.",
        |o, _, s| s.value(count(o, |st| st.available_replicas)),
    ),
    Family::stable(
        "kube_statefulset_status_replicas_current",
        "The number of current replicas per StatefulSet.",
        |o, _, s| s.value(count(o, |st| st.current_replicas)),
    ),
    Family::stable(
        "kube_statefulset_status_replicas_ready",
        "The number of ready replicas per StatefulSet.",
        |o, _, s| s.value(count(o, |st| st.ready_replicas)),
    ),
    Family::stable(
        "kube_statefulset_status_replicas_updated",
        "The number of updated replicas per StatefulSet.",
        |o, _, s| s.value(count(o, |st| st.updated_replicas)),
    ),
    Family::stable(
        "kube_statefulset_status_observed_generation",
        "The generation observed by the StatefulSet controller.",
        |o, _, s| {
            let g = status(o).and_then(|st| st.observed_generation).unwrap_or(0);
            s.value(g as f64)
        },
    ),
    Family::stable(
        "kube_statefulset_replicas",
        "Number of desired pods for a StatefulSet.",
        |o, _, s| {
            if let Some(v) = o.spec.replicas {
                s.value(v as f64);
            }
        },
    ),
    Family::stable(
        "kube_statefulset_ordinals_start",
        "Start ordinal of the StatefulSet.",
        |o, _, s| {
            // Present `ordinals` with an unset start is Go's int32 zero.
            if let Some(ord) = &o.spec.ordinals {
                s.value(ord.start.unwrap_or(0) as f64);
            }
        },
    ),
    Family::stable(
        "kube_statefulset_metadata_generation",
        "Sequence number representing a specific generation of the desired state for the StatefulSet.",
        common::generation,
    ),
    Family::stable(
        "kube_statefulset_persistentvolumeclaim_retention_policy",
        "Count of retention policy for StatefulSet template PVCs",
        retention_policy,
    ),
    Family::stable(
        "kube_statefulset_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        common::annotations,
    ),
    Family::stable(
        "kube_statefulset_labels",
        "Kubernetes labels converted to Prometheus labels.",
        common::labels,
    ),
    Family::stable(
        "kube_statefulset_status_current_revision",
        "Indicates the version of the StatefulSet used to generate Pods in the sequence [0,currentReplicas).",
        |o, _, s| {
            let rev = status(o).and_then(|st| st.current_revision.as_deref());
            s.push(&[("revision", rev.unwrap_or(""))], 1.0);
        },
    ),
    Family::stable(
        "kube_statefulset_status_update_revision",
        "Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)",
        |o, _, s| {
            let rev = status(o).and_then(|st| st.update_revision.as_deref());
            s.push(&[("revision", rev.unwrap_or(""))], 1.0);
        },
    ),
    Family::stable(
        "kube_statefulset_deletion_timestamp",
        "Unix deletion timestamp",
        common::deletion_timestamp,
    ),
];

fn status(o: &StatefulSet) -> Option<&StatefulSetStatus> {
    o.status.as_ref()
}

/// A status count that Go reads as a plain int32: absent means 0.
fn count(o: &StatefulSet, f: fn(&StatefulSetStatus) -> Option<i32>) -> f64 {
    status(o).and_then(f).unwrap_or(0) as f64
}

/// One sample when either policy is set (the unset one written as `""`), none otherwise.
fn retention_policy(o: &StatefulSet, _: &RenderCtx, s: &mut Samples) {
    let Some(p) = &o.spec.persistent_volume_claim_retention_policy else {
        return;
    };
    let deleted = p.when_deleted.as_deref().unwrap_or("");
    let scaled = p.when_scaled.as_deref().unwrap_or("");
    if deleted.is_empty() && scaled.is_empty() {
        return;
    }
    s.push(&[("when_deleted", deleted), ("when_scaled", scaled)], 1.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{allowlist_ctx, check_catalog, line};
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns2",statefulset="statefulset2""#;

    fn full() -> StatefulSet {
        obj(r#"{
          "metadata": {
            "name": "statefulset2", "namespace": "ns2", "generation": 21,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "deletionTimestamp": "2017-08-30T18:32:27Z",
            "labels": {"app": "example2"},
            "annotations": {"kubectl.kubernetes.io/default-container": "db"}
          },
          "spec": {
            "replicas": 6, "serviceName": "svc", "selector": {}, "template": {},
            "ordinals": {"start": 2},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"}
          },
          "status": {
            "replicas": 5, "availableReplicas": 4, "currentReplicas": 2, "readyReplicas": 5,
            "updatedReplicas": 3, "observedGeneration": 2,
            "currentRevision": "cr2", "updateRevision": "ur2"
          }
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn full_statefulset() {
        assert_eq!(
            render_lines(&STATEFULSET, &full(), allow_all(), &all_names()),
            vec![
                line("kube_statefulset_created", ID, "", "1.501439547e+09"),
                line("kube_statefulset_status_replicas", ID, "", "5"),
                line("kube_statefulset_status_replicas_available", ID, "", "4"),
                line("kube_statefulset_status_replicas_current", ID, "", "2"),
                line("kube_statefulset_status_replicas_ready", ID, "", "5"),
                line("kube_statefulset_status_replicas_updated", ID, "", "3"),
                line("kube_statefulset_status_observed_generation", ID, "", "2"),
                line("kube_statefulset_replicas", ID, "", "6"),
                line("kube_statefulset_ordinals_start", ID, "", "2"),
                line("kube_statefulset_metadata_generation", ID, "", "21"),
                line(
                    "kube_statefulset_persistentvolumeclaim_retention_policy",
                    ID,
                    r#"when_deleted="Retain",when_scaled="Delete""#,
                    "1"
                ),
                line(
                    "kube_statefulset_annotations",
                    ID,
                    r#"annotation_kubectl_kubernetes_io_default_container="db""#,
                    "1"
                ),
                line(
                    "kube_statefulset_labels",
                    ID,
                    r#"label_app="example2""#,
                    "1"
                ),
                line(
                    "kube_statefulset_status_current_revision",
                    ID,
                    r#"revision="cr2""#,
                    "1"
                ),
                line(
                    "kube_statefulset_status_update_revision",
                    ID,
                    r#"revision="ur2""#,
                    "1"
                ),
                line(
                    "kube_statefulset_deletion_timestamp",
                    ID,
                    "",
                    "1.504117947e+09"
                ),
            ]
        );
    }

    #[test]
    fn bare_statefulset() {
        let s: StatefulSet = obj(
            r#"{"metadata": {"name": "statefulset2", "namespace": "ns2"},
                "spec": {"serviceName": "svc", "selector": {}, "template": {}, "ordinals": {},
                         "persistentVolumeClaimRetentionPolicy": {}}}"#,
        );
        assert_eq!(
            render_lines(&STATEFULSET, &s, RenderCtx::default(), &all_names()),
            vec![
                line("kube_statefulset_status_replicas", ID, "", "0"),
                line("kube_statefulset_status_replicas_available", ID, "", "0"),
                line("kube_statefulset_status_replicas_current", ID, "", "0"),
                line("kube_statefulset_status_replicas_ready", ID, "", "0"),
                line("kube_statefulset_status_replicas_updated", ID, "", "0"),
                line("kube_statefulset_status_observed_generation", ID, "", "0"),
                line("kube_statefulset_ordinals_start", ID, "", "0"),
                line("kube_statefulset_metadata_generation", ID, "", "0"),
                line(
                    "kube_statefulset_status_current_revision",
                    ID,
                    r#"revision="""#,
                    "1"
                ),
                line(
                    "kube_statefulset_status_update_revision",
                    ID,
                    r#"revision="""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn one_sided_retention_policy_keeps_the_other_empty() {
        let s: StatefulSet = obj(
            r#"{"metadata": {"name": "statefulset2", "namespace": "ns2"},
                "spec": {"serviceName": "svc", "selector": {}, "template": {},
                         "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Retain"}}}"#,
        );
        let name = "kube_statefulset_persistentvolumeclaim_retention_policy";
        assert_eq!(
            render_lines(&STATEFULSET, &s, allow_all(), &[name]),
            vec![line(
                name,
                ID,
                r#"when_deleted="",when_scaled="Retain""#,
                "1"
            )]
        );
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &["kube_statefulset_labels", "kube_statefulset_annotations"];
        assert!(render_lines(&STATEFULSET, &full(), RenderCtx::default(), names).is_empty());
        let ctx = allowlist_ctx("statefulsets", "statefulsets=[other]");
        assert_eq!(
            render_lines(&STATEFULSET, &full(), ctx, names),
            vec![
                line("kube_statefulset_annotations", ID, "", "1"),
                line("kube_statefulset_labels", ID, "", "1"),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        check_catalog("statefulsets", &STATEFULSET, 2, &[full()], allow_all);
    }
}
