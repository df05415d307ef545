//! Object-state metric families, one file per resource, and the renderer that turns an
//! object into the bytes its store keeps.

#[cfg(test)]
pub mod catalog_check;
pub mod common;
pub mod consumer;
pub mod custom;
pub mod family;
pub mod filter;
pub mod quantity;
pub mod time;

pub mod certificatesigningrequest;
pub mod clusterrole;
pub mod clusterrolebinding;
pub mod configmap;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoint;
pub mod endpointslice;
pub mod horizontalpodautoscaler;
pub mod ingress;
pub mod ingressclass;
pub mod job;
pub mod lease;
pub mod limitrange;
pub mod mutatingadmissionpolicy;
pub mod mutatingadmissionpolicybinding;
pub mod mutatingwebhookconfiguration;
pub mod namespace;
pub mod networkpolicy;
pub mod node;
pub mod persistentvolume;
pub mod persistentvolumeclaim;
pub mod pod;
pub mod pod_object;
pub mod poddisruptionbudget;
pub mod replicaset;
pub mod replicationcontroller;
pub mod resourcequota;
pub mod role;
pub mod rolebinding;
pub mod secret;
pub mod service;
pub mod serviceaccount;
pub mod statefulset;
pub mod storageclass;
pub mod validatingadmissionpolicy;
pub mod validatingadmissionpolicybinding;
pub mod validatingwebhookconfiguration;
pub mod volumeattachment;

use crate::exposition::negotiate::Format;
use crate::store::{FamilyHeaders, RenderedObject};
use family::{Family, RenderCtx, Samples};
use filter::MetricFilter;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every resource's name and family declarations, for catalog checks and documentation.
pub fn catalog() -> Vec<(&'static str, Vec<family::FamilyDef>)> {
    vec![
        catalog_entry(&certificatesigningrequest::CERTIFICATESIGNINGREQUEST),
        catalog_entry(&clusterrole::CLUSTERROLE),
        catalog_entry(&clusterrolebinding::CLUSTERROLEBINDING),
        catalog_entry(&configmap::CONFIGMAP),
        catalog_entry(&cronjob::CRONJOB),
        catalog_entry(&daemonset::DAEMONSET),
        catalog_entry(&deployment::DEPLOYMENT),
        catalog_entry(&endpoint::ENDPOINT),
        catalog_entry(&endpointslice::ENDPOINTSLICE),
        catalog_entry(&horizontalpodautoscaler::HORIZONTALPODAUTOSCALER),
        catalog_entry(&ingress::INGRESS),
        catalog_entry(&ingressclass::INGRESSCLASS),
        catalog_entry(&job::JOB),
        catalog_entry(&lease::LEASE),
        catalog_entry(&limitrange::LIMITRANGE),
        catalog_entry(&mutatingadmissionpolicy::MUTATINGADMISSIONPOLICY),
        catalog_entry(&mutatingadmissionpolicybinding::MUTATINGADMISSIONPOLICYBINDING),
        catalog_entry(&mutatingwebhookconfiguration::MUTATINGWEBHOOKCONFIGURATION),
        catalog_entry(&namespace::NAMESPACE),
        catalog_entry(&networkpolicy::NETWORKPOLICY),
        catalog_entry(&node::NODE),
        catalog_entry(&persistentvolume::PERSISTENTVOLUME),
        catalog_entry(&persistentvolumeclaim::PERSISTENTVOLUMECLAIM),
        catalog_entry(&pod::POD),
        catalog_entry(&poddisruptionbudget::PODDISRUPTIONBUDGET),
        catalog_entry(&replicaset::REPLICASET),
        catalog_entry(&replicationcontroller::REPLICATIONCONTROLLER),
        catalog_entry(&resourcequota::RESOURCEQUOTA),
        catalog_entry(&role::ROLE),
        catalog_entry(&rolebinding::ROLEBINDING),
        catalog_entry(&secret::SECRET),
        catalog_entry(&service::SERVICE),
        catalog_entry(&serviceaccount::SERVICEACCOUNT),
        catalog_entry(&statefulset::STATEFULSET),
        catalog_entry(&storageclass::STORAGECLASS),
        catalog_entry(&validatingadmissionpolicy::VALIDATINGADMISSIONPOLICY),
        catalog_entry(&validatingadmissionpolicybinding::VALIDATINGADMISSIONPOLICYBINDING),
        catalog_entry(&validatingwebhookconfiguration::VALIDATINGWEBHOOKCONFIGURATION),
        catalog_entry(&volumeattachment::VOLUMEATTACHMENT),
    ]
}

fn catalog_entry<T>(def: &'static ResourceDef<T>) -> (&'static str, Vec<family::FamilyDef>) {
    (def.name, def.families.iter().map(|f| f.def).collect())
}

/// A resource's metric declaration: its name as `--resources` spells it, the identity labels
/// every line starts with, and its families in kube-state-metrics' order.
pub struct ResourceDef<T: 'static> {
    pub name: &'static str,
    pub identity: fn(&T) -> Vec<u8>,
    pub families: &'static [Family<T>],
}

/// Renders objects of one resource with the families the filters left enabled.
pub struct Renderer<T: 'static> {
    def: &'static ResourceDef<T>,
    enabled: Vec<usize>,
    ctx: RenderCtx,
    /// Size of the last rendering: objects of a resource render to similar sizes, so the
    /// buffer usually starts large enough and is not grown (copied) several times.
    last_len: AtomicUsize,
}

