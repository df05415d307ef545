//! The real binary through API server outages (the fake server answering every request
//! with 503 or 429 and cutting its watch streams): what it costs the failing server, and
//! that everything written meanwhile shows once it is back. How fast it shows is measured by
//! `bench/outage.sh`, not asserted here.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "kubestate-e2e-outage-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn pod(name: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx:1.27"}]},
        "status": {"phase": "Running"}
    })
}

/// Four resources, synced and watching.
fn cluster_and_kubestate(name: &str) -> (FakeApiServer, Kubestate) {
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create(
        "namespaces",
        json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}}),
    );
    fake.create(
        "nodes",
        json!({"metadata": {"name": "node-1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    fake.create("pods", pod("before"));
    fake.create(
        "deployments",
        json!({"metadata": {"name": "web", "namespace": "default"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}}),
    );
    let dir = tmpdir(name);
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--resources=pods,nodes,namespaces,deployments"],
    );
    ks.wait_ready();
    // past the initial-events streams, on the four plain watches
    let plain_watches = || {
        fake.requests()
            .iter()
            .filter(|r| r.contains("watch=true") && !r.contains("sendInitialEvents"))
            .count()
    };
    ks.wait_for(Duration::from_secs(10), || plain_watches() >= 4)
        .unwrap_or_else(|| panic!("four watches; log:\n{}", ks.logs()));
    assert!(fake.wait_for_watches(4, Duration::from_secs(10)));
    (fake, ks)
}

fn has_pod(body: &str, name: &str) -> bool {
    body.contains(&format!(
        "kube_pod_info{{namespace=\"default\",pod=\"{name}\""
    ))
}

#[test]
fn a_twenty_second_outage_is_probed_gently_and_what_changed_shows_after_it() {
    let (fake, ks) = cluster_and_kubestate("503");
    fake.begin_outage(503, None);
    std::thread::sleep(Duration::from_secs(10));
    fake.create("pods", pod("born-in-outage"));
    std::thread::sleep(Duration::from_secs(10));
    let during = fake.outage_requests();
    fake.end_outage();
    ks.wait_scrape(
        Duration::from_secs(40),
        "the pod created during the outage",
        |b| has_pod(b, "born-in-outage") && has_pod(b, "before"),
    );
    // kube-state-metrics v2.20.0 sent 28 in the same outage, each reflector on its own
    assert!(
        (3..=14).contains(&during),
        "{during} requests during the outage; log:\n{}",
        ks.logs()
    );
    let logs = ks.logs();
    assert_eq!(
        logs.matches("lost the API server").count(),
        1,
        "one outage, reported once:\n{logs}"
    );
    assert!(logs.contains("API server serving again"), "{logs}");
    // every resource is back on its watch
    assert!(fake.wait_for_watches(4, Duration::from_secs(20)), "{logs}");
}

#[test]
fn throttling_without_retry_after_is_no_tight_loop() {
    let (fake, ks) = cluster_and_kubestate("429");
    fake.begin_outage(429, Some(0));
    std::thread::sleep(Duration::from_secs(8));
    let during = fake.outage_requests();
    fake.end_outage();
    // one probe about every 2 s; a retry loop would send thousands
    assert!(
        during <= 6,
        "{during} requests in 8 s of 429s; log:\n{}",
        ks.logs()
    );
    fake.create("pods", pod("after"));
    ks.wait_scrape(Duration::from_secs(30), "recovery", |b| has_pod(b, "after"));
}

#[test]
fn retry_after_spaces_the_probes() {
    let (fake, ks) = cluster_and_kubestate("retry-after");
    fake.begin_outage(503, Some(5));
    std::thread::sleep(Duration::from_secs(12));
    let during = fake.outage_requests();
    fake.end_outage();
    // first probe at ~1 s, then every 5 s as asked (every ~2 s would be 6)
    assert!(
        (1..=3).contains(&during),
        "{during} requests in 12 s with Retry-After: 5; log:\n{}",
        ks.logs()
    );
    fake.create("pods", pod("after"));
    ks.wait_scrape(Duration::from_secs(30), "recovery", |b| has_pod(b, "after"));
}
