//! KSM's `registry_factory_test.go` cases re-expressed as object in, exposition lines out,
//! plus whole-config rendering with the reserved labels and headers.

use super::config::{parse, CompiledFamily, Each};
use super::path::tests::ksm_test_cr;
use super::path::Path;
use super::render::{add_path_labels, headers, render_family, values};
use crate::exposition::negotiate::Format;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn p(segs: &[&str]) -> Path {
    Path::compile(segs).unwrap()
}

fn lfp(pairs: &[(&str, &[&str])]) -> Vec<(String, Path)> {
    let mut v: Vec<(String, Path)> = pairs.iter().map(|(k, s)| (k.to_string(), p(s))).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn gauge(
    path: &[&str],
    value_from: &[&str],
    key: &str,
    labels: &[(&str, &[&str])],
    nil_is_zero: bool,
) -> Each {
    Each::Gauge {
        path: p(path),
        value_from: p(value_from),
        label_from_key: key.into(),
        labels_from_path: lfp(labels),
        nil_is_zero,
    }
}

fn info(path: &[&str], key: &str, labels: &[(&str, &[&str])]) -> Each {
    Each::Info {
        path: p(path),
        label_from_key: key.into(),
        labels_from_path: lfp(labels),
    }
}

fn stateset(path: &[&str], value_from: &[&str]) -> Each {
    Each::StateSet {
        path: p(path),
        value_from: p(value_from),
        label_name: "phase".into(),
        list: vec!["foo".into(), "bar".into()],
        labels_from_path: Vec::new(),
    }
}

/// Renders one `each` against KSM's test object as family `m` without base labels, and
/// returns the lines and the errors.
fn run(each: Each) -> (String, Vec<String>) {
    let f = CompiledFamily {
        name: "m".into(),
        help: String::new(),
        each,
        common_labels: BTreeMap::new(),
        labels_from_path: Vec::new(),
        error_log_v: 0,
    };
    let mut buf = Vec::new();
    let errs = render_family(&f, &ksm_test_cr(), &mut buf);
    (String::from_utf8(buf).unwrap(), errs)
}

fn lines(each: Each) -> String {
    let (out, errs) = run(each);
    assert!(errs.is_empty(), "{errs:?}");
    out
}

#[test]
fn ksm_values_gauges() {
    assert_eq!(
        lines(gauge(&["spec", "replicas"], &[], "", &[], false)),
        "m 1\n"
    );
    assert_eq!(
        lines(gauge(&["status", "active"], &[], "type", &[], false)),
        "m{type=\"type-a\"} 1\nm{type=\"type-b\"} 3\n"
    );
    assert_eq!(
        lines(gauge(
            &["status", "sub"],
            &["ready"],
            "type",
            &[("active", &["active"])],
            false
        )),
        "m{active=\"1\",type=\"type-a\"} 2\nm{active=\"3\",type=\"type-b\"} 4\n"
    );
    assert_eq!(
        lines(gauge(
            &["metadata"],
            &["creationTimestamp"],
            "",
            &[("name", &["name"])],
            false
        )),
        "m{name=\"foo\"} 1.6563744e+09\n"
    );
    // valueFrom unresolved on an existing value: nothing, and no error
    assert_eq!(
        lines(gauge(
            &["spec", "replicas"],
            &["non-existent"],
            "",
            &[],
            false
        )),
        ""
    );
    assert_eq!(
        lines(gauge(
            &["status", "condition_values"],
            &["non-existent"],
            "",
            &[("name", &["name"])],
            false
        )),
        ""
    );
    assert_eq!(
        lines(gauge(
            &["status", "condition_values"],
            &["value"],
            "",
            &[("name", &["name"])],
            false
        )),
        "m{name=\"a\"} 45\nm{name=\"b\"} 66\n"
    );
    assert_eq!(
        lines(gauge(
            &["metadata", "creationTimestamp"],
            &[],
            "",
            &[],
            false
        )),
        "m 1.6563744e+09\n"
    );
    assert_eq!(
        lines(gauge(&["status", "quantity_milli"], &[], "", &[], false)),
        "m 0.25\n"
    );
    assert_eq!(
        lines(gauge(&["status", "quantity_binarySI"], &[], "", &[], false)),
        "m 5.36870912e+09\n"
    );
    assert_eq!(
        lines(gauge(&["status", "percentage"], &[], "", &[], false)),
        "m 0.28\n"
    );
    assert_eq!(
        lines(gauge(
            &["metadata"],
            &["percentage"],
            "",
            &[("name", &["name"])],
            false
        )),
        "m{name=\"foo\"} 0.39\n"
    );
    assert_eq!(
        lines(gauge(&["spec", "paused"], &[], "", &[], true)),
        "m 0\n"
    );
    assert_eq!(
        lines(gauge(
            &["status", "conditions", "[type=Ready]", "status"],
            &[],
            "",
            &[],
            false
        )),
        "m 1\n"
    );
    assert_eq!(
        lines(gauge(
            &["status", "conditions"],
            &["status"],
            "",
            &[("type", &["type"])],
            false
        )),
        "m{type=\"Provisioned\"} 0\nm{type=\"Ready\"} 1\n"
    );
}

#[test]
fn ksm_values_gauge_errors() {
    let (out, errs) = run(gauge(
        &["foo"],
        &["creationTimestamp"],
        "",
        &[("name", &["name"])],
        false,
    ));
    assert_eq!(out, "");
    assert_eq!(errs, vec!["[foo]: got nil while resolving path"]);
    let (out, errs) = run(gauge(&["metadata", "name"], &[], "", &[], false));
    assert_eq!(out, "");
    assert_eq!(
        errs,
        vec!["[metadata,name]: []: strconv.ParseFloat: parsing \"foo\": invalid syntax"]
    );
    // one bad element of a list drops only that sample
    let (out, errs) = run(gauge(
        &["status", "conditions"],
        &["type"],
        "",
        &[("s", &["status"])],
        false,
    ));
    assert_eq!(out, "");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with("[status,conditions]: [0]: [type]: strconv.ParseFloat"),
        "{errs:?}"
    );
}

