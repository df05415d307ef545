//! Byte-level formatting shared by every exposition writer.
//!
//! kube-state-metrics formats values with Go's `strconv.AppendFloat(f, 'g', -1, 64)` and
//! escapes label values the text-format way; both leak into output bytes, so dashboards that
//! diff or regex over values see the same text from kubestate.

/// Appends `v` the way Go's `strconv.AppendFloat(v, 'g', -1, 64)` prints it: shortest
/// round-trip digits, exponent form (`d.ddde±XX`) when the decimal exponent is below -4 or at
/// least 6, plain decimal otherwise. `1`, `0` and `-1` are literal, as in kube-state-metrics.
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    if v == 1.0 {
        out.push(b'1');
        return;
    }
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    if v == -1.0 {
        out.extend_from_slice(b"-1");
        return;
    }
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    // Rust's LowerExp without precision prints the shortest round-trip digits: "1.2345e6".
    let mut tmp = [0u8; 40];
    let s = {
        use std::io::Write;
        let mut cur = std::io::Cursor::new(&mut tmp[..]);
        let _ = write!(cur, "{:e}", v.abs());
        let n = cur.position() as usize;
        &tmp[..n]
    };
    let epos = s.iter().position(|&c| c == b'e').unwrap_or(s.len());
    let mantissa = &s[..epos];
    let exp: i32 = std::str::from_utf8(&s[epos + 1..])
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut nd = 0;
    for &c in mantissa {
        if c.is_ascii_digit() && nd < digits.len() {
            digits[nd] = c;
            nd += 1;
        }
    }
    let digits = &digits[..nd];
    if v < 0.0 {
        out.push(b'-');
    }
    // Go's shortest %g fixes the switch-over exponent at 6.
    if !(-4..6).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(a.to_string().as_bytes());
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(digits);
            for _ in digits.len()..int_len {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

/// Appends a label value escaped as the text format requires: backslash, newline and double
/// quote; everything else, UTF-8 included, passes through (as kube-state-metrics does).
pub fn write_label_value(out: &mut Vec<u8>, v: &str) {
    let bytes = v.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Escapes HELP text: backslash and newline only.
pub fn write_help(out: &mut Vec<u8>, v: &str) {
    for &b in v.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut o = Vec::new();
        write_float(&mut o, v);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn floats_match_go_shortest_g() {
        assert_eq!(f(1500000000.0), "1.5e+09");
        assert_eq!(f(3e8), "3e+08");
        assert_eq!(f(123456.0), "123456");
        assert_eq!(f(1234567.0), "1.234567e+06");
        assert_eq!(f(999999.0), "999999");
        assert_eq!(f(1000000.0), "1e+06");
        assert_eq!(f(0.2), "0.2");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(1.501779547e9), "1.501779547e+09");
        assert_eq!(f(2.5), "2.5");
        assert_eq!(f(-3.0), "-3");
        assert_eq!(f(-0.5), "-0.5");
        assert_eq!(f(100.0), "100");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1.0), "1");
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-1.0), "-1");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(f(1.6777216e7), "1.6777216e+07");
        assert_eq!(f(4096.0), "4096");
        assert_eq!(f(0.25), "0.25");
    }

    #[test]
    fn label_values_escape_three_characters() {
        let mut o = Vec::new();
        write_label_value(&mut o, "a\\b\"c\nd\té");
        assert_eq!(String::from_utf8(o).unwrap(), "a\\\\b\\\"c\\nd\té");
    }
}
