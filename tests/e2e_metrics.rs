//! The real binary against the fake API server: exact lines, convergence after deletes,
//! dropped watches with compaction, gzip, promtool, credentials, throttling, pagination,
//! WatchList and its fallback, malformed events, flag errors.

mod support;

use serde_json::{json, Value};
use std::io::Read;
use std::time::{Duration, Instant};
use support::cluster_gen::{generate, ClusterSpec};
use support::exposition::assert_same_exposition;
use support::fake_apiserver::{FakeApiServer, FakeOptions, WatchListMode};
use support::kubestate::{run_to_exit, Kubestate};

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn pod(ns: &str, name: &str, phase: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx:1.27",
            "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]},
        "status": {"phase": phase, "podIP": "10.0.0.5", "hostIP": "192.168.0.1",
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 3, "image": "nginx:1.27",
                "imageID": "docker-pullable://nginx@sha256:abc", "containerID": "containerd://123",
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}
    })
}

fn node(name: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"node-role.kubernetes.io/worker": ""}},
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "3800m", "memory": "7Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.0.1"}],
            "nodeInfo": {"kernelVersion": "6.1", "osImage": "Debian", "containerRuntimeVersion": "containerd://1.7",
                "kubeletVersion": "v1.37.2", "kubeProxyVersion": "", "machineID": "", "systemUUID": "u-1",
                "bootID": "", "operatingSystem": "linux", "architecture": "amd64"}}
    })
}

fn lines_with<'a>(body: &'a str, prefix: &str) -> Vec<&'a str> {
    body.lines().filter(|l| l.starts_with(prefix)).collect()
}

fn fake_with_basics(opts: FakeOptions) -> FakeApiServer {
    let fake = FakeApiServer::start(opts);
    fake.create(
        "namespaces",
        json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}}),
    );
    fake.create("nodes", node("node-1"));
    fake.create("pods", pod("default", "web-1", "Running"));
    fake.create("pods", pod("default", "web-2", "Running"));
    fake
}

