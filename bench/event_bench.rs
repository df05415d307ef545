//! event-bench: the instruction cost of one pod watch event, network excluded.
//!
//! Generates N pods with the test cluster generator (`tests/support/cluster_gen.rs`), renders
//! them into a store (the state after the initial sync), then turns N updates of those pods
//! into `MODIFIED` watch lines (as `cluster_gen::churn` updates generated pods: a random pod
//! with its restart counts bumped) and applies each line the way `src/kube/watch.rs` does when
//! it is not sharded: `decode_event_line` (the object decoded as `PodObject`, the pods watch's
//! type, in the same pass as the envelope), then `MetricsConsumer::upsert` (render + store
//! swap).
//!
//! `phase_events` is the measured loop; inside it `decode_event`, `apply_upsert` and
//! `drop_pod` are separate non-inlined functions so callgrind reports decoding, rendering
//! plus the store update, and freeing the decoded object apart. Run under callgrind:
//!
//! ```text
//! cargo build --release --example event-bench
//! valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/event-bench 2000
//! callgrind_annotate --inclusive=yes cg.out | grep event_bench::
//! ```
//!
//! `event-bench [PODS] [full]` (default 2000): `full` decodes the way the pods watch did
//! before (envelope with the object raw via `parse_envelope`, then the whole k8s-openapi
//! `Pod` via `decode_object`), for comparison. Wall-clock figures are
//! printed for a look only (meaningless under valgrind).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use k8s_openapi::api::core::v1::Pod;
use kubestate::kube::object::KubeObject;
use kubestate::kube::pod_object::PodObject;
use kubestate::kube::watch::{decode_event_line, Consumer, EventLine};
use kubestate::metrics::consumer::MetricsConsumer;
use kubestate::metrics::family::RenderCtx;
use kubestate::metrics::filter::{KeyFilter, MetricFilter};
use kubestate::metrics::{pod, Renderer};
use kubestate::store::Store;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Instant;
use support::cluster_gen::{generate, ClusterSpec};

/// The watch engine's envelope (`RawEvent` in `src/kube/watch.rs`): the object stays raw.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    object: &'a RawValue,
}

/// The envelope with the object left raw (`RawEvent` in `apply_event`).
#[inline(never)]
fn parse_envelope(line: &[u8]) -> RawEvent<'_> {
    let ev: RawEvent = serde_json::from_slice(line).expect("generated line decodes");
    assert_eq!(ev.kind, "MODIFIED");
    ev
}

/// The object, as `decode_owned` does unsharded.
#[inline(never)]
fn decode_object(raw: &str, full: bool) -> PodObject {
    if full {
        PodObject(serde_json::from_str::<Pod>(raw).expect("generated pod decodes"))
    } else {
        serde_json::from_str(raw).expect("generated pod decodes")
    }
}

/// The engine's own line decoder (`decode_event_line`, one pass: the object is decoded
/// straight from the line); with `full`, the former two passes (envelope with the object raw,
/// then the whole k8s-openapi `Pod`) for comparison.
#[inline(never)]
fn decode_event(line: &[u8], full: bool) -> (PodObject, Option<String>) {
    if full {
        let ev = parse_envelope(line);
        let obj = decode_object(ev.object.get(), full);
        let rv = obj.resource_version().map(str::to_string);
        return (obj, rv);
    }
    match decode_event_line::<PodObject>(None, line) {
        Ok(EventLine::Object { obj, rv, .. }) => (obj, rv),
        _ => panic!("generated line decodes to an object event"),
    }
}

#[inline(never)]
fn apply_upsert(c: &mut MetricsConsumer<PodObject>, pod: &PodObject) {
    c.upsert(pod);
}

#[inline(never)]
fn drop_pod(pod: PodObject) {
    drop(pod);
}

#[inline(never)]
fn phase_initial(c: &mut MetricsConsumer<PodObject>, pods: &[PodObject]) {
    for p in pods {
        c.upsert(p);
    }
}

#[inline(never)]
fn phase_events(c: &mut MetricsConsumer<PodObject>, lines: &[Vec<u8>], full: bool) -> usize {
    let mut rv_bytes = 0;
    for line in lines {
        let (pod, rv) = decode_event(line, full);
        rv_bytes += rv.map_or(0, |r| r.len());
        apply_upsert(c, &pod);
        drop_pod(pod);
    }
    rv_bytes
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(2_000);
    let full = std::env::args().nth(2).as_deref() == Some("full");
    let spec = ClusterSpec {
        pods: n,
        nodes: (n / 30).max(1),
        namespaces: 8, // as benchsim
        ..ClusterSpec::default()
    };
    let mut rv: u64 = 1000;
    let mut with_rv = |mut v: serde_json::Value| {
        rv += 1;
        v["metadata"]["resourceVersion"] = serde_json::Value::String(rv.to_string());
        v
    };
    let values: Vec<serde_json::Value> = generate(&spec)
        .into_iter()
        .filter(|(r, _)| r == "pods")
        .map(|(_, v)| with_rv(v))
        .collect();
    let pods: Vec<PodObject> = values
        .iter()
        .map(|v| serde_json::from_value(v.clone()))
        .collect::<Result<_, _>>()?;
    let mut lines = Vec::with_capacity(n);
    let mut pick: u64 = 0x9e37_79b9_7f4a_7c15;
    for k in 0..n as u64 {
        pick = pick
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut obj = values[(pick >> 33) as usize % values.len()].clone();
        if let Some(statuses) = obj["status"]["containerStatuses"].as_array_mut() {
            for st in statuses {
                let restarts = st["restartCount"].as_u64().unwrap_or(0);
                st["restartCount"] = serde_json::json!(restarts + 1 + k);
            }
        }
        // `type` first, as the API server writes it (a `json!` map would sort `object` first)
        let obj = serde_json::to_string(&with_rv(obj))?;
        lines.push(format!(r#"{{"type":"MODIFIED","object":{obj}}}"#).into_bytes());
    }
    let line_bytes: usize = lines.iter().map(Vec::len).sum();

    let filter = MetricFilter::new(&[], &[], &[])?;
    let ctx = RenderCtx {
        labels: KeyFilter::default(),
        annotations: KeyFilter::default(),
    };
    let renderer = Arc::new(Renderer::new(&pod::POD, &filter, ctx));
    let store = Arc::new(Store::new());
    let mut consumer = MetricsConsumer::new(renderer, store.clone());

    phase_initial(&mut consumer, &pods);
    let t = Instant::now();
    let rv_bytes = phase_events(&mut consumer, &lines, full);
    let events_us = t.elapsed().as_micros();
    println!(
        "decode={} pods={} events={} line_bytes={} objects={} rv_bytes={} events_us={events_us} \
         us_per_event={:.2}",
        if full { "full" } else { "slim" },
        pods.len(),
        lines.len(),
        line_bytes,
        store.len(),
        rv_bytes,
        events_us as f64 / lines.len().max(1) as f64
    );
    Ok(())
}
