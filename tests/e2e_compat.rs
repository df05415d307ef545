//! A kube-state-metrics user switches by changing the image: KSM v2.20's flags (klog's
//! included), subcommands, `--object-limit`, its regex semantics for the allow/deny lists and
//! its readiness probe on the telemetry port, run against the real binary.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::cluster_gen::{generate, ClusterSpec};
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::{binary, run_to_exit, Kubestate};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-compat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn populated(opts: FakeOptions, pods: usize) -> FakeApiServer {
    let fake = FakeApiServer::start(opts);
    for (resource, obj) in generate(&ClusterSpec {
        nodes: 3,
        pods,
        namespaces: 2,
        seed: 18,
    }) {
        fake.create(&resource, obj);
    }
    fake
}

fn count_lines(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

/// The args the kube-state-metrics Helm chart renders with its default `collectors`
/// (`--port`/`--telemetry-port` come from the harness), plus the klog flags and experimental
/// flags values files pass through `extraArgs`.
#[test]
fn ksm_deployment_args_with_klog_flags_start_and_serve() {
    let fake = populated(FakeOptions::default(), 12);
    let dir = tmpdir("helm");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--v=2",
            "--logtostderr",
            "--alsologtostderr",
            "--stderrthreshold=INFO",
            "--add_dir_header",
            "--skip_headers=true",
            "--vmodule=server=4",
            "--log_backtrace_at=",
            "--auto-gomemlimit",
            "--auto-gomemlimit-ratio=0.9",
            "--resources=certificatesigningrequests,configmaps,cronjobs,daemonsets,deployments,endpoints,horizontalpodautoscalers,ingresses,jobs,leases,limitranges,mutatingwebhookconfigurations,namespaces,networkpolicies,nodes,persistentvolumeclaims,persistentvolumes,poddisruptionbudgets,pods,replicasets,replicationcontrollers,resourcequotas,secrets,services,statefulsets,storageclasses,validatingwebhookconfigurations,volumeattachments",
        ],
    );
    ks.wait_ready();
    let scrape = ks.scrape();
    assert_eq!(count_lines(&scrape, "kube_pod_info{"), 12);
    let logs = ks.logs();
    let no_effect: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("flags accepted with no effect"))
        .collect();
    assert_eq!(no_effect.len(), 1, "one line at start:\n{logs}");
    assert!(
        no_effect[0].contains(
            "flags=--alsologtostderr,--add_dir_header,--skip_headers,--vmodule,--log_backtrace_at"
        ),
        "{}",
        no_effect[0]
    );
    assert_eq!(
        logs.lines()
            .filter(|l| l.contains("--auto-gomemlimit has no effect"))
            .count(),
        1,
        "{logs}"
    );
}

/// `--logtostderr=false --log_file` sends the lines to the file; `--stderrthreshold` keeps
/// the lower ones off stderr (kube-state-metrics honours it even with `--logtostderr`).
#[test]
fn log_file_and_stderr_threshold() {
    let fake = populated(FakeOptions::default(), 3);
    let dir = tmpdir("logfile");
    let file = dir.join("kubestate.log");
    std::fs::write(&file, "kept from before\n").unwrap();
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods",
            "--logtostderr=false",
            &format!("--log_file={}", file.display()),
            "--stderrthreshold",
            "WARNING",
        ],
    );
    ks.wait_ready();
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.starts_with("kept from before\n"),
        "klog appends: {written}"
    );
    assert!(
        written.contains("msg=synced resource=pods"),
        "file has the lines:\n{written}"
    );
    assert!(
        !ks.logs().contains("msg=synced"),
        "info lines stay off stderr:\n{}",
        ks.logs()
    );
}

#[test]
fn version_and_help_subcommands_print_like_the_flags() {
    let run = |args: &[&str]| {
        let out = Command::new(binary()).args(args).output().expect("run");
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).expect("utf8")
    };
    let version = run(&["version"]);
    assert_eq!(version, run(&["--version"]));
    assert!(version.starts_with(&format!(
        "kubestate, version {} (revision: ",
        env!("CARGO_PKG_VERSION")
    )));
    assert_eq!(run(&["help"]), run(&["--help"]));
    assert!(run(&["help"]).contains("--object-limit"));
    // built from a checkout: build.rs stamped the revision in
    let root = env!("CARGO_MANIFEST_DIR");
    if std::path::Path::new(root).join(".git").exists()
        && std::env::var_os("KUBESTATE_REVISION").is_none()
    {
        let head = Command::new("git")
            .args(["-C", root, "rev-parse", "--short", "HEAD"])
            .output()
            .expect("git");
        let head = String::from_utf8(head.stdout).unwrap().trim().to_string();
        assert!(
            version.contains(&format!("(revision: {head})")),
            "{version} vs HEAD {head}"
        );
    }
}

