//! ReplicationController families, in kube-state-metrics' order (`internal/store/replicationcontroller.go`).

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::{ReplicationController, ReplicationControllerStatus};

pub static REPLICATIONCONTROLLER: ResourceDef<ReplicationController> = ResourceDef {
    name: "replicationcontrollers",
    identity: replicationcontroller_identity,
    families: FAMILIES,
};

fn replicationcontroller_identity(o: &ReplicationController) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("replicationcontroller", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ReplicationController>] = &[
    Family::stable(
        "kube_replicationcontroller_created",
        "Unix creation timestamp",
        common::created,
    ),
    Family::stable(
        "kube_replicationcontroller_status_replicas",
        "The number of replicas per ReplicationController.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.replicas) as f64),
    ),
    Family::stable(
        "kube_replicationcontroller_status_fully_labeled_replicas",
        "The number of fully labeled replicas per ReplicationController.",
        |o, _, s| s.value(count(o, |st| st.fully_labeled_replicas)),
    ),
    Family::stable(
        "kube_replicationcontroller_status_ready_replicas",
        "The number of ready replicas per ReplicationController.",
        |o, _, s| s.value(count(o, |st| st.ready_replicas)),
    ),
    Family::stable(
        "kube_replicationcontroller_status_available_replicas",
        "The number of available replicas per ReplicationController.",
        |o, _, s| s.value(count(o, |st| st.available_replicas)),
    ),
    Family::stable(
        "kube_replicationcontroller_status_observed_generation",
        "The generation observed by the ReplicationController controller.",
        |o, _, s| {
            let g = status(o).and_then(|st| st.observed_generation).unwrap_or(0);
            s.value(g as f64)
        },
    ),
    Family::stable(
        "kube_replicationcontroller_spec_replicas",
        "Number of desired pods for a ReplicationController.",
        |o, _, s| {
            if let Some(v) = o.spec.as_ref().and_then(|sp| sp.replicas) {
                s.value(v as f64);
            }
        },
    ),
    Family::stable(
        "kube_replicationcontroller_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        common::generation,
    ),
    Family::experimental(
        "kube_replicationcontroller_owner",
        "Information about the ReplicationController's owner.",
        common::owner,
    ),
];

fn status(o: &ReplicationController) -> Option<&ReplicationControllerStatus> {
    o.status.as_ref()
}

/// A status count that Go reads as a plain int32: absent means 0.
fn count(o: &ReplicationController, f: fn(&ReplicationControllerStatus) -> Option<i32>) -> f64 {
    status(o).and_then(f).unwrap_or(0) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{check_catalog, line};
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns1",replicationcontroller="rc1""#;

    fn full() -> ReplicationController {
        obj(r#"{
          "metadata": {
            "name": "rc1", "namespace": "ns1", "generation": 21,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Foo", "name": "bar", "uid": "u", "controller": false}]
          },
          "spec": {"replicas": 5},
          "status": {
            "replicas": 5, "fullyLabeledReplicas": 10, "readyReplicas": 5,
            "availableReplicas": 3, "observedGeneration": 1
          }
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn full_replicationcontroller() {
        assert_eq!(
            render_lines(&REPLICATIONCONTROLLER, &full(), allow_all(), &all_names()),
            vec![
                line(
                    "kube_replicationcontroller_created",
                    ID,
                    "",
                    "1.501439547e+09"
                ),
                line("kube_replicationcontroller_status_replicas", ID, "", "5"),
                line(
                    "kube_replicationcontroller_status_fully_labeled_replicas",
                    ID,
                    "",
                    "10"
                ),
                line(
                    "kube_replicationcontroller_status_ready_replicas",
                    ID,
                    "",
                    "5"
                ),
                line(
                    "kube_replicationcontroller_status_available_replicas",
                    ID,
                    "",
                    "3"
                ),
                line(
                    "kube_replicationcontroller_status_observed_generation",
                    ID,
                    "",
                    "1"
                ),
                line("kube_replicationcontroller_spec_replicas", ID, "", "5"),
                line(
                    "kube_replicationcontroller_metadata_generation",
                    ID,
                    "",
                    "21"
                ),
                line(
                    "kube_replicationcontroller_owner",
                    ID,
                    r#"owner_kind="Foo",owner_name="bar",owner_is_controller="false""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn nil_replicas_and_missing_status() {
        let rc: ReplicationController =
            obj(r#"{"metadata": {"name": "rc1", "namespace": "ns1", "generation": 14}}"#);
        assert_eq!(
            render_lines(
                &REPLICATIONCONTROLLER,
                &rc,
                RenderCtx::default(),
                &all_names()
            ),
            vec![
                line("kube_replicationcontroller_status_replicas", ID, "", "0"),
                line(
                    "kube_replicationcontroller_status_fully_labeled_replicas",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_replicationcontroller_status_ready_replicas",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_replicationcontroller_status_available_replicas",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_replicationcontroller_status_observed_generation",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_replicationcontroller_metadata_generation",
                    ID,
                    "",
                    "14"
                ),
                line(
                    "kube_replicationcontroller_owner",
                    ID,
                    r#"owner_kind="",owner_name="",owner_is_controller="""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        check_catalog(
            "replicationcontrollers",
            &REPLICATIONCONTROLLER,
            2,
            &[full()],
            allow_all,
        );
    }
}
