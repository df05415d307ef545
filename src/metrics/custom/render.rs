//! Samples of custom resource families, generated as kube-state-metrics'
//! `registry_factory.go` does: per-element values for arrays and maps, labels from paths
//! (`*` copies a map first, explicit keys override), base labels filled in where a sample
//! has none of its own, label keys sorted, samples sorted by their own labels.

use super::config::{CompiledFamily, Each};
use super::path::Path;
use super::value::{go_string, to_f64};
use crate::exposition::negotiate::Format;
use crate::metrics::family::Samples;
use crate::store::FamilyHeaders;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;

type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct EachValue {
    pub labels: Labels,
    pub value: f64,
}

/// KSM's `store.SanitizeLabelName`: `[^a-zA-Z0-9_]` → `_` (no snake-casing here).
fn sanitize(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn is_star(k: &str) -> bool {
    k.starts_with('*') || k.ends_with('*')
}

/// `addPathLabels`: map copies (`*`, `prefix_*`) first so explicit labels override them.
pub fn add_path_labels(obj: Option<&Value>, labels: &[(String, Path)], out: &mut Labels) {
    let Some(obj) = obj else {
        return;
    };
    for (star, path) in labels.iter().filter(|(k, _)| is_star(k)) {
        if let Some(Value::Object(m)) = path.get(obj) {
            for (k, v) in m {
                let key = match star.strip_suffix('*') {
                    Some(prefix) => format!("{prefix}{k}"),
                    None => k.clone(),
                };
                out.insert(sanitize(&key), go_string(v));
            }
        }
    }
    for (k, path) in labels.iter().filter(|(k, _)| !is_star(k)) {
        if let Some(v) = path.get(obj) {
            out.insert(sanitize(k), go_string(v));
        }
    }
}

/// Go type names as `%T` prints them for decoded unstructured JSON.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// `compiledGauge.value`: `Ok(None)` = nothing to report (valueFrom unresolved on an
/// existing element), `Err` = a conversion problem worth counting.
fn gauge_value(
    it: Option<&Value>,
    value_from: &Path,
    nil_is_zero: bool,
) -> Result<Option<EachValue>, String> {
    let got = it.and_then(|i| value_from.get(i));
    let Some(got) = got else {
        if nil_is_zero {
            return Ok(Some(EachValue {
                labels: Labels::new(),
                value: 0.0,
            }));
        }
        if it.is_none() {
            return Err("got nil while resolving path".into());
        }
        return Ok(None);
    };
    to_f64(Some(got), nil_is_zero)
        .map(|value| {
            Some(EachValue {
                labels: Labels::new(),
                value,
            })
        })
        .map_err(|e| format!("{value_from}: {e}"))
}

/// The values of one `each` for the value its path resolved to (`None` = nil), and the
/// errors met on the way.
pub fn values(each: &Each, v: Option<&Value>) -> (Vec<EachValue>, Vec<String>) {
    let mut result = Vec::new();
    let mut errs = Vec::new();
    match each {
        Each::Gauge {
            path,
            value_from,
            label_from_key,
            labels_from_path,
            nil_is_zero,
        } => match v {
            Some(Value::Object(map)) => {
                // a one-segment valueFrom naming a key of the map is read off directly
                let direct = match value_from_single(value_from) {
                    Some(k) if !k.contains(',') => Some(k),
                    _ => None,
                };
                for (key, it) in map {
                    let ev = if direct.as_deref() == Some(key.as_str()) {
                        match to_f64(Some(it), *nil_is_zero) {
                            Ok(value) => EachValue {
                                labels: Labels::new(),
                                value,
                            },
                            Err(e) => {
                                errs.push(format!("{path}: [{key}]: {e}"));
                                continue;
                            }
                        }
                    } else {
                        match gauge_value(Some(it), value_from, *nil_is_zero) {
                            Ok(Some(ev)) => ev,
                            Ok(None) => continue,
                            Err(e) => {
                                errs.push(format!("{path}: [{key}]: {e}"));
                                continue;
                            }
                        }
                    };
                    let mut ev = ev;
                    if !key.is_empty() && !label_from_key.is_empty() {
                        ev.labels.insert(label_from_key.clone(), key.clone());
                    }
                    add_path_labels(Some(it), labels_from_path, &mut ev.labels);
                    add_path_labels(v, labels_from_path, &mut ev.labels);
                    result.push(ev);
                }
            }
            Some(Value::Array(items)) => {
                for (i, it) in items.iter().enumerate() {
                    let it = (!it.is_null()).then_some(it);
                    match gauge_value(it, value_from, *nil_is_zero) {
                        Ok(Some(mut ev)) => {
                            add_path_labels(it, labels_from_path, &mut ev.labels);
                            result.push(ev);
                        }
                        Ok(None) => {}
                        Err(e) => errs.push(format!("{path}: [{i}]: {e}")),
                    }
                }
            }
            _ => match gauge_value(v, value_from, *nil_is_zero) {
                Ok(Some(mut ev)) => {
                    add_path_labels(v, labels_from_path, &mut ev.labels);
                    result.push(ev);
                }
                Ok(None) => {}
                Err(e) => errs.push(format!("{path}: {e}")),
            },
        },
        Each::Info {
            label_from_key,
            labels_from_path,
            ..
        } => {
            let info = |v: Option<&Value>| -> Option<EachValue> {
                v?;
                let mut labels = Labels::new();
                add_path_labels(v, labels_from_path, &mut labels);
                (!labels.is_empty()).then_some(EachValue { labels, value: 1.0 })
            };
            match v {
                Some(Value::Array(items)) => {
                    result.extend(
                        items
                            .iter()
                            .filter_map(|it| info((!it.is_null()).then_some(it))),
                    );
                }
                Some(Value::Object(map)) => {
                    for (key, it) in map {
                        let mut labels = Labels::new();
                        if !key.is_empty() && !label_from_key.is_empty() {
                            labels.insert(label_from_key.clone(), key.clone());
                        }
                        add_path_labels(Some(it), labels_from_path, &mut labels);
                        if !labels.is_empty() {
                            result.push(EachValue { labels, value: 1.0 });
                        }
                    }
                    result.extend(info(v));
                }
                _ => result.extend(info(v)),
            }
        }
        Each::StateSet {
            path,
            value_from,
            label_name,
            list,
            labels_from_path,
        } => {
            let mut one = |v: Option<&Value>, result: &mut Vec<EachValue>| {
                let Some(cmp) = v.and_then(|v| value_from.get(v)) else {
                    return;
                };
                let Some(s) = cmp.as_str() else {
                    let full = if value_from.is_empty() {
                        path.to_string()
                    } else {
                        let (a, b) = (path.to_string(), value_from.to_string());
                        match (a.len(), b.len()) {
                            (2, _) => b,
                            _ => format!("{},{}", &a[..a.len() - 1], &b[1..]),
                        }
                    };
                    errs.push(format!(
                        "{full}: expected value for path to be string, got {}",
                        go_type(cmp)
                    ));
                    return;
                };
                for entry in list {
                    let mut labels = Labels::new();
                    labels.insert(label_name.clone(), entry.clone());
                    add_path_labels(v, labels_from_path, &mut labels);
                    result.push(EachValue {
                        labels,
                        value: if s == entry { 1.0 } else { 0.0 },
                    });
                }
            };
            match v {
                Some(Value::Array(items)) => {
                    for it in items {
                        one((!it.is_null()).then_some(it), &mut result);
                    }
                }
                _ => one(v, &mut result),
            }
        }
    }
    result.sort_by(|a, b| compare_labels(&a.labels, &b.labels));
    (result, errs)
}

/// The single segment of a one-segment path, as KSM extracts it from `[segment]`.
fn value_from_single(p: &Path) -> Option<String> {
    let s = p.to_string();
    (s.len() > 2 && !s[1..s.len() - 1].contains(',')).then(|| s[1..s.len() - 1].to_string())
}

/// KSM's `compareLabels`: sorted keys pairwise (key, then value), then the shorter first.
fn compare_labels(a: &Labels, b: &Labels) -> Ordering {
    for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
        match ka.cmp(kb).then_with(|| va.cmp(vb)) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// Writes one family's samples of one object; returns the errors met.
pub fn render_family(f: &CompiledFamily, root: &Value, buf: &mut Vec<u8>) -> Vec<String> {
    let mut base = f.common_labels.clone();
    add_path_labels(Some(root), &f.labels_from_path, &mut base);
    let (vals, errs) = values(&f.each, f.each.path().get(root));
    let mut samples = Samples::new(buf, &f.name, b"");
    for mut ev in vals {
        for (k, v) in &base {
            ev.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        samples.push_iter(
            ev.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ev.value,
        );
    }
    errs
}

/// `# HELP`/`# TYPE` in both formats: `info`/`stateset` only in OpenMetrics, `gauge` in
/// text, no stability prefix.
pub fn headers(f: &CompiledFamily) -> FamilyHeaders {
    let build = |format: Format| {
        let mut out = Vec::with_capacity(f.name.len() * 2 + f.help.len() + 32);
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(f.name.as_bytes());
        out.push(b' ');
        match format {
            Format::Text => crate::exposition::format::write_help(&mut out, &f.help),
            Format::OpenMetrics => crate::exposition::format::write_label_value(&mut out, &f.help),
        }
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(f.name.as_bytes());
        out.push(b' ');
        let t = match format {
            Format::Text => "gauge",
            Format::OpenMetrics => f.each.openmetrics_type(),
        };
        out.extend_from_slice(t.as_bytes());
        out.push(b'\n');
        out
    };
    FamilyHeaders {
        name: f.name.as_str().into(),
        text: build(Format::Text),
        openmetrics: build(Format::OpenMetrics),
    }
}
