//! The demo's simulated cluster (`cluster_gen::generate_all_kinds`, what `bench/demo.sh`
//! serves) against the real binary: its objects are what kube-apiserver serves (they survive a
//! round trip through k8s-openapi's types unchanged) and reference each other consistently,
//! every default resource has objects at the path kubestate watches, kubestate starts without
//! a warning, and every family of every default resource has samples, but for the documented
//! exceptions.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::cluster_gen::{generate_all_kinds, ClusterSpec};
use support::fake_apiserver::{resource_info, FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

/// Families of default resources that no object of a consistent cluster can make appear,
/// and why. Each must indeed have no sample (the test fails otherwise, so the list stays
/// true).
const NO_SAMPLE: &[(&str, &str)] = &[(
    "kube_cronjob_schedule_invalid",
    "kube-apiserver rejects a CronJob whose schedule or time zone does not parse (create and \
     update validation), so every CronJob it serves has a valid schedule",
)];

fn spec() -> ClusterSpec {
    ClusterSpec {
        nodes: 10,
        pods: 200,
        namespaces: 8,
        seed: 1,
    }
}

fn default_resources() -> Vec<&'static str> {
    kubestate::metrics::builtin::defaults()
}

/// Drops nulls (Go's `omitempty` and k8s-openapi's `Option::None` both leave them out).
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The first path where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &format!("{path}.{k}")),
                (p, q) => Some(format!("{path}.{k}: generated {p:?}, round trip {q:?}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: generated {a}, round trip {b}")),
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
    obj: &Value,
) -> Result<Value, String> {
    let typed: T = serde_json::from_value(obj.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Decodes `obj` as the k8s-openapi (v1.37) type of `resource` and encodes it again.
fn typed_round_trip(resource: &str, obj: &Value) -> Result<Value, String> {
    use k8s_openapi::api::*;
    match resource {
        "pods" => round_trip::<core::v1::Pod>(obj),
        "nodes" => round_trip::<core::v1::Node>(obj),
        "namespaces" => round_trip::<core::v1::Namespace>(obj),
        "services" => round_trip::<core::v1::Service>(obj),
        "endpoints" => round_trip::<core::v1::Endpoints>(obj),
        "configmaps" => round_trip::<core::v1::ConfigMap>(obj),
        "secrets" => round_trip::<core::v1::Secret>(obj),
        "persistentvolumes" => round_trip::<core::v1::PersistentVolume>(obj),
        "persistentvolumeclaims" => round_trip::<core::v1::PersistentVolumeClaim>(obj),
        "serviceaccounts" => round_trip::<core::v1::ServiceAccount>(obj),
        "resourcequotas" => round_trip::<core::v1::ResourceQuota>(obj),
        "limitranges" => round_trip::<core::v1::LimitRange>(obj),
        "replicationcontrollers" => round_trip::<core::v1::ReplicationController>(obj),
        "deployments" => round_trip::<apps::v1::Deployment>(obj),
        "replicasets" => round_trip::<apps::v1::ReplicaSet>(obj),
        "statefulsets" => round_trip::<apps::v1::StatefulSet>(obj),
        "daemonsets" => round_trip::<apps::v1::DaemonSet>(obj),
        "jobs" => round_trip::<batch::v1::Job>(obj),
        "cronjobs" => round_trip::<batch::v1::CronJob>(obj),
        "endpointslices" => round_trip::<discovery::v1::EndpointSlice>(obj),
        "ingresses" => round_trip::<networking::v1::Ingress>(obj),
        "ingressclasses" => round_trip::<networking::v1::IngressClass>(obj),
        "networkpolicies" => round_trip::<networking::v1::NetworkPolicy>(obj),
        "horizontalpodautoscalers" => round_trip::<autoscaling::v2::HorizontalPodAutoscaler>(obj),
        "poddisruptionbudgets" => round_trip::<policy::v1::PodDisruptionBudget>(obj),
        "leases" => round_trip::<coordination::v1::Lease>(obj),
        "storageclasses" => round_trip::<storage::v1::StorageClass>(obj),
        "volumeattachments" => round_trip::<storage::v1::VolumeAttachment>(obj),
        "certificatesigningrequests" => {
            round_trip::<certificates::v1::CertificateSigningRequest>(obj)
        }
        "roles" => round_trip::<rbac::v1::Role>(obj),
        "rolebindings" => round_trip::<rbac::v1::RoleBinding>(obj),
        "clusterroles" => round_trip::<rbac::v1::ClusterRole>(obj),
        "clusterrolebindings" => round_trip::<rbac::v1::ClusterRoleBinding>(obj),
        "mutatingwebhookconfigurations" => {
            round_trip::<admissionregistration::v1::MutatingWebhookConfiguration>(obj)
        }
        "validatingwebhookconfigurations" => {
            round_trip::<admissionregistration::v1::ValidatingWebhookConfiguration>(obj)
        }
        "mutatingadmissionpolicies" => {
            round_trip::<admissionregistration::v1::MutatingAdmissionPolicy>(obj)
        }
        "mutatingadmissionpolicybindings" => {
            round_trip::<admissionregistration::v1::MutatingAdmissionPolicyBinding>(obj)
        }
        "validatingadmissionpolicies" => {
            round_trip::<admissionregistration::v1::ValidatingAdmissionPolicy>(obj)
        }
        "validatingadmissionpolicybindings" => {
            round_trip::<admissionregistration::v1::ValidatingAdmissionPolicyBinding>(obj)
        }
        other => Err(format!("no k8s-openapi type mapped for {other}")),
    }
}

#[test]
fn generated_objects_are_what_the_api_server_serves() {
    let objects = generate_all_kinds(&spec());
    let mut kinds = BTreeSet::new();
    for (resource, obj) in &objects {
        let info = resource_info(resource).expect("the fake API server serves it");
        kinds.insert(resource.as_str());
        let mut full = obj.clone();
        full["apiVersion"] = json!(info.api_version());
        full["kind"] = json!(info.kind);
        let full = without_nulls(&full);
        let name = format!(
            "{resource} {}/{}",
            obj["metadata"]["namespace"].as_str().unwrap_or(""),
            obj["metadata"]["name"].as_str().unwrap_or("")
        );
        let back = typed_round_trip(resource, &full)
            .unwrap_or_else(|e| panic!("{name} does not decode as its API type: {e}"));
        if let Some(d) = first_difference(&full, &back, "") {
            panic!("{name}: a field the API type does not have, or a different value: {d}");
        }
    }
    // Every kind kubestate knows, opt-in ones included, has objects.
    for r in kubestate::metrics::builtin::names() {
        assert!(kinds.contains(r), "no generated {r}");
    }
    // Names are unique per kind and namespace, as the API server enforces.
    let mut seen = BTreeSet::new();
    for (resource, obj) in &objects {
        let key = (
            resource.clone(),
            obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            obj["metadata"]["name"].as_str().unwrap_or("").to_string(),
        );
        assert!(seen.insert(key.clone()), "duplicate {key:?}");
    }
}

/// What points at another object names one that exists (and, where the reference carries
/// it, with that uid): owners, nodes, claims and volumes, service backends, webhook services,
/// policies of bindings, roles of role bindings; quota usage counts the namespace's pods.
#[test]
fn generated_cluster_is_consistent() {
    let objects = generate_all_kinds(&spec());
    let meta = |o: &Value, f: &str| o["metadata"][f].as_str().unwrap_or("").to_string();
    // (resource, namespace, name) -> uid
    let mut index = std::collections::BTreeMap::new();
    for (r, o) in &objects {
        index.insert(
            (r.clone(), meta(o, "namespace"), meta(o, "name")),
            meta(o, "uid"),
        );
    }
    let exists =
        |r: &str, ns: &str, name: &str| index.contains_key(&(r.into(), ns.into(), name.into()));
    let uid_of =
        |r: &str, ns: &str, name: &str| index.get(&(r.into(), ns.into(), name.into())).cloned();
    let plural_of = |kind: &str| {
        kubestate::metrics::BUILTIN
            .iter()
            .map(|b| b.api)
            .find(|a| a.kind == kind)
            .map(|a| (a.plural, a.namespaced))
            .unwrap_or_else(|| panic!("unknown owner kind {kind}"))
    };
    let str_of = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    for (r, o) in &objects {
        let ns = meta(o, "namespace");
        let me = format!("{r} {ns}/{}", meta(o, "name"));
        if !ns.is_empty() {
            check(exists("namespaces", "", &ns), format!("{me}: no namespace"));
        }
        for owner in o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (plural, namespaced) = plural_of(owner["kind"].as_str().unwrap_or(""));
            let ons = if namespaced { ns.as_str() } else { "" };
            let name = str_of(&owner["name"]);
            check(
                uid_of(plural, ons, &name).as_deref() == owner["uid"].as_str(),
                format!("{me}: owner {plural} {name} missing or another uid"),
            );
        }
        match r.as_str() {
            "pods" => {
                let spec = &o["spec"];
                if let Some(n) = spec["nodeName"].as_str() {
                    check(exists("nodes", "", n), format!("{me}: on unknown node {n}"));
                }
                for v in spec["volumes"].as_array().into_iter().flatten() {
                    if let Some(c) = v["persistentVolumeClaim"]["claimName"].as_str() {
                        check(
                            exists("persistentvolumeclaims", &ns, c),
                            format!("{me}: no claim {c}"),
                        );
                    }
                }
                let sa = str_of(&spec["serviceAccountName"]);
                let terminating_ns = objects.iter().any(|(r, n)| {
                    r == "namespaces"
                        && meta(n, "name") == ns
                        && n["status"]["phase"] == "Terminating"
                });
                check(
                    terminating_ns || exists("serviceaccounts", &ns, &sa),
                    format!("{me}: no service account {sa}"),
                );
            }
            "persistentvolumeclaims" => {
                if let Some(pv) = o["spec"]["volumeName"].as_str() {
                    let bound = objects.iter().any(|(r, v)| {
                        r == "persistentvolumes"
                            && meta(v, "name") == pv
                            && v["spec"]["claimRef"]["uid"].as_str() == Some(&meta(o, "uid"))
                    });
                    check(bound, format!("{me}: volume {pv} not bound back to it"));
                }
                let sc = str_of(&o["spec"]["storageClassName"]);
                check(
                    exists("storageclasses", "", &sc),
                    format!("{me}: no storage class {sc}"),
                );
            }
            "persistentvolumes" if o["status"]["phase"] == "Bound" => {
                let c = &o["spec"]["claimRef"];
                check(
                    uid_of(
                        "persistentvolumeclaims",
                        &str_of(&c["namespace"]),
                        &str_of(&c["name"]),
                    )
                    .as_deref()
                        == c["uid"].as_str(),
                    format!("{me}: bound to a missing claim"),
                );
            }
            "volumeattachments" => {
                let pv = str_of(&o["spec"]["source"]["persistentVolumeName"]);
                check(
                    exists("persistentvolumes", "", &pv),
                    format!("{me}: no volume {pv}"),
                );
                let n = str_of(&o["spec"]["nodeName"]);
                check(exists("nodes", "", &n), format!("{me}: no node {n}"));
            }
            "endpointslices" => {
                let svc = str_of(&o["metadata"]["labels"]["kubernetes.io/service-name"]);
                check(
                    exists("services", &ns, &svc),
                    format!("{me}: no service {svc}"),
                );
                for ep in o["endpoints"].as_array().into_iter().flatten() {
                    let t = &ep["targetRef"];
                    if t.is_object() {
                        let name = str_of(&t["name"]);
                        check(
                            uid_of("pods", &ns, &name).as_deref() == t["uid"].as_str(),
                            format!("{me}: endpoint for missing pod {name}"),
                        );
                    }
                }
            }
            "horizontalpodautoscalers" => {
                let t = str_of(&o["spec"]["scaleTargetRef"]["name"]);
                check(
                    exists("deployments", &ns, &t),
                    format!("{me}: no target {t}"),
                );
            }
            "ingresses" => {
                let class = str_of(&o["spec"]["ingressClassName"]);
                check(
                    exists("ingressclasses", "", &class),
                    format!("{me}: no class {class}"),
                );
                for rule in o["spec"]["rules"].as_array().into_iter().flatten() {
                    for path in rule["http"]["paths"].as_array().into_iter().flatten() {
                        let svc = str_of(&path["backend"]["service"]["name"]);
                        check(
                            exists("services", &ns, &svc),
                            format!("{me}: no backend {svc}"),
                        );
                    }
                }
                for tls in o["spec"]["tls"].as_array().into_iter().flatten() {
                    let sec = str_of(&tls["secretName"]);
                    check(
                        exists("secrets", &ns, &sec),
                        format!("{me}: no TLS secret {sec}"),
                    );
                }
            }
            "mutatingwebhookconfigurations" | "validatingwebhookconfigurations" => {
                for wh in o["webhooks"].as_array().into_iter().flatten() {
                    let s = &wh["clientConfig"]["service"];
                    let (sns, name) = (str_of(&s["namespace"]), str_of(&s["name"]));
                    check(
                        exists("services", &sns, &name),
                        format!("{me}: no service {sns}/{name}"),
                    );
                }
            }
            "validatingadmissionpolicybindings" | "mutatingadmissionpolicybindings" => {
                let policy = str_of(&o["spec"]["policyName"]);
                let plural = r.trim_end_matches("bindings").to_string() + "ies";
                let plural = plural.replace("policyies", "policies");
                check(
                    exists(&plural, "", &policy),
                    format!("{me}: no policy {policy}"),
                );
            }
            "rolebindings" | "clusterrolebindings" => {
                let rr = &o["roleRef"];
                let name = str_of(&rr["name"]);
                let ok = if rr["kind"] == "Role" {
                    exists("roles", &ns, &name)
                } else {
                    exists("clusterroles", "", &name)
                };
                check(ok, format!("{me}: no role {name}"));
            }
            "cronjobs" => {
                for a in o["status"]["active"].as_array().into_iter().flatten() {
                    let name = str_of(&a["name"]);
                    check(
                        uid_of("jobs", &ns, &name).as_deref() == a["uid"].as_str(),
                        format!("{me}: active job {name} missing"),
                    );
                }
            }
            "statefulsets" => {
                let svc = str_of(&o["spec"]["serviceName"]);
                let terminating = o["metadata"].get("deletionTimestamp").is_some();
                check(
                    terminating || exists("services", &ns, &svc),
                    format!("{me}: no service {svc}"),
                );
            }
            "leases" if ns == "kube-node-lease" => {
                check(
                    exists("nodes", "", &meta(o, "name")),
                    format!("{me}: lease of no node"),
                );
            }
            "resourcequotas" => {
                let pods = objects
                    .iter()
                    .filter(|(r, p)| {
                        r == "pods"
                            && meta(p, "namespace") == ns
                            && !matches!(
                                p["status"]["phase"].as_str(),
                                Some("Succeeded" | "Failed")
                            )
                    })
                    .count();
                check(
                    o["status"]["used"]["pods"] == json!(pods.to_string()),
                    format!(
                        "{me}: used pods {} but {pods} pods run",
                        o["status"]["used"]["pods"]
                    ),
                );
            }
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "inconsistent:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_default_resource_syncs_without_warnings_and_every_family_has_samples() {
    let fake = FakeApiServer::start(FakeOptions::default());
    for (resource, obj) in generate_all_kinds(&spec()) {
        fake.create(&resource, obj);
    }
    // Served at the group/version kubestate watches, with objects.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    for r in default_resources() {
        let api = kubestate::metrics::builtin::by_name(r)
            .expect("known resource")
            .api;
        let url = format!("{}{}", fake.url(), api.collection_path(None));
        let mut resp = agent.get(&url).call().expect("GET collection");
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        let text = resp.body_mut().read_to_string().expect("list body");
        let list: Value = serde_json::from_str(&text).expect("list JSON");
        assert!(
            list["items"].as_array().is_some_and(|i| !i.is_empty()),
            "{url} serves no {r}"
        );
    }

    // Labels and annotations families only have samples for allowlisted keys, opt-in
    // families only when opted in: ask for all of them.
    let catalog: Vec<(&str, Vec<kubestate::metrics::family::FamilyDef>)> =
        kubestate::metrics::catalog()
            .into_iter()
            .filter(|(r, _)| default_resources().contains(r))
            .collect();
    let opt_in: Vec<&str> = catalog
        .iter()
        .flat_map(|(_, fs)| fs.iter().filter(|f| f.opt_in).map(|f| f.name))
        .collect();
    assert!(!opt_in.is_empty());
    let opt_in_flag = format!("--metric-opt-in-list={}", opt_in.join(","));
    let dir = std::env::temp_dir().join(format!("kubestate-e2e-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--metric-labels-allowlist=*=[*]",
            "--metric-annotations-allowlist=*=[*]",
            &opt_in_flag,
        ],
    );
    ks.wait_ready();
    let logs = ks.logs();
    for r in default_resources() {
        assert!(
            logs.contains(&format!("msg=synced resource={r} ")),
            "{r} never synced; log:\n{logs}"
        );
    }
    let noisy: Vec<&str> = logs
        .lines()
        .filter(|l| !l.contains(" level=info ") && !l.contains(" level=debug "))
        .collect();
    assert!(noisy.is_empty(), "warnings at start:\n{}", noisy.join("\n"));

    let body = ks.scrape();
    let sampled: BTreeSet<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let mut missing = Vec::new();
    for (resource, families) in &catalog {
        for f in families {
            let excepted = NO_SAMPLE.iter().any(|(n, _)| *n == f.name);
            match (sampled.contains(f.name), excepted) {
                (false, false) => missing.push(format!("{resource}: {}", f.name)),
                (true, true) => panic!("{} has samples now: drop it from NO_SAMPLE", f.name),
                _ => {}
            }
        }
    }
    assert!(
        missing.is_empty(),
        "families without a sample:\n{}",
        missing.join("\n")
    );
    // The excepted families are still declared (their HELP/TYPE is served).
    for (name, _) in NO_SAMPLE {
        assert!(
            body.contains(&format!("# TYPE {name} ")),
            "{name} not served"
        );
    }

    // And the whole exposition passes promtool's lint (no duplicate series, valid names).
    let (ok, text) = support::kubestate::promtool_check_metrics(&body);
    assert!(ok && text.trim().is_empty(), "promtool: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}
