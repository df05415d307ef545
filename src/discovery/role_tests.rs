//! Prometheus's pod, endpoints and endpointslice test cases, re-expressed as object JSON in
//! and exact groups out.

use super::endpoints::endpoints_group;
use super::endpointslice::endpointslice_group;
use super::pod::pod_group;
use super::testutil::{assert_group, job, obj, tg};
use super::{Lookups, Role, World};
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

/// Prometheus's `makeMultiPortPods`.
fn multi_port_pod() -> Pod {
    obj(json!({
        "metadata": {"name": "testpod", "namespace": "default", "uid": "abc123",
            "labels": {"test/label": "testvalue"}, "annotations": {"test/annotation": "testannotationvalue"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "testcontrollerkind", "name": "testcontrollername", "uid": "u", "controller": true}]},
        "spec": {"nodeName": "testnode", "containers": [
            {"name": "testcontainer0", "image": "testcontainer0:latest", "ports": [
                {"name": "testport0", "protocol": "TCP", "containerPort": 9000},
                {"name": "testport1", "protocol": "UDP", "containerPort": 9001}]},
            {"name": "testcontainer1", "image": "testcontainer1:latest"}]},
        "status": {"podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "testcontainer0", "containerID": "docker://a1b2c3d4e5f6", "image": "", "imageID": "", "ready": true, "restartCount": 0},
                                  {"name": "testcontainer1", "containerID": "containerd://6f5e4d3c2b1a", "image": "", "imageID": "", "ready": true, "restartCount": 0}]}
    }))
}

const POD_GROUP: &[(&str, &str)] = &[
    ("pod_name", "testpod"),
    ("namespace", "default"),
    ("pod_label_test_label", "testvalue"),
    ("pod_labelpresent_test_label", "true"),
    ("pod_annotation_test_annotation", "testannotationvalue"),
    ("pod_annotationpresent_test_annotation", "true"),
    ("pod_node_name", "testnode"),
    ("pod_ip", "1.2.3.4"),
    ("pod_host_ip", "2.3.4.5"),
    ("pod_ready", "true"),
    ("pod_phase", "Running"),
    ("pod_uid", "abc123"),
    ("pod_controller_kind", "testcontrollerkind"),
    ("pod_controller_name", "testcontrollername"),
];

#[test]
fn pod_before_run_multi_port() {
    let w = World::default();
    let j = job(Role::Pod);
    let t0: &[(&str, &str)] = &[
        ("__address__", "1.2.3.4:9000"),
        ("pod_container_name", "testcontainer0"),
        ("pod_container_port_name", "testport0"),
        ("pod_container_port_number", "9000"),
        ("pod_container_port_protocol", "TCP"),
        ("pod_container_init", "false"),
        ("pod_container_id", "docker://a1b2c3d4e5f6"),
        ("pod_container_image", "testcontainer0:latest"),
    ];
    let t1: &[(&str, &str)] = &[
        ("__address__", "1.2.3.4:9001"),
        ("pod_container_name", "testcontainer0"),
        ("pod_container_port_name", "testport1"),
        ("pod_container_port_number", "9001"),
        ("pod_container_port_protocol", "UDP"),
        ("pod_container_init", "false"),
        ("pod_container_id", "docker://a1b2c3d4e5f6"),
        ("pod_container_image", "testcontainer0:latest"),
    ];
    let t2: &[(&str, &str)] = &[
        ("__address__", "1.2.3.4"),
        ("pod_container_name", "testcontainer1"),
        ("pod_container_init", "false"),
        ("pod_container_id", "containerd://6f5e4d3c2b1a"),
        ("pod_container_image", "testcontainer1:latest"),
    ];
    assert_group(
        &pod_group(&multi_port_pod(), &Lookups::new(&w, &j)),
        &tg("pod/default/testpod", POD_GROUP, &[t0, t1, t2]),
    );
}

