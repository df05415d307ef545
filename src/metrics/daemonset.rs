//! DaemonSet families, in kube-state-metrics' order (`internal/store/daemonset.go`).

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};

pub static DAEMONSET: ResourceDef<DaemonSet> = ResourceDef {
    name: "daemonsets",
    identity: daemonset_identity,
    families: FAMILIES,
};

fn daemonset_identity(o: &DaemonSet) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("daemonset", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<DaemonSet>] = &[
    Family::stable(
        "kube_daemonset_created",
        "Unix creation timestamp",
        common::created,
    ),
    Family::stable(
        "kube_daemonset_status_current_number_scheduled",
        "The number of nodes running at least one daemon pod and are supposed to.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.current_number_scheduled) as f64),
    ),
    Family::stable(
        "kube_daemonset_status_desired_number_scheduled",
        "The number of nodes that should be running the daemon pod.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.desired_number_scheduled) as f64),
    ),
    Family::stable(
        "kube_daemonset_status_number_available",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available",
        |o, _, s| s.value(count(o, |st| st.number_available)),
    ),
    Family::stable(
        "kube_daemonset_status_number_misscheduled",
        "The number of nodes running a daemon pod but are not supposed to.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.number_misscheduled) as f64),
    ),
    Family::stable(
        "kube_daemonset_status_number_ready",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.number_ready) as f64),
    ),
    Family::stable(
        "kube_daemonset_status_number_unavailable",
        "The number of nodes that should be running the daemon pod and have none of the daemon pod running and available",
        |o, _, s| s.value(count(o, |st| st.number_unavailable)),
    ),
    Family::stable(
        "kube_daemonset_status_observed_generation",
        "The most recent generation observed by the daemon set controller.",
        |o, _, s| {
            let g = status(o).and_then(|st| st.observed_generation).unwrap_or(0);
            s.value(g as f64)
        },
    ),
    Family::stable(
        "kube_daemonset_status_updated_number_scheduled",
        "The total number of nodes that are running updated daemon pod",
        |o, _, s| s.value(count(o, |st| st.updated_number_scheduled)),
    ),
    Family::stable(
        "kube_daemonset_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        common::generation,
    ),
    Family::experimental(
        "kube_daemonset_deletion_timestamp",
        "Unix deletion timestamp",
        common::deletion_timestamp,
    ),
    Family::experimental(
        "kube_daemonset_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        common::annotations,
    ),
    Family::stable(
        "kube_daemonset_labels",
        "Kubernetes labels converted to Prometheus labels.",
        common::labels,
    ),
];

fn status(o: &DaemonSet) -> Option<&DaemonSetStatus> {
    o.status.as_ref()
}

/// A status count that Go reads as a plain int32: absent means 0.
fn count(o: &DaemonSet, f: fn(&DaemonSetStatus) -> Option<i32>) -> f64 {
    status(o).and_then(f).unwrap_or(0) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{allowlist_ctx, check_catalog, line};
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns3",daemonset="ds3""#;

    fn full() -> DaemonSet {
        obj(r#"{
          "metadata": {
            "name": "ds3", "namespace": "ns3", "generation": 14,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "deletionTimestamp": "2017-08-30T18:32:27Z",
            "labels": {"app": "example3", "tier": "node"},
            "annotations": {"app": "example3"}
          },
          "spec": {"selector": {}, "template": {}},
          "status": {
            "currentNumberScheduled": 10, "desiredNumberScheduled": 5, "numberAvailable": 3,
            "numberMisscheduled": 2, "numberReady": 4, "numberUnavailable": 1,
            "observedGeneration": 13, "updatedNumberScheduled": 6
          }
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn full_daemonset() {
        assert_eq!(
            render_lines(&DAEMONSET, &full(), allow_all(), &all_names()),
            vec![
                line("kube_daemonset_created", ID, "", "1.501439547e+09"),
                line(
                    "kube_daemonset_status_current_number_scheduled",
                    ID,
                    "",
                    "10"
                ),
                line(
                    "kube_daemonset_status_desired_number_scheduled",
                    ID,
                    "",
                    "5"
                ),
                line("kube_daemonset_status_number_available", ID, "", "3"),
                line("kube_daemonset_status_number_misscheduled", ID, "", "2"),
                line("kube_daemonset_status_number_ready", ID, "", "4"),
                line("kube_daemonset_status_number_unavailable", ID, "", "1"),
                line("kube_daemonset_status_observed_generation", ID, "", "13"),
                line(
                    "kube_daemonset_status_updated_number_scheduled",
                    ID,
                    "",
                    "6"
                ),
                line("kube_daemonset_metadata_generation", ID, "", "14"),
                line(
                    "kube_daemonset_deletion_timestamp",
                    ID,
                    "",
                    "1.504117947e+09"
                ),
                line(
                    "kube_daemonset_annotations",
                    ID,
                    r#"annotation_app="example3""#,
                    "1"
                ),
                line(
                    "kube_daemonset_labels",
                    ID,
                    r#"label_app="example3",label_tier="node""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn missing_status_reads_as_zero() {
        let d: DaemonSet = obj(r#"{"metadata": {"name": "ds3", "namespace": "ns3"}}"#);
        let got = render_lines(&DAEMONSET, &d, RenderCtx::default(), &all_names());
        assert_eq!(got.len(), 9);
        assert!(got.iter().all(|l| l.ends_with("} 0")), "{got:?}");
        assert!(!got.iter().any(|l| l.starts_with("kube_daemonset_created")));
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &["kube_daemonset_annotations", "kube_daemonset_labels"];
        assert!(render_lines(&DAEMONSET, &full(), RenderCtx::default(), names).is_empty());
        let ctx = allowlist_ctx("daemonsets", "daemonsets=[tier]");
        assert_eq!(
            render_lines(&DAEMONSET, &full(), ctx, names),
            vec![
                line("kube_daemonset_annotations", ID, "", "1"),
                line("kube_daemonset_labels", ID, r#"label_tier="node""#, "1"),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        check_catalog("daemonsets", &DAEMONSET, 2, &[full()], allow_all);
    }
}
