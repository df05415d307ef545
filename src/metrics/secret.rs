//! Secret families, in kube-state-metrics' order (`internal/store/secret.go`).
//!
//! Generators see only [`SecretMeta`] (metadata and type): no family needs the payload, and
//! a value that is never decoded cannot leak into a label.

use crate::kube::secret::SecretMeta;
use crate::metrics::common::{annotations, created, info, labels, resource_version, Meta};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub static SECRET: ResourceDef<SecretMeta> = ResourceDef {
    name: "secrets",
    identity: secret_identity,
    families: FAMILIES,
};

fn secret_identity(o: &SecretMeta) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("secret", m.name.as_deref().unwrap_or("")),
    ])
}

impl Meta for SecretMeta {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

static FAMILIES: &[Family<SecretMeta>] = &[
    Family::stable("kube_secret_info", "Information about secret.", info),
    Family::stable("kube_secret_type", "Type about secret.", secret_type),
    Family::experimental(
        "kube_secret_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_secret_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable("kube_secret_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_secret_metadata_resource_version",
        "Resource version representing a specific version of secret.",
        resource_version,
    ),
    Family::experimental(
        "kube_secret_owner",
        "Information about the Secret's owner.",
        owner,
    ),
];

fn secret_type(o: &SecretMeta, _: &RenderCtx, s: &mut Samples) {
    s.push(&[("type", o.type_.as_deref().unwrap_or(""))], 1.0);
}

/// One series per owner reference; a secret without owners still gets one series with
/// empty labels, and an unset `controller` reads as `false`.
fn owner(o: &SecretMeta, _: &RenderCtx, s: &mut Samples) {
    let owners = o.metadata.owner_references.as_deref().unwrap_or(&[]);
    if owners.is_empty() {
        s.push(
            &[
                ("owner_kind", ""),
                ("owner_name", ""),
                ("owner_is_controller", ""),
            ],
            1.0,
        );
    }
    for r in owners {
        let controller = if r.controller == Some(true) {
            "true"
        } else {
            "false"
        };
        s.push(
            &[
                ("owner_kind", r.kind.as_str()),
                ("owner_name", r.name.as_str()),
                ("owner_is_controller", controller),
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_secret_info",
        "kube_secret_type",
        "kube_secret_annotations",
        "kube_secret_labels",
        "kube_secret_created",
        "kube_secret_metadata_resource_version",
        "kube_secret_owner",
    ];

    /// A realistic secret whose payload must never show up anywhere.
    const TLS_SECRET: &str = r#"{
      "apiVersion": "v1", "kind": "Secret",
      "metadata": {
        "name": "web-tls", "namespace": "prod", "uid": "s1",
        "resourceVersion": "10596",
        "creationTimestamp": "2017-07-14T02:40:00Z",
        "labels": {"app": "web", "cert-manager.io/certificate-name": "web"},
        "annotations": {"cert-manager.io/issuer-name": "letsencrypt"},
        "ownerReferences": [
          {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": "web", "uid": "c1", "controller": true},
          {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "c2"}
        ]
      },
      "type": "kubernetes.io/tls",
      "data": {"tls.crt": "U1VQRVJTRUNSRVRDRVJU", "tls.key": "U1VQRVJTRUNSRVRLRVk="},
      "stringData": {"password": "hunter2-plaintext"}
    }"#;

    fn tls_secret() -> SecretMeta {
        obj(TLS_SECRET)
    }

    #[test]
    fn every_family_of_a_secret() {
        let id = r#"namespace="prod",secret="web-tls""#;
        assert_eq!(
            render_lines(&SECRET, &tls_secret(), allow_all(), ALL),
            vec![
                format!("kube_secret_info{{{id}}} 1"),
                format!(r#"kube_secret_type{{{id},type="kubernetes.io/tls"}} 1"#),
                format!(
                    r#"kube_secret_annotations{{{id},annotation_cert_manager_io_issuer_name="letsencrypt"}} 1"#
                ),
                format!(
                    r#"kube_secret_labels{{{id},label_app="web",label_cert_manager_io_certificate_name="web"}} 1"#
                ),
                format!("kube_secret_created{{{id}}} 1.5e+09"),
                format!("kube_secret_metadata_resource_version{{{id}}} 10596"),
                format!(
                    r#"kube_secret_owner{{{id},owner_kind="Certificate",owner_name="web",owner_is_controller="true"}} 1"#
                ),
                format!(
                    r#"kube_secret_owner{{{id},owner_kind="ConfigMap",owner_name="cm",owner_is_controller="false"}} 1"#
                ),
            ]
        );
    }

    #[test]
    fn secret_without_owner_type_or_timestamps() {
        let sm: SecretMeta = obj(
            r#"{"metadata": {"name": "s", "namespace": "n", "resourceVersion": "not-a-number"}}"#,
        );
        let id = r#"namespace="n",secret="s""#;
        assert_eq!(
            render_lines(&SECRET, &sm, RenderCtx::default(), ALL),
            vec![
                format!("kube_secret_info{{{id}}} 1"),
                format!(r#"kube_secret_type{{{id},type=""}} 1"#),
                format!(
                    r#"kube_secret_owner{{{id},owner_kind="",owner_name="",owner_is_controller=""}} 1"#
                ),
            ]
        );
    }

    #[test]
    fn payload_never_reaches_the_output() {
        let out = render_lines(&SECRET, &tls_secret(), allow_all(), ALL).join("\n");
        assert!(out.contains("web-tls"), "rendered something: {out}");
        for needle in [
            "U1VQRVJTRUNSRVRDRVJU",
            "U1VQRVJTRUNSRVRLRVk",
            "SUPERSECRET",
            "hunter2",
            "tls.crt",
            "tls_crt",
            "password",
        ] {
            assert!(!out.contains(needle), "{needle} leaked: {out}");
        }
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&SECRET, &[tls_secret()]);
    }
}
