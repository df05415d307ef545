//! Deterministic, realistic cluster contents for the fake API server.
//!
//! `generate` yields namespaces, nodes, configmaps, secrets, deployments, their
//! replicasets and pods, services and endpointslices (the benchmarks' workload);
//! `generate_all_kinds` adds every other kind kubestate watches (the demo's cluster, see
//! `cluster_gen/all_kinds.rs`); `churn` yields an endless, deterministic sequence of pod
//! mutations to replay against a running fake.

use super::fake_apiserver::{base64_encode, next_rand, rfc3339_secs, uuid_v4};
use serde_json::{json, Value};

mod all_kinds;

#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub nodes: usize,
    pub pods: usize,
    /// Total namespaces, including kube-system, default and monitoring (min 3).
    pub namespaces: usize,
    pub seed: u64,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            nodes: 5,
            pods: 50,
            namespaces: 5,
            seed: 42,
        }
    }
}

/// One step of churn.
#[derive(Clone, Debug)]
pub enum Mutation {
    Create(String, Value),
    Update(String, Value),
    Delete {
        resource: String,
        namespace: Option<String>,
        name: String,
    },
}

/// 2026-01-01T00:00:00Z: generated timestamps are fixed offsets before this.
const BASE_TIME: i64 = 1_767_225_600;

const WORDS: &[&str] = &[
    "api",
    "web",
    "worker",
    "checkout",
    "cart",
    "search",
    "auth",
    "billing",
    "frontend",
    "gateway",
    "orders",
    "payments",
    "inventory",
    "notifier",
    "scheduler",
    "reporting",
    "ingest",
    "cache",
    "profile",
    "recommender",
];