#[test]
fn pod_init_container_pending_ipv6_and_empty_ip() {
    let w = World::default();
    let j = job(Role::Pod);
    let p: Pod = obj(json!({
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {"nodeName": "n", "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}],
                 "initContainers": [{"name": "init", "image": "ii"}]},
        "status": {"podIP": "fd00::1", "hostIP": "fd00::2", "phase": "Pending",
                   "conditions": [{"type": "Ready", "status": "False"}]}
    }));
    let g = pod_group(&p, &Lookups::new(&w, &j));
    assert_eq!(g.labels["__meta_kubernetes_pod_ready"], "false");
    assert_eq!(g.labels["__meta_kubernetes_pod_phase"], "Pending");
    assert_eq!(g.targets[0]["__address__"], "[fd00::1]:8080");
    assert_eq!(g.targets[0]["__meta_kubernetes_pod_container_id"], "");
    assert_eq!(
        g.targets[0]["__meta_kubernetes_pod_container_port_name"],
        ""
    );
    assert_eq!(g.targets[1]["__address__"], "fd00::1");
    assert_eq!(g.targets[1]["__meta_kubernetes_pod_container_init"], "true");
    assert_eq!(g.targets.len(), 2);

    let bare: Pod = obj(json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {}}));
    let g = pod_group(&bare, &Lookups::new(&w, &j));
    assert_group(&g, &tg("pod/ns/p", &[], &[]));
    let noready: Pod =
        obj(json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {"podIP": "1.1.1.1"}}));
    let g = pod_group(&noready, &Lookups::new(&w, &j));
    assert_eq!(g.labels["__meta_kubernetes_pod_ready"], "unknown");
    assert_eq!(g.labels["__meta_kubernetes_pod_phase"], "");
    assert!(g.targets.is_empty());
}

fn test_node() -> Node {
    obj(
        json!({"metadata": {"name": "testnode", "labels": {"l1": "v1"}, "annotations": {"a1": "v"}},
               "status": {"addresses": [{"type": "InternalIP", "address": "1.2.3.4"}]}}),
    )
}

#[test]
fn pod_with_node_and_namespace_metadata_and_node_selector() {
    let mut w = World::default();
    w.insert_node(&test_node());
    w.insert_namespace(&obj::<Namespace>(
        json!({"metadata": {"name": "default", "labels": {"team": "x"}}}),
    ));
    let mut j = job(Role::Pod);
    j.attach.node = true;
    j.attach.namespace = true;
    let g = pod_group(&multi_port_pod(), &Lookups::new(&w, &j));
    for (k, v) in [
        ("node_name", "testnode"),
        ("node_label_l1", "v1"),
        ("node_labelpresent_l1", "true"),
        ("node_annotation_a1", "v"),
        ("node_annotationpresent_a1", "true"),
        ("namespace_label_team", "x"),
        ("namespace_labelpresent_team", "true"),
    ] {
        assert_eq!(g.labels[&format!("__meta_kubernetes_{k}")], v, "{k}");
    }
    assert_eq!(g.targets.len(), 3);

    // A node selector filtering the pod's node leaves only the source.
    j.selectors.push((
        Role::Node,
        super::selector::Selector {
            label: super::selector::parse_label_selector("l1=other").unwrap(),
            field: vec![],
        },
    ));
    assert_group(
        &pod_group(&multi_port_pod(), &Lookups::new(&w, &j)),
        &tg("pod/default/testpod", &[], &[]),
    );
    // Unknown node with attach node: also source only.
    let w2 = World::default();
    j.selectors.clear();
    assert_group(
        &pod_group(&multi_port_pod(), &Lookups::new(&w2, &j)),
        &tg("pod/default/testpod", &[], &[]),
    );
}

#[test]
fn pod_job_name_needs_attach_job() {
    let w = World::default();
    let mut j = job(Role::Pod);
    let p: Pod = obj(json!({"metadata": {"name": "p", "namespace": "ns",
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "myjob", "uid": "u", "controller": true}]},
        "status": {"podIP": "1.1.1.1"}}));
    assert!(!pod_group(&p, &Lookups::new(&w, &j))
        .labels
        .contains_key("__meta_kubernetes_pod_job_name"));
    j.attach.job = true;
    assert_eq!(
        pod_group(&p, &Lookups::new(&w, &j)).labels["__meta_kubernetes_pod_job_name"],
        "myjob"
    );
}

