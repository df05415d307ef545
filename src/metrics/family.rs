//! What every resource's family table shares: the family declaration, the sample writer the
//! generators push into, and the conversion of Kubernetes labels/annotations to Prometheus
//! labels exactly as kube-state-metrics does it (it leaks into label names users query).

use crate::exposition::format::{write_float, write_label_value};
use crate::exposition::negotiate::Format;
use crate::metrics::filter::KeyFilter;
use std::collections::BTreeMap;

/// The `# TYPE` of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        }
    }
}

/// Stability as kube-state-metrics declares it; STABLE families get `[STABLE] ` before their
/// help text, everything else is written without prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stability {
    Stable,
    Experimental,
}

/// A family's static declaration.
#[derive(Clone, Copy, Debug)]
pub struct FamilyDef {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricType,
    pub stability: Stability,
    /// Only emitted when `--metric-opt-in-list` matches the name.
    pub opt_in: bool,
    /// `Some("v2.14.0")` adds `(Deprecated since v2.14.0) ` to the help text.
    pub deprecated_since: Option<&'static str>,
}

impl FamilyDef {
    /// `# HELP`/`# TYPE` as kube-state-metrics writes them in text format 0.0.4.
    pub fn header(&self) -> Vec<u8> {
        self.header_for(Format::Text)
    }

    /// The header in either format. OpenMetrics names a counter family without its `_total`
    /// suffix (the samples keep it) and escapes `"` in HELP, so Prometheus stores the very
    /// same series from both formats.
    pub fn header_for(&self, format: Format) -> Vec<u8> {
        let name = match (format, self.kind) {
            (Format::OpenMetrics, MetricType::Counter) => {
                self.name.strip_suffix("_total").unwrap_or(self.name)
            }
            _ => self.name,
        };
        let mut out = Vec::with_capacity(name.len() * 2 + self.help.len() + 32);
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        let mut help = Vec::with_capacity(self.help.len() + 32);
        if self.stability == Stability::Stable {
            help.extend_from_slice(b"[STABLE] ");
        }
        if let Some(v) = self.deprecated_since {
            help.extend_from_slice(b"(Deprecated since ");
            help.extend_from_slice(v.as_bytes());
            help.extend_from_slice(b") ");
        }
        help.extend_from_slice(self.help.as_bytes());
        let help = String::from_utf8_lossy(&help);
        match format {
            Format::Text => crate::exposition::format::write_help(&mut out, &help),
            Format::OpenMetrics => crate::exposition::format::write_label_value(&mut out, &help),
        }
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.push(b'\n');
        out
    }
}

/// What a generator may consult besides the object: the resource's label and annotation
/// allowlists (`--metric-labels-allowlist`, `--metric-annotations-allowlist`).
#[derive(Default, Debug, Clone)]
pub struct RenderCtx {
    pub labels: KeyFilter,
    pub annotations: KeyFilter,
}

/// One family of resource `T`: its declaration and the function producing its samples.
pub struct Family<T> {
    pub def: FamilyDef,
    pub generate: fn(&T, &RenderCtx, &mut Samples),
}

impl<T> Family<T> {
    pub const fn new(
        name: &'static str,
        help: &'static str,
        kind: MetricType,
        stability: Stability,
        generate: fn(&T, &RenderCtx, &mut Samples),
    ) -> Self {
        Family {
            def: FamilyDef {
                name,
                help,
                kind,
                stability,
                opt_in: false,
                deprecated_since: None,
            },
            generate,
        }
    }

    /// A STABLE gauge, the most common kind.
    pub const fn stable(
        name: &'static str,
        help: &'static str,
        generate: fn(&T, &RenderCtx, &mut Samples),
    ) -> Self {
        Self::new(name, help, MetricType::Gauge, Stability::Stable, generate)
    }

    /// An EXPERIMENTAL (ALPHA) gauge.
    pub const fn experimental(
        name: &'static str,
        help: &'static str,
        generate: fn(&T, &RenderCtx, &mut Samples),
    ) -> Self {
        Self::new(
            name,
            help,
            MetricType::Gauge,
            Stability::Experimental,
            generate,
        )
    }

    pub const fn counter(mut self) -> Self {
        self.def.kind = MetricType::Counter;
        self
    }

    pub const fn opt_in(mut self) -> Self {
        self.def.opt_in = true;
        self
    }

    pub const fn deprecated(mut self, since: &'static str) -> Self {
        self.def.deprecated_since = Some(since);
        self
    }
}

