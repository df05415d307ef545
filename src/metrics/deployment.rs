//! Deployment families, in kube-state-metrics' order (`internal/store/deployment.go`).

use crate::metrics::common::{
    annotations, bool_value, created, deletion_timestamp, labels, push_condition,
};
use crate::metrics::family::{identity_labels, Family, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub static DEPLOYMENT: ResourceDef<Deployment> = ResourceDef {
    name: "deployments",
    identity: deployment_identity,
    families: FAMILIES,
};

fn deployment_identity(o: &Deployment) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("deployment", m.name.as_deref().unwrap_or("")),
    ])
}

/// Condition reasons the deployment controller sets (`deployment_utils.go`); any other
/// reason is reported as `unknown` so a free-form reason cannot blow up series cardinality.
const KNOWN_REASONS: &[&str] = &[
    "ReplicaSetUpdated",
    "ReplicaSetCreateError",
    "NewReplicaSetCreated",
    "FoundNewReplicaSet",
    "NewReplicaSetAvailable",
    "ProgressDeadlineExceeded",
    "DeploymentPaused",
    "DeploymentResumed",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "",
];

/// A status counter that Go reads as 0 when the status or the field is absent.
fn status_count(d: &Deployment, f: fn(&DeploymentStatus) -> Option<i32>) -> f64 {
    d.status.as_ref().and_then(f).unwrap_or(0) as f64
}

