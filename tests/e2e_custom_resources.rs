//! Custom resource state metrics through the real binary against the fake API server: a
//! `Widget` CRD discovered and watched, exact lines, a CRD that appears later, config reload
//! with built-in pod metrics served throughout, and start-up errors.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::fake_apiserver::{register_resource, FakeApiServer, FakeOptions, ResourceInfo};
use support::kubestate::{run_to_exit, Kubestate};

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-crs-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn widget(name: &str, size: Value, phase: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "default", "labels": {"app": "shop"}},
        "spec": {"size": size, "owner": "alice"},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True",
            "lastTransitionTime": "2026-01-02T03:04:05Z"}]}})
}

fn pod(name: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"}]},
        "status": {"phase": "Running"}})
}

const CONFIG: &str = r#"kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.io, version: v1, kind: Widget}
    labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
    metrics:
    - name: widget_size
      help: Requested size.
      each: {type: Gauge, gauge: {path: [spec, size], nilIsZero: true}}
    - name: widget_phase
      help: Current phase.
      each: {type: StateSet, stateSet: {path: [status, phase], labelName: phase, list: [Pending, Ready]}}
    - name: widget_ready_since
      help: When the widget became ready.
      each: {type: Gauge, gauge: {path: [status, conditions, "[type=Ready]", lastTransitionTime]}}
    - name: widget_info
      help: Widget owner.
      each: {type: Info, info: {labelsFromPath: {owner: [spec, owner]}}}
"#;

const B: &str = "customresource_group=\"example.io\",customresource_kind=\"Widget\",customresource_version=\"v1\"";

fn register_widgets() {
    register_resource(ResourceInfo {
        plural: "widgets",
        group: "example.io",
        version: "v1",
        kind: "Widget",
        namespaced: true,
    });
}

#[test]
fn widget_families_through_the_binary() {
    register_widgets();
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create("pods", pod("web-1"));
    fake.create("widgets", widget("w1", json!(3), "Ready"));
    fake.create("widgets", widget("w2", json!("not-a-number"), "Pending"));
    let dir = tmpdir("widgets");
    let kc = fake.write_kubeconfig(&dir);
    let ks = Kubestate::start(
        &kc,
        &[
            "--resources=pods",
            &format!("--custom-resource-state-config={CONFIG}"),
        ],
    );
    let body = ks.wait_scrape(Duration::from_secs(20), "widget families", |b| {
        b.contains("kube_customresource_widget_info{")
    });
    let want = [
        "# HELP kube_customresource_widget_size Requested size.".to_string(),
        "# TYPE kube_customresource_widget_size gauge".to_string(),
        format!("kube_customresource_widget_size{{{B},name=\"w1\",namespace=\"default\"}} 3"),
        format!("kube_customresource_widget_phase{{{B},name=\"w1\",namespace=\"default\",phase=\"Ready\"}} 1"),
        format!("kube_customresource_widget_phase{{{B},name=\"w2\",namespace=\"default\",phase=\"Pending\"}} 1"),
        format!("kube_customresource_widget_phase{{{B},name=\"w2\",namespace=\"default\",phase=\"Ready\"}} 0"),
        format!("kube_customresource_widget_ready_since{{{B},name=\"w1\",namespace=\"default\"}} 1.767323045e+09"),
        format!("kube_customresource_widget_info{{{B},name=\"w1\",namespace=\"default\",owner=\"alice\"}} 1"),
        "# TYPE kube_customresource_widget_info gauge".to_string(),
    ];
    for w in &want {
        assert!(body.lines().any(|l| l == w), "missing {w:?} in\n{body}");
    }
    // w2's size does not convert: no sample, counted
    assert!(!body.contains("widget_size{customresource_group=\"example.io\",customresource_kind=\"Widget\",customresource_version=\"v1\",name=\"w2\""));
    // CRS writer sorted in by its GVR name: "example.io/v1, Resource=widgets" < "pods"
    let crs_at = body.find("# HELP kube_customresource_widget_size").unwrap();
    let pods_at = body.find("# HELP kube_pod_info").unwrap();
    assert!(crs_at < pods_at);
    // ?exclude_resources= of a built-in name keeps the CRS writer
    let only = String::from_utf8(ks.get("/metrics?exclude_resources=pods", &[]).2).unwrap();
    assert!(only.contains("kube_customresource_widget_size{") && !only.contains("kube_pod_info{"));
    let om = String::from_utf8(
        ks.get(
            "/metrics",
            &[("Accept", "application/openmetrics-text; version=1.0.0")],
        )
        .2,
    )
    .unwrap();
    assert!(
        om.contains("# TYPE kube_customresource_widget_phase stateset\n"),
        "{om}"
    );
    assert!(om.contains("# TYPE kube_customresource_widget_info info\n"));
    let tel = ks.telemetry();
    assert!(
        tel.contains("kubestate_custom_resource_errors_total{resource=\"example.io/v1, Resource=widgets\",metric=\"kube_customresource_widget_size\"} "),
        "{tel}"
    );
    assert!(
        tel.contains("kube_state_metrics_custom_resource_state_cache 1\n"),
        "{tel}"
    );
    assert!(
        tel.contains("kube_state_metrics_list_total{resource=\"*unstructured.Unstructured\"")
            || tel
                .contains("kube_state_metrics_watch_total{resource=\"*unstructured.Unstructured\""),
        "{tel}"
    );
    // events flow: an update and a delete show up
    fake.update("widgets", widget("w1", json!(5), "Ready"));
    fake.delete("widgets", Some("default"), "w2");
    ks.wait_scrape(Duration::from_secs(10), "update and delete", |b| {
        b.contains(&format!(
            "kube_customresource_widget_size{{{B},name=\"w1\",namespace=\"default\"}} 5\n"
        )) && !b.contains("name=\"w2\"")
    });
}

