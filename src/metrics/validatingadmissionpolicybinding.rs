//! ValidatingAdmissionPolicyBinding families, in kube-state-metrics' order (`internal/store/validatingadmissionpolicybinding.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding;

pub static VALIDATINGADMISSIONPOLICYBINDING: ResourceDef<ValidatingAdmissionPolicyBinding> =
    ResourceDef {
        name: "validatingadmissionpolicybindings",
        identity: validatingadmissionpolicybinding_identity,
        families: FAMILIES,
    };

fn validatingadmissionpolicybinding_identity(o: &ValidatingAdmissionPolicyBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        (
            "validatingadmissionpolicybinding",
            m.name.as_deref().unwrap_or(""),
        ),
    ])
}

static FAMILIES: &[Family<ValidatingAdmissionPolicyBinding>] = &[];
