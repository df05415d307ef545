//! Object-state metric families, one file per resource listed in the [`BUILTIN`] table
//! below, and the renderer that turns an object into the bytes its store keeps.

pub mod builtin;
#[cfg(test)]
pub mod catalog_check;
pub mod common;
pub mod consumer;
pub mod custom;
pub mod family;
pub mod filter;
pub mod quantity;
pub mod start;
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

use crate::kube::resources::{self, ApiResource};
use builtin::{builtin, Builtin, Enabled::*, SdUse};

/// The one table of built-in resources, sorted by name: adding a resource is its own file
/// under `metrics/` (families and `ResourceDef`), its `pub mod` line above and one entry
/// here (definition, default on or opt-in, service discovery use, API coordinates).
pub static BUILTIN: &[Builtin] = &[
    builtin(
        &certificatesigningrequest::CERTIFICATESIGNINGREQUEST,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "certificates.k8s.io",
            version: "v1",
            plural: "certificatesigningrequests",
            kind: "CertificateSigningRequest",
            namespaced: false,
            go_type: "*v1.CertificateSigningRequest",
        },
    ),
    builtin(
        &clusterrolebinding::CLUSTERROLEBINDING,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "clusterrolebindings",
            kind: "ClusterRoleBinding",
            namespaced: false,
            go_type: "*v1.ClusterRoleBinding",
        },
    ),
    builtin(
        &clusterrole::CLUSTERROLE,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "clusterroles",
            kind: "ClusterRole",
            namespaced: false,
            go_type: "*v1.ClusterRole",
        },
    ),
    builtin(
        &configmap::CONFIGMAP,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "configmaps",
            kind: "ConfigMap",
            namespaced: true,
            go_type: "*v1.ConfigMap",
        },
    ),
    builtin(
        &cronjob::CRONJOB,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "batch",
            version: "v1",
            plural: "cronjobs",
            kind: "CronJob",
            namespaced: true,
            go_type: "*v1.CronJob",
        },
    ),
    builtin(
        &daemonset::DAEMONSET,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "apps",
            version: "v1",
            plural: "daemonsets",
            kind: "DaemonSet",
            namespaced: true,
            go_type: "*v1.DaemonSet",
        },
    ),
    builtin(
        &deployment::DEPLOYMENT,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "apps",
            version: "v1",
            plural: "deployments",
            kind: "Deployment",
            namespaced: true,
            go_type: "*v1.Deployment",
        },
    ),
    builtin(
        &endpoint::ENDPOINT,
        OptIn,
        SdUse::Reads,
        resources::ENDPOINTS,
    ),
    builtin(
        &endpointslice::ENDPOINTSLICE,
        ByDefault,
        SdUse::Reads,
        resources::ENDPOINTSLICES,
    ),
    builtin(
        &horizontalpodautoscaler::HORIZONTALPODAUTOSCALER,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "autoscaling",
            version: "v2",
            plural: "horizontalpodautoscalers",
            kind: "HorizontalPodAutoscaler",
            namespaced: true,
            go_type: "*v2.HorizontalPodAutoscaler",
        },
    ),
    builtin(
        &ingressclass::INGRESSCLASS,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "networking.k8s.io",
            version: "v1",
            plural: "ingressclasses",
            kind: "IngressClass",
            namespaced: false,
            go_type: "*v1.IngressClass",
        },
    ),
    builtin(
        &ingress::INGRESS,
        ByDefault,
        SdUse::Reads,
        resources::INGRESSES,
    ),
    builtin(&job::JOB, ByDefault, SdUse::Reads, resources::JOBS),
    builtin(
        &lease::LEASE,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "coordination.k8s.io",
            version: "v1",
            plural: "leases",
            kind: "Lease",
            namespaced: true,
            go_type: "*v1.Lease",
        },
    ),
    builtin(
        &limitrange::LIMITRANGE,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "limitranges",
            kind: "LimitRange",
            namespaced: true,
            go_type: "*v1.LimitRange",
        },
    ),
    builtin(
        &mutatingadmissionpolicy::MUTATINGADMISSIONPOLICY,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "mutatingadmissionpolicies",
            kind: "MutatingAdmissionPolicy",
            namespaced: false,
            go_type: "*v1.MutatingAdmissionPolicy",
        },
    ),
    builtin(
        &mutatingadmissionpolicybinding::MUTATINGADMISSIONPOLICYBINDING,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "mutatingadmissionpolicybindings",
            kind: "MutatingAdmissionPolicyBinding",
            namespaced: false,
            go_type: "*v1.MutatingAdmissionPolicyBinding",
        },
    ),
    builtin(
        &mutatingwebhookconfiguration::MUTATINGWEBHOOKCONFIGURATION,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "mutatingwebhookconfigurations",
            kind: "MutatingWebhookConfiguration",
            namespaced: false,
            go_type: "*v1.MutatingWebhookConfiguration",
        },
    ),
    builtin(
        &namespace::NAMESPACE,
        ByDefault,
        SdUse::Reads,
        resources::NAMESPACES,
    ),
    builtin(
        &networkpolicy::NETWORKPOLICY,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "networking.k8s.io",
            version: "v1",
            plural: "networkpolicies",
            kind: "NetworkPolicy",
            namespaced: true,
            go_type: "*v1.NetworkPolicy",
        },
    ),
    builtin(&node::NODE, ByDefault, SdUse::Reads, resources::NODES),
    builtin(
        &persistentvolumeclaim::PERSISTENTVOLUMECLAIM,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "persistentvolumeclaims",
            kind: "PersistentVolumeClaim",
            namespaced: true,
            go_type: "*v1.PersistentVolumeClaim",
        },
    ),
    builtin(
        &persistentvolume::PERSISTENTVOLUME,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "persistentvolumes",
            kind: "PersistentVolume",
            namespaced: false,
            go_type: "*v1.PersistentVolume",
        },
    ),
    builtin(
        &poddisruptionbudget::PODDISRUPTIONBUDGET,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "policy",
            version: "v1",
            plural: "poddisruptionbudgets",
            kind: "PodDisruptionBudget",
            namespaced: true,
            go_type: "*v1.PodDisruptionBudget",
        },
    ),
    builtin(&pod::POD, ByDefault, SdUse::Reads, resources::PODS),
    builtin(
        &replicaset::REPLICASET,
        ByDefault,
        SdUse::Reads,
        resources::REPLICASETS,
    ),
    builtin(
        &replicationcontroller::REPLICATIONCONTROLLER,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "replicationcontrollers",
            kind: "ReplicationController",
            namespaced: true,
            go_type: "*v1.ReplicationController",
        },
    ),
    builtin(
        &resourcequota::RESOURCEQUOTA,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "resourcequotas",
            kind: "ResourceQuota",
            namespaced: true,
            go_type: "*v1.ResourceQuota",
        },
    ),
    builtin(
        &rolebinding::ROLEBINDING,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "rolebindings",
            kind: "RoleBinding",
            namespaced: true,
            go_type: "*v1.RoleBinding",
        },
    ),
    builtin(
        &role::ROLE,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "roles",
            kind: "Role",
            namespaced: true,
            go_type: "*v1.Role",
        },
    ),
    builtin(
        &secret::SECRET,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "secrets",
            kind: "Secret",
            namespaced: true,
            go_type: "*v1.Secret",
        },
    ),
    builtin(
        &serviceaccount::SERVICEACCOUNT,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "serviceaccounts",
            kind: "ServiceAccount",
            namespaced: true,
            go_type: "*v1.ServiceAccount",
        },
    ),
    builtin(
        &service::SERVICE,
        ByDefault,
        SdUse::Reads,
        resources::SERVICES,
    ),
    builtin(
        &statefulset::STATEFULSET,
        ByDefault,
        SdUse::Unused,
        resources::STATEFULSETS,
    ),
    builtin(
        &storageclass::STORAGECLASS,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "storage.k8s.io",
            version: "v1",
            plural: "storageclasses",
            kind: "StorageClass",
            namespaced: false,
            go_type: "*v1.StorageClass",
        },
    ),
    builtin(
        &validatingadmissionpolicy::VALIDATINGADMISSIONPOLICY,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "validatingadmissionpolicies",
            kind: "ValidatingAdmissionPolicy",
            namespaced: false,
            go_type: "*v1.ValidatingAdmissionPolicy",
        },
    ),
    builtin(
        &validatingadmissionpolicybinding::VALIDATINGADMISSIONPOLICYBINDING,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "validatingadmissionpolicybindings",
            kind: "ValidatingAdmissionPolicyBinding",
            namespaced: false,
            go_type: "*v1.ValidatingAdmissionPolicyBinding",
        },
    ),
    builtin(
        &validatingwebhookconfiguration::VALIDATINGWEBHOOKCONFIGURATION,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "validatingwebhookconfigurations",
            kind: "ValidatingWebhookConfiguration",
            namespaced: false,
            go_type: "*v1.ValidatingWebhookConfiguration",
        },
    ),
    builtin(
        &volumeattachment::VOLUMEATTACHMENT,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "storage.k8s.io",
            version: "v1",
            plural: "volumeattachments",
            kind: "VolumeAttachment",
            namespaced: false,
            go_type: "*v1.VolumeAttachment",
        },
    ),
];

use crate::exposition::negotiate::Format;
use crate::store::{FamilyHeaders, RenderedObject};
use family::{Family, RenderCtx, Samples};
use filter::MetricFilter;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every resource's name and family declarations, for catalog checks and documentation.
pub fn catalog() -> Vec<(&'static str, Vec<family::FamilyDef>)> {
    builtin::BUILTIN
        .iter()
        .map(|b| (b.name, b.families()))
        .collect()
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
        for s in builtin::names() {
            assert!(
                !empty.contains(&s),
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
