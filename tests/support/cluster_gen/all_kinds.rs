//! Every kind the benchmark workload leaves out, for the demo's cluster: kubestate's default
//! resources (and the opt-in ones) each get objects, consistent with the base cluster of
//! [`super::generate`] and with each other, in the states that make every metric family show:
//!
//! - cluster services: cert-manager (with its webhooks), ingress-nginx (LoadBalancer, ingress
//!   class, admission webhook), kube-proxy and node-exporter DaemonSets, node and control-plane
//!   leases, kubelet CSRs of the last hour (issued, pending, denied);
//! - stateful apps: a postgres StatefulSet (native sidecar, volume expansion pending) and a
//!   kafka one partly migrated in (`ordinals.start`, one broker stuck in init), their PVCs
//!   bound to CSI volumes of a storage class, volume attachments on their pods' nodes;
//! - batch: CronJobs with completed, failed and running Jobs, a suspended Job, a Job waiting
//!   for a device (DRA claim), sandboxed pods (RuntimeClass overhead), an evicted pod;
//! - per team namespace: quota (usage summed from the generated pods), limit range, network
//!   policies, RBAC, service accounts, an ingress, HPAs and PDBs on the base deployments;
//! - a namespace being deleted (`legacy-billing`): what a real one shows while finalizers
//!   hold objects back, plus a Karpenter node being drained, a released volume being deleted
//!   and a retired DaemonSet whose last pods are stopping, so the `*_deletion_timestamp`
//!   families have samples;
//! - admission: v1 validating and mutating admission policies with bindings;
//! - Endpoints for every service, derived from its EndpointSlice.
//!
//! Object counts are fixed or per namespace / node / deployment, like a real cluster's.

use super::*;
use serde_json::Map;

/// Deterministic timestamp with a microsecond fraction, as `MicroTime` fields are served.
fn micro(secs_before_base: i64, r: &mut Rng) -> String {
    let t = ts(secs_before_base);
    format!("{}.{:06}Z", t.trim_end_matches('Z'), r.below(1_000_000))
}

fn node_ip(i: usize) -> String {
    format!("10.0.{}.{}", 16 * (i % 3) + i / 250, i % 250 + 10)
}

fn labels_obj(pairs: &[(&str, &str)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), json!(v));
    }
    Value::Object(m)
}

/// The namespaces the team workloads live in (every generated namespace but the system ones),
/// or `default` in a cluster generated with only the three system namespaces.
fn app_namespaces(spec: &ClusterSpec) -> Vec<String> {
    let teams: Vec<String> = namespace_names(spec)
        .into_iter()
        .filter(|n| n.starts_with("team-"))
        .collect();
    if teams.is_empty() {
        vec!["default".to_string()]
    } else {
        teams
    }
}

const TERMINATING_NS: &str = "legacy-billing";
/// A finalizer of the (uninstalled) operator that ran the retired billing stack: what keeps
/// objects of a namespace being deleted around, as the namespace's conditions report.
const BILLING_FINALIZER: &str = "billing.example.com/ledger-drain";
const LB_HOSTNAME: &str =
    "a3f6c1e2b7d94c0e8a1f5b6c7d8e9f01-1a2b3c4d5e6f7a8b.elb.eu-west-1.amazonaws.com";
const EBS_CSI: &str = "ebs.csi.aws.com";

/// Accumulates objects and hands out pod indexes and service IPs that collide with nothing
/// in the base cluster.
struct Out {
    objs: Vec<(String, Value)>,
    next_pod: usize,
    next_ip: usize,
}

impl Out {
    fn push(&mut self, r: &str, v: Value) {
        self.objs.push((r.to_string(), v));
    }
    /// A pod index past the base cluster's (its IP and randomness are its own).
    fn pod_index(&mut self) -> usize {
        self.next_pod += 1;
        self.next_pod - 1
    }
    /// A service cluster IP outside the base cluster's range (10.96.1.0 - 10.96.199.255).
    fn cluster_ip(&mut self) -> String {
        self.next_ip += 1;
        format!(
            "10.96.{}.{}",
            240 + self.next_ip / 250,
            self.next_ip % 250 + 2
        )
    }
}

fn workload(
    spec: &ClusterSpec,
    k: u64,
    ns: &str,
    name: &str,
    replicas: usize,
    image: &str,
    first_pod: usize,
) -> Workload {
    let mut r = Rng::new(spec.seed, "xworkload", k);
    Workload {
        hash: r.chars(10),
        dep_uid: r.uid(),
        rs_uid: r.uid(),
        svc_uid: r.uid(),
        sidecars: 0,
        cpu_m: *r.pick(&[50u64, 100, 250]),
        mem_mi: *r.pick(&[64u64, 128, 256]),
        ns: ns.to_string(),
        name: name.to_string(),
        replicas,
        first_pod,
        image: image.to_string(),
    }
}

/// Re-labels a generated pod as owned by another controller.
fn own_pod(pod: &mut Value, name: &str, labels: Value, owner: Value) {
    let m = &mut pod["metadata"];
    m["name"] = json!(name);
    m["labels"] = labels;
    m["ownerReferences"] = json!([owner]);
    if let Some(o) = m.as_object_mut() {
        o.remove("generateName");
    }
}

fn owner_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
        "controller": true, "blockOwnerDeletion": true})
}

/// Marks an object as being deleted, held back by `finalizers`.
fn deleting(obj: &mut Value, secs_before_base: i64, finalizers: &[&str]) {
    obj["metadata"]["deletionTimestamp"] = json!(ts(secs_before_base));
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    obj["metadata"]["finalizers"] = json!(finalizers);
}

/// A pod in graceful termination (its containers are being stopped).
fn terminating_pod(pod: &mut Value, secs_before_base: i64) {
    pod["metadata"]["deletionTimestamp"] = json!(ts(secs_before_base - 30));
    pod["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    for c in ["Ready", "ContainersReady"] {
        if let Some(conds) = pod["status"]["conditions"].as_array_mut() {
            for cond in conds.iter_mut().filter(|x| x["type"] == c) {
                cond["status"] = json!("False");
                cond["reason"] = json!("ContainersNotReady");
                cond["lastTransitionTime"] = json!(ts(secs_before_base));
            }
        }
    }
    if let Some(sts) = pod["status"]["containerStatuses"].as_array_mut() {
        for st in sts {
            st["ready"] = json!(false);
        }
    }
}

fn kube_root_ca(spec: &ClusterSpec, ns: &str, k: u64) -> Value {
    let mut r = Rng::new(spec.seed, "xcm", k);
    json!({
        "metadata": {"name": "kube-root-ca.crt", "namespace": ns, "uid": r.uid(),
            "creationTimestamp": ts(60 * 86_400 - k as i64 * 3600),
            "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
        "data": {"ca.crt": format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", r.hex(640))},
    })
}

fn service_json(
    ns: &str,
    name: &str,
    uid: &str,
    ip: &str,
    selector: Value,
    ports: Value,
    created: i64,
) -> Value {
    json!({
        "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": ts(created),
            "labels": {"app.kubernetes.io/name": name}},
        "spec": {"selector": selector, "type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster", "ports": ports},
        "status": {"loadBalancer": {}},
    })
}

/// The EndpointSlice the controller writes for `svc` selecting `pods`.
fn slice_for(spec: &ClusterSpec, svc: &Value, pods: &[Value], k: u64, hints: bool) -> Value {
    let mut r = Rng::new(spec.seed, "xeps", k);
    let name = svc["metadata"]["name"].as_str().unwrap_or("");
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
    let mut endpoints = Vec::new();
    for p in pods {
        let Some(ip) = p["status"]["podIP"].as_str() else {
            continue;
        };
        let terminating = p["metadata"].get("deletionTimestamp").is_some();
        let ready = p["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        let node = p["spec"]["nodeName"].as_str().unwrap_or("");
        let zone = ZONES[node_index(p) % ZONES.len()];
        let mut ep = json!({
            "addresses": [ip],
            "conditions": {"ready": ready && !terminating, "serving": ready || terminating, "terminating": terminating},
            "nodeName": node,
            "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]},
            "zone": zone,
        });
        if hints {
            ep["hints"] = json!({"forZones": [{"name": zone}]});
        }
        endpoints.push(ep);
    }
    let ports: Vec<Value> = svc["spec"]["ports"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let port = p["targetPort"].as_u64().unwrap_or_else(|| {
                        match p["targetPort"].as_str() {
                            Some("metrics") => 9090,
                            _ => 8080,
                        }
                    });
                    json!({"name": p["name"], "port": port, "protocol": "TCP"})
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "metadata": {"name": format!("{name}-{}", r.chars(5)), "namespace": ns, "uid": r.uid(),
            "creationTimestamp": svc["metadata"]["creationTimestamp"], "generateName": format!("{name}-"),
            "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name, "uid": svc["metadata"]["uid"],
                "controller": true, "blockOwnerDeletion": true}]},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    })
}

