//! IngressClass families, in kube-state-metrics' order (`internal/store/ingressclass.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::networking::v1::IngressClass;

pub static INGRESSCLASS: ResourceDef<IngressClass> = ResourceDef {
    name: "ingressclasses",
    identity: ingressclass_identity,
    families: FAMILIES,
};

fn ingressclass_identity(o: &IngressClass) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("ingressclass", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<IngressClass>] = &[];
