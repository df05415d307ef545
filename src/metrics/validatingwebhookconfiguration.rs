//! ValidatingWebhookConfiguration families, in kube-state-metrics' order (`internal/store/validatingwebhookconfiguration.go`).
//!
//! The configuration is cluster-scoped, yet kube-state-metrics' wrapper declares a
//! `namespace` identity label, so every line carries `namespace=""` from a real API server.

use crate::metrics::common::{created, info, resource_version_strict};
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::mutatingwebhookconfiguration::clientconfig_service;
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;

pub static VALIDATINGWEBHOOKCONFIGURATION: ResourceDef<ValidatingWebhookConfiguration> =
    ResourceDef {
        name: "validatingwebhookconfigurations",
        identity: validatingwebhookconfiguration_identity,
        families: FAMILIES,
    };

fn validatingwebhookconfiguration_identity(o: &ValidatingWebhookConfiguration) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        (
            "validatingwebhookconfiguration",
            m.name.as_deref().unwrap_or(""),
        ),
    ])
}

static FAMILIES: &[Family<ValidatingWebhookConfiguration>] = &[
    Family::experimental(
        "kube_validatingwebhookconfiguration_info",
        "Information about the ValidatingWebhookConfiguration.",
        info,
    ),
    Family::experimental(
        "kube_validatingwebhookconfiguration_created",
        "Unix creation timestamp.",
        created,
    ),
    Family::experimental(
        "kube_validatingwebhookconfiguration_metadata_resource_version",
        "Resource version representing a specific version of the ValidatingWebhookConfiguration.",
        resource_version_strict,
    ),
    Family::experimental(
        "kube_validatingwebhookconfiguration_webhook_clientconfig_service",
        "Service used by the apiserver to connect to a validating webhook.",
        clientconfig_service,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_validatingwebhookconfiguration_info",
        "kube_validatingwebhookconfiguration_created",
        "kube_validatingwebhookconfiguration_metadata_resource_version",
        "kube_validatingwebhookconfiguration_webhook_clientconfig_service",
    ];

    fn render(json: &str) -> Vec<String> {
        let w: ValidatingWebhookConfiguration = obj(json);
        render_lines(
            &VALIDATINGWEBHOOKCONFIGURATION,
            &w,
            RenderCtx::default(),
            NAMES,
        )
    }

    const WITH_WEBHOOKS: &str = r#"{
        "metadata": {"name": "validatingwebhookconfiguration3", "namespace": "ns3",
                     "creationTimestamp": "2017-08-01T06:30:18Z", "resourceVersion": "42"},
        "webhooks": [
            {"name": "webhook_with_service", "admissionReviewVersions": ["v1"], "sideEffects": "None",
             "clientConfig": {"service": {"name": "svc", "namespace": "ns"}}},
            {"name": "webhook_with_external_url", "admissionReviewVersions": ["v1"], "sideEffects": "None",
             "clientConfig": {"url": "https://example.com"}}
        ]
    }"#;

    #[test]
    fn info_and_numeric_resource_version() {
        assert_eq!(
            render(
                r#"{"metadata": {"name": "validatingwebhookconfiguration1", "namespace": "ns1", "resourceVersion": "123456"}}"#
            ),
            vec![
                r#"kube_validatingwebhookconfiguration_info{namespace="ns1",validatingwebhookconfiguration="validatingwebhookconfiguration1"} 1"#,
                r#"kube_validatingwebhookconfiguration_metadata_resource_version{namespace="ns1",validatingwebhookconfiguration="validatingwebhookconfiguration1"} 123456"#,
            ]
        );
    }

    #[test]
    fn created_and_unparsable_resource_version() {
        assert_eq!(
            render(
                r#"{"metadata": {"name": "validatingwebhookconfiguration2", "namespace": "ns2",
                    "creationTimestamp": "2017-08-01T06:30:18Z", "resourceVersion": "abcdef"}}"#
            ),
            vec![
                r#"kube_validatingwebhookconfiguration_info{namespace="ns2",validatingwebhookconfiguration="validatingwebhookconfiguration2"} 1"#,
                r#"kube_validatingwebhookconfiguration_created{namespace="ns2",validatingwebhookconfiguration="validatingwebhookconfiguration2"} 1.501569018e+09"#,
            ]
        );
    }

    #[test]
    fn webhook_services_and_cluster_scope() {
        assert_eq!(
            render(WITH_WEBHOOKS)[3..],
            [
                r#"kube_validatingwebhookconfiguration_webhook_clientconfig_service{namespace="ns3",validatingwebhookconfiguration="validatingwebhookconfiguration3",webhook_name="webhook_with_service",service_name="svc",service_namespace="ns"} 1"#,
                r#"kube_validatingwebhookconfiguration_webhook_clientconfig_service{namespace="ns3",validatingwebhookconfiguration="validatingwebhookconfiguration3",webhook_name="webhook_with_external_url",service_name="",service_namespace=""} 1"#,
            ]
        );
        // As a real (cluster-scoped) object arrives: no namespace, no webhooks.
        assert_eq!(
            render(r#"{"metadata": {"name": "c"}}"#),
            vec![
                r#"kube_validatingwebhookconfiguration_info{namespace="",validatingwebhookconfiguration="c"} 1"#
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        assert_catalog_labels("validatingwebhookconfigurations", &render(WITH_WEBHOOKS));
    }
}
