//! cluster-objects: the simulated cluster of `cluster_gen::generate` (what simcluster and the
//! benchmarks serve) as JSON lines `{"path": "<collection to POST to>", "object": {...}}`, so
//! `bench/real_apiserver.sh` can load the same objects into a real kube-apiserver. Server-set
//! metadata (uid, resourceVersion, creationTimestamp) is left out; the status stays in the
//! object for the loader to apply through the `/status` subresource.
//!
//! `cargo run --example cluster-objects -- --pods 2000 --nodes 66 [--namespaces 8] [--seed 1]`

#[path = "mod.rs"]
mod support;

use serde_json::{json, Value};
use std::io::Write;
use support::cluster_gen::{generate, ClusterSpec};
use support::fake_apiserver::resource_info;

fn main() {
    let mut spec = ClusterSpec {
        pods: 2000,
        nodes: 66,
        namespaces: 8,
        seed: 1,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        let (flag, Some(value)) = (pair[0].as_str(), value) else {
            eprintln!("usage: cluster-objects [--pods N] [--nodes N] [--namespaces N] [--seed N]");
            std::process::exit(2);
        };
        match flag {
            "--pods" => spec.pods = value,
            "--nodes" => spec.nodes = value,
            "--namespaces" => spec.namespaces = value,
            "--seed" => spec.seed = value as u64,
            _ => {
                eprintln!("cluster-objects: unknown flag {flag}");
                std::process::exit(2);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for (plural, mut object) in generate(&spec) {
        let Some(info) = resource_info(&plural) else {
            eprintln!("cluster-objects: unknown resource {plural}");
            std::process::exit(1);
        };
        let meta = object["metadata"]
            .as_object_mut()
            .expect("objects have metadata");
        for server_set in ["uid", "resourceVersion", "creationTimestamp"] {
            meta.remove(server_set);
        }
        let ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        object["apiVersion"] = json!(info.api_version());
        object["kind"] = json!(info.kind);
        let prefix = if info.group.is_empty() {
            format!("/api/{}", info.version)
        } else {
            format!("/apis/{}/{}", info.group, info.version)
        };
        let path = match (info.namespaced, ns) {
            (true, Some(ns)) => format!("{prefix}/namespaces/{ns}/{plural}"),
            _ => format!("{prefix}/{plural}"),
        };
        if writeln!(out, "{}", json!({"path": path, "object": object})).is_err() {
            std::process::exit(1);
        }
    }
}
