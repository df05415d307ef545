//! The `CustomResourceStateMetrics` document (kube-state-metrics' `config.go` schema) and its
//! validation into compiled families. Every error names the resource, metric and path at
//! fault so a broken config can be fixed from the one log line that stops start-up.

use super::path::{Path, PathError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Document {
    #[serde(default)]
    pub spec: Spec,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Spec {
    #[serde(default)]
    pub resources: Vec<ResourceConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Gvk {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// A `groupVersionKind` field resolved through the cluster's CRDs.
pub const WILDCARD: &str = "*";

impl Gvk {
    /// Version or kind left to the CRDs (KSM's "variable VK").
    pub fn is_wildcard(&self) -> bool {
        self.version == WILDCARD || self.kind == WILDCARD
    }

    /// Whether a concrete group/version/kind is one this (possibly wildcard) entry covers.
    pub fn matches(&self, concrete: &Gvk) -> bool {
        self.group == concrete.group
            && (self.version == WILDCARD || self.version == concrete.version)
            && (self.kind == WILDCARD || self.kind == concrete.kind)
    }
}

impl fmt::Display for Gvk {
    /// KSM's `GroupVersionKind.String()`: `group_version_kind`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}_{}", self.group, self.version, self.kind)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceConfig {
    #[serde(default)]
    pub group_version_kind: Gvk,
    #[serde(default)]
    pub resource_plural: String,
    /// `None` (absent or null) → `kube_customresource`; `""` → no prefix.
    #[serde(default)]
    pub metric_name_prefix: Option<String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "errorLogV")]
    pub error_log_v: i32,
    #[serde(default)]
    pub metrics: Vec<MetricConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricConfig {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub help: String,
    #[serde(default)]
    pub each: EachConfig,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "errorLogV")]
    pub error_log_v: i32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EachConfig {
    #[serde(default, rename = "type")]
    pub kind: String,
    pub gauge: Option<GaugeConfig>,
    pub state_set: Option<StateSetConfig>,
    pub info: Option<InfoConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GaugeConfig {
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub value_from: Vec<String>,
    #[serde(default)]
    pub label_from_key: String,
    #[serde(default)]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub nil_is_zero: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateSetConfig {
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub value_from: Vec<String>,
    #[serde(default)]
    pub label_name: String,
    #[serde(default)]
    pub list: Vec<String>,
    #[serde(default)]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoConfig {
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub label_from_key: String,
    #[serde(default)]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
}

/// A config that cannot be used, with where the fault is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrsConfigError {
    /// The YAML does not parse into the schema.
    Parse { source: String, reason: String },
    /// A resource entry or one of its metrics is invalid.
    Invalid {
        /// `group_version_kind` of the entry, or `resources[i]` when that is empty.
        resource: String,
        metric: Option<String>,
        /// The config field at fault (`each.gauge.path`, `labelsFromPath.name`), with the
        /// offending path value where there is one.
        field: String,
        reason: String,
    },
}

impl fmt::Display for CrsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrsConfigError::Parse { source, reason } => {
                write!(f, "custom resource state config {source}: {reason}")
            }
            CrsConfigError::Invalid {
                resource,
                metric,
                field,
                reason,
            } => {
                write!(f, "custom resource state config: resource {resource}")?;
                if let Some(m) = metric {
                    write!(f, ", metric {m}")?;
                }
                write!(f, ", {field}: {reason}")
            }
        }
    }
}

impl std::error::Error for CrsConfigError {}

/// What the value of each sample comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Each {
    Gauge {
        path: Path,
        value_from: Path,
        label_from_key: String,
        labels_from_path: Vec<(String, Path)>,
        nil_is_zero: bool,
    },
    StateSet {
        path: Path,
        value_from: Path,
        label_name: String,
        list: Vec<String>,
        labels_from_path: Vec<(String, Path)>,
    },
    Info {
        path: Path,
        label_from_key: String,
        labels_from_path: Vec<(String, Path)>,
    },
}

impl Each {
    pub fn path(&self) -> &Path {
        match self {
            Each::Gauge { path, .. } | Each::StateSet { path, .. } | Each::Info { path, .. } => {
                path
            }
        }
    }