#[test]
fn exact_lines_for_the_four_resources() {
    let fake = fake_with_basics(FakeOptions::default());
    fake.create(
        "deployments",
        json!({"metadata": {"name": "web", "namespace": "default", "generation": 4},
               "spec": {"replicas": 3, "paused": false, "selector": {"matchLabels": {"app": "web"}},
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}},
               "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 3, "observedGeneration": 4}}),
    );
    let dir = tmpdir("exact");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--metric-labels-allowlist=pods=[app]"],
    );
    ks.wait_ready();
    let body = ks.scrape();
    let uid = fake.get("pods", Some("default"), "web-1").expect("pod")["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_string();
    let id = format!("namespace=\"default\",pod=\"web-1\",uid=\"{uid}\"");
    for want in [
        format!("kube_pod_status_phase{{{id},phase=\"Running\"}} 1"),
        format!("kube_pod_status_phase{{{id},phase=\"Pending\"}} 0"),
        format!("kube_pod_container_status_restarts_total{{{id},container=\"app\"}} 3"),
        format!("kube_pod_container_resource_requests{{{id},container=\"app\",node=\"node-1\",resource=\"cpu\",unit=\"core\"}} 0.25"),
        format!("kube_pod_container_resource_requests{{{id},container=\"app\",node=\"node-1\",resource=\"memory\",unit=\"byte\"}} 6.7108864e+07"),
        format!("kube_pod_labels{{{id},label_app=\"web\"}} 1"),
        "kube_node_status_capacity{node=\"node-1\",resource=\"memory\",unit=\"byte\"} 8.589934592e+09".to_string(),
        "kube_node_status_allocatable{node=\"node-1\",resource=\"cpu\",unit=\"core\"} 3.8".to_string(),
        "kube_node_status_condition{node=\"node-1\",condition=\"Ready\",status=\"true\"} 1".to_string(),
        "kube_node_role{node=\"node-1\",role=\"worker\"} 1".to_string(),
        "kube_namespace_status_phase{namespace=\"default\",phase=\"Active\"} 1".to_string(),
        "kube_deployment_spec_replicas{namespace=\"default\",deployment=\"web\"} 3".to_string(),
        "kube_deployment_status_replicas_ready{namespace=\"default\",deployment=\"web\"} 2".to_string(),
        "kube_deployment_spec_strategy_rollingupdate_max_unavailable{namespace=\"default\",deployment=\"web\"} 0".to_string(),
        "kube_deployment_spec_strategy_rollingupdate_max_surge{namespace=\"default\",deployment=\"web\"} 1".to_string(),
        "# HELP kube_pod_container_status_restarts_total [STABLE] The number of container restarts per container.".to_string(),
        "# TYPE kube_pod_container_status_restarts_total counter".to_string(),
    ] {
        assert!(body.lines().any(|l| l == want), "missing line:\n{want}\nin:\n{}", &body[..body.len().min(4000)]);
    }
    // resources in alphabetical order: deployments, namespaces, nodes, pods
    let pos = |p: &str| body.find(p).unwrap_or_else(|| panic!("{p} missing"));
    assert!(pos("# HELP kube_deployment_") < pos("# HELP kube_namespace_"));
    assert!(pos("# HELP kube_namespace_") < pos("# HELP kube_node_"));
    assert!(pos("# HELP kube_node_") < pos("# HELP kube_pod_"));
}

#[test]
fn deleting_an_object_removes_its_lines_within_a_second_and_empty_resources_have_no_headers() {
    let fake = fake_with_basics(FakeOptions::default());
    let dir = tmpdir("delete");
    let ks = Kubestate::start(&fake.write_kubeconfig(&dir), &[]);
    ks.wait_ready();
    let body = ks.scrape();
    assert!(body.contains("pod=\"web-1\""));
    assert!(
        !body.contains("# HELP kube_deployment_"),
        "no deployments, so no deployment headers"
    );
    fake.delete("pods", Some("default"), "web-1");
    let deleted = Instant::now();
    ks.wait_scrape(Duration::from_secs(1), "web-1 gone", |b| {
        !b.contains("pod=\"web-1\"") && b.contains("pod=\"web-2\"")
    });
    assert!(deleted.elapsed() <= Duration::from_secs(1));
    fake.delete("pods", Some("default"), "web-2");
    ks.wait_scrape(Duration::from_secs(1), "pod headers gone", |b| {
        !b.contains("# HELP kube_pod_") && b.contains("# HELP kube_node_")
    });
}

fn dropped_watch_then_compaction_converges(mode: &str) {
    let fake = fake_with_basics(FakeOptions::default());
    let dir = tmpdir(&format!("compact-{mode}"));
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[&format!("--initial-sync={mode}")],
    );
    ks.wait_ready();
    ks.wait_scrape(Duration::from_secs(5), "both pods", |b| {
        b.contains("pod=\"web-1\"") && b.contains("pod=\"web-2\"")
    });
    assert!(fake.wait_for_watches(4, Duration::from_secs(5)));
    // while kubestate is disconnected: a deletion, an addition, then the history is compacted
    fake.drop_watches();
    fake.delete("pods", Some("default"), "web-1");
    fake.create("pods", pod("default", "web-3", "Pending"));
    fake.compact();
    let body = ks.wait_scrape(Duration::from_secs(15), "relisted state", |b| {
        !b.contains("pod=\"web-1\"") && b.contains("pod=\"web-2\"") && b.contains("pod=\"web-3\"")
    });
    assert!(lines_with(
        &body,
        "kube_pod_status_phase{namespace=\"default\",pod=\"web-3\""
    )
    .iter()
    .any(|l| l.ends_with("phase=\"Pending\"} 1")));
    assert!(
        ks.logs().contains("relisting") || ks.logs().contains("expired"),
        "{}",
        ks.logs()
    );
    // the watch resumes after the relist: a later change still arrives
    fake.delete("pods", Some("default"), "web-2");
    ks.wait_scrape(Duration::from_secs(5), "web-2 gone after resume", |b| {
        !b.contains("pod=\"web-2\"")
    });
}

