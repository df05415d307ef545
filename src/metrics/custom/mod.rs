//! Custom resource state (CRS) metrics: families declared in a YAML document
//! (kube-state-metrics' `--custom-resource-state-config`), generated from custom resources
//! that go through the same list/watch engine and stores as built-in resources.
//!
//! Lifecycle: [`CustomResources::apply`] starts one *generation* for a parsed config — per
//! configured resource a thread that discovers the type (retrying with backoff while the CRD
//! is absent), then starts its watches and publishes its writer into [`CustomWriters`]. Entries
//! with a wildcard version or kind are resolved through a watch on CRDs ([`crd`]): each
//! concrete type found gets the same treatment, and loses it when no CRD serves it any more.
//! A reload stops the old generation (its discovery threads and watches) and starts a new
//! one; built-in resources are never touched.

pub mod config;
pub mod crd;
pub mod discovery;
pub mod path;
pub mod render;
pub mod value;

#[cfg(test)]
mod tests;

use crate::kube::client::ApiClient;
use crate::kube::dynamic::DynamicObject;
use crate::kube::object::KubeObject;
use crate::kube::resources::ApiResource;
use crate::kube::watch::{Backoff, Consumer, InitialSync, WatchSpec, WatchState, Watcher};
use crate::log::Level;
use crate::log_event;
use crate::metrics::filter::MetricFilter;
use crate::server::telemetry::Telemetry;
use crate::store::{FamilyHeaders, ObjectMap, RenderedObject, ResourceWriter, Store};
use config::{CompiledFamily, CompiledResource, Gvk};
use crd::{Crd, CrdCache, CrdConsumer, CRDS};
use discovery::Discovered;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long the resolver waits after a CRD change before resolving, so a burst is one pass.
const RESOLVE_SETTLE: Duration = Duration::from_millis(300);

/// The writers of custom resources, beside the static built-in ones. A scrape takes a
/// snapshot (cheap `Arc` clones under a read lock); a reload replaces the content. Kept
/// sorted by writer name so merging with the built-in writers is a linear walk.
#[derive(Default, Clone)]
pub struct CustomWriters(Arc<RwLock<Vec<Arc<ResourceWriter>>>>);

impl CustomWriters {
    pub fn snapshot(&self) -> Vec<Arc<ResourceWriter>> {
        self.0.read().clone()
    }
}

/// Self-metrics of the CRS machinery (kube-state-metrics' `custom_resource_state_*`, its
/// config reload gauges, and kubestate's per-family conversion error counter).
#[derive(Default)]
pub struct CrsTelemetry {
    add: AtomicU64,
    update: AtomicU64,
    delete: AtomicU64,
    cache: AtomicI64,
    errors: Mutex<BTreeMap<(String, String), u64>>,
    /// filename → (last reload ok, unix seconds of the last success)
    reloads: Mutex<BTreeMap<String, (bool, f64)>>,
}

impl CrsTelemetry {
    /// A configured type became available (discovered): KSM counts CRD add events.
    pub fn type_added(&self) {
        self.add.fetch_add(1, Ordering::Relaxed);
        self.cache.fetch_add(1, Ordering::Relaxed);
    }

    /// A generation stopped: its discovered types leave the cache.
    fn types_removed(&self, n: i64) {
        if n > 0 {
            self.delete.fetch_add(n as u64, Ordering::Relaxed);
            self.cache.fetch_sub(n, Ordering::Relaxed);
        }
    }

    pub fn error(&self, resource: &str, metric: &str) {
        *self
            .errors
            .lock()
            .entry((resource.to_string(), metric.to_string()))
            .or_insert(0) += 1;
    }