/// Writes the sample lines of one family of one object into the object's buffer. The
/// object's identity labels (`namespace="…",pod="…",uid="…"`) were escaped once and come
/// first on every line, as kube-state-metrics' wrappers put them.
pub struct Samples<'a> {
    buf: &'a mut Vec<u8>,
    name: &'a str,
    identity: &'a [u8],
    /// Write only what follows `name{identity` on each line; the store keeps the name and
    /// the identity once per family and object and puts them back at scrape time (most of
    /// a line is the object's own identity labels: holding them once shrinks the stores 2-3x).
    compact: bool,
}

impl<'a> Samples<'a> {
    /// Writes whole lines.
    pub fn new(buf: &'a mut Vec<u8>, name: &'a str, identity: &'a [u8]) -> Self {
        Samples {
            buf,
            name,
            identity,
            compact: false,
        }
    }

    /// Writes each line without its name and identity labels (see [`crate::store::RenderedObject`]).
    pub fn compact(buf: &'a mut Vec<u8>, identity: &'a [u8]) -> Self {
        Samples {
            buf,
            name: "",
            identity,
            compact: true,
        }
    }

    /// One sample: identity labels, then `labels` in the given order, then the value.
    pub fn push<K: AsRef<str>, V: AsRef<str>>(&mut self, labels: &[(K, V)], value: f64) {
        self.push_iter(labels.iter().map(|(k, v)| (k.as_ref(), v.as_ref())), value);
    }

    /// Like [`Samples::push`] with the family labels from an iterator, so that fixed and
    /// dynamic (label_*) labels can be chained without building a vector.
    pub fn push_iter<'k, I>(&mut self, labels: I, value: f64)
    where
        I: IntoIterator<Item = (&'k str, &'k str)>,
    {
        let buf = &mut *self.buf;
        let mut first = true;
        if !self.compact {
            buf.extend_from_slice(self.name.as_bytes());
            if !self.identity.is_empty() {
                buf.push(b'{');
                buf.extend_from_slice(self.identity);
            }
        }
        if !self.identity.is_empty() {
            first = false;
        }
        for (k, v) in labels {
            buf.push(if first { b'{' } else { b',' });
            first = false;
            buf.extend_from_slice(k.as_bytes());
            buf.extend_from_slice(b"=\"");
            write_label_value(buf, v);
            buf.push(b'"');
        }
        if !first {
            buf.push(b'}');
        }
        buf.push(b' ');
        write_float(buf, value);
        buf.push(b'\n');
    }

    /// A sample with only the identity labels.
    pub fn value(&mut self, value: f64) {
        self.push_iter(std::iter::empty(), value);
    }

    /// A sample with only the identity labels when there is a value (an absent field writes
    /// no sample, as kube-state-metrics does for nil pointers).
    pub fn value_if(&mut self, value: Option<f64>) {
        if let Some(v) = value {
            self.value(v);
        }
    }
}

/// Escapes identity labels once per object: `k1="v1",k2="v2"`.
pub fn identity_labels(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"=\"");
        write_label_value(&mut out, v);
        out.push(b'"');
    }
    out
}

/// `[^a-zA-Z0-9_]` → `_`, then `([a-z0-9])([A-Z])` → `$1_$2`, then lower case: the label
/// name kube-state-metrics derives from a Kubernetes label key.
pub fn sanitize_label_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev: Option<char> = None;
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        };
        if c.is_ascii_uppercase() {
            if let Some(p) = prev {
                if p.is_ascii_lowercase() || p.is_ascii_digit() {
                    out.push('_');
                }
            }
        }
        out.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    out
}

/// Converts the allowed keys of a label/annotation map into Prometheus label pairs named
/// `<prefix>_<sanitized key>`, in the order of the original keys, with kube-state-metrics'
/// conflict suffixes when two keys sanitize to the same name.
pub fn kube_map_to_labels(
    prefix: &str,
    map: Option<&BTreeMap<String, String>>,
    filter: &KeyFilter,
) -> Vec<(String, String)> {
    let Some(map) = map else {
        return Vec::new();
    };
    let allowed = map.iter().filter(|(k, _)| filter.allows(k));
    map_to_labels(prefix, allowed)
}

/// Every key of the map (no allowlist), as for `kube_pod_nodeselectors`.
pub fn kube_map_to_labels_all(
    prefix: &str,
    map: Option<&BTreeMap<String, String>>,
) -> Vec<(String, String)> {
    match map {
        Some(m) => map_to_labels(prefix, m.iter()),
        None => Vec::new(),
    }
}

