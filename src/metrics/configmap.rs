//! ConfigMap families, in kube-state-metrics' order (`internal/store/configmap.go`).

use crate::metrics::common::{annotations, created, info, labels, resource_version};
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::ConfigMap;

pub static CONFIGMAP: ResourceDef<ConfigMap> = ResourceDef {
    name: "configmaps",
    identity: configmap_identity,
    families: FAMILIES,
};

fn configmap_identity(o: &ConfigMap) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("configmap", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ConfigMap>] = &[
    Family::experimental(
        "kube_configmap_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_configmap_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable("kube_configmap_info", "Information about configmap.", info),
    Family::stable("kube_configmap_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_configmap_metadata_resource_version",
        "Resource version representing a specific version of the configmap.",
        resource_version,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    fn configmap() -> ConfigMap {
        obj(r#"{
          "metadata": {
            "name": "app-config", "namespace": "prod", "uid": "u1",
            "resourceVersion": "123456",
            "creationTimestamp": "2017-08-03T17:25:47Z",
            "labels": {"app": "web", "app.kubernetes.io/part-of": "shop"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
          },
          "data": {"key": "value"}
        }"#)
    }

    const ALL: &[&str] = &[
        "kube_configmap_annotations",
        "kube_configmap_labels",
        "kube_configmap_info",
        "kube_configmap_created",
        "kube_configmap_metadata_resource_version",
    ];

    #[test]
    fn every_family_of_a_configmap() {
        let id = r#"namespace="prod",configmap="app-config""#;
        assert_eq!(
            render_lines(&CONFIGMAP, &configmap(), allow_all(), ALL),
            vec![
                format!("kube_configmap_annotations{{{id},annotation_kubectl_kubernetes_io_last_applied_configuration=\"{{}}\"}} 1"),
                format!("kube_configmap_labels{{{id},label_app=\"web\",label_app_kubernetes_io_part_of=\"shop\"}} 1"),
                format!("kube_configmap_info{{{id}}} 1"),
                format!("kube_configmap_created{{{id}}} 1.501781147e+09"),
                format!("kube_configmap_metadata_resource_version{{{id}}} 123456"),
            ]
        );
    }

    #[test]
    fn unlisted_allowlists_and_odd_resource_versions() {
        // Not in the allowlists: no labels/annotations samples. Resource version that
        // ParseFloat rejects: no sample. No creation timestamp: no sample.
        let cm: ConfigMap = obj(
            r#"{"metadata": {"name": "c", "namespace": "n", "resourceVersion": "abc", "labels": {"a": "b"}}}"#,
        );
        assert_eq!(
            render_lines(&CONFIGMAP, &cm, RenderCtx::default(), ALL),
            vec![r#"kube_configmap_info{namespace="n",configmap="c"} 1"#]
        );
        // Listed but no key allowed: one sample with the identity labels only.
        let cm: ConfigMap =
            obj(r#"{"metadata": {"name": "c", "namespace": "n", "resourceVersion": "10.5"}}"#);
        assert_eq!(
            render_lines(
                &CONFIGMAP,
                &cm,
                allow_all(),
                &[
                    "kube_configmap_labels",
                    "kube_configmap_metadata_resource_version"
                ]
            ),
            vec![
                r#"kube_configmap_labels{namespace="n",configmap="c"} 1"#,
                r#"kube_configmap_metadata_resource_version{namespace="n",configmap="c"} 10.5"#,
            ]
        );
    }

    #[test]
    fn resource_version_follows_go_parse_float() {
        use crate::metrics::common::go_parse_float_signed_nan as go_parse_float;
        assert_eq!(go_parse_float("123"), Some(123.0));
        assert_eq!(go_parse_float("1e3"), Some(1000.0));
        assert_eq!(go_parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(go_parse_float("1e400"), None);
        assert_eq!(go_parse_float(""), None);
        assert_eq!(go_parse_float("12a"), None);
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        crate::metrics::catalog_check::check(&CONFIGMAP, &[configmap()]);
    }
}