#[test]
fn ksm_values_info_and_stateset() {
    assert_eq!(
        lines(info(&[], "", &[("version", &["spec", "version"])])),
        "m{version=\"v0.0.0\"} 1\n"
    );
    assert_eq!(lines(info(&["does", "not", "exist"], "", &[])), "");
    assert_eq!(
        lines(info(&["status", "active"], "type", &[])),
        "m{type=\"type-a\"} 1\nm{type=\"type-b\"} 1\n"
    );
    assert_eq!(
        lines(info(&["status", "sub"], "", &[("active", &["active"])])),
        "m{active=\"1\"} 1\nm{active=\"3\"} 1\n"
    );
    assert_eq!(
        lines(info(
            &[],
            "",
            &[("bar", &["metadata", "annotations", "bar=baz"])]
        )),
        "m{bar=\"baz\"} 1\n"
    );
    assert_eq!(
        lines(stateset(&["status", "phase"], &[])),
        "m{phase=\"bar\"} 0\nm{phase=\"foo\"} 1\n"
    );
    assert_eq!(lines(stateset(&["does", "not", "exist"], &[])), "");
    assert_eq!(lines(stateset(&["status"], &["does", "not", "exist"])), "");
    let (out, errs) = run(stateset(&["spec", "replicas"], &[]));
    assert_eq!(out, "");
    assert_eq!(
        errs,
        vec!["[spec,replicas]: expected value for path to be string, got int64"]
    );
    let (_, errs) = run(stateset(&["status"], &["uptime"]));
    assert_eq!(
        errs,
        vec!["[status,uptime]: expected value for path to be string, got float64"]
    );
}

