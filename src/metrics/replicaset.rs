//! ReplicaSet families, in kube-state-metrics' order (`internal/store/replicaset.go`).
//!
//! This file also holds [`meta`], the metadata-derived generators (created, deletion,
//! generation, owner, labels, annotations) that the workload resources share, because
//! kube-state-metrics writes them identically for every one of them.

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};

pub static REPLICASET: ResourceDef<ReplicaSet> = ResourceDef {
    name: "replicasets",
    identity: replicaset_identity,
    families: FAMILIES,
};

fn replicaset_identity(o: &ReplicaSet) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("replicaset", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ReplicaSet>] = &[
    Family::stable(
        "kube_replicaset_created",
        "Unix creation timestamp",
        meta::created,
    ),
    Family::stable(
        "kube_replicaset_status_replicas",
        "The number of replicas per ReplicaSet.",
        |o, _, s| s.value(status(o).map_or(0, |st| st.replicas) as f64),
    ),
    Family::stable(
        "kube_replicaset_status_fully_labeled_replicas",
        "The number of fully labeled replicas per ReplicaSet.",
        |o, _, s| {
            s.value(
                status(o)
                    .and_then(|st| st.fully_labeled_replicas)
                    .unwrap_or(0) as f64,
            )
        },
    ),
    Family::stable(
        "kube_replicaset_status_ready_replicas",
        "The number of ready replicas per ReplicaSet.",
        |o, _, s| s.value(status(o).and_then(|st| st.ready_replicas).unwrap_or(0) as f64),
    ),
    Family::experimental(
        "kube_replicaset_status_terminating_replicas",
        "The number of terminating replicas per ReplicaSet.",
        |o, _, s| {
            // A pointer in the API: absent means "not tracked", so no sample rather than 0.
            if let Some(v) = status(o).and_then(|st| st.terminating_replicas) {
                s.value(v as f64);
            }
        },
    ),
    Family::stable(
        "kube_replicaset_status_observed_generation",
        "The generation observed by the ReplicaSet controller.",
        |o, _, s| s.value(status(o).and_then(|st| st.observed_generation).unwrap_or(0) as f64),
    ),
    Family::stable(
        "kube_replicaset_spec_replicas",
        "Number of desired pods for a ReplicaSet.",
        |o, _, s| {
            if let Some(v) = o.spec.replicas {
                s.value(v as f64);
            }
        },
    ),
    Family::stable(
        "kube_replicaset_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        meta::generation,
    ),
    Family::stable(
        "kube_replicaset_owner",
        "Information about the ReplicaSet's owner.",
        meta::owner,
    ),
    Family::experimental(
        "kube_replicaset_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        meta::annotations,
    ),
    Family::stable(
        "kube_replicaset_labels",
        "Kubernetes labels converted to Prometheus labels.",
        meta::labels,
    ),
];

fn status(o: &ReplicaSet) -> Option<&ReplicaSetStatus> {
    o.status.as_ref()
}

/// Generators that read only `metadata`, generic over the resource so each family table can
/// name them directly (`meta::created` as a `fn(&DaemonSet, ..)`). Semantics are
/// kube-state-metrics' for every workload: absent or zero timestamps give no sample, an
/// absent generation reads as 0.
pub(crate) mod meta {
    use crate::metrics::family::{kube_map_to_labels, RenderCtx, Samples};
    use crate::metrics::time::unix_seconds;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::Metadata;

    /// `time.Time{}.Unix()`: Go's zero time, which `IsZero()` rejects.
    pub(crate) const GO_ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

    /// A timestamp as KSM writes it, or `None` when unset or Go's zero time (`IsZero`).
    pub(crate) fn set_time(t: Option<&Time>) -> Option<f64> {
        t.map(unix_seconds).filter(|&v| v != GO_ZERO_TIME_UNIX)
    }

    pub(crate) fn created<T: Metadata<Ty = ObjectMeta>>(o: &T, _: &RenderCtx, s: &mut Samples) {
        if let Some(v) = set_time(o.metadata().creation_timestamp.as_ref()) {
            s.value(v);
        }
    }

    pub(crate) fn deletion_timestamp<T: Metadata<Ty = ObjectMeta>>(
        o: &T,
        _: &RenderCtx,
        s: &mut Samples,
    ) {
        if let Some(v) = set_time(o.metadata().deletion_timestamp.as_ref()) {
            s.value(v);
        }
    }

    pub(crate) fn generation<T: Metadata<Ty = ObjectMeta>>(o: &T, _: &RenderCtx, s: &mut Samples) {
        s.value(o.metadata().generation.unwrap_or(0) as f64);
    }

    /// One sample per owner reference; without owners a single sample with empty values
    /// (KSM v2.20 writes `""`, not `<none>`). An unset `controller` reads as `false`.
    pub(crate) fn owner<T: Metadata<Ty = ObjectMeta>>(o: &T, _: &RenderCtx, s: &mut Samples) {
        let owners = o.metadata().owner_references.as_deref().unwrap_or(&[]);
        if owners.is_empty() {
            s.push(
                &[
                    ("owner_kind", ""),
                    ("owner_name", ""),
                    ("owner_is_controller", ""),
                ],
                1.0,
            );
            return;
        }
        for r in owners {
            let controller = if r.controller == Some(true) {
                "true"
            } else {
                "false"
            };
            s.push(
                &[
                    ("owner_kind", r.kind.as_str()),
                    ("owner_name", r.name.as_str()),
                    ("owner_is_controller", controller),
                ],
                1.0,
            );
        }
    }

