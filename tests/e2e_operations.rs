//! Running as a service: sd_notify READY/WATCHDOG, graceful stop on SIGTERM during a scrape,
//! SIGHUP does not disturb what is served.

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};
use support::cluster_gen::{generate, ClusterSpec};
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn populated(pods: usize) -> FakeApiServer {
    let fake = FakeApiServer::start(FakeOptions::default());
    for (resource, obj) in generate(&ClusterSpec {
        nodes: 5,
        pods,
        namespaces: 3,
        seed: 3,
    }) {
        fake.create(&resource, obj);
    }
    fake
}

#[test]
fn sd_notify_sends_ready_after_sync_then_watchdog_keepalives() {
    let fake = populated(50);
    let dir = tmpdir("notify");
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let ks = Kubestate::start_with_env(
        &fake.write_kubeconfig(&dir),
        &["--resources=pods,nodes"],
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().expect("utf8 path")),
            ("WATCHDOG_USEC", "300000"),
        ],
    );
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("first notification");
    assert_eq!(&buf[..n], b"READY=1");
    // READY is only sent once everything has synced
    assert_eq!(ks.get("/readyz", &[]).0, 200);
    let mut keepalives = 0;
    let start = Instant::now();
    while keepalives < 3 {
        let n = sock.recv(&mut buf).expect("watchdog keep-alive");
        assert_eq!(&buf[..n], b"WATCHDOG=1");
        keepalives += 1;
    }
    // three keep-alives at half of 300 ms come well within 2 s
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn sigterm_during_a_scrape_finishes_it_and_exits_zero() {
    let fake = populated(3000);
    let dir = tmpdir("term");
    let mut ks = Kubestate::start(&fake.write_kubeconfig(&dir), &[]);
    ks.wait_ready();
    let full = ks.scrape();
    let port = ks.port;
    let scraper = std::thread::spawn(move || {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        agent
            .get(&format!("http://127.0.0.1:{port}/metrics"))
            .call()
            .ok()
            .and_then(|r| {
                r.into_body()
                    .into_with_config()
                    .limit(1 << 30)
                    .read_to_string()
                    .ok()
            })
    });
    std::thread::sleep(Duration::from_millis(5));
    ks.signal("TERM");
    let status = ks
        .wait_exit(Duration::from_secs(5))
        .expect("exits within 5 s of SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    if let Some(body) = scraper.join().expect("scraper thread") {
        // a scrape that was accepted is answered whole
        assert!(
            body.len() > full.len() / 2,
            "truncated scrape: {} of ~{} bytes",
            body.len(),
            full.len()
        );
        assert!(body.ends_with('\n'));
    }
    assert!(
        ks.logs().contains("shutting down") && ks.logs().contains("SIGTERM"),
        "{}",
        ks.logs()
    );
}

fn pod_count(body: &str) -> usize {
    body.lines()
        .filter(|l| l.starts_with("kube_pod_info{"))
        .count()
}

#[test]
fn sighup_and_config_changes_reload_without_dropping_unchanged_resources() {
    let fake = populated(20);
    let dir = tmpdir("reload");
    let config = dir.join("kubestate.yaml");
    std::fs::write(&config, "resources: [pods]\n").expect("write config");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[&format!("--config={}", config.display())],
    );
    ks.wait_ready();
    let pods = pod_count(&ks.scrape());
    assert!(pods >= 20);
    assert!(!ks.scrape().contains("kube_node_info{"));

    // a broken file: logged, nothing changes
    std::fs::write(&config, "resources: [pods\n").expect("write config");
    ks.signal("HUP");
    ks.wait_for(Duration::from_secs(10), || {
        ks.logs().contains("reload failed")
    })
    .unwrap_or_else(|| panic!("no reload error: {}", ks.logs()));
    assert_eq!(pod_count(&ks.scrape()), pods);

    // a valid change, picked up from the file without a signal: nodes appear and pods carry
    // their app label, and no scrape in between misses the pods
    std::fs::write(
        &config,
        "resources: [pods, nodes]\nmetric-labels-allowlist: \"pods=[app]\"\n",
    )
    .expect("write config");
    let mut reloaded = false;
    for _ in 0..400 {
        let body = ks.scrape();
        assert_eq!(
            pod_count(&body),
            pods,
            "a scrape during the reload lost pods"
        );
        if body.contains("kube_node_info{") && body.contains("label_app=") {
            reloaded = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(reloaded, "reload never applied: {}", ks.logs());
    assert!(ks.logs().contains("reload complete"));
}

fn named_pod(name: &str) -> serde_json::Value {
    serde_json::json!({"metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"}]},
        "status": {"phase": "Running"}})
}

