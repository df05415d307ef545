//! HorizontalPodAutoscaler families, in kube-state-metrics' order (`internal/store/horizontalpodautoscaler.go`).
//!
//! KSM builds the target-metric samples of one metric from a Go map, so their order varies
//! between scrapes; here it is fixed as `value`, `utilization`, `average`.

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::quantity::parse_quantity;
use crate::metrics::ResourceDef;
use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus, MetricStatus,
    MetricTarget, MetricValueStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

pub static HORIZONTALPODAUTOSCALER: ResourceDef<HorizontalPodAutoscaler> = ResourceDef {
    name: "horizontalpodautoscalers",
    identity: horizontalpodautoscaler_identity,
    families: FAMILIES,
};

fn horizontalpodautoscaler_identity(o: &HorizontalPodAutoscaler) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("horizontalpodautoscaler", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<HorizontalPodAutoscaler>] = &[
    Family::experimental(
        "kube_horizontalpodautoscaler_info",
        "Information about this autoscaler.",
        info,
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_metadata_generation",
        "The generation observed by the HorizontalPodAutoscaler controller.",
        common::generation,
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_spec_max_replicas",
        "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
        |o, _, s| s.value(o.spec.max_replicas as f64),
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_spec_min_replicas",
        "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
        // The API defaults minReplicas to 1, and so does KSM when it is absent.
        |o, _, s| s.value(o.spec.min_replicas.unwrap_or(1) as f64),
    ),
    Family::experimental(
        "kube_horizontalpodautoscaler_spec_target_metric",
        "The metric specifications used by this autoscaler when calculating the desired replica count.",
        spec_target_metric,
    ),
    Family::experimental(
        "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance",
        "The tolerance on the ratio between the current and desired metric value below which no scale down occurs.",
        |o, _, s| tolerance(o.spec.behavior.as_ref().and_then(|b| b.scale_down.as_ref()), s),
    ),
    Family::experimental(
        "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance",
        "The tolerance on the ratio between the current and desired metric value below which no scale up occurs.",
        |o, _, s| tolerance(o.spec.behavior.as_ref().and_then(|b| b.scale_up.as_ref()), s),
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_status_target_metric",
        "The current metric status used by this autoscaler when calculating the desired replica count.",
        status_target_metric,
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_status_current_replicas",
        "Current number of replicas of pods managed by this autoscaler.",
        |o, _, s| s.value(status(o).and_then(|st| st.current_replicas).unwrap_or(0) as f64),
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "Desired number of replicas of pods managed by this autoscaler.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.desired_replicas) as f64),
    ),
    Family::experimental(
        "kube_horizontalpodautoscaler_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        common::annotations,
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_labels",
        "Kubernetes labels converted to Prometheus labels.",
        common::labels,
    ),
    Family::stable(
        "kube_horizontalpodautoscaler_status_condition",
        "The condition of this autoscaler.",
        status_condition,
    ),
    Family::experimental(
        "kube_horizontalpodautoscaler_created",
        "Unix creation timestamp",
        common::created,
    ),
    Family::experimental(
        "kube_horizontalpodautoscaler_deletion_timestamp",
        "Unix deletion timestamp",
        common::deletion_timestamp,
    ),
];

fn status(o: &HorizontalPodAutoscaler) -> Option<&HorizontalPodAutoscalerStatus> {
    o.status.as_ref()
}

/// `scaletargetref_api_version` is left out entirely, not written empty, when unset.
fn info(o: &HorizontalPodAutoscaler, _: &RenderCtx, s: &mut Samples) {
    let r = &o.spec.scale_target_ref;
    let kind = ("scaletargetref_kind", r.kind.as_str());
    let name = ("scaletargetref_name", r.name.as_str());
    match r.api_version.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => s.push(&[("scaletargetref_api_version", v), kind, name], 1.0),
        None => s.push(&[kind, name], 1.0),
    }
}

/// `Quantity.AsApproximateFloat64()`: plain decimals parse directly (no rounding to milli
/// units, so `0.0001` stays), suffixed quantities go through the quantity parser.
fn approximate(q: &Quantity) -> Option<f64> {
    q.0.trim()
        .parse::<f64>()
        .ok()
        .or_else(|| parse_quantity(&q.0))
}

