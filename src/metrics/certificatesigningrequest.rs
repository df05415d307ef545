//! CertificateSigningRequest families, in kube-state-metrics' order (`internal/store/certificatesigningrequest.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;

pub static CERTIFICATESIGNINGREQUEST: ResourceDef<CertificateSigningRequest> = ResourceDef {
    name: "certificatesigningrequests",
    identity: certificatesigningrequest_identity,
    families: FAMILIES,
};

fn certificatesigningrequest_identity(o: &CertificateSigningRequest) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("certificatesigningrequest", m.name.as_deref().unwrap_or("")),
        ("signer_name", o.spec.signer_name.as_str()),
    ])
}

static FAMILIES: &[Family<CertificateSigningRequest>] = &[];