/// The Endpoints object the endpoints controller keeps beside an EndpointSlice.
fn endpoints_from_slice(slice: &Value) -> Option<Value> {
    let svc = slice["metadata"]["labels"]["kubernetes.io/service-name"].as_str()?;
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    for ep in slice["endpoints"].as_array().into_iter().flatten() {
        let mut a = json!({"ip": ep["addresses"][0], "targetRef": ep["targetRef"]});
        if let Some(n) = ep.get("nodeName") {
            a["nodeName"] = n.clone();
        }
        if ep["conditions"]["ready"] == json!(true) {
            ready.push(a);
        } else {
            not_ready.push(a);
        }
    }
    let mut subsets = Vec::new();
    if !ready.is_empty() || !not_ready.is_empty() {
        let mut s = json!({"ports": slice["ports"]});
        if !ready.is_empty() {
            s["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            s["notReadyAddresses"] = json!(not_ready);
        }
        subsets.push(s);
    }
    let ns = slice["metadata"]["namespace"].as_str()?;
    let uid = Rng::new(0, &format!("endpoints/{ns}/{svc}"), 0).uid();
    let mut out = json!({
        "metadata": {"name": svc, "namespace": slice["metadata"]["namespace"], "uid": uid,
            "creationTimestamp": slice["metadata"]["creationTimestamp"],
            "labels": {"app.kubernetes.io/name": svc},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": ts(3600)}},
    });
    if !subsets.is_empty() {
        out["subsets"] = json!(subsets);
    }
    Some(out)
}

/// Milli-units of a quantity as generated here (`250m`, `2`, `512Mi`, `8Gi`).
fn quantity_milli(q: &str) -> u64 {
    if let Some(v) = q.strip_suffix('m') {
        v.parse().unwrap_or(0)
    } else if let Some(v) = q.strip_suffix("Mi") {
        v.parse::<u64>().unwrap_or(0) * 1024 * 1024 * 1000
    } else if let Some(v) = q.strip_suffix("Gi") {
        v.parse::<u64>().unwrap_or(0) * 1024 * 1024 * 1024 * 1000
    } else {
        q.parse::<u64>().unwrap_or(0) * 1000
    }
}

fn cpu_quantity(milli: u64) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

fn mem_quantity(milli: u64) -> String {
    let bytes = milli / 1000;
    if bytes == 0 {
        "0".to_string()
    } else if bytes % (1 << 30) == 0 {
        format!("{}Gi", bytes >> 30)
    } else if bytes % (1 << 20) == 0 {
        format!("{}Mi", bytes >> 20)
    } else {
        bytes.to_string()
    }
}

/// Generates the extra kinds; `base` is what [`super::generate`] produced for `spec`.
pub(super) fn generate(spec: &ClusterSpec, base: &[(String, Value)]) -> Vec<(String, Value)> {
    let mut out = Out {
        objs: Vec::new(),
        next_pod: spec.pods + 1_000,
        next_ip: 0,
    };
    let wls = workloads(spec);
    let app_nss = app_namespaces(spec);
    let cp = control_planes(spec);

    namespaces(spec, &mut out);
    nodes_and_leases(spec, &mut out);
    cluster_services(spec, &mut out);
    daemonsets(spec, &mut out);
    deleted_daemonset(spec, &mut out);
    storage(spec, &app_nss, &mut out);
    batch(spec, &app_nss, &mut out);
    legacy_controller(spec, &app_nss, &mut out);
    autoscaling_and_budgets(spec, &wls, &mut out);
    terminating_namespace(spec, &mut out);
    per_namespace_policy(spec, &app_nss, &wls, &mut out);
    rbac(spec, &app_nss, &mut out);
    certificates(spec, cp, &mut out);
    admission(spec, &mut out);

    // The API server's own Service has an EndpointSlice and Endpoints too.
    let kube_eps = {
        let mut r = Rng::new(spec.seed, "xkubeeps", 0);
        let eps: Vec<Value> = (0..cp.max(1))
            .map(|i| json!({"addresses": [node_ip(i)], "conditions": {"ready": true, "serving": true, "terminating": false}}))
            .collect();
        json!({
            "metadata": {"name": "kubernetes", "namespace": "default", "uid": r.uid(), "creationTimestamp": ts(90 * 86_400),
                "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
        })
    };
    out.push("endpointslices", kube_eps);

    // Endpoints for every service, from its slice.
    let slices: Vec<Value> = base
        .iter()
        .chain(out.objs.iter())
        .filter(|(r, _)| r == "endpointslices")
        .map(|(_, v)| v.clone())
        .collect();
    for s in &slices {
        if let Some(e) = endpoints_from_slice(s) {
            out.push("endpoints", e);
        }
    }

    // Quotas last: their usage is the sum over the namespace's generated pods.
    let pods: Vec<Value> = base
        .iter()
        .chain(out.objs.iter())
        .filter(|(r, _)| r == "pods")
        .map(|(_, v)| v.clone())
        .collect();
    let pvcs: Vec<Value> = out
        .objs
        .iter()
        .filter(|(r, _)| r == "persistentvolumeclaims")
        .map(|(_, v)| v.clone())
        .collect();
    for (k, ns) in app_nss.iter().enumerate() {
        out.push("resourcequotas", quota(spec, k, ns, &pods, &pvcs));
    }
    out.objs
}

fn namespaces(spec: &ClusterSpec, out: &mut Out) {
    for (k, ns) in [
        "kube-node-lease",
        "kube-public",
        "cert-manager",
        "ingress-nginx",
    ]
    .iter()
    .enumerate()
    {
        let mut r = Rng::new(spec.seed, "xns", k as u64);
        let created = if k < 2 { 90 * 86_400 } else { 60 * 86_400 };
        out.push(
            "namespaces",
            json!({
                "metadata": {"name": ns, "uid": r.uid(), "creationTimestamp": ts(created),
                    "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }),
        );
        out.push("configmaps", kube_root_ca(spec, ns, k as u64));
    }
}

fn nodes_and_leases(spec: &ClusterSpec, out: &mut Out) {
    // A Karpenter-provisioned spot node being drained after an interruption notice: its
    // termination finalizer keeps it until its pods are gone.
    let extra = spec.nodes;
    let mut n = node(spec, extra);
    n["metadata"]["name"] = json!(node_name(extra));
    n["metadata"]["labels"]["karpenter.sh/nodepool"] = json!("default");
    n["metadata"]["labels"]["karpenter.sh/capacity-type"] = json!("spot");
    n["metadata"]["labels"]["karpenter.sh/initialized"] = json!("true");
    n["metadata"]["creationTimestamp"] = json!(ts(2 * 86_400));
    deleting(&mut n, 240, &["karpenter.sh/termination"]);
    n["spec"]["unschedulable"] = json!(true);
    n["spec"]["taints"] = json!([
        {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": ts(240)},
    ]);
    let mut all_nodes: Vec<(String, String)> = (0..spec.nodes)
        .map(|i| {
            let v = node(spec, i);
            (
                node_name(i),
                v["metadata"]["uid"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    all_nodes.push((
        node_name(extra),
        n["metadata"]["uid"].as_str().unwrap_or("").to_string(),
    ));
    out.push("nodes", n);

    for (i, (name, uid)) in all_nodes.iter().enumerate() {
        let mut r = Rng::new(spec.seed, "xlease", i as u64);
        let not_ready = i < spec.nodes && i >= control_planes(spec) && i % 25 == 24;
        let renewed = if not_ready { 600 } else { r.below(10) as i64 };
        out.push(
            "leases",
            json!({
                "metadata": {"name": name, "namespace": "kube-node-lease", "uid": r.uid(),
                    "creationTimestamp": ts(90 * 86_400 - i as i64 * 600),
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}]},
                "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": micro(renewed, &mut r)},
            }),
        );
    }
    let cp = control_planes(spec).max(1);
    let mut r = Rng::new(spec.seed, "xlease-cp", 0);
    for comp in ["kube-controller-manager", "kube-scheduler"] {
        let holder = format!("{}_{}", node_name(r.below(cp as u64) as usize), r.uid());
        out.push(
            "leases",
            json!({
                "metadata": {"name": comp, "namespace": "kube-system", "uid": r.uid(), "creationTimestamp": ts(90 * 86_400)},
                "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "acquireTime": micro(7 * 86_400, &mut r),
                    "renewTime": micro(r.below(2) as i64, &mut r), "leaseTransitions": 3},
            }),
        );
    }
    for i in 0..cp {
        let id = format!("apiserver-{}", r.chars(26));
        out.push(
            "leases",
            json!({
                "metadata": {"name": id, "namespace": "kube-system", "uid": r.uid(), "creationTimestamp": ts(7 * 86_400),
                    "labels": {"apiserver.kubernetes.io/identity": "kube-apiserver", "kubernetes.io/hostname": node_name(i)}},
                "spec": {"holderIdentity": format!("{id}_{}", r.uid()), "leaseDurationSeconds": 3600,
                    "renewTime": micro(r.below(10) as i64, &mut r)},
            }),
        );
    }
}

/// A Deployment with its ReplicaSet and running pods.
struct Deployed {
    w: Workload,
    pods: Vec<Value>,
}

fn deploy(
    spec: &ClusterSpec,
    out: &mut Out,
    w: Workload,
    svc_ports: Option<Value>,
    k: u64,
) -> Deployed {
    let pods: Vec<Value> = (0..w.replicas)
        .map(|j| pod_in_state(spec, &w, w.first_pod + j, 0, PodState::Running))
        .collect();
    out.push("deployments", deployment(&w, w.replicas));
    out.push("replicasets", replicaset(&w, w.replicas));
    for p in &pods {
        out.push("pods", p.clone());
    }
    if let Some(ports) = svc_ports {
        let ip = out.cluster_ip();
        let svc = service_json(
            &w.ns,
            &w.name,
            &w.svc_uid,
            &ip,
            json!({"app": w.name}),
            ports,
            60 * 86_400,
        );
        out.push("services", svc.clone());
        out.push("endpointslices", slice_for(spec, &svc, &pods, k, false));
    }
    Deployed { w, pods }
}

/// cert-manager and ingress-nginx: the webhooks' and the ingresses' backends.
fn cluster_services(spec: &ClusterSpec, out: &mut Out) {
    let mut k = 0u64;
    let mut mk = |out: &mut Out, ns: &str, name: &str, replicas: usize, image: &str| {
        k += 1;
        let first = out.next_pod;
        out.next_pod += replicas;
        workload(spec, k, ns, name, replicas, image, first)
    };
    let cm = mk(
        out,
        "cert-manager",
        "cert-manager",
        1,
        "quay.io/jetstack/cert-manager-controller:v1.19.1",
    );
    deploy(
        spec,
        out,
        cm,
        Some(
            json!([{"name": "tcp-prometheus-servicemonitor", "port": 9402, "protocol": "TCP", "targetPort": "metrics"}]),
        ),
        1,
    );
    let ca = mk(
        out,
        "cert-manager",
        "cert-manager-cainjector",
        1,
        "quay.io/jetstack/cert-manager-cainjector:v1.19.1",
    );
    deploy(spec, out, ca, None, 2);
    // The webhook's Service asks for topology-aware routing: its slice carries zone hints.
    let wh = mk(
        out,
        "cert-manager",
        "cert-manager-webhook",
        2,
        "quay.io/jetstack/cert-manager-webhook:v1.19.1",
    );
    let wh_pods: Vec<Value> = (0..wh.replicas)
        .map(|j| pod_in_state(spec, &wh, wh.first_pod + j, 0, PodState::Running))
        .collect();
    out.push("deployments", deployment(&wh, wh.replicas));
    out.push("replicasets", replicaset(&wh, wh.replicas));
    for p in &wh_pods {
        out.push("pods", p.clone());
    }
    let ip = out.cluster_ip();
    let mut svc = service_json(
        &wh.ns,
        &wh.name,
        &wh.svc_uid,
        &ip,
        json!({"app": wh.name}),
        json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": "http"},
            {"name": "metrics", "port": 9402, "protocol": "TCP", "targetPort": "metrics"}]),
        60 * 86_400,
    );
    svc["spec"]["trafficDistribution"] = json!("PreferClose");
    out.push("services", svc.clone());
    out.push("endpointslices", slice_for(spec, &svc, &wh_pods, 3, true));

    let ing = mk(
        out,
        "ingress-nginx",
        "ingress-nginx-controller",
        2,
        "registry.k8s.io/ingress-nginx/controller:v1.14.0",
    );
    let d = deploy(spec, out, ing, None, 4);
    // The controller's LoadBalancer Service (an AWS NLB) and its admission webhook Service.
    let ip = out.cluster_ip();
    let mut lb = service_json(
        &d.w.ns,
        &d.w.name,
        &d.w.svc_uid,
        &ip,
        json!({"app": d.w.name}),
        json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http", "nodePort": 31080},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "http", "nodePort": 31443}]),
        60 * 86_400,
    );
    lb["metadata"]["annotations"] = json!({
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    });
    lb["metadata"]["finalizers"] = json!(["service.k8s.aws/resources"]);
    lb["spec"]["type"] = json!("LoadBalancer");
    lb["spec"]["externalTrafficPolicy"] = json!("Local");
    lb["spec"]["healthCheckNodePort"] = json!(32180);
    lb["spec"]["allocateLoadBalancerNodePorts"] = json!(true);
    lb["spec"]["loadBalancerClass"] = json!("service.k8s.aws/nlb");
    lb["status"] = json!({"loadBalancer": {"ingress": [{"hostname": LB_HOSTNAME}]}});
    out.push("services", lb.clone());
    out.push("endpointslices", slice_for(spec, &lb, &d.pods, 5, false));
    let ip = out.cluster_ip();
    let mut r = Rng::new(spec.seed, "xsvc", 6);
    let adm = service_json(
        &d.w.ns,
        "ingress-nginx-controller-admission",
        &r.uid(),
        &ip,
        json!({"app": d.w.name}),
        json!([{"name": "https-webhook", "port": 443, "protocol": "TCP", "targetPort": "http"}]),
        60 * 86_400,
    );
    out.push("services", adm.clone());
    out.push("endpointslices", slice_for(spec, &adm, &d.pods, 6, false));
    out.push(
        "ingressclasses",
        json!({
            "metadata": {"name": "nginx", "uid": r.uid(), "creationTimestamp": ts(60 * 86_400),
                "labels": {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
                "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "k8s.io/ingress-nginx"},
        }),
    );
}

/// kube-proxy and node-exporter on every node, the Karpenter node being drained included
/// (DaemonSet pods tolerate every taint and are not drained).
fn daemonsets(spec: &ClusterSpec, out: &mut Out) {
    let nodes = spec.nodes + 1;
    let cp = control_planes(spec);
    let not_ready = |i: usize| i >= cp && i % 25 == 24;
    let unready = (0..nodes).filter(|&i| not_ready(i)).count();
    let defs = [
        (
            "kube-system",
            "kube-proxy",
            "registry.k8s.io/kube-proxy:v1.37.2",
            "k8s-app",
        ),
        (
            "monitoring",
            "node-exporter",
            "quay.io/prometheus/node-exporter:v1.10.2",
            "app.kubernetes.io/name",
        ),
    ];
    for (k, (ns, name, image, key)) in defs.iter().enumerate() {
        let mut r = Rng::new(spec.seed, "xds", k as u64);
        let uid = r.uid();
        let rev = r.chars(10);
        let first = out.next_pod;
        out.next_pod += nodes;
        let w = workload(spec, 100 + k as u64, ns, name, 1, image, first);
        for i in 0..nodes {
            let idx = first + i;
            let mut p = pod_in_state(spec, &w, idx, 0, PodState::Running);
            let pod_name = format!("{name}-{}", r.chars(5));
            own_pod(
                &mut p,
                &pod_name,
                json!({key.to_string(): name, "controller-revision-hash": rev, "pod-template-generation": "1"}),
                owner_ref("apps/v1", "DaemonSet", name, &uid),
            );
            p["metadata"]["generateName"] = json!(format!("{name}-"));
            p["spec"]["nodeName"] = json!(node_name(i));
            p["spec"]["hostNetwork"] = json!(true);
            p["spec"]["priorityClassName"] = json!("system-node-critical");
            p["spec"]["priority"] = json!(2_000_001_000);
            p["spec"]["serviceAccountName"] = json!(name);
            p["spec"]["serviceAccount"] = json!(name);
            p["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
            p["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
            p["status"]["hostIP"] = json!(node_ip(i));
            p["status"]["hostIPs"] = json!([{"ip": node_ip(i)}]);
            p["status"]["podIP"] = json!(node_ip(i));
            p["status"]["podIPs"] = json!([{"ip": node_ip(i)}]);
            if not_ready(i) {
                // The node lifecycle controller marks pods of unreachable nodes not ready.
                if let Some(cs) = p["status"]["conditions"].as_array_mut() {
                    for c in cs.iter_mut().filter(|c| c["type"] == "Ready") {
                        c["status"] = json!("False");
                        c["reason"] = json!("NodeNotReady");
                        c["lastTransitionTime"] = json!(ts(590));
                    }
                }
            }
            out.push("pods", p);
        }
        out.push(
            "daemonsets",
            json!({
                "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": ts(90 * 86_400),
                    "generation": 1, "labels": {key.to_string(): name},
                    "annotations": {"deprecated.daemonset.template.generation": "1"}},
                "spec": {"selector": {"matchLabels": {key.to_string(): name}},
                    "template": {"metadata": {"labels": {key.to_string(): name}},
                        "spec": {"containers": [{"name": name, "image": image}], "hostNetwork": true,
                            "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [{"operator": "Exists"}],
                            "priorityClassName": "system-node-critical", "serviceAccountName": name}},
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                    "revisionHistoryLimit": 10},
                "status": {"currentNumberScheduled": nodes, "desiredNumberScheduled": nodes, "numberMisscheduled": 0,
                    "numberReady": nodes - unready, "numberAvailable": nodes - unready,
                    "numberUnavailable": unready, "updatedNumberScheduled": nodes, "observedGeneration": 1},
            }),
        );
    }
}

/// promtail, replaced by node-exporter's textfile collector and being removed with
/// foreground cascading deletion: the DaemonSet stays until its last pods have stopped.
fn deleted_daemonset(spec: &ClusterSpec, out: &mut Out) {
    let nodes = spec.nodes;
    let left = nodes.min(3);
    let mut r = Rng::new(spec.seed, "xds", 9);
    let uid = r.uid();
    let rev = r.chars(10);
    let first = out.next_pod;
    out.next_pod += left;
    let image = "docker.io/grafana/promtail:3.5.1";
    let w = workload(spec, 109, "monitoring", "promtail", 1, image, first);
    for i in 0..left {
        let node = control_planes(spec) + i;
        let mut p = pod_in_state(spec, &w, first + i, 0, PodState::Running);
        own_pod(
            &mut p,
            &format!("promtail-{}", r.chars(5)),
            json!({"app.kubernetes.io/name": "promtail", "controller-revision-hash": rev, "pod-template-generation": "4"}),
            owner_ref("apps/v1", "DaemonSet", "promtail", &uid),
        );
        p["metadata"]["generateName"] = json!("promtail-");
        p["spec"]["nodeName"] = json!(node_name(node % nodes.max(1)));
        p["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
        terminating_pod(&mut p, 20);
        out.push("pods", p);
    }
    let mut ds = json!({
        "metadata": {"name": "promtail", "namespace": "monitoring", "uid": uid, "creationTimestamp": ts(200 * 86_400),
            "generation": 4, "labels": {"app.kubernetes.io/name": "promtail"},
            "annotations": {"deprecated.daemonset.template.generation": "4"}},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "promtail"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "promtail"}},
                "spec": {"containers": [{"name": "promtail", "image": image}], "tolerations": [{"operator": "Exists"}]}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "revisionHistoryLimit": 10},
        "status": {"currentNumberScheduled": left, "desiredNumberScheduled": nodes, "numberMisscheduled": 0,
            "numberReady": 0, "numberAvailable": 0, "numberUnavailable": nodes, "updatedNumberScheduled": left,
            "observedGeneration": 4},
    });
    deleting(&mut ds, 50, &["foregroundDeletion"]);
    out.push("daemonsets", ds);
}

/// A dynamically provisioned, bound EBS volume and its claim; the claim's name and the pod
/// node it was provisioned for are given. Returns the PV name.
#[allow(clippy::too_many_arguments)]
fn bound_volume(
    spec: &ClusterSpec,
    out: &mut Out,
    k: u64,
    ns: &str,
    claim: &str,
    app: &str,
    gi: u64,
    node: usize,
) -> (String, Value) {
    let mut r = Rng::new(spec.seed, "xpv", k);
    let pvc_uid = r.uid();
    let pv = format!("pvc-{pvc_uid}");
    let zone = ZONES[node % ZONES.len()];
    let created = 30 * 86_400 - k as i64 * 60;
    let pvc = json!({
        "metadata": {"name": claim, "namespace": ns, "uid": pvc_uid, "creationTimestamp": ts(created),
            "labels": {"app": app},
            "annotations": {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": EBS_CSI, "volume.kubernetes.io/storage-provisioner": EBS_CSI,
                "volume.kubernetes.io/selected-node": node_name(node)},
            "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": format!("{gi}Gi")}},
            "storageClassName": "gp3", "volumeMode": "Filesystem", "volumeName": pv},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": format!("{gi}Gi")}},
    });
    let vol_id = format!("vol-0{}", r.hex(16));
    out.push(
        "persistentvolumes",
        json!({
            "metadata": {"name": pv, "uid": r.uid(), "creationTimestamp": ts(created - 5),
                "annotations": {"pv.kubernetes.io/provisioned-by": EBS_CSI, "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                    "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                "finalizers": ["external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection", "external-attacher/ebs-csi-aws-com"]},
            "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": format!("{gi}Gi")},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim, "namespace": ns, "uid": pvc_uid},
                "csi": {"driver": EBS_CSI, "fsType": "ext4", "volumeHandle": vol_id,
                    "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "1766620800000-9671-ebs.csi.aws.com"}},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}},
                "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "gp3", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "lastPhaseTransitionTime": ts(created - 5)},
        }),
    );
    // The attach/detach controller attached it to the node of the pod using it.
    out.push(
        "volumeattachments",
        json!({
            "metadata": {"name": format!("csi-{}", r.hex(64)), "uid": r.uid(), "creationTimestamp": ts(3600 + k as i64 * 60),
                "annotations": {"csi.alpha.kubernetes.io/node-id": format!("i-0{}", r.hex(16))},
                "finalizers": ["external-attacher/ebs-csi-aws-com"]},
            "spec": {"attacher": EBS_CSI, "nodeName": node_name(node), "source": {"persistentVolumeName": pv}},
            "status": {"attached": true, "attachmentMetadata": {"devicePath": format!("/dev/xvda{}", (b'a' + (k % 26) as u8) as char)}},
        }),
    );
    (pv, pvc)
}

/// StatefulSet pods: `pod_in_state` re-owned, with their claim mounted, an init container
/// (completed) and a native sidecar (running, restarted once).
#[allow(clippy::too_many_arguments)]
fn sts_pod(
    spec: &ClusterSpec,
    w: &Workload,
    idx: usize,
    ord: usize,
    sts_uid: &str,
    rev: &str,
    sidecar: Option<&str>,
    r: &mut Rng,
) -> Value {
    let mut p = pod_in_state(spec, w, idx, 0, PodState::Running);
    let name = format!("{}-{ord}", w.name);
    own_pod(
        &mut p,
        &name,
        json!({"app": w.name, "controller-revision-hash": rev, "statefulset.kubernetes.io/pod-name": name,
            "apps.kubernetes.io/pod-index": ord.to_string()}),
        owner_ref("apps/v1", "StatefulSet", &w.name, sts_uid),
    );
    p["spec"]["hostname"] = json!(name);
    p["spec"]["subdomain"] = json!(w.name);
    if let Some(v) = p["spec"]["volumes"].as_array_mut() {
        v.push(
            json!({"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{name}")}}),
        );
    }
    if let Some(c) = p["spec"]["containers"][0]["volumeMounts"].as_array_mut() {
        c.push(json!({"name": "data", "mountPath": "/var/lib/data"}));
    }
    let started = p["status"]["startTime"].clone();
    let mut init = vec![
        json!({"name": "init-permissions", "image": "docker.io/library/busybox:1.37.0",
        "command": ["sh", "-c", "chown -R 999:999 /var/lib/data"],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/data"}],
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}),
    ];
    let mut init_st = vec![
        json!({"name": "init-permissions", "image": "docker.io/library/busybox:1.37.0",
        "imageID": format!("docker.io/library/busybox@sha256:{}", r.hex(64)), "containerID": format!("containerd://{}", r.hex(64)),
        "ready": true, "started": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}},
        "lastState": {}}),
    ];
    if let Some(img) = sidecar {
        init.push(json!({"name": "metrics-exporter", "image": img, "restartPolicy": "Always",
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "ports": [{"name": "exporter", "containerPort": 9187, "protocol": "TCP"}],
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}));
        let cid = format!("containerd://{}", r.hex(64));
        init_st.push(json!({"name": "metrics-exporter", "image": img,
            "imageID": format!("{}@sha256:{}", img.split(':').next().unwrap_or(img), r.hex(64)), "containerID": cid,
            "ready": true, "started": true, "restartCount": 1,
            "state": {"running": {"startedAt": ts(86_400)}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "containerID": format!("containerd://{}", r.hex(64)),
                "startedAt": started, "finishedAt": ts(86_400 + 10)}}}));
    }
    p["spec"]["initContainers"] = json!(init);
    p["status"]["initContainerStatuses"] = json!(init_st);
    p
}