    /// TYPE in OpenMetrics; text format always says `gauge`.
    pub fn openmetrics_type(&self) -> &'static str {
        match self {
            Each::Gauge { .. } => "gauge",
            Each::StateSet { .. } => "stateset",
            Each::Info { .. } => "info",
        }
    }
}

/// One metric family of a custom resource, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFamily {
    pub name: String,
    pub help: String,
    pub each: Each,
    /// commonLabels (resource merged with metric) plus the reserved `customresource_*`.
    pub common_labels: BTreeMap<String, String>,
    /// labelsFromPath (resource merged with metric), resolved from the object root.
    pub labels_from_path: Vec<(String, Path)>,
    /// Non-zero: conversion errors are logged at debug level only (KSM's klog verbosity).
    pub error_log_v: i32,
}

/// One configured custom resource.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledResource {
    pub gvk: Gvk,
    /// `resourcePlural` if given; otherwise discovery finds it.
    pub plural: Option<String>,
    pub families: Vec<CompiledFamily>,
}

impl CompiledResource {
    /// This wildcard entry for one concrete type found among the CRDs: the CRD's plural wins
    /// over `resourcePlural` (as in KSM) and the reserved labels name the concrete type.
    pub fn resolved(&self, gvk: &Gvk, plural: &str) -> CompiledResource {
        let mut r = self.clone();
        r.gvk = gvk.clone();
        r.plural = Some(plural.to_string());
        for f in &mut r.families {
            f.common_labels
                .insert("customresource_version".into(), gvk.version.clone());
            f.common_labels
                .insert("customresource_kind".into(), gvk.kind.clone());
        }
        r
    }
}

/// Parses and validates a whole document. `source` names it in errors (file or flag).
pub fn parse(source: &str, yaml: &str) -> Result<Vec<CompiledResource>, CrsConfigError> {
    let doc: Document = if yaml.trim().is_empty() {
        Document::default()
    } else {
        serde_yaml_ng::from_str(yaml).map_err(|e| CrsConfigError::Parse {
            source: source.to_string(),
            reason: e.to_string(),
        })?
    };
    let mut out: Vec<CompiledResource> = Vec::new();
    for (i, r) in doc.spec.resources.iter().enumerate() {
        let c = compile_resource(i, r)?;
        if out.iter().any(|o| o.gvk == c.gvk && o.plural == c.plural) {
            return Err(CrsConfigError::Invalid {
                resource: c.gvk.to_string(),
                metric: None,
                field: "groupVersionKind".into(),
                reason: "configured twice; merge the metrics into one entry".into(),
            });
        }
        out.push(c);
    }
    Ok(out)
}

fn valid_metric_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn compile_paths(
    map: &BTreeMap<String, Vec<String>>,
    field: &str,
    err: &dyn Fn(String, String) -> CrsConfigError,
) -> Result<Vec<(String, Path)>, CrsConfigError> {
    map.iter()
        .map(|(k, v)| {
            Path::compile(v)
                .map(|p| (k.clone(), p))
                .map_err(|e: PathError| err(format!("{field}.{k} {v:?}"), e.to_string()))
        })
        .collect()
}