static FAMILIES: &[Family<Deployment>] = &[
    Family::experimental(
        "kube_deployment_owner",
        "Information about the Deployment's owner.",
        |d, _, s| {
            let owners = d.metadata.owner_references.as_deref().unwrap_or_default();
            if owners.is_empty() {
                s.push(&[("owner_kind", ""), ("owner_name", "")], 1.0);
            }
            for o in owners {
                s.push(
                    &[("owner_kind", o.kind.as_str()), ("owner_name", o.name.as_str())],
                    1.0,
                );
            }
        },
    ),
    Family::stable("kube_deployment_created", "Unix creation timestamp", created),
    Family::stable(
        "kube_deployment_status_replicas",
        "The number of replicas per deployment.",
        |d, _, s| s.value(status_count(d, |st| st.replicas)),
    ),
    Family::stable(
        "kube_deployment_status_replicas_ready",
        "The number of ready replicas per deployment.",
        |d, _, s| s.value(status_count(d, |st| st.ready_replicas)),
    ),
    Family::stable(
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
        |d, _, s| s.value(status_count(d, |st| st.available_replicas)),
    ),
    Family::stable(
        "kube_deployment_status_replicas_unavailable",
        "The number of unavailable replicas per deployment.",
        |d, _, s| s.value(status_count(d, |st| st.unavailable_replicas)),
    ),
    Family::stable(
        "kube_deployment_status_replicas_updated",
        "The number of updated replicas per deployment.",
        |d, _, s| s.value(status_count(d, |st| st.updated_replicas)),
    ),
    Family::experimental(
        "kube_deployment_status_terminating_replicas",
        "The number of terminating replicas per deployment.",
        |d, _, s| {
            // A pointer in the API: absent means "not reported", not zero.
            if let Some(n) = d.status.as_ref().and_then(|st| st.terminating_replicas) {
                s.value(n as f64);
            }
        },
    ),
    Family::stable(
        "kube_deployment_status_observed_generation",
        "The generation observed by the deployment controller.",
        |d, _, s| {
            let g = d.status.as_ref().and_then(|st| st.observed_generation);
            s.value(g.unwrap_or(0) as f64);
        },
    ),
    Family::stable(
        "kube_deployment_status_condition",
        "The current status conditions of a deployment.",
        |d, _, s| {
            let conds = d.status.as_ref().and_then(|st| st.conditions.as_deref());
            for c in conds.unwrap_or_default() {
                let reason = c.reason.as_deref().unwrap_or("");
                let reason = if KNOWN_REASONS.contains(&reason) {
                    reason
                } else {
                    "unknown"
                };
                push_condition(
                    s,
                    Some(reason),
                    c.type_.as_deref().unwrap_or(""),
                    c.status.as_deref().unwrap_or(""),
                );
            }
        },
    ),
    Family::stable(
        "kube_deployment_spec_replicas",
        "Number of desired pods for a deployment.",
        |d, _, s| {
            if let Some(r) = d.spec.replicas {
                s.value(r as f64);
            }
        },
    ),
    Family::stable(
        "kube_deployment_spec_paused",
        "Whether the deployment is paused and will not be processed by the deployment controller.",
        |d, _, s| s.value(bool_value(d.spec.paused.unwrap_or(false))),
    ),
    Family::stable(
        "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
        "Maximum number of unavailable replicas during a rolling update of a deployment.",
        |d, _, s| push_rolling_update(d, s, false),
    ),
    Family::stable(
        "kube_deployment_spec_strategy_rollingupdate_max_surge",
        "Maximum number of replicas that can be scheduled above the desired number of replicas during a rolling update of a deployment.",
        |d, _, s| push_rolling_update(d, s, true),
    ),
    Family::stable(
        "kube_deployment_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        |d, _, s| s.value(d.metadata.generation.unwrap_or(0) as f64),
    ),
    Family::experimental(
        "kube_deployment_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    Family::experimental(
        "kube_deployment_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_deployment_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

/// `maxSurge` (rounded up) or `maxUnavailable` (rounded down) resolved against
/// `spec.replicas`; no sample without a rolling-update block (Recreate), without replicas,
/// or when the value is absent or not a valid int-or-percent, as in kube-state-metrics.
fn push_rolling_update(d: &Deployment, s: &mut Samples, surge: bool) {
    let Some(replicas) = d.spec.replicas else {
        return;
    };
    let Some(ru) = d
        .spec
        .strategy
        .as_ref()
        .and_then(|st| st.rolling_update.as_ref())
    else {
        return;
    };
    let v = if surge {
        ru.max_surge.as_ref()
    } else {
        ru.max_unavailable.as_ref()
    };
    if let Some(n) = v.and_then(|v| scaled_int_or_percent(v, replicas, surge)) {
        s.value(n as f64);
    }
}

/// Go's `intstr.GetScaledValueFromIntOrPercent`: an int as is; a string must be `<int>%`
/// (`strconv.Atoi` syntax, sign allowed) and is scaled by `total`, rounded up or down in
/// float64 arithmetic.
fn scaled_int_or_percent(v: &IntOrString, total: i32, round_up: bool) -> Option<i64> {
    match v {
        IntOrString::Int(i) => Some(i64::from(*i)),
        IntOrString::String(s) => {
            let pct: i64 = s.strip_suffix('%')?.parse().ok()?;
            let scaled = pct as f64 * f64::from(total) / 100.0;
            Some(if round_up {
                scaled.ceil()
            } else {
                scaled.floor()
            } as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{assert_matches_catalog, render_text};
    use crate::metrics::family::RenderCtx;
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ROLLING: &str = r#"{
        "metadata": {
            "namespace": "shop",
            "name": "frontend",
            "generation": 7,
            "creationTimestamp": "2017-08-03T16:59:07Z",
            "labels": {"app.kubernetes.io/name": "frontend", "tier": "web"},
            "annotations": {"deployment.kubernetes.io/revision": "12"},
            "ownerReferences": [
                {"apiVersion": "example.com/v1", "kind": "WebApp", "name": "frontend", "uid": "u1"}
            ]
        },
        "spec": {
            "replicas": 10,
            "selector": {"matchLabels": {"app": "frontend"}},
            "template": {},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}
            }
        },
        "status": {
            "observedGeneration": 6,
            "replicas": 12,
            "updatedReplicas": 5,
            "readyReplicas": 9,
            "availableReplicas": 8,
            "unavailableReplicas": 4,
            "terminatingReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "Unknown", "reason": "SomethingCustom"},
                {"type": "ReplicaFailure", "status": "False"}
            ]
        }
    }"#;

    const PAUSED_RECREATE: &str = r#"{
        "metadata": {
            "namespace": "batch",
            "name": "migrator",
            "generation": 2,
            "creationTimestamp": "2024-01-02T03:04:05Z",
            "deletionTimestamp": "2024-06-01T00:00:00Z"
        },
        "spec": {
            "replicas": 1,
            "paused": true,
            "selector": {},
            "template": {},
            "strategy": {"type": "Recreate"}
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 1,
            "conditions": [
                {"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused"}
            ]
        }
    }"#;

    const NIL_REPLICAS: &str = r#"{
        "metadata": {"namespace": "ns", "name": "scaled-by-hpa"},
        "spec": {
            "selector": {},
            "template": {},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}
        }
    }"#;

    fn dep(json: &str) -> Deployment {
        obj(json)
    }

    fn all_names() -> Vec<&'static str> {
        DEPLOYMENT.families.iter().map(|f| f.def.name).collect()
    }

    fn ctx_for(labels: &str, annotations: &str) -> RenderCtx {
        let l = Allowlist::parse("--metric-labels-allowlist", labels, &|_| true)
            .expect("labels allowlist");
        let a = Allowlist::parse("--metric-annotations-allowlist", annotations, &|_| true)
            .expect("annotations allowlist");
        RenderCtx {
            labels: l.for_resource("deployments"),
            annotations: a.for_resource("deployments"),
        }
    }

    #[test]
    fn rolling_deployment_with_percentages() {
        let d = dep(ROLLING);
        assert_eq!(
            render_lines(&DEPLOYMENT, &d, allow_all(), &all_names()),
            vec![
                r#"kube_deployment_owner{namespace="shop",deployment="frontend",owner_kind="WebApp",owner_name="frontend"} 1"#,
                r#"kube_deployment_created{namespace="shop",deployment="frontend"} 1.501779547e+09"#,
                r#"kube_deployment_status_replicas{namespace="shop",deployment="frontend"} 12"#,
                r#"kube_deployment_status_replicas_ready{namespace="shop",deployment="frontend"} 9"#,
                r#"kube_deployment_status_replicas_available{namespace="shop",deployment="frontend"} 8"#,
                r#"kube_deployment_status_replicas_unavailable{namespace="shop",deployment="frontend"} 4"#,
                r#"kube_deployment_status_replicas_updated{namespace="shop",deployment="frontend"} 5"#,
                r#"kube_deployment_status_terminating_replicas{namespace="shop",deployment="frontend"} 2"#,
                r#"kube_deployment_status_observed_generation{namespace="shop",deployment="frontend"} 6"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="MinimumReplicasAvailable",condition="Available",status="true"} 1"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="MinimumReplicasAvailable",condition="Available",status="false"} 0"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="MinimumReplicasAvailable",condition="Available",status="unknown"} 0"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="unknown",condition="Progressing",status="true"} 0"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="unknown",condition="Progressing",status="false"} 0"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="unknown",condition="Progressing",status="unknown"} 1"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="",condition="ReplicaFailure",status="true"} 0"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="",condition="ReplicaFailure",status="false"} 1"#,
                r#"kube_deployment_status_condition{namespace="shop",deployment="frontend",reason="",condition="ReplicaFailure",status="unknown"} 0"#,
                r#"kube_deployment_spec_replicas{namespace="shop",deployment="frontend"} 10"#,
                r#"kube_deployment_spec_paused{namespace="shop",deployment="frontend"} 0"#,
                r#"kube_deployment_spec_strategy_rollingupdate_max_unavailable{namespace="shop",deployment="frontend"} 2"#,
                r#"kube_deployment_spec_strategy_rollingupdate_max_surge{namespace="shop",deployment="frontend"} 3"#,
                r#"kube_deployment_metadata_generation{namespace="shop",deployment="frontend"} 7"#,
                r#"kube_deployment_annotations{namespace="shop",deployment="frontend",annotation_deployment_kubernetes_io_revision="12"} 1"#,
                r#"kube_deployment_labels{namespace="shop",deployment="frontend",label_app_kubernetes_io_name="frontend",label_tier="web"} 1"#,
            ]
        );
    }

    #[test]
    fn paused_recreate_deployment_being_deleted() {
        let d = dep(PAUSED_RECREATE);
        assert_eq!(
            render_lines(&DEPLOYMENT, &d, RenderCtx::default(), &all_names()),
            vec![
                r#"kube_deployment_owner{namespace="batch",deployment="migrator",owner_kind="",owner_name=""} 1"#,
                r#"kube_deployment_created{namespace="batch",deployment="migrator"} 1.704164645e+09"#,
                r#"kube_deployment_status_replicas{namespace="batch",deployment="migrator"} 1"#,
                r#"kube_deployment_status_replicas_ready{namespace="batch",deployment="migrator"} 0"#,
                r#"kube_deployment_status_replicas_available{namespace="batch",deployment="migrator"} 0"#,
                r#"kube_deployment_status_replicas_unavailable{namespace="batch",deployment="migrator"} 0"#,
                r#"kube_deployment_status_replicas_updated{namespace="batch",deployment="migrator"} 0"#,
                r#"kube_deployment_status_observed_generation{namespace="batch",deployment="migrator"} 2"#,
                r#"kube_deployment_status_condition{namespace="batch",deployment="migrator",reason="DeploymentPaused",condition="Progressing",status="true"} 0"#,
                r#"kube_deployment_status_condition{namespace="batch",deployment="migrator",reason="DeploymentPaused",condition="Progressing",status="false"} 0"#,
                r#"kube_deployment_status_condition{namespace="batch",deployment="migrator",reason="DeploymentPaused",condition="Progressing",status="unknown"} 1"#,
                r#"kube_deployment_spec_replicas{namespace="batch",deployment="migrator"} 1"#,
                r#"kube_deployment_spec_paused{namespace="batch",deployment="migrator"} 1"#,
                r#"kube_deployment_metadata_generation{namespace="batch",deployment="migrator"} 2"#,
                r#"kube_deployment_deletion_timestamp{namespace="batch",deployment="migrator"} 1.7172e+09"#,
            ]
        );
    }

    #[test]
    fn nil_replicas_and_missing_status() {
        let d = dep(NIL_REPLICAS);
        assert_eq!(
            render_lines(&DEPLOYMENT, &d, RenderCtx::default(), &all_names()),
            vec![
                r#"kube_deployment_owner{namespace="ns",deployment="scaled-by-hpa",owner_kind="",owner_name=""} 1"#,
                r#"kube_deployment_status_replicas{namespace="ns",deployment="scaled-by-hpa"} 0"#,
                r#"kube_deployment_status_replicas_ready{namespace="ns",deployment="scaled-by-hpa"} 0"#,
                r#"kube_deployment_status_replicas_available{namespace="ns",deployment="scaled-by-hpa"} 0"#,
                r#"kube_deployment_status_replicas_unavailable{namespace="ns",deployment="scaled-by-hpa"} 0"#,
                r#"kube_deployment_status_replicas_updated{namespace="ns",deployment="scaled-by-hpa"} 0"#,
                r#"kube_deployment_status_observed_generation{namespace="ns",deployment="scaled-by-hpa"} 0"#,
                r#"kube_deployment_spec_paused{namespace="ns",deployment="scaled-by-hpa"} 0"#,
                r#"kube_deployment_metadata_generation{namespace="ns",deployment="scaled-by-hpa"} 0"#,
            ]
        );
    }

    #[test]
    fn rolling_update_values_resolve_like_intstr() {
        let p = |s: &str| IntOrString::String(s.to_string());
        assert_eq!(
            scaled_int_or_percent(&IntOrString::Int(3), 10, true),
            Some(3)
        );
        assert_eq!(
            scaled_int_or_percent(&IntOrString::Int(-1), 10, false),
            Some(-1)
        );
        assert_eq!(scaled_int_or_percent(&p("25%"), 10, true), Some(3));
        assert_eq!(scaled_int_or_percent(&p("25%"), 10, false), Some(2));
        assert_eq!(scaled_int_or_percent(&p("+50%"), 3, true), Some(2));
        assert_eq!(scaled_int_or_percent(&p("-10%"), 15, false), Some(-2));
        assert_eq!(scaled_int_or_percent(&p("0%"), 0, true), Some(0));
        assert_eq!(scaled_int_or_percent(&p("5"), 10, true), None);
        assert_eq!(scaled_int_or_percent(&p("x%"), 10, true), None);
        assert_eq!(scaled_int_or_percent(&p("%"), 10, true), None);
        assert_eq!(scaled_int_or_percent(&p(" 5%"), 10, true), None);
    }

    #[test]
    fn rolling_update_without_a_value_or_with_a_bad_one_has_no_sample() {
        let d = dep(r#"{
            "metadata": {"namespace": "ns", "name": "odd"},
            "spec": {
                "replicas": 4,
                "selector": {},
                "template": {},
                "strategy": {"rollingUpdate": {"maxSurge": "1"}}
            }
        }"#);
        let names = [
            "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
            "kube_deployment_spec_strategy_rollingupdate_max_surge",
        ];
        assert!(render_lines(&DEPLOYMENT, &d, RenderCtx::default(), &names).is_empty());
        let d = dep(r#"{
            "metadata": {"namespace": "ns", "name": "ints"},
            "spec": {
                "replicas": 4,
                "selector": {},
                "template": {},
                "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "50%"}}
            }
        }"#);
        assert_eq!(
            render_lines(&DEPLOYMENT, &d, RenderCtx::default(), &names),
            vec![
                r#"kube_deployment_spec_strategy_rollingupdate_max_unavailable{namespace="ns",deployment="ints"} 2"#,
                r#"kube_deployment_spec_strategy_rollingupdate_max_surge{namespace="ns",deployment="ints"} 0"#,
            ]
        );
    }

    #[test]
    fn several_owners_one_series_each() {
        let d = dep(r#"{
            "metadata": {"namespace": "ns", "name": "d", "ownerReferences": [
                {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1"},
                {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2"}
            ]},
            "spec": {"selector": {}, "template": {}}
        }"#);
        assert_eq!(
            render_lines(
                &DEPLOYMENT,
                &d,
                RenderCtx::default(),
                &["kube_deployment_owner"]
            ),
            vec![
                r#"kube_deployment_owner{namespace="ns",deployment="d",owner_kind="A",owner_name="a"} 1"#,
                r#"kube_deployment_owner{namespace="ns",deployment="d",owner_kind="B",owner_name="b"} 1"#,
            ]
        );
    }

    #[test]
    fn labels_and_annotations_follow_allowlists() {
        let d = dep(ROLLING);
        let names = &["kube_deployment_annotations", "kube_deployment_labels"];
        assert!(render_lines(&DEPLOYMENT, &d, ctx_for("pods=[*]", ""), names).is_empty());
        assert_eq!(
            render_lines(
                &DEPLOYMENT,
                &d,
                ctx_for("deployments=[x]", "deployments=[y]"),
                names
            ),
            vec![
                r#"kube_deployment_annotations{namespace="shop",deployment="frontend"} 1"#,
                r#"kube_deployment_labels{namespace="shop",deployment="frontend"} 1"#,
            ]
        );
        assert_eq!(
            render_lines(
                &DEPLOYMENT,
                &d,
                ctx_for("deployments=[app.kubernetes.io/*]", ""),
                names
            ),
            vec![
                r#"kube_deployment_labels{namespace="shop",deployment="frontend",label_app_kubernetes_io_name="frontend"} 1"#,
            ]
        );
    }

    #[test]
    fn families_and_labels_match_catalog() {
        let a = dep(ROLLING);
        let b = dep(PAUSED_RECREATE);
        let c = dep(NIL_REPLICAS);
        let text = render_text(&DEPLOYMENT, &[&a, &b, &c], allow_all());
        let missing = assert_matches_catalog(&DEPLOYMENT, &text);
        assert!(missing.is_empty(), "families without samples: {missing:?}");
        assert_eq!(DEPLOYMENT.families.len(), 18);
    }
}
