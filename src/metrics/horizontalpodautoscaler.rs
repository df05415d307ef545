//! HorizontalPodAutoscaler families, in kube-state-metrics' order (`internal/store/horizontalpodautoscaler.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

pub static HORIZONTALPODAUTOSCALER: ResourceDef<HorizontalPodAutoscaler> = ResourceDef {
    name: "horizontalpodautoscalers",
    identity: horizontalpodautoscaler_identity,
    families: FAMILIES,
};

fn horizontalpodautoscaler_identity(o: &HorizontalPodAutoscaler) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("horizontalpodautoscaler", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<HorizontalPodAutoscaler>] = &[];