fn compile_resource(index: usize, r: &ResourceConfig) -> Result<CompiledResource, CrsConfigError> {
    let gvk = r.group_version_kind.clone();
    let resource = if gvk.kind.is_empty() && gvk.version.is_empty() {
        format!("resources[{index}]")
    } else {
        gvk.to_string()
    };
    let res_err = |field: String, reason: String| CrsConfigError::Invalid {
        resource: resource.clone(),
        metric: None,
        field,
        reason,
    };
    let mut gvk = gvk;
    // KSM resolves an empty or `*` version or kind through the cluster's CRDs; the group
    // must be named, since CRDs are looked up by group.
    for v in [&mut gvk.version, &mut gvk.kind] {
        if v.is_empty() {
            *v = WILDCARD.to_string();
        }
    }
    if gvk.is_wildcard() && (gvk.group.is_empty() || gvk.group == WILDCARD) {
        return Err(res_err(
            "groupVersionKind.group".into(),
            "must be set when version or kind is a wildcard (CRDs are looked up by group)".into(),
        ));
    }
    let prefix = r
        .metric_name_prefix
        .clone()
        .unwrap_or_else(|| "kube_customresource".to_string());
    let res_paths = compile_paths(&r.labels_from_path, "labelsFromPath", &res_err)?;
    drop(res_paths);
    let mut families = Vec::with_capacity(r.metrics.len());
    for m in &r.metrics {
        let metric_label = if m.name.is_empty() {
            "<unnamed>".to_string()
        } else {
            m.name.clone()
        };
        let err = |field: String, reason: String| CrsConfigError::Invalid {
            resource: resource.clone(),
            metric: Some(metric_label.clone()),
            field,
            reason,
        };
        if m.name.is_empty() {
            return Err(err("name".into(), "must be set".into()));
        }
        let name = if prefix.is_empty() {
            m.name.clone()
        } else {
            format!("{prefix}_{}", m.name)
        };
        if !valid_metric_name(&name) {
            return Err(err(
                "name".into(),
                format!("{name:?} is not a valid Prometheus metric name"),
            ));
        }
        // metric-level labels override resource-level ones (KSM's Labels.Merge)
        let mut common = r.common_labels.clone();
        common.extend(m.common_labels.clone());
        common.insert("customresource_group".into(), gvk.group.clone());
        common.insert("customresource_version".into(), gvk.version.clone());
        common.insert("customresource_kind".into(), gvk.kind.clone());
        let mut lfp = r.labels_from_path.clone();
        lfp.extend(m.labels_from_path.clone());
        let labels_from_path = compile_paths(&lfp, "labelsFromPath", &err)?;
        let each = compile_each(&m.each, &err)?;
        if let Each::Info { .. } = each {
            if !m.name.ends_with("_info") {
                crate::log_event!(
                    crate::log::Level::Info,
                    "Info metric does not have _info suffix",
                    gvk = gvk,
                    name = m.name
                );
            }
        }
        families.push(CompiledFamily {
            name,
            help: m.help.clone(),
            each,
            common_labels: common,
            labels_from_path,
            error_log_v: if m.error_log_v != 0 {
                m.error_log_v
            } else {
                r.error_log_v
            },
        });
    }
    Ok(CompiledResource {
        gvk,
        plural: (!r.resource_plural.is_empty()).then(|| r.resource_plural.clone()),
        families,
    })
}

