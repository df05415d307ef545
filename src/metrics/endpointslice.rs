//! EndpointSlice families, in kube-state-metrics' order (`internal/store/endpointslice.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::discovery::v1::EndpointSlice;

pub static ENDPOINTSLICE: ResourceDef<EndpointSlice> = ResourceDef {
    name: "endpointslices",
    identity: endpointslice_identity,
    families: FAMILIES,
};

fn endpointslice_identity(o: &EndpointSlice) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("endpointslice", m.name.as_deref().unwrap_or("")),
        ("namespace", m.namespace.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<EndpointSlice>] = &[];
