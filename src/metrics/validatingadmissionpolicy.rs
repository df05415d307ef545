//! ValidatingAdmissionPolicy families, in kube-state-metrics' order (`internal/store/validatingadmissionpolicy.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy;

pub static VALIDATINGADMISSIONPOLICY: ResourceDef<ValidatingAdmissionPolicy> = ResourceDef {
    name: "validatingadmissionpolicies",
    identity: validatingadmissionpolicy_identity,
    families: FAMILIES,
};

fn validatingadmissionpolicy_identity(o: &ValidatingAdmissionPolicy) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("validatingadmissionpolicy", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ValidatingAdmissionPolicy>] = &[];