impl<T> Renderer<T> {
    pub fn new(def: &'static ResourceDef<T>, filter: &MetricFilter, ctx: RenderCtx) -> Self {
        let enabled = def
            .families
            .iter()
            .enumerate()
            .filter(|(_, f)| filter.includes(f.def.name, f.def.opt_in))
            .map(|(i, _)| i)
            .collect();
        Renderer {
            def,
            enabled,
            ctx,
            last_len: AtomicUsize::new(512),
        }
    }

    pub fn resource(&self) -> &'static str {
        self.def.name
    }

    /// `# HELP`/`# TYPE` of each enabled family, in order, in both formats.
    pub fn headers(&self) -> Vec<FamilyHeaders> {
        self.enabled
            .iter()
            .map(|&i| {
                let d = &self.def.families[i].def;
                FamilyHeaders {
                    name: d.name.into(),
                    text: d.header_for(Format::Text),
                    openmetrics: d.header_for(Format::OpenMetrics),
                }
            })
            .collect()
    }

    /// Names of the enabled families, in order.
    pub fn family_names(&self) -> Vec<&'static str> {
        self.enabled
            .iter()
            .map(|&i| self.def.families[i].def.name)
            .collect()
    }

    /// Every enabled family's lines for one object, in the compact form the store keeps.
    pub fn render(&self, obj: &T) -> RenderedObject {
        let identity = (self.def.identity)(obj);
        let mut buf = Vec::with_capacity(self.last_len.load(Ordering::Relaxed));
        let mut ends = Vec::with_capacity(self.enabled.len());
        for &i in &self.enabled {
            let fam = &self.def.families[i];
            let mut s = Samples::compact(&mut buf, &identity);
            (fam.generate)(obj, &self.ctx, &mut s);
            ends.push(buf.len() as u32);
        }
        self.last_len.store(buf.len().max(64), Ordering::Relaxed);
        buf.shrink_to_fit();
        RenderedObject::compact(identity, buf, ends)
    }

    /// The object's lines as exposition text (tests, debugging).
    pub fn render_text(&self, obj: &T) -> String {
        let o = self.render(obj);
        let mut out = Vec::new();
        for (k, &i) in self.enabled.iter().enumerate() {
            o.write_family(k, self.def.families[i].def.name.as_bytes(), &mut out);
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod catalog_tests {
    use super::*;

    /// The stability the code of kube-state-metrics gives (the TSV keeps the docs' wording):
    /// `kube_endpoint_ports` is STABLE with a deprecation note, `kube_resourcequota_labels`
    /// STABLE; ALPHA and EXPERIMENTAL are one level.
    fn catalog_stability(name: &str, tsv: &str) -> &'static str {
        match (name, tsv) {
            (_, "STABLE") | (_, "DEPRECATED") | ("kube_resourcequota_labels", _) => "STABLE",
            _ => "EXPERIMENTAL",
        }
    }

    /// The families every resource declares are exactly kube-state-metrics' catalog: same
    /// names, same order, same types, same stability. Resources whose tables are still
    /// empty are reported, not skipped silently.
    #[test]
    fn declared_families_match_the_catalog() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ksm-metrics.tsv");
        let tsv = std::fs::read_to_string(path).expect("tests/data/ksm-metrics.tsv");
        let mut want: std::collections::BTreeMap<&str, Vec<(&str, &str, &str)>> =
            Default::default();
        for line in tsv
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let f: Vec<&str> = line.split('\t').collect();
            want.entry(f[0]).or_default().push((f[1], f[2], f[4]));
        }
        let mut empty = Vec::new();
        for (name, defs) in catalog() {
            if defs.is_empty() {
                empty.push(name);
                continue;
            }
            let got: Vec<(&str, &str, &str)> = defs
                .iter()
                .map(|d| {
                    let stability = match d.stability {
                        family::Stability::Stable => "STABLE",
                        family::Stability::Experimental => "EXPERIMENTAL",
                    };
                    (d.name, d.kind.as_str(), stability)
                })
                .collect();
            let want_rows: Vec<(&str, &str, &str)> = want[name]
                .iter()
                .map(|(n, t, s)| (*n, *t, catalog_stability(n, s)))
                .collect();
            assert_eq!(got, want_rows, "families of {name}");
        }
        let supported = crate::cli::KSM_RESOURCES;
        for s in supported {
            assert!(
                !empty.contains(s),
                "{s} is enabled but declares no families"
            );
        }
    }
}

#[cfg(test)]
pub mod testing {
    //! Helpers for the per-resource object-in/lines-out tests.
    use super::*;
    use crate::metrics::filter::KeyFilter;

    /// Renders `obj` with every family (opt-in included) and returns the lines of the named
    /// families, in generation order.
    pub fn render_lines<T>(
        def: &'static ResourceDef<T>,
        obj: &T,
        ctx: RenderCtx,
        names: &[&str],
    ) -> Vec<String> {
        let all = MetricFilter::new(&[], &[], &[".*".to_string()]).expect("static regex");
        let r = Renderer::new(def, &all, ctx);
        let text = r.render_text(obj);
        text.lines()
            .filter(|l| {
                let name = l.split(['{', ' ']).next().unwrap_or("");
                names.contains(&name)
            })
            .map(str::to_string)
            .collect()
    }

    /// A context whose allowlists allow every label and annotation.
    pub fn allow_all() -> RenderCtx {
        RenderCtx {
            labels: KeyFilter::all(),
            annotations: KeyFilter::all(),
        }
    }

    /// Parses a JSON fixture into a Kubernetes type.
    pub fn obj<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).expect("fixture decodes")
    }
}
