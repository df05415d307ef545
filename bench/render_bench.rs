//! render-bench: the scrape path's instruction counts, for `bench/callgrind.sh`.
//!
//! Generates N pods with the test cluster generator (`tests/support/cluster_gen.rs`), decodes
//! them, then runs these phases through the real `Renderer`, `Store` and `ResourceWriter`:
//! `phase_render` (render every pod into a store), `phase_scrape_plain` (one plain scrape
//! through the per-worker buffer, as `/metrics` streams it, into a sink that only counts),
//! `phase_gzip_cold` (one gzip scrape with a cold member cache, i.e. compressing everything),
//! `phase_gzip_warm` (the cached members) and `phase_gzip_churn` (a gzip scrape after 1% of
//! the pods changed: stale, recompressed). Each phase is a separate non-inlined function so
//! callgrind reports its inclusive cost by name (callgrind adds up the helper threads that
//! compress in parallel); the generator, JSON decoding and the churn's re-rendering are
//! outside them.
//!
//! `cargo run --release --example render-bench -- [PODS]` (default 10000)

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use kubestate::exposition::negotiate::Format;
use kubestate::kube::object::KubeObject;
use kubestate::kube::pod_object::PodObject;
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
fn phase_render(renderer: &Renderer<PodObject>, store: &Store, pods: &[PodObject]) -> usize {
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

/// The plain scrape again (wall-clock is the best of three); separate, so callgrind's figure
/// for `phase_scrape_plain` stays that of one scrape.
#[inline(never)]
fn repeat_scrape_plain(w: &ResourceWriter) -> io::Result<Counter> {
    let mut out = Counter {
        writes: std::hint::black_box(0), // a body of its own, so no linker folds it into another
        ..Counter::default()
    };
    write_plain(&[w], Format::Text, &mut out)?;
    Ok(out)
}

/// `phase` only makes the three gzip phases different functions: identical bodies would be
/// folded into one symbol and callgrind would report them as one.
fn scrape_gzip(w: &ResourceWriter, phase: u64) -> io::Result<Counter> {
    let mut out = Counter {
        writes: std::hint::black_box(phase) - phase,
        ..Counter::default()
    };
    for m in gzip_members(&[w], Format::Text)?
        .iter()
        .flat_map(|m| m.iter())
    {
        out.write_all(m)?;
    }
    Ok(out)
}

/// A gzip scrape with a cold member cache: everything is compressed.
#[inline(never)]
fn phase_gzip_cold(w: &ResourceWriter) -> io::Result<Counter> {
    scrape_gzip(w, 1)
}

/// A gzip scrape of an unchanged store: the cached members.
#[inline(never)]
fn phase_gzip_warm(w: &ResourceWriter) -> io::Result<Counter> {
    scrape_gzip(w, 2)
}

/// A gzip scrape right after 1% of the pods changed: the stale members are recompressed.
#[inline(never)]
fn phase_gzip_churn(w: &ResourceWriter) -> io::Result<Counter> {
    scrape_gzip(w, 3)
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
    let writer = ResourceWriter::new("pods", renderer.headers(), vec![store.clone()]);

    // wall-clock and CPU time (all threads) per phase, for a look only: meaningless under
    // valgrind, noisy on a busy machine (the CPU time less so)
    let t = Timer::start();
    let held = phase_render(&renderer, &store, &pods);
    let render = t.stop();
    let mut plain_runs = Vec::new();
    let mut plain = Counter::default();
    for run in 0..3 {
        let t = Timer::start();
        plain = if run == 0 {
            phase_scrape_plain(&writer)?
        } else {
            repeat_scrape_plain(&writer)?
        };
        plain_runs.push(t.stop());
    }
    let t = Timer::start();
    let gz = phase_gzip_cold(&writer)?;
    let gzip_cold = t.stop();
    let t = Timer::start();
    let warm = phase_gzip_warm(&writer)?;
    let gzip_warm = t.stop();
    // churn: 1% of the pods change, so the whole pod output is stale again
    for p in pods.iter().step_by(100) {
        store.upsert(p.uid(), renderer.render(p));
    }
    let t = Timer::start();
    let churned = phase_gzip_churn(&writer)?;
    let gzip_churn = t.stop();
    assert_eq!((warm.bytes > 0, churned.bytes > 0), (true, true));
    if std::env::var_os("RENDER_BENCH_LEVELS").is_some() {
        compare_levels(&writer)?;
    }
    let best = |runs: &[(f64, f64)]| {
        runs.iter()
            .copied()
            .fold((f64::MAX, f64::MAX), |a, r| (a.0.min(r.0), a.1.min(r.1)))
    };
    let (plain_ms, plain_cpu_ms) = best(&plain_runs);
    println!(
        "pods={} objects={} held_bytes={} plain_bytes={} plain_writes={} gzip_bytes={} \
         render_ms={:.0} plain_ms={plain_ms:.0} plain_cpu_ms={plain_cpu_ms:.0} \
         plain_GBps={:.2} gzip_cold_ms={:.0} gzip_cold_cpu_ms={:.0} gzip_warm_ms={:.1} \
         gzip_churn_ms={:.0} gzip_churn_cpu_ms={:.0}",
        pods.len(),
        store.len(),
        held,
        plain.bytes,
        plain.writes,
        gz.bytes,
        render.0,
        plain.bytes as f64 / plain_ms / 1e6,
        gzip_cold.0,
        gzip_cold.1,
        gzip_warm.0,
        gzip_churn.0,
        gzip_churn.1,
    );
    Ok(())
}

/// Wall-clock and this process' CPU time (user + system, every thread, 10 ms ticks).
struct Timer(Instant, f64);

impl Timer {
    fn start() -> Self {
        Timer(Instant::now(), cpu_ms())
    }
    /// (wall ms, CPU ms) since start
    fn stop(self) -> (f64, f64) {
        (self.0.elapsed().as_secs_f64() * 1e3, cpu_ms() - self.1)
    }
}

/// utime + stime from /proc/self/stat, in ms (0 where that file is unreadable).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after_name
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // fields 14 and 15 of the file; after the name, state is index 0
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) * 10.0
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