#[test]
fn dropped_watch_and_compaction_converge_with_watch_list() {
    dropped_watch_then_compaction_converges("watch-list");
}

#[test]
fn dropped_watch_and_compaction_converge_with_list() {
    dropped_watch_then_compaction_converges("list");
}

#[test]
fn gzip_decompresses_to_the_plain_body_and_openmetrics_ends_in_eof() {
    let fake = fake_with_basics(FakeOptions::default());
    let dir = tmpdir("gzip");
    let ks = Kubestate::start(&fake.write_kubeconfig(&dir), &["--enable-gzip-encoding"]);
    ks.wait_ready();
    let (_, _, plain) = ks.get("/metrics", &[]);
    let (status, headers, zipped) = ks.get("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "gzip"));
    let mut unzipped = Vec::new();
    flate2::read::MultiGzDecoder::new(&zipped[..])
        .read_to_end(&mut unzipped)
        .expect("gzip body");
    assert_same_exposition(&unzipped, &plain, "gzip body");
    let (_, headers, om) = ks.get(
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        )],
    );
    assert!(headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type")
            && v.starts_with("application/openmetrics-text")));
    let om = String::from_utf8(om).expect("utf8");
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("# TYPE kube_pod_container_status_restarts counter\n"));
    // without the flag no gzip, whatever the client asks
    let ks2 = Kubestate::start(&fake.write_kubeconfig(&dir), &[]);
    ks2.wait_ready();
    let (_, headers, _) = ks2.get("/metrics", &[("Accept-Encoding", "gzip")]);
    assert!(!headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-encoding")));
}

/// The value of the sample `series` (name and labels as written) in `body`.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn gunzip(zipped: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(zipped)
        .read_to_end(&mut out)
        .expect("gzip body");
    out
}

