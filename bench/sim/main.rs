//! benchsim: the simulated API server of `simcluster` (same generated cluster, same list/watch
//! implementation from `tests/support/`), with the churn rate switchable while it runs, so that
//! one server can serve a quiet start-up, a churn window and an idle window.
//!
//! `benchsim --pods N --nodes N --kubeconfig-out PATH --control PATH [--namespaces N]
//!  [--seed N] [--port P]`
//!
//! `--control PATH`: a file holding the churn rate (mutations per second, `0` = none); re-read
//! every 100 ms. Every 100 ms the server's resourceVersion (one per committed mutation, so the
//! exact number of watch events a pod watcher receives) is written to `PATH.rv` as
//! `<rv> <churn steps>`. Runs until killed.
//!
//! `--outage-control PATH` (for bench/outage.sh): a file holding `<status> <retry-after>
//! <markers>`, re-read every 100 ms. A non-zero status begins an outage (every request gets
//! that status, with `Retry-After: <retry-after>` unless it is 0, and open watches are cut);
//! 0 ends it. `<markers>` pods named `outage-marker-<i>` are created in namespace `default`
//! when missing. `PATH.state` holds `<status> <requests the last outage answered>`.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::cluster_gen::{self, Churner, ClusterSpec, Mutation};
use support::fake_apiserver::{FakeApiServer, FakeOptions};

fn usage(msg: &str) -> ! {
    eprintln!("benchsim: {msg}");
    eprintln!(
        "usage: benchsim [--pods N] [--nodes N] [--namespaces N] [--seed N] [--port P] \
         --kubeconfig-out PATH --control PATH"
    );
    std::process::exit(2);
}

fn apply(srv: &FakeApiServer, m: Mutation) {
    match m {
        Mutation::Create(r, o) | Mutation::Update(r, o) => {
            srv.apply(&r, o);
        }
        Mutation::Delete {
            resource,
            namespace,
            name,
        } => {
            srv.delete(&resource, namespace.as_deref(), &name);
        }
    }
}

fn main() {
    let mut spec = ClusterSpec {
        nodes: 10,
        pods: 200,
        namespaces: 8,
        seed: 1,
    };
    let mut port = 0u16;
    let mut kubeconfig = None;
    let mut control = None;
    let mut outage_control: Option<PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            usage(&format!("{flag} needs a value"));
        };
        fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")))
        }
        match flag.as_str() {
            "--pods" => spec.pods = num(&flag, &value),
            "--nodes" => spec.nodes = num(&flag, &value),
            "--namespaces" => spec.namespaces = num(&flag, &value),
            "--seed" => spec.seed = num(&flag, &value),
            "--port" => port = num(&flag, &value),
            "--kubeconfig-out" => kubeconfig = Some(PathBuf::from(value)),
            "--control" => control = Some(PathBuf::from(value)),
            "--outage-control" => outage_control = Some(PathBuf::from(value)),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    let kubeconfig = kubeconfig.unwrap_or_else(|| usage("--kubeconfig-out is required"));
    let control = control.unwrap_or_else(|| usage("--control is required"));
    let mut rv_out = control.clone().into_os_string();
    rv_out.push(".rv");
    let rv_out = PathBuf::from(rv_out);

    let srv = FakeApiServer::start(FakeOptions {
        bookmark_interval: Duration::from_secs(60),
        port,
        ..FakeOptions::default()
    });
    let started = Instant::now();
    let objects = cluster_gen::generate(&spec);
    let count = objects.len();
    for (r, o) in objects {
        srv.create(&r, o);
    }
    srv.write_kubeconfig_to(&kubeconfig);
    println!(
        "level=info msg=\"benchsim ready\" url={} objects={count} pods={} nodes={} rv={} load_ms={}",
        srv.url(),
        spec.pods,
        spec.nodes,
        srv.current_rv(),
        started.elapsed().as_millis()
    );
    let _ = std::io::stdout().flush();

    let mut outage = OutageControl::default();
    let churner = Churner::new(&spec);
    let mut step = 0u64;
    let mut rate = 0.0f64;
    let mut next = Instant::now();
    let mut next_check = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_check {
            next_check = now + Duration::from_millis(100);
            let want = std::fs::read_to_string(&control)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            if want != rate {
                rate = want;
                next = now;
            }
            let tmp = rv_out.with_extension("rv.tmp");
            if std::fs::write(&tmp, format!("{} {step}\n", srv.current_rv())).is_ok() {
                let _ = std::fs::rename(&tmp, &rv_out);
            }
            if let Some(path) = &outage_control {
                outage.apply(&srv, path);
            }
        }
        let now = Instant::now();
        if rate <= 0.0 || now < next {
            let until = if rate > 0.0 {
                next.min(next_check)
            } else {
                next_check
            };
            std::thread::sleep(until.saturating_duration_since(now));
            continue;
        }
        apply(&srv, churner.step(step));
        step += 1;
        next += Duration::from_secs_f64(1.0 / rate);
        if Instant::now().saturating_duration_since(next) > Duration::from_secs(1) {
            next = Instant::now(); // fell behind: don't burst
        }
    }
}

/// What `--outage-control` asked for last.
#[derive(Default)]
struct OutageControl {
    status: u16,
    markers: usize,
}

impl OutageControl {
    fn apply(&mut self, srv: &FakeApiServer, path: &std::path::Path) {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut f = text.split_whitespace().map(|w| w.parse::<u64>().unwrap_or(0));
        let (status, retry_after, markers) = (
            f.next().unwrap_or(0) as u16,
            f.next().unwrap_or(0) as u32,
            f.next().unwrap_or(0) as usize,
        );
        if status != self.status {
            if status == 0 {
                srv.end_outage();
            } else {
                srv.begin_outage(status, (retry_after > 0).then_some(retry_after));
            }
            self.status = status;
        }
        while self.markers < markers {
            srv.create(
                "pods",
                serde_json::json!({
                    "metadata": {"name": format!("outage-marker-{}", self.markers), "namespace": "default"},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                    "status": {"phase": "Pending"}
                }),
            );
            self.markers += 1;
        }
        let mut state = path.as_os_str().to_owned();
        state.push(".state");
        let state = PathBuf::from(state);
        let tmp = state.with_extension("state.tmp");
        let line = format!("{} {}\n", self.status, srv.outage_requests());
        if std::fs::write(&tmp, line).is_ok() {
            let _ = std::fs::rename(&tmp, &state);
        }
    }
}
