//! ClusterRole families, in kube-state-metrics' order (`internal/store/clusterrole.go`).
//!
//! This file also holds the small helpers the RBAC, admission and storage-attachment
//! resources share (creation time, resource version, allowlisted label maps, and the test-only
//! label-name check against the catalog), since those families all follow one pattern.

use crate::metrics::family::{identity_labels, kube_map_to_labels, Family, Samples};
use crate::metrics::filter::KeyFilter;
use crate::metrics::ResourceDef;
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::collections::BTreeMap;

pub static CLUSTERROLE: ResourceDef<ClusterRole> = ResourceDef {
    name: "clusterroles",
    identity: clusterrole_identity,
    families: FAMILIES,
};

fn clusterrole_identity(o: &ClusterRole) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("clusterrole", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<ClusterRole>] = &[
    Family::experimental(
        "kube_clusterrole_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        |r, ctx, s| {
            push_allowlisted(
                s,
                "annotation",
                r.metadata.annotations.as_ref(),
                &ctx.annotations,
            )
        },
    ),
    Family::experimental(
        "kube_clusterrole_labels",
        "Kubernetes labels converted to Prometheus labels.",
        |r, ctx, s| push_allowlisted(s, "label", r.metadata.labels.as_ref(), &ctx.labels),
    ),
    Family::experimental(
        "kube_clusterrole_info",
        "Information about cluster role.",
        |_, _, s| s.value(1.0),
    ),
    Family::experimental(
        "kube_clusterrole_created",
        "Unix creation timestamp",
        |r, _, s| push_created(s, &r.metadata),
    ),
    Family::experimental(
        "kube_clusterrole_metadata_resource_version",
        "Resource version representing a specific version of the cluster role.",
        |r, _, s| push_resource_version(s, &r.metadata),
    ),
];

/// Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which `metav1.Time.IsZero`
/// treats like an absent timestamp.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// `!t.IsZero()` of a `metav1.Time`: present and not Go's zero instant.
pub(crate) fn time_is_set(t: Option<&Time>) -> Option<&Time> {
    t.filter(|t| t.0.as_second() != GO_ZERO_TIME_UNIX)
}

/// The `*_created` sample every resource here has: only when the creation timestamp is set.
pub(crate) fn push_created(s: &mut Samples, meta: &ObjectMeta) {
    if let Some(t) = time_is_set(meta.creation_timestamp.as_ref()) {
        s.value(crate::metrics::time::unix_seconds(t));
    }
}