/// Prometheus's `makeEndpoints`.
fn endpoints() -> Endpoints {
    obj(json!({
        "metadata": {"name": "testendpoints", "namespace": "default"},
        "subsets": [
            {"addresses": [{"ip": "1.2.3.4", "hostname": "testendpoint1", "nodeName": "foobar"}],
             "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}]},
            {"addresses": [{"ip": "2.3.4.5"}], "notReadyAddresses": [{"ip": "2.3.4.5"}],
             "ports": [{"name": "testport", "port": 9001, "protocol": "TCP"}]},
            {"addresses": [{"ip": "6.7.8.9", "targetRef": {"kind": "Node", "name": "barbaz"}}],
             "ports": [{"name": "testport", "port": 9002, "protocol": "TCP"}]}
        ]
    }))
}

#[test]
fn endpoints_before_run() {
    let w = World::default();
    let j = job(Role::Endpoints);
    let g = endpoints_group(&endpoints(), &Lookups::new(&w, &j));
    assert_group(
        &g,
        &tg(
            "endpoints/default/testendpoints",
            &[
                ("namespace", "default"),
                ("endpoints_name", "testendpoints"),
            ],
            &[
                &[
                    ("__address__", "1.2.3.4:9000"),
                    ("endpoint_hostname", "testendpoint1"),
                    ("endpoint_node_name", "foobar"),
                    ("endpoint_port_name", "testport"),
                    ("endpoint_port_protocol", "TCP"),
                    ("endpoint_ready", "true"),
                ],
                &[
                    ("__address__", "2.3.4.5:9001"),
                    ("endpoint_port_name", "testport"),
                    ("endpoint_port_protocol", "TCP"),
                    ("endpoint_ready", "true"),
                ],
                &[
                    ("__address__", "2.3.4.5:9001"),
                    ("endpoint_port_name", "testport"),
                    ("endpoint_port_protocol", "TCP"),
                    ("endpoint_ready", "false"),
                ],
                &[
                    ("__address__", "6.7.8.9:9002"),
                    ("endpoint_address_target_kind", "Node"),
                    ("endpoint_address_target_name", "barbaz"),
                    ("endpoint_port_name", "testport"),
                    ("endpoint_port_protocol", "TCP"),
                    ("endpoint_ready", "true"),
                ],
            ],
        ),
    );
}

#[test]
fn endpoints_node_metadata_via_node_name_and_target_ref() {
    let mut w = World::default();
    w.insert_node(&obj(
        json!({"metadata": {"name": "foobar", "labels": {"az": "us-east1"}}}),
    ));
    w.insert_node(&obj(
        json!({"metadata": {"name": "barbaz", "labels": {"az": "us-west2"}}}),
    ));
    let mut j = job(Role::Endpoints);
    j.attach.node = true;
    let g = endpoints_group(&endpoints(), &Lookups::new(&w, &j));
    assert_eq!(g.targets[0]["__meta_kubernetes_node_label_az"], "us-east1");
    assert_eq!(g.targets[0]["__meta_kubernetes_node_name"], "foobar");
    assert!(!g.targets[1].contains_key("__meta_kubernetes_node_name"));
    assert_eq!(g.targets[3]["__meta_kubernetes_node_label_az"], "us-west2");
    assert_eq!(
        g.targets[3]["__meta_kubernetes_node_labelpresent_az"],
        "true"
    );
}

fn backing_pod(init_port: bool) -> Pod {
    let mut p = json!({
        "metadata": {"name": "testpod", "namespace": "default", "uid": "deadbeef"},
        "spec": {"nodeName": "testnode", "containers": [
            {"name": "c1", "image": "c1:latest", "ports": [{"name": "mainport", "containerPort": 9000, "protocol": "TCP"}]},
            {"name": "c2", "image": "c2:latest", "ports": [{"name": "sideport", "containerPort": 9001, "protocol": "TCP"}]}]},
        "status": {"podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running"}
    });
    if init_port {
        p["spec"]["initContainers"] = json!([
            {"name": "ic1", "image": "ic1:latest", "ports": [{"name": "initport", "containerPort": 1111, "protocol": "TCP"}]},
            {"name": "ic2", "image": "ic2:latest", "ports": [{"name": "initport2", "containerPort": 9002, "protocol": "UDP"}]}
        ]);
    }
    obj(p)
}

const BACKING_POD: &[(&str, &str)] = &[
    ("pod_name", "testpod"),
    ("pod_ip", "1.2.3.4"),
    ("pod_ready", "unknown"),
    ("pod_phase", "Running"),
    ("pod_node_name", "testnode"),
    ("pod_host_ip", "2.3.4.5"),
    ("pod_uid", "deadbeef"),
];

fn with(
    base: &[(&'static str, &'static str)],
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    base.iter().chain(extra).copied().collect()
}

#[test]
fn endpoints_pod_backed_with_extra_target_and_service() {
    let mut w = World::default();
    w.insert_pod(&backing_pod(false));
    w.insert_service(&obj::<Service>(
        json!({"metadata": {"name": "testendpoints", "namespace": "default",
        "labels": {"app/name": "test"}}, "spec": {"type": "ClusterIP"}}),
    ));
    let j = job(Role::Endpoints);
    let eps: Endpoints = obj(json!({
        "metadata": {"name": "testendpoints", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "4.3.2.1", "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
                     "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}]}]
    }));
    let t0 = with(
        BACKING_POD,
        &[
            ("__address__", "4.3.2.1:9000"),
            ("endpoint_port_name", "testport"),
            ("endpoint_port_protocol", "TCP"),
            ("endpoint_ready", "true"),
            ("endpoint_address_target_kind", "Pod"),
            ("endpoint_address_target_name", "testpod"),
            ("pod_container_name", "c1"),
            ("pod_container_image", "c1:latest"),
            ("pod_container_port_name", "mainport"),
            ("pod_container_port_number", "9000"),
            ("pod_container_port_protocol", "TCP"),
            ("pod_container_init", "false"),
        ],
    );
    let t1 = with(
        BACKING_POD,
        &[
            ("__address__", "1.2.3.4:9001"),
            ("pod_container_name", "c2"),
            ("pod_container_image", "c2:latest"),
            ("pod_container_port_name", "sideport"),
            ("pod_container_port_number", "9001"),
            ("pod_container_port_protocol", "TCP"),
            ("pod_container_init", "false"),
        ],
    );
    assert_group(
        &endpoints_group(&eps, &Lookups::new(&w, &j)),
        &tg(
            "endpoints/default/testendpoints",
            &[
                ("namespace", "default"),
                ("endpoints_name", "testendpoints"),
                ("service_name", "testendpoints"),
                ("service_label_app_name", "test"),
                ("service_labelpresent_app_name", "true"),
            ],
            &[&t0, &t1],
        ),
    );
}

#[test]
fn endpoints_sidecar_init_container() {
    let mut w = World::default();
    w.insert_pod(&backing_pod(true));
    let j = job(Role::Endpoints);
    let eps: Endpoints = obj(json!({
        "metadata": {"name": "e", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "4.3.2.1", "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
                     "ports": [{"name": "testport", "port": 9002, "protocol": "SCTP"}]}]
    }));
    let g = endpoints_group(&eps, &Lookups::new(&w, &j));
    let t = &g.targets[0];
    assert_eq!(t["__meta_kubernetes_pod_container_name"], "ic2");
    assert_eq!(t["__meta_kubernetes_pod_container_init"], "true");
    // The endpoint port's protocol, not the container's UDP.
    assert_eq!(t["__meta_kubernetes_pod_container_port_protocol"], "SCTP");
    let extra: Vec<&str> = g.targets[1..]
        .iter()
        .map(|t| t["__address__"].as_str())
        .collect();
    assert_eq!(extra, ["1.2.3.4:9000", "1.2.3.4:9001", "1.2.3.4:1111"]);
    assert_eq!(g.targets[3]["__meta_kubernetes_pod_container_init"], "true");
}

#[test]
fn endpoints_empty_subsets() {
    let w = World::default();
    let j = job(Role::Endpoints);
    let eps: Endpoints =
        obj(json!({"metadata": {"name": "e", "namespace": "default", "labels": {"app": "x"}}}));
    assert_group(
        &endpoints_group(&eps, &Lookups::new(&w, &j)),
        &tg(
            "endpoints/default/e",
            &[
                ("namespace", "default"),
                ("endpoints_name", "e"),
                ("endpoints_label_app", "x"),
                ("endpoints_labelpresent_app", "true"),
            ],
            &[],
        ),
    );
}

/// Prometheus's `makeEndpointSliceV1`.
fn slice(address_type: &str, addr: &str) -> EndpointSlice {
    obj(json!({
        "metadata": {"name": "testendpoints", "namespace": "default",
            "labels": {"kubernetes.io/service-name": "testendpoints"}, "annotations": {"test.annotation": "test"}},
        "addressType": address_type,
        "ports": [{"name": "testport", "port": 9000, "protocol": "TCP", "appProtocol": "http"}],
        "endpoints": [
            {"addresses": [addr], "hostname": "testendpoint1", "nodeName": "foobar",
             "deprecatedTopology": {"topology": "value"}, "zone": "us-east-1a",
             "conditions": {"ready": true, "serving": true, "terminating": false},
             "hints": {"forZones": [{"name": "us-east-1a"}]}},
            {"addresses": ["2.3.4.5"], "conditions": {"ready": true, "serving": true, "terminating": false}, "zone": "us-east-1b"},
            {"addresses": ["3.4.5.6"], "conditions": {"ready": false, "serving": true, "terminating": true}, "zone": "us-east-1c"},
            {"addresses": ["4.5.6.7"], "conditions": {"ready": true, "serving": true, "terminating": false},
             "targetRef": {"kind": "Node", "name": "barbaz"}, "zone": "us-east-1a"},
            {"addresses": ["5.6.7.8"], "targetRef": {}}
        ]
    }))
}

const SLICE_PORT: &[(&str, &str)] = &[
    ("endpointslice_port", "9000"),
    ("endpointslice_port_name", "testport"),
    ("endpointslice_port_protocol", "TCP"),
    ("endpointslice_port_app_protocol", "http"),
];

#[test]
fn endpointslice_before_run() {
    let w = World::default();
    let j = job(Role::EndpointSlice);
    let cond = |r: &'static str, s: &'static str, t: &'static str| {
        vec![
            ("endpointslice_endpoint_conditions_ready", r),
            ("endpointslice_endpoint_conditions_serving", s),
            ("endpointslice_endpoint_conditions_terminating", t),
        ]
    };
    let t0 = [
        with(
            SLICE_PORT,
            &[
                ("__address__", "1.2.3.4:9000"),
                ("endpointslice_endpoint_hostname", "testendpoint1"),
                ("endpointslice_endpoint_node_name", "foobar"),
                ("endpointslice_endpoint_topology_present_topology", "true"),
                ("endpointslice_endpoint_topology_topology", "value"),
                ("endpointslice_endpoint_zone", "us-east-1a"),
            ],
        ),
        cond("true", "true", "false"),
    ]
    .concat();
    let t1 = [
        with(
            SLICE_PORT,
            &[
                ("__address__", "2.3.4.5:9000"),
                ("endpointslice_endpoint_zone", "us-east-1b"),
            ],
        ),
        cond("true", "true", "false"),
    ]
    .concat();
    let t2 = [
        with(
            SLICE_PORT,
            &[
                ("__address__", "3.4.5.6:9000"),
                ("endpointslice_endpoint_zone", "us-east-1c"),
            ],
        ),
        cond("false", "true", "true"),
    ]
    .concat();
    let t3 = [
        with(
            SLICE_PORT,
            &[
                ("__address__", "4.5.6.7:9000"),
                ("endpointslice_address_target_kind", "Node"),
                ("endpointslice_address_target_name", "barbaz"),
                ("endpointslice_endpoint_zone", "us-east-1a"),
            ],
        ),
        cond("true", "true", "false"),
    ]
    .concat();
    let t4 = with(
        SLICE_PORT,
        &[
            ("__address__", "5.6.7.8:9000"),
            ("endpointslice_address_target_kind", ""),
            ("endpointslice_address_target_name", ""),
        ],
    );
    assert_group(
        &endpointslice_group(&slice("IPv4", "1.2.3.4"), &Lookups::new(&w, &j)),
        &tg(
            "endpointslice/default/testendpoints",
            &[
                ("namespace", "default"),
                ("endpointslice_address_type", "IPv4"),
                ("endpointslice_name", "testendpoints"),
                (
                    "endpointslice_label_kubernetes_io_service_name",
                    "testendpoints",
                ),
                (
                    "endpointslice_labelpresent_kubernetes_io_service_name",
                    "true",
                ),
                ("endpointslice_annotation_test_annotation", "test"),
                ("endpointslice_annotationpresent_test_annotation", "true"),
            ],
            &[&t0, &t1, &t2, &t3, &t4],
        ),
    );
}