#[test]
fn gzip_members_settle_smaller_and_the_cache_is_bounded_and_reported() {
    let fake = FakeApiServer::start(FakeOptions::default());
    for (resource, obj) in generate(&ClusterSpec {
        nodes: 10,
        pods: 600,
        namespaces: 4,
        seed: 11,
    }) {
        fake.create(&resource, obj);
    }
    let dir = tmpdir("gzip-settle");
    let ks = Kubestate::start(&fake.write_kubeconfig(&dir), &["--enable-gzip-encoding"]);
    ks.wait_ready();
    let gz = [("Accept-Encoding", "gzip")];
    let tel = ks.telemetry();
    assert_eq!(
        sample(&tel, "kubestate_gzip_cache_bytes"),
        Some(0.0),
        "{tel}"
    );
    assert_eq!(
        sample(&tel, "kubestate_gzip_cache_limit_bytes"),
        Some((64u64 << 20) as f64)
    );
    let (_, _, fast) = ks.get("/metrics", &gz);
    let (_, _, plain) = ks.get("/metrics", &[]);
    assert_same_exposition(&gunzip(&fast), &plain, "fast members");
    let tel = ks.telemetry();
    assert!(sample(&tel, "kubestate_gzip_cache_misses_total").unwrap() >= 1.0);
    assert!(sample(&tel, "kubestate_gzip_cache_bytes").unwrap() > 0.0);
    // quiet for a second: the settler recompresses what was scraped, and the response shrinks
    let mut settled = Vec::new();
    ks.wait_for(Duration::from_secs(20), || {
        settled = ks.get("/metrics", &gz).2;
        settled.len() < fast.len()
    })
    .unwrap_or_else(|| panic!("never settled smaller:\n{}", ks.telemetry()));
    assert_same_exposition(&gunzip(&settled), &plain, "settled members");
    let tel = ks.telemetry();
    assert!(
        sample(&tel, "kubestate_gzip_settled_total").unwrap() >= 1.0,
        "{tel}"
    );
    let (hits, misses) = (
        sample(&tel, "kubestate_gzip_cache_hits_total").unwrap(),
        sample(&tel, "kubestate_gzip_cache_misses_total").unwrap(),
    );
    let (_, _, warm) = ks.get("/metrics", &gz);
    assert_same_exposition(&gunzip(&warm), &plain, "warm members");
    let tel = ks.telemetry();
    assert!(sample(&tel, "kubestate_gzip_cache_hits_total").unwrap() > hits);
    assert_eq!(
        sample(&tel, "kubestate_gzip_cache_misses_total").unwrap(),
        misses,
        "a warm scrape compresses nothing"
    );
    let cached = sample(&tel, "kubestate_gzip_cache_bytes").unwrap();
    assert!(cached > 0.0 && cached <= fast.len() as f64, "{cached}");
    // a change: the next gzip scrape is the new body
    fake.create("pods", pod("default", "gz-new", "Pending"));
    let plain = ks.wait_scrape(Duration::from_secs(10), "new pod", |b| {
        b.contains("pod=\"gz-new\"")
    });
    let (_, _, after) = ks.get("/metrics", &gz);
    assert_same_exposition(&gunzip(&after), plain.as_bytes(), "after a change");

    // --gzip-cache-max-mb=0: nothing kept, every gzip scrape still whole
    let ks0 = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--enable-gzip-encoding", "--gzip-cache-max-mb=0"],
    );
    ks0.wait_ready();
    let (_, _, plain) = ks0.get("/metrics", &[]);
    for _ in 0..2 {
        let (_, _, z) = ks0.get("/metrics", &gz);
        assert_same_exposition(&gunzip(&z), &plain, "nothing cached");
    }
    let tel = ks0.telemetry();
    assert_eq!(
        sample(&tel, "kubestate_gzip_cache_bytes"),
        Some(0.0),
        "{tel}"
    );
    assert_eq!(sample(&tel, "kubestate_gzip_cache_limit_bytes"), Some(0.0));
    assert!(sample(&tel, "kubestate_gzip_cache_misses_total").unwrap() >= 2.0);
    assert!(
        sample(
            &tel,
            "kubestate_gzip_cache_evictions_total{reason=\"limit\"}"
        )
        .unwrap()
            > 0.0
    );
    // without gzip encoding there is no cache to report
    let plain_only = Kubestate::start(&fake.write_kubeconfig(&dir), &[]);
    plain_only.wait_ready();
    assert!(!plain_only.telemetry().contains("kubestate_gzip_"));
}

#[test]
fn promtool_finds_no_problem_in_a_full_scrape() {
    let fake = FakeApiServer::start(FakeOptions::default());
    for (resource, obj) in generate(&ClusterSpec {
        nodes: 10,
        pods: 200,
        namespaces: 4,
        seed: 7,
    }) {
        fake.create(&resource, obj);
    }
    let dir = tmpdir("promtool");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--metric-labels-allowlist=*=[*]",
            "--metric-annotations-allowlist=pods=[*]",
        ],
    );
    ks.wait_ready();
    let body = ks.scrape();
    assert!(
        body.lines()
            .filter(|l| l.starts_with("kube_pod_info{"))
            .count()
            >= 200
    );
    let (ok, text) = support::kubestate::promtool_check_metrics(&body);
    assert!(ok && text.trim().is_empty(), "promtool: {text}");
}

