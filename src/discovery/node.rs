//! The node role: one target per node, the kubelet endpoint of its preferred address.

use super::{
    add_families, join_host_port, meta, name_of, sanitize_label_name, LabelSet, TargetGroup,
};
use k8s_openapi::api::core::v1::Node;

/// Address types in the order Prometheus prefers them for `__address__`.
const ADDRESS_ORDER: [&str; 6] = [
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

pub fn node_source(name: &str) -> String {
    format!("node/{name}")
}

/// The node role for one node; `None` when the node has no usable address, in which case
/// Prometheus sends nothing at all (any previous group stays).
pub fn node_group(node: &Node) -> Option<TargetGroup> {
    let name = name_of(&node.metadata);
    let addresses = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // First address of each type, in first-seen order of types.
    let mut first: Vec<(&str, &str)> = Vec::new();
    for a in addresses {
        if !first.iter().any(|(t, _)| *t == a.type_) {
            first.push((&a.type_, &a.address));
        }
    }
    let addr = ADDRESS_ORDER
        .iter()
        .find_map(|t| first.iter().find(|(ft, _)| ft == t).map(|(_, a)| *a))?;
    let port = node
        .status
        .as_ref()
        .and_then(|s| s.daemon_endpoints.as_ref())
        .and_then(|d| d.kubelet_endpoint.as_ref())
        .map(|k| k.port)
        .unwrap_or(0);

    let mut labels = LabelSet::new();
    labels.insert(meta("node_name"), name.to_string());
    labels.insert(
        meta("node_provider_id"),
        node.spec
            .as_ref()
            .and_then(|s| s.provider_id.clone())
            .unwrap_or_default(),
    );
    for c in node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        let t = sanitize_label_name(&c.type_.to_lowercase());
        labels.insert(
            meta(&format!("node_condition_{t}")),
            c.status.to_lowercase(),
        );
    }
    add_families(&mut labels, "node", &node.metadata);

    let mut target = LabelSet::new();
    target.insert("__address__".into(), join_host_port(addr, port));
    target.insert("instance".into(), name.to_string());
    for (t, a) in first {
        target.insert(
            sanitize_label_name(&meta(&format!("node_address_{t}"))),
            a.to_string(),
        );
    }
    Some(TargetGroup {
        source: node_source(name),
        labels,
        targets: vec![target],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::testutil::{assert_group, obj, tg};
    use serde_json::json;

    fn node(name: &str, labels: serde_json::Value, conditions: serde_json::Value) -> Node {
        obj(json!({
            "metadata": {"name": name, "labels": labels, "annotations": {"test-annotation": "testannotationvalue"}},
            "spec": {"providerID": "aws:///de-west-3a/i-foo"},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "1.2.3.4"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "conditions": conditions
            }
        }))
    }

    #[test]
    fn before_start_labels_and_address() {
        let n = node("test", json!({"test-label": "testvalue"}), json!([]));
        assert_group(
            &node_group(&n).unwrap(),
            &tg(
                "node/test",
                &[
                    ("node_name", "test"),
                    ("node_provider_id", "aws:///de-west-3a/i-foo"),
                    ("node_label_test_label", "testvalue"),
                    ("node_labelpresent_test_label", "true"),
                    ("node_annotation_test_annotation", "testannotationvalue"),
                    ("node_annotationpresent_test_annotation", "true"),
                ],
                &[&[
                    ("__address__", "1.2.3.4:10250"),
                    ("instance", "test"),
                    ("node_address_InternalIP", "1.2.3.4"),
                ]],
            ),
        );
    }

    #[test]
    fn update_label_keeps_case() {
        let n = node("test", json!({"Unschedulable": "true"}), json!([]));
        let g = node_group(&n).unwrap();
        assert_eq!(
            g.labels["__meta_kubernetes_node_label_Unschedulable"],
            "true"
        );
        assert_eq!(
            g.labels["__meta_kubernetes_node_labelpresent_Unschedulable"],
            "true"
        );
    }

    #[test]
    fn conditions() {
        let cases = [
            (
                json!([{"type": "Ready", "status": "True"}]),
                vec![("node_condition_ready", "true")],
            ),
            (
                json!([{"type": "Ready", "status": "False"}]),
                vec![("node_condition_ready", "false")],
            ),
            (
                json!([{"type": "Ready", "status": "Unknown"}]),
                vec![("node_condition_ready", "unknown")],
            ),
            (json!([]), vec![]),
            (
                json!([{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}, {"type": "Network-Unavailable", "status": "False"}]),
                vec![
                    ("node_condition_ready", "true"),
                    ("node_condition_memorypressure", "false"),
                    ("node_condition_network_unavailable", "false"),
                ],
            ),
        ];
        for (conds, want) in cases {
            let g = node_group(&node("n", json!({}), conds)).unwrap();
            let got: Vec<(String, String)> = g
                .labels
                .iter()
                .filter(|(k, _)| k.contains("condition"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (format!("__meta_kubernetes_{k}"), v.to_string()))
                .collect();
            want.sort();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn address_preference_ipv6_and_missing_port() {
        let n: Node = obj(json!({
            "metadata": {"name": "n"},
            "status": {"addresses": [
                {"type": "Hostname", "address": "host-n"},
                {"type": "ExternalIP", "address": "fd00::9"},
                {"type": "ExternalIP", "address": "fd00::10"},
                {"type": "InternalDNS", "address": "n.internal"}
            ]}
        }));
        let g = node_group(&n).unwrap();
        assert_eq!(g.labels["__meta_kubernetes_node_provider_id"], "");
        let t = &g.targets[0];
        assert_eq!(t["__address__"], "n.internal:0");
        assert_eq!(t["__meta_kubernetes_node_address_ExternalIP"], "fd00::9");
        assert_eq!(t["__meta_kubernetes_node_address_Hostname"], "host-n");
        let n: Node = obj(json!({
            "metadata": {"name": "n"},
            "status": {"addresses": [{"type": "ExternalIP", "address": "fd00::9"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
        }));
        assert_eq!(
            node_group(&n).unwrap().targets[0]["__address__"],
            "[fd00::9]:10250"
        );
    }

    #[test]
    fn no_address_sends_nothing() {
        let n: Node = obj(
            json!({"metadata": {"name": "n"}, "status": {"addresses": [{"type": "Weird", "address": "x"}]}}),
        );
        assert!(node_group(&n).is_none());
        let n: Node = obj(json!({"metadata": {"name": "n"}}));
        assert!(node_group(&n).is_none());
    }
}