fn dual_stack_service(policy: &str, families: serde_json::Value) -> Service {
    obj(
        json!({"metadata": {"name": "testendpoints", "namespace": "default"},
        "spec": {"ipFamilyPolicy": policy, "ipFamilies": families}}),
    )
}

#[test]
fn endpointslice_dual_stack() {
    let j = job(Role::EndpointSlice);
    let cases = [
        (
            "PreferDualStack",
            json!(["IPv4", "IPv6"]),
            "IPv6",
            "fd00::1",
            0,
        ),
        (
            "RequireDualStack",
            json!(["IPv4", "IPv6"]),
            "IPv6",
            "fd00::1",
            0,
        ),
        ("SingleStack", json!(["IPv4"]), "IPv4", "1.2.3.4", 5),
        ("SingleStack", json!(["IPv6"]), "IPv6", "fd00::1", 5),
        (
            "PreferDualStack",
            json!(["IPv6", "IPv4"]),
            "IPv4",
            "1.2.3.4",
            0,
        ),
        (
            "PreferDualStack",
            json!(["IPv6", "IPv4"]),
            "IPv6",
            "fd00::1",
            5,
        ),
    ];
    for (policy, fams, at, addr, n) in cases {
        let mut w = World::default();
        w.insert_service(&dual_stack_service(policy, fams));
        let g = endpointslice_group(&slice(at, addr), &Lookups::new(&w, &j));
        assert_eq!(g.targets.len(), n, "{policy} {at}");
        assert_eq!(g.labels["__meta_kubernetes_service_name"], "testendpoints");
        if n > 0 && at == "IPv6" {
            assert_eq!(g.targets[0]["__address__"], "[fd00::1]:9000");
        }
    }
}

