//! Kubernetes resource quantities (`250m`, `512Mi`, `1e3`) as the float kube-state-metrics
//! exposes: `MilliValue()/1000`, or `Value()` when the milli value would overflow an i64.
//! Parsed with integer arithmetic so `1.1` stays 1.1 and not 1.101 after rounding up.

/// Returns `None` for a string that is not a quantity.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    // mantissa as integer digits with `scale` decimal places, accumulated without leading
    // zeros (more than 30 significant digits take the float path below)
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    let mut mantissa: i128 = 0;
    let mut significant = 0usize;
    for &b in int_part.as_bytes().iter().chain(frac_part.as_bytes()) {
        if significant == 0 && b == b'0' {
            continue;
        }
        significant += 1;
        if significant <= 30 {
            mantissa = mantissa * 10 + i128::from(b - b'0');
        }
    }
    let mut dec_exp: i32 = -(frac_part.len() as i32);
    let mut bin_exp: u32 = 0;
    match suffix {
        "" => {}
        "n" => dec_exp -= 9,
        "u" => dec_exp -= 6,
        "m" => dec_exp -= 3,
        "k" => dec_exp += 3,
        "M" => dec_exp += 6,
        "G" => dec_exp += 9,
        "T" => dec_exp += 12,
        "P" => dec_exp += 15,
        "E" => dec_exp += 18,
        "Ki" => bin_exp = 10,
        "Mi" => bin_exp = 20,
        "Gi" => bin_exp = 30,
        "Ti" => bin_exp = 40,
        "Pi" => bin_exp = 50,
        "Ei" => bin_exp = 60,
        other => {
            let e = other
                .strip_prefix('e')
                .or_else(|| other.strip_prefix('E'))?;
            let e: i32 = e.parse().ok()?;
            dec_exp += e;
        }
    }
    if significant == 0 {
        return Some(0.0);
    }
    let sign = if neg { -1.0 } else { 1.0 };
    // milli = ceil(mantissa * 2^bin * 10^(dec_exp+3)), all integer when it fits i128.
    let exact = (|| -> Option<f64> {
        if significant > 30 {
            return None;
        }
        let m = mantissa.checked_mul(1i128.checked_shl(bin_exp)?)?;
        let e = dec_exp + 3;
        let milli = if e >= 0 {
            m.checked_mul(10i128.checked_pow(e as u32)?)?
        } else {
            let d = 10i128.checked_pow((-e) as u32)?;
            // ceil toward +inf of the magnitude as Go's resource.Quantity rounds up
            let q = m / d;
            if m % d != 0 {
                if neg {
                    q
                } else {
                    q + 1
                }
            } else {
                q
            }
        };
        if milli > i64::MAX as i128 {
            // Value(): whole units, rounded up.
            let unit = milli / 1000 + if milli % 1000 != 0 { 1 } else { 0 };
            return Some(unit as f64);
        }
        Some(milli as f64 / 1000.0)
    })();
    match exact {
        Some(v) => Some(sign * v),
        None => {
            let m: f64 = num.parse().ok()?;
            Some(
                sign * m * 2f64.powi(bin_exp as i32) * 10f64.powi(dec_exp + frac_part.len() as i32),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_quantity as q;

    /// Found by the `quantity` fuzz target: above 2^53 milli-units the value is KSM's
    /// `float64(q.MilliValue()) / 1000`, rounding included, not the integer itself.
    #[test]
    fn large_integers_round_as_kube_state_metrics_does() {
        let milli: i64 = 113_333_333_331_033_000;
        assert_eq!(q("113333333331033"), Some(milli as f64 / 1000.0));
        assert_eq!(q("999999999999"), Some(999_999_999_999.0));
    }

    #[test]
    fn parses_suffixes_and_rounds_up_to_milli() {
        assert_eq!(q("250m"), Some(0.25));
        assert_eq!(q("1.1"), Some(1.1));
        assert_eq!(q("2"), Some(2.0));
        assert_eq!(q("512Mi"), Some(536870912.0));
        assert_eq!(q("1Gi"), Some(1073741824.0));
        assert_eq!(q("1k"), Some(1000.0));
        assert_eq!(q("1e3"), Some(1000.0));
        assert_eq!(q("100n"), Some(0.001));
        assert_eq!(q("0"), Some(0.0));
        assert_eq!(q("-1"), Some(-1.0));
        assert_eq!(q("110"), Some(110.0));
        assert_eq!(q("3.5Gi"), Some(3758096384.0));
        assert_eq!(q("abc"), None);
        assert_eq!(q("1Zi"), None);
        assert_eq!(q(""), None);
        assert_eq!(q("000.000"), Some(0.0));
        assert_eq!(q("0.0015"), Some(0.002));
        assert_eq!(q("-0.0015"), Some(-0.001));
        // beyond 30 significant digits: the float path
        assert_eq!(
            q("12345678901234567890123456789012345"),
            "12345678901234567890123456789012345".parse().ok()
        );
    }
}
