//! The deployment kit (`deploy/`) against kubestate itself: each variant's `rbac.yaml` is what
//! `kubestate rbac` prints for the args its workloads run with (stale → this fails, and
//! `KUBESTATE_BLESS=1 cargo test --test deploy_manifests` rewrites them), and the objects fit
//! together (account, bindings, selectors, ports, probes, versions). That they work against a
//! real API server is `tests/e2e/deploy.sh`.

#[path = "support/manifests.rs"]
mod manifests;

use kubestate::cli::Options;
use kubestate::rbac::Access;
use manifests::{build, container_args, pod_name, workloads, Object};
use serde_json::Value;
use std::path::{Path, PathBuf};

const VARIANTS: &[&str] = &[
    "standard",
    "autosharding",
    "daemonsetsharding",
    "auth-filter",
];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn variant(name: &str) -> Vec<Object> {
    build(&deploy_dir().join(name)).unwrap_or_else(|e| panic!("deploy/{name}: {e}"))
}

fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> &'a Object {
    objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// What `kubestate rbac` prints for the workloads of a variant, merged (they share one account).
fn expected_rbac(objects: &[Object]) -> String {
    let mut access = Access::default();
    for w in workloads(objects) {
        let args = container_args(w, &pod_name(w), "node-1");
        let opts = Options::parse(args.clone())
            .unwrap_or_else(|e| panic!("{} {}: args {args:?}: {e}", w.kind(), w.name()));
        access.merge(Access::for_options(&opts).unwrap());
    }
    access.to_yaml()
}

