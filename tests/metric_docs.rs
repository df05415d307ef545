//! `docs/metrics/<resource>.md`, the per-resource metric pages a kube-state-metrics user looks
//! for, are generated from the family tables (`kubestate::metrics::catalog()`: name, type,
//! stability, opt-in, help) and the label names of `tests/data/ksm-metrics.tsv` (the catalog
//! the rendered output is checked against in `src/metrics/catalog_check.rs`). This test fails
//! when a page is stale; regenerate them with
//!
//! ```sh
//! KUBESTATE_UPDATE_DOCS=1 cargo test --test metric_docs
//! ```

use kubestate::metrics::family::{MetricType, Stability};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const REGENERATE: &str = "KUBESTATE_UPDATE_DOCS=1 cargo test --test metric_docs";

struct Catalog {
    /// family name → label names as the catalog lists them
    labels: BTreeMap<String, String>,
    /// resources kube-state-metrics does not enable without `--resources`
    opt_in_resources: Vec<String>,
}

fn catalog() -> Catalog {
    let tsv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ksm-metrics.tsv"),
    )
    .expect("tests/data/ksm-metrics.tsv");
    let mut labels = BTreeMap::new();
    let mut opt_in_resources = Vec::new();
    for line in tsv.lines().skip(1) {
        if let Some(rest) = line.strip_prefix("# resources NOT enabled by default") {
            let list = rest.split_once(": ").map(|(_, l)| l).unwrap_or("");
            opt_in_resources = list.split(',').map(|s| s.trim().to_string()).collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 4 {
            labels.insert(cols[1].to_string(), cols[3].to_string());
        }
    }
    assert!(
        !opt_in_resources.is_empty(),
        "catalog lists the opt-in resources"
    );
    Catalog {
        labels,
        opt_in_resources,
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn page(resource: &str, defs: &[kubestate::metrics::family::FamilyDef], cat: &Catalog) -> String {
    let mut out = format!("# {resource} metrics\n\n");
    out.push_str(&format!(
        "<!-- Generated from the family tables by tests/metric_docs.rs; do not edit. Regenerate: {REGENERATE} -->\n\n"
    ));
    if cat.opt_in_resources.iter().any(|r| r == resource) {
        out.push_str(&format!(
            "Not enabled by default: add `{resource}` to `--resources`, as in kube-state-metrics.\n\n"
        ));
    } else {
        out.push_str("Enabled by default (`--resources` unset), as in kube-state-metrics.\n\n");
    }
    out.push_str(
        "Labels ending in `_*` stand for one label per allowed key: `label_*` for \
         `--metric-labels-allowlist`, `annotation_*` for `--metric-annotations-allowlist`, \
         `nodeselector_*` for each key of a pod's nodeSelector, `metadata_*` for each key of a \
         volume attachment's attachment metadata.\n\n",
    );
    out.push_str("| metric | type | labels | stability | default | description |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for d in defs {
        let kind = match d.kind {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        };
        let mut stability = match d.stability {
            Stability::Stable => "STABLE".to_string(),
            Stability::Experimental => "EXPERIMENTAL".to_string(),
        };
        if let Some(v) = d.deprecated_since {
            stability = format!("{stability}, deprecated since {v}");
        }
        let default = if d.opt_in {
            "opt-in (`--metric-opt-in-list`)"
        } else {
            "default"
        };
        let labels = cat
            .labels
            .get(d.name)
            .map(|l| {
                l.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{}` | {kind} | {} | {stability} | {default} | {} |\n",
            d.name,
            labels,
            cell(d.help)
        ));
    }
    out
}

fn index(resources: &[(&str, usize)], cat: &Catalog) -> String {
    let mut out = String::from("# Metrics\n\n");
    out.push_str(&format!(
        "<!-- Generated from the family tables by tests/metric_docs.rs; do not edit. Regenerate: {REGENERATE} -->\n\n"
    ));
    out.push_str(
        "kubestate serves kube-state-metrics v2.20's families with the same names, types, \
         labels and stability. One page per resource:\n\n| resource | families | enabled by default |\n|---|---:|---|\n",
    );
    for (r, n) in resources {
        let default = if cat.opt_in_resources.iter().any(|o| o == r) {
            "no"
        } else {
            "yes"
        };
        out.push_str(&format!("| [{r}]({r}.md) | {n} | {default} |\n"));
    }
    out
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics")
}

#[test]
fn metric_pages_are_current() {
    let cat = catalog();
    let all = kubestate::metrics::catalog();
    let mut want: BTreeMap<String, String> = BTreeMap::new();
    let mut counts = Vec::new();
    for (resource, defs) in &all {
        assert!(!defs.is_empty(), "{resource} declares families");
        for d in defs {
            assert!(
                cat.labels.contains_key(d.name),
                "{} is missing from tests/data/ksm-metrics.tsv",
                d.name
            );
        }
        want.insert(format!("{resource}.md"), page(resource, defs, &cat));
        counts.push((*resource, defs.len()));
    }
    want.insert("README.md".into(), index(&counts, &cat));

    let dir = docs_dir();
    if std::env::var_os("KUBESTATE_UPDATE_DOCS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("docs/metrics");
        for (name, text) in &want {
            std::fs::write(dir.join(name), text).expect("write page");
        }
        return;
    }
    let mut stale = Vec::new();
    for (name, text) in &want {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(have) if &have == text => {}
            _ => stale.push(name.clone()),
        }
    }
    for entry in std::fs::read_dir(&dir).expect("docs/metrics exists") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !want.contains_key(&name) {
            stale.push(format!("{name} (no such resource)"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/metrics is stale: {stale:?}; regenerate with `{REGENERATE}`"
    );
}
