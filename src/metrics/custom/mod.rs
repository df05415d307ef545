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

pub mod api_discovery;
pub mod config;
pub mod crd;
pub mod path;
pub mod render;
pub mod value;

#[cfg(test)]
mod tests;

use crate::file_stamp::FileStamp;
use crate::kube::dynamic::DynamicObject;
use crate::kube::resources::ApiResource;
use crate::kube::watch::{Backoff, Consumer, WatchSpec, WatchState};
use crate::log::Level;
use crate::log_event;
use crate::metrics::consumer::MetricsConsumer;
use crate::metrics::start::WatchCtx;
use crate::store::{FamilyHeaders, RenderedObject, ResourceWriter, Store};
use crate::telemetry::Telemetry;
use api_discovery::Discovered;
use config::{CompiledFamily, CompiledResource, Gvk};
use crd::{Crd, CrdCache, CrdConsumer, CRDS};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
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

impl super::consumer::RenderObject<DynamicObject> for CustomRenderer {
    fn render(&self, obj: &DynamicObject) -> RenderedObject {
        CustomRenderer::render(self, obj)
    }
}

/// Everything one config's worth of custom resources runs; stopped as a whole on reload.
#[derive(Default)]
struct CrsGeneration {
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
    ctx: WatchCtx,
    telemetry: Arc<Telemetry>,
    writers: CustomWriters,
    /// Sorted by name; the source of `writers`. Locked before `writers`.
    published: Mutex<Vec<Published>>,
    current: Mutex<Option<Arc<CrsGeneration>>>,
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
    /// `ctx` is the built-in resources' watch context (client, options, filter, namespaces,
    /// shard); `telemetry` counts types, reloads and conversion errors.
    pub fn new(ctx: WatchCtx, telemetry: Arc<Telemetry>, writers: CustomWriters) -> Arc<Self> {
        Arc::new(CustomResources {
            ctx,
            telemetry,
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
        let gen = Arc::new(CrsGeneration::default());
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

    fn stop_generation(&self, old: &CrsGeneration) {
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
        self.telemetry
            .crs
            .types_removed(old.discovered.swap(0, Ordering::Relaxed));
    }

    /// Starts one concrete type on its own thread; `known` skips discovery (a CRD told).
    fn start_type(
        self: &Arc<Self>,
        gen: &Arc<CrsGeneration>,
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
    fn stop_type(&self, gen: &CrsGeneration, running: &Arc<Running>) {
        let mut published = self.published.lock();
        running.stop_watches();
        gen.running.lock().retain(|r| !Arc::ptr_eq(r, running));
        if let Some(name) = running.writer.lock().take() {
            published.retain(|p| p.name != name);
            *self.writers.0.write() = build_writers(&published);
            gen.discovered.fetch_sub(1, Ordering::Relaxed);
            self.telemetry.crs.types_removed(1);
        }
    }

    /// Watches CRDs and keeps the types the wildcard entries resolve to running. A type named
    /// by a concrete entry, or by an earlier wildcard, is left to that entry.
    fn run_resolver(
        self: Arc<Self>,
        gen: Arc<CrsGeneration>,
        wildcards: Vec<CompiledResource>,
        named: Vec<Gvk>,
    ) {
        let (tx, rx) = crossbeam_channel::bounded::<()>(1);
        let cache = CrdCache::default();
        let spec = WatchSpec::new(CRDS, &self.ctx.options);
        let consumers: Vec<Box<dyn Consumer<Crd>>> =
            vec![Box::new(CrdConsumer::new(cache.clone(), tx))];
        {
            let _published = self.published.lock();
            if gen.stopped.load(Ordering::Acquire) {
                return;
            }
            let state = match self.ctx.spawn(spec, consumers) {
                Ok((_, state)) => state,
                Err(e) => {
                    log_event!(
                        Level::Error,
                        "cannot start the watch thread",
                        resource = "customresourcedefinitions",
                        err = e.source
                    );
                    return;
                }
            };
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
        gen: Arc<CrsGeneration>,
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
                match api_discovery::discover(&self.ctx.client, &r.gvk, r.plural.as_deref()) {
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
            self.telemetry.clone(),
        ));
        let scopes = self.ctx.scopes(api);
        let mut stores = Vec::new();
        let mut published = self.published.lock();
        if stopped() {
            return;
        }
        for ns in scopes {
            let store = Arc::new(Store::new());
            let selector = if api.namespaced {
                self.ctx.denylist_selector()
            } else {
                None
            };
            let spec = self.ctx.spec(api, ns, selector);
            let consumers: Vec<Box<dyn Consumer<DynamicObject>>> = vec![Box::new(
                MetricsConsumer::new(renderer.clone(), store.clone()),
            )];
            match self.ctx.spawn(spec, consumers) {
                Ok((_, state)) => {
                    running.watches.lock().push(state);
                    stores.push(store);
                }
                Err(e) => log_event!(
                    Level::Error,
                    "cannot start the watch thread",
                    resource = e.watch,
                    err = e.source
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
        self.telemetry.crs.type_added();
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
    Config(config::CrsConfigError),
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
            let mut last_stamp: Option<FileStamp> = None;
            loop {
                let woken = match wake.recv_timeout(every) {
                    Ok(()) => true,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => false,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(every);
                        false
                    }
                };
                // Without a modification time an unchanged stamp proves nothing: read.
                let stamp = FileStamp::of(&path).filter(FileStamp::has_mtime);
                if !woken && stamp.is_some() && stamp == last_stamp && last.is_some() {
                    continue;
                }
                last_stamp = stamp;
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
                        crs.telemetry.crs.reload(&source.name(), true);
                        crs.apply(resources);
                    }
                    Err(e) => {
                        log_event!(
                            Level::Error,
                            "custom resource state config rejected, keeping the running one",
                            file = source.name(),
                            err = e
                        );
                        crs.telemetry.crs.reload(&source.name(), false);
                    }
                }
            }
        })
        .map(|_| ())
}
