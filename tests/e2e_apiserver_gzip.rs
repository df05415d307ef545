//! Compressed responses from the API server, end to end: the real binary against the fake
//! API server, which compresses as kube-apiserver 1.37 does (LISTs over 128 KiB, WatchList
//! streams one gzip member per flush). The metrics are the same with compression on and
//! off; a watch event in a gzip stream arrives without waiting for later bytes; a corrupt
//! gzip member fails that request once, with the resource and reason, and the watch
//! recovers with nothing lost.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-apigz-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn pod(name: &str) -> Value {
    json!({
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"app": "web", "tier": "frontend", "team": "payments"},
            "annotations": {"example.com/owner": "team-payments@example.com"}
        },
        "spec": {"nodeName": "node-1", "containers": [
            {"name": "app", "image": "registry.example.com/payments/web:1.27.3",
             "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}
        ]},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "hostIP": "192.168.0.1"}
    })
}

/// Enough pods for a LIST response well over kube-apiserver's 128 KiB gzip threshold.
fn fake_with_pods(opts: FakeOptions, n: usize) -> FakeApiServer {
    let fake = FakeApiServer::start(opts);
    for i in 0..n {
        fake.create("pods", pod(&format!("web-{i}")));
    }
    fake
}

fn has_pod(scrape: &str, name: &str) -> bool {
    scrape.contains(&format!(
        "kube_pod_info{{namespace=\"default\",pod=\"{name}\""
    ))
}

/// `kubestate_apiserver_{received,decoded}_bytes_total` of pods.
fn pod_bytes(ks: &Kubestate) -> (u64, u64) {
    let t = ks.telemetry();
    let value = |family: &str| {
        let prefix = format!("{family}{{resource=\"pods\"}} ");
        t.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{family} missing\n{t}")) as u64
    };
    (
        value("kubestate_apiserver_received_bytes_total"),
        value("kubestate_apiserver_decoded_bytes_total"),
    )
}

/// The scrape without the lines that legitimately differ between two runs (none in
/// kube_pod_* for a fixed set of pods), sorted.
fn pod_lines(scrape: &str) -> Vec<String> {
    let mut v: Vec<String> = scrape
        .lines()
        .filter(|l| l.starts_with("kube_pod_"))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn same_metrics_with_compression_on_and_off_for_list_and_watch_list() {
    let fake = fake_with_pods(FakeOptions::default(), 400);
    let dir = tmpdir("same");
    let kubeconfig = fake.write_kubeconfig(&dir);
    // the kubeconfig's cluster field turns it off as client-go does
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let off_kubeconfig = dir.join("off.kubeconfig");
    std::fs::write(
        &off_kubeconfig,
        text.replace(
            "  cluster:\n",
            "  cluster:\n    disable-compression: true\n",
        ),
    )
    .unwrap();
    let mut reference: Option<Vec<String>> = None;
    for sync in ["list", "watch-list"] {
        let initial_sync = format!("--initial-sync={sync}");
        let runs: [(&str, &std::path::Path, &[&str], bool); 3] = [
            ("on", &kubeconfig, &[], true),
            (
                "--disable-compression",
                &kubeconfig,
                &["--disable-compression"],
                false,
            ),
            (
                "kubeconfig disable-compression",
                &off_kubeconfig,
                &[],
                false,
            ),
        ];
        for (what, kc, extra, compressed) in runs {
            let mut args = vec!["--resources=pods", initial_sync.as_str()];
            args.extend_from_slice(extra);
            let ks = Kubestate::start(kc, &args);
            ks.wait_ready();
            let scrape = ks.scrape();
            assert!(has_pod(&scrape, "web-399"), "{sync} {what}\n{}", ks.logs());
            let lines = pod_lines(&scrape);
            match &reference {
                None => reference = Some(lines),
                Some(r) => assert!(r == &lines, "{sync} {what}: metrics differ"),
            }
            let (wire, decoded) = pod_bytes(&ks);
            assert!(decoded > 128 * 1024, "{sync} {what}: {decoded}");
            if compressed {
                // level-2 gzip of repetitive pod JSON: far under half
                assert!(wire * 3 < decoded, "{sync} {what}: {wire} of {decoded}");
            } else {
                assert_eq!(wire, decoded, "{sync} {what}");
            }
        }
    }
    // the fake's own switch: a server that does not compress
    fake.set_compression(false);
    let ks = Kubestate::start(&kubeconfig, &["--resources=pods"]);
    ks.wait_ready();
    assert_eq!(pod_lines(&ks.scrape()), reference.unwrap());
    let (wire, decoded) = pod_bytes(&ks);
    assert_eq!(wire, decoded);
}

/// The initial-events-end bookmark ends a gzip member after which the server is silent
/// (no bookmark for a minute): the sync must complete from that member alone.
#[test]
fn a_watch_list_stream_in_gzip_is_decoded_without_waiting_for_more_bytes() {
    let fake = fake_with_pods(
        FakeOptions {
            bookmark_interval: Duration::from_secs(60),
            ..FakeOptions::default()
        },
        400,
    );
    let dir = tmpdir("stream");
    let started = Instant::now();
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--resources=pods", "--initial-sync=watch-list"],
    );
    ks.wait_ready();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        ks.logs().contains("mode=watch-list objects=400"),
        "{}",
        ks.logs()
    );
    let (wire, decoded) = pod_bytes(&ks);
    assert!(wire * 3 < decoded, "the WatchList stream was not gzip");
    // a plain WATCH follows (kube-apiserver compresses only WatchList streams)
    fake.create("pods", pod("late"));
    ks.wait_scrape(Duration::from_secs(5), "late", |b| has_pod(b, "late"));
}

#[test]
fn a_corrupt_gzip_member_fails_that_sync_once_and_it_recovers_whole() {
    let fake = fake_with_pods(FakeOptions::default(), 400);
    let dir = tmpdir("corrupt");
    // the first member of the WatchList stream is corrupt
    fake.inject_corrupt_gzip_member("pods");
    let mut ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--resources=pods", "--initial-sync=watch-list"],
    );
    ks.wait_ready();
    let scrape = ks.scrape();
    for i in [0, 199, 399] {
        assert!(has_pod(&scrape, &format!("web-{i}")), "{}", ks.logs());
    }
    let failed: Vec<String> = ks
        .logs()
        .lines()
        .filter(|l| l.contains("failed") && l.contains("resource=pods"))
        .map(str::to_string)
        .collect();
    assert_eq!(failed.len(), 1, "{}", ks.logs());
    assert!(failed[0].contains("corrupt gzip"), "{}", failed[0]);
    // bad data, not an outage: the health gate was not involved
    assert!(!ks.logs().contains("lost the API server"), "{}", ks.logs());
    // the synced store holds exactly the server's pods, once each
    let infos = scrape
        .lines()
        .filter(|l| l.starts_with("kube_pod_info{"))
        .count();
    assert_eq!(infos, 400);
    assert!(!ks.logs().contains("panicked"), "{}", ks.logs());
    assert_eq!(ks.exit_status(), None, "process must survive");
}
