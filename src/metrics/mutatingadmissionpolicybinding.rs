//! MutatingAdmissionPolicyBinding families, in kube-state-metrics' order (`internal/store/mutatingadmissionpolicybinding.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicyBinding;

pub static MUTATINGADMISSIONPOLICYBINDING: ResourceDef<MutatingAdmissionPolicyBinding> =
    ResourceDef {
        name: "mutatingadmissionpolicybindings",
        identity: mutatingadmissionpolicybinding_identity,
        families: FAMILIES,
    };

fn mutatingadmissionpolicybinding_identity(o: &MutatingAdmissionPolicyBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        (
            "mutatingadmissionpolicybinding",
            m.name.as_deref().unwrap_or(""),
        ),
    ])
}

static FAMILIES: &[Family<MutatingAdmissionPolicyBinding>] = &[];
