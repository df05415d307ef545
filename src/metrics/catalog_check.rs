//! Test-only cross-check of a resource's family table and rendered output against the
//! shared catalog (`../shared/spec/ksm-metrics.tsv`), which was taken from kube-state-metrics
//! v2.20.0 itself. Family names, order, types and label names are what users query, so a
//! drift from the catalog is a compatibility bug even when every hand-written test passes.

use crate::metrics::family::{MetricType, RenderCtx, Stability};
use crate::metrics::filter::MetricFilter;
use crate::metrics::{Renderer, ResourceDef};

const CATALOG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/spec/ksm-metrics.tsv"
));

/// One catalog row.
#[derive(Debug, Clone)]
pub struct Row {
    pub resource: String,
    pub metric: String,
    pub kind: String,
    pub labels: Vec<String>,
    pub stability: String,
    pub default: String,
}

/// Every data row of the catalog, in file order.
pub fn rows() -> Vec<Row> {
    CATALOG
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 6, "catalog row has 6 columns: {l}");
            Row {
                resource: c[0].to_string(),
                metric: c[1].to_string(),
                kind: c[2].to_string(),
                labels: c[3]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                stability: c[4].to_string(),
                default: c[5].to_string(),
            }
        })
        .collect()
}

/// `# variant` lines: metric → alternative family-specific label lists.
fn variants(metric: &str) -> Vec<Vec<String>> {
    CATALOG
        .lines()
        .filter_map(|l| l.strip_prefix("# variant\t"))
        .filter_map(|l| {
            let mut c = l.split('\t');
            let m = c.next()?;
            let labels = c.next()?;
            (m == metric).then(|| {
                labels
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
        })
        .collect()
}

/// Renders `objs` with every family enabled (opt-in included) and returns the text.
pub fn render_text<T>(def: &'static ResourceDef<T>, objs: &[&T], ctx: RenderCtx) -> String {
    let all = MetricFilter::new(&[], &[], &[".*".to_string()]).expect("static regex");
    let r = Renderer::new(def, &all, ctx);
    let mut text = String::new();
    for o in objs {
        text.push_str(&r.render_text(o));
    }
    text
}

/// Splits a sample line into its metric name and label names, honouring escapes in values.
pub fn parse_line(line: &str) -> (String, Vec<String>) {
    let b = line.as_bytes();
    let name_end = line.find(['{', ' ']).expect("sample line has a value");
    let name = line[..name_end].to_string();
    let mut labels = Vec::new();
    if b[name_end] != b'{' {
        return (name, labels);
    }
    let mut i = name_end + 1;
    loop {
        let eq = i + line[i..].find('=').expect("label has '='");
        labels.push(line[i..eq].to_string());
        assert_eq!(b[eq + 1], b'"', "label value is quoted: {line}");
        let mut j = eq + 2;
        while b[j] != b'"' {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        match b[j + 1] {
            b',' => i = j + 2,
            b'}' => break,
            other => panic!("unexpected {:?} after label value in {line}", other as char),
        }
    }
    (name, labels)
}

/// Whether `got` label names fit `want`, where a `label_*`/`annotation_*`-style entry matches
/// any number (zero included) of consecutive names with that prefix.
fn labels_fit(want: &[String], got: &[String]) -> bool {
    match want.split_first() {
        None => got.is_empty(),
        Some((w, rest)) => {
            if let Some(prefix) = w.strip_suffix('*') {
                let n = got.iter().take_while(|g| g.starts_with(prefix)).count();
                (0..=n).any(|k| labels_fit(rest, &got[k..]))
            } else {
                got.first() == Some(w) && labels_fit(rest, &got[1..])
            }
        }
    }
}

/// Asserts that `def` declares exactly the catalog's families of its resource, in catalog
/// order, with the catalog's types and stability, and that every line of `rendered_text`
/// carries exactly the catalog's label names in order (or a `# variant` of them). Returns
/// the declared families that had no sample in `rendered_text`, so a test can assert that
/// its fixture is rich enough.
pub fn assert_matches_catalog<T>(
    def: &'static ResourceDef<T>,
    rendered_text: &str,
) -> Vec<&'static str> {
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| r.resource == def.name)
        .collect();
    assert!(!rows.is_empty(), "catalog has rows for {}", def.name);
    let declared: Vec<&str> = def.families.iter().map(|f| f.def.name).collect();
    let expected: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
    assert_eq!(declared, expected, "family names and order of {}", def.name);
    for (f, r) in def.families.iter().zip(&rows) {
        let kind = match f.def.kind {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        };
        assert_eq!(kind, r.kind, "type of {}", r.metric);
        let stability = match (f.def.stability, f.def.deprecated_since) {
            (Stability::Stable, None) => "STABLE",
            (Stability::Stable, Some(_)) => "DEPRECATED",
            (Stability::Experimental, _) => "EXPERIMENTAL",
        };
        let want = if r.stability == "ALPHA" {
            "EXPERIMENTAL"
        } else {
            r.stability.as_str()
        };
        assert_eq!(stability, want, "stability of {}", r.metric);
        if r.default == "on" {
            assert!(!f.def.opt_in, "{} is on by default", r.metric);
        }
    }

    let mut seen = vec![false; rows.len()];
    for line in rendered_text.lines() {
        let (name, labels) = parse_line(line);
        let idx = rows
            .iter()
            .position(|r| r.metric == name)
            .unwrap_or_else(|| panic!("{name} is not a catalog family of {}", def.name));
        seen[idx] = true;
        let row = &rows[idx];
        let fits = labels_fit(&row.labels, &labels)
            || variants(&row.metric).iter().any(|v| {
                (0..=row.labels.len()).any(|k| {
                    let mut w = row.labels[..k].to_vec();
                    w.extend(v.iter().cloned());
                    labels_fit(&w, &labels)
                })
            });
        assert!(
            fits,
            "labels of {line}\n  got  {labels:?}\n  want {:?}",
            row.labels
        );
    }
    def.families
        .iter()
        .zip(seen)
        .filter(|(_, s)| !s)
        .map(|(f, _)| f.def.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escaped_label_values() {
        let (n, l) = parse_line(r#"kube_x{a="q\"},b=",b_c="\\"} 1"#);
        assert_eq!(n, "kube_x");
        assert_eq!(l, vec!["a", "b_c"]);
        let (n, l) = parse_line("kube_y 0");
        assert_eq!((n.as_str(), l.len()), ("kube_y", 0));
    }

    #[test]
    fn wildcards_match_zero_or_more_prefixed_names() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let want = s(&["node", "label_*"]);
        assert!(labels_fit(&want, &s(&["node"])));
        assert!(labels_fit(&want, &s(&["node", "label_a", "label_b"])));
        assert!(!labels_fit(&want, &s(&["node", "other"])));
        assert!(!labels_fit(&s(&["node", "role"]), &s(&["role", "node"])));
    }

    #[test]
    fn catalog_has_rows() {
        let r = rows();
        assert!(r.iter().any(|r| r.metric == "kube_node_info"));
        assert!(r.iter().all(|r| !r.metric.starts_with('#')));
    }
}
