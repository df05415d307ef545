//! Comparing expositions: a gzip `/metrics` body writes each family's lines in the cache's
//! order (by namespace and name), a plain one in store order; the order of lines within a
//! family carries no meaning in either format.

/// Asserts that `got` is `want` up to the order of lines within a family: the same header
/// lines in the same order, each family followed by the same lines, the same total length.
pub fn assert_same_exposition(got: &[u8], want: &[u8], what: &str) {
    let got = std::str::from_utf8(got).expect("utf-8 exposition");
    let want = std::str::from_utf8(want).expect("utf-8 exposition");
    let (g, w) = (families(got), families(want));
    assert_eq!(g.len(), w.len(), "{what}: number of families");
    for (a, b) in g.iter().zip(&w) {
        assert!(a == b, "{what}: family {} differs", b.0.trim_end());
    }
    assert_eq!(got.len(), want.len(), "{what}: length");
}

/// Per family: its header lines and its sample lines, sorted.
fn families(body: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    let mut in_header = false;
    for l in body.lines() {
        if l.starts_with('#') {
            if !in_header {
                out.push((String::new(), Vec::new()));
            }
            in_header = true;
            let last = out.last_mut().expect("pushed");
            last.0.push_str(l);
            last.0.push('\n');
        } else {
            in_header = false;
            match out.last_mut() {
                Some(f) => f.1.push(l),
                None => panic!("a sample before any header: {l}"),
            }
        }
    }
    for f in &mut out {
        f.1.sort_unstable();
    }
    out
}
