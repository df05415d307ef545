//! ServiceAccount families, in kube-state-metrics' order (`internal/store/serviceaccount.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::ServiceAccount;

pub static SERVICEACCOUNT: ResourceDef<ServiceAccount> = ResourceDef {
    name: "serviceaccounts",
    identity: serviceaccount_identity,
    families: FAMILIES,
};

fn serviceaccount_identity(o: &ServiceAccount) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("serviceaccount", m.name.as_deref().unwrap_or("")),
        ("uid", m.uid.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ServiceAccount>] = &[];
