//! MutatingWebhookConfiguration families, in kube-state-metrics' order (`internal/store/mutatingwebhookconfiguration.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;

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

static FAMILIES: &[Family<MutatingWebhookConfiguration>] = &[];