fn storage(spec: &ClusterSpec, app_nss: &[String], out: &mut Out) {
    let mut r = Rng::new(spec.seed, "xsc", 0);
    out.push(
        "storageclasses",
        json!({
            "metadata": {"name": "gp3", "uid": r.uid(), "creationTimestamp": ts(90 * 86_400),
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": EBS_CSI, "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true,
        }),
    );
    out.push(
        "storageclasses",
        json!({
            "metadata": {"name": "io2-retain", "uid": r.uid(), "creationTimestamp": ts(80 * 86_400),
                "labels": {"app.kubernetes.io/managed-by": "terraform"}},
            "provisioner": EBS_CSI, "parameters": {"type": "io2", "iopsPerGB": "50", "encrypted": "true"},
            "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true,
        }),
    );

    // postgres: 3 replicas, data-postgres-0 being expanded (the filesystem grows on restart).
    let ns = &app_nss[0];
    let first = out.next_pod;
    out.next_pod += 3;
    let mut w = workload(
        spec,
        200,
        ns,
        "postgres",
        3,
        "docker.io/library/postgres:17.6",
        first,
    );
    w.cpu_m = 500;
    w.mem_mi = 1024;
    let mut sr = Rng::new(spec.seed, "xsts", 0);
    let uid = sr.uid();
    let rev = format!("postgres-{}", sr.chars(10));
    let mut pods = Vec::new();
    for ord in 0..3 {
        let p = sts_pod(
            spec,
            &w,
            first + ord,
            ord,
            &uid,
            &rev,
            Some("quay.io/prometheuscommunity/postgres-exporter:v0.18.1"),
            &mut sr,
        );
        let node = node_index(&p);
        let (_, mut pvc) = bound_volume(
            spec,
            out,
            ord as u64,
            ns,
            &format!("data-postgres-{ord}"),
            "postgres",
            20,
            node,
        );
        if ord == 0 {
            pvc["spec"]["resources"]["requests"]["storage"] = json!("50Gi");
            pvc["status"]["allocatedResources"] = json!({"storage": "50Gi"});
            pvc["status"]["allocatedResourceStatuses"] = json!({"storage": "NodeResizePending"});
            pvc["status"]["conditions"] = json!([{"type": "FileSystemResizePending", "status": "True",
                "lastProbeTime": null, "lastTransitionTime": ts(5400),
                "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node."}]);
            // The CSI controller already grew the volume; the node has yet to grow the filesystem.
            let pv_name = pvc["spec"]["volumeName"].clone();
            if let Some((_, pv)) = out
                .objs
                .iter_mut()
                .rev()
                .find(|(r, v)| r == "persistentvolumes" && v["metadata"]["name"] == pv_name)
            {
                pv["spec"]["capacity"]["storage"] = json!("50Gi");
            }
        }
        out.push("persistentvolumeclaims", pvc);
        pods.push(p);
    }
    push_sts(spec, out, &w, &uid, &rev, &pods, None, 3);

    // kafka: brokers 3-5 of a cluster migrated in from another one (`ordinals.start`), broker
    // 5 stuck in its init container.
    let ns = &app_nss[1 % app_nss.len()];
    let first = out.next_pod;
    out.next_pod += 3;
    let mut w = workload(
        spec,
        201,
        ns,
        "kafka",
        3,
        "docker.io/apache/kafka:4.1.0",
        first,
    );
    w.cpu_m = 1000;
    w.mem_mi = 1024;
    let uid = sr.uid();
    let rev = format!("kafka-{}", sr.chars(10));
    let mut pods = Vec::new();
    for j in 0..3 {
        let ord = 3 + j;
        let mut p = sts_pod(spec, &w, first + j, ord, &uid, &rev, None, &mut sr);
        p["spec"]["initContainers"][0]["name"] = json!("init-config");
        p["status"]["initContainerStatuses"][0]["name"] = json!("init-config");
        if j == 2 {
            let st = &mut p["status"];
            st["phase"] = json!("Pending");
            st["initContainerStatuses"][0]["ready"] = json!(false);
            st["initContainerStatuses"][0]["restartCount"] = json!(7);
            st["initContainerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                "message": format!("back-off 5m0s restarting failed container=init-config pod=kafka-{ord}_{ns}(uid)")}});
            st["initContainerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
                "startedAt": ts(400), "finishedAt": ts(398)}});
            if let Some(cs) = st["containerStatuses"].as_array_mut() {
                for c in cs {
                    c["ready"] = json!(false);
                    c["started"] = json!(false);
                    c["restartCount"] = json!(0);
                    c["state"] = json!({"waiting": {"reason": "PodInitializing"}});
                    c["lastState"] = json!({});
                    c["imageID"] = json!("");
                    if let Some(o) = c.as_object_mut() {
                        o.remove("containerID");
                    }
                }
            }
            if let Some(conds) = st["conditions"].as_array_mut() {
                for c in conds.iter_mut() {
                    match c["type"].as_str() {
                        Some("Initialized") => {
                            c["status"] = json!("False");
                            c["reason"] = json!("ContainersNotInitialized");
                            c["message"] =
                                json!("containers with incomplete status: [init-config]");
                        }
                        Some("Ready") | Some("ContainersReady") => {
                            c["status"] = json!("False");
                            c["reason"] = json!("ContainersNotInitialized");
                            c["message"] =
                                json!("containers with incomplete status: [init-config]");
                        }
                        _ => {}
                    }
                }
            }
            if let Some(o) = st.as_object_mut() {
                o.remove("podIP");
                o.remove("podIPs");
            }
        }
        let node = node_index(&p);
        let (_, pvc) = bound_volume(
            spec,
            out,
            10 + j as u64,
            ns,
            &format!("data-kafka-{ord}"),
            "kafka",
            100,
            node,
        );
        out.push("persistentvolumeclaims", pvc);
        pods.push(p);
    }
    push_sts(spec, out, &w, &uid, &rev, &pods, Some(3), 4);

    // A claim waiting for its first consumer, and an NFS volume nobody claims yet.
    let ns = &app_nss[app_nss.len() - 1];
    let mut r = Rng::new(spec.seed, "xpvc", 0);
    out.push(
        "persistentvolumeclaims",
        json!({
            "metadata": {"name": "scratch", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(1200),
                "labels": {"app": "batch-scratch"}, "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                "storageClassName": "gp3", "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"},
        }),
    );
    out.push(
        "persistentvolumes",
        json!({
            "metadata": {"name": "nfs-archive", "uid": r.uid(), "creationTimestamp": ts(60 * 86_400),
                "labels": {"type": "nfs"}, "finalizers": ["kubernetes.io/pv-protection"]},
            "spec": {"accessModes": ["ReadWriteMany", "ReadOnlyMany"], "capacity": {"storage": "1Ti"},
                "nfs": {"server": "fs-0a1b2c3d.efs.eu-west-1.amazonaws.com", "path": "/archive"},
                "mountOptions": ["nfsvers=4.1", "hard"], "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "", "volumeMode": "Filesystem"},
            "status": {"phase": "Available", "lastPhaseTransitionTime": ts(60 * 86_400)},
        }),
    );
    // The volume of a claim deleted a minute ago, being deleted by the CSI provisioner.
    let claim_uid = r.uid();
    out.push(
        "persistentvolumes",
        json!({
            "metadata": {"name": format!("pvc-{claim_uid}"), "uid": r.uid(), "creationTimestamp": ts(40 * 86_400),
                "annotations": {"pv.kubernetes.io/provisioned-by": EBS_CSI},
                "deletionTimestamp": ts(50), "deletionGracePeriodSeconds": 0,
                "finalizers": ["external-provisioner.volume.kubernetes.io/finalizer"]},
            "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "8Gi"},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "cache-redis-0", "namespace": ns, "uid": claim_uid},
                "csi": {"driver": EBS_CSI, "fsType": "ext4", "volumeHandle": format!("vol-0{}", r.hex(16)),
                    "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "1766620800000-9671-ebs.csi.aws.com"}},
                "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "gp3", "volumeMode": "Filesystem"},
            "status": {"phase": "Released", "lastPhaseTransitionTime": ts(60)},
        }),
    );
}

/// The StatefulSet object, its headless Service and slice, and its pods.
#[allow(clippy::too_many_arguments)]
fn push_sts(
    spec: &ClusterSpec,
    out: &mut Out,
    w: &Workload,
    uid: &str,
    rev: &str,
    pods: &[Value],
    ordinals_start: Option<usize>,
    k: u64,
) {
    let ready = pods
        .iter()
        .filter(|p| {
            p["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .count();
    let mut sts_spec = json!({
        "replicas": w.replicas, "serviceName": w.name,
        "selector": {"matchLabels": {"app": w.name}},
        "template": {"metadata": {"labels": {"app": w.name}},
            "spec": {"containers": [{"name": w.name, "image": w.image,
                "resources": {"requests": {"cpu": format!("{}m", w.cpu_m), "memory": format!("{}Mi", w.mem_mi)}}}]}},
        "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "volumeMode": "Filesystem",
                "resources": {"requests": {"storage": if w.name == "kafka" { "100Gi" } else { "20Gi" }}}},
            "status": {"phase": "Pending"}}],
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "revisionHistoryLimit": 10,
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    });
    if let Some(s) = ordinals_start {
        sts_spec["ordinals"] = json!({"start": s});
    }
    out.push(
        "statefulsets",
        json!({
            "metadata": {"name": w.name, "namespace": w.ns, "uid": uid, "creationTimestamp": ts(30 * 86_400),
                "generation": 1, "labels": {"app": w.name}},
            "spec": sts_spec,
            "status": {"observedGeneration": 1, "replicas": w.replicas, "readyReplicas": ready,
                "currentReplicas": w.replicas, "updatedReplicas": w.replicas, "availableReplicas": ready,
                "currentRevision": rev, "updateRevision": rev, "collisionCount": 0},
        }),
    );
    let mut svc = service_json(
        &w.ns,
        &w.name,
        &w.svc_uid,
        "None",
        json!({"app": w.name}),
        json!([{"name": "tcp", "port": if w.name == "kafka" { 9092 } else { 5432 }, "protocol": "TCP",
            "targetPort": if w.name == "kafka" { 9092 } else { 5432 }}]),
        30 * 86_400,
    );
    svc["spec"]["clusterIPs"] = json!(["None"]);
    svc["spec"]["publishNotReadyAddresses"] = json!(false);
    out.push("services", svc.clone());
    out.push("endpointslices", slice_for(spec, &svc, pods, 10 + k, false));
    for p in pods {
        out.push("pods", p.clone());
    }
}

/// A Job object and its pods, from a pod template workload.
struct JobDef<'a> {
    ns: &'a str,
    name: String,
    owner: Option<(String, String)>,
    /// Pods by final state: "Succeeded", "Failed", "Running", "Pending-claim".
    pods: Vec<&'static str>,
    started: i64,
    finished: Option<i64>,
    suspended: bool,
    active_deadline: Option<i64>,
    backoff_limit: i64,
}

fn job(spec: &ClusterSpec, out: &mut Out, k: u64, d: JobDef) -> (String, String) {
    let mut r = Rng::new(spec.seed, "xjob", k);
    let uid = r.uid();
    let image = if d.name.starts_with("db-backup") {
        "registry.example.com/ops/pg-backup:v2.3.1"
    } else if d.name.starts_with("model-train") {
        "registry.example.com/ml/trainer:v0.14.2"
    } else {
        "registry.example.com/reports/renderer:v1.8.0"
    };
    let base_name = d.name.rsplit_once('-').map_or(d.name.as_str(), |(a, _)| a);
    let first = out.next_pod;
    out.next_pod += d.pods.len();
    let w = workload(spec, 300 + k, d.ns, base_name, 1, image, first);
    let job_labels = json!({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": d.name,
        "controller-uid": uid, "job-name": d.name});
    let (mut succeeded, mut failed, mut active, mut ready) = (0, 0, 0, 0);
    for (j, state) in d.pods.iter().enumerate() {
        let st = match *state {
            "Succeeded" | "Failed" => PodState::Succeeded,
            "Running" => PodState::Running,
            _ => PodState::Pending,
        };
        let mut p = pod_in_state(spec, &w, first + j, 0, st);
        let name = format!("{}-{}", d.name, r.chars(5));
        own_pod(
            &mut p,
            &name,
            job_labels.clone(),
            owner_ref("batch/v1", "Job", &d.name, &uid),
        );
        p["metadata"]["generateName"] = json!(format!("{}-", d.name));
        p["spec"]["restartPolicy"] = json!("Never");
        if let Some(c) = p["spec"]["containers"][0].as_object_mut() {
            c.remove("readinessProbe");
            c.remove("livenessProbe");
            c.remove("ports");
        }
        let started = d.started - 5 - j as i64 * 120;
        match *state {
            "Succeeded" => {
                succeeded += 1;
                // Rendering untrusted documents: sandboxed, so the RuntimeClass adds overhead.
                p["spec"]["runtimeClassName"] = json!("gvisor");
                p["spec"]["overhead"] = json!({"cpu": "250m", "memory": "120Mi"});
                let fin = d.finished.unwrap_or(started - 60);
                p["status"]["containerStatuses"][0]["state"]["terminated"]["startedAt"] =
                    json!(ts(started));
                p["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] =
                    json!(ts(fin));
                p["status"]["startTime"] = json!(ts(started + 2));
            }
            "Failed" => {
                failed += 1;
                p["status"]["phase"] = json!("Failed");
                p["status"]["startTime"] = json!(ts(started + 2));
                p["status"]["containerStatuses"][0]["state"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": ts(started), "finishedAt": ts(started - 40),
                    "containerID": p["status"]["containerStatuses"][0]["containerID"]}});
                if let Some(cs) = p["status"]["conditions"].as_array_mut() {
                    for c in cs.iter_mut().filter(|c| c["reason"] == "PodCompleted") {
                        c["reason"] = json!("PodFailed");
                    }
                }
            }
            "Running" => {
                active += 1;
                ready += 1;
                p["status"]["startTime"] = json!(ts(started + 2));
            }
            _ => {
                // Waiting for a GPU: the claim exists (generated from the template), but no
                // node can allocate it.
                active += 1;
                let claim = format!("{name}-gpu-{}", r.chars(5));
                p["spec"]["resourceClaims"] =
                    json!([{"name": "gpu", "resourceClaimTemplateName": "single-gpu"}]);
                p["spec"]["containers"][0]["resources"]["claims"] = json!([{"name": "gpu"}]);
                p["status"]["resourceClaimStatuses"] =
                    json!([{"name": "gpu", "resourceClaimName": claim}]);
                p["status"]["conditions"][0]["message"] = json!(format!(
                    "0/{n} nodes are available: {n} cannot allocate all claims. still not schedulable, preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.",
                    n = spec.nodes
                ));
            }
        }
        out.push("pods", p);
    }
    let mut status =
        json!({"active": active, "ready": ready, "terminating": 0, "uncountedTerminatedPods": {}});
    if succeeded > 0 {
        status["succeeded"] = json!(succeeded);
    }
    if failed > 0 {
        status["failed"] = json!(failed);
    }
    if !d.suspended {
        status["startTime"] = json!(ts(d.started));
    }
    let cond = |t: &str, reason: &str, msg: &str, at: i64| {
        json!({"type": t, "status": "True", "reason": reason, "message": msg,
            "lastProbeTime": ts(at), "lastTransitionTime": ts(at)})
    };
    if d.suspended {
        status["conditions"] = json!([cond(
            "Suspended",
            "JobSuspended",
            "Job suspended",
            d.started
        )]);
    } else if let Some(fin) = d.finished {
        if failed > 0 && succeeded == 0 {
            status["conditions"] = json!([
                cond(
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    fin
                ),
                cond(
                    "Failed",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    fin
                ),
            ]);
        } else {
            status["completionTime"] = json!(ts(fin));
            status["conditions"] = json!([
                cond(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    fin
                ),
                cond(
                    "Complete",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    fin
                ),
            ]);
        }
    }
    let mut meta = json!({"name": d.name, "namespace": d.ns, "uid": uid, "creationTimestamp": ts(d.started),
        "generation": 1, "labels": job_labels});
    if let Some((cj, cj_uid)) = &d.owner {
        meta["ownerReferences"] = json!([owner_ref("batch/v1", "CronJob", cj, cj_uid)]);
        meta["annotations"] =
            json!({"batch.kubernetes.io/cronjob-scheduled-timestamp": ts(d.started)});
    }
    let mut jspec = json!({
        "parallelism": 1, "completions": 1, "backoffLimit": d.backoff_limit, "completionMode": "NonIndexed",
        "suspend": d.suspended, "manualSelector": false, "podReplacementPolicy": "TerminatingOrFailed",
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
        "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": d.name}},
            "spec": {"containers": [{"name": base_name, "image": image}], "restartPolicy": "Never"}},
    });
    if let Some(s) = d.active_deadline {
        jspec["activeDeadlineSeconds"] = json!(s);
    }
    if d.owner.is_none() {
        // Set by the `job-ttl-default` mutating admission policy.
        jspec["ttlSecondsAfterFinished"] = json!(86_400);
    }
    out.push(
        "jobs",
        json!({"metadata": meta, "spec": jspec, "status": status}),
    );
    (d.name, uid)
}

