//! ValidatingWebhookConfiguration families, in kube-state-metrics' order (`internal/store/validatingwebhookconfiguration.go`).

use crate::metrics::family::{identity_labels, Family};
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

static FAMILIES: &[Family<ValidatingWebhookConfiguration>] = &[];