/// KSM's `Test_addPathLabels`.
#[test]
fn ksm_add_path_labels() {
    let cr = ksm_test_cr();
    let mut m = BTreeMap::new();
    add_path_labels(
        Some(&cr),
        &lfp(&[
            ("bool", &["spec", "order", "-1", "value"]),
            ("number", &["spec", "replicas"]),
            ("string", &["metadata", "labels", "foo"]),
        ]),
        &mut m,
    );
    assert_eq!(
        format!("{m:?}"),
        r#"{"bool": "false", "number": "1", "string": "bar"}"#
    );
    let mut m = BTreeMap::new();
    add_path_labels(
        Some(&cr),
        &lfp(&[
            ("*1", &["metadata", "annotations"]),
            ("bar", &["metadata", "labels", "foo"]),
            ("label_object_*", &["metadata", "annotations"]),
        ]),
        &mut m,
    );
    assert_eq!(
        format!("{m:?}"),
        r#"{"bar": "bar", "label_object_bar": "baz", "label_object_qux": "quxx", "qux": "quxx"}"#
    );
    let mut m = BTreeMap::new();
    add_path_labels(Some(&cr), &lfp(&[("idx", &["spec", "order", "5"])]), &mut m);
    assert!(m.is_empty());
    // the map value of a plain key is printed as Go's %v does
    let mut m = BTreeMap::new();
    add_path_labels(Some(&cr), &lfp(&[("o.k", &["status", "active"])]), &mut m);
    assert_eq!(format!("{m:?}"), r#"{"o_k": "map[type-a:1 type-b:3]"}"#);
}

const WIDGET: &str = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.io, version: v1, kind: Widget}
    labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}
    commonLabels: {team: core, customresource_kind: overridden}
    metrics:
    - name: widget_size
      help: Requested size.
      each: {type: Gauge, gauge: {path: [spec, size], nilIsZero: true}}
    - name: widget_phase
      help: Current phase.
      each: {type: StateSet, stateSet: {path: [status, phase], labelName: phase, list: [Pending, Ready, Failed]}}
    - name: widget_info
      help: "Widget \"info\"."
      labelsFromPath: {"label_*": [metadata, labels], name: [spec, displayName]}
      each: {type: Info, info: {labelsFromPath: {owner: [spec, owner]}}}
"#;

fn widget() -> Value {
    json!({"apiVersion": "example.io/v1", "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "ns", "labels": {"app.io/tier": "web"}},
        "spec": {"size": 3, "owner": "alice", "displayName": "Widget One"},
        "status": {"phase": "Ready"}})
}

/// The example of the notes (§f): reserved labels overwrite user common labels, label keys
/// sorted, metric-level labelsFromPath override resource-level ones.
#[test]
fn widget_config_renders_exact_lines() {
    let r = parse("inline", WIDGET).unwrap();
    let mut out = String::new();
    for f in &r[0].families {
        let mut buf = Vec::new();
        assert!(render_family(f, &widget(), &mut buf).is_empty());
        out.push_str(&String::from_utf8(buf).unwrap());
    }
    let base = "customresource_group=\"example.io\",customresource_kind=\"Widget\",customresource_version=\"v1\"";
    assert_eq!(
        out,
        format!(
            "kube_customresource_widget_size{{{base},name=\"w1\",namespace=\"ns\",team=\"core\"}} 3\n\
             kube_customresource_widget_phase{{{base},name=\"w1\",namespace=\"ns\",phase=\"Failed\",team=\"core\"}} 0\n\
             kube_customresource_widget_phase{{{base},name=\"w1\",namespace=\"ns\",phase=\"Pending\",team=\"core\"}} 0\n\
             kube_customresource_widget_phase{{{base},name=\"w1\",namespace=\"ns\",phase=\"Ready\",team=\"core\"}} 1\n\
             kube_customresource_widget_info{{{base},label_app_io_tier=\"web\",name=\"Widget One\",namespace=\"ns\",owner=\"alice\",team=\"core\"}} 1\n"
        )
    );
    // a widget without spec.size: nilIsZero gives 0; without status: no phase samples
    let bare = json!({"metadata": {"name": "w2", "namespace": "ns"}});
    let mut buf = Vec::new();
    render_family(&r[0].families[0], &bare, &mut buf);
    render_family(&r[0].families[1], &bare, &mut buf);
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        format!("kube_customresource_widget_size{{{base},name=\"w2\",namespace=\"ns\",team=\"core\"}} 0\n")
    );
}