/// Minutes since the epoch of a time `secs_before_base` before the base time: the suffix the
/// CronJob controller gives a Job.
fn sched_suffix(secs_before_base: i64) -> i64 {
    (BASE_TIME - secs_before_base) / 60
}

fn batch(spec: &ClusterSpec, app_nss: &[String], out: &mut Out) {
    let mut r = Rng::new(spec.seed, "xcron", 0);
    // report-nightly: 02:00 Europe/Berlin (01:00 UTC), completed every night.
    let ns = &app_nss[1 % app_nss.len()];
    let cj_uid = r.uid();
    let last = 23 * 3600; // 2025-12-31T01:00:00Z
    let mut jobs = Vec::new();
    for day in 0..3 {
        let at = last + day * 86_400;
        jobs.push(job(
            spec,
            out,
            day as u64,
            JobDef {
                ns,
                name: format!("report-nightly-{}", sched_suffix(at)),
                owner: Some(("report-nightly".into(), cj_uid.clone())),
                pods: vec!["Succeeded"],
                started: at,
                finished: Some(at - 340 - day * 7),
                suspended: false,
                active_deadline: None,
                backoff_limit: 6,
            },
        ));
    }
    out.push(
        "cronjobs",
        json!({
            "metadata": {"name": "report-nightly", "namespace": ns, "uid": cj_uid, "creationTimestamp": ts(45 * 86_400),
                "generation": 1, "labels": {"app": "report-nightly"}},
            "spec": {"schedule": "0 2 * * *", "timeZone": "Europe/Berlin", "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 300, "suspend": false, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                "jobTemplate": {"spec": {"backoffLimit": 6, "template": {"spec": {"restartPolicy": "Never",
                    "runtimeClassName": "gvisor",
                    "containers": [{"name": "report", "image": "registry.example.com/reports/renderer:v1.8.0"}]}}}}},
            "status": {"lastScheduleTime": ts(last), "lastSuccessfulTime": ts(last - 340)},
        }),
    );

    // db-backup: every 30 minutes; the 23:30 run is still going, the 23:00 one failed.
    let ns = &app_nss[2 % app_nss.len()];
    let cj_uid = r.uid();
    job(
        spec,
        out,
        10,
        JobDef {
            ns,
            name: format!("db-backup-{}", sched_suffix(3600)),
            owner: Some(("db-backup".into(), cj_uid.clone())),
            pods: vec!["Failed", "Failed", "Failed"],
            started: 3600,
            finished: Some(3600 - 400),
            suspended: false,
            active_deadline: Some(3600),
            backoff_limit: 2,
        },
    );
    job(
        spec,
        out,
        11,
        JobDef {
            ns,
            name: format!("db-backup-{}", sched_suffix(5400)),
            owner: Some(("db-backup".into(), cj_uid.clone())),
            pods: vec!["Succeeded"],
            started: 5400,
            finished: Some(5400 - 900),
            suspended: false,
            active_deadline: Some(3600),
            backoff_limit: 2,
        },
    );
    let running = job(
        spec,
        out,
        12,
        JobDef {
            ns,
            name: format!("db-backup-{}", sched_suffix(1800)),
            owner: Some(("db-backup".into(), cj_uid.clone())),
            pods: vec!["Running"],
            started: 1800,
            finished: None,
            suspended: false,
            active_deadline: Some(3600),
            backoff_limit: 2,
        },
    );
    out.push(
        "cronjobs",
        json!({
            "metadata": {"name": "db-backup", "namespace": ns, "uid": cj_uid, "creationTimestamp": ts(60 * 86_400),
                "generation": 2, "labels": {"app": "db-backup"}},
            "spec": {"schedule": "*/30 * * * *", "concurrencyPolicy": "Forbid", "suspend": false,
                "successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 1,
                "jobTemplate": {"spec": {"backoffLimit": 2, "activeDeadlineSeconds": 3600,
                    "template": {"spec": {"restartPolicy": "Never",
                        "containers": [{"name": "db-backup", "image": "registry.example.com/ops/pg-backup:v2.3.1"}]}}}}},
            "status": {"active": [{"kind": "Job", "namespace": ns, "name": running.0, "uid": running.1, "apiVersion": "batch/v1"}],
                "lastScheduleTime": ts(1800), "lastSuccessfulTime": ts(5400 - 900)},
        }),
    );

    // A suspended one-off migration, and a training job waiting for a GPU.
    let ns = &app_nss[0];
    job(
        spec,
        out,
        20,
        JobDef {
            ns,
            name: "data-migration-2026-01".into(),
            owner: None,
            pods: vec![],
            started: 2 * 86_400,
            finished: None,
            suspended: true,
            active_deadline: None,
            backoff_limit: 0,
        },
    );
    let ns = &app_nss[3 % app_nss.len()];
    job(
        spec,
        out,
        21,
        JobDef {
            ns,
            name: "model-train-r7".into(),
            owner: None,
            pods: vec!["Pending-claim"],
            started: 900,
            finished: None,
            suspended: false,
            active_deadline: None,
            backoff_limit: 3,
        },
    );
}