#[test]
fn endpointslice_pod_backed_uses_container_protocol_and_portless() {
    let mut w = World::default();
    w.insert_pod(&backing_pod(true));
    let j = job(Role::EndpointSlice);
    let s: EndpointSlice = obj(json!({
        "metadata": {"name": "s", "namespace": "default"},
        "addressType": "IPv4",
        "ports": [{"name": "p", "port": 9002, "protocol": "SCTP"}],
        "endpoints": [{"addresses": ["4.3.2.1"], "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}]
    }));
    let g = endpointslice_group(&s, &Lookups::new(&w, &j));
    assert_eq!(
        g.targets[0]["__meta_kubernetes_pod_container_port_protocol"],
        "UDP"
    );
    assert_eq!(g.targets[0]["__meta_kubernetes_pod_container_name"], "ic2");
    assert_eq!(g.targets.len(), 4);

    let s: EndpointSlice = obj(json!({
        "metadata": {"name": "s", "namespace": "default"}, "addressType": "IPv6",
        "ports": [{"name": "p"}], "endpoints": [{"addresses": ["fd00::1"]}]
    }));
    let g = endpointslice_group(&s, &Lookups::new(&w, &j));
    assert_eq!(g.targets[0]["__address__"], "fd00::1");
    assert!(!g.targets[0].contains_key("__meta_kubernetes_endpointslice_port"));
    let s: EndpointSlice = obj(
        json!({"metadata": {"name": "s", "namespace": "default"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["1.1.1.1"]}]}),
    );
    assert!(endpointslice_group(&s, &Lookups::new(&w, &j))
        .targets
        .is_empty());
}
