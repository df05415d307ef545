//! RoleBinding families, in kube-state-metrics' order (`internal/store/rolebinding.go`).

use crate::metrics::common::{annotations, created, labels, resource_version_strict};
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::RoleBinding;

pub static ROLEBINDING: ResourceDef<RoleBinding> = ResourceDef {
    name: "rolebindings",
    identity: rolebinding_identity,
    families: FAMILIES,
};

fn rolebinding_identity(o: &RoleBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("rolebinding", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<RoleBinding>] = &[
    Family::experimental(
        "kube_rolebinding_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_rolebinding_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental(
        "kube_rolebinding_info",
        "Information about rolebinding.",
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
        "kube_rolebinding_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_rolebinding_metadata_resource_version",
        "Resource version representing a specific version of the rolebinding.",
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
        "kube_rolebinding_annotations",
        "kube_rolebinding_labels",
        "kube_rolebinding_info",
        "kube_rolebinding_created",
        "kube_rolebinding_metadata_resource_version",
    ];

    fn rich() -> RoleBinding {
        obj(r#"{
            "metadata": {
                "name": "rolebinding1",
                "namespace": "ns1",
                "creationTimestamp": "2017-08-03T16:45:47Z",
                "resourceVersion": "123",
                "labels": {"app": "mysql-server"},
                "annotations": {"app": "mysql-server"}
            },
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "role"},
            "subjects": [{"kind": "User", "name": "alice"}]
        }"#)
    }

    #[test]
    fn every_family_with_allowlists() {
        assert_eq!(
            render_lines(&ROLEBINDING, &rich(), allow_all(), NAMES),
            vec![
                r#"kube_rolebinding_annotations{namespace="ns1",rolebinding="rolebinding1",annotation_app="mysql-server"} 1"#,
                r#"kube_rolebinding_labels{namespace="ns1",rolebinding="rolebinding1",label_app="mysql-server"} 1"#,
                r#"kube_rolebinding_info{namespace="ns1",rolebinding="rolebinding1",roleref_kind="Role",roleref_name="role"} 1"#,
                r#"kube_rolebinding_created{namespace="ns1",rolebinding="rolebinding1"} 1.501778747e+09"#,
                r#"kube_rolebinding_metadata_resource_version{namespace="ns1",rolebinding="rolebinding1"} 123"#,
            ]
        );
    }

    #[test]
    fn without_allowlist_timestamp_or_version() {
        let r: RoleBinding = obj(r#"{
            "metadata": {"name": "b", "namespace": "ns2", "labels": {"a": "b"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
        }"#);
        assert_eq!(
            render_lines(&ROLEBINDING, &r, RenderCtx::default(), NAMES),
            vec![
                r#"kube_rolebinding_info{namespace="ns2",rolebinding="b",roleref_kind="ClusterRole",roleref_name="view"} 1"#,
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        let lines = render_lines(&ROLEBINDING, &rich(), allow_all(), NAMES);
        assert_catalog_labels("rolebindings", &lines);
    }
}