/// A ReplicationController-run legacy app on an external IP, and a pod its node evicted.
fn legacy_controller(spec: &ClusterSpec, app_nss: &[String], out: &mut Out) {
    let ns = &app_nss[2 % app_nss.len()];
    let first = out.next_pod;
    out.next_pod += 2;
    let w = workload(
        spec,
        400,
        ns,
        "legacy-web",
        2,
        "registry.example.com/legacy/web:v0.9.3",
        first,
    );
    let mut r = Rng::new(spec.seed, "xrc", 0);
    let uid = r.uid();
    let mut pods = Vec::new();
    for j in 0..2 {
        let mut p = pod_in_state(spec, &w, first + j, 0, PodState::Running);
        own_pod(
            &mut p,
            &format!("legacy-web-{}", r.chars(5)),
            json!({"app": "legacy-web"}),
            owner_ref("v1", "ReplicationController", "legacy-web", &uid),
        );
        p["metadata"]["generateName"] = json!("legacy-web-");
        pods.push(p.clone());
        out.push("pods", p);
    }
    out.push(
        "replicationcontrollers",
        json!({
            "metadata": {"name": "legacy-web", "namespace": ns, "uid": uid, "creationTimestamp": ts(400 * 86_400),
                "generation": 3, "labels": {"app": "legacy-web"}},
            "spec": {"replicas": 2, "selector": {"app": "legacy-web"},
                "template": {"metadata": {"labels": {"app": "legacy-web"}},
                    "spec": {"containers": [{"name": "legacy-web", "image": w.image}]}}},
            "status": {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2, "observedGeneration": 3},
        }),
    );
    let ip = out.cluster_ip();
    let mut svc = service_json(
        ns,
        "legacy-web",
        &w.svc_uid,
        &ip,
        json!({"app": "legacy-web"}),
        json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]),
        400 * 86_400,
    );
    svc["spec"]["externalIPs"] = json!(["203.0.113.10"]);
    out.push("services", svc.clone());
    out.push("endpointslices", slice_for(spec, &svc, &pods, 40, false));

    // Evicted by the kubelet under memory pressure; its ReplicaSet has replaced it.
    let wls = workloads(spec);
    if let Some(w) = wls.iter().find(|w| w.ns == *ns).or(wls.first()) {
        let idx = out.pod_index();
        let mut p = pod_in_state(spec, w, idx, 0, PodState::Succeeded);
        let msg = format!("The node was low on resource: memory. Threshold quantity: 100Mi, available: 87412Ki. Container {} was using {}Mi, request is {}Mi, has larger consumption of memory. ",
            w.name, w.mem_mi * 2 + 37, w.mem_mi);
        let st = &mut p["status"];
        st["phase"] = json!("Failed");
        st["reason"] = json!("Evicted");
        st["message"] = json!(msg);
        st["containerStatuses"][0]["state"]["terminated"]["exitCode"] = json!(137);
        st["containerStatuses"][0]["state"]["terminated"]["reason"] = json!("Error");
        if let Some(cs) = st["conditions"].as_array_mut() {
            for c in cs.iter_mut().filter(|c| c["reason"] == "PodCompleted") {
                c["reason"] = json!("PodFailed");
            }
            cs.insert(
                0,
                json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
                    "lastTransitionTime": ts(7200), "reason": "TerminationByKubelet", "message": msg}),
            );
        }
        out.push("pods", p);
    }
}

