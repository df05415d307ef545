//! Node families, in kube-state-metrics' order (`internal/store/node.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Node;

pub static NODE: ResourceDef<Node> = ResourceDef {
    name: "nodes",
    identity: node_identity,
    families: FAMILIES,
};

fn node_identity(o: &Node) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("node", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<Node>] = &[];