#[test]
fn crd_installed_later_is_picked_up_while_pods_are_served() {
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create("pods", pod("web-1"));
    let dir = tmpdir("late");
    let kc = fake.write_kubeconfig(&dir);
    let cfg = CONFIG
        .replace("example.io", "late.example.io")
        .replace("Widget", "Gizmo");
    let ks = Kubestate::start(
        &kc,
        &[
            "--resources=pods",
            &format!("--custom-resource-state-config={cfg}"),
        ],
    );
    ks.wait_scrape(Duration::from_secs(10), "pods", |b| {
        b.contains("kube_pod_info{")
    });
    ks.wait_for(Duration::from_secs(10), || {
        ks.logs()
            .contains("custom resource not available, retrying")
    })
    .unwrap_or_else(|| panic!("no retry logged:\n{}", ks.logs()));
    register_resource(ResourceInfo {
        plural: "gizmos",
        group: "late.example.io",
        version: "v1",
        kind: "Gizmo",
        namespaced: true,
    });
    fake.create("gizmos", widget("g1", json!(7), "Ready"));
    ks.wait_scrape(Duration::from_secs(20), "gizmo after CRD install", |b| {
        b.contains("kube_customresource_widget_size{customresource_group=\"late.example.io\",customresource_kind=\"Gizmo\",customresource_version=\"v1\",name=\"g1\",namespace=\"default\"} 7\n")
            && b.contains("kube_pod_info{")
    });
}