/// HPAs on every fourth team deployment, PDBs on the replicated ones, coredns' PDB.
fn autoscaling_and_budgets(spec: &ClusterSpec, wls: &[Workload], out: &mut Out) {
    for (d, w) in wls.iter().enumerate() {
        let ready = (0..w.replicas)
            .filter(|j| pod_state(spec, w.first_pod + j) == PodState::Running)
            .count();
        let mut r = Rng::new(spec.seed, "xhpa", d as u64);
        if d >= 3 && d % 4 == 0 {
            let min = w.replicas.saturating_sub(1).max(1);
            let max = w.replicas * 3 + 2;
            let util = 45 + r.below(40);
            let mut hpa = json!({
                "metadata": {"name": w.name, "namespace": w.ns, "uid": r.uid(), "creationTimestamp": ts(30 * 86_400),
                    "generation": 2, "labels": {"app": w.name}},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name},
                    "minReplicas": min, "maxReplicas": max,
                    "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": format!("{}Mi", w.mem_mi * 3 / 2)}}},
                    ],
                    "behavior": {
                        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "tolerance": "0.05",
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}, {"type": "Pods", "value": 4, "periodSeconds": 15}]},
                        "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "tolerance": "0.15",
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
                    }},
                "status": {"observedGeneration": 2, "currentReplicas": w.replicas, "desiredReplicas": w.replicas,
                    "lastScaleTime": ts(2 * 86_400),
                    "currentMetrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": util,
                            "averageValue": format!("{}m", w.cpu_m * util / 100)}}},
                        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": format!("{}Mi", w.mem_mi * 9 / 10)}}},
                    ],
                    "conditions": [
                        {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "lastTransitionTime": ts(2 * 86_400),
                            "message": "recommended size matches current size"},
                        {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "lastTransitionTime": ts(30 * 86_400),
                            "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},
                        {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange", "lastTransitionTime": ts(2 * 86_400),
                            "message": "the desired count is within the acceptable range"},
                    ]},
            });
            if w.replicas == min {
                hpa["status"]["conditions"][2] = json!({"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas",
                    "lastTransitionTime": ts(2 * 86_400), "message": "the desired replica count is less than the minimum replica count"});
            }
            out.push("horizontalpodautoscalers", hpa);
        }
        let (min_available, max_unavailable) = match d {
            0 => (Some(1usize), None),
            _ if d >= 3 && d % 3 == 0 && w.replicas >= 2 => (None, Some(1usize)),
            _ => continue,
        };
        let desired = match (min_available, max_unavailable) {
            (Some(m), _) => m,
            (_, Some(u)) => w.replicas - u,
            _ => 0,
        };
        let allowed = ready.saturating_sub(desired);
        let mut pspec = json!({"selector": {"matchLabels": {"app": w.name}}, "unhealthyPodEvictionPolicy": "AlwaysAllow"});
        if let Some(m) = min_available {
            pspec["minAvailable"] = json!(m);
        }
        if let Some(u) = max_unavailable {
            pspec["maxUnavailable"] = json!(u);
        }
        out.push(
            "poddisruptionbudgets",
            json!({
                "metadata": {"name": w.name, "namespace": w.ns, "uid": r.uid(), "creationTimestamp": ts(30 * 86_400),
                    "generation": 1, "labels": {"app": w.name}},
                "spec": pspec,
                "status": {"observedGeneration": 1, "currentHealthy": ready, "desiredHealthy": desired,
                    "disruptionsAllowed": allowed, "expectedPods": w.replicas,
                    "conditions": [if allowed > 0 {
                        json!({"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": "",
                            "observedGeneration": 1, "lastTransitionTime": ts(3600)})
                    } else {
                        json!({"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods", "message": "",
                            "observedGeneration": 1, "lastTransitionTime": ts(3600)})
                    }]},
            }),
        );
    }
}

/// `legacy-billing`, deleted 30 minutes ago: the namespace controller deleted its content;
/// what is left is held by finalizers (foreground deletion waiting for pods to stop, a load
/// balancer being torn down, a claim still mounted, objects of an uninstalled operator).
fn terminating_namespace(spec: &ClusterSpec, out: &mut Out) {
    let ns = TERMINATING_NS;
    let mut r = Rng::new(spec.seed, "xterm", 0);
    out.push(
        "namespaces",
        json!({
            "metadata": {"name": ns, "uid": r.uid(), "creationTimestamp": ts(500 * 86_400),
                "deletionTimestamp": ts(1800),
                "labels": {"kubernetes.io/metadata.name": ns, "team": "billing"}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Terminating", "conditions": [
                {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "lastTransitionTime": ts(1795),
                    "reason": "ResourcesDiscovered", "message": "All resources successfully discovered"},
                {"type": "NamespaceDeletionGroupVersionParsingFailure", "status": "False", "lastTransitionTime": ts(1795),
                    "reason": "ParsedGroupVersions", "message": "All legacy kube types successfully parsed"},
                {"type": "NamespaceDeletionContentFailure", "status": "False", "lastTransitionTime": ts(1795),
                    "reason": "ContentDeleted", "message": "All content successfully deleted, may be waiting on finalization"},
                {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": ts(1795),
                    "reason": "SomeResourcesRemain",
                    "message": "Some resources are remaining: deployments.apps has 1 resource instances, horizontalpodautoscalers.autoscaling has 1 resource instances, persistentvolumeclaims. has 1 resource instances, poddisruptionbudgets.policy has 1 resource instances, pods. has 3 resource instances, replicasets.apps has 1 resource instances, services. has 1 resource instances, statefulsets.apps has 1 resource instances"},
                {"type": "NamespaceFinalizersRemaining", "status": "True", "lastTransitionTime": ts(1795),
                    "reason": "SomeFinalizersRemain",
                    "message": format!("Some content in the namespace has finalizers remaining: {BILLING_FINALIZER} in 2 resource instances, foregroundDeletion in 3 resource instances, kubernetes.io/pvc-protection in 1 resource instances, service.kubernetes.io/load-balancer-cleanup in 1 resource instances")},
            ]},
        }),
    );

    // billing-api: foreground deletion waits for its ReplicaSet, which waits for its pods.
    let first = out.next_pod;
    out.next_pod += 2;
    let w = workload(
        spec,
        500,
        ns,
        "billing-api",
        2,
        "registry.example.com/billing/api:v3.4.0",
        first,
    );
    let mut pods: Vec<Value> = (0..2)
        .map(|j| pod_in_state(spec, &w, first + j, 0, PodState::Running))
        .collect();
    for p in pods.iter_mut() {
        terminating_pod(p, 1790);
    }
    let mut dep = deployment(&w, 0);
    deleting(&mut dep, 1800, &["foregroundDeletion"]);
    dep["status"]["replicas"] = json!(0);
    dep["status"]["updatedReplicas"] = json!(0);
    dep["status"]["terminatingReplicas"] = json!(2);
    dep["status"]["unavailableReplicas"] = json!(0);
    out.push("deployments", dep);
    let mut rs = replicaset(&w, 0);
    deleting(&mut rs, 1798, &["foregroundDeletion"]);
    rs["status"]["replicas"] = json!(0);
    rs["status"]["fullyLabeledReplicas"] = json!(0);
    rs["status"]["terminatingReplicas"] = json!(2);
    out.push("replicasets", rs);
    let ip = out.cluster_ip();
    let mut svc = service_json(
        ns,
        "billing-api",
        &w.svc_uid,
        &ip,
        json!({"app": "billing-api"}),
        json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": "http", "nodePort": 30443}]),
        500 * 86_400,
    );
    svc["spec"]["type"] = json!("LoadBalancer");
    svc["spec"]["externalTrafficPolicy"] = json!("Cluster");
    svc["spec"]["allocateLoadBalancerNodePorts"] = json!(true);
    svc["status"] = json!({"loadBalancer": {"ingress": [{"hostname": "billing-api-0123456789.eu-west-1.elb.amazonaws.com"}]}});
    deleting(
        &mut svc,
        1800,
        &["service.kubernetes.io/load-balancer-cleanup"],
    );
    out.push("services", svc);

    // redis: its pod stops, its claim stays while mounted.
    let first = out.next_pod;
    out.next_pod += 1;
    let rw = workload(
        spec,
        501,
        ns,
        "redis",
        1,
        "docker.io/library/redis:8.2.2",
        first,
    );
    let mut sr = Rng::new(spec.seed, "xterm-sts", 0);
    let sts_uid = sr.uid();
    let rev = format!("redis-{}", sr.chars(10));
    let mut p = sts_pod(spec, &rw, first, 0, &sts_uid, &rev, None, &mut sr);
    terminating_pod(&mut p, 1790);
    let node = node_index(&p);
    let (_, mut pvc) = bound_volume(spec, out, 50, ns, "data-redis-0", "redis", 8, node);
    pvc["metadata"]["deletionTimestamp"] = json!(ts(1800));
    pvc["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    out.push("persistentvolumeclaims", pvc);
    out.push(
        "statefulsets",
        json!({
            "metadata": {"name": "redis", "namespace": ns, "uid": sts_uid, "creationTimestamp": ts(300 * 86_400),
                "generation": 1, "labels": {"app": "redis"}, "deletionTimestamp": ts(1800), "deletionGracePeriodSeconds": 0,
                "finalizers": ["foregroundDeletion"]},
            "spec": {"replicas": 1, "serviceName": "redis", "selector": {"matchLabels": {"app": "redis"}},
                "template": {"metadata": {"labels": {"app": "redis"}}, "spec": {"containers": [{"name": "redis", "image": rw.image}]}},
                "podManagementPolicy": "OrderedReady", "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "revisionHistoryLimit": 10, "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"}},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0, "currentReplicas": 1, "updatedReplicas": 1,
                "availableReplicas": 0, "currentRevision": rev, "updateRevision": rev, "collisionCount": 0},
        }),
    );
    pods.push(p);
    for p in pods {
        out.push("pods", p);
    }

    // Objects of the uninstalled billing operator keep its finalizer.
    let mut hpa = json!({
        "metadata": {"name": "billing-api", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(200 * 86_400),
            "generation": 1, "labels": {"app": "billing-api"}},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "billing-api"},
            "minReplicas": 2, "maxReplicas": 6,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
        "status": {"observedGeneration": 1, "currentReplicas": 0, "desiredReplicas": 0,
            "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale", "lastTransitionTime": ts(1790),
                    "message": "the HPA controller was able to get the target's current scale"},
                {"type": "ScalingActive", "status": "False", "reason": "ScalingDisabled", "lastTransitionTime": ts(1790),
                    "message": "scaling is disabled since the replica count of the target is zero"},
            ]},
    });
    deleting(&mut hpa, 1800, &[BILLING_FINALIZER]);
    out.push("horizontalpodautoscalers", hpa);
    let mut pdb = json!({
        "metadata": {"name": "billing-api", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(200 * 86_400),
            "generation": 1, "labels": {"app": "billing-api"}},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "billing-api"}}},
        "status": {"observedGeneration": 1, "currentHealthy": 0, "desiredHealthy": 1, "disruptionsAllowed": 0, "expectedPods": 2,
            "conditions": [{"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods", "message": "",
                "observedGeneration": 1, "lastTransitionTime": ts(1790)}]},
    });
    deleting(&mut pdb, 1800, &[BILLING_FINALIZER]);
    out.push("poddisruptionbudgets", pdb);
}