/// KSM v2.20's `--object-limit`: every LIST page asks for that many objects (all pages are
/// still read), a page the server returns larger is cut to the limit, the initial state is
/// never streamed, and the telemetry port reports the limit.
#[test]
fn object_limit_pages_and_cuts_oversized_pages() {
    let fake = populated(FakeOptions::default(), 10);
    let dir = tmpdir("limit");
    let kubeconfig = fake.write_kubeconfig(&dir);
    let ks = Kubestate::start(&kubeconfig, &["--resources=pods", "--object-limit=3"]);
    ks.wait_ready();
    assert_eq!(count_lines(&ks.scrape(), "kube_pod_info{"), 10);
    let lists: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.contains("/pods?") && !r.contains("watch=true"))
        .collect();
    assert!(lists.len() >= 4, "10 pods in pages of 3: {lists:?}");
    assert!(lists.iter().all(|r| r.contains("limit=3")), "{lists:?}");
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.contains("sendInitialEvents")),
        "no WatchList with a limit"
    );
    let tel = ks.telemetry();
    assert!(
        tel.contains("kube_state_metrics_list_objects_limit{resource=\"*v1.Pod\"} 3"),
        "{tel}"
    );
    assert!(
        tel.contains("kube_state_metrics_list_objects{resource=\"*v1.Pod\"} 1"),
        "{tel}"
    );
    drop(ks);

    // resourceVersion=0 is served from the watch cache, which ignores limit: cut to 3
    let cached = Kubestate::start(
        &kubeconfig,
        &[
            "--resources=pods",
            "--object-limit=3",
            "--use-apiserver-cache",
        ],
    );
    cached.wait_ready();
    assert_eq!(count_lines(&cached.scrape(), "kube_pod_info{"), 3);
    assert!(cached
        .telemetry()
        .contains("kube_state_metrics_list_objects{resource=\"*v1.Pod\"} 3"));
}

/// The telemetry port's `/readyz` is where KSM's standard manifest points its readiness
/// probe: it must not say ready before the stores have synced.
#[test]
fn telemetry_readyz_follows_the_sync() {
    let mut fake = populated(FakeOptions::default(), 3);
    let dir = tmpdir("readyz");
    let kubeconfig = fake.write_kubeconfig(&dir);
    // every API request fails for a while: nothing can sync
    fake.fail_next(1_000_000, 500, None);
    let ks = Kubestate::start(&kubeconfig, &["--resources=pods"]);
    let get = |port: u16| {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        agent
            .get(&format!("http://127.0.0.1:{port}/readyz"))
            .call()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(ks.port), 503);
    assert_eq!(get(ks.telemetry_port), 503, "telemetry /readyz before sync");
    fake.fail_next(0, 500, None);
    ks.wait_for(Duration::from_secs(20), || get(ks.telemetry_port) == 200)
        .unwrap_or_else(|| panic!("never ready on the telemetry port:\n{}", ks.logs()));
    assert_eq!(get(ks.port), 200);
    fake.stop();
}

/// KSM matches `--metric-allowlist`/`--metric-denylist` as ECMAScript regexes (regexp2):
/// lookarounds work.
#[test]
fn metric_denylist_takes_ecmascript_lookarounds() {
    let fake = populated(FakeOptions::default(), 4);
    let dir = tmpdir("lookaround");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods",
            "--metric-denylist=^kube_pod_(?!info$).+",
        ],
    );
    ks.wait_ready();
    let scrape = ks.scrape();
    let families: std::collections::BTreeSet<&str> = scrape
        .lines()
        .filter(|l| l.starts_with("# TYPE "))
        .filter_map(|l| l.split(' ').nth(2))
        .collect();
    assert_eq!(
        families.into_iter().collect::<Vec<_>>(),
        vec!["kube_pod_info"]
    );
    assert_eq!(count_lines(&scrape, "kube_pod_info{"), 4);
}

#[test]
fn bad_regex_is_one_clear_line_and_exit_2() {
    let (code, stderr) = run_to_exit(&[
        "--metric-allowlist=kube_pod_(info",
        "--kubeconfig=/nonexistent",
    ]);
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("--metric-allowlist") && lines[0].contains("kube_pod_(info"),
        "{stderr}"
    );
}
