//! ServiceAccount families, in kube-state-metrics' order (`internal/store/serviceaccount.go`).

use crate::metrics::common::{annotations, created, deletion_timestamp, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::ServiceAccount;

pub static SERVICEACCOUNT: ResourceDef<ServiceAccount> = ResourceDef {
    name: "serviceaccounts",
    identity: serviceaccount_identity,
    families: FAMILIES,
};

fn serviceaccount_identity(o: &ServiceAccount) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("serviceaccount", m.name.as_deref().unwrap_or("")),
        ("uid", m.uid.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ServiceAccount>] = &[
    Family::experimental(
        "kube_serviceaccount_info",
        "Information about a service account",
        info,
    ),
    Family::experimental(
        "kube_serviceaccount_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_serviceaccount_deleted",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    Family::experimental(
        "kube_serviceaccount_secret",
        "Secret being referenced by a service account",
        secret,
    ),
    Family::experimental(
        "kube_serviceaccount_image_pull_secret",
        "Secret being referenced by a service account for the purpose of pulling images",
        image_pull_secret,
    ),
    Family::experimental(
        "kube_serviceaccount_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_serviceaccount_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

/// `automount_token` is empty when the field is unset (neither true nor false).
fn info(o: &ServiceAccount, _: &RenderCtx, s: &mut Samples) {
    let t = match o.automount_service_account_token {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    };
    s.push(&[("automount_token", t)], 1.0);
}

fn secret(o: &ServiceAccount, _: &RenderCtx, s: &mut Samples) {
    for r in o.secrets.iter().flatten() {
        s.push(&[("name", r.name.as_deref().unwrap_or(""))], 1.0);
    }
}

fn image_pull_secret(o: &ServiceAccount, _: &RenderCtx, s: &mut Samples) {
    for r in o.image_pull_secrets.iter().flatten() {
        s.push(&[("name", r.name.as_str())], 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_serviceaccount_info",
        "kube_serviceaccount_created",
        "kube_serviceaccount_deleted",
        "kube_serviceaccount_secret",
        "kube_serviceaccount_image_pull_secret",
        "kube_serviceaccount_annotations",
        "kube_serviceaccount_labels",
    ];

    fn account() -> ServiceAccount {
        obj(r#"{
          "metadata": {"name": "serviceAccountName", "namespace": "serviceAccountNS", "uid": "serviceAccountUID",
                       "creationTimestamp": "2017-07-14T02:40:00Z",
                       "deletionTimestamp": "2017-07-14T02:50:00Z",
                       "labels": {"app": "ci"}, "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}},
          "automountServiceAccountToken": true,
          "secrets": [{"name": "secretName"}, {"name": "other"}],
          "imagePullSecrets": [{"name": "imagePullSecretName"}]
        }"#)
    }

    #[test]
    fn every_family_of_a_service_account() {
        let id = r#"namespace="serviceAccountNS",serviceaccount="serviceAccountName",uid="serviceAccountUID""#;
        assert_eq!(
            render_lines(&SERVICEACCOUNT, &account(), allow_all(), ALL),
            vec![
                format!(r#"kube_serviceaccount_info{{{id},automount_token="true"}} 1"#),
                format!("kube_serviceaccount_created{{{id}}} 1.5e+09"),
                format!("kube_serviceaccount_deleted{{{id}}} 1.5000006e+09"),
                format!(r#"kube_serviceaccount_secret{{{id},name="secretName"}} 1"#),
                format!(r#"kube_serviceaccount_secret{{{id},name="other"}} 1"#),
                format!(
                    r#"kube_serviceaccount_image_pull_secret{{{id},name="imagePullSecretName"}} 1"#
                ),
                format!(
                    r#"kube_serviceaccount_annotations{{{id},annotation_eks_amazonaws_com_role_arn="arn:aws:iam::1:role/x"}} 1"#
                ),
                format!(r#"kube_serviceaccount_labels{{{id},label_app="ci"}} 1"#),
            ]
        );
    }

    #[test]
    fn bare_account_has_empty_automount() {
        let sa: ServiceAccount = obj(
            r#"{"metadata": {"name": "default", "namespace": "n", "uid": "u"}, "automountServiceAccountToken": false}"#,
        );
        assert_eq!(
            render_lines(&SERVICEACCOUNT, &sa, RenderCtx::default(), ALL),
            vec![
                r#"kube_serviceaccount_info{namespace="n",serviceaccount="default",uid="u",automount_token="false"} 1"#
            ]
        );
        let sa: ServiceAccount =
            obj(r#"{"metadata": {"name": "d", "namespace": "n", "uid": "u"}}"#);
        assert_eq!(
            render_lines(&SERVICEACCOUNT, &sa, RenderCtx::default(), ALL),
            vec![
                r#"kube_serviceaccount_info{namespace="n",serviceaccount="d",uid="u",automount_token=""} 1"#
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&SERVICEACCOUNT, &[account()]);
    }
}
