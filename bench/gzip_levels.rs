//! gzip-levels: compressed size against compression time per zlib level, to choose the
//! scrape path's level (`exposition::gzip::FAST`) and the level the settler recompresses
//! quiet resources at (`exposition::gzip::SETTLED`).
//!
//! The body is cut into members of about 5 MB, as `ResourceWriter` cuts a large resource,
//! and each member is compressed on one thread with flate2 (zlib-rs), best of `RUNS` (3).
//!
//! `cargo run --release --example gzip-levels -- [BODY_FILE | PODS]`: a plain `/metrics`
//! body saved with curl (what `bench/run.sh` scrapes), or PODS (10000) generated pods
//! rendered through the real pod renderer. Prints a markdown table.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use flate2::{write::GzEncoder, Compression};
use kubestate::exposition::negotiate::Format;
use kubestate::kube::object::KubeObject;
use kubestate::kube::pod_object::PodObject;
use kubestate::metrics::family::RenderCtx;
use kubestate::metrics::filter::{KeyFilter, MetricFilter};
use kubestate::metrics::{pod, Renderer};
use kubestate::store::{ResourceWriter, Store};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use support::cluster_gen::{generate, ClusterSpec};

const MEMBER: usize = 5 << 20;

fn generated_body(n: usize) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let spec = ClusterSpec {
        pods: n,
        nodes: (n / 30).max(1),
        namespaces: 8,
        ..ClusterSpec::default()
    };
    let pods: Vec<PodObject> = generate(&spec)
        .into_iter()
        .filter(|(r, _)| r == "pods")
        .map(|(_, v)| serde_json::from_value(v))
        .collect::<Result<_, _>>()?;
    let filter = MetricFilter::new(&[], &[], &[])?;
    let ctx = RenderCtx {
        labels: KeyFilter::default(),
        annotations: KeyFilter::default(),
    };
    let renderer = Renderer::new(&pod::POD, &filter, ctx);
    let store = Arc::new(Store::new());
    for p in &pods {
        store.upsert(p.uid(), renderer.render(p));
    }
    let writer = ResourceWriter::new("pods", renderer.headers(), vec![store]);
    let mut body = Vec::new();
    writer.write(&mut body, Format::Text);
    Ok(body)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "10000".into());
    let (what, body) = match arg.parse::<usize>() {
        Ok(n) => (format!("{n} generated pods"), generated_body(n)?),
        Err(_) => (format!("`{arg}`"), std::fs::read(&arg)?),
    };
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    println!(
        "Body: {what}, {} bytes plain, {} members of ≤ {} MB, one thread, best of {runs}.\n",
        body.len(),
        body.len().div_ceil(MEMBER),
        MEMBER >> 20
    );
    println!("| level | bytes | of level 1 | ms | of level 1 | MB/s |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut base = None;
    for level in 1..=9 {
        let mut best = f64::MAX;
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            bytes = 0;
            for member in body.chunks(MEMBER) {
                let mut enc = GzEncoder::new(Vec::new(), Compression::new(level));
                for c in member.chunks(256 * 1024) {
                    enc.write_all(c)?;
                }
                bytes += enc.finish()?.len();
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        let (b1, ms1) = *base.get_or_insert((bytes as f64, best));
        println!(
            "| {level} | {bytes} | {:.3} | {best:.0} | {:.2} | {:.0} |",
            bytes as f64 / b1,
            best / ms1,
            body.len() as f64 / best / 1e3
        );
    }
    Ok(())
}
