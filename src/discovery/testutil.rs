//! Test helpers: objects from JSON, label sets with the `__meta_kubernetes_` prefix implied.

use super::config::{AttachMetadata, Job, Role};
use super::{LabelSet, TargetGroup, PREFIX};
use serde::de::DeserializeOwned;

pub fn obj<T: DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("test object decodes")
}

/// Keys get the meta prefix unless they start with `__` or are `instance`.
pub fn m(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| {
            let k = if k.starts_with("__") || *k == "instance" {
                k.to_string()
            } else {
                format!("{PREFIX}{k}")
            };
            (k, v.to_string())
        })
        .collect()
}

pub fn tg(source: &str, labels: &[(&str, &str)], targets: &[&[(&str, &str)]]) -> TargetGroup {
    TargetGroup {
        source: source.into(),
        labels: m(labels),
        targets: targets.iter().map(|t| m(t)).collect(),
    }
}

pub fn job(role: Role) -> Job {
    Job {
        name: "test".into(),
        role,
        namespaces: vec![],
        selectors: vec![],
        attach: AttachMetadata::default(),
    }
}

/// Compares field by field so a failure shows which part differs.
#[track_caller]
pub fn assert_group(got: &TargetGroup, want: &TargetGroup) {
    assert_eq!(got.source, want.source, "source");
    assert_eq!(got.labels, want.labels, "group labels of {}", want.source);
    assert_eq!(
        got.targets.len(),
        want.targets.len(),
        "target count: {:#?}",
        got.targets
    );
    for (i, (g, w)) in got.targets.iter().zip(&want.targets).enumerate() {
        assert_eq!(g, w, "target {i} of {}", want.source);
    }
}