fn tolerance(rules: Option<&HPAScalingRules>, s: &mut Samples) {
    if let Some(v) = rules
        .and_then(|r| r.tolerance.as_ref())
        .and_then(approximate)
    {
        s.value(v);
    }
}

/// The three optional numbers of a target or a current value, in the order written.
fn write_values(
    s: &mut Samples,
    name: &str,
    container: &str,
    value: Option<&Quantity>,
    utilization: Option<i32>,
    average: Option<&Quantity>,
) {
    let mut put = |kind: &str, v: f64| {
        s.push(
            &[
                ("metric_name", name),
                ("metric_target_type", kind),
                ("container", container),
            ],
            v,
        )
    };
    if let Some(v) = value.and_then(|q| parse_quantity(&q.0)) {
        put("value", v);
    }
    if let Some(v) = utilization {
        put("utilization", v as f64);
    }
    if let Some(v) = average.and_then(|q| parse_quantity(&q.0)) {
        put("average", v);
    }
}

/// One sample per set number of each spec metric; unknown types, and (unlike KSM, which
/// would dereference nil) a type whose source is missing, are skipped.
fn spec_target_metric(o: &HorizontalPodAutoscaler, _: &RenderCtx, s: &mut Samples) {
    for m in o.spec.metrics.iter().flatten() {
        let (name, target, container): (&str, &MetricTarget, &str) = match m.type_.as_str() {
            "Object" => match &m.object {
                Some(x) => (&x.metric.name, &x.target, ""),
                None => continue,
            },
            "Pods" => match &m.pods {
                Some(x) => (&x.metric.name, &x.target, ""),
                None => continue,
            },
            "Resource" => match &m.resource {
                Some(x) => (&x.name, &x.target, ""),
                None => continue,
            },
            "ContainerResource" => match &m.container_resource {
                Some(x) => (&x.name, &x.target, &x.container),
                None => continue,
            },
            "External" => match &m.external {
                Some(x) => (&x.metric.name, &x.target, ""),
                None => continue,
            },
            _ => continue,
        };
        write_values(
            s,
            name,
            container,
            target.value.as_ref(),
            target.average_utilization,
            target.average_value.as_ref(),
        );
    }
}

/// The source of a current metric matching its type, if the status carries it (status is
/// not validated, so it may be missing).
fn current(m: &MetricStatus) -> Option<(&str, &MetricValueStatus, &str)> {
    Some(match m.type_.as_str() {
        "Object" => m
            .object
            .as_ref()
            .map(|x| (&*x.metric.name, &x.current, ""))?,
        "Pods" => m.pods.as_ref().map(|x| (&*x.metric.name, &x.current, ""))?,
        "Resource" => m.resource.as_ref().map(|x| (&*x.name, &x.current, ""))?,
        "ContainerResource" => m
            .container_resource
            .as_ref()
            .map(|x| (&*x.name, &x.current, &*x.container))?,
        "External" => m
            .external
            .as_ref()
            .map(|x| (&*x.metric.name, &x.current, ""))?,
        _ => return None,
    })
}

fn status_target_metric(o: &HorizontalPodAutoscaler, _: &RenderCtx, s: &mut Samples) {
    let metrics = status(o).and_then(|st| st.current_metrics.as_deref());
    for (name, cur, container) in metrics.unwrap_or(&[]).iter().filter_map(current) {
        write_values(
            s,
            name,
            container,
            cur.value.as_ref(),
            cur.average_utilization,
            cur.average_value.as_ref(),
        );
    }
}