#[test]
fn config_file_reload_adds_family_without_touching_pods() {
    register_widgets();
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create("pods", pod("web-1"));
    fake.create("widgets", widget("r1", json!(2), "Ready"));
    let dir = tmpdir("reload");
    let kc = fake.write_kubeconfig(&dir);
    let file = dir.join("crs.yaml");
    let first: String = CONFIG
        .split("    - name: widget_phase")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&file, &first).unwrap();
    let ks = Kubestate::start(
        &kc,
        &[
            "--resources=pods",
            &format!("--custom-resource-state-config-file={}", file.display()),
            "--custom-resource-state-poll-ms=200",
        ],
    );
    let body = ks.wait_scrape(Duration::from_secs(20), "first config", |b| {
        b.contains("kube_customresource_widget_size{") && b.contains("kube_pod_info{")
    });
    assert!(!body.contains("widget_phase"));
    // an invalid rewrite is rejected and the running config stays
    std::fs::write(&file, "spec:\n  resources:\n  - groupVersionKind: {group: example.io, version: v1, kind: Widget}\n    metrics:\n    - name: x\n      each: {type: Gauge, gauge: {path: [\"[bad]\"]}}\n").unwrap();
    ks.wait_for(Duration::from_secs(10), || {
        ks.logs().contains("custom resource state config rejected")
    })
    .unwrap_or_else(|| panic!("rejection not logged:\n{}", ks.logs()));
    assert!(ks
        .telemetry()
        .contains("kube_state_metrics_last_config_reload_successful{filename="));
    assert!(ks.scrape().contains("kube_customresource_widget_size{"));
    // the full config: the new family appears; pods served at every scrape on the way
    std::fs::write(&file, CONFIG).unwrap();
    let mut scrapes = 0;
    ks.wait_for(Duration::from_secs(20), || {
        let b = ks.scrape();
        scrapes += 1;
        assert!(
            b.contains("kube_pod_info{"),
            "pod metrics missing during reload:\n{b}"
        );
        b.contains("kube_customresource_widget_phase{")
            && b.contains("kube_customresource_widget_size{")
    })
    .unwrap_or_else(|| panic!("reloaded family never appeared:\n{}", ks.logs()));
    assert!(scrapes >= 1);
    assert!(ks.logs().contains("custom resource state config reloaded"));
}

#[test]
fn sighup_reloads_the_config_file_at_once() {
    register_widgets();
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create("pods", pod("web-1"));
    fake.create("widgets", widget("r2", json!(3), "Ready"));
    let dir = tmpdir("sighup");
    let kc = fake.write_kubeconfig(&dir);
    let file = dir.join("crs.yaml");
    let first: String = CONFIG
        .split("    - name: widget_phase")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&file, &first).unwrap();
    // polling is slowed to ten minutes: only SIGHUP can make the change visible in time
    let ks = Kubestate::start(
        &kc,
        &[
            "--resources=pods",
            &format!("--custom-resource-state-config-file={}", file.display()),
            "--custom-resource-state-poll-ms=600000",
        ],
    );
    ks.wait_scrape(Duration::from_secs(20), "first config", |b| {
        b.contains("kube_customresource_widget_size{")
    });
    std::fs::write(&file, CONFIG).unwrap();
    ks.signal("HUP");
    ks.wait_scrape(Duration::from_secs(20), "reloaded on SIGHUP", |b| {
        b.contains("kube_customresource_widget_phase{") && b.contains("kube_pod_info{")
    });
}

