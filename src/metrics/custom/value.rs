//! kube-state-metrics' `toFloat64` for custom resource values, and Go's `%v` rendering of
//! JSON values used for label values. Both leak into output, so both follow KSM exactly.

use serde_json::Value;
use std::fmt;

use crate::kube::time::parse_rfc3339;

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
    // Go's `time.Parse(time.RFC3339, s)`, then `t.Unix()`.
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t.unix_seconds as f64);
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
        // The parser's own cases are in `kube::time`; here, that a rejected timestamp is
        // not a number either and an accepted one is its Unix seconds.
        for bad in [
            "2022-02-30T00:00:00Z",
            "2022-06-28 00:00:00Z",
            "2022-06-28T00:00:00",
        ] {
            assert_eq!(f(json!(bad)), Err(ValueError::NotNumeric(bad.into())));
        }
        assert_eq!(f(json!("1970-01-01T00:00:00-01:30")), Ok(5400.0));
        assert_eq!(f(json!("1969-12-31T23:59:59.5Z")), Ok(-1.0));
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