    /// No sample unless the resource is in `--metric-labels-allowlist`; then exactly one.
    pub(crate) fn labels<T: Metadata<Ty = ObjectMeta>>(o: &T, ctx: &RenderCtx, s: &mut Samples) {
        if !ctx.labels.listed {
            return;
        }
        let l = kube_map_to_labels("label", o.metadata().labels.as_ref(), &ctx.labels);
        s.push(&l, 1.0);
    }

    /// As [`labels`], for `--metric-annotations-allowlist`.
    pub(crate) fn annotations<T: Metadata<Ty = ObjectMeta>>(
        o: &T,
        ctx: &RenderCtx,
        s: &mut Samples,
    ) {
        if !ctx.annotations.listed {
            return;
        }
        let l = kube_map_to_labels(
            "annotation",
            o.metadata().annotations.as_ref(),
            &ctx.annotations,
        );
        s.push(&l, 1.0);
    }
}

/// Shared by the workload test modules: exact-line helpers and the check that every family
/// rendered from a set of fixtures carries exactly the catalog's label names.
#[cfg(test)]
pub(crate) mod conformance {
    use crate::metrics::family::{MetricType, RenderCtx, Stability};
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::render_lines;
    use crate::metrics::ResourceDef;

    /// `name{<identity>,<labels>} value`, as the writer formats it.
    pub fn line(name: &str, id: &str, labels: &str, value: &str) -> String {
        if labels.is_empty() {
            format!("{name}{{{id}}} {value}")
        } else {
            format!("{name}{{{id},{labels}}} {value}")
        }
    }

    /// A context whose allowlists list `spec` (e.g. `jobs=[app,team]`) for `resource`.
    pub fn allowlist_ctx(resource: &str, spec: &str) -> RenderCtx {
        let list = Allowlist::parse("x", spec, &|_| true).expect("allowlist");
        RenderCtx {
            labels: list.for_resource(resource),
            annotations: list.for_resource(resource),
        }
    }

