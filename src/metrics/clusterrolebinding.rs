//! ClusterRoleBinding families, in kube-state-metrics' order (`internal/store/clusterrolebinding.go`).

use crate::metrics::common::{annotations, created, labels, resource_version_strict};
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;

pub static CLUSTERROLEBINDING: ResourceDef<ClusterRoleBinding> = ResourceDef {
    name: "clusterrolebindings",
    identity: clusterrolebinding_identity,
    families: FAMILIES,
};

fn clusterrolebinding_identity(o: &ClusterRoleBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("clusterrolebinding", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<ClusterRoleBinding>] = &[
    Family::experimental(
        "kube_clusterrolebinding_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_clusterrolebinding_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental(
        "kube_clusterrolebinding_info",
        "Information about clusterrolebinding.",
        |r, _, s| {
            s.push(
                &[
                    ("roleref_kind", r.role_ref.kind.as_str()),
                    ("roleref_name", r.role_ref.name.as_str()),
                ],
                1.0,
            )
        },
    ),
    Family::experimental(
        "kube_clusterrolebinding_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_clusterrolebinding_metadata_resource_version",
        "Resource version representing a specific version of the clusterrolebinding.",
        resource_version_strict,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_clusterrolebinding_annotations",
        "kube_clusterrolebinding_labels",
        "kube_clusterrolebinding_info",
        "kube_clusterrolebinding_created",
        "kube_clusterrolebinding_metadata_resource_version",
    ];

    fn rich() -> ClusterRoleBinding {
        obj(r#"{
            "metadata": {
                "name": "clusterrolebinding1",
                "creationTimestamp": "2017-08-03T16:45:47Z",
                "resourceVersion": "123",
                "labels": {"app": "mysql-server"},
                "annotations": {"app": "mysql-server"}
            },
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "role"},
            "subjects": [{"kind": "User", "name": "alice"}]
        }"#)
    }

    #[test]
    fn every_family_with_allowlists() {
        assert_eq!(
            render_lines(&CLUSTERROLEBINDING, &rich(), allow_all(), NAMES),
            vec![
                r#"kube_clusterrolebinding_annotations{clusterrolebinding="clusterrolebinding1",annotation_app="mysql-server"} 1"#,
                r#"kube_clusterrolebinding_labels{clusterrolebinding="clusterrolebinding1",label_app="mysql-server"} 1"#,
                r#"kube_clusterrolebinding_info{clusterrolebinding="clusterrolebinding1",roleref_kind="ClusterRole",roleref_name="role"} 1"#,
                r#"kube_clusterrolebinding_created{clusterrolebinding="clusterrolebinding1"} 1.501778747e+09"#,
                r#"kube_clusterrolebinding_metadata_resource_version{clusterrolebinding="clusterrolebinding1"} 123"#,
            ]
        );
    }

    #[test]
    fn without_allowlist_timestamp_or_version() {
        let r: ClusterRoleBinding = obj(r#"{
            "metadata": {"name": "b", "labels": {"a": "b"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
        }"#);
        assert_eq!(
            render_lines(&CLUSTERROLEBINDING, &r, RenderCtx::default(), NAMES),
            vec![
                r#"kube_clusterrolebinding_info{clusterrolebinding="b",roleref_kind="ClusterRole",roleref_name="view"} 1"#,
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        let lines = render_lines(&CLUSTERROLEBINDING, &rich(), allow_all(), NAMES);
        assert_catalog_labels("clusterrolebindings", &lines);
    }
}