#[test]
fn rejected_credentials_are_reported_and_recovered_from() {
    let fake = fake_with_basics(FakeOptions {
        token: Some("right".into()),
        ..FakeOptions::default()
    });
    fake.set_token(Some("rotated"));
    let dir = tmpdir("auth");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user:\n    token: right\n",
            fake.url()
        ),
    )
    .expect("write kubeconfig");
    let ks = Kubestate::start(&kubeconfig, &[]);
    ks.wait_for(Duration::from_secs(10), || ks.logs().contains("401"))
        .unwrap_or_else(|| panic!("no 401 in log:\n{}", ks.logs()));
    assert!(ks.logs().contains("credentials rejected"), "{}", ks.logs());
    assert_eq!(ks.get("/readyz", &[]).0, 503);
    // the server starts accepting the token again: kubestate recovers by itself
    fake.set_token(Some("right"));
    ks.wait_ready();
}

#[test]
fn too_many_requests_honours_retry_after() {
    let fake = fake_with_basics(FakeOptions::default());
    fake.fail_next(1, 429, Some(2));
    let dir = tmpdir("429");
    let started = Instant::now();
    let ks = Kubestate::start(&fake.write_kubeconfig(&dir), &["--resources=nodes"]);
    ks.wait_ready();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "retried before Retry-After elapsed"
    );
    assert!(ks.logs().contains("429"), "{}", ks.logs());
}

#[test]
fn list_mode_paginates_with_limit_and_continue() {
    let fake = FakeApiServer::start(FakeOptions {
        max_page: Some(7),
        ..FakeOptions::default()
    });
    for i in 0..30 {
        fake.create("pods", pod("default", &format!("p-{i}"), "Running"));
    }
    let dir = tmpdir("pages");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--resources=pods", "--initial-sync=list"],
    );
    ks.wait_ready();
    let body = ks.scrape();
    assert_eq!(lines_with(&body, "kube_pod_info{").len(), 30);
    let reqs = fake.requests();
    let lists: Vec<_> = reqs
        .iter()
        .filter(|r| r.contains("/pods?") && !r.contains("watch="))
        .collect();
    assert!(lists.len() >= 5, "{lists:?}");
    assert!(
        lists.iter().skip(1).all(|r| r.contains("continue=")),
        "{lists:?}"
    );
    assert!(lists.iter().all(|r| r.contains("limit=500")), "{lists:?}");
    assert!(!reqs.iter().any(|r| r.contains("sendInitialEvents")));
}

#[test]
fn watch_list_streams_initial_state_and_falls_back_when_rejected() {
    // supported: no LIST at all
    let fake = fake_with_basics(FakeOptions::default());
    let dir = tmpdir("wl");
    let ks = Kubestate::start(&fake.write_kubeconfig(&dir), &["--resources=pods"]);
    ks.wait_ready();
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.contains("sendInitialEvents=true")
            && r.contains("resourceVersionMatch=NotOlderThan")));
    assert!(!fake
        .requests()
        .iter()
        .any(|r| r.contains("/pods?") && !r.contains("watch=")));
    assert!(ks
        .telemetry()
        .contains("kubestate_initial_sync_mode{resource=\"pods\",mode=\"watch-list\"} 1"));
    drop(ks);

    for mode in [WatchListMode::Rejected, WatchListMode::Ignored] {
        let fake = fake_with_basics(FakeOptions {
            watch_list: mode,
            ..FakeOptions::default()
        });
        let ks = Kubestate::start(
            &fake.write_kubeconfig(&dir),
            &["--resources=pods", "--watch-list-idle-timeout-ms=700"],
        );
        ks.wait_ready();
        assert_eq!(lines_with(&ks.scrape(), "kube_pod_info{").len(), 2);
        assert!(ks
            .telemetry()
            .contains("kubestate_initial_sync_mode{resource=\"pods\",mode=\"list\"} 1"));
        let fallbacks = ks.logs().matches("using LIST from now on").count();
        assert_eq!(fallbacks, 1, "{}", ks.logs());
        // remembered: a forced relist uses LIST again, not another WatchList attempt
        let before = fake
            .requests()
            .iter()
            .filter(|r| r.contains("sendInitialEvents"))
            .count();
        fake.drop_watches();
        fake.delete("pods", Some("default"), "web-1");
        fake.compact();
        ks.wait_scrape(Duration::from_secs(15), "web-1 gone", |b| {
            !b.contains("pod=\"web-1\"")
        });
        let after = fake
            .requests()
            .iter()
            .filter(|r| r.contains("sendInitialEvents"))
            .count();
        assert_eq!(before, after, "fallback was not remembered");
    }
}

