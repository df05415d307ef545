//! Node families, in kube-state-metrics' order (`internal/store/node.go`).

use crate::metrics::common::{
    annotations, bool_value, created, deletion_timestamp, labels, push_condition, resource_units,
    sanitize_resource_name,
};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::quantity::parse_quantity;
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

pub static NODE: ResourceDef<Node> = ResourceDef {
    name: "nodes",
    identity: node_identity,
    families: FAMILIES,
};

fn node_identity(o: &Node) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("node", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<Node>] = &[
    Family::experimental(
        "kube_node_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable("kube_node_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_node_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    Family::stable(
        "kube_node_info",
        "Information about a cluster node.",
        node_info,
    ),
    Family::stable(
        "kube_node_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental(
        "kube_node_role",
        "The role of a cluster node.",
        |n, _, s| {
            const PREFIX: &str = "node-role.kubernetes.io/";
            for key in n.metadata.labels.iter().flat_map(|l| l.keys()) {
                if let Some(role) = key.strip_prefix(PREFIX) {
                    s.push(&[("role", role)], 1.0);
                }
            }
        },
    ),
    Family::experimental(
        "kube_node_spec_pod_cidrs",
        "The pod CIDRs of a cluster node.",
        |n, _, s| {
            let cidrs = n.spec.as_ref().and_then(|sp| sp.pod_cidrs.as_deref());
            for cidr in cidrs.unwrap_or_default() {
                s.push(&[("pod_cidr", cidr.as_str())], 1.0);
            }
        },
    ),
    Family::stable(
        "kube_node_spec_taint",
        "The taint of a cluster node.",
        |n, _, s| {
            let taints = n.spec.as_ref().and_then(|sp| sp.taints.as_deref());
            for t in taints.unwrap_or_default() {
                s.push(
                    &[
                        ("key", t.key.as_str()),
                        ("value", t.value.as_deref().unwrap_or("")),
                        ("effect", t.effect.as_str()),
                    ],
                    1.0,
                );
            }
        },
    ),
    Family::stable(
        "kube_node_spec_unschedulable",
        "Whether a node can schedule new pods.",
        |n, _, s| {
            let u = n.spec.as_ref().and_then(|sp| sp.unschedulable);
            s.value(bool_value(u.unwrap_or(false)));
        },
    ),
    Family::stable(
        "kube_node_status_allocatable",
        "The allocatable for different resources of a node that are available for scheduling.",
        |n, _, s| push_resources(s, n.status.as_ref().and_then(|st| st.allocatable.as_ref())),
    ),
    Family::stable(
        "kube_node_status_capacity",
        "The capacity for different resources of a node.",
        |n, _, s| push_resources(s, n.status.as_ref().and_then(|st| st.capacity.as_ref())),
    ),
    Family::stable(
        "kube_node_status_condition",
        "The condition of a cluster node.",
        |n, _, s| {
            let conds = n.status.as_ref().and_then(|st| st.conditions.as_deref());
            for c in conds.unwrap_or_default() {
                push_condition(s, None, &c.type_, &c.status);
            }
        },
    ),
    Family::experimental(
        "kube_node_status_addresses",
        "Node address information.",
        |n, _, s| {
            let addrs = n.status.as_ref().and_then(|st| st.addresses.as_deref());
            for a in addrs.unwrap_or_default() {
                s.push(
                    &[("type", a.type_.as_str()), ("address", a.address.as_str())],
                    1.0,
                );
            }
        },
    ),
];

fn node_info(n: &Node, _: &RenderCtx, s: &mut Samples) {
    let status = n.status.as_ref();
    let info = status.and_then(|st| st.node_info.as_ref());
    let field = |f: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &str| info.map_or("", f);
    let spec = n.spec.as_ref();
    // kube-state-metrics keeps the last InternalIP when a node lists several.
    let internal_ip = status
        .and_then(|st| st.addresses.as_deref())
        .unwrap_or_default()
        .iter()
        .rfind(|a| a.type_ == "InternalIP")
        .map_or("", |a| a.address.as_str());
    s.push(
        &[
            ("kernel_version", field(|i| &i.kernel_version)),
            ("os_image", field(|i| &i.os_image)),
            (
                "container_runtime_version",
                field(|i| &i.container_runtime_version),
            ),
            ("kubelet_version", field(|i| &i.kubelet_version)),
            // The kubelet stopped reporting it; kube-state-metrics hard-codes this value.
            ("kubeproxy_version", "deprecated"),
            (
                "provider_id",
                spec.and_then(|sp| sp.provider_id.as_deref()).unwrap_or(""),
            ),
            (
                "pod_cidr",
                spec.and_then(|sp| sp.pod_cidr.as_deref()).unwrap_or(""),
            ),
            ("system_uuid", field(|i| &i.system_uuid)),
            ("internal_ip", internal_ip),
        ],
        1.0,
    );
}

/// One sample per resource kube-state-metrics knows a unit for; resources it cannot classify
/// (an unprefixed non-standard name) are dropped, and a name that is both a hugepage or
/// attachable-volume name and a valid extended name yields one sample per match, as there.
fn push_resources(s: &mut Samples, map: Option<&BTreeMap<String, Quantity>>) {
    let Some(map) = map else { return };
    for (name, q) in map {
        let Some(v) = parse_quantity(&q.0) else {
            continue;
        };
        let resource = sanitize_resource_name(name);
        resource_units(name, true, |unit| {
            s.push(&[("resource", resource.as_ref()), ("unit", unit)], v)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{assert_matches_catalog, render_text};
    use crate::metrics::common::is_extended_resource_name;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const READY_WORKER: &str = r#"{
        "metadata": {
            "name": "worker-1",
            "creationTimestamp": "2017-08-03T16:59:07Z",
            "labels": {
                "kubernetes.io/hostname": "worker-1",
                "node-role.kubernetes.io/worker": "",
                "node-role.kubernetes.io/gpu": "true",
                "topologyZone": "eu-1a"
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "team": "infra"}
        },
        "spec": {
            "providerID": "aws:///eu-west-1a/i-0abc",
            "podCIDR": "10.244.1.0/24",
            "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"],
            "taints": [
                {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                {"key": "dedicated", "effect": "PreferNoSchedule"}
            ]
        },
        "status": {
            "nodeInfo": {
                "kernelVersion": "6.1.0-18-cloud-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.7.13",
                "kubeletVersion": "v1.30.2",
                "kubeProxyVersion": "v1.30.2",
                "systemUUID": "ec2a1b2c-0000-4d5e-8f90-123456789abc",
                "machineID": "m", "bootID": "b", "operatingSystem": "linux", "architecture": "amd64"
            },
            "addresses": [
                {"type": "InternalIP", "address": "10.0.1.17"},
                {"type": "InternalIP", "address": "fd00::17"},
                {"type": "ExternalIP", "address": "34.1.2.3"},
                {"type": "Hostname", "address": "worker-1"}
            ],
            "capacity": {
                "cpu": "8",
                "memory": "32879856Ki",
                "ephemeral-storage": "101445540Ki",
                "pods": "110",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "1Gi",
                "nvidia.com/gpu": "4",
                "attachable-volumes-aws-ebs": "25",
                "kubernetes.io/batteries": "1",
                "requests.example.com/x": "1",
                "unclassified": "3",
                "Example.com/gpu": "1",
                "example.com/Fpga_X": "2"
            },
            "allocatable": {
                "cpu": "7910m",
                "memory": "31729904Ki",
                "pods": "110",
                "nvidia.com/gpu": "4"
            },
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
                {"type": "NetworkUnavailable", "status": "Unknown"}
            ]
        }
    }"#;

    const CORDONED: &str = r#"{
        "metadata": {
            "name": "cordoned",
            "creationTimestamp": "2024-01-02T03:04:05Z",
            "deletionTimestamp": "2024-06-01T00:00:00Z",
            "labels": {"node-role.kubernetes.io/control-plane": ""}
        },
        "spec": {"unschedulable": true},
        "status": {
            "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]
        }
    }"#;

    fn node(json: &str) -> Node {
        obj(json)
    }

    fn ctx_for(labels: &str, annotations: &str) -> RenderCtx {
        let l = Allowlist::parse("--metric-labels-allowlist", labels, &|_| true)
            .expect("labels allowlist");
        let a = Allowlist::parse("--metric-annotations-allowlist", annotations, &|_| true)
            .expect("annotations allowlist");
        RenderCtx {
            labels: l.for_resource("nodes"),
            annotations: a.for_resource("nodes"),
        }
    }

    #[test]
    fn ready_worker_info_roles_taints_addresses() {
        let n = node(READY_WORKER);
        let lines = render_lines(
            &NODE,
            &n,
            RenderCtx::default(),
            &[
                "kube_node_created",
                "kube_node_deletion_timestamp",
                "kube_node_info",
                "kube_node_role",
                "kube_node_spec_pod_cidrs",
                "kube_node_spec_taint",
                "kube_node_spec_unschedulable",
                "kube_node_status_addresses",
            ],
        );
        assert_eq!(
            lines,
            vec![
                r#"kube_node_created{node="worker-1"} 1.501779547e+09"#,
                r#"kube_node_info{node="worker-1",kernel_version="6.1.0-18-cloud-amd64",os_image="Debian GNU/Linux 12 (bookworm)",container_runtime_version="containerd://1.7.13",kubelet_version="v1.30.2",kubeproxy_version="deprecated",provider_id="aws:///eu-west-1a/i-0abc",pod_cidr="10.244.1.0/24",system_uuid="ec2a1b2c-0000-4d5e-8f90-123456789abc",internal_ip="fd00::17"} 1"#,
                r#"kube_node_role{node="worker-1",role="gpu"} 1"#,
                r#"kube_node_role{node="worker-1",role="worker"} 1"#,
                r#"kube_node_spec_pod_cidrs{node="worker-1",pod_cidr="10.244.1.0/24"} 1"#,
                r#"kube_node_spec_pod_cidrs{node="worker-1",pod_cidr="fd00:10:244:1::/64"} 1"#,
                r#"kube_node_spec_taint{node="worker-1",key="nvidia.com/gpu",value="present",effect="NoSchedule"} 1"#,
                r#"kube_node_spec_taint{node="worker-1",key="dedicated",value="",effect="PreferNoSchedule"} 1"#,
                r#"kube_node_spec_unschedulable{node="worker-1"} 0"#,
                r#"kube_node_status_addresses{node="worker-1",type="InternalIP",address="10.0.1.17"} 1"#,
                r#"kube_node_status_addresses{node="worker-1",type="InternalIP",address="fd00::17"} 1"#,
                r#"kube_node_status_addresses{node="worker-1",type="ExternalIP",address="34.1.2.3"} 1"#,
                r#"kube_node_status_addresses{node="worker-1",type="Hostname",address="worker-1"} 1"#,
            ]
        );
    }

    #[test]
    fn capacity_and_allocatable_units_and_resource_names() {
        let n = node(READY_WORKER);
        let lines = render_lines(
            &NODE,
            &n,
            RenderCtx::default(),
            &["kube_node_status_capacity", "kube_node_status_allocatable"],
        );
        assert_eq!(
            lines,
            vec![
                r#"kube_node_status_allocatable{node="worker-1",resource="cpu",unit="core"} 7.91"#,
                r#"kube_node_status_allocatable{node="worker-1",resource="memory",unit="byte"} 3.2491421696e+10"#,
                r#"kube_node_status_allocatable{node="worker-1",resource="nvidia_com_gpu",unit="integer"} 4"#,
                r#"kube_node_status_allocatable{node="worker-1",resource="pods",unit="integer"} 110"#,
                r#"kube_node_status_capacity{node="worker-1",resource="attachable_volumes_aws_ebs",unit="byte"} 25"#,
                r#"kube_node_status_capacity{node="worker-1",resource="cpu",unit="core"} 8"#,
                r#"kube_node_status_capacity{node="worker-1",resource="ephemeral_storage",unit="byte"} 1.0388023296e+11"#,
                r#"kube_node_status_capacity{node="worker-1",resource="example_com_Fpga_X",unit="integer"} 2"#,
                r#"kube_node_status_capacity{node="worker-1",resource="hugepages_1Gi",unit="byte"} 0"#,
                r#"kube_node_status_capacity{node="worker-1",resource="hugepages_2Mi",unit="byte"} 1.073741824e+09"#,
                r#"kube_node_status_capacity{node="worker-1",resource="memory",unit="byte"} 3.3668972544e+10"#,
                r#"kube_node_status_capacity{node="worker-1",resource="nvidia_com_gpu",unit="integer"} 4"#,
                r#"kube_node_status_capacity{node="worker-1",resource="pods",unit="integer"} 110"#,
            ]
        );
    }

    #[test]
    fn extended_resource_names_follow_kubernetes_validation() {
        assert!(is_extended_resource_name("nvidia.com/gpu"));
        assert!(is_extended_resource_name("example.com/foo.bar_1"));
        assert!(!is_extended_resource_name("cpu"));
        assert!(!is_extended_resource_name("kubernetes.io/batteries"));
        assert!(!is_extended_resource_name("requests.example.com/x"));
        assert!(!is_extended_resource_name("Example.com/x"));
        assert!(!is_extended_resource_name("example.com/a/b"));
        assert!(!is_extended_resource_name("example.com/-x"));
        assert!(!is_extended_resource_name(&format!(
            "example.com/{}",
            "x".repeat(64)
        )));
        assert!(!is_extended_resource_name(&format!(
            "{}/x",
            "a".repeat(245)
        )));
        assert!(is_extended_resource_name(&format!("{}/x", "a".repeat(244))));
        assert_eq!(sanitize_resource_name("hugepages-1Gi"), "hugepages_1Gi");
        assert_eq!(sanitize_resource_name("ä.b/c"), "__b_c");
    }

    #[test]
    fn conditions_are_true_false_unknown_triples() {
        let n = node(READY_WORKER);
        let lines = render_lines(
            &NODE,
            &n,
            RenderCtx::default(),
            &["kube_node_status_condition"],
        );
        assert_eq!(
            lines,
            vec![
                r#"kube_node_status_condition{node="worker-1",condition="MemoryPressure",status="true"} 0"#,
                r#"kube_node_status_condition{node="worker-1",condition="MemoryPressure",status="false"} 1"#,
                r#"kube_node_status_condition{node="worker-1",condition="MemoryPressure",status="unknown"} 0"#,
                r#"kube_node_status_condition{node="worker-1",condition="Ready",status="true"} 1"#,
                r#"kube_node_status_condition{node="worker-1",condition="Ready",status="false"} 0"#,
                r#"kube_node_status_condition{node="worker-1",condition="Ready",status="unknown"} 0"#,
                r#"kube_node_status_condition{node="worker-1",condition="NetworkUnavailable",status="true"} 0"#,
                r#"kube_node_status_condition{node="worker-1",condition="NetworkUnavailable",status="false"} 0"#,
                r#"kube_node_status_condition{node="worker-1",condition="NetworkUnavailable",status="unknown"} 1"#,
            ]
        );
    }

    #[test]
    fn cordoned_not_ready_node_being_deleted() {
        let n = node(CORDONED);
        let lines = render_lines(
            &NODE,
            &n,
            RenderCtx::default(),
            &[
                "kube_node_deletion_timestamp",
                "kube_node_info",
                "kube_node_role",
                "kube_node_spec_pod_cidrs",
                "kube_node_spec_taint",
                "kube_node_spec_unschedulable",
                "kube_node_status_allocatable",
                "kube_node_status_capacity",
                "kube_node_status_condition",
                "kube_node_status_addresses",
            ],
        );
        assert_eq!(
            lines,
            vec![
                r#"kube_node_deletion_timestamp{node="cordoned"} 1.7172e+09"#,
                r#"kube_node_info{node="cordoned",kernel_version="",os_image="",container_runtime_version="",kubelet_version="",kubeproxy_version="deprecated",provider_id="",pod_cidr="",system_uuid="",internal_ip=""} 1"#,
                r#"kube_node_role{node="cordoned",role="control-plane"} 1"#,
                r#"kube_node_spec_unschedulable{node="cordoned"} 1"#,
                r#"kube_node_status_condition{node="cordoned",condition="Ready",status="true"} 0"#,
                r#"kube_node_status_condition{node="cordoned",condition="Ready",status="false"} 1"#,
                r#"kube_node_status_condition{node="cordoned",condition="Ready",status="unknown"} 0"#,
            ]
        );
    }

    #[test]
    fn bare_node_and_go_zero_creation_time() {
        let n =
            node(r#"{"metadata": {"name": "bare", "creationTimestamp": "0001-01-01T00:00:00Z"}}"#);
        let lines = render_lines(
            &NODE,
            &n,
            allow_all(),
            &[
                "kube_node_annotations",
                "kube_node_created",
                "kube_node_labels",
                "kube_node_spec_unschedulable",
            ],
        );
        assert_eq!(
            lines,
            vec![
                r#"kube_node_annotations{node="bare"} 1"#,
                r#"kube_node_labels{node="bare"} 1"#,
                r#"kube_node_spec_unschedulable{node="bare"} 0"#,
            ]
        );
    }

    #[test]
    fn labels_and_annotations_follow_allowlists() {
        let n = node(READY_WORKER);
        let names = &["kube_node_annotations", "kube_node_labels"];
        // Not in either allowlist: no samples at all.
        assert!(render_lines(&NODE, &n, ctx_for("pods=[*]", ""), names).is_empty());
        // Listed, but no key matches: identity-only samples.
        assert_eq!(
            render_lines(
                &NODE,
                &n,
                ctx_for("nodes=[absent]", "nodes=[absent]"),
                names
            ),
            vec![
                r#"kube_node_annotations{node="worker-1"} 1"#,
                r#"kube_node_labels{node="worker-1"} 1"#,
            ]
        );
        // Exact and partial-wildcard keys, snake-cased and sorted by original key.
        assert_eq!(
            render_lines(
                &NODE,
                &n,
                ctx_for(
                    "nodes=[topologyZone,node-role.kubernetes.io/*]",
                    "nodes=[team]"
                ),
                names
            ),
            vec![
                r#"kube_node_annotations{node="worker-1",annotation_team="infra"} 1"#,
                r#"kube_node_labels{node="worker-1",label_node_role_kubernetes_io_gpu="true",label_node_role_kubernetes_io_worker="",label_topology_zone="eu-1a"} 1"#,
            ]
        );
    }

    #[test]
    fn families_and_labels_match_catalog() {
        let rich = node(READY_WORKER);
        let cordoned = node(CORDONED);
        let text = render_text(&NODE, &[&rich, &cordoned], allow_all());
        let missing = assert_matches_catalog(&NODE, &text);
        assert!(missing.is_empty(), "families without samples: {missing:?}");
        assert_eq!(NODE.families.len(), 13);
    }
}