const ZONES: &[&str] = &["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const HASH_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

struct Rng(u64);

impl Rng {
    fn new(seed: u64, what: &str, i: u64) -> Rng {
        let mut s = seed ^ 0x5DEE_CE66_D1CE_4E5B;
        for b in what.bytes() {
            s = s.rotate_left(7) ^ b as u64;
            next_rand(&mut s);
        }
        s ^= i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        next_rand(&mut s);
        Rng(s)
    }
    fn next(&mut self) -> u64 {
        next_rand(&mut self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn chars(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| HASH_CHARS[self.below(HASH_CHARS.len() as u64) as usize] as char)
            .collect()
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
    fn uid(&mut self) -> String {
        uuid_v4(&mut self.0)
    }
}

fn ts(secs_before_base: i64) -> String {
    rfc3339_secs(BASE_TIME - secs_before_base)
}

pub fn namespace_names(spec: &ClusterSpec) -> Vec<String> {
    let mut out = vec![
        "kube-system".to_string(),
        "default".to_string(),
        "monitoring".to_string(),
    ];
    let mut i = 0;
    while out.len() < spec.namespaces.max(3) {
        let letter = (b'a' + (i % 26) as u8) as char;
        out.push(if i < 26 {
            format!("team-{letter}")
        } else {
            format!("team-{letter}{}", i / 26)
        });
        i += 1;
    }
    out
}

pub fn node_name(i: usize) -> String {
    format!("node-{}-{i:03}", &ZONES[i % ZONES.len()][7..])
}

fn control_planes(spec: &ClusterSpec) -> usize {
    if spec.nodes >= 6 {
        3
    } else {
        1.min(spec.nodes)
    }
}

#[derive(Clone)]
struct Workload {
    ns: String,
    name: String,
    replicas: usize,
    first_pod: usize,
    hash: String,
    dep_uid: String,
    rs_uid: String,
    svc_uid: String,
    image: String,
    sidecars: usize,
    cpu_m: u64,
    mem_mi: u64,
}

fn workloads(spec: &ClusterSpec) -> Vec<Workload> {
    let nss = namespace_names(spec);
    let app_nss: Vec<&String> = nss.iter().skip(1).collect();
    let mut out = Vec::new();
    let mut next_pod = 0;
    let mut d = 0usize;
    while next_pod < spec.pods {
        let mut r = Rng::new(spec.seed, "workload", d as u64);
        let (ns, name) = match d {
            0 => ("kube-system".to_string(), "coredns".to_string()),
            1 => ("kube-system".to_string(), "metrics-server".to_string()),
            2 => ("monitoring".to_string(), "prometheus-operator".to_string()),
            _ => {
                let k = d - 3;
                let ns = app_nss[k % app_nss.len()].clone();
                let word = WORDS[k % WORDS.len()];
                let round = k / WORDS.len();
                let name = if round == 0 {
                    word.to_string()
                } else {
                    format!("{word}-{round}")
                };
                (ns, name)
            }
        };
        let replicas = match d {
            0 => 2,
            1 | 2 => 1,
            _ => 1 + r.below(5) as usize,
        }
        .min(spec.pods - next_pod);
        let image = match d {
            0 => "registry.k8s.io/coredns/coredns:v1.12.1".to_string(),
            1 => "registry.k8s.io/metrics-server/metrics-server:v0.8.0".to_string(),
            2 => "quay.io/prometheus-operator/prometheus-operator:v0.86.1".to_string(),
            _ => format!(
                "registry.example.com/{ns}/{name}:v1.{}.{}",
                r.below(30),
                r.below(10)
            ),
        };
        out.push(Workload {
            hash: r.chars(10),
            dep_uid: r.uid(),
            rs_uid: r.uid(),
            svc_uid: r.uid(),
            sidecars: if d < 3 { 0 } else { r.below(3) as usize },
            cpu_m: *r.pick(&[50u64, 100, 250, 500, 1000]),
            mem_mi: *r.pick(&[64u64, 128, 256, 512, 1024]),
            ns,
            name,
            replicas,
            first_pod: next_pod,
            image,
        });
        next_pod += replicas;
        d += 1;
    }
    out
}

fn labels(w: &Workload) -> Value {
    json!({
        "app": w.name,
        "app.kubernetes.io/name": w.name,
        "app.kubernetes.io/part-of": w.ns,
        "pod-template-hash": w.hash,
    })
}

/// Generates the whole cluster as `(resource plural, object)` pairs, in creation order.
pub fn generate(spec: &ClusterSpec) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut push = |r: &str, v: Value| out.push((r.to_string(), v));
    for (i, ns) in namespace_names(spec).iter().enumerate() {
        let mut r = Rng::new(spec.seed, "ns", i as u64);
        push(
            "namespaces",
            json!({
                "metadata": {"name": ns, "uid": r.uid(),
                    "creationTimestamp": ts(90 * 86_400 - i as i64 * 3600),
                    "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }),
        );
    }
    for i in 0..spec.nodes {
        push("nodes", node(spec, i));
    }
    for (i, ns) in namespace_names(spec).iter().enumerate() {
        let mut r = Rng::new(spec.seed, "cm", i as u64);
        push(
            "configmaps",
            json!({
                "metadata": {"name": "kube-root-ca.crt", "namespace": ns, "uid": r.uid(),
                    "creationTimestamp": ts(90 * 86_400),
                    "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", r.hex(640))},
            }),
        );
        if ns.starts_with("team-") {
            push(
                "configmaps",
                json!({
                    "metadata": {"name": "app-config", "namespace": ns, "uid": r.uid(),
                        "creationTimestamp": ts(30 * 86_400), "labels": {"app.kubernetes.io/part-of": ns}},
                    "data": {"LOG_LEVEL": "info", "FEATURE_FLAGS": "checkout-v2,fast-search", "config.yaml": "server:\n  port: 8080\n  readTimeout: 30s\n"},
                }),
            );
            push(
                "secrets",
                json!({
                    "metadata": {"name": "db-credentials", "namespace": ns, "uid": r.uid(),
                        "creationTimestamp": ts(30 * 86_400)},
                    "type": "Opaque",
                    "data": {
                        "username": base64_encode(format!("{ns}-app").as_bytes()),
                        "password": base64_encode(format!("s3cr3t-{ns}-{}", r.hex(12)).as_bytes()),
                    },
                }),
            );
            push(
                "secrets",
                json!({
                    "metadata": {"name": "ingress-tls", "namespace": ns, "uid": r.uid(),
                        "creationTimestamp": ts(20 * 86_400),
                        "annotations": {"cert-manager.io/issuer-name": "letsencrypt"}},
                    "type": "kubernetes.io/tls",
                    "data": {
                        "tls.crt": base64_encode(format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", r.hex(400)).as_bytes()),
                        "tls.key": base64_encode(format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", r.hex(200)).as_bytes()),
                    },
                }),
            );
        }
    }
    let wls = workloads(spec);
    for w in &wls {
        let ready = (0..w.replicas)
            .filter(|j| pod_state(spec, w.first_pod + j) == PodState::Running)
            .count();
        push("deployments", deployment(w, ready));
        push("replicasets", replicaset(w, ready));
    }
    for w in &wls {
        for j in 0..w.replicas {
            push("pods", pod_for(spec, w, w.first_pod + j, 0));
        }
    }
    push(
        "services",
        json!({
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"},
                "creationTimestamp": ts(90 * 86_400)},
            "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP", "sessionAffinity": "None",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
            "status": {"loadBalancer": {}},
        }),
    );
    for (d, w) in wls.iter().enumerate() {
        push("services", service(w, d));
        push("endpointslices", endpointslice(spec, w, d));
    }
    out
}

/// [`generate`] plus every other kind kubestate watches by default (and the opt-in ones), all
/// consistent with the base cluster: the demo's cluster. [`generate`] alone stays the
/// benchmarks' workload, so their figures stay comparable with earlier runs.
pub fn generate_all_kinds(spec: &ClusterSpec) -> Vec<(String, Value)> {
    let mut out = generate(spec);
    let extra = all_kinds::generate(spec, &out);
    out.extend(extra);
    out
}

fn node(spec: &ClusterSpec, i: usize) -> Value {
    let mut r = Rng::new(spec.seed, "node", i as u64);
    let name = node_name(i);
    let zone = ZONES[i % ZONES.len()];
    let cp = i < control_planes(spec);
    let not_ready = !cp && i % 25 == 24;
    let cordoned = !cp && i % 25 == 12;
    let (cpu, mem_gi, itype) = *r.pick(&[
        (4u64, 16u64, "m6i.xlarge"),
        (8, 32, "m6i.2xlarge"),
        (16, 64, "m6i.4xlarge"),
    ]);
    let ip = format!("10.0.{}.{}", 16 * (i % 3) + i / 250, i % 250 + 10);
    let created = 90 * 86_400 - i as i64 * 600;
    let mut labels = json!({
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": itype, "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": "eu-west-1",
    });
    let mut taints = Vec::new();
    if cp {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
        taints
            .push(json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}));
    } else {
        labels["node-role.kubernetes.io/worker"] = json!("");
    }
    if not_ready {
        taints.push(json!({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": ts(600)}));
        taints.push(json!({"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ts(590)}));
    }
    if cordoned {
        taints.push(json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": ts(7200)}));
    }
    let heartbeat = ts(r.below(40) as i64);
    let cond = |t: &str, s: &str, reason: &str, msg: &str| {
        json!({"type": t, "status": s, "lastHeartbeatTime": heartbeat, "lastTransitionTime": ts(created - 60),
            "reason": reason, "message": msg})
    };
    let mut conditions = vec![
        cond(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        cond(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        cond(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        cond(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ];
    if not_ready {
        for c in conditions.iter_mut() {
            c["status"] = json!("Unknown");
            c["reason"] = json!("NodeStatusUnknown");
            c["message"] = json!("Kubelet stopped posting node status.");
            c["lastTransitionTime"] = json!(ts(600));
        }
    }
    let mut spec_v = json!({
        "podCIDR": format!("10.244.{i}.0/24"), "podCIDRs": [format!("10.244.{i}.0/24")],
        "providerID": format!("aws:///{zone}/i-0{}", r.hex(16)),
    });
    if !taints.is_empty() {
        spec_v["taints"] = json!(taints);
    }
    if cordoned {
        spec_v["unschedulable"] = json!(true);
    }
    let mem_ki = mem_gi * 1024 * 1024 - 3_400_000 + r.below(200_000);
    json!({
        "metadata": {"name": name, "uid": r.uid(), "creationTimestamp": ts(created), "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
            }},
        "spec": spec_v,
        "status": {
            "capacity": {"cpu": cpu.to_string(), "memory": format!("{mem_ki}Ki"), "pods": "110",
                "ephemeral-storage": "101430960Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0"},
            "allocatable": {"cpu": format!("{}m", cpu * 1000 - 90), "memory": format!("{}Ki", mem_ki - 1_048_576),
                "pods": "110", "ephemeral-storage": "93478772582", "hugepages-1Gi": "0", "hugepages-2Mi": "0"},
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": r.hex(32), "systemUUID": r.uid(), "bootID": r.uid(),
                "kernelVersion": "6.8.0-1021-aws", "osImage": "Ubuntu 24.04.1 LTS",
                "containerRuntimeVersion": "containerd://2.0.2", "kubeletVersion": "v1.37.2",
                "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
            },
            "images": [
                {"names": ["registry.k8s.io/pause@sha256:".to_string() + &r.hex(64), "registry.k8s.io/pause:3.10".to_string()], "sizeBytes": 320368},
            ],
        },
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PodState {
    Running,
    Pending,
    CrashLoop,
    Succeeded,
}

fn pod_state(spec: &ClusterSpec, i: usize) -> PodState {
    let mut r = Rng::new(spec.seed, "podstate", i as u64);
    match r.below(100) {
        0..=81 => PodState::Running,
        82..=88 => PodState::Pending,
        89..=95 => PodState::CrashLoop,
        _ => PodState::Succeeded,
    }
}

fn schedulable_node(spec: &ClusterSpec, r: &mut Rng) -> usize {
    let cp = control_planes(spec);
    if spec.nodes <= cp {
        return r.below(spec.nodes.max(1) as u64) as usize;
    }
    loop {
        let n = cp + r.below((spec.nodes - cp) as u64) as usize;
        if n % 25 != 24 && n % 25 != 12 {
            return n;
        }
        if spec.nodes - cp <= 2 {
            return n;
        }
    }
}

fn deployment(w: &Workload, ready: usize) -> Value {
    let mut status = json!({
        "observedGeneration": 1, "replicas": w.replicas, "updatedReplicas": w.replicas,
        "readyReplicas": ready, "availableReplicas": ready,
        "conditions": [
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": format!("ReplicaSet \"{}-{}\" has successfully progressed.", w.name, w.hash),
             "lastUpdateTime": ts(6 * 86_400), "lastTransitionTime": ts(30 * 86_400)},
            {"type": "Available", "status": if ready == w.replicas { "True" } else { "False" },
             "reason": if ready == w.replicas { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
             "message": if ready == w.replicas { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
             "lastUpdateTime": ts(3600), "lastTransitionTime": ts(3600)},
        ],
    });
    if ready < w.replicas {
        status["unavailableReplicas"] = json!(w.replicas - ready);
    }
    json!({
        "metadata": {"name": w.name, "namespace": w.ns, "uid": w.dep_uid, "creationTimestamp": ts(30 * 86_400),
            "labels": {"app": w.name, "app.kubernetes.io/name": w.name},
            "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": w.replicas,
            "selector": {"matchLabels": {"app": w.name}},
            "template": {"metadata": {"labels": {"app": w.name, "app.kubernetes.io/name": w.name}},
                "spec": {"containers": [{"name": w.name, "image": w.image,
                    "resources": {"requests": {"cpu": format!("{}m", w.cpu_m), "memory": format!("{}Mi", w.mem_mi)}}}]}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        },
        "status": status,
    })
}

fn replicaset(w: &Workload, ready: usize) -> Value {
    json!({
        "metadata": {"name": format!("{}-{}", w.name, w.hash), "namespace": w.ns, "uid": w.rs_uid,
            "creationTimestamp": ts(30 * 86_400), "labels": labels(w),
            "annotations": {"deployment.kubernetes.io/desired-replicas": w.replicas.to_string(),
                "deployment.kubernetes.io/max-replicas": (w.replicas + w.replicas.div_ceil(4)).to_string(),
                "deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name, "uid": w.dep_uid,
                "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": w.replicas,
            "selector": {"matchLabels": {"app": w.name, "pod-template-hash": w.hash}},
            "template": {"metadata": {"labels": labels(w)},
                "spec": {"containers": [{"name": w.name, "image": w.image}]}}},
        "status": {"replicas": w.replicas, "fullyLabeledReplicas": w.replicas, "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": 1},
    })
}

fn pod_ip(i: usize) -> String {
    format!("10.244.{}.{}", i / 250, i % 250 + 2)
}

/// The generated pod with global index `i` (`variant` > 0 varies restart counts, for churn).
fn pod_for(spec: &ClusterSpec, w: &Workload, i: usize, variant: u64) -> Value {
    pod_in_state(spec, w, i, variant, pod_state(spec, i))
}

/// [`pod_for`] with the state chosen by the caller (the extra kinds place pods deliberately).
fn pod_in_state(
    spec: &ClusterSpec,
    w: &Workload,
    i: usize,
    variant: u64,
    state: PodState,
) -> Value {
    let mut r = Rng::new(spec.seed, "pod", i as u64);
    let name = format!("{}-{}-{}", w.name, w.hash, r.chars(5));
    let node_i = schedulable_node(spec, &mut r);
    let node = node_name(node_i);
    let node_ip = format!(
        "10.0.{}.{}",
        16 * (node_i % 3) + node_i / 250,
        node_i % 250 + 10
    );
    let age = 3600 + r.below(20 * 86_400) as i64;
    let started = age - 5;
    let guaranteed = r.below(4) == 0;
    let mut containers = Vec::new();
    let mut statuses = Vec::new();
    let images: Vec<(String, String)> = std::iter::once((w.name.clone(), w.image.clone()))
        .chain(
            [
                ("envoy", "docker.io/envoyproxy/envoy:v1.31.2"),
                ("log-shipper", "cr.fluentbit.io/fluent/fluent-bit:3.1.9"),
            ]
            .iter()
            .take(w.sidecars)
            .map(|(a, b)| (a.to_string(), b.to_string())),
        )
        .collect();
    let token_vol = format!("kube-api-access-{}", r.chars(5));
    for (c, (cname, image)) in images.iter().enumerate() {
        let (cpu, mem) = if c == 0 {
            (w.cpu_m, w.mem_mi)
        } else {
            (50, 64)
        };
        let limits = if guaranteed {
            json!({"cpu": format!("{cpu}m"), "memory": format!("{mem}Mi")})
        } else {
            json!({"memory": format!("{}Mi", mem * 2)})
        };
        let mut container = json!({
            "name": cname, "image": image, "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": {"cpu": format!("{cpu}m"), "memory": format!("{mem}Mi")}, "limits": limits},
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
                {"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"containerName": cname, "divisor": "1", "resource": "limits.cpu"}}},
                {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.monitoring.svc:4317"},
            ],
            "volumeMounts": [{"name": token_vol, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        });
        if c > 0 {
            // Sidecars carry a shorter env.
            if let Some(env) = container["env"].as_array_mut() {
                env.truncate(2);
            }
        }
        if c == 0 {
            container["ports"] = json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]);
            container["readinessProbe"] = json!({"httpGet": {"path": "/readyz", "port": "http", "scheme": "HTTP"},
                "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3});
            container["livenessProbe"] = json!({"httpGet": {"path": "/livez", "port": "http", "scheme": "HTTP"},
                "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3});
        }
        containers.push(container);
        let image_id = format!(
            "{}@sha256:{}",
            image.split(':').next().unwrap_or(image),
            r.hex(64)
        );
        let container_id = format!("containerd://{}", r.hex(64));
        let restarts = r.below(3) + variant;
        let st = match state {
            PodState::Running => json!({
                "name": cname, "image": image, "imageID": image_id, "containerID": container_id,
                "ready": true, "started": true, "restartCount": restarts,
                "state": {"running": {"startedAt": ts(started)}}, "lastState": {},
            }),
            PodState::CrashLoop if c == 0 => json!({
                "name": cname, "image": image, "imageID": image_id, "containerID": container_id,
                "ready": false, "started": false, "restartCount": 5 + r.below(40) + variant,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                    "message": format!("back-off 5m0s restarting failed container={cname} pod={name}_{}({})", w.ns, "uid")}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "containerID": container_id,
                    "startedAt": ts(400), "finishedAt": ts(340)}},
            }),
            PodState::CrashLoop => json!({
                "name": cname, "image": image, "imageID": image_id, "containerID": container_id,
                "ready": true, "started": true, "restartCount": restarts,
                "state": {"running": {"startedAt": ts(started)}}, "lastState": {},
            }),
            PodState::Succeeded => json!({
                "name": cname, "image": image, "imageID": image_id, "containerID": container_id,
                "ready": false, "started": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "containerID": container_id,
                    "startedAt": ts(started), "finishedAt": ts(started - 120)}},
                "lastState": {},
            }),
            PodState::Pending => json!({
                "name": cname, "image": image, "imageID": "", "ready": false, "started": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
            }),
        };
        statuses.push(st);
    }
    let qos = if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    };
    let cond = |t: &str, s: &str| json!({"type": t, "status": s, "lastProbeTime": null, "lastTransitionTime": ts(started)});
    let mut pod_spec = json!({
        "containers": containers,
        "volumes": [{"name": token_vol, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default", "serviceAccount": "default", "securityContext": {},
        "schedulerName": "default-scheduler", "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
    });
    let status = match state {
        PodState::Pending => {
            json!({
                "phase": "Pending", "qosClass": qos,
                "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                    "lastTransitionTime": ts(started), "reason": "Unschedulable",
                    "message": format!("0/{} nodes are available: {} Insufficient cpu, {} node(s) had untolerated taint {{node-role.kubernetes.io/control-plane: }}. preemption: 0/{} nodes are available: {} No preemption victims found for incoming pod.",
                        spec.nodes, spec.nodes - control_planes(spec), control_planes(spec), spec.nodes, spec.nodes)}],
            })
        }
        _ => {
            pod_spec["nodeName"] = json!(node);
            let running = state != PodState::Succeeded;
            let ready = if state == PodState::Running {
                "True"
            } else {
                "False"
            };
            let mut st = json!({
                "phase": if running { "Running" } else { "Succeeded" },
                "conditions": [
                    cond("PodReadyToStartContainers", if running { "True" } else { "False" }),
                    cond("Initialized", "True"), cond("Ready", ready), cond("ContainersReady", ready),
                    cond("PodScheduled", "True"),
                ],
                "hostIP": node_ip, "hostIPs": [{"ip": node_ip}],
                "startTime": ts(age), "qosClass": qos, "containerStatuses": statuses,
            });
            if running {
                st["podIP"] = json!(pod_ip(i));
                st["podIPs"] = json!([{"ip": pod_ip(i)}]);
            }
            if ready == "False" {
                st["conditions"][2]["reason"] = json!(if running {
                    "ContainersNotReady"
                } else {
                    "PodCompleted"
                });
                st["conditions"][3]["reason"] = st["conditions"][2]["reason"].clone();
            }
            st
        }
    };
    json!({
        "metadata": {
            "name": name, "namespace": w.ns, "uid": r.uid(), "creationTimestamp": ts(age),
            "generateName": format!("{}-{}-", w.name, w.hash),
            "labels": labels(w),
            "annotations": {
                "kubectl.kubernetes.io/restartedAt": ts(age + 60),
                "prometheus.io/scrape": "true", "prometheus.io/port": "9090",
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{}-{}", w.name, w.hash),
                "uid": w.rs_uid, "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": pod_spec,
        "status": status,
    })
}

fn service(w: &Workload, d: usize) -> Value {
    let ip = format!("10.96.{}.{}", 1 + d / 250, d % 250 + 2);
    json!({
        "metadata": {"name": w.name, "namespace": w.ns, "uid": w.svc_uid, "creationTimestamp": ts(30 * 86_400),
            "labels": {"app": w.name, "app.kubernetes.io/name": w.name}},
        "spec": {"selector": {"app": w.name}, "type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
                {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": "metrics"}]},
        "status": {"loadBalancer": {}},
    })
}

fn endpointslice(spec: &ClusterSpec, w: &Workload, d: usize) -> Value {
    let mut r = Rng::new(spec.seed, "eps", d as u64);
    let mut endpoints = Vec::new();
    for j in 0..w.replicas {
        let i = w.first_pod + j;
        let state = pod_state(spec, i);
        if matches!(state, PodState::Pending | PodState::Succeeded) {
            continue;
        }
        let pod = pod_for(spec, w, i, 0);
        let ready = state == PodState::Running;
        endpoints.push(json!({
            "addresses": [pod_ip(i)],
            "conditions": {"ready": ready, "serving": ready, "terminating": false},
            "nodeName": pod["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "namespace": w.ns, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]},
            "zone": ZONES[node_index(&pod) % ZONES.len()],
        }));
    }
    json!({
        "metadata": {"name": format!("{}-{}", w.name, r.chars(5)), "namespace": w.ns, "uid": r.uid(),
            "creationTimestamp": ts(30 * 86_400), "generateName": format!("{}-", w.name),
            "labels": {"kubernetes.io/service-name": w.name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "app": w.name},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": w.name, "uid": w.svc_uid,
                "controller": true, "blockOwnerDeletion": true}]},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9090, "protocol": "TCP"}],
    })
}

fn node_index(pod: &Value) -> usize {
    pod["spec"]["nodeName"]
        .as_str()
        .and_then(|n| n.rsplit('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The `step`-th churn mutation: creates short-lived pods (`churn-N`), moves them
/// from Pending to Running, bumps restart counts of generated pods, and deletes
/// older churn pods. Deterministic; Delete may name a pod that no longer exists.
///
/// Recomputes the workload table on every call; callers that step many times
/// use [`Churner`], which yields the same sequence.
pub fn churn(spec: &ClusterSpec, step: u64) -> Mutation {
    Churner::new(spec).step(step)
}

/// The churn sequence of [`churn`], with the workload table computed once: that table
/// has one entry per deployment (about `pods / 3`), so rebuilding it per step capped
/// benchsim at about 20 mutations/s at 100k pods.
pub struct Churner {
    spec: ClusterSpec,
    /// Sorted by `first_pod`, covering pods `0..spec.pods` without gaps.
    wls: Vec<Workload>,
}

impl Churner {
    pub fn new(spec: &ClusterSpec) -> Churner {
        Churner {
            spec: spec.clone(),
            wls: workloads(spec),
        }
    }

    /// The workload owning generated pod `i` (`i < spec.pods`).
    fn workload_of(&self, i: usize) -> &Workload {
        let at = self.wls.partition_point(|w| w.first_pod + w.replicas <= i);
        let w = &self.wls[at];
        assert!(
            i >= w.first_pod && i < w.first_pod + w.replicas,
            "pod index belongs to a workload"
        );
        w
    }

    /// The `step`-th mutation of the sequence described at [`churn`].
    pub fn step(&self, step: u64) -> Mutation {
        let spec = &self.spec;
        let wls = &self.wls;
        let cycle = step / 4;
        let w = &wls[(cycle as usize) % wls.len()];
        let churn_pod = |k: u64, running: bool| {
            let base_i = w.first_pod;
            let mut pod = pod_for(spec, w, base_i, 0);
            pod["metadata"]["name"] = json!(format!("churn-{k}"));
            if let Some(m) = pod["metadata"].as_object_mut() {
                m.remove("uid");
                m.remove("creationTimestamp");
            }
            if !running {
                pod["status"] = json!({"phase": "Pending", "qosClass": pod["status"]["qosClass"],
                    "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": ts(0)}]});
            }
            pod
        };
        match step % 4 {
            0 => Mutation::Create("pods".into(), churn_pod(cycle, false)),
            1 => Mutation::Update("pods".into(), churn_pod(cycle, true)),
            2 if spec.pods > 0 => {
                let mut r = Rng::new(spec.seed, "churn", step);
                let i = r.below(spec.pods as u64) as usize;
                let w = self.workload_of(i);
                Mutation::Update("pods".into(), pod_for(spec, w, i, 1 + step / 4))
            }
            _ if cycle >= 3 => {
                let old = cycle - 3;
                let ow = &wls[(old as usize) % wls.len()];
                Mutation::Delete {
                    resource: "pods".into(),
                    namespace: Some(ow.ns.clone()),
                    name: format!("churn-{old}"),
                }
            }
            _ => Mutation::Update("pods".into(), churn_pod(cycle, true)),
        }
    }
}