/// `*_metadata_resource_version`: kube-state-metrics parses the opaque resource version with
/// Go's `strconv.ParseFloat` and drops the sample when that fails.
pub(crate) fn push_resource_version(s: &mut Samples, meta: &ObjectMeta) {
    if let Some(v) = meta.resource_version.as_deref().and_then(go_parse_float) {
        s.value(v);
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal and special forms: optional sign, digits
/// with an optional fraction and exponent, `inf`/`infinity` (signed) and `nan` (unsigned),
/// case-insensitive; overflow is an error there (`ErrRange`), so it is `None` here. Go's hex
/// floats (`0x1p4`) are not accepted: an API server only ever issues decimal versions.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let negative = s.starts_with('-');
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if body.eq_ignore_ascii_case("nan") {
        return (body.len() == s.len()).then_some(f64::NAN);
    }
    // Rust's grammar for these characters is Go's decimal grammar; anything else (Rust's own
    // spellings of infinity, underscores, hex) Go rejects or was handled above.
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// `kube_<res>_labels`/`_annotations`: no sample unless the resource is in the allowlist; then
/// exactly one, carrying the allowed keys (possibly none).
pub(crate) fn push_allowlisted(
    s: &mut Samples,
    prefix: &str,
    map: Option<&BTreeMap<String, String>>,
    filter: &KeyFilter,
) {
    if !filter.listed {
        return;
    }
    s.push(&kube_map_to_labels(prefix, map, filter), 1.0);
}

#[cfg(test)]
pub(crate) mod label_check {
    //! Checks rendered lines against the label names of `../shared/spec/ksm-metrics.tsv`,
    //! which users' queries depend on even where hand-written expectations could be wrong.

    /// The label names of one exposition line, in order.
    pub fn label_names(line: &str) -> (String, Vec<String>) {
        let name_end = line.find(['{', ' ']).expect("line has a name");
        let name = line[..name_end].to_string();
        let mut names = Vec::new();
        let b = line.as_bytes();
        if b[name_end] != b'{' {
            return (name, names);
        }
        let mut i = name_end + 1;
        while b[i] != b'}' {
            let eq = i + line[i..].find('=').expect("label has '='");
            names.push(line[i..eq].to_string());
            i = eq + 1;
            assert_eq!(b[i], b'"', "quoted value in {line}");
            i += 1;
            while b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            if b[i] == b',' {
                i += 1;
            }
        }
        (name, names)
    }

    /// Whether `names` fits the catalog's pattern, where `label_*`-style entries stand for any
    /// number of labels with that prefix.
    fn fits(names: &[String], pattern: &[&str]) -> bool {
        let mut i = 0;
        for p in pattern {
            if let Some(prefix) = p.strip_suffix('*') {
                while i < names.len() && names[i].starts_with(prefix) {
                    i += 1;
                }
            } else {
                if names.get(i).map(String::as_str) != Some(*p) {
                    return false;
                }
                i += 1;
            }
        }
        i == names.len()
    }

    /// Every line's label names match the catalog row of its family, and every family of
    /// `resource` in the catalog appears at least once in `lines`.
    pub fn assert_catalog_labels(resource: &str, lines: &[String]) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/spec/ksm-metrics.tsv"
        );
        let tsv = std::fs::read_to_string(path).expect("catalog beside the repo");
        let rows: Vec<(String, Vec<String>)> = tsv
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|c| c[0] == resource)
            .map(|c| {
                let labels = c[3]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                (c[1].to_string(), labels)
            })
            .collect();
        assert!(!rows.is_empty(), "{resource} is in the catalog");
        for line in lines {
            let (name, names) = label_names(line);
            let (_, pattern) = rows
                .iter()
                .find(|(m, _)| *m == name)
                .unwrap_or_else(|| panic!("{name} is a {resource} family in the catalog"));
            let pattern: Vec<&str> = pattern.iter().map(String::as_str).collect();
            assert!(
                fits(&names, &pattern),
                "labels of {line:?} are {names:?}, catalog says {pattern:?}"
            );
        }
        for (metric, _) in &rows {
            assert!(
                lines.iter().any(|l| label_names(l).0 == *metric),
                "the fixture renders no {metric} sample"
            );
        }
    }

    #[test]
    fn wildcards_match_any_number_of_prefixed_labels() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(fits(&names(&["a"]), &["a", "label_*"]));
        assert!(fits(
            &names(&["a", "label_x", "label_y"]),
            &["a", "label_*"]
        ));
        assert!(!fits(&names(&["a", "other"]), &["a", "label_*"]));
        assert!(!fits(&names(&["b"]), &["a"]));
        assert!(!fits(&names(&["a", "b"]), &["a"]));
        assert_eq!(
            label_names(r#"m{a="x\"y,z",b=""} 1"#),
            ("m".to_string(), names(&["a", "b"]))
        );
        assert_eq!(label_names("m 1"), ("m".to_string(), vec![]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_clusterrole_annotations",
        "kube_clusterrole_labels",
        "kube_clusterrole_info",
        "kube_clusterrole_created",
        "kube_clusterrole_metadata_resource_version",
    ];

    fn rich() -> ClusterRole {
        obj(r#"{
            "metadata": {
                "name": "role1",
                "creationTimestamp": "2017-08-03T16:45:47Z",
                "resourceVersion": "123",
                "labels": {"app": "mysql-server", "app.kubernetes.io/name": "x"},
                "annotations": {"app": "mysql-server"}
            },
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
        }"#)
    }

    #[test]
    fn every_family_with_allowlists() {
        assert_eq!(
            render_lines(&CLUSTERROLE, &rich(), allow_all(), NAMES),
            vec![
                r#"kube_clusterrole_annotations{clusterrole="role1",annotation_app="mysql-server"} 1"#,
                r#"kube_clusterrole_labels{clusterrole="role1",label_app="mysql-server",label_app_kubernetes_io_name="x"} 1"#,
                r#"kube_clusterrole_info{clusterrole="role1"} 1"#,
                r#"kube_clusterrole_created{clusterrole="role1"} 1.501778747e+09"#,
                r#"kube_clusterrole_metadata_resource_version{clusterrole="role1"} 123"#,
            ]
        );
    }

    #[test]
    fn unlisted_resource_has_no_label_samples_and_listed_keys_filter() {
        let lines = render_lines(&CLUSTERROLE, &rich(), RenderCtx::default(), NAMES);
        assert_eq!(
            lines,
            vec![
                r#"kube_clusterrole_info{clusterrole="role1"} 1"#,
                r#"kube_clusterrole_created{clusterrole="role1"} 1.501778747e+09"#,
                r#"kube_clusterrole_metadata_resource_version{clusterrole="role1"} 123"#,
            ]
        );
        let list = Allowlist::parse("x", "clusterroles=[missing,app]", &|_| true).expect("list");
        let ctx = RenderCtx {
            labels: list.for_resource("clusterroles"),
            annotations: list.for_resource("other"),
        };
        assert_eq!(
            render_lines(&CLUSTERROLE, &rich(), ctx, NAMES)[..1],
            [r#"kube_clusterrole_labels{clusterrole="role1",label_app="mysql-server"} 1"#]
        );
    }

    #[test]
    fn missing_timestamp_and_unparsable_version_give_no_sample() {
        let r: ClusterRole = obj(r#"{"metadata": {"name": "bare", "resourceVersion": "abc"}}"#);
        assert_eq!(
            render_lines(&CLUSTERROLE, &r, RenderCtx::default(), NAMES),
            vec![r#"kube_clusterrole_info{clusterrole="bare"} 1"#]
        );
        let r: ClusterRole =
            obj(r#"{"metadata": {"name": "z", "creationTimestamp": "0001-01-01T00:00:00Z"}}"#);
        assert_eq!(
            render_lines(&CLUSTERROLE, &r, RenderCtx::default(), NAMES),
            vec![r#"kube_clusterrole_info{clusterrole="z"} 1"#]
        );
    }

    #[test]
    fn resource_version_parses_like_go() {
        assert_eq!(go_parse_float("123"), Some(123.0));
        assert_eq!(go_parse_float("+1.5e3"), Some(1500.0));
        assert_eq!(go_parse_float(".5"), Some(0.5));
        assert_eq!(go_parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(go_parse_float("Infinity"), Some(f64::INFINITY));
        assert!(go_parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(go_parse_float("-nan"), None);
        assert_eq!(go_parse_float("1e400"), None);
        assert_eq!(go_parse_float("1_000"), None);
        assert_eq!(go_parse_float(""), None);
        assert_eq!(go_parse_float(" 1"), None);
        assert_eq!(go_parse_float("infin"), None);
    }

    #[test]
    fn label_names_match_the_catalog() {
        let lines = render_lines(&CLUSTERROLE, &rich(), allow_all(), NAMES);
        label_check::assert_catalog_labels("clusterroles", &lines);
    }
}