#[test]
fn malformed_watch_event_is_logged_and_state_converges() {
    let fake = fake_with_basics(FakeOptions::default());
    let dir = tmpdir("malformed");
    let mut ks = Kubestate::start(&fake.write_kubeconfig(&dir), &["--resources=pods"]);
    ks.wait_ready();
    assert!(fake.wait_for_watches(1, Duration::from_secs(5)));
    fake.inject_malformed_watch_line("pods");
    fake.create("pods", pod("default", "web-9", "Running"));
    ks.wait_scrape(
        Duration::from_secs(10),
        "web-9 after malformed event",
        |b| b.contains("pod=\"web-9\""),
    );
    assert!(ks.logs().contains("malformed"), "{}", ks.logs());
    assert_eq!(ks.exit_status(), None, "process must survive");
}

#[test]
fn bad_flags_exit_with_code_2_and_one_clear_line() {
    for (args, needle) in [
        (vec!["--resources=pods,foos"], "unknown resource \"foos\""),
        (
            vec![
                "--metric-allowlist=kube_pod_(",
                "--apiserver=http://127.0.0.1:1",
            ],
            "invalid regular expression",
        ),
        (
            vec![
                "--metric-allowlist=a",
                "--metric-denylist=b",
                "--apiserver=http://127.0.0.1:1",
            ],
            "mutually exclusive",
        ),
        (vec!["--no-such-flag"], "unknown flag --no-such-flag"),
        (
            vec![
                "--metric-labels-allowlist=pods=app",
                "--apiserver=http://127.0.0.1:1",
            ],
            "metric-labels-allowlist",
        ),
    ] {
        let (code, stderr) = run_to_exit(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn namespaces_get_their_own_watches_and_the_denylist_is_a_field_selector() {
    let fake = fake_with_basics(FakeOptions::default());
    fake.create("namespaces", json!({"metadata": {"name": "a"}}));
    fake.create("namespaces", json!({"metadata": {"name": "b"}}));
    fake.create("pods", pod("a", "in-a", "Running"));
    fake.create("pods", pod("b", "in-b", "Running"));
    let dir = tmpdir("ns");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--namespaces=a,b", "--resources=pods,namespaces"],
    );
    ks.wait_ready();
    let body = ks.scrape();
    assert!(body.contains("pod=\"in-a\"") && body.contains("pod=\"in-b\""));
    assert!(!body.contains("pod=\"web-1\""), "default is not watched");
    // cluster-scoped namespaces are not restricted
    assert!(body.contains("kube_namespace_created{namespace=\"default\"}"));
    let reqs = fake.requests();
    assert!(reqs
        .iter()
        .any(|r| r.starts_with("GET /api/v1/namespaces/a/pods?")));
    assert!(reqs
        .iter()
        .any(|r| r.starts_with("GET /api/v1/namespaces/b/pods?")));
    drop(ks);

    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--namespaces-denylist=a,default",
            "--resources=pods,namespaces",
        ],
    );
    ks.wait_ready();
    let body = ks.scrape();
    assert!(
        body.contains("pod=\"in-b\"")
            && !body.contains("pod=\"in-a\"")
            && !body.contains("pod=\"web-1\"")
    );
    assert!(
        body.contains("kube_namespace_created{namespace=\"a\"}"),
        "the denylist does not hide namespaces themselves"
    );
    assert!(fake.requests().iter().any(|r| r.contains("/api/v1/pods?")
        && r.contains(
            "fieldSelector=metadata.namespace%21%3Da%2Cmetadata.namespace%21%3Ddefault"
        )));
}