#[test]
fn invalid_config_stops_startup_with_exit_2() {
    let (code, err) = run_to_exit(&[
        "--kubeconfig=/nonexistent",
        "--custom-resource-state-config=spec:\n  resources:\n  - groupVersionKind: {group: example.io, version: v1, kind: Widget}\n    metrics:\n    - name: ready\n      each: {type: Gauge, gauge: {path: [status, conditions, \"[Ready]\"]}}\n",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("resource example.io_v1_Widget, metric ready, each.gauge.path"),
        "{err}"
    );
    assert!(err.contains("invalid list lookup: [Ready]"), "{err}");
    let (code, err) = run_to_exit(&[
        "--kubeconfig=/nonexistent",
        "--custom-resource-state-config-file=/nonexistent/crs.yaml",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot read custom resource state config /nonexistent/crs.yaml"),
        "{err}"
    );
}

#[test]
fn custom_resource_state_only_drops_builtin_resources() {
    register_widgets();
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create("pods", pod("only-1"));
    fake.create("widgets", widget("o1", json!(1), "Ready"));
    let dir = tmpdir("only");
    let kc = fake.write_kubeconfig(&dir);
    let ks = Kubestate::start(
        &kc,
        &[
            "--resources=pods",
            "--custom-resource-state-only",
            &format!("--custom-resource-state-config={CONFIG}"),
        ],
    );
    let body = ks.wait_scrape(Duration::from_secs(20), "widgets", |b| {
        b.contains("kube_customresource_widget_size{")
    });
    assert!(!body.contains("kube_pod_"), "{body}");
}

fn crd(plural: &str, group: &str, kind: &str, versions: &[(&str, bool)]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|(v, served)| json!({"name": v, "served": served, "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}))
        .collect();
    json!({"metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced", "versions": versions,
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind, "listKind": format!("{kind}List")}}})
}

#[test]
fn wildcard_kinds_follow_the_crds_as_they_come_and_go() {
    register_resource(ResourceInfo {
        plural: "customresourcedefinitions",
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        namespaced: false,
    });
    for (plural, kind) in [("sprockets", "Sprocket"), ("cogs", "Cog")] {
        register_resource(ResourceInfo {
            plural,
            group: "wild.example.io",
            version: "v1",
            kind,
            namespaced: true,
        });
    }
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create("pods", pod("web-1"));
    fake.create(
        "customresourcedefinitions",
        crd(
            "sprockets",
            "wild.example.io",
            "Sprocket",
            &[("v1", true), ("v0", false)],
        ),
    );
    // Another group's CRD must not match.
    fake.create(
        "customresourcedefinitions",
        crd("widgets", "example.io", "Widget", &[("v1", true)]),
    );
    fake.create("sprockets", widget("s1", json!(2), "Ready"));
    fake.create("cogs", widget("c1", json!(9), "Ready"));
    let dir = tmpdir("wildcard");
    let kc = fake.write_kubeconfig(&dir);
    let cfg = r#"spec:
  resources:
  - groupVersionKind: {group: wild.example.io, version: "*", kind: "*"}
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: part_size
      help: Size of a part.
      each: {type: Gauge, gauge: {path: [spec, size]}}
"#;
    let ks = Kubestate::start(
        &kc,
        &[
            "--resources=pods",
            &format!("--custom-resource-state-config={cfg}"),
        ],
    );
    let sprocket = "kube_customresource_part_size{customresource_group=\"wild.example.io\",customresource_kind=\"Sprocket\",customresource_version=\"v1\",name=\"s1\"} 2\n";
    let cog = "kube_customresource_part_size{customresource_group=\"wild.example.io\",customresource_kind=\"Cog\",customresource_version=\"v1\",name=\"c1\"} 9\n";
    let body = ks.wait_scrape(Duration::from_secs(20), "sprockets via the CRD", |b| {
        b.contains(sprocket)
    });
    assert!(!body.contains("Cog"), "no CRD for cogs yet:\n{body}");
    assert!(
        !body.contains("customresource_version=\"v0\""),
        "v0 is not served"
    );
    assert!(!body.contains("kube_customresource_part_size{customresource_group=\"example.io\""));

    // A CRD installed later: its kind is picked up; the family header appears once.
    fake.create(
        "customresourcedefinitions",
        crd("cogs", "wild.example.io", "Cog", &[("v1", true)]),
    );
    let body = ks.wait_scrape(Duration::from_secs(20), "cogs after the CRD", |b| {
        b.contains(cog) && b.contains(sprocket)
    });
    assert_eq!(
        body.matches("# HELP kube_customresource_part_size Size of a part.\n")
            .count(),
        1,
        "{body}"
    );
    assert_eq!(
        body.matches("# TYPE kube_customresource_part_size gauge\n")
            .count(),
        1
    );

    // The Sprocket CRD goes: its series go, the Cog ones and the pods stay.
    fake.delete(
        "customresourcedefinitions",
        None,
        "sprockets.wild.example.io",
    );
    let body = ks.wait_scrape(Duration::from_secs(20), "sprockets removed", |b| {
        !b.contains("Sprocket") && b.contains(cog)
    });
    assert!(body.contains("kube_pod_info{"));
    assert!(
        ks.logs()
            .contains("custom resource no longer served by any CRD"),
        "{}",
        ks.logs()
    );
}
