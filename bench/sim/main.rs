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
