//! Starting the watches that feed a resource's stores, for built-in resources (through the
//! [`builtin`](super::builtin) table) and custom ones (`metrics::custom`) alike.

use super::consumer::MetricsConsumer;
use super::family::RenderCtx;
use super::filter::{Allowlist, MetricFilter};
use super::{Renderer, ResourceDef};
use crate::kube::client::ApiClient;
use crate::kube::object::KubeObject;
use crate::kube::resources::{self, ApiResource};
use crate::kube::watch::{Consumer, WatchMetrics, WatchOptions, WatchSpec, WatchState, Watcher};
use crate::shard::Shard;
use crate::store::{ResourceWriter, Store};
use std::fmt;
use std::sync::Arc;

/// What every watch of one generation shares, built-in or custom.
#[derive(Clone)]
pub struct WatchCtx {
    pub client: Arc<ApiClient>,
    pub options: WatchOptions,
    /// Where the watch loops count their lists and watches (the telemetry registry).
    pub reporter: Arc<dyn WatchMetrics>,
    pub filter: MetricFilter,
    /// `--namespaces`: one watch per namespace for namespaced resources; empty for all.
    pub namespaces: Vec<String>,
    pub namespace_denylist: Vec<String>,
    /// This instance's share of the objects, when sharded.
    pub shard: Option<Shard>,
    /// `--object-limit` (0: none), for the metrics' own watches (built-in and custom).
    pub object_limit: u64,
}

/// A watch thread that could not be started.
#[derive(Debug)]
pub struct SpawnError {
    pub watch: String,
    pub source: std::io::Error,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot start the watch thread for {}: {}",
            self.watch, self.source
        )
    }
}

impl std::error::Error for SpawnError {}

impl WatchCtx {
    /// `metadata.namespace!=a,metadata.namespace!=b` for `--namespaces-denylist`.
    pub fn denylist_selector(&self) -> Option<String> {
        denylist_selector(&self.namespace_denylist)
    }

    /// One scope per `--namespaces` entry for a namespaced resource, one in total otherwise.
    pub fn scopes(&self, api: ApiResource) -> Vec<Option<String>> {
        if api.namespaced && !self.namespaces.is_empty() {
            self.namespaces.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        }
    }

    /// The spec of one sharded watch of `api` in `namespace`.
    pub fn spec(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        field_selector: Option<String>,
    ) -> WatchSpec {
        WatchSpec::new(api, &self.options)
            .in_namespace(namespace)
            .with_field_selector(field_selector)
            .with_object_limit(self.object_limit)
            .sharded(self.shard)
    }

    /// Starts the watch thread; returns its label and state (readiness, stop).
    pub fn spawn<T: KubeObject>(
        &self,
        spec: WatchSpec,
        consumers: Vec<Box<dyn Consumer<T>>>,
    ) -> Result<(String, Arc<WatchState>), SpawnError> {
        let state = WatchState::new();
        let watcher = Watcher::new(
            self.client.clone(),
            spec,
            consumers,
            state.clone(),
            self.reporter.clone(),
        );
        spawn_watcher(watcher, state)
    }
}

/// Type-independent half of [`WatchCtx::spawn`] (compiled once, not per resource).
fn spawn_watcher(
    watcher: Watcher,
    state: Arc<WatchState>,
) -> Result<(String, Arc<WatchState>), SpawnError> {
    let label = watcher.label().to_string();
    watcher.spawn().map_err(|source| SpawnError {
        watch: label.clone(),
        source,
    })?;
    Ok((label, state))
}

/// The field selector that hides denylisted namespaces, for namespaced resources only
/// (cluster-scoped lists ignore it, as in kube-state-metrics).
pub fn denylist_selector(denylist: &[String]) -> Option<String> {
    if denylist.is_empty() {
        return None;
    }
    Some(
        denylist
            .iter()
            .map(|ns| format!("metadata.namespace!={ns}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// What starting a built-in resource needs beyond the shared watch context.
#[derive(Clone)]
pub struct BuiltinCtx {
    pub watch: WatchCtx,
    pub labels: Allowlist,
    pub annotations: Allowlist,
    /// `spec.nodeName=<node>` (`--node`) or `spec.nodeName=` (`--track-unscheduled-pods`).
    pub pod_node_selector: Option<String>,
}

impl BuiltinCtx {
    /// Namespace denylist (namespaced resources) AND the node selector (pods only), as one
    /// server-side field selector.
    pub fn field_selector(&self, api: ApiResource) -> Option<String> {
        let mut parts = Vec::new();
        if api.namespaced {
            parts.extend(self.watch.denylist_selector());
        }
        if api == resources::PODS {
            parts.extend(self.pod_node_selector.clone());
        }
        (!parts.is_empty()).then(|| parts.join(","))
    }
}

/// A started resource: its writer and the readiness of each of its watches.
pub struct Started {
    pub writer: ResourceWriter,
    pub watches: Vec<(String, Arc<WatchState>)>,
    /// Whether discovery's consumer rides on this resource's watch.
    pub shared: bool,
}

/// Starts the watches of one resource: one store and thread per namespace when
/// `--namespaces` restricts a namespaced resource, one in total otherwise. `extra` (a
/// discovery consumer) joins the watch; the caller passes it only when there is one scope.
pub fn start_resource<T: KubeObject>(
    def: &'static ResourceDef<T>,
    api: ApiResource,
    ctx: &BuiltinCtx,
    extra: Option<Box<dyn Consumer<T>>>,
) -> Result<Started, SpawnError> {
    let render_ctx = RenderCtx {
        labels: ctx.labels.for_resource(def.name),
        annotations: ctx.annotations.for_resource(def.name),
    };
    let renderer = Arc::new(Renderer::new(def, &ctx.watch.filter, render_ctx));
    let mut extra = extra;
    start_scopes(
        def.name,
        renderer.headers(),
        api,
        ctx,
        &mut |spec, store| {
            let mut consumers: Vec<Box<dyn Consumer<T>>> =
                vec![Box::new(MetricsConsumer::new(renderer.clone(), store))];
            consumers.extend(extra.take());
            ctx.watch.spawn(spec, consumers)
        },
    )
}

/// The part of [`start_resource`] that does not depend on the object type, kept out of it
/// so it is compiled once rather than once per resource.
#[allow(clippy::type_complexity)]
fn start_scopes(
    name: &'static str,
    headers: Vec<crate::store::FamilyHeaders>,
    api: ApiResource,
    ctx: &BuiltinCtx,
    spawn: &mut dyn FnMut(WatchSpec, Arc<Store>) -> Result<(String, Arc<WatchState>), SpawnError>,
) -> Result<Started, SpawnError> {
    let mut stores = Vec::new();
    let mut watches = Vec::new();
    for ns in ctx.watch.scopes(api) {
        let store = Arc::new(Store::new());
        let spec = ctx.watch.spec(api, ns, ctx.field_selector(api));
        watches.push(spawn(spec, store.clone())?);
        stores.push(store);
    }
    Ok(Started {
        writer: ResourceWriter::new(name, headers, stores),
        watches,
        shared: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denylist_becomes_one_field_selector() {
        assert_eq!(denylist_selector(&[]), None);
        assert_eq!(
            denylist_selector(&["a".into(), "b".into()]).as_deref(),
            Some("metadata.namespace!=a,metadata.namespace!=b")
        );
    }
}