#[test]
fn each_variants_rbac_is_kubestate_rbac_for_its_args() {
    let mut stale = Vec::new();
    for v in VARIANTS {
        let want = expected_rbac(&variant(v));
        let path = deploy_dir().join(v).join("rbac.yaml");
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if std::env::var_os("KUBESTATE_BLESS").is_some() {
                std::fs::write(&path, &want).unwrap();
            } else {
                stale.push(format!(
                    "deploy/{v}/rbac.yaml:\n--- have\n{have}--- want\n{want}"
                ));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale RBAC (regenerate: KUBESTATE_BLESS=1 cargo test --test deploy_manifests):\n{}",
        stale.join("\n")
    );
}

#[test]
fn standard_single_command_rbac_matches_the_cli() {
    // The standard variant runs with no args: its rbac.yaml is plain `kubestate rbac`.
    let objects = variant("standard");
    let d = find(&objects, "Deployment", "kubestate");
    assert!(container_args(d, "x", "n").is_empty());
    let opts = Options::parse(Vec::<String>::new()).unwrap();
    assert_eq!(
        kubestate::rbac::render(&opts).unwrap(),
        std::fs::read_to_string(deploy_dir().join("standard/rbac.yaml")).unwrap()
    );
}

#[test]
fn deploy_root_is_the_standard_variant() {
    let ids = |objs: Vec<Object>| -> Vec<(String, String)> {
        let mut v: Vec<_> = objs
            .iter()
            .map(|o| (o.kind().to_string(), o.name().to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(build(&deploy_dir()).unwrap()), ids(variant("standard")));
}

fn labels(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn objects_fit_together() {
    let version = env!("CARGO_PKG_VERSION");
    for v in VARIANTS {
        let objects = variant(v);
        let ctx = |o: &Object| format!("deploy/{v}: {} {}", o.kind(), o.name());
        // Every object in kube-system (or cluster-scoped), labelled like KSM's examples.
        for o in &objects {
            if let Some(ns) = o.namespace() {
                assert_eq!(ns, "kube-system", "{}", ctx(o));
            }
            let l = &o.value["metadata"]["labels"];
            assert_eq!(l["app.kubernetes.io/component"], "exporter", "{}", ctx(o));
            assert_eq!(l["app.kubernetes.io/version"], version, "{}", ctx(o));
        }
        let sa = find(&objects, "ServiceAccount", "kubestate");
        assert_eq!(sa.value["automountServiceAccountToken"], false);
        let crb = find(&objects, "ClusterRoleBinding", "kubestate");
        assert_eq!(crb.value["roleRef"]["kind"], "ClusterRole");
        find(
            &objects,
            "ClusterRole",
            crb.value["roleRef"]["name"].as_str().unwrap(),
        );
        assert_eq!(crb.value["subjects"][0]["name"], "kubestate");
        assert_eq!(crb.value["subjects"][0]["namespace"], "kube-system");
        for rb in objects.iter().filter(|o| o.kind() == "RoleBinding") {
            let role = find(
                &objects,
                "Role",
                rb.value["roleRef"]["name"].as_str().unwrap(),
            );
            assert_eq!(role.namespace(), rb.namespace(), "{}", ctx(rb));
            assert_eq!(rb.value["subjects"][0]["name"], "kubestate");
        }
        let services: Vec<&Object> = objects.iter().filter(|o| o.kind() == "Service").collect();
        for w in workloads(&objects) {
            let spec = &w.value["spec"]["template"]["spec"];
            assert_eq!(spec["serviceAccountName"], "kubestate", "{}", ctx(w));
            assert_eq!(spec["automountServiceAccountToken"], true, "{}", ctx(w));
            let pod_labels = labels(&w.value["spec"]["template"]["metadata"]["labels"]);
            for (k, val) in labels(&w.value["spec"]["selector"]["matchLabels"]) {
                assert!(pod_labels.contains(&(k, val)), "{}: selector", ctx(w));
            }
            let c = &spec["containers"][0];
            assert_eq!(c["image"], format!("kubestate:{version}"), "{}", ctx(w));
            let ports: Vec<(u64, &str)> = c["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["containerPort"].as_u64().unwrap(),
                        p["name"].as_str().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                ports,
                [(8080, "http-metrics"), (8081, "telemetry")],
                "{}",
                ctx(w)
            );
            // KSM's probes: liveness on the main port, readiness on the telemetry port.
            assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
            assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http-metrics");
            assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
            assert_eq!(c["readinessProbe"]["httpGet"]["port"], "telemetry");
            let sc = &c["securityContext"];
            assert_eq!(sc["runAsUser"], 65534, "{}", ctx(w));
            assert_eq!(sc["runAsNonRoot"], true);
            assert_eq!(sc["readOnlyRootFilesystem"], true);
            assert_eq!(sc["allowPrivilegeEscalation"], false);
            assert_eq!(sc["capabilities"]["drop"][0], "ALL");
            // The args are flags kubestate accepts.
            let args = container_args(w, &pod_name(w), "node-1");
            Options::parse(args.clone()).unwrap_or_else(|e| panic!("{}: {args:?}: {e}", ctx(w)));
            // A Service selects this workload's pods and names both ports.
            let svc = services
                .iter()
                .find(|s| {
                    labels(&s.value["spec"]["selector"])
                        .iter()
                        .all(|l| pod_labels.contains(l))
                })
                .unwrap_or_else(|| panic!("{}: no Service selects its pods", ctx(w)));
            let names: Vec<&str> = svc.value["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["targetPort"].as_str().unwrap())
                .collect();
            assert_eq!(names, ["http-metrics", "telemetry"], "{}", ctx(svc));
            if w.kind() == "StatefulSet" {
                assert_eq!(w.value["spec"]["serviceName"], svc.name(), "{}", ctx(w));
            }
        }
    }
}

#[test]
fn variants_run_what_their_names_say() {
    let arg_sets = |v: &str| -> Vec<Vec<String>> {
        variant(v)
            .iter()
            .filter(|o| matches!(o.kind(), "Deployment" | "StatefulSet" | "DaemonSet"))
            .map(|w| container_args(w, &pod_name(w), "node-1"))
            .collect()
    };
    assert_eq!(
        arg_sets("autosharding"),
        [["--pod=kubestate-0", "--pod-namespace=kube-system"]]
    );
    assert_eq!(arg_sets("auth-filter"), [["--auth-filter"]]);
    let ds = arg_sets("daemonsetsharding");
    assert!(ds.contains(&vec!["--resources=pods".into(), "--node=node-1".into()]));
    assert!(ds.contains(&vec![
        "--resources=pods".into(),
        "--track-unscheduled-pods".into()
    ]));
    // Between them the per-node variant exports every default resource exactly once.
    let defaults = Options::parse(Vec::<String>::new()).unwrap().resources;
    let mut exported: Vec<String> = Vec::new();
    for args in &ds {
        let o = Options::parse(args.clone()).unwrap();
        if !args.iter().any(|a| a == "--track-unscheduled-pods") {
            exported.extend(o.resources);
        }
    }
    exported.sort();
    let mut want = defaults.clone();
    want.sort();
    assert_eq!(exported, want);
}
