//! render-bench: the scrape path's instruction counts, for `bench/callgrind.sh`.
//!
//! Generates N pods with the test cluster generator (`tests/support/cluster_gen.rs`), decodes
//! them, then runs three phases through the real `Renderer`, `Store` and `ResourceWriter`:
//! `phase_render` (render every pod into a store), `phase_scrape_plain` (one plain scrape
//! through the per-worker buffer, as `/metrics` streams it, into a sink that only counts) and
//! `phase_scrape_gzip` (one gzip scrape with a cold member cache, i.e. compressing). Each phase
//! is a separate non-inlined function so callgrind reports its inclusive cost by name; the
//! generator and JSON decoding are outside all three.
//!
//! `cargo run --release --example render-bench -- [PODS]` (default 10000)

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use k8s_openapi::api::core::v1::Pod;
use kubestate::exposition::negotiate::Format;
use kubestate::kube::object::KubeObject;
use kubestate::metrics::family::RenderCtx;
use kubestate::metrics::filter::{KeyFilter, MetricFilter};
use kubestate::metrics::{pod, Renderer};
use kubestate::server::routes::{gzip_members, write_plain};
use kubestate::store::{ResourceWriter, Store};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;
use support::cluster_gen::{generate, ClusterSpec};

/// Counts what a scrape would send, so the copy is measured without a socket.
#[derive(Default)]
struct Counter {
    bytes: u64,
    writes: u64,
}

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.bytes += b.len() as u64;
        self.writes += 1;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[inline(never)]
fn phase_render(renderer: &Renderer<Pod>, store: &Store, pods: &[Pod]) -> usize {
    let mut held = 0;
    for p in pods {
        let obj = renderer.render(p);
        held += obj.held_bytes();
        store.upsert(p.uid(), obj);
    }
    held
}

#[inline(never)]
fn phase_scrape_plain(w: &ResourceWriter) -> io::Result<Counter> {
    let mut out = Counter::default();
    write_plain(&[w], Format::Text, &mut out)?;
    Ok(out)
}

#[inline(never)]
fn phase_scrape_gzip(w: &ResourceWriter) -> io::Result<Counter> {
    let mut out = Counter::default();
    for m in gzip_members(&[w], Format::Text)?
        .iter()
        .flat_map(|m| m.iter())
    {
        out.write_all(m)?;
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let spec = ClusterSpec {
        pods: n,
        nodes: (n / 30).max(1),
        namespaces: 8, // as benchsim
        ..ClusterSpec::default()
    };
    let pods: Vec<Pod> = generate(&spec)
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
    let writer = ResourceWriter::new("pods", renderer.headers(), vec![store.clone()]);

    // wall-clock per phase, for a look only (meaningless under valgrind)
    let t = Instant::now();
    let held = phase_render(&renderer, &store, &pods);
    let render_ms = t.elapsed().as_millis();
    let t = Instant::now();
    let plain = phase_scrape_plain(&writer)?;
    let plain_ms = t.elapsed().as_millis();
    let t = Instant::now();
    let gz = phase_scrape_gzip(&writer)?;
    let gzip_ms = t.elapsed().as_millis();
    if std::env::var_os("RENDER_BENCH_LEVELS").is_some() {
        compare_levels(&writer)?;
    }
    println!(
        "pods={} objects={} held_bytes={} plain_bytes={} plain_writes={} gzip_bytes={} \
         render_ms={render_ms} plain_ms={plain_ms} gzip_cold_ms={gzip_ms}",
        pods.len(),
        store.len(),
        held,
        plain.bytes,
        plain.writes,
        gz.bytes
    );
    Ok(())
}

/// `RENDER_BENCH_LEVELS=1`: the plain output compressed whole at levels 1 to 6 (one thread),
/// size and wall-clock each, to choose the level the scrape path uses.
fn compare_levels(w: &ResourceWriter) -> io::Result<()> {
    use flate2::{write::GzEncoder, Compression};
    let mut body = Vec::new();
    w.write(&mut body, Format::Text);
    for level in 1..=6 {
        let t = Instant::now();
        let mut enc = GzEncoder::new(Vec::new(), Compression::new(level));
        for c in body.chunks(256 * 1024) {
            enc.write_all(c)?;
        }
        let z = enc.finish()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "level={level} in={} out={} ratio={:.3} ms={ms:.0} MB/s={:.0}",
            body.len(),
            z.len(),
            z.len() as f64 / body.len() as f64,
            body.len() as f64 / ms / 1e3
        );
    }
    Ok(())
}
