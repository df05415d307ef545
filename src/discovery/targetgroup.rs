//! Kubernetes target groups and their http_sd / file_sd rendering.

use super::LabelSet;
use serde::Serialize;

/// What one Kubernetes object discovers: Prometheus's `targetgroup.Group`. Target labels
/// override group labels when Prometheus builds a target, which http_sd cannot express, so
/// rendering flattens every target into its own entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetGroup {
    /// `pod/<ns>/<name>`, `node/<name>`, ...: the key updates replace each other by.
    pub source: String,
    pub labels: LabelSet,
    /// Each carries `__address__`.
    pub targets: Vec<LabelSet>,
}

impl TargetGroup {
    /// A group without labels or targets: Prometheus's way of saying "this source is gone".
    pub fn empty(source: impl Into<String>) -> Self {
        TargetGroup {
            source: source.into(),
            ..Default::default()
        }
    }

    /// Prometheus's manager drops groups without targets, so they never reach consumers.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

#[derive(Serialize)]
struct Entry<'a> {
    targets: [&'a str; 1],
    labels: LabelSet,
}

/// The http_sd / file_sd JSON array for `groups`, in the order given (callers pass groups
/// sorted by source so the output is stable): one entry per target, its labels being the
/// group labels overridden by the target's own, without `__address__`. Always a valid
/// array; `[]` when there is nothing.
pub fn render_http_sd<'a>(groups: impl IntoIterator<Item = &'a TargetGroup>) -> Vec<u8> {
    let mut entries = Vec::new();
    for g in groups {
        for t in &g.targets {
            let addr = t.get("__address__").map(String::as_str).unwrap_or("");
            let mut labels = g.labels.clone();
            for (k, v) in t {
                if k != "__address__" {
                    labels.insert(k.clone(), v.clone());
                }
            }
            entries.push(Entry {
                targets: [addr],
                labels,
            });
        }
    }
    // Serialising strings and string maps cannot fail; an empty array is the safe fallback.
    serde_json::to_vec(&entries).unwrap_or_else(|_| b"[]".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_is_array() {
        assert_eq!(render_http_sd(&[]), b"[]");
        assert_eq!(render_http_sd(&[TargetGroup::empty("pod/a/b")]), b"[]");
    }

    #[test]
    fn flattens_targets_with_override() {
        let g1 = TargetGroup {
            source: "pod/ns/a".into(),
            labels: ls(&[("__meta_kubernetes_namespace", "ns"), ("x", "group")]),
            targets: vec![
                ls(&[("__address__", "10.0.0.1:80"), ("x", "target")]),
                ls(&[("__address__", "[fd00::1]:81")]),
            ],
        };
        let g2 = TargetGroup {
            source: "pod/ns/b".into(),
            labels: LabelSet::new(),
            targets: vec![ls(&[("__address__", "10.0.0.2")])],
        };
        let out = String::from_utf8(render_http_sd([&g1, &g2])).unwrap();
        assert_eq!(
            out,
            r#"[{"targets":["10.0.0.1:80"],"labels":{"__meta_kubernetes_namespace":"ns","x":"target"}},{"targets":["[fd00::1]:81"],"labels":{"__meta_kubernetes_namespace":"ns","x":"group"}},{"targets":["10.0.0.2"],"labels":{}}]"#
        );
    }
}
