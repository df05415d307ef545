//! LimitRange families, in kube-state-metrics' order (`internal/store/limitrange.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::LimitRange;

pub static LIMITRANGE: ResourceDef<LimitRange> = ResourceDef {
    name: "limitranges",
    identity: limitrange_identity,
    families: FAMILIES,
};

fn limitrange_identity(o: &LimitRange) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("limitrange", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<LimitRange>] = &[];
