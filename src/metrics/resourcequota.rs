//! ResourceQuota families, in kube-state-metrics' order (`internal/store/resourcequota.go`).

use crate::metrics::common::{annotations, created, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::quantity::parse_quantity;
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::ResourceQuota;

pub static RESOURCEQUOTA: ResourceDef<ResourceQuota> = ResourceDef {
    name: "resourcequotas",
    identity: resourcequota_identity,
    families: FAMILIES,
};

fn resourcequota_identity(o: &ResourceQuota) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("resourcequota", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ResourceQuota>] = &[
    Family::stable(
        "kube_resourcequota_created",
        "Unix creation timestamp",
        created,
    ),
    Family::stable(
        "kube_resourcequota",
        "Information about resource quota.",
        quota,
    ),
    Family::experimental(
        "kube_resourcequota_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    // STABLE in KSM's code (the docs and the TSV say EXPERIMENTAL); the code decides the
    // `[STABLE] ` help prefix users see.
    Family::stable(
        "kube_resourcequota_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

/// `status.hard` then `status.used`, a series per resource (names as written). KSM walks
/// Go maps, so its order within each is random; ours is the key order.
fn quota(o: &ResourceQuota, _: &RenderCtx, s: &mut Samples) {
    let Some(st) = o.status.as_ref() else {
        return;
    };
    for (map, kind) in [(st.hard.as_ref(), "hard"), (st.used.as_ref(), "used")] {
        for (resource, q) in map.into_iter().flatten() {
            let Some(v) = parse_quantity(&q.0) else {
                continue;
            };
            s.push(&[("resource", resource.as_str()), ("type", kind)], v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_resourcequota_created",
        "kube_resourcequota",
        "kube_resourcequota_annotations",
        "kube_resourcequota_labels",
    ];

    fn quota_obj() -> ResourceQuota {
        obj(r#"{
          "metadata": {"name": "quotaTest", "namespace": "testNS",
                       "creationTimestamp": "2017-07-14T02:40:00Z",
                       "labels": {"hello": "world"},
                       "annotations": {"foo": "baz"}},
          "spec": {"hard": {"cpu": "4.3"}},
          "status": {
            "hard": {"cpu": "4.3", "memory": "2.1G", "requests.nvidia.com/gpu": "4", "count/deployments.apps": "10", "services.loadbalancers": "0"},
            "used": {"cpu": "2100m", "memory": "500M", "requests.nvidia.com/gpu": "1"}
          }
        }"#)
    }

    #[test]
    fn hard_and_used_per_resource() {
        let id = r#"namespace="testNS",resourcequota="quotaTest""#;
        let q = |r: &str, t: &str, v: &str| {
            format!(r#"kube_resourcequota{{{id},resource="{r}",type="{t}"}} {v}"#)
        };
        assert_eq!(
            render_lines(&RESOURCEQUOTA, &quota_obj(), allow_all(), ALL),
            vec![
                format!("kube_resourcequota_created{{{id}}} 1.5e+09"),
                q("count/deployments.apps", "hard", "10"),
                q("cpu", "hard", "4.3"),
                q("memory", "hard", "2.1e+09"),
                q("requests.nvidia.com/gpu", "hard", "4"),
                q("services.loadbalancers", "hard", "0"),
                q("cpu", "used", "2.1"),
                q("memory", "used", "5e+08"),
                q("requests.nvidia.com/gpu", "used", "1"),
                format!(r#"kube_resourcequota_annotations{{{id},annotation_foo="baz"}} 1"#),
                format!(r#"kube_resourcequota_labels{{{id},label_hello="world"}} 1"#),
            ]
        );
    }

    #[test]
    fn quota_without_status() {
        let rq: ResourceQuota =
            obj(r#"{"metadata": {"name": "q", "namespace": "n"}, "spec": {"hard": {"cpu": "1"}}}"#);
        assert!(render_lines(&RESOURCEQUOTA, &rq, RenderCtx::default(), ALL).is_empty());
    }

    #[test]
    fn labels_family_is_stable_as_in_code() {
        let h = String::from_utf8(FAMILIES[3].def.header()).expect("utf8");
        assert!(
            h.starts_with("# HELP kube_resourcequota_labels [STABLE] "),
            "{h}"
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&RESOURCEQUOTA, &[quota_obj()]);
    }
}
