//! kube-state-metrics' `toFloat64` for custom resource values, and Go's `%v` rendering of
//! JSON values used for label values. Both leak into output, so both follow KSM exactly.

use serde_json::Value;
use std::fmt;

/// Why a value could not become a sample value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// The path resolved to nothing and `nilIsZero` is off.
    Nil,
    /// A string that is no bool word, timestamp, quantity, percentage or number.
    NotNumeric(String),
    /// An object or array where a number was expected.
    NotScalar(String),
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Nil => write!(f, "expected number but found nil value"),
            ValueError::NotNumeric(s) => {
                write!(f, "strconv.ParseFloat: parsing {s:?}: invalid syntax")
            }
            ValueError::NotScalar(s) => write!(f, "expected number but was {s}"),
        }
    }
}

impl std::error::Error for ValueError {}

/// Converts a resolved value (`None` = nil) the way KSM's `toFloat64` does: numbers as they
/// are, bools 1/0, then for strings in this order: `true`/`yes` → 1 and `false`/`no`/
/// `unknown` → 0 (case-insensitive), RFC3339 → Unix seconds, a Kubernetes quantity, `N%`
/// → N/100, and finally a plain float.
pub fn to_f64(value: Option<&Value>, nil_is_zero: bool) -> Result<f64, ValueError> {
    match value {
        None | Some(Value::Null) => {
            if nil_is_zero {
                Ok(0.0)
            } else {
                Err(ValueError::Nil)
            }
        }
        Some(Value::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) => string_to_f64(s),
        Some(v) => Err(ValueError::NotScalar(go_string(v))),
    }
}

/// The string branch of [`to_f64`], also used to compare `[key=value]` selectors.
pub fn string_to_f64(s: &str) -> Result<f64, ValueError> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "true" | "yes" => return Ok(1.0),
        "false" | "no" | "unknown" => return Ok(0.0),
        _ => {}
    }
    if let Some(t) = rfc3339_seconds(s) {
        return Ok(t);
    }
    if let Some(q) = crate::metrics::quantity::parse_quantity(s) {
        return Ok(q);
    }
    if let Some(digits) = s.strip_suffix('%') {
        // validation.IsValidPercent: ^[0-9]+%$
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return digits
                .parse::<f64>()
                .map(|v| v / 100.0)
                .map_err(|_| ValueError::NotNumeric(s.to_string()));
        }
    }
    parse_go_float(s).ok_or_else(|| ValueError::NotNumeric(s.to_string()))
}

/// `strconv.ParseFloat(s, 64)` for the forms that matter: decimal and exponent notation,
/// and Go's spellings of infinity and NaN.
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.to_ascii_lowercase().parse::<f64>().ok();
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b"._eE+-".contains(&b))
    {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

/// Go's `time.Parse(time.RFC3339, s)`: `2006-01-02T15:04:05Z07:00`, optional fraction,
/// whole seconds returned (`t.Unix()`).
fn rfc3339_seconds(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" => 0,
        _ => {
            let ob = rest.as_bytes();
            if ob.len() != 6 || !(ob[0] == b'+' || ob[0] == b'-') || ob[3] != b':' {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if ob[0] == b'-' {
                -o
            } else {
                o
            }
        }
    };
    let days = days_from_civil(year, month, day);
    Some((days * 86400 + hour * 3600 + min * 60 + sec - offset) as f64)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Go's `fmt.Sprintf("%v", v)` of a decoded JSON value: integers as integers, other
/// numbers in `%g` style, `map[k:v ...]` with sorted keys, `[a b]` for arrays, `<nil>`.
pub fn go_string(v: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, v);
    out
}

fn write_go(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                let mut b = Vec::new();
                crate::exposition::format::write_float(&mut b, n.as_f64().unwrap_or(0.0));
                out.push_str(&String::from_utf8_lossy(&b));
            }
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_go(out, x);
                }
            }
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: Value) -> Result<f64, ValueError> {
        to_f64(Some(&v), false)
    }

    /// The conversions of KSM's `Test_values` (timestamp, quantities, percentage, bool
    /// words) plus the strings a condition status takes.
    #[test]
    fn converts_like_ksm_to_float64() {
        assert_eq!(f(json!("2022-06-28T00:00:00Z")), Ok(1656374400.0));
        assert_eq!(f(json!("2022-06-28T02:00:00.5+02:00")), Ok(1656374400.0));
        assert_eq!(f(json!("250m")), Ok(0.25));
        assert_eq!(f(json!("5Gi")), Ok(5368709120.0));
        assert_eq!(f(json!("28%")), Ok(0.28));
        assert_eq!(f(json!("39%")), Ok(0.39));
        assert_eq!(f(json!("True")), Ok(1.0));
        assert_eq!(f(json!("yes")), Ok(1.0));
        assert_eq!(f(json!("False")), Ok(0.0));
        assert_eq!(f(json!("NO")), Ok(0.0));
        assert_eq!(f(json!("Unknown")), Ok(0.0));
        assert_eq!(f(json!(true)), Ok(1.0));
        assert_eq!(f(json!(43.21)), Ok(43.21));
        assert_eq!(f(json!(7)), Ok(7.0));
        assert_eq!(f(json!("1.5e3")), Ok(1500.0));
        assert_eq!(f(json!("-2.5")), Ok(-2.5));
        assert!(f(json!("+Inf")).is_ok_and(|v| v.is_infinite()));
        assert_eq!(f(json!("abc")), Err(ValueError::NotNumeric("abc".into())));
        assert_eq!(
            f(json!("12.5%")),
            Err(ValueError::NotNumeric("12.5%".into()))
        );
        assert_eq!(
            f(json!({"a": 1})),
            Err(ValueError::NotScalar("map[a:1]".into()))
        );
        assert_eq!(to_f64(None, false), Err(ValueError::Nil));
        assert_eq!(to_f64(None, true), Ok(0.0));
        assert_eq!(to_f64(Some(&Value::Null), true), Ok(0.0));
    }

    #[test]
    fn rejects_malformed_timestamps() {
        assert_eq!(rfc3339_seconds("2022-02-30T00:00:00Z"), None);
        assert_eq!(rfc3339_seconds("2022-06-28 00:00:00Z"), None);
        assert_eq!(rfc3339_seconds("2022-06-28T00:00:00"), None);
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00-01:30"), Some(5400.0));
    }

    #[test]
    fn go_value_formatting() {
        assert_eq!(go_string(&json!(1)), "1");
        assert_eq!(go_string(&json!(1.5)), "1.5");
        assert_eq!(go_string(&json!(1e21)), "1e+21");
        assert_eq!(go_string(&json!(false)), "false");
        assert_eq!(go_string(&json!(["a", 1])), "[a 1]");
        assert_eq!(go_string(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
    }
}