fn per_namespace_policy(spec: &ClusterSpec, app_nss: &[String], wls: &[Workload], out: &mut Out) {
    let mut r = Rng::new(spec.seed, "xpolicy", 0);
    let all_ns: Vec<String> = namespace_names(spec)
        .into_iter()
        .chain(
            [
                "kube-node-lease",
                "kube-public",
                "cert-manager",
                "ingress-nginx",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .collect();
    for ns in &all_ns {
        out.push(
            "serviceaccounts",
            json!({"metadata": {"name": "default", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400)}}),
        );
    }
    for (ns, name) in [
        ("kube-system", "coredns"),
        ("kube-system", "kube-proxy"),
        ("kube-system", "metrics-server"),
        ("monitoring", "prometheus-operator"),
        ("monitoring", "node-exporter"),
        ("cert-manager", "cert-manager"),
        ("cert-manager", "cert-manager-webhook"),
        ("ingress-nginx", "ingress-nginx"),
    ] {
        out.push(
            "serviceaccounts",
            json!({"metadata": {"name": name, "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400),
                "labels": {"app.kubernetes.io/name": name}},
                "automountServiceAccountToken": true}),
        );
    }
    for ns in app_nss {
        // A CI deployer from before bound tokens, with its long-lived token Secret, and the
        // registry credentials its pods pull with.
        let sa_uid = r.uid();
        out.push(
            "serviceaccounts",
            json!({"metadata": {"name": "ci-deployer", "namespace": ns, "uid": sa_uid, "creationTimestamp": ts(400 * 86_400),
                "labels": {"app.kubernetes.io/managed-by": "gitlab"}},
                "secrets": [{"name": "ci-deployer-token"}], "imagePullSecrets": [{"name": "regcred"}]}),
        );
        out.push(
            "secrets",
            json!({"metadata": {"name": "ci-deployer-token", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(400 * 86_400),
                "annotations": {"kubernetes.io/service-account.name": "ci-deployer", "kubernetes.io/service-account.uid": sa_uid}},
                "type": "kubernetes.io/service-account-token",
                "data": {"ca.crt": base64_encode(r.hex(600).as_bytes()), "namespace": base64_encode(ns.as_bytes()),
                    "token": base64_encode(format!("eyJhbGciOiJSUzI1NiIsImtpZCI6I{}", r.hex(300)).as_bytes())}}),
        );
        out.push(
            "secrets",
            json!({"metadata": {"name": "regcred", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(400 * 86_400)},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": base64_encode(format!("{{\"auths\":{{\"registry.example.com\":{{\"auth\":\"{}\"}}}}}}",
                    base64_encode(format!("ci:{}", r.hex(24)).as_bytes())).as_bytes())}}),
        );
        out.push(
            "limitranges",
            json!({"metadata": {"name": "default-limits", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400)},
                "spec": {"limits": [
                    {"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        "max": {"cpu": "4", "memory": "8Gi"}, "min": {"cpu": "10m", "memory": "16Mi"}, "maxLimitRequestRatio": {"memory": "4"}},
                    {"type": "PersistentVolumeClaim", "max": {"storage": "200Gi"}, "min": {"storage": "1Gi"}},
                ]}}),
        );
        for np in [
            json!({"metadata": {"name": "default-deny-ingress", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400), "generation": 1},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
            json!({"metadata": {"name": "allow-ingress-and-monitoring", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400), "generation": 1},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
                    "ports": [{"protocol": "TCP", "port": "http"}]},
                {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                    "ports": [{"protocol": "TCP", "port": "metrics"}]},
                {"from": [{"podSelector": {}}]},
            ]}}),
            json!({"metadata": {"name": "restrict-egress", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400), "generation": 1},
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": ns}}, "policyTypes": ["Egress"], "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"app": "coredns"}}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                {"to": [{"podSelector": {}}]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}], "ports": [{"protocol": "TCP", "port": 443}]},
            ]}}),
        ] {
            out.push("networkpolicies", np);
        }
        // An ingress for the namespace's first deployment, TLS from the namespace's secret.
        if let Some(w) = wls.iter().find(|w| &w.ns == ns) {
            out.push(
                "ingresses",
                json!({
                    "metadata": {"name": w.name, "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(30 * 86_400), "generation": 1,
                        "labels": {"app": w.name}, "annotations": {"cert-manager.io/issuer": "letsencrypt",
                            "nginx.ingress.kubernetes.io/proxy-body-size": "8m"}},
                    "spec": {"ingressClassName": "nginx",
                        "tls": [{"hosts": [format!("{}.{ns}.example.com", w.name)], "secretName": "ingress-tls"}],
                        "rules": [{"host": format!("{}.{ns}.example.com", w.name), "http": {"paths": [
                            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": w.name, "port": {"name": "http"}}}},
                            {"path": "/metrics", "pathType": "Exact", "backend": {"service": {"name": w.name, "port": {"number": 9090}}}},
                        ]}}]},
                    "status": {"loadBalancer": {"ingress": [{"hostname": LB_HOSTNAME}]}},
                }),
            );
        }
    }
}

/// Sums the requests and limits of the namespace's non-terminal pods, as the quota
/// controller does.
fn quota(spec: &ClusterSpec, k: usize, ns: &str, pods: &[Value], pvcs: &[Value]) -> Value {
    let mut r = Rng::new(spec.seed, "xquota", k as u64);
    let (mut req_cpu, mut req_mem, mut lim_mem, mut count) = (0u64, 0u64, 0u64, 0u64);
    for p in pods.iter().filter(|p| p["metadata"]["namespace"] == ns) {
        if matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
            continue;
        }
        count += 1;
        let sum = |key: &str, res: &str| -> u64 {
            let mut per_app = 0;
            for c in p["spec"]["containers"].as_array().into_iter().flatten() {
                per_app += c["resources"][key][res].as_str().map_or(0, quantity_milli);
            }
            // Init containers count with the largest of them; native sidecars add up.
            let mut sidecars = 0;
            let mut init_max = 0;
            for c in p["spec"]["initContainers"].as_array().into_iter().flatten() {
                let v = c["resources"][key][res].as_str().map_or(0, quantity_milli);
                if c["restartPolicy"] == "Always" {
                    sidecars += v;
                } else {
                    init_max = init_max.max(v + sidecars);
                }
            }
            // Pod overhead counts towards quota.
            let overhead = p["spec"]["overhead"][res]
                .as_str()
                .map_or(0, quantity_milli);
            (per_app + sidecars).max(init_max) + overhead
        };
        req_cpu += sum("requests", "cpu");
        req_mem += sum("requests", "memory");
        lim_mem += sum("limits", "memory");
    }
    let claims = pvcs
        .iter()
        .filter(|c| c["metadata"]["namespace"] == ns)
        .count();
    let storage_milli: u64 = pvcs
        .iter()
        .filter(|c| c["metadata"]["namespace"] == ns)
        .map(|c| {
            c["spec"]["resources"]["requests"]["storage"]
                .as_str()
                .map_or(0, quantity_milli)
        })
        .sum();
    let hard_cpu = ((req_cpu / 1000 / 10) + 2) * 10;
    json!({
        "metadata": {"name": "compute-resources", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400)},
        "spec": {"hard": {"requests.cpu": hard_cpu.to_string(), "requests.memory": format!("{}Gi", hard_cpu * 2),
            "limits.memory": format!("{}Gi", hard_cpu * 4), "pods": "200", "persistentvolumeclaims": "20",
            "requests.storage": "1Ti", "services.loadbalancers": "0"}},
        "status": {
            "hard": {"requests.cpu": hard_cpu.to_string(), "requests.memory": format!("{}Gi", hard_cpu * 2),
                "limits.memory": format!("{}Gi", hard_cpu * 4), "pods": "200", "persistentvolumeclaims": "20",
                "requests.storage": "1Ti", "services.loadbalancers": "0"},
            "used": {"requests.cpu": cpu_quantity(req_cpu), "requests.memory": mem_quantity(req_mem),
                "limits.memory": mem_quantity(lim_mem), "pods": count.to_string(),
                "persistentvolumeclaims": claims.to_string(), "requests.storage": mem_quantity(storage_milli),
                "services.loadbalancers": "0"},
        },
    })
}

