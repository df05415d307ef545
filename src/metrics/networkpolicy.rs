//! NetworkPolicy families, in kube-state-metrics' order (`internal/store/networkpolicy.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::networking::v1::NetworkPolicy;

pub static NETWORKPOLICY: ResourceDef<NetworkPolicy> = ResourceDef {
    name: "networkpolicies",
    identity: networkpolicy_identity,
    families: FAMILIES,
};

fn networkpolicy_identity(o: &NetworkPolicy) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("networkpolicy", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<NetworkPolicy>] = &[];