    pub fn errors(&self, resource: &str, metric: &str) -> u64 {
        self.errors
            .lock()
            .get(&(resource.to_string(), metric.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn reload(&self, filename: &str, ok: bool) {
        let mut m = self.reloads.lock();
        let e = m.entry(filename.to_string()).or_insert((ok, 0.0));
        e.0 = ok;
        if ok {
            e.1 = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
        }
    }

    pub fn render(&self, out: &mut Vec<u8>) {
        use crate::server::telemetry::{header, line};
        for (name, help, v) in [
            (
                "kube_state_metrics_custom_resource_state_add_events_total",
                "Number of add events in the custom resource state discovery cache.",
                self.add.load(Ordering::Relaxed),
            ),
            (
                "kube_state_metrics_custom_resource_state_update_events_total",
                "Number of update events in the custom resource state discovery cache.",
                self.update.load(Ordering::Relaxed),
            ),
            (
                "kube_state_metrics_custom_resource_state_delete_events_total",
                "Number of delete events in the custom resource state discovery cache.",
                self.delete.load(Ordering::Relaxed),
            ),
        ] {
            header(out, name, help, "counter");
            line(out, name, &[], v as f64);
        }
        header(
            out,
            "kube_state_metrics_custom_resource_state_cache",
            "Net amount of CRDs affecting the cache currently.",
            "gauge",
        );
        line(
            out,
            "kube_state_metrics_custom_resource_state_cache",
            &[],
            self.cache.load(Ordering::Relaxed) as f64,
        );
        let reloads = self.reloads.lock().clone();
        if !reloads.is_empty() {
            let n = "kube_state_metrics_last_config_reload_successful";
            header(
                out,
                n,
                "Whether the last configuration reload attempt was successful.",
                "gauge",
            );
            for (file, (ok, _)) in &reloads {
                line(
                    out,
                    n,
                    &[("filename", file), ("type", "customresourceconfig")],
                    if *ok { 1.0 } else { 0.0 },
                );
            }
            let n = "kube_state_metrics_last_config_reload_success_timestamp_seconds";
            header(
                out,
                n,
                "Timestamp of the last successful configuration reload.",
                "gauge",
            );
            for (file, (_, ts)) in &reloads {
                line(
                    out,
                    n,
                    &[("filename", file), ("type", "customresourceconfig")],
                    *ts,
                );
            }
        }
        let errors = self.errors.lock().clone();
        if !errors.is_empty() {
            let n = "kubestate_custom_resource_errors_total";
            header(out, n, "Custom resource values that could not be converted (sample dropped), by resource and metric.", "counter");
            for ((r, m), v) in &errors {
                line(out, n, &[("resource", r), ("metric", m)], *v as f64);
            }
        }
    }
}

/// Renders custom resource objects with the compiled families the filters left enabled.
pub struct CustomRenderer {
    /// The writer name (GVR string), also the `resource` of error counters and log lines.
    resource: String,
    families: Vec<CompiledFamily>,
    telemetry: Arc<Telemetry>,
}

impl CustomRenderer {
    pub fn new(resource: String, families: Vec<CompiledFamily>, telemetry: Arc<Telemetry>) -> Self {
        CustomRenderer {
            resource,
            families,
            telemetry,
        }
    }

    pub fn render(&self, obj: &DynamicObject) -> RenderedObject {
        let mut buf = Vec::with_capacity(512);
        let mut ends = Vec::with_capacity(self.families.len());
        for f in &self.families {
            for err in render::render_family(f, &obj.value, &mut buf) {
                self.telemetry.crs.error(&self.resource, &f.name);
                let level = if f.error_log_v == 0 {
                    Level::Warn
                } else {
                    Level::Debug
                };
                log_event!(
                    level,
                    "custom resource value not converted, sample dropped",
                    resource = self.resource,
                    metric = f.name,
                    namespace = obj.metadata.namespace.as_deref().unwrap_or(""),
                    name = obj.metadata.name.as_deref().unwrap_or(""),
                    err = err
                );
            }
            ends.push(buf.len() as u32);
        }
        RenderedObject::new(buf, ends)
    }
}

/// Feeds a custom resource's store, as `MetricsConsumer` does for built-in ones.
struct CustomConsumer {
    renderer: Arc<CustomRenderer>,
    store: Arc<Store>,
    staging: Option<ObjectMap>,
}

impl Consumer<DynamicObject> for CustomConsumer {
    fn upsert(&mut self, obj: &DynamicObject) {
        self.store.upsert(obj.uid(), self.renderer.render(obj));
    }
    fn delete(&mut self, obj: &DynamicObject) {
        self.store.delete(obj.uid());
    }
    fn relist_begin(&mut self) {
        self.staging = Some(ObjectMap::with_capacity(self.store.len()));
    }
    fn relist_item(&mut self, obj: &DynamicObject) {
        if let Some(m) = &mut self.staging {
            m.insert(obj.uid().into(), Arc::new(self.renderer.render(obj)));
        }
    }
    fn relist_commit(&mut self) {
        if let Some(m) = self.staging.take() {
            self.store.replace(m);
        }
    }
    fn relist_abort(&mut self) {
        self.staging = None;
    }
}

/// What starting custom resource watches needs from the application's start context.
#[derive(Clone)]
pub struct CrsCtx {
    pub client: Arc<ApiClient>,
    pub filter: MetricFilter,
    pub namespaces: Vec<String>,
    /// `metadata.namespace!=…` selector for namespaced resources, if any.
    pub denylist_selector: Option<String>,
    pub use_apiserver_cache: bool,
    /// `--object-limit` (0: none), as kube-state-metrics applies it to custom resources too.
    pub object_limit: u64,
    pub initial_sync: InitialSync,
    pub watch_list_idle: Duration,
    pub telemetry: Arc<Telemetry>,
    pub shard: Option<crate::shard::Shard>,
}

/// Everything one config's worth of custom resources runs; stopped as a whole on reload.
#[derive(Default)]
struct Generation {
    stopped: AtomicBool,
    /// Every type started (or being discovered) for this config.
    running: Mutex<Vec<Arc<Running>>>,
    /// The CRD watch that resolves wildcard entries, when there are any.
    crd_watch: Mutex<Option<Arc<WatchState>>>,
    discovered: AtomicI64,
}

/// One type's watches and writer. A type a wildcard resolved to is stopped on its own when
/// its CRD stops serving it; the others live as long as their generation.
#[derive(Default)]
struct Running {
    stopped: AtomicBool,
    watches: Mutex<Vec<Arc<WatchState>>>,
    /// The writer name once published.
    writer: Mutex<Option<&'static str>>,
}

impl Running {
    fn stop_watches(&self) {
        self.stopped.store(true, Ordering::Release);
        for s in self.watches.lock().iter() {
            s.stop();
        }
    }
}

/// A published writer's parts, kept so the writer list can be rebuilt with duplicate
/// family headers blanked whenever a type comes or goes.
struct Published {
    name: &'static str,
    headers: Vec<FamilyHeaders>,
    stores: Vec<Arc<Store>>,
}

/// The running custom resources and the writer list the main port reads.
pub struct CustomResources {
    ctx: CrsCtx,
    writers: CustomWriters,
    /// Sorted by name; the source of `writers`. Locked before `writers`.
    published: Mutex<Vec<Published>>,
    current: Mutex<Option<Arc<Generation>>>,
    /// What `apply` was last given, for [`CustomResources::restart`].
    applied: Mutex<Vec<CompiledResource>>,
}

/// KSM's writer name for a custom resource: `GroupVersionResource.String()`.
pub fn gvr_string(group: &str, version: &str, plural: &str) -> String {
    format!("{group}/{version}, Resource={plural}")
}

/// The writers for `published`, in order. A family name a previous writer already has keeps
/// its samples but loses its HELP/TYPE, as KSM's `SanitizeHeaders` does: two entries (or two
/// kinds of one wildcard) declaring the same metric must not repeat its header.
fn build_writers(published: &[Published]) -> Vec<Arc<ResourceWriter>> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    published
        .iter()
        .map(|p| {
            let headers = p
                .headers
                .iter()
                .map(|h| {
                    if seen.insert(&h.name) {
                        h.clone()
                    } else {
                        FamilyHeaders {
                            name: h.name.clone(),
                            text: Vec::new(),
                            openmetrics: Vec::new(),
                        }
                    }
                })
                .collect();
            Arc::new(ResourceWriter::new(p.name, headers, p.stores.clone()))
        })
        .collect()
}

impl CustomResources {
    pub fn new(ctx: CrsCtx, writers: CustomWriters) -> Arc<Self> {
        Arc::new(CustomResources {
            ctx,
            writers,
            published: Mutex::new(Vec::new()),
            current: Mutex::new(None),
            applied: Mutex::new(Vec::new()),
        })
    }

    /// Starts the running config afresh: new discovery and watches on the client's current
    /// connection (after a kubeconfig reload).
    pub fn restart(self: &Arc<Self>) {
        let resources = self.applied.lock().clone();
        self.apply(resources);
    }

    /// Stops whatever runs and starts `resources`. Writers of the old config disappear at
    /// once; the new ones appear as each type is discovered and its watch started. Entries
    /// with a wildcard version or kind are resolved through a watch on CRDs.
    pub fn apply(self: &Arc<Self>, resources: Vec<CompiledResource>) {
        *self.applied.lock() = resources.clone();
        let gen = Arc::new(Generation::default());
        {
            let mut cur = self.current.lock();
            if let Some(old) = cur.take() {
                self.stop_generation(&old);
            }
            *cur = Some(gen.clone());
        }
        let (wildcards, concrete): (Vec<_>, Vec<_>) =
            resources.into_iter().partition(|r| r.gvk.is_wildcard());
        if !wildcards.is_empty() {
            let me = self.clone();
            let gen = gen.clone();
            let named: Vec<Gvk> = concrete.iter().map(|r| r.gvk.clone()).collect();
            let spawned = std::thread::Builder::new()
                .name("crs/crd-resolver".into())
                .spawn(move || me.run_resolver(gen, wildcards, named));
            if let Err(e) = spawned {
                log_event!(
                    Level::Error,
                    "cannot start the CRD resolver thread",
                    resource = "customresourcedefinitions",
                    err = e
                );
            }
        }
        for r in concrete {
            self.start_type(&gen, r, None);
        }
    }

    /// Stops everything (used by tests and on shutdown paths).
    pub fn stop(&self) {
        if let Some(old) = self.current.lock().take() {
            self.stop_generation(&old);
        }
    }

    fn stop_generation(&self, old: &Generation) {
        // Under the publish lock, so no discovery thread of `old` publishes after this.
        let mut published = self.published.lock();
        old.stopped.store(true, Ordering::Release);
        if let Some(w) = old.crd_watch.lock().take() {
            w.stop();
        }
        for r in old.running.lock().iter() {
            r.stop_watches();
        }
        published.clear();
        *self.writers.0.write() = Vec::new();
        self.ctx
            .telemetry
            .crs
            .types_removed(old.discovered.swap(0, Ordering::Relaxed));
    }

    /// Starts one concrete type on its own thread; `known` skips discovery (a CRD told).
    fn start_type(
        self: &Arc<Self>,
        gen: &Arc<Generation>,
        r: CompiledResource,
        known: Option<Discovered>,
    ) -> Arc<Running> {
        let running = Arc::new(Running::default());
        gen.running.lock().push(running.clone());
        let me = self.clone();
        let (gen, run) = (gen.clone(), running.clone());
        let name = format!("crs/{}", r.gvk);
        let spawned = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || me.run_resource(gen, run, r, known));
        if let Err(e) = spawned {
            log_event!(
                Level::Error,
                "cannot start custom resource thread",
                resource = name,
                err = e
            );
        }
        running
    }

    /// A resolved type its CRD no longer serves: its watches stop and its series go.
    fn stop_type(&self, gen: &Generation, running: &Arc<Running>) {
        let mut published = self.published.lock();
        running.stop_watches();
        gen.running.lock().retain(|r| !Arc::ptr_eq(r, running));
        if let Some(name) = running.writer.lock().take() {
            published.retain(|p| p.name != name);
            *self.writers.0.write() = build_writers(&published);
            gen.discovered.fetch_sub(1, Ordering::Relaxed);
            self.ctx.telemetry.crs.types_removed(1);
        }
    }

    /// Watches CRDs and keeps the types the wildcard entries resolve to running. A type named
    /// by a concrete entry, or by an earlier wildcard, is left to that entry.
    fn run_resolver(
        self: Arc<Self>,
        gen: Arc<Generation>,
        wildcards: Vec<CompiledResource>,
        named: Vec<Gvk>,
    ) {
        let (tx, rx) = crossbeam_channel::bounded::<()>(1);
        let cache = CrdCache::default();
        let state = WatchState::new();
        let spec = WatchSpec {
            resource: CRDS,
            namespace: None,
            field_selector: None,
            use_apiserver_cache: self.ctx.use_apiserver_cache,
            page_size: 500,
            object_limit: 0,
            initial_sync: self.ctx.initial_sync,
            watch_list_idle: self.ctx.watch_list_idle,
            shard: None,
        };
        let consumers: Vec<Box<dyn Consumer<Crd>>> =
            vec![Box::new(CrdConsumer::new(cache.clone(), tx))];
        {
            let _published = self.published.lock();
            if gen.stopped.load(Ordering::Acquire) {
                return;
            }
            let started = Watcher::new(
                self.ctx.client.clone(),
                spec,
                consumers,
                state.clone(),
                self.ctx.telemetry.clone(),
            )
            .spawn();
            if let Err(e) = started {
                log_event!(
                    Level::Error,
                    "cannot start the watch thread",
                    resource = "customresourcedefinitions",
                    err = e
                );
                return;
            }
            *gen.crd_watch.lock() = Some(state);
        }
        let mut active: BTreeMap<String, Arc<Running>> = BTreeMap::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(()) => {}
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if gen.stopped.load(Ordering::Acquire) {
                        return;
                    }
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            }
            // A burst of CRD events (an install of many) is resolved once.
            std::thread::sleep(RESOLVE_SETTLE);
            while rx.try_recv().is_ok() {}
            if gen.stopped.load(Ordering::Acquire) {
                return;
            }
            let mut want: BTreeMap<String, (CompiledResource, Discovered)> = BTreeMap::new();
            for w in &wildcards {
                let found = cache.resolve(&w.gvk);
                if found.is_empty() {
                    log_event!(
                        Level::Info,
                        "no CRD serves the configured custom resource yet",
                        gvk = w.gvk
                    );
                }
                for s in found {
                    if named.contains(&s.gvk) {
                        continue;
                    }
                    want.entry(s.gvk.to_string()).or_insert_with(|| {
                        (
                            w.resolved(&s.gvk, &s.plural),
                            Discovered {
                                plural: s.plural.clone(),
                                namespaced: s.namespaced,
                            },
                        )
                    });
                }
            }
            active.retain(|k, running| {
                let keep = want.contains_key(k);
                if !keep {
                    log_event!(
                        Level::Info,
                        "custom resource no longer served by any CRD, metrics removed",
                        gvk = k
                    );
                    self.stop_type(&gen, running);
                }
                keep
            });
            for (k, (r, d)) in want {
                if let std::collections::btree_map::Entry::Vacant(slot) = active.entry(k) {
                    slot.insert(self.start_type(&gen, r, Some(d)));
                }
            }
        }
    }

    fn run_resource(
        &self,
        gen: Arc<Generation>,
        running: Arc<Running>,
        r: CompiledResource,
        known: Option<Discovered>,
    ) {
        let stopped =
            || gen.stopped.load(Ordering::Acquire) || running.stopped.load(Ordering::Acquire);
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let found = match known {
            Some(d) => d,
            None => loop {
                if stopped() {
                    return;
                }
                match discovery::discover(&self.ctx.client, &r.gvk, r.plural.as_deref()) {
                    Ok(d) => break d,
                    Err(e) => {
                        let delay = backoff.next_delay();
                        log_event!(
                            Level::Warn,
                            "custom resource not available, retrying",
                            gvk = r.gvk,
                            err = e,
                            retry_in = format!("{:.1}s", delay.as_secs_f64())
                        );
                        let until = std::time::Instant::now() + delay;
                        while std::time::Instant::now() < until {
                            if stopped() {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            },
        };
        let name = gvr_string(&r.gvk.group, &r.gvk.version, &found.plural);
        // ApiResource and writer names are `&'static str`: leaked once per configured
        // resource and (re)load, a few bytes each.
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        let api = ApiResource {
            group: leak(&r.gvk.group),
            version: leak(&r.gvk.version),
            plural: leak(&found.plural),
            kind: leak(&r.gvk.kind),
            namespaced: found.namespaced,
            go_type: "*unstructured.Unstructured",
        };
        let families: Vec<CompiledFamily> = r
            .families
            .into_iter()
            .filter(|f| self.ctx.filter.includes(&f.name, false))
            .collect();
        let headers = families.iter().map(render::headers).collect();
        let renderer = Arc::new(CustomRenderer::new(
            name.clone(),
            families,
            self.ctx.telemetry.clone(),
        ));
        let scopes: Vec<Option<String>> = if api.namespaced && !self.ctx.namespaces.is_empty() {
            self.ctx.namespaces.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        };
        let mut stores = Vec::new();
        let mut published = self.published.lock();
        if stopped() {
            return;
        }
        for ns in scopes {
            let store = Arc::new(Store::new());
            let spec = WatchSpec {
                resource: api,
                namespace: ns,
                field_selector: if api.namespaced {
                    self.ctx.denylist_selector.clone()
                } else {
                    None
                },
                use_apiserver_cache: self.ctx.use_apiserver_cache,
                page_size: 500,
                object_limit: self.ctx.object_limit,
                initial_sync: self.ctx.initial_sync,
                watch_list_idle: self.ctx.watch_list_idle,
                shard: self.ctx.shard,
            };
            let state = WatchState::new();
            let consumers: Vec<Box<dyn Consumer<DynamicObject>>> = vec![Box::new(CustomConsumer {
                renderer: renderer.clone(),
                store: store.clone(),
                staging: None,
            })];
            let label = spec.label();
            match Watcher::new(
                self.ctx.client.clone(),
                spec,
                consumers,
                state.clone(),
                self.ctx.telemetry.clone(),
            )
            .spawn()
            {
                Ok(_) => {
                    running.watches.lock().push(state);
                    stores.push(store);
                }
                Err(e) => log_event!(
                    Level::Error,
                    "cannot start the watch thread",
                    resource = label,
                    err = e
                ),
            }
        }
        let name: &'static str = leak(&name);
        let at = published.partition_point(|p| p.name <= name);
        published.insert(
            at,
            Published {
                name,
                headers,
                stores,
            },
        );
        *self.writers.0.write() = build_writers(&published);
        *running.writer.lock() = Some(name);
        drop(published);
        gen.discovered.fetch_add(1, Ordering::Relaxed);
        self.ctx.telemetry.crs.type_added();
        log_event!(
            Level::Info,
            "custom resource metrics started",
            resource = name,
            namespaced = found.namespaced
        );
    }
}

/// Where the config comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Inline(String),
    File(std::path::PathBuf),
}

impl Source {
    /// The inline flag wins over the file, as in kube-state-metrics.
    pub fn from_options(inline: Option<&str>, file: Option<&str>) -> Option<Source> {
        match (inline, file) {
            (Some(i), _) if !i.is_empty() => Some(Source::Inline(i.to_string())),
            (_, Some(f)) if !f.is_empty() => Some(Source::File(f.into())),
            _ => None,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Source::Inline(_) => "--custom-resource-state-config".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Why the CRS config could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    Read {
        path: String,
        source: std::io::Error,
    },
    Config(config::ConfigError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Read { path, source } => {
                write!(
                    f,
                    "cannot read custom resource state config {path}: {source}"
                )
            }
            LoadError::Config(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    pub fn is_missing_file(&self) -> bool {
        matches!(self, LoadError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads (for a file) and validates the config.
pub fn load(source: &Source) -> Result<(Vec<CompiledResource>, Vec<u8>), LoadError> {
    let text = match source {
        Source::Inline(s) => s.clone(),
        Source::File(p) => std::fs::read_to_string(p).map_err(|e| LoadError::Read {
            path: p.display().to_string(),
            source: e,
        })?,
    };
    let parsed = config::parse(&source.name(), &text).map_err(LoadError::Config)?;
    Ok((parsed, text.into_bytes()))
}

/// Polls the config file (a named thread, every `every`) and applies a changed, valid
/// config; an invalid one is logged, counted in `last_config_reload_successful` and leaves
/// the running config in place. The content is compared, not just the mtime, so a
/// rewrite within the filesystem's timestamp granularity is still seen.
/// Checks the file every `every`, and at once whenever `wake` receives (SIGHUP).
pub fn watch_file(
    crs: Arc<CustomResources>,
    path: std::path::PathBuf,
    mut last: Option<Vec<u8>>,
    every: Duration,
    wake: crossbeam_channel::Receiver<()>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("crs-config-watch".into())
        .spawn(move || {
            let source = Source::File(path.clone());
            let mut last_meta: Option<(std::time::SystemTime, u64)> = None;
            loop {
                let woken = match wake.recv_timeout(every) {
                    Ok(()) => true,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => false,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(every);
                        false
                    }
                };
                let meta = std::fs::metadata(&path)
                    .ok()
                    .and_then(|m| Some((m.modified().ok()?, m.len())));
                if !woken && meta.is_some() && meta == last_meta && last.is_some() {
                    continue;
                }
                last_meta = meta;
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                if last.as_ref() == Some(&bytes) {
                    continue;
                }
                last = Some(bytes);
                match load(&source) {
                    Ok((resources, _)) => {
                        log_event!(
                            Level::Info,
                            "custom resource state config reloaded",
                            file = source.name(),
                            resources = resources.len()
                        );
                        crs.ctx.telemetry.crs.reload(&source.name(), true);
                        crs.apply(resources);
                    }
                    Err(e) => {
                        log_event!(
                            Level::Error,
                            "custom resource state config rejected, keeping the running one",
                            file = source.name(),
                            err = e
                        );
                        crs.ctx.telemetry.crs.reload(&source.name(), false);
                    }
                }
            }
        })
        .map(|_| ())
}
