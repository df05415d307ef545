//! Kubernetes label and field selectors, evaluated client-side: kubestate keeps one watch per
//! resource for every job, so a job's `selectors` filter the shared cache instead of the
//! API server's LIST/WATCH.

use std::collections::BTreeMap;
use std::fmt;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// One requirement of a field selector: `field=value`, `field==value` or `field!=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldReq {
    pub field: String,
    pub value: String,
    pub negate: bool,
}

/// Why a selector string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorError {
    /// A requirement that is none of the supported forms.
    Syntax {
        requirement: String,
    },
    /// A label key or value the API server would refuse.
    InvalidKey {
        key: String,
    },
    InvalidValue {
        value: String,
    },
    /// A field this resource cannot be selected on.
    UnknownField {
        field: String,
        allowed: &'static [&'static str],
    },
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorError::Syntax { requirement } => {
                write!(f, "cannot parse requirement {requirement:?}")
            }
            SelectorError::InvalidKey { key } => write!(f, "invalid label key {key:?}"),
            SelectorError::InvalidValue { value } => write!(f, "invalid label value {value:?}"),
            SelectorError::UnknownField { field, allowed } => write!(
                f,
                "field {field:?} is not selectable here (allowed: {})",
                allowed.join(", ")
            ),
        }
    }
}

/// What selectors look at: an object's labels and its selectable fields.
pub trait Selectable {
    fn labels(&self) -> Option<&BTreeMap<String, String>>;
    /// The value of a field path such as `metadata.name`; `""` when unset, as the API server
    /// compares it.
    fn field(&self, path: &str) -> String;
}

/// A role's label and field selectors; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub label: Vec<LabelReq>,
    pub field: Vec<FieldReq>,
}

impl Selector {
    pub fn matches(&self, obj: &dyn Selectable) -> bool {
        let empty = BTreeMap::new();
        let labels = obj.labels().unwrap_or(&empty);
        self.label.iter().all(|r| label_matches(r, labels))
            && self
                .field
                .iter()
                .all(|r| (obj.field(&r.field) == r.value) != r.negate)
    }
}

fn label_matches(r: &LabelReq, labels: &BTreeMap<String, String>) -> bool {
    match r {
        LabelReq::Eq(k, v) => labels.get(k) == Some(v),
        LabelReq::NotEq(k, v) => labels.get(k) != Some(v),
        LabelReq::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
        LabelReq::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
        LabelReq::Exists(k) => labels.contains_key(k),
        LabelReq::NotExists(k) => !labels.contains_key(k),
    }
}

/// Splits on commas outside parentheses: `a in (x,y),b` is two requirements.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// `[prefix/]name`: prefix a DNS subdomain, name 1-63 chars of `[A-Za-z0-9._-]` starting and
/// ending alphanumeric.
fn valid_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        if p.is_empty()
            || p.len() > 253
            || !p
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return false;
        }
    }
    !name.is_empty() && name.len() <= 63 && valid_value(name)
}

