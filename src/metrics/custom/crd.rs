//! Wildcard `groupVersionKind`s (`version: "*"`, `kind: "*"`) resolved through the cluster's
//! CustomResourceDefinitions, as kube-state-metrics does: a watch on CRDs keeps, per CRD, the
//! versions the API server serves with their kind, plural and scope, and every change is
//! signalled so the wildcard entries can be resolved again (types that appear get watches,
//! types that disappear lose theirs). Only the few fields resolution needs are decoded; a
//! CRD's schema can be megabytes.

use super::config::Gvk;
use crate::kube::object::KubeObject;
use crate::kube::resources::ApiResource;
use crate::kube::watch::Consumer;
use crossbeam_channel::Sender;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use parking_lot::Mutex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const CRDS: ApiResource = ApiResource {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
    go_type: "*unstructured.Unstructured",
};

/// The parts of a CustomResourceDefinition that name what it serves.
#[derive(Debug, Deserialize)]
pub struct Crd {
    pub metadata: ObjectMeta,
    #[serde(default)]
    spec: CrdSpec,
}

#[derive(Debug, Default, Deserialize)]
struct CrdSpec {
    #[serde(default)]
    group: String,
    #[serde(default)]
    names: CrdNames,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    versions: Vec<CrdVersion>,
}

#[derive(Debug, Default, Deserialize)]
struct CrdNames {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    plural: String,
}

#[derive(Debug, Deserialize)]
struct CrdVersion {
    #[serde(default)]
    name: String,
    /// Required by the API; absent is read as served (as KSM does), anything but a bool as
    /// not served: a type that cannot be listed must not get a watch that fails forever.
    #[serde(default)]
    served: Option<serde_json::Value>,
}

impl KubeObject for Crd {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

/// One concrete type a CRD serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Served {
    pub gvk: Gvk,
    pub plural: String,
    pub namespaced: bool,
}

impl Crd {
    /// The served versions, each a concrete type; nothing for a CRD missing its names.
    pub fn served(&self) -> Vec<Served> {
        let s = &self.spec;
        if s.group.is_empty() || s.names.kind.is_empty() || s.names.plural.is_empty() {
            return Vec::new();
        }
        s.versions
            .iter()
            .filter(|v| !v.name.is_empty())
            .filter(|v| match &v.served {
                None => true,
                Some(serde_json::Value::Bool(b)) => *b,
                Some(_) => false,
            })
            .map(|v| Served {
                gvk: Gvk {
                    group: s.group.clone(),
                    version: v.name.clone(),
                    kind: s.names.kind.clone(),
                },
                plural: s.names.plural.clone(),
                namespaced: s.scope != "Cluster",
            })
            .collect()
    }
}

/// CRD name → the types it serves. Shared between the CRD watch and the resolver.
#[derive(Debug, Default, Clone)]
pub struct CrdCache(Arc<Mutex<BTreeMap<String, Vec<Served>>>>);

impl CrdCache {
    /// Every served type a wildcard entry covers, in a stable order.
    pub fn resolve(&self, pattern: &Gvk) -> Vec<Served> {
        let mut out: Vec<Served> = self
            .0
            .lock()
            .values()
            .flatten()
            .filter(|s| pattern.matches(&s.gvk))
            .cloned()
            .collect();
        out.sort();
        out.dedup_by(|a, b| a.gvk == b.gvk);
        out
    }

    fn put(&self, crd: &Crd) -> bool {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let served = crd.served();
        let mut m = self.0.lock();
        if m.get(&name) == Some(&served) {
            return false;
        }
        m.insert(name, served);
        true
    }

    fn remove(&self, crd: &Crd) -> bool {
        let name = crd.metadata.name.as_deref().unwrap_or_default();
        self.0.lock().remove(name).is_some()
    }
}

/// Feeds the CRD watch into a [`CrdCache`]; sends `()` whenever what is served changed
/// (a relist is committed as a whole, so a half-read list never drops types).
pub struct CrdConsumer {
    pub cache: CrdCache,
    pub changed: Sender<()>,
    staging: Option<BTreeMap<String, Vec<Served>>>,
}

impl CrdConsumer {
    pub fn new(cache: CrdCache, changed: Sender<()>) -> Self {
        CrdConsumer {
            cache,
            changed,
            staging: None,
        }
    }

    fn signal(&self) {
        // Full means a resolution is already pending; gone means the generation stopped.
        let _ = self.changed.try_send(());
    }
}

impl Consumer<Crd> for CrdConsumer {
    fn upsert(&mut self, obj: &Crd) {
        if self.cache.put(obj) {
            self.signal();
        }
    }

