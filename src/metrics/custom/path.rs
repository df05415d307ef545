//! Paths into a custom resource, compiled once from the config: field names, array indices
//! (negative counts from the end), `[key=value]` list selectors and `key=value` map filters,
//! resolved exactly as kube-state-metrics' `compilePath` does.

use super::value::{string_to_f64, to_f64};
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// `[key=value]`: the first element of a list whose `key` equals `value`, compared as
    /// a string, as a number when `value` parses as one, and as a bool when it parses as one.
    Select {
        key: String,
        value: String,
        number: Option<f64>,
        boolean: Option<bool>,
    },
    /// A map key, a `key=value` filter on a map, or a list index.
    Field(String),
}

/// A compiled path; the empty path resolves to the value it is applied to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Path {
    parts: Vec<String>,
    ops: Vec<Op>,
}

/// A path segment that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub segment: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid list lookup: {}", self.segment)
    }
}

impl std::error::Error for PathError {}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl Path {
    pub fn compile<S: AsRef<str>>(segments: &[S]) -> Result<Path, PathError> {
        let mut ops = Vec::with_capacity(segments.len());
        let mut parts = Vec::with_capacity(segments.len());
        for seg in segments {
            let part = seg.as_ref();
            parts.push(part.to_string());
            if part.len() >= 2 && part.starts_with('[') && part.ends_with(']') {
                let inner = &part[1..part.len() - 1];
                let Some((key, value)) = inner.split_once('=') else {
                    return Err(PathError {
                        segment: part.to_string(),
                    });
                };
                ops.push(Op::Select {
                    key: key.to_string(),
                    value: value.to_string(),
                    number: string_to_f64(value).ok(),
                    boolean: parse_go_bool(value),
                });
            } else {
                ops.push(Op::Field(part.to_string()));
            }
        }
        Ok(Path { parts, ops })
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Resolves the path; `None` is Go's nil (missing key, JSON null, no match, index out
    /// of range, a step into a scalar).
    pub fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut cur = root;
        for op in &self.ops {
            if cur.is_null() {
                return None;
            }
            cur = step(op, cur)?;
        }
        (!cur.is_null()).then_some(cur)
    }
}

fn step<'a>(op: &Op, cur: &'a Value) -> Option<&'a Value> {
    match op {
        Op::Select {
            key,
            value,
            number,
            boolean,
        } => {
            let list = cur.as_array()?;
            list.iter().find(|item| {
                let Some(candidate) = item.as_object().and_then(|m| m.get(key)) else {
                    return false;
                };
                if candidate.as_str() == Some(value.as_str()) {
                    return true;
                }
                if let Some(n) = number {
                    if to_f64(Some(candidate), false).is_ok_and(|c| c == *n) {
                        return true;
                    }
                }
                if let (Some(b), Some(c)) = (boolean, candidate.as_bool()) {
                    return *b == c;
                }
                false
            })
        }
        Op::Field(part) => match cur {
            Value::Object(m) => {
                let kv: Vec<&str> = part.split('=').collect();
                if let [k, v] = kv.as_slice() {
                    if let Some(found) = m.get(*k) {
                        if found.as_str() == Some(*v) {
                            return Some(found);
                        }
                    }
                }
                m.get(part.as_str())
            }
            Value::Array(a) => {
                let i: i64 = part.parse().ok()?;
                let i = if i < 0 { i + a.len() as i64 } else { i };
                usize::try_from(i).ok().and_then(|i| a.get(i))
            }
            _ => None,
        },
    }
}

/// `[spec,replicas]`, as KSM prints paths in its error messages.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.parts.join(","))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// The object of KSM's registry_factory_test.go.
    pub fn ksm_test_cr() -> Value {
        json!({
            "spec": {
                "replicas": 1,
                "version": "v0.0.0",
                "order": [{"id": 1, "value": true}, {"id": 3, "value": false}]
            },
            "status": {
                "active": {"type-a": 1, "type-b": 3},
                "phase": "foo",
                "sub": {"type-a": {"active": 1, "ready": 2}, "type-b": {"active": 3, "ready": 4}},
                "uptime": 43.21,
                "quantity_milli": "250m",
                "quantity_binarySI": "5Gi",
                "percentage": "28%",
                "condition_values": [{"name": "a", "value": 45}, {"name": "b", "value": 66}],
                "conditions": [{"type": "Ready", "status": "True"}, {"type": "Provisioned", "status": "False"}]
            },
            "metadata": {
                "name": "foo",
                "labels": {"foo": "bar"},
                "annotations": {"qux": "quxx", "bar": "baz"},
                "percentage": "39%",
                "creationTimestamp": "2022-06-28T00:00:00Z"
            }
        })
    }

    fn get(path: &[&str]) -> Option<Value> {
        Path::compile(path).unwrap().get(&ksm_test_cr()).cloned()
    }

    /// KSM's `Test_valuePath_Get`.
    #[test]
    fn resolves_like_ksm() {
        assert_eq!(get(&["spec", "replicas"]), Some(json!(1)));
        assert_eq!(
            get(&["status", "condition_values", "[name=b]", "value"]),
            Some(json!(66))
        );
        assert_eq!(get(&["spec", "order", "0", "value"]), Some(json!(true)));
        assert_eq!(get(&["metadata", "labels", "foo"]), Some(json!("bar")));
        assert_eq!(
            get(&["spec", "order", "[id=3]", "value"]),
            Some(json!(false))
        );
        assert_eq!(
            get(&["spec", "order", "[value=false]", "id"]),
            Some(json!(3))
        );
        assert_eq!(get(&["spec", "order", "-1", "value"]), Some(json!(false)));
        assert_eq!(
            get(&["metadata", "annotations", "bar=baz"]),
            Some(json!("baz"))
        );
        assert_eq!(get(&["metadata", "annotations", "bar=nope"]), None);
        // out of range, a name on a list, a step into a scalar: all nil
        assert_eq!(get(&["spec", "order", "5"]), None);
        assert_eq!(get(&["spec", "order", "x"]), None);
        assert_eq!(get(&["spec", "replicas", "x"]), None);
        assert_eq!(get(&[]), Some(ksm_test_cr()));
    }

    #[test]
    fn list_lookup_needs_key_and_value() {
        assert_eq!(
            Path::compile(&["status", "conditions", "[Ready]"]),
            Err(PathError {
                segment: "[Ready]".into()
            })
        );
        assert_eq!(
            Path::compile(&["status", "conditions", "[type=Ready]"])
                .unwrap()
                .to_string(),
            "[status,conditions,[type=Ready]]"
        );
    }
}
