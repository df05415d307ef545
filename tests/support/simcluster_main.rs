//! simcluster: a fake Kubernetes API server loaded with a generated cluster, for
//! demos and benchmarks of kubestate.
//!
//! `cargo run --example simcluster -- --pods 2000 --nodes 50 [--namespaces 8] [--seed 1]
//!  [--port 0] [--kubeconfig-out PATH] [--churn-per-sec N] [--token T] [--all-kinds]
//!  [--sharded-list-and-watch true|false] [--compression true|false]`
//!
//! `--all-kinds` adds every other kind kubestate watches (the demo's cluster, see
//! `cluster_gen::generate_all_kinds`); without it the cluster holds the nine kinds the
//! benchmarks compare.
//!
//! Runs until killed.

#[path = "mod.rs"]
mod support;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::cluster_gen::{self, ClusterSpec, Mutation};
use support::fake_apiserver::{FakeApiServer, FakeOptions};

struct Args {
    spec: ClusterSpec,
    port: u16,
    kubeconfig: PathBuf,
    churn_per_sec: f64,
    token: Option<String>,
    all_kinds: bool,
    /// Honour KEP-5866 `shardSelector`, as kube-apiserver with `ShardedListAndWatch`.
    sharded: bool,
    /// gzip for clients that ask, as kube-apiserver 1.37 (lists over 128 KiB, WatchList).
    compression: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("simcluster: {msg}");
    eprintln!(
        "usage: simcluster [--pods N] [--nodes N] [--namespaces N] [--seed N] [--port P] \
         [--kubeconfig-out PATH] [--churn-per-sec N] [--token T] [--all-kinds] \
         [--sharded-list-and-watch true|false] [--compression true|false]"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut a = Args {
        spec: ClusterSpec {
            nodes: 10,
            pods: 200,
            namespaces: 8,
            seed: 1,
        },
        port: 0,
        kubeconfig: PathBuf::from("./simcluster.kubeconfig"),
        churn_per_sec: 0.0,
        token: None,
        all_kinds: false,
        sharded: false,
        compression: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            usage("help requested");
        }
        if flag == "--all-kinds" {
            a.all_kinds = true;
            continue;
        }
        let Some(value) = it.next() else {
            usage(&format!("{flag} needs a value"));
        };
        fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")))
        }
        match flag.as_str() {
            "--pods" => a.spec.pods = num(&flag, &value),
            "--nodes" => a.spec.nodes = num(&flag, &value),
            "--namespaces" => a.spec.namespaces = num(&flag, &value),
            "--seed" => a.spec.seed = num(&flag, &value),
            "--port" => a.port = num(&flag, &value),
            "--kubeconfig-out" => a.kubeconfig = PathBuf::from(value),
            "--churn-per-sec" => a.churn_per_sec = num(&flag, &value),
            "--token" => a.token = Some(value),
            "--sharded-list-and-watch" => a.sharded = value == "true",
            "--compression" => a.compression = value == "true",
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    a
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
    let args = parse_args();
    let srv = FakeApiServer::start(FakeOptions {
        token: args.token.clone(),
        bookmark_interval: Duration::from_secs(60),
        port: args.port,
        sharded_list_and_watch: args.sharded,
        compression: args.compression,
        ..FakeOptions::default()
    });
    let started = Instant::now();
    let objects = if args.all_kinds {
        cluster_gen::generate_all_kinds(&args.spec)
    } else {
        cluster_gen::generate(&args.spec)
    };
    let count = objects.len();
    for (r, o) in objects {
        srv.create(&r, o);
    }
    srv.write_kubeconfig_to(&args.kubeconfig);
    println!(
        "level=info msg=\"simcluster ready\" url={} kubeconfig={} objects={count} pods={} nodes={} rv={} load_ms={}",
        srv.url(),
        args.kubeconfig.display(),
        args.spec.pods,
        args.spec.nodes,
        srv.current_rv(),
        started.elapsed().as_millis()
    );
    let _ = std::io::stdout().flush();

    let churner = cluster_gen::Churner::new(&args.spec);
    let mut step = 0u64;
    let mut next_report = Instant::now() + Duration::from_secs(30);
    let period = if args.churn_per_sec > 0.0 {
        Some(Duration::from_secs_f64(1.0 / args.churn_per_sec))
    } else {
        None
    };
    let mut next = Instant::now();
    loop {
        match period {
            Some(p) => {
                apply(&srv, churner.step(step));
                step += 1;
                next += p;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else if now - next > Duration::from_secs(1) {
                    next = now; // fell behind: don't burst
                }
            }
            None => std::thread::sleep(Duration::from_secs(1)),
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(30);
            println!(
                "level=info msg=stats churn_steps={step} rv={} open_watches={} requests={}",
                srv.current_rv(),
                srv.open_watches(),
                srv.requests().len()
            );
            let _ = std::io::stdout().flush();
        }
    }
}