fn status_condition(o: &HorizontalPodAutoscaler, _: &RenderCtx, s: &mut Samples) {
    let conditions = status(o).and_then(|st| st.conditions.as_deref());
    for c in conditions.unwrap_or(&[]) {
        common::push_condition(s, None, &c.type_, &c.status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{allowlist_ctx, check_catalog, line};
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns1",horizontalpodautoscaler="hpa1""#;

    fn full() -> HorizontalPodAutoscaler {
        obj(r#"{
          "metadata": {
            "name": "hpa1", "namespace": "ns1", "generation": 2,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "deletionTimestamp": "2017-08-30T18:32:27Z",
            "labels": {"app": "foobar"},
            "annotations": {"app": "mysql-server"}
          },
          "spec": {
            "maxReplicas": 4, "minReplicas": 2,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "deployment1"},
            "behavior": {"scaleUp": {"tolerance": "0.05"}, "scaleDown": {"tolerance": "100m"}},
            "metrics": [
              {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageUtilization": 80, "averageValue": "800Ki"}}},
              {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
              {"type": "Object", "object": {"metric": {"name": "hits"}, "describedObject": {"kind": "Service", "name": "s"},
                 "target": {"type": "Value", "value": "12", "averageValue": "10"}}},
              {"type": "Pods", "pods": {"metric": {"name": "transactions_processed"}, "target": {"type": "AverageValue", "averageValue": "33"}}},
              {"type": "External", "external": {"metric": {"name": "sqs_jobs"}, "target": {"type": "Value", "value": "30"}}},
              {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 60}}},
              {"type": "Object"},
              {"type": "Mystery"}
            ]
          },
          "status": {
            "currentReplicas": 2, "desiredReplicas": 2,
            "currentMetrics": [
              {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 7, "averageValue": "6m"}}},
              {"type": "ContainerResource", "containerResource": {"name": "memory", "container": "app", "current": {"averageValue": "1Gi"}}},
              {"type": "External", "external": {"metric": {"name": "sqs_jobs"}, "current": {"value": "3"}}},
              {"type": "Pods"}
            ],
            "conditions": [
              {"type": "AbleToScale", "status": "True"},
              {"type": "ScalingLimited", "status": "False"}
            ]
          }
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    fn target(family: &str, name: &str, kind: &str, container: &str, v: &str) -> String {
        line(
            family,
            ID,
            &format!(r#"metric_name="{name}",metric_target_type="{kind}",container="{container}""#),
            v,
        )
    }

    #[test]
    fn full_hpa() {
        let spec = "kube_horizontalpodautoscaler_spec_target_metric";
        let stat = "kube_horizontalpodautoscaler_status_target_metric";
        let cond = "kube_horizontalpodautoscaler_status_condition";
        assert_eq!(
            render_lines(&HORIZONTALPODAUTOSCALER, &full(), allow_all(), &all_names()),
            vec![
                line(
                    "kube_horizontalpodautoscaler_info",
                    ID,
                    r#"scaletargetref_api_version="apps/v1",scaletargetref_kind="Deployment",scaletargetref_name="deployment1""#,
                    "1"
                ),
                line(
                    "kube_horizontalpodautoscaler_metadata_generation",
                    ID,
                    "",
                    "2"
                ),
                line(
                    "kube_horizontalpodautoscaler_spec_max_replicas",
                    ID,
                    "",
                    "4"
                ),
                line(
                    "kube_horizontalpodautoscaler_spec_min_replicas",
                    ID,
                    "",
                    "2"
                ),
                target(spec, "memory", "utilization", "", "80"),
                target(spec, "memory", "average", "", "819200"),
                target(spec, "cpu", "utilization", "", "80"),
                target(spec, "hits", "value", "", "12"),
                target(spec, "hits", "average", "", "10"),
                target(spec, "transactions_processed", "average", "", "33"),
                target(spec, "sqs_jobs", "value", "", "30"),
                target(spec, "cpu", "utilization", "app", "60"),
                line(
                    "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance",
                    ID,
                    "",
                    "0.1"
                ),
                line(
                    "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance",
                    ID,
                    "",
                    "0.05"
                ),
                target(stat, "cpu", "utilization", "", "7"),
                target(stat, "cpu", "average", "", "0.006"),
                target(stat, "memory", "average", "app", "1.073741824e+09"),
                target(stat, "sqs_jobs", "value", "", "3"),
                line(
                    "kube_horizontalpodautoscaler_status_current_replicas",
                    ID,
                    "",
                    "2"
                ),
                line(
                    "kube_horizontalpodautoscaler_status_desired_replicas",
                    ID,
                    "",
                    "2"
                ),
                line(
                    "kube_horizontalpodautoscaler_annotations",
                    ID,
                    r#"annotation_app="mysql-server""#,
                    "1"
                ),
                line(
                    "kube_horizontalpodautoscaler_labels",
                    ID,
                    r#"label_app="foobar""#,
                    "1"
                ),
                line(cond, ID, r#"condition="AbleToScale",status="true""#, "1"),
                line(cond, ID, r#"condition="AbleToScale",status="false""#, "0"),
                line(cond, ID, r#"condition="AbleToScale",status="unknown""#, "0"),
                line(cond, ID, r#"condition="ScalingLimited",status="true""#, "0"),
                line(
                    cond,
                    ID,
                    r#"condition="ScalingLimited",status="false""#,
                    "1"
                ),
                line(
                    cond,
                    ID,
                    r#"condition="ScalingLimited",status="unknown""#,
                    "0"
                ),
                line(
                    "kube_horizontalpodautoscaler_created",
                    ID,
                    "",
                    "1.501439547e+09"
                ),
                line(
                    "kube_horizontalpodautoscaler_deletion_timestamp",
                    ID,
                    "",
                    "1.504117947e+09"
                ),
            ]
        );
    }

    #[test]
    fn bare_hpa_defaults_min_replicas_and_omits_api_version() {
        let h: HorizontalPodAutoscaler = obj(r#"{
          "metadata": {"name": "hpa1", "namespace": "ns1"},
          "spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "StatefulSet", "name": "db"}}
        }"#);
        assert_eq!(
            render_lines(
                &HORIZONTALPODAUTOSCALER,
                &h,
                RenderCtx::default(),
                &all_names()
            ),
            vec![
                line(
                    "kube_horizontalpodautoscaler_info",
                    ID,
                    r#"scaletargetref_kind="StatefulSet",scaletargetref_name="db""#,
                    "1"
                ),
                line(
                    "kube_horizontalpodautoscaler_metadata_generation",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_horizontalpodautoscaler_spec_max_replicas",
                    ID,
                    "",
                    "3"
                ),
                line(
                    "kube_horizontalpodautoscaler_spec_min_replicas",
                    ID,
                    "",
                    "1"
                ),
                line(
                    "kube_horizontalpodautoscaler_status_current_replicas",
                    ID,
                    "",
                    "0"
                ),
                line(
                    "kube_horizontalpodautoscaler_status_desired_replicas",
                    ID,
                    "",
                    "0"
                ),
            ]
        );
    }

    #[test]
    fn approximate_tolerance_keeps_small_decimals() {
        assert_eq!(approximate(&Quantity("0.0001".into())), Some(0.0001));
        assert_eq!(approximate(&Quantity("50m".into())), Some(0.05));
        assert_eq!(approximate(&Quantity("x".into())), None);
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &[
            "kube_horizontalpodautoscaler_annotations",
            "kube_horizontalpodautoscaler_labels",
        ];
        assert!(render_lines(
            &HORIZONTALPODAUTOSCALER,
            &full(),
            RenderCtx::default(),
            names
        )
        .is_empty());
        let ctx = allowlist_ctx("horizontalpodautoscalers", "horizontalpodautoscalers=[app]");
        assert_eq!(
            render_lines(&HORIZONTALPODAUTOSCALER, &full(), ctx, names),
            vec![
                line(
                    "kube_horizontalpodautoscaler_annotations",
                    ID,
                    r#"annotation_app="mysql-server""#,
                    "1"
                ),
                line(
                    "kube_horizontalpodautoscaler_labels",
                    ID,
                    r#"label_app="foobar""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        let bare: HorizontalPodAutoscaler = obj(r#"{
          "metadata": {"name": "hpa1", "namespace": "ns1"},
          "spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "StatefulSet", "name": "db"}}
        }"#);
        check_catalog(
            "horizontalpodautoscalers",
            &HORIZONTALPODAUTOSCALER,
            2,
            &[full(), bare],
            allow_all,
        );
    }
}