fn map_to_labels<'a>(
    prefix: &str,
    entries: impl Iterator<Item = (&'a String, &'a String)>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // name -> (index of the first holder in `out`, how many share it so far)
    let mut seen: std::collections::HashMap<String, (usize, u32)> =
        std::collections::HashMap::new();
    for (k, v) in entries {
        let base = format!("{}_{}", prefix, sanitize_label_name(k));
        match seen.get_mut(&base) {
            None => {
                seen.insert(base.clone(), (out.len(), 1));
                out.push((base, v.clone()));
            }
            Some((first, count)) => {
                let first = *first;
                if *count == 1 {
                    out[first].0 = format!("{base}_conflict1");
                }
                *count += 1;
                let mut n = *count;
                let taken =
                    |name: &str, out: &Vec<(String, String)>| out.iter().any(|(k, _)| k == name);
                let mut name = format!("{base}_conflict{n}");
                while taken(&name, &out) || seen.contains_key(&name) {
                    n += 1;
                    name = format!("{base}_conflict{n}");
                }
                if let Some(e) = seen.get_mut(&base) {
                    e.1 = n;
                }
                out.push((name, v.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_kube_state_metrics() {
        assert_eq!(
            sanitize_label_name("app.kubernetes.io/name"),
            "app_kubernetes_io_name"
        );
        assert_eq!(sanitize_label_name("fooBar"), "foo_bar");
        assert_eq!(sanitize_label_name("ABC"), "abc");
        assert_eq!(sanitize_label_name("a1B"), "a1_b");
        assert_eq!(sanitize_label_name("k8s-app"), "k8s_app");
    }

    #[test]
    fn conflicting_keys_get_numbered_suffixes() {
        let mut m = BTreeMap::new();
        m.insert("a-b".to_string(), "1".to_string());
        m.insert("a.b".to_string(), "2".to_string());
        m.insert("a_b".to_string(), "3".to_string());
        m.insert("c".to_string(), "4".to_string());
        let got = kube_map_to_labels("label", Some(&m), &KeyFilter::all());
        let names: Vec<_> = got.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            names,
            vec![
                "label_a_b_conflict1=1",
                "label_a_b_conflict2=2",
                "label_a_b_conflict3=3",
                "label_c=4"
            ]
        );
    }

    #[test]
    fn samples_put_identity_first_and_escape() {
        let id = identity_labels(&[("namespace", "ns"), ("pod", "p\"1")]);
        let mut buf = Vec::new();
        let mut s = Samples::new(&mut buf, "kube_pod_x", &id);
        s.push(&[("phase", "Running")], 1.0);
        s.value(1.5e9);
        let mut s = Samples::new(&mut buf, "kube_y", b"");
        s.value(0.0);
        s.push(&[("a", "b")], 2.0);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "kube_pod_x{namespace=\"ns\",pod=\"p\\\"1\",phase=\"Running\"} 1\n\
             kube_pod_x{namespace=\"ns\",pod=\"p\\\"1\"} 1.5e+09\n\
             kube_y 0\n\
             kube_y{a=\"b\"} 2\n"
        );
    }

    #[test]
    fn openmetrics_counter_header_drops_total() {
        let f: Family<()> =
            Family::stable("kube_x_restarts_total", "Say \"hi\".", |_, _, _| {}).counter();
        assert_eq!(
            String::from_utf8(f.def.header_for(Format::OpenMetrics)).unwrap(),
            "# HELP kube_x_restarts [STABLE] Say \\\"hi\\\".\n# TYPE kube_x_restarts counter\n"
        );
        assert_eq!(
            String::from_utf8(f.def.header_for(Format::Text)).unwrap(),
            "# HELP kube_x_restarts_total [STABLE] Say \"hi\".\n# TYPE kube_x_restarts_total counter\n"
        );
    }

    #[test]
    fn header_prefixes_stability_and_deprecation() {
        let f: Family<()> =
            Family::stable("kube_endpoint_ports", "Ports.", |_, _, _| {}).deprecated("v2.14.0");
        assert_eq!(
            String::from_utf8(f.def.header()).unwrap(),
            "# HELP kube_endpoint_ports [STABLE] (Deprecated since v2.14.0) Ports.\n# TYPE kube_endpoint_ports gauge\n"
        );
    }
}