fn compile_each(
    e: &EachConfig,
    err: &dyn Fn(String, String) -> CrsConfigError,
) -> Result<Each, CrsConfigError> {
    let path = |field: &str, segs: &[String]| {
        Path::compile(segs).map_err(|pe| err(format!("{field} {segs:?}"), pe.to_string()))
    };
    match e.kind.to_ascii_lowercase().as_str() {
        "gauge" => {
            let g = e.gauge.as_ref().ok_or_else(|| {
                err(
                    "each.gauge".into(),
                    "expected each.gauge to not be nil".into(),
                )
            })?;
            Ok(Each::Gauge {
                path: path("each.gauge.path", &g.path)?,
                value_from: path("each.gauge.valueFrom", &g.value_from)?,
                label_from_key: g.label_from_key.clone(),
                labels_from_path: compile_paths(
                    &g.labels_from_path,
                    "each.gauge.labelsFromPath",
                    err,
                )?,
                nil_is_zero: g.nil_is_zero,
            })
        }
        "stateset" => {
            let s = e.state_set.as_ref().ok_or_else(|| {
                err(
                    "each.stateSet".into(),
                    "expected each.stateSet to not be nil".into(),
                )
            })?;
            if s.label_name.is_empty() {
                return Err(err("each.stateSet.labelName".into(), "must be set".into()));
            }
            Ok(Each::StateSet {
                path: path("each.stateSet.path", &s.path)?,
                value_from: path("each.stateSet.valueFrom", &s.value_from)?,
                label_name: s.label_name.clone(),
                list: s.list.clone(),
                labels_from_path: compile_paths(
                    &s.labels_from_path,
                    "each.stateSet.labelsFromPath",
                    err,
                )?,
            })
        }
        "info" => {
            let i = e.info.as_ref().ok_or_else(|| {
                err(
                    "each.info".into(),
                    "expected each.info to not be nil".into(),
                )
            })?;
            Ok(Each::Info {
                path: path("each.info.path", &i.path)?,
                label_from_key: i.label_from_key.clone(),
                labels_from_path: compile_paths(
                    &i.labels_from_path,
                    "each.info.labelsFromPath",
                    err,
                )?,
            })
        }
        other => Err(err(
            "each.type".into(),
            format!("unknown metric type {other:?} (expected Gauge, StateSet or Info)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KSM's example_config.yaml, as `Test_Metrics_deserialization` reads it.
    const KSM_EXAMPLE: &str = r#"
spec:
  resources:
    - groupVersionKind:
        group: myteam.io
        kind: "Foo"
        version: "v1"
      labelsFromPath:
        name: [metadata, name]
      metrics:
        - name: "active_count"
          help: "Number Foo Bars active"
          each:
            type: Gauge
            gauge:
              path: [status, active]
              labelFromKey: type
              labelsFromPath:
                bar: [bar]
              valueFrom: [count]
          commonLabels:
            custom_metric: "yes"
          labelsFromPath:
            "*": [metadata, labels]  # copy all labels from CR labels
            foo: [metadata, labels, foo]  # copy a single label (overrides *)

        - name: "other_count"
          each:
            type: Gauge
            gauge:
              path: [status, other]
          errorLogV: 5
"#;

    #[test]
    fn wildcards_parse_and_resolve_per_concrete_type() {
        let doc = "spec:\n  resources:\n  - groupVersionKind: {group: example.io, version: \"*\", kind: \"\"}\n    resourcePlural: ignored\n    commonLabels: {customresource_kind: mine, team: a}\n    metrics:\n    - name: size\n      each: {type: Gauge, gauge: {path: [spec, size]}}\n  - groupVersionKind: {group: example.io, version: v1}\n";
        let r = parse("t", doc).unwrap();
        assert_eq!(r[0].gvk.to_string(), "example.io_*_*");
        assert_eq!(r[1].gvk.to_string(), "example.io_v1_*");
        assert!(r.iter().all(|x| x.gvk.is_wildcard()));
        let concrete = Gvk {
            group: "example.io".into(),
            version: "v2".into(),
            kind: "Gadget".into(),
        };
        assert!(r[0].gvk.matches(&concrete));
        assert!(!r[1].gvk.matches(&concrete), "v1 only");
        let got = r[0].resolved(&concrete, "gadgets");
        assert_eq!(got.gvk, concrete);
        assert!(!got.gvk.is_wildcard());
        assert_eq!(
            got.plural.as_deref(),
            Some("gadgets"),
            "the CRD's plural wins"
        );
        let labels = &got.families[0].common_labels;
        assert_eq!(labels["customresource_group"], "example.io");
        assert_eq!(labels["customresource_version"], "v2");
        assert_eq!(
            labels["customresource_kind"], "Gadget",
            "reserved labels win"
        );
        assert_eq!(labels["team"], "a");
    }

    #[test]
    fn parses_ksm_example_and_merges_labels() {
        let r = parse("test", KSM_EXAMPLE).unwrap();
        assert_eq!(r.len(), 1);
        let f = &r[0].families;
        assert_eq!(f[0].name, "kube_customresource_active_count");
        let names: Vec<_> = f[1]
            .labels_from_path
            .iter()
            .map(|(k, p)| format!("{k}={p}"))
            .collect();
        assert_eq!(names, vec!["name=[metadata,name]"]);
        assert_eq!(f[1].error_log_v, 5);
        assert_eq!(
            f[0].common_labels.get("custom_metric").map(String::as_str),
            Some("yes")
        );
        assert_eq!(
            f[0].common_labels
                .get("customresource_kind")
                .map(String::as_str),
            Some("Foo")
        );
        assert_eq!(r[0].plural, None);
    }

    #[test]
    fn prefix_rules() {
        let doc = |prefix: &str| {
            format!("spec:\n  resources:\n  - groupVersionKind: {{group: apps, version: v1, kind: Deployment}}\n{prefix}    metrics:\n    - name: count\n      each: {{type: gauge, gauge: {{path: [spec, replicas]}}}}\n")
        };
        let name = |p: &str| parse("t", &doc(p)).unwrap()[0].families[0].name.clone();
        assert_eq!(name(""), "kube_customresource_count");
        assert_eq!(
            name("    metricNamePrefix: null\n"),
            "kube_customresource_count"
        );
        assert_eq!(name("    metricNamePrefix: \"\"\n"), "count");
        assert_eq!(name("    metricNamePrefix: bar_baz\n"), "bar_baz_count");
    }

    fn invalid(yaml: &str) -> String {
        parse("test.yaml", yaml).unwrap_err().to_string()
    }

    const HEAD: &str = "spec:\n  resources:\n  - groupVersionKind: {group: example.io, version: v1, kind: Widget}\n    metrics:\n";

    #[test]
    fn errors_name_resource_metric_and_path() {
        assert_eq!(
            invalid(&format!("{HEAD}    - name: ready\n      each: {{type: Gauge, gauge: {{path: [status, conditions, \"[Ready]\"]}}}}\n")),
            "custom resource state config: resource example.io_v1_Widget, metric ready, each.gauge.path [\"status\", \"conditions\", \"[Ready]\"]: invalid list lookup: [Ready]"
        );
        assert_eq!(
            invalid(&format!("{HEAD}    - name: ready\n      labelsFromPath: {{cond: [status, \"[x]\"]}}\n      each: {{type: Info, info: {{}}}}\n")),
            "custom resource state config: resource example.io_v1_Widget, metric ready, labelsFromPath.cond [\"status\", \"[x]\"]: invalid list lookup: [x]"
        );
        assert_eq!(
            invalid(&format!("{HEAD}    - name: phase\n      each: {{type: StateSet, stateSet: {{labelName: p, path: [a], valueFrom: [\"[b]\"]}}}}\n")),
            "custom resource state config: resource example.io_v1_Widget, metric phase, each.stateSet.valueFrom [\"[b]\"]: invalid list lookup: [b]"
        );
        assert_eq!(
            invalid(&format!("{HEAD}    - name: size\n      each: {{type: Gauge}}\n")),
            "custom resource state config: resource example.io_v1_Widget, metric size, each.gauge: expected each.gauge to not be nil"
        );
        assert_eq!(
            invalid(&format!("{HEAD}    - name: size\n      each: {{type: Histogram}}\n")),
            "custom resource state config: resource example.io_v1_Widget, metric size, each.type: unknown metric type \"histogram\" (expected Gauge, StateSet or Info)"
        );
        assert_eq!(
            invalid(&format!("{HEAD}    - name: bad-name\n      each: {{type: Info, info: {{}}}}\n")),
            "custom resource state config: resource example.io_v1_Widget, metric bad-name, name: \"kube_customresource_bad-name\" is not a valid Prometheus metric name"
        );
        assert_eq!(
            invalid("spec:\n  resources:\n  - groupVersionKind: {group: example.io, version: v1, kind: Widget}\n    labelsFromPath: {n: [\"[q]\"]}\n"),
            "custom resource state config: resource example.io_v1_Widget, labelsFromPath.n [\"[q]\"]: invalid list lookup: [q]"
        );
        assert_eq!(
            invalid("spec:\n  resources:\n  - groupVersionKind: {group: \"*\", version: v1, kind: \"*\"}\n"),
            "custom resource state config: resource *_v1_*, groupVersionKind.group: must be set when version or kind is a wildcard (CRDs are looked up by group)"
        );
        assert_eq!(
            invalid("spec:\n  resources:\n  - groupVersionKind: {group: example.io, version: v1, kind: W}\n  - groupVersionKind: {group: example.io, version: v1, kind: W}\n"),
            "custom resource state config: resource example.io_v1_W, groupVersionKind: configured twice; merge the metrics into one entry"
        );
        assert!(invalid("spec: [").starts_with("custom resource state config test.yaml: "));
    }
}