    fn delete(&mut self, obj: &Crd) {
        if self.cache.remove(obj) {
            self.signal();
        }
    }

    fn relist_begin(&mut self) {
        self.staging = Some(BTreeMap::new());
    }

    fn relist_item(&mut self, obj: &Crd) {
        if let Some(s) = &mut self.staging {
            s.insert(obj.metadata.name.clone().unwrap_or_default(), obj.served());
        }
    }

    fn relist_commit(&mut self) {
        if let Some(s) = self.staging.take() {
            *self.cache.0.lock() = s;
            // Signalled even when nothing changed: the resolver waits for the first sync
            // before it decides that a wildcard matches nothing.
            self.signal();
        }
    }

    fn relist_abort(&mut self) {
        self.staging = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(name: &str, group: &str, kind: &str, plural: &str, versions: serde_json::Value) -> Crd {
        serde_json::from_value(json!({
            "metadata": {"name": name, "uid": format!("uid-{name}")},
            "spec": {"group": group, "names": {"kind": kind, "plural": plural},
                     "scope": "Namespaced", "versions": versions,
                     "huge": {"openAPIV3Schema": {"type": "object"}}}
        }))
        .unwrap()
    }

    fn gvk(g: &str, v: &str, k: &str) -> Gvk {
        Gvk {
            group: g.into(),
            version: v.into(),
            kind: k.into(),
        }
    }

    #[test]
    fn served_skips_unserved_and_malformed_versions() {
        let c = crd(
            "widgets.example.io",
            "example.io",
            "Widget",
            "widgets",
            json!([{"name": "v1", "served": true}, {"name": "v1beta1", "served": false},
                   {"name": "v2"}, {"name": "v3", "served": "yes"}, {"served": true}]),
        );
        let versions: Vec<String> = c.served().into_iter().map(|s| s.gvk.version).collect();
        assert_eq!(versions, ["v1", "v2"]);
        assert!(c
            .served()
            .iter()
            .all(|s| s.namespaced && s.plural == "widgets"));
        let nameless = crd(
            "x.example.io",
            "example.io",
            "",
            "xs",
            json!([{"name": "v1"}]),
        );
        assert!(nameless.served().is_empty());
    }

    #[test]
    fn resolves_like_ksm_for_each_wildcard_shape() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let cache = CrdCache::default();
        let mut c = CrdConsumer::new(cache.clone(), tx);
        c.relist_begin();
        c.relist_item(&crd(
            "widgets.example.io",
            "example.io",
            "Widget",
            "widgets",
            json!([{"name": "v1", "served": true}, {"name": "v2", "served": true}]),
        ));
        c.relist_item(&crd(
            "gadgets.example.io",
            "example.io",
            "Gadget",
            "gadgets",
            json!([{"name": "v1", "served": true}]),
        ));
        c.relist_item(&crd(
            "others.other.io",
            "other.io",
            "Other",
            "others",
            json!([{"name": "v1", "served": true}]),
        ));
        assert!(
            cache.resolve(&gvk("example.io", "*", "*")).is_empty(),
            "staged until commit"
        );
        c.relist_commit();
        assert!(rx.try_recv().is_ok());
        let names = |p: Gvk| -> Vec<String> {
            cache
                .resolve(&p)
                .into_iter()
                .map(|s| s.gvk.to_string())
                .collect()
        };
        assert_eq!(
            names(gvk("example.io", "*", "*")),
            [
                "example.io_v1_Gadget",
                "example.io_v1_Widget",
                "example.io_v2_Widget"
            ]
        );
        assert_eq!(
            names(gvk("example.io", "v1", "*")),
            ["example.io_v1_Gadget", "example.io_v1_Widget"]
        );
        assert_eq!(
            names(gvk("example.io", "*", "Widget")),
            ["example.io_v1_Widget", "example.io_v2_Widget"]
        );
        assert!(names(gvk("missing.io", "*", "*")).is_empty());

        // A version stops being served: only a real change signals.
        let updated = crd(
            "widgets.example.io",
            "example.io",
            "Widget",
            "widgets",
            json!([{"name": "v1", "served": true}, {"name": "v2", "served": false}]),
        );
        c.upsert(&updated);
        assert!(rx.try_recv().is_ok());
        c.upsert(&updated);
        assert!(rx.try_recv().is_err(), "no change, no signal");
        assert_eq!(
            names(gvk("example.io", "*", "Widget")),
            ["example.io_v1_Widget"]
        );
        c.delete(&updated);
        assert!(rx.try_recv().is_ok());
        assert!(names(gvk("example.io", "*", "Widget")).is_empty());
    }
}
