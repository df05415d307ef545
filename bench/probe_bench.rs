//! probe-bench: what a shard pays for the objects it does not own, in instruction counts.
//!
//! Generates N pods with the test cluster generator (`tests/support/cluster_gen.rs`), written
//! in the field order the API server uses (`kind`, `apiVersion`, `metadata` with `name`,
//! `namespace`, `uid`, `resourceVersion` first; the generator's own maps are sorted), as
//! `MODIFIED` watch lines and as one LIST response. Then runs the engine's own decoders
//! (`kubestate::kube::watch::decode_event_line`, `decode_list`, `split_owned`) in four
//! phases, each a non-inlined function so callgrind reports its inclusive cost by name:
//! `phase_watch_unsharded` / `phase_watch_shard` (every line, unsharded and as shard 0 of 4)
//! and `phase_list_unsharded` / `phase_list_shard` (the LIST response, the same two ways).
//! The ratio shard/unsharded of each pair is the figure of interest. A fifth phase,
//! `phase_list_unsharded_streaming`, decodes the unsharded LIST the former way (each item
//! straight from the stream reader), to show what cutting items out first saved.
//!
//! `cargo run --release --example probe-bench -- [PODS]` (default 10000); under valgrind:
//! `bash bench/callgrind.sh` reports the phases with the render-bench ones.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use k8s_openapi::api::core::v1::Pod;
use kubestate::kube::list::decode_list;
use kubestate::kube::watch::{decode_event_line, split_owned, EventLine};
use kubestate::shard::Shard;
use serde_json::{Map, Value};
use std::time::Instant;
use support::cluster_gen::{generate, ClusterSpec};

/// Objects decoded (owned) and skipped, so the work cannot be optimised away.
#[derive(Debug, Default)]
struct Tally {
    decoded: usize,
    skipped: usize,
    containers: usize,
}

#[inline(never)]
fn phase_watch(lines: &[Vec<u8>], shard: Option<Shard>) -> Tally {
    let mut t = Tally::default();
    for line in lines {
        match decode_event_line::<Pod>(shard, line).expect("generated lines decode") {
            EventLine::Object { obj, .. } => {
                t.decoded += 1;
                t.containers += obj.spec.map_or(0, |s| s.containers.len());
            }
            EventLine::Skipped { rv } => {
                t.skipped += 1;
                t.containers += rv.map_or(0, |r| r.len());
            }
            EventLine::Other { .. } => unreachable!("only MODIFIED lines"),
        }
    }
    t
}

#[inline(never)]
fn phase_watch_unsharded(lines: &[Vec<u8>]) -> Tally {
    phase_watch(lines, None)
}

#[inline(never)]
fn phase_watch_shard(lines: &[Vec<u8>], shard: Shard) -> Tally {
    phase_watch(lines, Some(shard))
}

/// For comparison only: the former unsharded LIST path, each item decoded straight from
/// the stream reader (about twice the cost of cutting it out first).
#[inline(never)]
fn phase_list_unsharded_streaming(body: &[u8]) -> Tally {
    let mut t = Tally::default();
    decode_list::<Pod, _, _>(body, |p| {
        t.decoded += 1;
        t.containers += p.spec.map_or(0, |s| s.containers.len());
    })
    .expect("generated list decodes");
    t
}

#[inline(never)]
fn phase_list_shard(body: &[u8], shard: Shard) -> Tally {
    let mut t = Tally::default();
    split_owned(body, shard, |p: Pod| {
        t.decoded += 1;
        t.containers += p.spec.map_or(0, |s| s.containers.len());
    })
    .expect("generated list decodes");
    t
}

/// The unsharded LIST as the engine reads it: each item cut from the stream, then
/// `from_slice` (the way the shard decodes its owned items).
#[inline(never)]
fn phase_list_unsharded(body: &[u8]) -> Tally {
    let mut t = Tally::default();
    kubestate::kube::list::split_list(body, |raw| {
        let p: Pod = serde_json::from_slice(raw)?;
        t.decoded += 1;
        t.containers += p.spec.map_or(0, |s| s.containers.len());
        Ok(())
    })
    .expect("generated list decodes");
    t
}

/// Writes `v` with the keys in `first` first (in that order), the rest sorted.
fn write_ordered(out: &mut String, v: &Map<String, Value>, first: &[&str], nested: bool) {
    out.push('{');
    let mut keys: Vec<&String> = first
        .iter()
        .filter_map(|k| v.get_key_value(*k).map(|(k, _)| k))
        .collect();
    keys.extend(v.keys().filter(|k| !first.contains(&k.as_str())));
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).expect("a string serializes"));
        out.push(':');
        match (&v[k], nested && k == "metadata") {
            (Value::Object(meta), true) => write_ordered(
                out,
                meta,
                &[
                    "name",
                    "generateName",
                    "namespace",
                    "uid",
                    "resourceVersion",
                    "generation",
                    "creationTimestamp",
                ],
                false,
            ),
            (other, _) => out.push_str(&serde_json::to_string(other).expect("JSON serializes")),
        }
    }
    out.push('}');
}

/// A pod as the API server writes it.
fn api_server_json(pod: &Value) -> String {
    let mut out = String::new();
    let map = pod.as_object().expect("a pod is an object");
    write_ordered(
        &mut out,
        map,
        &["kind", "apiVersion", "metadata", "spec", "status"],
        true,
    );
    out
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
    let pods: Vec<String> = generate(&spec)
        .into_iter()
        .filter(|(r, _)| r == "pods")
        .enumerate()
        .map(|(i, (_, mut v))| {
            v["kind"] = "Pod".into();
            v["apiVersion"] = "v1".into();
            v["metadata"]["resourceVersion"] = (1_000_000 + i).to_string().into();
            api_server_json(&v)
        })
        .collect();
    let lines: Vec<Vec<u8>> = pods
        .iter()
        .map(|p| format!(r#"{{"type":"MODIFIED","object":{p}}}"#).into_bytes())
        .collect();
    let list = format!(
        r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"2000000"}},"items":[{}]}}"#,
        pods.join(",")
    )
    .into_bytes();
    let shard = Shard::jump(0, 4);
    let bytes: usize = lines.iter().map(Vec::len).sum();

    // wall-clock per phase, for a look only (meaningless under valgrind)
    let t = Instant::now();
    let wu = phase_watch_unsharded(&lines);
    let wu_ms = t.elapsed().as_millis();
    let t = Instant::now();
    let ws = phase_watch_shard(&lines, shard);
    let ws_ms = t.elapsed().as_millis();
    let t = Instant::now();
    let lu = phase_list_unsharded(&list);
    let lu_ms = t.elapsed().as_millis();
    let t = Instant::now();
    let ls = phase_list_shard(&list, shard);
    let ls_ms = t.elapsed().as_millis();
    let t = Instant::now();
    let lus = phase_list_unsharded_streaming(&list);
    let lus_ms = t.elapsed().as_millis();
    assert_eq!(lus.decoded, pods.len());
    assert_eq!(wu.decoded, pods.len());
    assert_eq!(ws.decoded + ws.skipped, pods.len());
    assert_eq!(lu.decoded, pods.len());
    assert_eq!(ls.decoded, ws.decoded);
    println!(
        "pods={} watch_line_bytes_avg={} shard_owned={} \
         watch_unsharded_ms={wu_ms} watch_shard_ms={ws_ms} list_unsharded_ms={lu_ms} list_shard_ms={ls_ms} \
         list_unsharded_streaming_ms={lus_ms}",
        pods.len(),
        bytes / pods.len().max(1),
        ls.decoded,
    );
    Ok(())
}
