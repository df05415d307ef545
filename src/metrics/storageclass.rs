//! StorageClass families, in kube-state-metrics' order (`internal/store/storageclass.go`).

use crate::metrics::common::{annotations, created, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::storage::v1::StorageClass;

pub static STORAGECLASS: ResourceDef<StorageClass> = ResourceDef {
    name: "storageclasses",
    identity: storageclass_identity,
    families: FAMILIES,
};

fn storageclass_identity(o: &StorageClass) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("storageclass", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<StorageClass>] = &[
    Family::stable(
        "kube_storageclass_info",
        "Information about storageclass.",
        info,
    ),
    Family::stable(
        "kube_storageclass_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_storageclass_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_storageclass_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

/// Unset reclaim policy and binding mode are reported as the API defaults (`Delete`,
/// `Immediate`), as KSM fills them in.
fn info(o: &StorageClass, _: &RenderCtx, s: &mut Samples) {
    s.push(
        &[
            ("provisioner", o.provisioner.as_str()),
            (
                "reclaim_policy",
                o.reclaim_policy.as_deref().unwrap_or("Delete"),
            ),
            (
                "volume_binding_mode",
                o.volume_binding_mode.as_deref().unwrap_or("Immediate"),
            ),
        ],
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_storageclass_info",
        "kube_storageclass_created",
        "kube_storageclass_annotations",
        "kube_storageclass_labels",
    ];

    fn class() -> StorageClass {
        obj(r#"{
          "metadata": {"name": "test_storageclass-info", "creationTimestamp": "2017-07-14T02:40:00Z",
                       "labels": {"foo": "bar"},
                       "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
          "provisioner": "kubernetes.io/rbd",
          "reclaimPolicy": "Retain",
          "volumeBindingMode": "WaitForFirstConsumer"
        }"#)
    }

    #[test]
    fn every_family_of_a_storage_class() {
        let id = r#"storageclass="test_storageclass-info""#;
        assert_eq!(
            render_lines(&STORAGECLASS, &class(), allow_all(), ALL),
            vec![
                format!(
                    r#"kube_storageclass_info{{{id},provisioner="kubernetes.io/rbd",reclaim_policy="Retain",volume_binding_mode="WaitForFirstConsumer"}} 1"#
                ),
                format!("kube_storageclass_created{{{id}}} 1.5e+09"),
                format!(
                    r#"kube_storageclass_annotations{{{id},annotation_storageclass_kubernetes_io_is_default_class="true"}} 1"#
                ),
                format!(r#"kube_storageclass_labels{{{id},label_foo="bar"}} 1"#),
            ]
        );
    }

    #[test]
    fn defaults_fill_unset_policy_and_mode() {
        let sc: StorageClass =
            obj(r#"{"metadata": {"name": "standard"}, "provisioner": "ebs.csi.aws.com"}"#);
        assert_eq!(
            render_lines(&STORAGECLASS, &sc, RenderCtx::default(), ALL),
            vec![
                r#"kube_storageclass_info{storageclass="standard",provisioner="ebs.csi.aws.com",reclaim_policy="Delete",volume_binding_mode="Immediate"} 1"#
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&STORAGECLASS, &[class()]);
    }
}
