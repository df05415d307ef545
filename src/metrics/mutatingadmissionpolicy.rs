//! MutatingAdmissionPolicy families, in kube-state-metrics' order (`internal/store/mutatingadmissionpolicy.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicy;

pub static MUTATINGADMISSIONPOLICY: ResourceDef<MutatingAdmissionPolicy> = ResourceDef {
    name: "mutatingadmissionpolicies",
    identity: mutatingadmissionpolicy_identity,
    families: FAMILIES,
};

fn mutatingadmissionpolicy_identity(o: &MutatingAdmissionPolicy) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("mutatingadmissionpolicy", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<MutatingAdmissionPolicy>] = &[];
