//! ClusterRole families, in kube-state-metrics' order (`internal/store/clusterrole.go`).

use crate::metrics::common::{annotations, created, info, labels, resource_version_strict};
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::ClusterRole;

pub static CLUSTERROLE: ResourceDef<ClusterRole> = ResourceDef {
    name: "clusterroles",
    identity: clusterrole_identity,
    families: FAMILIES,
};

fn clusterrole_identity(o: &ClusterRole) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("clusterrole", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<ClusterRole>] = &[
    Family::experimental(
        "kube_clusterrole_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_clusterrole_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental(
        "kube_clusterrole_info",
        "Information about cluster role.",
        info,
    ),
    Family::experimental(
        "kube_clusterrole_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_clusterrole_metadata_resource_version",
        "Resource version representing a specific version of the cluster role.",
        resource_version_strict,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::common::go_parse_float;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_clusterrole_annotations",
        "kube_clusterrole_labels",
        "kube_clusterrole_info",
        "kube_clusterrole_created",
        "kube_clusterrole_metadata_resource_version",
    ];

    fn rich() -> ClusterRole {
        obj(r#"{
            "metadata": {
                "name": "role1",
                "creationTimestamp": "2017-08-03T16:45:47Z",
                "resourceVersion": "123",
                "labels": {"app": "mysql-server", "app.kubernetes.io/name": "x"},
                "annotations": {"app": "mysql-server"}
            },
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
        }"#)
    }

    #[test]
    fn every_family_with_allowlists() {
        assert_eq!(
            render_lines(&CLUSTERROLE, &rich(), allow_all(), NAMES),
            vec![
                r#"kube_clusterrole_annotations{clusterrole="role1",annotation_app="mysql-server"} 1"#,
                r#"kube_clusterrole_labels{clusterrole="role1",label_app="mysql-server",label_app_kubernetes_io_name="x"} 1"#,
                r#"kube_clusterrole_info{clusterrole="role1"} 1"#,
                r#"kube_clusterrole_created{clusterrole="role1"} 1.501778747e+09"#,
                r#"kube_clusterrole_metadata_resource_version{clusterrole="role1"} 123"#,
            ]
        );
    }

    #[test]
    fn unlisted_resource_has_no_label_samples_and_listed_keys_filter() {
        let lines = render_lines(&CLUSTERROLE, &rich(), RenderCtx::default(), NAMES);
        assert_eq!(
            lines,
            vec![
                r#"kube_clusterrole_info{clusterrole="role1"} 1"#,
                r#"kube_clusterrole_created{clusterrole="role1"} 1.501778747e+09"#,
                r#"kube_clusterrole_metadata_resource_version{clusterrole="role1"} 123"#,
            ]
        );
        let list = Allowlist::parse("x", "clusterroles=[missing,app]", &|_| true).expect("list");
        let ctx = RenderCtx {
            labels: list.for_resource("clusterroles"),
            annotations: list.for_resource("other"),
        };
        assert_eq!(
            render_lines(&CLUSTERROLE, &rich(), ctx, NAMES)[..1],
            [r#"kube_clusterrole_labels{clusterrole="role1",label_app="mysql-server"} 1"#]
        );
    }

    #[test]
    fn missing_timestamp_and_unparsable_version_give_no_sample() {
        let r: ClusterRole = obj(r#"{"metadata": {"name": "bare", "resourceVersion": "abc"}}"#);
        assert_eq!(
            render_lines(&CLUSTERROLE, &r, RenderCtx::default(), NAMES),
            vec![r#"kube_clusterrole_info{clusterrole="bare"} 1"#]
        );
        let r: ClusterRole =
            obj(r#"{"metadata": {"name": "z", "creationTimestamp": "0001-01-01T00:00:00Z"}}"#);
        assert_eq!(
            render_lines(&CLUSTERROLE, &r, RenderCtx::default(), NAMES),
            vec![r#"kube_clusterrole_info{clusterrole="z"} 1"#]
        );
    }

    #[test]
    fn resource_version_parses_like_go() {
        assert_eq!(go_parse_float("123"), Some(123.0));
        assert_eq!(go_parse_float("+1.5e3"), Some(1500.0));
        assert_eq!(go_parse_float(".5"), Some(0.5));
        assert_eq!(go_parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(go_parse_float("Infinity"), Some(f64::INFINITY));
        assert!(go_parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(go_parse_float("-nan"), None);
        assert_eq!(go_parse_float("1e400"), None);
        assert_eq!(go_parse_float("1_000"), None);
        assert_eq!(go_parse_float(""), None);
        assert_eq!(go_parse_float(" 1"), None);
        assert_eq!(go_parse_float("infin"), None);
    }

    #[test]
    fn label_names_match_the_catalog() {
        let lines = render_lines(&CLUSTERROLE, &rich(), allow_all(), NAMES);
        crate::metrics::catalog_check::assert_catalog_labels("clusterroles", &lines);
    }
}
