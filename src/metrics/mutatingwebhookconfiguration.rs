//! MutatingWebhookConfiguration families, in kube-state-metrics' order (`internal/store/mutatingwebhookconfiguration.go`).
//!
//! The configuration is cluster-scoped, yet kube-state-metrics' wrapper declares a
//! `namespace` identity label, so every line carries `namespace=""` from a real API server.

use crate::metrics::common::{created, info, resource_version_strict};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
};

pub static MUTATINGWEBHOOKCONFIGURATION: ResourceDef<MutatingWebhookConfiguration> = ResourceDef {
    name: "mutatingwebhookconfigurations",
    identity: mutatingwebhookconfiguration_identity,
    families: FAMILIES,
};

fn mutatingwebhookconfiguration_identity(o: &MutatingWebhookConfiguration) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        (
            "mutatingwebhookconfiguration",
            m.name.as_deref().unwrap_or(""),
        ),
    ])
}

static FAMILIES: &[Family<MutatingWebhookConfiguration>] = &[
    Family::experimental(
        "kube_mutatingwebhookconfiguration_info",
        "Information about the MutatingWebhookConfiguration.",
        info,
    ),
    Family::experimental(
        "kube_mutatingwebhookconfiguration_created",
        "Unix creation timestamp.",
        created,
    ),
    Family::experimental(
        "kube_mutatingwebhookconfiguration_metadata_resource_version",
        "Resource version representing a specific version of the MutatingWebhookConfiguration.",
        resource_version_strict,
    ),
    Family::experimental(
        "kube_mutatingwebhookconfiguration_webhook_clientconfig_service",
        "Service used by the apiserver to connect to a mutating webhook.",
        clientconfig_service,
    ),
];

/// The webhooks of a mutating or validating configuration, as (name, client config); the two
/// k8s-openapi webhook types differ only in fields these families do not read.
pub(crate) trait Webhooks {
    fn client_configs(&self) -> Vec<(&str, &WebhookClientConfig)>;
}

impl Webhooks for MutatingWebhookConfiguration {
    fn client_configs(&self) -> Vec<(&str, &WebhookClientConfig)> {
        let hooks = self.webhooks.as_deref().unwrap_or(&[]);
        hooks
            .iter()
            .map(|h| (h.name.as_str(), &h.client_config))
            .collect()
    }
}

impl Webhooks for ValidatingWebhookConfiguration {
    fn client_configs(&self) -> Vec<(&str, &WebhookClientConfig)> {
        let hooks = self.webhooks.as_deref().unwrap_or(&[]);
        hooks
            .iter()
            .map(|h| (h.name.as_str(), &h.client_config))
            .collect()
    }
}

/// `*_webhook_clientconfig_service`: one sample per webhook; URL-based webhooks have empty
/// service labels.
pub(crate) fn clientconfig_service<T: Webhooks>(w: &T, _: &RenderCtx, s: &mut Samples) {
    for (name, config) in w.client_configs() {
        let svc = config.service.as_ref();
        s.push(
            &[
                ("webhook_name", name),
                ("service_name", svc.map_or("", |v| v.name.as_str())),
                (
                    "service_namespace",
                    svc.map_or("", |v| v.namespace.as_str()),
                ),
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::testing::{obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_mutatingwebhookconfiguration_info",
        "kube_mutatingwebhookconfiguration_created",
        "kube_mutatingwebhookconfiguration_metadata_resource_version",
        "kube_mutatingwebhookconfiguration_webhook_clientconfig_service",
    ];

    fn render(json: &str) -> Vec<String> {
        let w: MutatingWebhookConfiguration = obj(json);
        render_lines(
            &MUTATINGWEBHOOKCONFIGURATION,
            &w,
            RenderCtx::default(),
            NAMES,
        )
    }

    const WITH_WEBHOOKS: &str = r#"{
        "metadata": {"name": "mutatingwebhookconfiguration3", "namespace": "ns3",
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
                r#"{"metadata": {"name": "mutatingwebhookconfiguration1", "namespace": "ns1", "resourceVersion": "123456"}}"#
            ),
            vec![
                r#"kube_mutatingwebhookconfiguration_info{namespace="ns1",mutatingwebhookconfiguration="mutatingwebhookconfiguration1"} 1"#,
                r#"kube_mutatingwebhookconfiguration_metadata_resource_version{namespace="ns1",mutatingwebhookconfiguration="mutatingwebhookconfiguration1"} 123456"#,
            ]
        );
    }

    #[test]
    fn created_and_unparsable_resource_version() {
        assert_eq!(
            render(
                r#"{"metadata": {"name": "mutatingwebhookconfiguration2", "namespace": "ns2",
                    "creationTimestamp": "2017-08-01T06:30:18Z", "resourceVersion": "abcdef"}}"#
            ),
            vec![
                r#"kube_mutatingwebhookconfiguration_info{namespace="ns2",mutatingwebhookconfiguration="mutatingwebhookconfiguration2"} 1"#,
                r#"kube_mutatingwebhookconfiguration_created{namespace="ns2",mutatingwebhookconfiguration="mutatingwebhookconfiguration2"} 1.501569018e+09"#,
            ]
        );
    }

    #[test]
    fn webhook_services_and_cluster_scope() {
        assert_eq!(
            render(WITH_WEBHOOKS)[3..],
            [
                r#"kube_mutatingwebhookconfiguration_webhook_clientconfig_service{namespace="ns3",mutatingwebhookconfiguration="mutatingwebhookconfiguration3",webhook_name="webhook_with_service",service_name="svc",service_namespace="ns"} 1"#,
                r#"kube_mutatingwebhookconfiguration_webhook_clientconfig_service{namespace="ns3",mutatingwebhookconfiguration="mutatingwebhookconfiguration3",webhook_name="webhook_with_external_url",service_name="",service_namespace=""} 1"#,
            ]
        );
        // As a real (cluster-scoped) object arrives: no namespace, no webhooks.
        assert_eq!(
            render(r#"{"metadata": {"name": "c"}}"#),
            vec![
                r#"kube_mutatingwebhookconfiguration_info{namespace="",mutatingwebhookconfiguration="c"} 1"#
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        assert_catalog_labels("mutatingwebhookconfigurations", &render(WITH_WEBHOOKS));
    }
}