/// Empty, or up to 63 chars of `[A-Za-z0-9._-]` starting and ending alphanumeric.
fn valid_value(v: &str) -> bool {
    if v.is_empty() {
        return true;
    }
    let b = v.as_bytes();
    v.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn key(k: &str) -> Result<String, SelectorError> {
    let k = k.trim();
    if valid_key(k) {
        Ok(k.to_string())
    } else {
        Err(SelectorError::InvalidKey { key: k.to_string() })
    }
}

fn value(v: &str) -> Result<String, SelectorError> {
    let v = v.trim();
    if valid_value(v) {
        Ok(v.to_string())
    } else {
        Err(SelectorError::InvalidValue {
            value: v.to_string(),
        })
    }
}

/// Finds ` in (` / ` notin (` set requirements: returns key, negated, values.
fn set_req(r: &str) -> Option<(&str, bool, &str)> {
    let open = r.find('(')?;
    let inner = r[open + 1..].strip_suffix(')')?;
    let head = r[..open].trim_end();
    if let Some(k) = head.strip_suffix(" notin") {
        return Some((k, true, inner));
    }
    if let Some(k) = head.strip_suffix(" in") {
        return Some((k, false, inner));
    }
    None
}

/// Parses Kubernetes label selector syntax (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`).
pub fn parse_label_selector(s: &str) -> Result<Vec<LabelReq>, SelectorError> {
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Ok(out);
    }
    for part in split_top(s) {
        let r = part.trim();
        let syntax = || SelectorError::Syntax {
            requirement: r.to_string(),
        };
        if r.is_empty() {
            return Err(syntax());
        }
        if let Some((k, neg, inner)) = set_req(r) {
            let vals = inner.split(',').map(value).collect::<Result<Vec<_>, _>>()?;
            let k = key(k)?;
            out.push(if neg {
                LabelReq::NotIn(k, vals)
            } else {
                LabelReq::In(k, vals)
            });
        } else if let Some((k, v)) = r.split_once("!=") {
            out.push(LabelReq::NotEq(key(k)?, value(v)?));
        } else if let Some((k, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
            out.push(LabelReq::Eq(key(k)?, value(v)?));
        } else if let Some(k) = r.strip_prefix('!') {
            out.push(LabelReq::NotExists(key(k)?));
        } else if r.contains(['(', ')', '<', '>', ' ']) {
            return Err(syntax());
        } else {
            out.push(LabelReq::Exists(key(r)?));
        }
    }
    Ok(out)
}

/// Parses field selector syntax (`f=v`, `f==v`, `f!=v`), accepting only `allowed` fields.
pub fn parse_field_selector(
    s: &str,
    allowed: &'static [&'static str],
) -> Result<Vec<FieldReq>, SelectorError> {
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Ok(out);
    }
    for part in s.split(',') {
        let r = part.trim();
        let (f, v, negate) = if let Some((f, v)) = r.split_once("!=") {
            (f, v, true)
        } else if let Some((f, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
            (f, v, false)
        } else {
            return Err(SelectorError::Syntax {
                requirement: r.to_string(),
            });
        };
        let f = f.trim();
        if !allowed.contains(&f) {
            return Err(SelectorError::UnknownField {
                field: f.to_string(),
                allowed,
            });
        }
        out.push(FieldReq {
            field: f.to_string(),
            value: v.trim().to_string(),
            negate,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Obj(BTreeMap<String, String>, &'static str);
    impl Selectable for Obj {
        fn labels(&self) -> Option<&BTreeMap<String, String>> {
            Some(&self.0)
        }
        fn field(&self, path: &str) -> String {
            if path == "metadata.name" {
                self.1.to_string()
            } else {
                String::new()
            }
        }
    }

    fn obj(pairs: &[(&str, &str)], name: &'static str) -> Obj {
        Obj(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            name,
        )
    }

    fn sel(label: &str, field: &str) -> Selector {
        Selector {
            label: parse_label_selector(label).unwrap(),
            field: parse_field_selector(field, &["metadata.name", "spec.nodeName"]).unwrap(),
        }
    }

    #[test]
    fn label_operators() {
        let o = obj(&[("app", "web"), ("tier", "fe")], "a");
        assert!(sel("app=web", "").matches(&o));
        assert!(sel("app==web", "").matches(&o));
        assert!(!sel("app!=web", "").matches(&o));
        assert!(sel("missing!=x", "").matches(&o));
        assert!(sel("app in (db, web)", "").matches(&o));
        assert!(!sel("app notin (db,web)", "").matches(&o));
        assert!(sel("missing notin (x)", "").matches(&o));
        assert!(!sel("missing in (x)", "").matches(&o));
        assert!(sel("tier", "").matches(&o));
        assert!(!sel("!tier", "").matches(&o));
        assert!(sel("!nope,app=web,tier in (fe)", "").matches(&o));
        assert!(!sel("app=web,tier=be", "").matches(&o));
        assert!(sel("", "").matches(&o));
    }

    #[test]
    fn field_operators() {
        let o = obj(&[], "a");
        assert!(sel("", "metadata.name=a").matches(&o));
        assert!(!sel("", "metadata.name!=a").matches(&o));
        assert!(sel("", "spec.nodeName=").matches(&o));
        assert!(sel("", "metadata.name==a,spec.nodeName!=n1").matches(&o));
    }

    #[test]
    fn rejects_bad_syntax() {
        assert!(matches!(
            parse_label_selector("app in x"),
            Err(SelectorError::Syntax { .. })
        ));
        assert!(matches!(
            parse_label_selector("-bad=x"),
            Err(SelectorError::InvalidKey { .. })
        ));
        assert!(matches!(
            parse_label_selector("a=b c"),
            Err(SelectorError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse_label_selector("a=b,"),
            Err(SelectorError::Syntax { .. })
        ));
        assert!(matches!(
            parse_field_selector("spec.foo=x", &["metadata.name"]),
            Err(SelectorError::UnknownField { .. })
        ));
        assert!(matches!(
            parse_field_selector("metadata.name", &["metadata.name"]),
            Err(SelectorError::Syntax { .. })
        ));
    }
}
