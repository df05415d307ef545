//! Role families, in kube-state-metrics' order (`internal/store/role.go`).

use crate::metrics::common::{annotations, created, info, labels, resource_version_strict};
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::Role;

pub static ROLE: ResourceDef<Role> = ResourceDef {
    name: "roles",
    identity: role_identity,
    families: FAMILIES,
};

fn role_identity(o: &Role) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("role", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Role>] = &[
    Family::experimental(
        "kube_role_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_role_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental("kube_role_info", "Information about role.", info),
    Family::experimental("kube_role_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_role_metadata_resource_version",
        "Resource version representing a specific version of the role.",
        resource_version_strict,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_role_annotations",
        "kube_role_labels",
        "kube_role_info",
        "kube_role_created",
        "kube_role_metadata_resource_version",
    ];

    fn rich() -> Role {
        obj(r#"{
            "metadata": {
                "name": "role1",
                "namespace": "ns1",
                "creationTimestamp": "2017-08-03T16:45:47Z",
                "resourceVersion": "123",
                "labels": {"app": "mysql-server"},
                "annotations": {"app": "mysql-server"}
            },
            "rules": []
        }"#)
    }

    #[test]
    fn every_family_with_allowlists() {
        assert_eq!(
            render_lines(&ROLE, &rich(), allow_all(), NAMES),
            vec![
                r#"kube_role_annotations{namespace="ns1",role="role1",annotation_app="mysql-server"} 1"#,
                r#"kube_role_labels{namespace="ns1",role="role1",label_app="mysql-server"} 1"#,
                r#"kube_role_info{namespace="ns1",role="role1"} 1"#,
                r#"kube_role_created{namespace="ns1",role="role1"} 1.501778747e+09"#,
                r#"kube_role_metadata_resource_version{namespace="ns1",role="role1"} 123"#,
            ]
        );
    }

    #[test]
    fn listed_without_matching_keys_gives_identity_only() {
        let list = Allowlist::parse("x", "roles=[other]", &|_| true).expect("list");
        let ctx = RenderCtx {
            labels: list.for_resource("roles"),
            annotations: list.for_resource("roles"),
        };
        assert_eq!(
            render_lines(&ROLE, &rich(), ctx, &NAMES[..2]),
            vec![
                r#"kube_role_annotations{namespace="ns1",role="role1"} 1"#,
                r#"kube_role_labels{namespace="ns1",role="role1"} 1"#,
            ]
        );
        assert!(render_lines(&ROLE, &rich(), RenderCtx::default(), &NAMES[..2]).is_empty());
    }

    #[test]
    fn label_names_match_the_catalog() {
        let lines = render_lines(&ROLE, &rich(), allow_all(), NAMES);
        assert_catalog_labels("roles", &lines);
    }
}
