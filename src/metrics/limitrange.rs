//! LimitRange families, in kube-state-metrics' order (`internal/store/limitrange.go`).

use crate::metrics::common::created;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::quantity::parse_quantity;
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::LimitRange;

pub static LIMITRANGE: ResourceDef<LimitRange> = ResourceDef {
    name: "limitranges",
    identity: limitrange_identity,
    families: FAMILIES,
};

fn limitrange_identity(o: &LimitRange) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("limitrange", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<LimitRange>] = &[
    Family::stable(
        "kube_limitrange",
        "Information about limit range.",
        limitrange,
    ),
    Family::stable(
        "kube_limitrange_created",
        "Unix creation timestamp",
        created,
    ),
];

/// Per limit item: min, max, default, defaultRequest, maxLimitRequestRatio, each a series
/// per resource (names as written, not sanitized). KSM walks Go maps, so its order within
/// a constraint is random; ours is the key order.
fn limitrange(o: &LimitRange, _: &RenderCtx, s: &mut Samples) {
    for item in o
        .spec
        .as_ref()
        .map(|sp| sp.limits.as_slice())
        .unwrap_or(&[])
    {
        let constraints = [
            (item.min.as_ref(), "min"),
            (item.max.as_ref(), "max"),
            (item.default.as_ref(), "default"),
            (item.default_request.as_ref(), "defaultRequest"),
            (
                item.max_limit_request_ratio.as_ref(),
                "maxLimitRequestRatio",
            ),
        ];
        for (map, constraint) in constraints {
            for (resource, q) in map.into_iter().flatten() {
                let Some(v) = parse_quantity(&q.0) else {
                    continue;
                };
                s.push(
                    &[
                        ("resource", resource.as_str()),
                        ("type", item.type_.as_str()),
                        ("constraint", constraint),
                    ],
                    v,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &["kube_limitrange", "kube_limitrange_created"];

    fn limits() -> LimitRange {
        obj(r#"{
          "metadata": {"name": "quotaTest", "namespace": "testNS",
                       "creationTimestamp": "2017-07-14T02:40:00Z"},
          "spec": {"limits": [
            {"type": "Pod",
             "min": {"memory": "2100M"},
             "max": {"memory": "2100M", "cpu": "2"},
             "default": {"memory": "2100M"},
             "defaultRequest": {"memory": "2100M"},
             "maxLimitRequestRatio": {"memory": "2100M"}},
            {"type": "Container",
             "min": {"cpu": "100m", "ephemeral-storage": "1Gi"}}
          ]}
        }"#)
    }

    #[test]
    fn every_constraint_of_every_item() {
        let id = r#"namespace="testNS",limitrange="quotaTest""#;
        let l = |r: &str, t: &str, c: &str, v: &str| {
            format!(r#"kube_limitrange{{{id},resource="{r}",type="{t}",constraint="{c}"}} {v}"#)
        };
        assert_eq!(
            render_lines(&LIMITRANGE, &limits(), allow_all(), ALL),
            vec![
                l("memory", "Pod", "min", "2.1e+09"),
                l("cpu", "Pod", "max", "2"),
                l("memory", "Pod", "max", "2.1e+09"),
                l("memory", "Pod", "default", "2.1e+09"),
                l("memory", "Pod", "defaultRequest", "2.1e+09"),
                l("memory", "Pod", "maxLimitRequestRatio", "2.1e+09"),
                l("cpu", "Container", "min", "0.1"),
                l("ephemeral-storage", "Container", "min", "1.073741824e+09"),
                format!("kube_limitrange_created{{{id}}} 1.5e+09"),
            ]
        );
    }

    #[test]
    fn empty_limit_range() {
        let lr: LimitRange = obj(r#"{"metadata": {"name": "l", "namespace": "n"}}"#);
        assert!(render_lines(&LIMITRANGE, &lr, RenderCtx::default(), ALL).is_empty());
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&LIMITRANGE, &[limits()]);
    }
}