fn rbac(spec: &ClusterSpec, app_nss: &[String], out: &mut Out) {
    let mut r = Rng::new(spec.seed, "xrbac", 0);
    let bootstrap = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let autoupdate = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
    let mut roles = vec![
        json!({"metadata": {"name": "cluster-admin", "labels": bootstrap, "annotations": autoupdate},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
        json!({"metadata": {"name": "system:coredns", "labels": bootstrap, "annotations": autoupdate},
            "rules": [{"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]}]}),
        json!({"metadata": {"name": "prometheus-operator", "labels": {"app.kubernetes.io/name": "prometheus-operator"}},
            "rules": [{"apiGroups": ["monitoring.coreos.com"], "resources": ["*"], "verbs": ["*"]},
                {"apiGroups": [""], "resources": ["services", "endpoints", "pods", "secrets", "configmaps"], "verbs": ["get", "list", "watch", "create", "update", "delete"]},
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}]}),
    ];
    for name in ["admin", "edit", "view"] {
        let agg = json!({"clusterRoleSelectors": [{"matchLabels":
            {format!("rbac.authorization.k8s.io/aggregate-to-{name}"): "true"}}]});
        roles.push(json!({"metadata": {"name": name, "labels": bootstrap, "annotations": autoupdate},
            "aggregationRule": agg,
            "rules": [{"apiGroups": [""], "resources": ["pods", "services", "configmaps", "persistentvolumeclaims"], "verbs": ["get", "list", "watch"]}]}));
    }
    for mut role in roles {
        role["metadata"]["uid"] = json!(r.uid());
        role["metadata"]["creationTimestamp"] = json!(ts(90 * 86_400));
        out.push("clusterroles", role);
    }
    for b in [
        json!({"metadata": {"name": "cluster-admin", "labels": bootstrap, "annotations": autoupdate},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]}),
        json!({"metadata": {"name": "system:coredns", "labels": bootstrap, "annotations": autoupdate},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}]}),
        json!({"metadata": {"name": "prometheus-operator", "labels": {"app.kubernetes.io/name": "prometheus-operator"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prometheus-operator"},
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus-operator", "namespace": "monitoring"}]}),
    ] {
        let mut b = b;
        b["metadata"]["uid"] = json!(r.uid());
        b["metadata"]["creationTimestamp"] = json!(ts(90 * 86_400));
        out.push("clusterrolebindings", b);
    }
    for ns in app_nss {
        out.push(
            "roles",
            json!({"metadata": {"name": "developer", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400)},
                "rules": [
                    {"apiGroups": [""], "resources": ["pods", "pods/log", "services", "configmaps"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]},
                    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list", "watch", "patch"]},
                ]}),
        );
        out.push(
            "rolebindings",
            json!({"metadata": {"name": "developers", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(60 * 86_400)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "developer"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("{ns}-developers")}]}),
        );
        out.push(
            "rolebindings",
            json!({"metadata": {"name": "ci-deployer-edit", "namespace": ns, "uid": r.uid(), "creationTimestamp": ts(400 * 86_400)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "ServiceAccount", "name": "ci-deployer", "namespace": ns}]}),
        );
    }
}

/// Kubelet certificate rotation of the last hour (the CSR cleaner removes older ones): client
/// certificates auto-approved, serving certificates approved by an admin, one serving request
/// pending, one denied.
fn certificates(spec: &ClusterSpec, cp: usize, out: &mut Out) {
    let mut r = Rng::new(spec.seed, "xcsr", 0);
    let nodes = spec.nodes.max(1);
    let pem = |r: &mut Rng, what: &str, len: usize| {
        let body = base64_encode(r.hex(len).as_bytes());
        let lines: Vec<String> = body
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!(
            "-----BEGIN {what}-----\n{}\n-----END {what}-----\n",
            lines.join("\n")
        )
    };
    let kinds = [
        ("client", "Approved"),
        ("serving", "Approved"),
        ("client", "Approved"),
        ("serving", "Pending"),
        ("serving", "Denied"),
    ];
    for (k, (kind, outcome)) in kinds.iter().enumerate() {
        let node = node_name((cp + k * 7) % nodes);
        let at = 300 + (kinds.len() - k) as i64 * 600;
        let (signer, usages) = if *kind == "client" {
            (
                "kubernetes.io/kube-apiserver-client-kubelet",
                json!(["digital signature", "client auth"]),
            )
        } else {
            (
                "kubernetes.io/kubelet-serving",
                json!(["digital signature", "server auth"]),
            )
        };
        let mut status = json!({});
        match (*kind, *outcome) {
            ("client", _) => {
                status["conditions"] = json!([{"type": "Approved", "status": "True", "reason": "AutoApproved",
                    "message": "Auto approving self kubelet client certificate after SubjectAccessReview.",
                    "lastUpdateTime": ts(at - 1), "lastTransitionTime": ts(at - 1)}]);
                status["certificate"] =
                    json!(base64_encode(pem(&mut r, "CERTIFICATE", 700).as_bytes()));
            }
            (_, "Approved") => {
                status["conditions"] = json!([{"type": "Approved", "status": "True", "reason": "KubectlApprove",
                    "message": "This CSR was approved by kubectl certificate approve.",
                    "lastUpdateTime": ts(at - 90), "lastTransitionTime": ts(at - 90)}]);
                status["certificate"] =
                    json!(base64_encode(pem(&mut r, "CERTIFICATE", 760).as_bytes()));
            }
            (_, "Denied") => {
                status["conditions"] = json!([{"type": "Denied", "status": "True", "reason": "KubectlDeny",
                    "message": "This CSR was denied by kubectl certificate deny.",
                    "lastUpdateTime": ts(at - 120), "lastTransitionTime": ts(at - 120)}]);
            }
            _ => {}
        }
        out.push(
            "certificatesigningrequests",
            json!({
                "metadata": {"name": format!("csr-{}", r.chars(5)), "uid": r.uid(), "creationTimestamp": ts(at),
                    "generateName": "csr-"},
                "spec": {"request": base64_encode(pem(&mut r, "CERTIFICATE REQUEST", 300).as_bytes()),
                    "signerName": signer, "usages": usages, "username": format!("system:node:{node}"),
                    "uid": r.uid(), "groups": ["system:nodes", "system:authenticated"],
                    "expirationSeconds": if *kind == "serving" { json!(31_536_000) } else { Value::Null }},
                "status": status,
            }),
        );
        if let Some(o) = out
            .objs
            .last_mut()
            .and_then(|(_, v)| v["spec"].as_object_mut())
        {
            o.retain(|_, v| !v.is_null());
        }
    }
}

fn admission(spec: &ClusterSpec, out: &mut Out) {
    let mut r = Rng::new(spec.seed, "xadm", 0);
    let ca = base64_encode(
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            r.hex(600)
        )
        .as_bytes(),
    );
    let cm_rules = json!([{"apiGroups": ["cert-manager.io", "acme.cert-manager.io"], "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"], "resources": ["*/*"], "scope": "*"}]);
    let cm_ns_sel = json!({"matchExpressions": [{"key": "cert-manager.io/disable-validation", "operator": "NotIn", "values": ["true"]}]});
    let cm_meta = |r: &mut Rng| {
        json!({"name": "cert-manager-webhook", "uid": r.uid(), "creationTimestamp": ts(60 * 86_400), "generation": 2,
            "labels": {"app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager"},
            "annotations": {"cert-manager.io/inject-ca-from-secret": "cert-manager/cert-manager-webhook-ca"}})
    };
    out.push(
        "mutatingwebhookconfigurations",
        json!({
            "metadata": cm_meta(&mut r),
            "webhooks": [{"name": "webhook.cert-manager.io", "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"namespace": "cert-manager", "name": "cert-manager-webhook", "path": "/mutate", "port": 443},
                    "caBundle": ca},
                "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                "reinvocationPolicy": "Never",
                "rules": [{"apiGroups": ["cert-manager.io"], "apiVersions": ["v1"], "operations": ["CREATE"],
                    "resources": ["certificaterequests"], "scope": "*"}],
                "sideEffects": "None", "timeoutSeconds": 30}],
        }),
    );
    out.push(
        "validatingwebhookconfigurations",
        json!({
            "metadata": cm_meta(&mut r),
            "webhooks": [{"name": "webhook.cert-manager.io", "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"namespace": "cert-manager", "name": "cert-manager-webhook", "path": "/validate", "port": 443},
                    "caBundle": ca},
                "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": cm_ns_sel, "objectSelector": {},
                "rules": cm_rules, "sideEffects": "None", "timeoutSeconds": 30}],
        }),
    );
    out.push(
        "validatingwebhookconfigurations",
        json!({
            "metadata": {"name": "ingress-nginx-admission", "uid": r.uid(), "creationTimestamp": ts(60 * 86_400), "generation": 2,
                "labels": {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "admission-webhook"}},
            "webhooks": [{"name": "validate.nginx.ingress.kubernetes.io", "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"namespace": "ingress-nginx", "name": "ingress-nginx-controller-admission",
                    "path": "/networking/v1/ingresses", "port": 443}, "caBundle": ca},
                "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                "rules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                    "resources": ["ingresses"], "scope": "*"}],
                "sideEffects": "None", "timeoutSeconds": 10}],
        }),
    );

    // Admission policies (v1): every Deployment outside the system namespaces names the app it
    // is part of; Jobs not run by a CronJob get a TTL.
    let system_ns = json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
        "values": ["kube-system", "kube-public", "kube-node-lease"]}]});
    out.push(
        "validatingadmissionpolicies",
        json!({
            "metadata": {"name": "require-part-of-label", "uid": r.uid(), "creationTimestamp": ts(20 * 86_400), "generation": 1},
            "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                    "resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                        "resources": ["deployments", "statefulsets"], "scope": "*"}]},
                "validations": [{"expression": "has(object.metadata.labels) && 'app' in object.metadata.labels",
                    "message": "workloads must carry an app label", "reason": "Invalid"}],
                "auditAnnotations": [{"key": "missing-part-of",
                    "valueExpression": "!('app.kubernetes.io/part-of' in object.spec.template.metadata.labels) ? 'no part-of label on ' + object.metadata.name : null"}]},
            "status": {"observedGeneration": 1, "typeChecking": {},
                "conditions": [{"type": "TypeChecked", "status": "True", "reason": "TypeCheckingSucceeded", "message": "",
                    "observedGeneration": 1, "lastTransitionTime": ts(20 * 86_400)}]},
        }),
    );
    out.push(
        "validatingadmissionpolicybindings",
        json!({
            "metadata": {"name": "require-part-of-label", "uid": r.uid(), "creationTimestamp": ts(20 * 86_400), "generation": 1},
            "spec": {"policyName": "require-part-of-label", "validationActions": ["Deny", "Audit"],
                "matchResources": {"matchPolicy": "Equivalent", "namespaceSelector": system_ns, "objectSelector": {}}},
        }),
    );
    out.push(
        "validatingadmissionpolicybindings",
        json!({
            "metadata": {"name": "require-part-of-label-system", "uid": r.uid(), "creationTimestamp": ts(20 * 86_400), "generation": 1},
            "spec": {"policyName": "require-part-of-label", "validationActions": ["Warn"],
                "matchResources": {"matchPolicy": "Equivalent", "objectSelector": {},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}},
        }),
    );
    out.push(
        "mutatingadmissionpolicies",
        json!({
            "metadata": {"name": "job-ttl-default", "uid": r.uid(), "creationTimestamp": ts(20 * 86_400), "generation": 1},
            "spec": {"failurePolicy": "Fail", "reinvocationPolicy": "Never",
                "matchConstraints": {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                    "resourceRules": [{"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE"],
                        "resources": ["jobs"], "scope": "*"}]},
                "matchConditions": [{"name": "not-from-cronjob",
                    "expression": "!has(object.metadata.ownerReferences) && !has(object.spec.ttlSecondsAfterFinished)"}],
                "mutations": [{"patchType": "ApplyConfiguration",
                    "applyConfiguration": {"expression": "Object{spec: Object.spec{ttlSecondsAfterFinished: 86400}}"}}]},
        }),
    );
    out.push(
        "mutatingadmissionpolicybindings",
        json!({
            "metadata": {"name": "job-ttl-default", "uid": r.uid(), "creationTimestamp": ts(20 * 86_400), "generation": 1},
            "spec": {"policyName": "job-ttl-default",
                "matchResources": {"matchPolicy": "Equivalent", "namespaceSelector": system_ns, "objectSelector": {}}},
        }),
    );
}
