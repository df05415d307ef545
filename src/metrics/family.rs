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
            push_label_value(buf, v);
            buf.push(b'"');
        }
        if !first {
            buf.push(b'}');
        }
        buf.push(b' ');
        push_value(buf, value);
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

/// [`write_label_value`] for the usual value, which has nothing to escape: found so eight
/// bytes at a time and copied whole. Rendering a pod writes ~150 label values.
fn push_label_value(buf: &mut Vec<u8>, v: &str) {
    if needs_escape(v.as_bytes()) {
        write_label_value(buf, v);
    } else {
        buf.extend_from_slice(v.as_bytes());
    }
}

/// Whether `b` holds a backslash, newline or double quote.
fn needs_escape(b: &[u8]) -> bool {
    memchr::memchr3(b'\\', b'\n', b'"', b).is_some()
}

/// [`write_float`] with a fast path for whole numbers below 2^53 (counts, sizes, Unix
/// timestamps: most values that are not 0 or 1). Their shortest round-trip digits are the
/// integer's own digits without trailing zeros (a shorter digit string is another integer,
/// at least 1 away, while doubles here are at most 1 apart), so Go's `%g` form is built
/// from the integer: plain below 1e6, `d.ddde+XX` from there.
fn push_value(buf: &mut Vec<u8>, v: f64) {
    const TWO_53: f64 = 9_007_199_254_740_992.0;
    if !(v.fract() == 0.0 && v.abs() < TWO_53) {
        write_float(buf, v);
        return;
    }
    let mut n = v.abs() as u64;
    if n == 0 {
        buf.push(b'0'); // -0 included, as write_float prints it
        return;
    }
    if v < 0.0 {
        buf.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    while n > 0 {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let digits = &digits[start..];
    let exp = digits.len() - 1;
    if exp < 6 {
        buf.extend_from_slice(digits);
        return;
    }
    let end = digits.iter().rposition(|&d| d != b'0').map_or(1, |p| p + 1);
    buf.push(digits[0]);
    if end > 1 {
        buf.push(b'.');
        buf.extend_from_slice(&digits[1..end]);
    }
    buf.extend_from_slice(b"e+");
    buf.push(b'0' + (exp / 10) as u8);
    buf.push(b'0' + (exp % 10) as u8);
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
    fn value_fast_path_matches_write_float() {
        let mut vals = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            10.0,
            999_999.0,
            1e6,
            1_000_001.0,
            1.5e9,
            1_767_225_600.0,
            1_767_225_601.0,
            -1_767_225_600.0,
            -62_135_596_800.0,
            536_870_912.0,
            4096.0,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            1e16,
            1e21,
            0.25,
            0.1,
            1.1,
            -0.5,
            2.5e-5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        // every digit count and trailing-zero count, both signs
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = x % 10u64.pow((x >> 59) as u32 % 16 + 1);
            let zeros = 10u64.pow((x >> 40) as u32 % 8);
            let v = n.saturating_mul(zeros) as f64;
            vals.push(v);
            vals.push(-v);
        }
        for v in vals {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            push_value(&mut fast, v);
            write_float(&mut slow, v);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap(),
                "{v:?}"
            );
        }
    }

    #[test]
    fn label_value_fast_path_matches_write_label_value() {
        let base = "abcdefghijklmnopqrstéuvwxyz0123456789";
        let boundaries = || (0..=base.len()).filter(|&i| base.is_char_boundary(i));
        for len in boundaries() {
            for pos in boundaries().take_while(|&p| p <= len) {
                for c in ["", "\\", "\n", "\"", "\t", "\u{7f}", "\u{5c}x"] {
                    let v = format!("{}{c}{}", &base[..pos], &base[pos..len]);
                    let (mut fast, mut slow) = (Vec::new(), Vec::new());
                    push_label_value(&mut fast, &v);
                    write_label_value(&mut slow, &v);
                    assert_eq!(fast, slow, "{v:?}");
                }
            }
        }
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