#[test]
fn a_rewritten_kubeconfig_moves_kubestate_to_the_new_server_and_a_broken_one_is_ignored() {
    let a = FakeApiServer::start(FakeOptions::default());
    a.create("pods", named_pod("on-server-a"));
    let b = FakeApiServer::start(FakeOptions::default());
    b.create("pods", named_pod("on-server-b"));
    let dir = tmpdir("kubeconfig-reload");
    let kc = a.write_kubeconfig(&dir);
    let ks = Kubestate::start(&kc, &["--resources=pods"]);
    ks.wait_scrape(Duration::from_secs(10), "server a", |body| {
        body.contains("pod=\"on-server-a\"")
    });

    // A broken rewrite keeps the running connection and says why.
    std::fs::write(&kc, "apiVersion: v1\nclusters: [\n").expect("write broken kubeconfig");
    ks.wait_for(Duration::from_secs(10), || {
        ks.logs().contains("kubeconfig changed but cannot be used")
    })
    .unwrap_or_else(|| panic!("broken kubeconfig not reported:\n{}", ks.logs()));
    a.create("pods", named_pod("still-on-a"));
    ks.wait_scrape(Duration::from_secs(10), "still served from a", |body| {
        body.contains("pod=\"still-on-a\"")
    });

    // The same file now names server b: its state replaces a's, without a restart.
    b.write_kubeconfig_to(&kc);
    let body = ks.wait_scrape(Duration::from_secs(20), "server b", |body| {
        body.contains("pod=\"on-server-b\"") && !body.contains("on-server-a")
    });
    assert!(!body.contains("still-on-a"), "{body}");
    assert!(ks.logs().contains("kubeconfig changed, reconnecting"));
    // Events from b keep flowing through the new connection.
    b.create("pods", named_pod("later-on-b"));
    ks.wait_scrape(Duration::from_secs(10), "b's watch", |body| {
        body.contains("pod=\"later-on-b\"")
    });
}

/// The arena count glibc reports in the last `malloc stats` line of `logs`.
fn logged_arenas(logs: &str) -> Option<usize> {
    let line = logs.lines().rfind(|l| l.contains("msg=\"malloc stats\""))?;
    line.split(' ')
        .find_map(|f| f.strip_prefix("arenas="))?
        .parse()
        .ok()
}

/// The allocator tuning is in force in the real process: three dozen watch threads and the
/// HTTP workers share glibc's two arenas after the initial sync and a scrape, where glibc's
/// defaults give them one each up to 8 per core.
#[test]
fn malloc_arenas_stay_capped_with_the_tuning_and_grow_without_it() {
    let fake = populated(50);
    let dir = tmpdir("malloc");
    let kubeconfig = fake.write_kubeconfig(&dir);
    let mut arenas = Vec::new();
    for mode in ["on", "off"] {
        let ks = Kubestate::start_with_env(
            &kubeconfig,
            &[],
            &[
                ("KUBESTATE_MALLOC", mode),
                ("KUBESTATE_MALLOC_STATS", "0.1"),
            ],
        );
        ks.wait_ready();
        assert!(ks.scrape().contains("kube_pod_info{"));
        let mut seen = None;
        ks.wait_for(Duration::from_secs(5), || {
            // a line logged after the scrape, not one from before it
            let logs = ks.logs();
            let after = logs.matches("msg=\"malloc stats\"").count();
            std::thread::sleep(Duration::from_millis(250));
            let logs = ks.logs();
            seen = (logs.matches("msg=\"malloc stats\"").count() > after)
                .then(|| logged_arenas(&logs))
                .flatten();
            seen.is_some()
        })
        .unwrap_or_else(|| panic!("no malloc stats logged; log:\n{}", ks.logs()));
        arenas.push(seen.expect("waited for"));
    }
    assert!((1..=2).contains(&arenas[0]), "tuned: {arenas:?}");
    assert!(arenas[1] > 2, "glibc's defaults: {arenas:?}");
}
