//! ConfigMap families, in kube-state-metrics' order (`internal/store/configmap.go`).
//!
//! Also home of [`common`]: the metadata-only families (created, labels, annotations,
//! resource version…) that most resources of this group declare identically, so each
//! resource file lists them without repeating the logic.

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use common::{annotations, created, info, labels, resource_version};
use k8s_openapi::api::core::v1::ConfigMap;

pub static CONFIGMAP: ResourceDef<ConfigMap> = ResourceDef {
    name: "configmaps",
    identity: configmap_identity,
    families: FAMILIES,
};

fn configmap_identity(o: &ConfigMap) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("configmap", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ConfigMap>] = &[
    Family::experimental(
        "kube_configmap_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_configmap_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable("kube_configmap_info", "Information about configmap.", info),
    Family::stable("kube_configmap_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_configmap_metadata_resource_version",
        "Resource version representing a specific version of the configmap.",
        resource_version,
    ),
];

/// Metadata-derived families shared by the resources of this group. Generic over [`Meta`]
/// so a family table can name them directly (`created`, `labels::<_>` is inferred).
pub(crate) mod common {
    use crate::metrics::family::{kube_map_to_labels, RenderCtx, Samples};
    use crate::metrics::time::unix_seconds;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    /// Access to an object's metadata; blanket for every k8s-openapi resource, implemented
    /// by hand for types decoded partially (`SecretMeta`).
    pub(crate) trait Meta {
        fn meta(&self) -> &ObjectMeta;
    }

    impl<T: k8s_openapi::Metadata<Ty = ObjectMeta>> Meta for T {
        fn meta(&self) -> &ObjectMeta {
            self.metadata()
        }
    }

    /// `time.Time{}.Unix()`, which KSM's `IsZero` checks treat as unset.
    pub(crate) const GO_ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

    /// A metadata timestamp, `None` when unset or Go's zero time (KSM's `IsZero` guard).
    pub(crate) fn set_time(t: Option<&Time>) -> Option<f64> {
        t.map(unix_seconds).filter(|&v| v != GO_ZERO_TIME_UNIX)
    }

    /// One sample with only the identity labels (the `*_info` families without labels).
    pub(crate) fn info<T>(_: &T, _: &RenderCtx, s: &mut Samples) {
        s.value(1.0);
    }

    pub(crate) fn created<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
        if let Some(v) = set_time(o.meta().creation_timestamp.as_ref()) {
            s.value(v);
        }
    }

    pub(crate) fn deletion_timestamp<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
        if let Some(v) = set_time(o.meta().deletion_timestamp.as_ref()) {
            s.value(v);
        }
    }

    /// `*_labels`: nothing unless the resource is in the allowlist, then exactly one sample
    /// (identity labels only when no key matches).
    pub(crate) fn labels<T: Meta>(o: &T, ctx: &RenderCtx, s: &mut Samples) {
        if !ctx.labels.listed {
            return;
        }
        let l = kube_map_to_labels("label", o.meta().labels.as_ref(), &ctx.labels);
        s.push(&l, 1.0);
    }

    /// `*_annotations`, same rules as [`labels`] with the annotation allowlist.
    pub(crate) fn annotations<T: Meta>(o: &T, ctx: &RenderCtx, s: &mut Samples) {
        if !ctx.annotations.listed {
            return;
        }
        let l = kube_map_to_labels(
            "annotation",
            o.meta().annotations.as_ref(),
            &ctx.annotations,
        );
        s.push(&l, 1.0);
    }

    /// `*_metadata_resource_version`: the resource version as a number, no sample when
    /// Go's `strconv.ParseFloat` would reject it.
    pub(crate) fn resource_version<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
        if let Some(v) = o
            .meta()
            .resource_version
            .as_deref()
            .and_then(go_parse_float)
        {
            s.value(v);
        }
    }

    /// `strconv.ParseFloat(s, 64)` for the decimal forms: Rust's parser accepts the same
    /// syntax (sign, fraction, exponent, `inf`/`infinity`/`nan` in any case) but returns
    /// ±inf for out-of-range input where Go fails with `ErrRange`. Go's hexadecimal floats
    /// (`0x1p3`) are not accepted; the API server only hands out decimal versions.
    pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
        let v: f64 = s.parse().ok()?;
        if v.is_infinite() {
            let body = s.trim_start_matches(['+', '-']);
            if !body.eq_ignore_ascii_case("inf") && !body.eq_ignore_ascii_case("infinity") {
                return None;
            }
        }
        Some(v)
    }

    /// Shared test support: checks a resource's table and rendered label names against the
    /// catalog TSV.
    #[cfg(test)]
    pub(crate) mod catalog {
        use crate::metrics::family::{MetricType, Stability};
        use crate::metrics::testing::{allow_all, render_lines};
        use crate::metrics::ResourceDef;

        /// Label names of one sample line, in order.
        pub(crate) fn label_names(l: &str) -> Vec<String> {
            let Some(open) = l.find('{') else {
                return Vec::new();
            };
            let b = l.as_bytes();
            let mut i = open + 1;
            let mut out = Vec::new();
            while i < b.len() && b[i] != b'}' {
                let eq = i + l[i..].find('=').expect("=");
                out.push(l[i..eq].to_string());
                i = eq + 2; // skip `="`
                while b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                if b[i] == b',' {
                    i += 1;
                }
            }
            out
        }

        /// The table declares the TSV rows of `def.name` in order with their type, stability
        /// and opt-in; rendering `fixtures` yields lines for every family, each with exactly
        /// the TSV's label names (or a `# variant` label set). Code wins over the TSV where
        /// the TSV's notes say they differ: `kube_endpoint_ports` is STABLE and deprecated,
        /// `kube_resourcequota_labels` STABLE.
        pub(crate) fn check<T>(def: &'static ResourceDef<T>, fixtures: &[T]) {
            let tsv = std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/spec/ksm-metrics.tsv"
            ))
            .expect("catalog readable");
            let rows: Vec<Vec<&str>> = tsv
                .lines()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .filter(|c| c.first() == Some(&def.name))
                .collect();
            let variants: Vec<Vec<&str>> = tsv
                .lines()
                .filter_map(|l| l.strip_prefix("# variant\t"))
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .collect();
            assert!(!rows.is_empty(), "{} not in the catalog", def.name);
            assert_eq!(rows.len(), def.families.len(), "{}", def.name);
            for (row, fam) in rows.iter().zip(def.families) {
                let d = &fam.def;
                assert_eq!(row[1], d.name);
                let kind = match d.kind {
                    MetricType::Gauge => "gauge",
                    MetricType::Counter => "counter",
                };
                assert_eq!(row[2], kind, "{}", d.name);
                let stab = match (d.stability, d.deprecated_since) {
                    (Stability::Stable, Some(_)) => "DEPRECATED",
                    (Stability::Stable, None) if d.name == "kube_resourcequota_labels" => {
                        "EXPERIMENTAL"
                    }
                    (Stability::Stable, None) => "STABLE",
                    (Stability::Experimental, _) => "EXPERIMENTAL",
                };
                assert_eq!(row[4], stab, "{}", d.name);
                let opt_in = matches!(
                    d.name,
                    "kube_persistentvolume_csi_attributes" | "kube_pod_nodeselectors"
                );
                assert_eq!(d.opt_in, opt_in, "{}", d.name);
            }
            for row in &rows {
                let id_len = {
                    // identity labels: the first labels every family of the resource shares
                    let first: Vec<&str> = rows[0][3].split(',').collect();
                    rows.iter()
                        .map(|r| {
                            r[3].split(',')
                                .zip(&first)
                                .take_while(|(a, b)| a == *b)
                                .count()
                        })
                        .min()
                        .unwrap_or(0)
                };
                let want: Vec<&str> = row[3].split(',').collect();
                let mut sets = vec![want.clone()];
                for v in variants.iter().filter(|v| v[0] == row[1]) {
                    let mut alt: Vec<&str> = want[..id_len].to_vec();
                    alt.extend(v[1].split(',').filter(|x| !x.is_empty()));
                    sets.push(alt);
                }
                let mut seen = 0;
                for o in fixtures {
                    for l in render_lines(def, o, allow_all(), &[row[1]]) {
                        seen += 1;
                        let got = label_names(&l);
                        let ok = sets.iter().any(|want| {
                            let fixed: Vec<&str> =
                                want.iter().copied().filter(|w| !w.ends_with('*')).collect();
                            let wildcard = want.iter().find_map(|w| w.strip_suffix('*'));
                            got.len() >= fixed.len()
                                && got[..fixed.len()] == fixed[..]
                                && got[fixed.len()..]
                                    .iter()
                                    .all(|x| wildcard.is_some_and(|p| x.starts_with(p)))
                        });
                        assert!(ok, "{l} does not carry the labels {want:?}");
                    }
                }
                assert!(seen > 0, "no fixture produces {}", row[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    fn configmap() -> ConfigMap {
        obj(r#"{
          "metadata": {
            "name": "app-config", "namespace": "prod", "uid": "u1",
            "resourceVersion": "123456",
            "creationTimestamp": "2017-08-03T17:25:47Z",
            "labels": {"app": "web", "app.kubernetes.io/part-of": "shop"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
          },
          "data": {"key": "value"}
        }"#)
    }

    const ALL: &[&str] = &[
        "kube_configmap_annotations",
        "kube_configmap_labels",
        "kube_configmap_info",
        "kube_configmap_created",
        "kube_configmap_metadata_resource_version",
    ];

    #[test]
    fn every_family_of_a_configmap() {
        let id = r#"namespace="prod",configmap="app-config""#;
        assert_eq!(
            render_lines(&CONFIGMAP, &configmap(), allow_all(), ALL),
            vec![
                format!("kube_configmap_annotations{{{id},annotation_kubectl_kubernetes_io_last_applied_configuration=\"{{}}\"}} 1"),
                format!("kube_configmap_labels{{{id},label_app=\"web\",label_app_kubernetes_io_part_of=\"shop\"}} 1"),
                format!("kube_configmap_info{{{id}}} 1"),
                format!("kube_configmap_created{{{id}}} 1.501781147e+09"),
                format!("kube_configmap_metadata_resource_version{{{id}}} 123456"),
            ]
        );
    }

    #[test]
    fn unlisted_allowlists_and_odd_resource_versions() {
        // Not in the allowlists: no labels/annotations samples. Resource version that
        // ParseFloat rejects: no sample. No creation timestamp: no sample.
        let cm: ConfigMap = obj(
            r#"{"metadata": {"name": "c", "namespace": "n", "resourceVersion": "abc", "labels": {"a": "b"}}}"#,
        );
        assert_eq!(
            render_lines(&CONFIGMAP, &cm, RenderCtx::default(), ALL),
            vec![r#"kube_configmap_info{namespace="n",configmap="c"} 1"#]
        );
        // Listed but no key allowed: one sample with the identity labels only.
        let cm: ConfigMap =
            obj(r#"{"metadata": {"name": "c", "namespace": "n", "resourceVersion": "10.5"}}"#);
        assert_eq!(
            render_lines(
                &CONFIGMAP,
                &cm,
                allow_all(),
                &[
                    "kube_configmap_labels",
                    "kube_configmap_metadata_resource_version"
                ]
            ),
            vec![
                r#"kube_configmap_labels{namespace="n",configmap="c"} 1"#,
                r#"kube_configmap_metadata_resource_version{namespace="n",configmap="c"} 10.5"#,
            ]
        );
    }

    #[test]
    fn resource_version_follows_go_parse_float() {
        use common::go_parse_float;
        assert_eq!(go_parse_float("123"), Some(123.0));
        assert_eq!(go_parse_float("1e3"), Some(1000.0));
        assert_eq!(go_parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(go_parse_float("1e400"), None);
        assert_eq!(go_parse_float(""), None);
        assert_eq!(go_parse_float("12a"), None);
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        common::catalog::check(&CONFIGMAP, &[configmap()]);
    }
}
