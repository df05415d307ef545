//! manifests: the objects of a `deploy/` kustomization as JSON lines
//! `{"path": "<collection to POST to>", "object": {...}}`, so `tests/e2e/deploy.sh` can
//! apply the kit to a real API server without kubectl.
//!
//! `cargo run --example manifests -- deploy/autosharding`

#[path = "manifests.rs"]
mod manifests;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: manifests <kustomization dir>");
        std::process::exit(2);
    };
    let objects = match manifests::build(std::path::Path::new(dir)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("manifests: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout().lock();
    for o in objects {
        let path = match manifests::collection_path(&o.value) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("manifests: {}: {e}", o.source.display());
                std::process::exit(1);
            }
        };
        let line = serde_json::json!({"path": path, "object": o.value});
        if writeln!(out, "{line}").is_err() {
            std::process::exit(1);
        }
    }
}
