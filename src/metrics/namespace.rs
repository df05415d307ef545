//! Namespace families, in kube-state-metrics' order (`internal/store/namespace.go`).

use crate::metrics::common::{annotations, bool_value, created, labels, push_condition};
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Namespace;

pub static NAMESPACE: ResourceDef<Namespace> = ResourceDef {
    name: "namespaces",
    identity: namespace_identity,
    families: FAMILIES,
};

fn namespace_identity(o: &Namespace) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("namespace", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<Namespace>] = &[
    Family::stable("kube_namespace_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_namespace_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_namespace_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable(
        "kube_namespace_status_phase",
        "kubernetes namespace status phase.",
        |n, _, s| {
            // Both phases always, 0 for both while the phase is unset.
            let phase = n.status.as_ref().and_then(|st| st.phase.as_deref());
            for p in ["Active", "Terminating"] {
                s.push(&[("phase", p)], bool_value(phase == Some(p)));
            }
        },
    ),
    Family::experimental(
        "kube_namespace_status_condition",
        "The condition of a namespace.",
        |n, _, s| {
            let conds = n.status.as_ref().and_then(|st| st.conditions.as_deref());
            for c in conds.unwrap_or_default() {
                push_condition(s, None, &c.type_, &c.status);
            }
        },
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{assert_matches_catalog, render_text};
    use crate::metrics::family::RenderCtx;
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const TERMINATING: &str = r#"{
        "metadata": {
            "name": "team-a",
            "creationTimestamp": "2023-03-04T05:06:07Z",
            "deletionTimestamp": "2024-01-01T00:00:00Z",
            "labels": {"kubernetes.io/metadata.name": "team-a", "costCenter": "42"},
            "annotations": {"owner": "alice@example.com"}
        },
        "status": {
            "phase": "Terminating",
            "conditions": [
                {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered"},
                {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain"},
                {"type": "NamespaceFinalizersRemaining", "status": "Unknown"}
            ]
        }
    }"#;

    const ACTIVE: &str = r#"{
        "metadata": {"name": "default", "creationTimestamp": "2017-08-03T16:59:07Z"},
        "status": {"phase": "Active"}
    }"#;

    fn ns(json: &str) -> Namespace {
        obj(json)
    }

    fn ctx_for(labels: &str, annotations: &str) -> RenderCtx {
        let l = Allowlist::parse("--metric-labels-allowlist", labels, &|_| true)
            .expect("labels allowlist");
        let a = Allowlist::parse("--metric-annotations-allowlist", annotations, &|_| true)
            .expect("annotations allowlist");
        RenderCtx {
            labels: l.for_resource("namespaces"),
            annotations: a.for_resource("namespaces"),
        }
    }

    #[test]
    fn terminating_namespace_with_conditions() {
        let n = ns(TERMINATING);
        let lines = render_lines(
            &NAMESPACE,
            &n,
            allow_all(),
            &[
                "kube_namespace_created",
                "kube_namespace_annotations",
                "kube_namespace_labels",
                "kube_namespace_status_phase",
                "kube_namespace_status_condition",
            ],
        );
        assert_eq!(
            lines,
            vec![
                r#"kube_namespace_created{namespace="team-a"} 1.677906367e+09"#,
                r#"kube_namespace_annotations{namespace="team-a",annotation_owner="alice@example.com"} 1"#,
                r#"kube_namespace_labels{namespace="team-a",label_cost_center="42",label_kubernetes_io_metadata_name="team-a"} 1"#,
                r#"kube_namespace_status_phase{namespace="team-a",phase="Active"} 0"#,
                r#"kube_namespace_status_phase{namespace="team-a",phase="Terminating"} 1"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceDeletionDiscoveryFailure",status="true"} 0"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceDeletionDiscoveryFailure",status="false"} 1"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceDeletionDiscoveryFailure",status="unknown"} 0"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceContentRemaining",status="true"} 1"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceContentRemaining",status="false"} 0"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceContentRemaining",status="unknown"} 0"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceFinalizersRemaining",status="true"} 0"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceFinalizersRemaining",status="false"} 0"#,
                r#"kube_namespace_status_condition{namespace="team-a",condition="NamespaceFinalizersRemaining",status="unknown"} 1"#,
            ]
        );
    }

    #[test]
    fn active_namespace_without_conditions_or_allowlists() {
        let n = ns(ACTIVE);
        let all = NAMESPACE
            .families
            .iter()
            .map(|f| f.def.name)
            .collect::<Vec<_>>();
        assert_eq!(
            render_lines(&NAMESPACE, &n, RenderCtx::default(), &all),
            vec![
                r#"kube_namespace_created{namespace="default"} 1.501779547e+09"#,
                r#"kube_namespace_status_phase{namespace="default",phase="Active"} 1"#,
                r#"kube_namespace_status_phase{namespace="default",phase="Terminating"} 0"#,
            ]
        );
    }

    #[test]
    fn unset_phase_reports_both_phases_zero() {
        let n = ns(r#"{"metadata": {"name": "fresh"}}"#);
        assert_eq!(
            render_lines(
                &NAMESPACE,
                &n,
                RenderCtx::default(),
                &["kube_namespace_created", "kube_namespace_status_phase"]
            ),
            vec![
                r#"kube_namespace_status_phase{namespace="fresh",phase="Active"} 0"#,
                r#"kube_namespace_status_phase{namespace="fresh",phase="Terminating"} 0"#,
            ]
        );
    }

    #[test]
    fn labels_and_annotations_follow_allowlists() {
        let n = ns(TERMINATING);
        let names = &["kube_namespace_annotations", "kube_namespace_labels"];
        assert!(render_lines(&NAMESPACE, &n, ctx_for("nodes=[*]", "pods=[*]"), names).is_empty());
        assert_eq!(
            render_lines(
                &NAMESPACE,
                &n,
                ctx_for("namespaces=[nope]", "*=[nope]"),
                names
            ),
            vec![
                r#"kube_namespace_annotations{namespace="team-a"} 1"#,
                r#"kube_namespace_labels{namespace="team-a"} 1"#,
            ]
        );
        assert_eq!(
            render_lines(
                &NAMESPACE,
                &n,
                ctx_for("namespaces=[costCenter]", ""),
                names
            ),
            vec![r#"kube_namespace_labels{namespace="team-a",label_cost_center="42"} 1"#]
        );
    }

    #[test]
    fn families_and_labels_match_catalog() {
        let t = ns(TERMINATING);
        let a = ns(ACTIVE);
        let text = render_text(&NAMESPACE, &[&t, &a], allow_all());
        let missing = assert_matches_catalog(&NAMESPACE, &text);
        assert!(missing.is_empty(), "families without samples: {missing:?}");
        assert_eq!(NAMESPACE.families.len(), 5);
    }
}
