//! ReplicaSet families, in kube-state-metrics' order (`internal/store/replicaset.go`).

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};

pub static REPLICASET: ResourceDef<ReplicaSet> = ResourceDef {
    name: "replicasets",
    identity: replicaset_identity,
    families: FAMILIES,
};

fn replicaset_identity(o: &ReplicaSet) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("replicaset", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ReplicaSet>] = &[
    Family::stable(
        "kube_replicaset_created",
        "Unix creation timestamp",
        common::created,
    ),
    Family::stable(
        "kube_replicaset_status_replicas",
        "The number of replicas per ReplicaSet.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.replicas) as f64),
    ),
    Family::stable(
        "kube_replicaset_status_fully_labeled_replicas",
        "The number of fully labeled replicas per ReplicaSet.",
        |o, _, s| {
            s.value(
                status(o)
                    .and_then(|st| st.fully_labeled_replicas)
                    .unwrap_or(0) as f64,
            )
        },
    ),
    Family::stable(
        "kube_replicaset_status_ready_replicas",
        "The number of ready replicas per ReplicaSet.",
        |o, _, s| s.value(status(o).and_then(|st| st.ready_replicas).unwrap_or(0) as f64),
    ),
    Family::experimental(
        "kube_replicaset_status_terminating_replicas",
        "The number of terminating replicas per ReplicaSet.",
        |o, _, s| {
            // A pointer in the API: absent means "not tracked", so no sample rather than 0.
            if let Some(v) = status(o).and_then(|st| st.terminating_replicas) {
                s.value(v as f64);
            }
        },
    ),
    Family::stable(
        "kube_replicaset_status_observed_generation",
        "The generation observed by the ReplicaSet controller.",
        |o, _, s| s.value(status(o).and_then(|st| st.observed_generation).unwrap_or(0) as f64),
    ),
    Family::stable(
        "kube_replicaset_spec_replicas",
        "Number of desired pods for a ReplicaSet.",
        |o, _, s| {
            if let Some(v) = o.spec.replicas {
                s.value(v as f64);
            }
        },
    ),
    Family::stable(
        "kube_replicaset_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        common::generation,
    ),
    Family::stable(
        "kube_replicaset_owner",
        "Information about the ReplicaSet's owner.",
        common::owner,
    ),
    Family::experimental(
        "kube_replicaset_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        common::annotations,
    ),
    Family::stable(
        "kube_replicaset_labels",
        "Kubernetes labels converted to Prometheus labels.",
        common::labels,
    ),
];

fn status(o: &ReplicaSet) -> Option<&ReplicaSetStatus> {
    o.status.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{allowlist_ctx, check_catalog, line};
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns1",replicaset="rs1""#;

    fn full() -> ReplicaSet {
        obj(r#"{
          "metadata": {
            "name": "rs1", "namespace": "ns1", "generation": 21,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "labels": {"app": "example1", "app.kubernetes.io/name": "web"},
            "annotations": {"deployment.kubernetes.io/revision": "3"},
            "ownerReferences": [
              {"apiVersion": "apps/v1", "kind": "Deployment", "name": "dp-name", "uid": "u1", "controller": true},
              {"apiVersion": "v1", "kind": "Foo", "name": "bar", "uid": "u2"}
            ]
          },
          "spec": {"replicas": 5, "selector": {}},
          "status": {
            "replicas": 5, "fullyLabeledReplicas": 10, "readyReplicas": 5,
            "terminatingReplicas": 2, "observedGeneration": 1
          }
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn full_replicaset() {
        let got = render_lines(&REPLICASET, &full(), allow_all(), &all_names());
        assert_eq!(
            got,
            vec![
                line("kube_replicaset_created", ID, "", "1.501439547e+09"),
                line("kube_replicaset_status_replicas", ID, "", "5"),
                line(
                    "kube_replicaset_status_fully_labeled_replicas",
                    ID,
                    "",
                    "10"
                ),
                line("kube_replicaset_status_ready_replicas", ID, "", "5"),
                line("kube_replicaset_status_terminating_replicas", ID, "", "2"),
                line("kube_replicaset_status_observed_generation", ID, "", "1"),
                line("kube_replicaset_spec_replicas", ID, "", "5"),
                line("kube_replicaset_metadata_generation", ID, "", "21"),
                line(
                    "kube_replicaset_owner",
                    ID,
                    r#"owner_kind="Deployment",owner_name="dp-name",owner_is_controller="true""#,
                    "1"
                ),
                line(
                    "kube_replicaset_owner",
                    ID,
                    r#"owner_kind="Foo",owner_name="bar",owner_is_controller="false""#,
                    "1"
                ),
                line(
                    "kube_replicaset_annotations",
                    ID,
                    r#"annotation_deployment_kubernetes_io_revision="3""#,
                    "1"
                ),
                line(
                    "kube_replicaset_labels",
                    ID,
                    r#"label_app="example1",label_app_kubernetes_io_name="web""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn bare_replicaset_skips_pointers_and_zeroes_counts() {
        let rs: ReplicaSet = obj(r#"{"metadata": {"name": "rs1", "namespace": "ns1"}}"#);
        let got = render_lines(&REPLICASET, &rs, RenderCtx::default(), &all_names());
        assert_eq!(
            got,
            vec![
                line("kube_replicaset_status_replicas", ID, "", "0"),
                line("kube_replicaset_status_fully_labeled_replicas", ID, "", "0"),
                line("kube_replicaset_status_ready_replicas", ID, "", "0"),
                line("kube_replicaset_status_observed_generation", ID, "", "0"),
                line("kube_replicaset_metadata_generation", ID, "", "0"),
                line(
                    "kube_replicaset_owner",
                    ID,
                    r#"owner_kind="",owner_name="",owner_is_controller="""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn spec_replicas_zero_is_a_sample() {
        let rs: ReplicaSet = obj(
            r#"{"metadata": {"name": "rs1", "namespace": "ns1"}, "spec": {"replicas": 0, "selector": {}}}"#,
        );
        assert_eq!(
            render_lines(
                &REPLICASET,
                &rs,
                allow_all(),
                &["kube_replicaset_spec_replicas"]
            ),
            vec![line("kube_replicaset_spec_replicas", ID, "", "0")]
        );
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &["kube_replicaset_labels", "kube_replicaset_annotations"];
        assert!(render_lines(&REPLICASET, &full(), RenderCtx::default(), names).is_empty());
        let ctx = allowlist_ctx("replicasets", "replicasets=[app,missing]");
        assert_eq!(
            render_lines(&REPLICASET, &full(), ctx, names),
            vec![
                line("kube_replicaset_annotations", ID, "", "1"),
                line("kube_replicaset_labels", ID, r#"label_app="example1""#, "1"),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        check_catalog("replicasets", &REPLICASET, 2, &[full()], allow_all);
    }
}
