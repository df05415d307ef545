//! PodDisruptionBudget families, in kube-state-metrics' order (`internal/store/poddisruptionbudget.go`).

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};

pub static PODDISRUPTIONBUDGET: ResourceDef<PodDisruptionBudget> = ResourceDef {
    name: "poddisruptionbudgets",
    identity: poddisruptionbudget_identity,
    families: FAMILIES,
};

fn poddisruptionbudget_identity(o: &PodDisruptionBudget) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("poddisruptionbudget", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<PodDisruptionBudget>] = &[
    Family::experimental(
        "kube_poddisruptionbudget_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        common::annotations,
    ),
    Family::experimental(
        "kube_poddisruptionbudget_labels",
        "Kubernetes labels converted to Prometheus labels.",
        common::labels,
    ),
    Family::stable(
        "kube_poddisruptionbudget_created",
        "Unix creation timestamp",
        common::created,
    ),
    Family::stable(
        "kube_poddisruptionbudget_status_current_healthy",
        "Current number of healthy pods",
        |o, _, s| s.value(status(o).and_then(|st| st.current_healthy).unwrap_or(0) as f64),
    ),
    Family::stable(
        "kube_poddisruptionbudget_status_desired_healthy",
        "Minimum desired number of healthy pods",
        |o, _, s| s.value(status(o).and_then(|st| st.desired_healthy).unwrap_or(0) as f64),
    ),
    Family::stable(
        "kube_poddisruptionbudget_status_pod_disruptions_allowed",
        "Number of pod disruptions that are currently allowed",
        |o, _, s| s.value(status(o).and_then(|st| st.disruptions_allowed).unwrap_or(0) as f64),
    ),
    Family::stable(
        "kube_poddisruptionbudget_status_expected_pods",
        "Total number of pods counted by this disruption budget",
        |o, _, s| s.value(status(o).and_then(|st| st.expected_pods).unwrap_or(0) as f64),
    ),
    Family::stable(
        "kube_poddisruptionbudget_status_observed_generation",
        "Most recent generation observed when updating this PDB status",
        |o, _, s| {
            let g = status(o).and_then(|st| st.observed_generation).unwrap_or(0);
            s.value(g as f64)
        },
    ),
    Family::experimental(
        "kube_poddisruptionbudget_deletion_timestamp",
        "Unix deletion timestamp",
        common::deletion_timestamp,
    ),
];

fn status(o: &PodDisruptionBudget) -> Option<&PodDisruptionBudgetStatus> {
    o.status.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{allowlist_ctx, check_catalog, line};
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns2",poddisruptionbudget="pdb2""#;

    fn full() -> PodDisruptionBudget {
        obj(r#"{
          "metadata": {
            "name": "pdb2", "namespace": "ns2", "generation": 21,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "deletionTimestamp": "2017-08-30T18:32:27Z",
            "labels": {"app": "web", "team": "a"},
            "annotations": {"note": "x"}
          },
          "spec": {"minAvailable": 2},
          "status": {
            "currentHealthy": 8, "desiredHealthy": 9, "disruptionsAllowed": 0,
            "expectedPods": 10, "observedGeneration": 1111
          }
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn full_pdb() {
        assert_eq!(
            render_lines(&PODDISRUPTIONBUDGET, &full(), allow_all(), &all_names()),
            vec![
                line(
                    "kube_poddisruptionbudget_annotations",
                    ID,
                    r#"annotation_note="x""#,
                    "1"
                ),
                line(
                    "kube_poddisruptionbudget_labels",
                    ID,
                    r#"label_app="web",label_team="a""#,
                    "1"
                ),
                line(
                    "kube_poddisruptionbudget_created",
                    ID,
                    "",
                    "1.501439547e+09"
                ),
                line(
                    "kube_poddisruptionbudget_status_current_healthy",
                    ID,
                    "",
                    "8"
                ),
                line(
                    "kube_poddisruptionbudget_status_desired_healthy",
                    ID,
                    "",
                    "9"
                ),
                line(
                    "kube_poddisruptionbudget_status_pod_disruptions_allowed",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_poddisruptionbudget_status_expected_pods",
                    ID,
                    "",
                    "10"
                ),
                line(
                    "kube_poddisruptionbudget_status_observed_generation",
                    ID,
                    "",
                    "1111"
                ),
                line(
                    "kube_poddisruptionbudget_deletion_timestamp",
                    ID,
                    "",
                    "1.504117947e+09"
                ),
            ]
        );
    }

    #[test]
    fn missing_status_reads_as_zero() {
        let p: PodDisruptionBudget = obj(r#"{"metadata": {"name": "pdb2", "namespace": "ns2"}}"#);
        assert_eq!(
            render_lines(&PODDISRUPTIONBUDGET, &p, RenderCtx::default(), &all_names()),
            vec![
                line(
                    "kube_poddisruptionbudget_status_current_healthy",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_poddisruptionbudget_status_desired_healthy",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_poddisruptionbudget_status_pod_disruptions_allowed",
                    ID,
                    "",
                    "0"
                ),
                line("kube_poddisruptionbudget_status_expected_pods", ID, "", "0"),
                line(
                    "kube_poddisruptionbudget_status_observed_generation",
                    ID,
                    "",
                    "0"
                ),
            ]
        );
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &[
            "kube_poddisruptionbudget_annotations",
            "kube_poddisruptionbudget_labels",
        ];
        let ctx = allowlist_ctx("poddisruptionbudgets", "poddisruptionbudgets=[team]");
        assert_eq!(
            render_lines(&PODDISRUPTIONBUDGET, &full(), ctx, names),
            vec![
                line("kube_poddisruptionbudget_annotations", ID, "", "1"),
                line(
                    "kube_poddisruptionbudget_labels",
                    ID,
                    r#"label_team="a""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        check_catalog(
            "poddisruptionbudgets",
            &PODDISRUPTIONBUDGET,
            2,
            &[full()],
            allow_all,
        );
    }
}
