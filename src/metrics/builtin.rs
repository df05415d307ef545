//! What an entry of the one table of built-in resources ([`BUILTIN`], in `metrics/mod.rs`
//! beside the resource modules) is, and the look-ups everything else uses: `--resources`
//! (its defaults, validation and `--help`), `kubestate rbac`, watch start-up, service
//! discovery's sharing of watches and the catalog checks all read that table, as
//! kube-state-metrics reads its one `availableStores` map.

use super::family::FamilyDef;
use super::start::{start_resource, BuiltinCtx, SpawnError, Started};
use super::ResourceDef;
pub use super::BUILTIN;
use crate::kube::object::KubeObject;
use crate::kube::resources::ApiResource;
use crate::kube::watch::Consumer;
use std::any::Any;

/// Whether a resource is watched when `--resources` is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enabled {
    ByDefault,
    /// kube-state-metrics exports it only when `--resources` names it.
    OptIn,
}

/// Whether a Prometheus service discovery role reads the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdUse {
    /// Discovery may ride on the metrics watch instead of opening its own.
    Reads,
    Unused,
}

/// One built-in resource.
pub struct Builtin {
    /// As `--resources` spells it (always the API plural).
    pub name: &'static str,
    pub api: ApiResource,
    pub enabled: Enabled,
    pub discovery: SdUse,
    def: &'static dyn BuiltinDef,
}

/// A resource's `ResourceDef` with its object type erased, so one table can hold them all.
trait BuiltinDef: Sync {
    fn families(&self) -> Vec<FamilyDef>;
    fn start(
        &'static self,
        api: ApiResource,
        ctx: &BuiltinCtx,
        shared: Option<Box<dyn Any + Send>>,
    ) -> Result<Started, SpawnError>;
    fn accepts(&self, shared: &(dyn Any + Send)) -> bool;
}

impl<T: KubeObject> BuiltinDef for ResourceDef<T> {
    fn families(&self) -> Vec<FamilyDef> {
        self.families.iter().map(|f| f.def).collect()
    }

    fn start(
        &'static self,
        api: ApiResource,
        ctx: &BuiltinCtx,
        shared: Option<Box<dyn Any + Send>>,
    ) -> Result<Started, SpawnError> {
        let extra = shared.and_then(|s| s.downcast::<Box<dyn Consumer<T>>>().ok());
        let is_shared = extra.is_some();
        let mut started = start_resource(self, api, ctx, extra.map(|c| *c))?;
        started.shared = is_shared;
        Ok(started)
    }

    fn accepts(&self, shared: &(dyn Any + Send)) -> bool {
        shared.is::<Box<dyn Consumer<T>>>()
    }
}

/// A table entry; its name is the definition's.
pub(super) const fn builtin<T: KubeObject>(
    def: &'static ResourceDef<T>,
    enabled: Enabled,
    discovery: SdUse,
    api: ApiResource,
) -> Builtin {
    Builtin {
        name: def.name,
        api,
        enabled,
        discovery,
        def,
    }
}

impl Builtin {
    /// Its families, in kube-state-metrics' order.
    pub fn families(&self) -> Vec<FamilyDef> {
        self.def.families()
    }

    /// Starts its watches (one per namespace when `--namespaces` restricts a namespaced
    /// resource) feeding one writer. `shared` is discovery's consumer for the same objects
    /// (a `Box<dyn Consumer<T>>`); `Started::shared` tells whether it was taken.
    pub fn start(
        &self,
        ctx: &BuiltinCtx,
        shared: Option<Box<dyn Any + Send>>,
    ) -> Result<Started, SpawnError> {
        self.def.start(self.api, ctx, shared)
    }

    /// Whether `shared` is a consumer of the object type this resource's watch decodes.
    pub fn accepts(&self, shared: &(dyn Any + Send)) -> bool {
        self.def.accepts(shared)
    }
}

/// The entry `--resources` names `name`.
pub fn by_name(name: &str) -> Option<&'static Builtin> {
    BUILTIN.iter().find(|b| b.name == name)
}

/// Every resource name, sorted.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|b| b.name).collect()
}

/// What `--resources` defaults to: every resource not opt-in.
pub fn defaults() -> Vec<&'static str> {
    BUILTIN
        .iter()
        .filter(|b| b.enabled == Enabled::ByDefault)
        .map(|b| b.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_unique_and_the_api_plural() {
        let names = names();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        for b in BUILTIN {
            assert_eq!(b.name, b.api.plural, "{}", b.name);
            assert!(
                b.api.go_type == format!("*{}.{}", b.api.version, b.api.kind),
                "{}: client-go type {}",
                b.name,
                b.api.go_type
            );
        }
    }

    #[test]
    fn kube_state_metrics_opt_in_resources() {
        let opt_in: Vec<&str> = BUILTIN
            .iter()
            .filter(|b| b.enabled == Enabled::OptIn)
            .map(|b| b.name)
            .collect();
        assert_eq!(
            opt_in,
            [
                "clusterrolebindings",
                "clusterroles",
                "endpoints",
                "ingressclasses",
                "rolebindings",
                "roles",
                "serviceaccounts"
            ]
        );
        assert_eq!(defaults().len(), 32);
    }

    #[test]
    fn every_entry_declares_families() {
        for b in BUILTIN {
            assert!(!b.families().is_empty(), "{} declares no families", b.name);
        }
    }
}