    /// Label names of one sample line, in order.
    pub fn label_names(l: &str) -> Vec<String> {
        let Some(open) = l.find('{') else {
            return Vec::new();
        };
        let b = l.as_bytes();
        let mut i = open + 1;
        let mut out = Vec::new();
        while i < b.len() && b[i] != b'}' {
            let eq = i + l[i..].find('=').expect("=");
            out.push(l[i..eq].to_string());
            i = eq + 2;
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

    fn matches(got: &[String], want: &[&str]) -> bool {
        let fixed: Vec<&str> = want.iter().copied().filter(|w| !w.ends_with('*')).collect();
        let wildcard = want.iter().find_map(|w| w.strip_suffix('*'));
        if got.len() < fixed.len() || got[..fixed.len()] != fixed[..] {
            return false;
        }
        match wildcard {
            None => got.len() == fixed.len(),
            Some(p) => got[fixed.len()..].iter().all(|g| g.starts_with(p)),
        }
    }

    /// The table equals the TSV rows of `resource` (names, types, stability, opt-in) and every
    /// family renders from `fixtures` with the TSV's label names, or a `# variant` of them.
    /// `id_len` is the number of identity labels, which variants leave implicit.
    pub fn check_catalog<T>(
        resource: &str,
        def: &'static ResourceDef<T>,
        id_len: usize,
        fixtures: &[T],
        ctx: fn() -> RenderCtx,
    ) {
        let tsv = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/spec/ksm-metrics.tsv"
        ))
        .expect("catalog readable");
        let rows: Vec<Vec<&str>> = tsv
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|c| c.first() == Some(&resource))
            .collect();
        let variants: Vec<Vec<&str>> = tsv
            .lines()
            .filter(|l| l.starts_with("# variant\t"))
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .collect();
        assert!(!rows.is_empty());
        assert_eq!(rows.len(), def.families.len(), "{resource}");
        for (row, fam) in rows.iter().zip(def.families) {
            let d = &fam.def;
            assert_eq!(row[1], d.name);
            let kind = match d.kind {
                MetricType::Gauge => "gauge",
                MetricType::Counter => "counter",
            };
            assert_eq!(row[2], kind, "{}", d.name);
            let stab = match d.stability {
                Stability::Stable => "STABLE",
                Stability::Experimental => "EXPERIMENTAL",
            };
            let want_stab = if row[4] == "STABLE" {
                "STABLE"
            } else {
                "EXPERIMENTAL"
            };
            assert_eq!(want_stab, stab, "{}", d.name);
            assert_eq!(row[5] == "opt-in", d.opt_in, "{}", d.name);
        }
        for row in &rows {
            let want: Vec<&str> = row[3].split(',').collect();
            let alts: Vec<Vec<&str>> = variants
                .iter()
                .filter(|v| v.get(1) == Some(&row[1]))
                .map(|v| {
                    let mut w: Vec<&str> = want[..id_len].to_vec();
                    w.extend(v.get(2).unwrap_or(&"").split(',').filter(|x| !x.is_empty()));
                    w
                })
                .collect();
            let mut seen = 0;
            for f in fixtures {
                for l in render_lines(def, f, ctx(), &[row[1]]) {
                    seen += 1;
                    let got = label_names(&l);
                    assert!(
                        matches(&got, &want) || alts.iter().any(|a| matches(&got, a)),
                        "{l} does not carry {want:?}"
                    );
                }
            }
            assert!(seen > 0, "no fixture produces {}", row[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::conformance::{allowlist_ctx, check_catalog, line};
    use super::*;
    use crate::metrics::family::RenderCtx;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns1",replicaset="rs1""#;

    fn full() -> ReplicaSet {
        obj(r#"{
          "metadata": {
            "name": "rs1", "namespace": "ns1", "generation": 21,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "labels": {"app": "example1", "app.kubernetes.io/name": "web"},
            "annotations": {"deployment.kubernetes.io/revision": "3"},
            "ownerReferences": [
              {"apiVersion": "apps/v1", "kind": "Deployment", "name": "dp-name", "uid": "u1", "controller": true},
              {"apiVersion": "v1", "kind": "Foo", "name": "bar", "uid": "u2"}
            ]
          },
          "spec": {"replicas": 5, "selector": {}},
          "status": {
            "replicas": 5, "fullyLabeledReplicas": 10, "readyReplicas": 5,
            "terminatingReplicas": 2, "observedGeneration": 1
          }
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn full_replicaset() {
        let got = render_lines(&REPLICASET, &full(), allow_all(), &all_names());
        assert_eq!(
            got,
            vec![
                line("kube_replicaset_created", ID, "", "1.501439547e+09"),
                line("kube_replicaset_status_replicas", ID, "", "5"),
                line(
                    "kube_replicaset_status_fully_labeled_replicas",
                    ID,
                    "",
                    "10"
                ),
                line("kube_replicaset_status_ready_replicas", ID, "", "5"),
                line("kube_replicaset_status_terminating_replicas", ID, "", "2"),
                line("kube_replicaset_status_observed_generation", ID, "", "1"),
                line("kube_replicaset_spec_replicas", ID, "", "5"),
                line("kube_replicaset_metadata_generation", ID, "", "21"),
                line(
                    "kube_replicaset_owner",
                    ID,
                    r#"owner_kind="Deployment",owner_name="dp-name",owner_is_controller="true""#,
                    "1"
                ),
                line(
                    "kube_replicaset_owner",
                    ID,
                    r#"owner_kind="Foo",owner_name="bar",owner_is_controller="false""#,
                    "1"
                ),
                line(
                    "kube_replicaset_annotations",
                    ID,
                    r#"annotation_deployment_kubernetes_io_revision="3""#,
                    "1"
                ),
                line(
                    "kube_replicaset_labels",
                    ID,
                    r#"label_app="example1",label_app_kubernetes_io_name="web""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn bare_replicaset_skips_pointers_and_zeroes_counts() {
        let rs: ReplicaSet = obj(r#"{"metadata": {"name": "rs1", "namespace": "ns1"}}"#);
        let got = render_lines(&REPLICASET, &rs, RenderCtx::default(), &all_names());
        assert_eq!(
            got,
            vec![
                line("kube_replicaset_status_replicas", ID, "", "0"),
                line("kube_replicaset_status_fully_labeled_replicas", ID, "", "0"),
                line("kube_replicaset_status_ready_replicas", ID, "", "0"),
                line("kube_replicaset_status_observed_generation", ID, "", "0"),
                line("kube_replicaset_metadata_generation", ID, "", "0"),
                line(
                    "kube_replicaset_owner",
                    ID,
                    r#"owner_kind="",owner_name="",owner_is_controller="""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn spec_replicas_zero_is_a_sample() {
        let rs: ReplicaSet = obj(
            r#"{"metadata": {"name": "rs1", "namespace": "ns1"}, "spec": {"replicas": 0, "selector": {}}}"#,
        );
        assert_eq!(
            render_lines(
                &REPLICASET,
                &rs,
                allow_all(),
                &["kube_replicaset_spec_replicas"]
            ),
            vec![line("kube_replicaset_spec_replicas", ID, "", "0")]
        );
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &["kube_replicaset_labels", "kube_replicaset_annotations"];
        assert!(render_lines(&REPLICASET, &full(), RenderCtx::default(), names).is_empty());
        let ctx = allowlist_ctx("replicasets", "replicasets=[app,missing]");
        assert_eq!(
            render_lines(&REPLICASET, &full(), ctx, names),
            vec![
                line("kube_replicaset_annotations", ID, "", "1"),
                line("kube_replicaset_labels", ID, r#"label_app="example1""#, "1"),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        check_catalog("replicasets", &REPLICASET, 2, &[full()], allow_all);
    }
}
