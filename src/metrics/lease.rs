//! Lease families, in kube-state-metrics' order (`internal/store/lease.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::coordination::v1::Lease;

pub static LEASE: ResourceDef<Lease> = ResourceDef {
    name: "leases",
    identity: lease_identity,
    families: FAMILIES,
};

fn lease_identity(o: &Lease) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("lease", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<Lease>] = &[];
