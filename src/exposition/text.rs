//! The exposition lines of self-metrics and other hand-written families: a `# HELP`/`# TYPE`
//! header and one sample line, text format 0.0.4. Object families go through
//! `metrics::family` instead, which writes the compact form the stores keep.

use super::format::{write_float, write_label_value};

/// `# HELP` and `# TYPE` of one family.
pub fn header(out: &mut Vec<u8>, name: &str, help: &str, kind: &str) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    super::format::write_help(out, help);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(kind.as_bytes());
    out.push(b'\n');
}

/// One sample: `name{k="v",...} value`.
pub fn line(out: &mut Vec<u8>, name: &str, labels: &[(&str, &str)], v: f64) {
    out.extend_from_slice(name.as_bytes());
    if !labels.is_empty() {
        out.push(b'{');
        for (i, (k, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"=\"");
            write_label_value(out, val);
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b' ');
    write_float(out, v);
    out.push(b'\n');
}
