//! auth-storm: latency of a legitimate scrape while 40 client loops send bad credentials.
//!
//! `cargo run --release --example auth-storm [-- SCENARIO...]` with `KUBESTATE_BIN` pointing
//! at the binary to measure (default: `target/release/kubestate`). Scenarios: `basic` (each
//! loop repeats its own wrong password; bcrypt cost 10), `basic-fresh` (a new wrong password
//! on every request), `token` (`--auth-filter`, each loop repeats its own bogus bearer token;
//! the fake API server answers reviews after 5 ms). For each: the legitimate scraper's
//! latency quiet and under the storm (p50, p99, max over `SCRAPES`, default 100, one every
//! 50 ms on a keep-alive connection) and what the storm got back.

#[path = "../tests/support/storm.rs"]
mod storm;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use storm::{basic, scrape_loop, Storm, Tally};
use support::fake_apiserver::{FakeApiServer, FakeOptions};

const LOOPS: usize = 40;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(scrapes: &[(u16, Duration, Vec<u8>)]) -> String {
    let failed = scrapes.iter().filter(|(s, _, _)| *s != 200).count();
    let mut ms: Vec<f64> = scrapes
        .iter()
        .map(|(_, d, _)| d.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, failed {failed}/{}",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(0.0),
        ms.len()
    )
}

fn run(scenario: &str, bin: &PathBuf, scrapes: usize) {
    let fake = FakeApiServer::start(FakeOptions::default());
    for ns in ["default", "kube-system", "shop"] {
        fake.create(
            "namespaces",
            serde_json::json!({"metadata": {"name": ns}, "status": {"phase": "Active"}}),
        );
    }
    let dir = std::env::temp_dir().join(format!("kubestate-auth-storm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let kubeconfig = fake.write_kubeconfig(&dir);
    let port = free_port();
    let mut args = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        "--host=127.0.0.1".into(),
        format!("--port={port}"),
        "--telemetry-host=127.0.0.1".into(),
        format!("--telemetry-port={}", free_port()),
        "--resources=namespaces".into(),
    ];
    let good = match scenario {
        "basic" | "basic-fresh" => {
            let hash = bcrypt::hash("s3cret", 10).expect("hash");
            let web = dir.join("web.yml");
            std::fs::write(&web, format!("basic_auth_users:\n  prom: '{hash}'\n"))
                .expect("web config");
            args.push(format!("--web.config.file={}", web.display()));
            basic("prom", "s3cret")
        }
        "token" => {
            fake.add_review_token("good-token", "alice");
            fake.allow_nonresource_get("alice");
            fake.set_review_delay(Duration::from_millis(5));
            args.push("--auth-filter".into());
            "Bearer good-token".into()
        }
        other => panic!("unknown scenario {other:?} (basic, basic-fresh, token)"),
    };
    let _ks = Running(
        Command::new(bin)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.display())),
    );
    let until = Instant::now() + Duration::from_secs(30);
    while scrape_loop(port, "/metrics", &good, 1, Duration::ZERO)[0].0 != 200 {
        assert!(Instant::now() < until, "kubestate did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let every = Duration::from_millis(50);
    let quiet = scrape_loop(port, "/metrics", &good, scrapes, every);
    let storm = match scenario {
        "basic" => Storm::start(port, LOOPS, "/metrics", |i, _| {
            basic("prom", &format!("wrong-{i}"))
        }),
        "basic-fresh" => Storm::start(port, LOOPS, "/metrics", |i, n| {
            basic("prom", &format!("fresh-{i}-{n}"))
        }),
        _ => Storm::start(port, LOOPS, "/metrics", |i, _| format!("Bearer bogus-{i}")),
    };
    // let the storm build up before measuring
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let loud = scrape_loop(port, "/metrics", &good, scrapes, every);
    let secs = started.elapsed().as_secs_f64();
    let tally: Tally = storm.stop();
    println!("{scenario}: quiet    {}", summary(&quiet));
    println!("{scenario}: storm    {}", summary(&loud));
    println!(
        "{scenario}: storm requests {:.0}/s over the window, by status {:?}",
        tally.total() as f64 / (secs + 1.0),
        tally.statuses
    );
    if scenario == "token" {
        println!(
            "{scenario}: reviews asked of the API server {}",
            fake.reviews()
        );
    }
}

fn main() {
    let bin = std::env::var_os("KUBESTATE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/kubestate"));
    let scrapes = std::env::var("SCRAPES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let mut scenarios: Vec<String> = std::env::args().skip(1).collect();
    if scenarios.is_empty() {
        scenarios = vec!["basic".into(), "basic-fresh".into(), "token".into()];
    }
    println!(
        "binary {}, {LOOPS} storm loops, {scrapes} scrapes 50 ms apart",
        bin.display()
    );
    for s in &scenarios {
        run(s, &bin, scrapes);
    }
}
