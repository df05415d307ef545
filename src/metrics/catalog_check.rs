//! Test-only cross-check of a resource's family table and rendered output against the
//! catalog (`tests/data/ksm-metrics.tsv`), which was taken from kube-state-metrics
//! v2.20.0 itself. Family names, order, types and label names are what users query, so a
//! drift from the catalog is a compatibility bug even when every hand-written test passes.

//!
//! The resource test modules were written against three styles of this check, all kept here
//! on one catalog reader, line parser and label matcher: [`assert_matches_catalog`] (rendered
//! text in, unseen families out), [`check`] (fixtures rendered with every allowlist),
//! [`check_catalog`] (fixtures, explicit identity length and context) and
//! [`assert_catalog_labels`] (label names of given lines only).

use crate::metrics::family::{FamilyDef, MetricType, RenderCtx, Stability};
use crate::metrics::filter::{Allowlist, MetricFilter};
use crate::metrics::testing::{allow_all, render_lines};
use crate::metrics::{Renderer, ResourceDef};

const CATALOG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/ksm-metrics.tsv"
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

/// `name{<identity>,<labels>} value`, as the writer formats it.
pub fn line(name: &str, id: &str, labels: &str, value: &str) -> String {
    if labels.is_empty() {
        format!("{name}{{{id}}} {value}")
    } else {
        format!("{name}{{{id},{labels}}} {value}")
    }
}

/// A context whose allowlists list `spec` (e.g. `jobs=[app,team]`) for `resource`.
pub fn allowlist_ctx(resource: &str, spec: &str) -> RenderCtx {
    let list = Allowlist::parse("x", spec, &|_| true).expect("allowlist");
    RenderCtx {
        labels: list.for_resource(resource),
        annotations: list.for_resource(resource),
    }
}

fn kind_str(d: &FamilyDef) -> &'static str {
    match d.kind {
        MetricType::Gauge => "gauge",
        MetricType::Counter => "counter",
    }
}

/// The catalog rows of `resource`, which must exist.
fn rows_of(resource: &str) -> Vec<Row> {
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| r.resource == resource)
        .collect();
    assert!(!rows.is_empty(), "{resource} not in the catalog");
    rows
}

/// The label lists a line of `row` may carry: the row's own and each `# variant` of it after
/// the first `id_len` (identity) labels.
fn label_sets(row: &Row, id_len: usize) -> Vec<Vec<String>> {
    let mut sets = vec![row.labels.clone()];
    for v in variants(&row.metric) {
        let mut alt = row.labels[..id_len].to_vec();
        alt.extend(v);
        sets.push(alt);
    }
    sets
}

/// Renders `fixtures` for each catalog row with `ctx()` and asserts every line carries one of
/// the row's label sets and that every row has a line.
fn check_rendered_labels<T>(
    def: &'static ResourceDef<T>,
    rows: &[Row],
    id_len: usize,
    fixtures: &[T],
    ctx: fn() -> RenderCtx,
) {
    for row in rows {
        let sets = label_sets(row, id_len);
        let mut seen = 0;
        for o in fixtures {
            for l in render_lines(def, o, ctx(), &[row.metric.as_str()]) {
                seen += 1;
                let got = parse_line(&l).1;
                assert!(
                    sets.iter().any(|want| labels_fit(want, &got)),
                    "{l} does not carry the labels {:?}",
                    row.labels
                );
            }
        }
        assert!(seen > 0, "no fixture produces {}", row.metric);
    }
}

/// The table declares the catalog rows of `def.name` in order with their type, stability and
/// opt-in; rendering `fixtures` with every allowlist yields lines for every family, each with
/// exactly the catalog's label names (or a `# variant`). Code wins over the catalog where its
/// notes say they differ: `kube_endpoint_ports` is STABLE and deprecated,
/// `kube_resourcequota_labels` STABLE.
pub fn check<T>(def: &'static ResourceDef<T>, fixtures: &[T]) {
    let rows = rows_of(def.name);
    assert_eq!(rows.len(), def.families.len(), "{}", def.name);
    for (row, fam) in rows.iter().zip(def.families) {
        let d = &fam.def;
        assert_eq!(row.metric, d.name);
        assert_eq!(row.kind, kind_str(d), "{}", d.name);
        let stab = match (d.stability, d.deprecated_since) {
            (Stability::Stable, Some(_)) => "DEPRECATED",
            (Stability::Stable, None) if d.name == "kube_resourcequota_labels" => "EXPERIMENTAL",
            (Stability::Stable, None) => "STABLE",
            (Stability::Experimental, _) => "EXPERIMENTAL",
        };
        assert_eq!(row.stability, stab, "{}", d.name);
        let opt_in = matches!(
            d.name,
            "kube_persistentvolume_csi_attributes" | "kube_pod_nodeselectors"
        );
        assert_eq!(d.opt_in, opt_in, "{}", d.name);
    }
    // identity labels: the first labels every family of the resource shares
    let id_len = rows
        .iter()
        .map(|r| {
            r.labels
                .iter()
                .zip(&rows[0].labels)
                .take_while(|(a, b)| a == b)
                .count()
        })
        .min()
        .unwrap_or(0);
    check_rendered_labels(def, &rows, id_len, fixtures, allow_all);
}

/// The table equals the catalog rows of `resource` (names, types, stability, opt-in) and every
/// family renders from `fixtures` with the catalog's label names, or a `# variant` of them.
/// `id_len` is the number of identity labels, which variants leave implicit.
pub fn check_catalog<T>(
    resource: &str,
    def: &'static ResourceDef<T>,
    id_len: usize,
    fixtures: &[T],
    ctx: fn() -> RenderCtx,
) {
    let rows = rows_of(resource);
    assert_eq!(rows.len(), def.families.len(), "{resource}");
    for (row, fam) in rows.iter().zip(def.families) {
        let d = &fam.def;
        assert_eq!(row.metric, d.name);
        assert_eq!(row.kind, kind_str(d), "{}", d.name);
        let stab = match d.stability {
            Stability::Stable => "STABLE",
            Stability::Experimental => "EXPERIMENTAL",
        };
        let want_stab = if row.stability == "STABLE" {
            "STABLE"
        } else {
            "EXPERIMENTAL"
        };
        assert_eq!(want_stab, stab, "{}", d.name);
        assert_eq!(row.default == "opt-in", d.opt_in, "{}", d.name);
    }
    check_rendered_labels(def, &rows, id_len, fixtures, ctx);
}

/// Every line's label names match the catalog row of its family, and every family of
/// `resource` in the catalog appears at least once in `lines`.
pub fn assert_catalog_labels(resource: &str, lines: &[String]) {
    let rows = rows_of(resource);
    for line in lines {
        let (name, names) = parse_line(line);
        let row = rows
            .iter()
            .find(|r| r.metric == name)
            .unwrap_or_else(|| panic!("{name} is a {resource} family in the catalog"));
        assert!(
            labels_fit(&row.labels, &names),
            "labels of {line:?} are {names:?}, catalog says {:?}",
            row.labels
        );
    }
    for row in &rows {
        assert!(
            lines.iter().any(|l| parse_line(l).0 == row.metric),
            "the fixture renders no {} sample",
            row.metric
        );
    }
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