#[test]
fn headers_use_openmetrics_types_only_in_openmetrics() {
    let r = parse("inline", WIDGET).unwrap();
    let h: Vec<_> = r[0].families.iter().map(headers).collect();
    assert_eq!(
        String::from_utf8(h[1].text.clone()).unwrap(),
        "# HELP kube_customresource_widget_phase Current phase.\n# TYPE kube_customresource_widget_phase gauge\n"
    );
    assert_eq!(
        String::from_utf8(h[1].openmetrics.clone()).unwrap(),
        "# HELP kube_customresource_widget_phase Current phase.\n# TYPE kube_customresource_widget_phase stateset\n"
    );
    assert_eq!(
        String::from_utf8(h[2].openmetrics.clone()).unwrap(),
        "# HELP kube_customresource_widget_info Widget \\\"info\\\".\n# TYPE kube_customresource_widget_info info\n"
    );
    assert_eq!(
        String::from_utf8(h[0].openmetrics.clone()).unwrap(),
        "# HELP kube_customresource_widget_size Requested size.\n# TYPE kube_customresource_widget_size gauge\n"
    );
    let _ = Format::Text;
}

/// KSM's `compareLabels` order: by sorted keys then values, shorter sets first.
#[test]
fn samples_sorted_by_their_own_labels() {
    let each = gauge(
        &["spec", "order"],
        &["id"],
        "",
        &[("value", &["value"])],
        false,
    );
    let (vals, _) = values(&each, p(&["spec", "order"]).get(&ksm_test_cr()));
    let v: Vec<_> = vals
        .iter()
        .map(|e| (e.labels["value"].clone(), e.value))
        .collect();
    assert_eq!(
        v,
        vec![("false".to_string(), 3.0), ("true".to_string(), 1.0)]
    );
}

#[test]
fn duplicate_family_headers_are_blanked_in_later_writers_only() {
    use super::{build_writers, Published};
    use crate::store::{RenderedObject, Store};
    use std::sync::Arc;
    let doc = "spec:\n  resources:\n  - groupVersionKind: {group: a.io, version: v1, kind: A}\n    metricNamePrefix: x\n    metrics:\n    - {name: shared, help: From A., each: {type: Gauge, gauge: {path: [v]}}}\n    - {name: only_a, help: Only A., each: {type: Gauge, gauge: {path: [v]}}}\n  - groupVersionKind: {group: b.io, version: v1, kind: B}\n    metricNamePrefix: x\n    metrics:\n    - {name: shared, help: From B., each: {type: Gauge, gauge: {path: [v]}}}\n";
    let r = parse("t", doc).unwrap();
    let publish = |i: usize, name: &'static str, line: &str| {
        let store = Arc::new(Store::new());
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        for f in &r[i].families {
            buf.extend_from_slice(format!("{}{{{line}}} 1\n", f.name).as_bytes());
            ends.push(buf.len() as u32);
        }
        store.upsert("u", RenderedObject::new(buf, ends));
        Published {
            name,
            headers: r[i].families.iter().map(headers).collect(),
            stores: vec![store],
        }
    };
    let writers = build_writers(&[
        publish(0, "a.io/v1, Resource=as", "a=\"1\""),
        publish(1, "b.io/v1, Resource=bs", "b=\"1\""),
    ]);
    let mut out = Vec::new();
    for w in &writers {
        w.write(&mut out, Format::Text);
    }
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("# HELP x_shared ").count(), 1, "{text}");
    assert_eq!(text.matches("# TYPE x_shared gauge").count(), 1, "{text}");
    assert!(
        text.contains("# HELP x_shared From A.\n"),
        "the first writer keeps its header"
    );
    assert!(text.contains("# HELP x_only_a Only A.\n"));
    assert!(
        text.contains("x_shared{b=\"1\"} 1\n"),
        "samples of the blanked family stay"
    );
}
