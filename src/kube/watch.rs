//! The list/watch engine: one thread per resource (and namespace) keeps its consumers in step
//! with the API server. Paginated LIST, then WATCH with bookmarks resumed from the last
//! resourceVersion; a full relist on 410 Gone whose result replaces the consumers' content in
//! one step. Failures that say the server is not serving (unreachable, streams cut, 5xx, 429)
//! go through the server's health gate (`super::health`): one probe at a time until it
//! answers, then every thread at once. Any other failure is retried by its resource alone,
//! with client-go's reflector backoff; Retry-After is obeyed either way.

use super::body::{ApiBody, ApiResponse};
use super::client::{ApiClient, Timeout};
use super::error::{ApiError, Status};
use super::health::{Admission, Began, Recovered};
use super::list::split_list;
use super::object::KubeObject;
use super::probe::{probe_event, probe_object, EventProbe};
use super::resources::ApiResource;
use crate::log::Level;
use crate::log_event;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Something that wants every object of a resource: the metric store, a discovery role.
/// The engine guarantees that `relist_item`s come between `relist_begin` and either
/// `relist_commit` (the new content replaces the old at once) or `relist_abort`.
pub trait Consumer<T>: Send {
    fn upsert(&mut self, obj: &T);
    fn delete(&mut self, obj: &T);
    fn relist_begin(&mut self);
    fn relist_item(&mut self, obj: &T);
    fn relist_commit(&mut self);
    fn relist_abort(&mut self);
}

/// What a watch loop reports about itself: kube-state-metrics' list/watch counters (its
/// `ListWatchMetrics`, kept beside the lister/watcher) and how each initial sync went. The
/// application hands in the telemetry registry; a test hands in a recorder.
pub trait WatchMetrics: Send + Sync {
    /// A LIST (all pages of one relist) finished; `resource` is the client-go type name.
    fn list(&self, resource: &'static str, ok: bool);
    /// A WATCH request was opened (or failed to open).
    fn watch(&self, resource: &'static str, ok: bool);
    /// How the last initial sync (or relist) of the watch labelled `watch` went.
    fn initial_sync(&self, watch: &str, mode: &'static str, seconds: f64, objects: usize);
    /// Starts the bad-input counters of `resource` (its plural) at 0.
    fn track_decoding(&self, resource: &'static str);
    /// A watch line of `resource` was not a watch event.
    fn watch_decode_error(&self, resource: &'static str);
    /// An object of `resource` did not decode into its type and was left out.
    fn object_skipped(&self, resource: &'static str);
    /// Whether the API server applied the `shardSelector` of watch `watch` (range sharding).
    fn shard_server_filtered(&self, watch: &str, applied: bool);
    /// `--object-limit`: a LIST page of `resource` (client-go type name) kept `kept` of at
    /// most `limit` objects.
    fn list_objects(&self, resource: &'static str, limit: u64, kept: u64);
    /// Response body bytes of `resource` (its plural): `wire` as received from the API
    /// server (compressed or not), `decoded` after gzip decoding.
    fn received_bytes(&self, resource: &'static str, wire: u64, decoded: u64);
}

/// How the initial state (and every relist) is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialSync {
    /// WatchList where the server supports it, LIST otherwise (decided per resource, once).
    Auto,
    /// Always a streaming watch with `sendInitialEvents=true`.
    WatchList,
    /// Always a paginated LIST.
    List,
}

impl InitialSync {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(InitialSync::Auto),
            "watch-list" | "watchlist" => Some(InitialSync::WatchList),
            "list" => Some(InitialSync::List),
            _ => None,
        }
    }
}

/// What one watch thread lists and watches.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    pub resource: ApiResource,
    pub namespace: Option<String>,
    pub field_selector: Option<String>,
    /// `--use-apiserver-cache`: every LIST with `resourceVersion=0`.
    pub use_apiserver_cache: bool,
    pub page_size: u32,
    /// `--object-limit` (0: none), with kube-state-metrics v2.20's meaning: every LIST page
    /// asks for this many objects, a page the server returns larger (a cache that ignores
    /// `limit`) is cut to it, and the initial state is never streamed (WatchList has no
    /// pages). Objects that arrive later by watch are not limited.
    pub object_limit: u64,
    pub initial_sync: InitialSync,
    /// In `Auto` mode, a WatchList stream silent this long before its end bookmark means
    /// the server ignored `sendInitialEvents` (an old or aggregated API): fall back to LIST.
    pub watch_list_idle: Duration,
    /// Objects other shards own are skipped before they are decoded in full.
    pub shard: Option<crate::shard::Shard>,
}

/// The options every watch of a run shares (`--use-apiserver-cache`, `--initial-sync`, the
/// WatchList idle limit); [`WatchSpec::new`] starts from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    pub use_apiserver_cache: bool,
    pub initial_sync: InitialSync,
    pub watch_list_idle: Duration,
}

impl WatchSpec {
    /// LIST page size: large enough that a relist of a big cluster is a few requests, small
    /// enough that one page never holds much memory.
    pub const PAGE_SIZE: u32 = 500;

    /// A cluster-wide, unfiltered, unsharded watch of `resource`; narrowed with the
    /// `in_namespace`, `with_field_selector` and `sharded` steps.
    pub fn new(resource: ApiResource, opts: &WatchOptions) -> WatchSpec {
        WatchSpec {
            resource,
            namespace: None,
            field_selector: None,
            use_apiserver_cache: opts.use_apiserver_cache,
            page_size: Self::PAGE_SIZE,
            object_limit: 0,
            initial_sync: opts.initial_sync,
            watch_list_idle: opts.watch_list_idle,
            shard: None,
        }
    }

    pub fn in_namespace(mut self, namespace: Option<String>) -> WatchSpec {
        self.namespace = namespace;
        self
    }

    pub fn with_field_selector(mut self, selector: Option<String>) -> WatchSpec {
        self.field_selector = selector;
        self
    }

    /// `--object-limit` (0: none): the metrics' own watches take it, as in
    /// kube-state-metrics; discovery, autosharding and CRD watches do not.
    pub fn with_object_limit(mut self, limit: u64) -> WatchSpec {
        self.object_limit = limit;
        self
    }

    pub fn sharded(mut self, shard: Option<crate::shard::Shard>) -> WatchSpec {
        self.shard = shard;
        self
    }

    /// `pods` or `pods@kube-system`: thread names and the `resource` of log lines.
    pub fn label(&self) -> String {
        match (&self.namespace, self.resource.namespaced) {
            (Some(ns), true) => format!("{}@{}", self.resource.plural, ns),
            _ => self.resource.plural.to_string(),
        }
    }
}

/// Shared view of one watch loop, for /readyz and for stopping it.
#[derive(Debug, Default)]
pub struct WatchState {
    synced: AtomicBool,
    stop: AtomicBool,
    /// Cleared when the thread ends for any reason, a panic included: the systemd watchdog
    /// stops its keep-alives then.
    exited: AtomicBool,
}

impl WatchState {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// True once the first full LIST has been committed.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }
    /// False once the thread has ended without being told to stop (a panic, say).
    pub fn is_alive(&self) -> bool {
        !self.exited.load(Ordering::Acquire) || self.stop.load(Ordering::Acquire)
    }
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
    /// True once told to stop.
    pub fn is_stopped(&self) -> bool {
        self.stopped()
    }
    /// What the loop does after its first full LIST; for tests of code that waits on it.
    #[cfg(test)]
    pub(crate) fn mark_synced(&self) {
        self.synced.store(true, Ordering::Release);
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Capped exponential backoff with jitter, as client-go's reflector uses: 800 ms doubling to
/// 30 s, each delay stretched by a random factor in [1, 2) (jitter 1.0), and back to the
/// start after 2 minutes without a failure.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    initial: Duration,
    cap: Duration,
    rng: u64,
    last: Option<Instant>,
}

/// Without a failure for this long, the next one starts the curve again (client-go's
/// `resetDuration`).
const BACKOFF_RESET: Duration = Duration::from_secs(120);

impl Backoff {
    pub fn new(initial: Duration, cap: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ (&initial as *const _ as u64);
        Backoff {
            next: initial,
            initial,
            cap,
            rng: seed | 1,
            last: None,
        }
    }

    pub fn reset(&mut self) {
        self.next = self.initial;
    }

    /// xorshift64: jitter needs no cryptographic quality, just spread.
    pub fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// The next delay: the current step stretched by a random factor in [1, 2); the step
    /// doubles up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_at(Instant::now())
    }

    fn next_delay_at(&mut self, now: Instant) -> Duration {
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) >= BACKOFF_RESET)
        {
            self.reset();
        }
        self.last = Some(now);
        let frac = (self.random() % 1000) as f64 / 1000.0;
        let d = self.next.mul_f64(1.0 + frac);
        self.next = (self.next * 2).min(self.cap);
        d
    }
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    object: &'a RawValue,
}

/// A watch line read in one pass. The API server writes `type` before `object`, so an object
/// event's `object` can be decoded straight into the resource type, instead of being scanned
/// once to delimit a `RawValue` and again to decode it (about a quarter of the instructions
/// of an event). `None` when the line is anything else (a bookmark, an error, `object` first):
/// the caller then takes the two-pass path, which also reports malformed lines precisely.
struct OnePassEvent<T>(Option<(bool, T)>);

impl<'de, T: KubeObject> Deserialize<'de> for OnePassEvent<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: KubeObject> serde::de::Visitor<'de> for V<T> {
            type Value = OnePassEvent<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a watch event")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::IgnoredAny;
                use std::borrow::Cow;
                // Some(deleted) once `type` named an object event
                let mut object_event: Option<bool> = None;
                let mut seen_type = false;
                let mut deferred = false;
                let mut out = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "type" if !seen_type => {
                            seen_type = true;
                            let kind: Cow<'de, str> = map.next_value()?;
                            object_event = match kind.as_ref() {
                                "ADDED" | "MODIFIED" => Some(false),
                                "DELETED" => Some(true),
                                _ => None,
                            };
                        }
                        "object" if out.is_none() => match object_event {
                            Some(deleted) => out = Some((deleted, map.next_value::<T>()?)),
                            None => {
                                // not an object event, or `type` comes later: left to the
                                // two-pass path (the map must still be read to its end)
                                map.next_value::<IgnoredAny>()?;
                                deferred = true;
                            }
                        },
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(OnePassEvent(out.filter(|_| !deferred)))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Just enough of an object to decide ownership without decoding the rest, for the objects
/// the byte-level probe (`super::probe`) is not sure about: serde skips the other fields
/// without building them, and reports a malformed object properly.
#[derive(Deserialize, Default)]
struct IdentityOnly<'a> {
    #[serde(borrow, default)]
    metadata: IdentityMeta<'a>,
}

#[derive(Deserialize, Default)]
struct IdentityMeta<'a> {
    #[serde(borrow, default)]
    uid: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "resourceVersion", borrow, default)]
    resource_version: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct BookmarkObject {
    #[serde(default)]
    metadata: BookmarkMeta,
}

#[derive(Deserialize, Default)]
struct BookmarkMeta {
    #[serde(rename = "resourceVersion", default)]
    resource_version: Option<String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    /// A server applying a `shardSelector` may echo it here on the initial-events-end bookmark.
    #[serde(rename = "shardInfo", default)]
    shard_info: Option<super::list::ShardInfo>,
}

/// Who an object that did not decode is, as far as its metadata reads (empty otherwise).
#[derive(Deserialize, Default)]
struct Named {
    #[serde(default)]
    metadata: NamedMeta,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NamedMeta {
    namespace: Option<String>,
    name: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
}

/// Just the metadata of an object, to delete one whose body does not decode.
#[derive(Deserialize)]
struct MetadataOnly<'a> {
    #[serde(borrow)]
    metadata: &'a RawValue,
}

/// Remembers the objects that did not decode, by uid and resourceVersion, so each version
/// is logged and counted once however often a relist or a resumed watch delivers it again.
#[derive(Default)]
struct Undecodable {
    seen: HashMap<String, String>,
}

impl Undecodable {
    /// An object is left out when `e` is about its content (valid JSON, a field of the wrong
    /// type or value): one bad object must not stop the rest of its resource. Returns its
    /// resourceVersion (if readable) then; `None` when the bytes are not JSON at all, which
    /// the caller treats as a broken stream.
    fn skip(
        &mut self,
        telemetry: &dyn WatchMetrics,
        resource: &'static str,
        label: &str,
        raw: &[u8],
        e: &serde_json::Error,
    ) -> Option<Option<String>> {
        if e.classify() != serde_json::error::Category::Data {
            return None;
        }
        let m = serde_json::from_slice::<Named>(raw)
            .unwrap_or_default()
            .metadata;
        let first = match (m.uid.as_deref(), m.resource_version.as_deref()) {
            (Some(uid), Some(rv)) if !uid.is_empty() => {
                if self.seen.len() >= 10_000 {
                    self.seen.clear(); // bounded; at worst a version is logged again
                }
                self.seen.insert(uid.to_string(), rv.to_string()).as_deref() != Some(rv)
            }
            _ => true,
        };
        if first {
            telemetry.object_skipped(resource);
            log_event!(
                Level::Warn,
                "object does not decode, leaving it out",
                resource = label,
                namespace = m.namespace.as_deref().unwrap_or(""),
                name = m.name.as_deref().unwrap_or(""),
                uid = m.uid.as_deref().unwrap_or(""),
                rv = m.resource_version.as_deref().unwrap_or(""),
                err = e
            );
        }
        Some(m.resource_version)
    }
}

/// Why an initial sync did not complete.
#[derive(Debug)]
enum SyncError {
    Api(ApiError),
    /// The server cannot stream initial events; the reason is logged once.
    WatchListUnsupported(String),
}

/// How a watch stream ended without a transport error.
#[derive(Debug, PartialEq, Eq)]
enum WatchEnd {
    /// Server closed it (timeout) or we were told to stop: resume from the last RV.
    /// `early` when the server ended it well before the `timeoutSeconds` we asked for.
    Closed { events: u64, early: bool },
    /// 410 in the stream: the RV is too old, relist.
    Gone,
}

/// Longest watch line accepted; etcd caps objects at 1.5 MiB, so anything near this is
/// garbage rather than an object.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// What a consumer call does with the object [`Objects`] holds.
#[derive(Clone, Copy)]
enum Op {
    Upsert,
    Delete,
    RelistItem,
}

/// The only part of a watch that knows the object type: decoding and handing the object to
/// the consumers. The list/watch loop talks to it through a trait object so that loop is
/// compiled once rather than once per resource (42 copies were 1.6 MB of the binary); a
/// decoded object waits in it for [`Objects::apply`], so the loop never names the type.
trait Objects: Send {
    /// [`decode_event_line`]; a decoded object is held for `apply`.
    fn decode_line<'a>(
        &mut self,
        shard: Option<crate::shard::Shard>,
        line: &'a [u8],
    ) -> Result<EventLine<'a, ()>, (&'static str, serde_json::Error)>;
    /// A LIST item: true when this instance owns it (it is then held for `apply`).
    fn decode_item(
        &mut self,
        shard: Option<crate::shard::Shard>,
        raw: &[u8],
    ) -> Result<bool, serde_json::Error>;
    /// An object made of `metadata` (JSON) alone, held for `apply`; its uid and
    /// resourceVersion, or `None` when the type cannot be built from metadata.
    fn hold_metadata(&mut self, metadata: &str) -> Option<(String, Option<String>)>;
    /// Hands the held object to every consumer.
    fn apply(&mut self, op: Op);
    fn relist_begin(&mut self);
    fn relist_commit(&mut self);
    fn relist_abort(&mut self);
}

struct Typed<T> {
    consumers: Vec<Box<dyn Consumer<T>>>,
    held: Option<T>,
}

impl<T: KubeObject> Objects for Typed<T> {
    fn decode_line<'a>(
        &mut self,
        shard: Option<crate::shard::Shard>,
        line: &'a [u8],
    ) -> Result<EventLine<'a, ()>, (&'static str, serde_json::Error)> {
        Ok(match decode_event_line::<T>(shard, line)? {
            EventLine::Skipped { rv } => EventLine::Skipped { rv },
            EventLine::Object { deleted, obj, rv } => {
                self.held = Some(obj);
                EventLine::Object {
                    deleted,
                    obj: (),
                    rv,
                }
            }
            EventLine::Other { kind, object } => EventLine::Other { kind, object },
        })
    }

    fn decode_item(
        &mut self,
        shard: Option<crate::shard::Shard>,
        raw: &[u8],
    ) -> Result<bool, serde_json::Error> {
        let (obj, _) = decode_owned::<T>(shard, RawObject::Bytes(raw))?;
        self.held = obj;
        Ok(self.held.is_some())
    }

    fn hold_metadata(&mut self, metadata: &str) -> Option<(String, Option<String>)> {
        let obj =
            serde_json::from_slice::<T>(format!("{{\"metadata\":{metadata}}}").as_bytes()).ok()?;
        let ids = (
            obj.uid().to_string(),
            obj.resource_version().map(str::to_string),
        );
        self.held = Some(obj);
        Some(ids)
    }

    fn apply(&mut self, op: Op) {
        let Some(obj) = self.held.take() else {
            return;
        };
        for c in &mut self.consumers {
            match op {
                Op::Upsert => c.upsert(&obj),
                Op::Delete => c.delete(&obj),
                Op::RelistItem => c.relist_item(&obj),
            }
        }
    }

    fn relist_begin(&mut self) {
        self.consumers.iter_mut().for_each(|c| c.relist_begin());
    }

    fn relist_commit(&mut self) {
        self.consumers.iter_mut().for_each(|c| c.relist_commit());
    }

    fn relist_abort(&mut self) {
        self.consumers.iter_mut().for_each(|c| c.relist_abort());
    }
}

pub struct Watcher {
    client: Arc<ApiClient>,
    spec: WatchSpec,
    objects: Box<dyn Objects>,
    state: Arc<WatchState>,
    metrics: Arc<dyn WatchMetrics>,
    label: String,
    rv: Option<String>,
    backoff: Backoff,
    /// Leave from the health gate for the next request.
    admission: Option<Admission>,
    undecodable: Undecodable,
    /// `shardSelector` sent with every LIST and WATCH (`--shard-strategy=range`).
    shard_selector: Option<String>,
    /// Whether the server was last seen applying `shard_selector`, to log only changes.
    server_filtered: Option<bool>,
}

impl Watcher {
    pub fn new<T: KubeObject>(
        client: Arc<ApiClient>,
        spec: WatchSpec,
        consumers: Vec<Box<dyn Consumer<T>>>,
        state: Arc<WatchState>,
        metrics: Arc<dyn WatchMetrics>,
    ) -> Self {
        let objects = Box::new(Typed {
            consumers,
            held: None,
        });
        Self::with_objects(client, spec, objects, state, metrics)
    }

    /// [`Self::new`] past the one line that depends on the object type.
    fn with_objects(
        client: Arc<ApiClient>,
        spec: WatchSpec,
        objects: Box<dyn Objects>,
        state: Arc<WatchState>,
        metrics: Arc<dyn WatchMetrics>,
    ) -> Self {
        let label = spec.label();
        metrics.track_decoding(spec.resource.plural);
        let shard_selector = spec.shard.and_then(|s| s.selector());
        Watcher {
            client,
            spec,
            objects,
            state,
            metrics,
            label,
            rv: None,
            backoff: Backoff::new(Duration::from_millis(800), Duration::from_secs(30)),
            admission: None,
            undecodable: Undecodable::default(),
            shard_selector,
            server_filtered: None,
        }
    }

    /// `resource[@namespace]`, as logs and thread names say it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Starts the loop on a thread named `watch/<resource>[@namespace]`.
    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        struct ExitGuard(Arc<WatchState>);
        impl Drop for ExitGuard {
            fn drop(&mut self) {
                self.0.exited.store(true, Ordering::Release);
            }
        }
        let guard = ExitGuard(self.state.clone());
        std::thread::Builder::new()
            .name(format!("watch/{}", self.label))
            .spawn(move || {
                let _guard = guard;
                self.run()
            })
    }

    /// Runs until the state is told to stop.
    pub fn run(mut self) {
        let mut need_list = true;
        let mut mode = if self.spec.object_limit > 0 {
            InitialSync::List
        } else {
            self.spec.initial_sync
        };
        while !self.state.stopped() {
            if !self.admit() {
                break;
            }
            if need_list {
                let started = Instant::now();
                let use_watch_list = mode != InitialSync::List;
                let res = if use_watch_list {
                    self.sync_watch_list(mode == InitialSync::Auto)
                } else {
                    self.relist().map_err(SyncError::Api)
                };
                match res {
                    Ok(n) => {
                        need_list = false;
                        if !use_watch_list {
                            self.metrics.list(self.spec.resource.go_type, true);
                        }
                        let mode_name = if use_watch_list { "watch-list" } else { "list" };
                        self.metrics.initial_sync(
                            &self.label,
                            mode_name,
                            started.elapsed().as_secs_f64(),
                            n,
                        );
                        let first = !self.state.synced.swap(true, Ordering::AcqRel);
                        let level = if first { Level::Info } else { Level::Debug };
                        log_event!(
                            level,
                            "synced",
                            resource = self.label,
                            mode = mode_name,
                            objects = n,
                            rv = self.rv.as_deref().unwrap_or("")
                        );
                    }
                    Err(SyncError::WatchListUnsupported(reason)) => {
                        self.answered();
                        log_event!(
                            Level::Warn,
                            "server does not stream initial events, using LIST from now on",
                            resource = self.label,
                            reason = reason
                        );
                        mode = InitialSync::List;
                        continue;
                    }
                    Err(SyncError::Api(e)) => {
                        let outage = self.settle(&e);
                        if e.code() == Some(404) {
                            // not a failure: the cluster has no such API (see not_served); not
                            // counted, so the list/watch error-ratio alerts stay quiet
                            self.not_served(&e);
                            continue;
                        }
                        if use_watch_list {
                            self.metrics.watch(self.spec.resource.go_type, false);
                        } else {
                            self.metrics.list(self.spec.resource.go_type, false);
                        }
                        if e.is_gone() {
                            // our resume point is too old even for NotOlderThan: start afresh
                            self.rv = None;
                        }
                        if outage {
                            self.wait_for_server("initial sync failed", &e);
                        } else {
                            self.fail("initial sync failed", &e);
                        }
                        continue;
                    }
                }
                if !self.admit() {
                    break;
                }
            }
            let started = Instant::now();
            match self.watch_once() {
                Ok(WatchEnd::Closed { events, early }) => {
                    let at_once = events == 0 && started.elapsed() < Duration::from_secs(1);
                    if early && !at_once && !self.state.stopped() {
                        // Ended before the timeout we asked for: the server is going away,
                        // or something between cut the connection at a chunk boundary (which
                        // reads like a proper end). Either way, not proof that it serves.
                        if let Some(b) = self.client.health().server_failed(None) {
                            self.log_outage(b, &"watch ended before its timeout");
                        }
                        log_event!(
                            Level::Debug,
                            "watch ended early, resuming when the API server answers",
                            resource = self.label,
                            rv = self.rv.as_deref().unwrap_or("")
                        );
                        continue;
                    }
                    if !early {
                        // ended by the server at our timeout: it is serving
                        if let Some(r) = self.client.health().server_answered() {
                            self.log_recovered(r);
                        }
                    }
                    if started.elapsed() > Duration::from_secs(120) {
                        self.backoff.reset();
                    } else if events == 0 && started.elapsed() < Duration::from_secs(1) {
                        // a server that closes at once would otherwise make us spin
                        let d = self.backoff.next_delay();
                        self.sleep(d);
                    }
                    log_event!(
                        Level::Debug,
                        "watch closed, resuming",
                        resource = self.label,
                        rv = self.rv.as_deref().unwrap_or("")
                    );
                }
                Ok(WatchEnd::Gone) => {
                    log_event!(
                        Level::Info,
                        "resourceVersion expired, relisting",
                        resource = self.label,
                        rv = self.rv.as_deref().unwrap_or("")
                    );
                    need_list = true;
                }
                Err(e) if e.is_gone() => {
                    self.answered();
                    log_event!(
                        Level::Info,
                        "resourceVersion expired, relisting",
                        resource = self.label,
                        err = e
                    );
                    need_list = true;
                }
                Err(e) => {
                    if self.settle(&e) {
                        self.wait_for_server("watch failed", &e);
                    } else {
                        self.fail("watch failed", &e);
                    }
                }
            }
        }
    }

    /// Takes leave from the health gate for the next request, waiting while the server is
    /// down and it is not this thread's turn to probe. False once told to stop.
    fn admit(&mut self) -> bool {
        if self.admission.is_some() {
            return true;
        }
        let state = self.state.clone();
        let gate = self.client.health().clone();
        self.admission = gate.admit(&|| state.stopped());
        self.admission.is_some()
    }

    /// `GET` with the leave taken by [`Self::admit`]: a response, whatever its status, is
    /// the server answering; the caller settles failures with [`Self::settle`].
    fn get(&mut self, path: &str, timeout: Timeout) -> Result<ApiResponse, ApiError> {
        let res = self.client.get(path, timeout);
        if res.is_ok() {
            self.answered();
        }
        res
    }

    /// The body of `resp`, decoded, its bytes counted for this resource as they arrive.
    fn body(&self, resp: ApiResponse) -> ApiBody {
        let metrics = self.metrics.clone();
        let resource = self.spec.resource.plural;
        resp.into_reader(Some(Box::new(move |wire, decoded| {
            metrics.received_bytes(resource, wire, decoded)
        })))
    }

    /// Tells the gate the server answered the request in hand.
    fn answered(&mut self) {
        if let Some(r) = self.admission.take().and_then(Admission::answered) {
            self.log_recovered(r);
        }
    }

    /// Tells the gate how a failed step went; true when the failure is an outage, which the
    /// gate paces (no per-resource backoff on top).
    fn settle(&mut self, e: &ApiError) -> bool {
        if matches!(e, ApiError::Credentials(_)) {
            // nothing was sent (credentials could not be loaded): no verdict on the server;
            // a probe's turn passes on
            self.admission = None;
            return false;
        }
        if !e.is_outage() {
            self.answered();
            return false;
        }
        let began = match self.admission.take() {
            Some(a) => a.failed(e.retry_after()),
            // the response had come (a stream cut midway)
            None => self.client.health().server_failed(e.retry_after()),
        };
        if let Some(b) = began {
            self.log_outage(b, e);
        }
        true
    }

    fn log_outage(&self, b: Began, e: &dyn std::fmt::Display) {
        log_event!(
            Level::Warn,
            "lost the API server; every resource waits while one request at a time probes it",
            resource = self.label,
            server = self.client.server(),
            err = e,
            outages_in_series = b.in_series,
            first_probe_in = format!("{:.1}s", b.probe_in.as_secs_f64())
        );
    }

    fn log_recovered(&self, r: Recovered) {
        log_event!(
            Level::Info,
            "API server serving again; resuming every resource",
            resource = self.label,
            server = self.client.server(),
            outage = format!("{:.1}s", r.lasted.as_secs_f64()),
            probes = r.probes
        );
    }

    /// One line per failed request during an outage; the wait itself happens at the next
    /// [`Self::admit`].
    fn wait_for_server(&self, what: &str, e: &ApiError) {
        log_event!(
            Level::Warn,
            what,
            resource = self.label,
            err = e,
            retry = "when the API server answers"
        );
    }

    /// The API server does not serve this resource (an API too new or switched off on this
    /// cluster). That is a fact about the cluster, not an outage: the resource counts as
    /// synced with no objects, so readiness does not hang on it, and it is looked for again
    /// every few minutes in case the API appears.
    fn not_served(&mut self, e: &ApiError) {
        if !self.state.synced.swap(true, Ordering::AcqRel) {
            log_event!(Level::Warn, "resource not served by the API server; exporting nothing for it and checking again every 5m", resource = self.label, err = e);
        }
        self.objects.relist_begin();
        self.objects.relist_commit();
        self.sleep(Duration::from_secs(300));
    }

    fn fail(&mut self, what: &str, e: &ApiError) {
        let delay = match e.retry_after() {
            Some(d) => d.min(Duration::from_secs(300)),
            None => self.backoff.next_delay(),
        };
        log_event!(
            Level::Warn,
            what,
            resource = self.label,
            err = e,
            retry_in = format!("{:.1}s", delay.as_secs_f64())
        );
        self.sleep(delay);
    }

    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.state.stopped() {
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(100)));
        }
    }

    fn base_query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(fs) = &self.spec.field_selector {
            if !fs.is_empty() {
                q.push(("fieldSelector", fs.clone()));
            }
        }
        if let Some(sel) = &self.shard_selector {
            q.push(("shardSelector", sel.clone()));
        }
        q
    }

    /// Records whether the server applied our `shardSelector`. Either way ownership stays
    /// exact (every object is still checked here); what changes is the traffic, so a change
    /// is logged once and the current answer is a self-metric.
    fn note_server_filter(&mut self, applied: bool, echoed: Option<&str>) {
        let Some(selector) = &self.shard_selector else {
            return;
        };
        self.metrics.shard_server_filtered(&self.label, applied);
        if self.server_filtered == Some(applied) {
            return;
        }
        self.server_filtered = Some(applied);
        if applied {
            log_event!(
                Level::Info,
                "API server filters this shard's objects (shardSelector applied)",
                resource = self.label,
                selector = echoed.unwrap_or(selector)
            );
        } else {
            log_event!(
                Level::Warn,
                "API server ignored shardSelector (no ShardedListAndWatch): receiving every object and filtering here",
                resource = self.label,
                selector = selector
            );
        }
    }

    fn url_for(&self, query: &[(&'static str, String)]) -> String {
        let mut url = self
            .spec
            .resource
            .collection_path(self.spec.namespace.as_deref());
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            percent_encode_into(&mut url, v);
        }
        url
    }

    /// Streams the state as one watch with `sendInitialEvents=true`; the staged content is
    /// committed at the bookmark annotated `k8s.io/initial-events-end`, then this stream is
    /// closed and the caller resumes with a plain watch from that bookmark's RV.
    fn sync_watch_list(&mut self, may_fall_back: bool) -> Result<usize, SyncError> {
        let mut q = self.base_query();
        q.push(("watch", "true".into()));
        q.push(("sendInitialEvents", "true".into()));
        q.push(("resourceVersionMatch", "NotOlderThan".into()));
        q.push(("allowWatchBookmarks", "true".into()));
        if let Some(rv) = self.rv.clone().filter(|r| !r.is_empty()) {
            q.push(("resourceVersion", rv));
        }
        q.push((
            "timeoutSeconds",
            (300 + self.backoff.random() % 300).to_string(),
        ));
        let path = self.url_for(&q);
        let url = format!("{}{}", self.client.server(), path);
        let idle = if may_fall_back {
            self.spec.watch_list_idle
        } else {
            Duration::from_secs(360)
        };
        let resp = match self.get(&path, Timeout::Idle(idle)) {
            Ok(r) => r,
            Err(e) => {
                let code = e.code().unwrap_or(0);
                // 400/422 (feature gate off, parameter invalid), 405/501: not supported here.
                if may_fall_back && matches!(code, 400 | 405 | 415 | 422 | 501) {
                    return Err(SyncError::WatchListUnsupported(e.to_string()));
                }
                return Err(SyncError::Api(e));
            }
        };
        self.metrics.watch(self.spec.resource.go_type, true);
        self.objects.relist_begin();
        let res = self.read_initial_events(resp, &url);
        match res {
            Ok((rv, n)) => {
                self.objects.relist_commit();
                self.rv = Some(rv);
                self.backoff.reset();
                Ok(n)
            }
            Err(e) => {
                self.objects.relist_abort();
                match e {
                    ApiError::Stream { ref source, .. }
                        if may_fall_back
                            && (source.kind() == std::io::ErrorKind::TimedOut
                                || source.to_string().contains("timeout")) =>
                    {
                        Err(SyncError::WatchListUnsupported(format!(
                            "no initial-events-end bookmark after {}s of silence",
                            idle.as_secs()
                        )))
                    }
                    e => Err(SyncError::Api(e)),
                }
            }
        }
    }

    fn read_initial_events(
        &mut self,
        resp: ApiResponse,
        url: &str,
    ) -> Result<(String, usize), ApiError> {
        let mut reader = BufReader::with_capacity(64 * 1024, self.body(resp));
        let mut line = Vec::with_capacity(8 * 1024);
        let mut count = 0usize;
        // objects another shard owns: any at all means the server did not filter
        let mut foreign = 0usize;
        let decode_err = |what: &str, e: serde_json::Error| ApiError::Decode {
            url: url.to_string(),
            what: what.to_string(),
            detail: e.to_string(),
        };
        loop {
            line.clear();
            let n =
                read_line_capped(&mut reader, &mut line, MAX_EVENT_BYTES).map_err(|source| {
                    ApiError::Stream {
                        url: url.to_string(),
                        source,
                    }
                })?;
            if n == 0 {
                return Err(ApiError::Stream {
                    url: url.to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "stream ended before the initial-events-end bookmark",
                    ),
                });
            }
            let trimmed = trim_ascii(&line);
            if trimmed.is_empty() {
                continue;
            }
            let decoded = match self.objects.decode_line(self.spec.shard, trimmed) {
                Ok(ev) => ev,
                Err((what, e)) => match self.skip_event_object(trimmed, what, &e) {
                    Some(_) => continue,
                    None => return Err(decode_err(what, e)),
                },
            };
            let (kind, object) = match decoded {
                EventLine::Skipped { .. } => {
                    foreign += 1;
                    continue;
                }
                EventLine::Object { deleted: false, .. } => {
                    count += 1;
                    self.objects.apply(Op::RelistItem);
                    continue;
                }
                EventLine::Object { deleted: true, .. } => ("DELETED", None),
                EventLine::Other { kind, object } => (kind, Some(object)),
            };
            match (kind, object) {
                ("BOOKMARK", Some(object)) => {
                    let b: BookmarkObject = serde_json::from_str(object.get())
                        .map_err(|e| decode_err("bookmark", e))?;
                    let end = b
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("k8s.io/initial-events-end"))
                        .map(|v| v == "true")
                        .unwrap_or(false);
                    if end {
                        // shardInfo on the bookmark proves the filter; a foreign object
                        // disproves it. kube-apiserver v1.37.2 puts no shardInfo on the
                        // end bookmark, so objects sent and none of them another shard's
                        // counts as filtered (a later foreign object flips it back); nothing
                        // sent at all proves nothing.
                        match (&b.metadata.shard_info, foreign) {
                            (Some(info), _) => self.note_server_filter(true, Some(&info.selector)),
                            (None, n) if n > 0 => self.note_server_filter(false, None),
                            (None, _) if count > 0 => self.note_server_filter(true, None),
                            _ => {}
                        }
                        let rv = b.metadata.resource_version.unwrap_or_default();
                        return Ok((rv, count));
                    }
                }
                ("ERROR", Some(object)) => {
                    let status: Status = serde_json::from_str(object.get()).unwrap_or_default();
                    return Err(ApiError::Status {
                        url: url.to_string(),
                        status,
                        retry_after: None,
                    });
                }
                (other, _) => {
                    return Err(ApiError::Decode {
                        url: url.to_string(),
                        what: "initial watch event".into(),
                        detail: format!(
                        "unexpected event type {other:?} before the initial-events-end bookmark"
                    ),
                    })
                }
            }
        }
    }

    /// Lists every page into a staged replacement and commits it only when the last page
    /// arrived, so a failure midway leaves the consumers' previous content untouched.
    fn relist(&mut self) -> Result<usize, ApiError> {
        self.objects.relist_begin();
        let res = self.list_pages();
        match res {
            Ok((rv, n)) => {
                self.objects.relist_commit();
                self.rv = Some(rv);
                self.backoff.reset();
                Ok(n)
            }
            Err(e) => {
                self.objects.relist_abort();
                Err(e)
            }
        }
    }

    fn list_pages(&mut self) -> Result<(String, usize), ApiError> {
        let mut continue_token: Option<String> = None;
        let mut count = 0usize;
        let mut restarted = false;
        loop {
            let mut q = self.base_query();
            if self.spec.use_apiserver_cache {
                q.push(("resourceVersion", "0".into()));
            }
            let limit = match self.spec.object_limit {
                0 => u64::from(self.spec.page_size),
                n => n,
            };
            q.push(("limit", limit.to_string()));
            if let Some(c) = &continue_token {
                q.push(("continue", c.clone()));
            }
            let path = self.url_for(&q);
            let resp = match self.get(&path, Timeout::Total(Duration::from_secs(120))) {
                Ok(r) => r,
                Err(e) if e.is_gone() && continue_token.is_some() && !restarted => {
                    // the continue token expired mid-list: start over once, from scratch
                    self.objects.relist_abort();
                    self.objects.relist_begin();
                    continue_token = None;
                    count = 0;
                    restarted = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let url = format!("{}{}", self.client.server(), path);
            let body = self.body(resp);
            let objects = &mut self.objects;
            let (undecodable, telemetry) = (&mut self.undecodable, self.metrics.as_ref());
            let (resource, label) = (self.spec.resource.plural, &self.label);
            let cap = self.spec.object_limit;
            let mut page_items = 0u64;
            // Cutting each item out first and decoding it from memory costs about half of
            // decoding it straight from the socket reader (probe-bench); with a shard, only
            // the owned items are decoded. An item past --object-limit in this page is
            // dropped before either.
            let decoded = split_list(body, |raw| {
                page_items += 1;
                if cap > 0 && page_items > cap {
                    return Ok(());
                }
                match objects.decode_item(self.spec.shard, raw) {
                    Ok(true) => {
                        count += 1;
                        objects.apply(Op::RelistItem);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        undecodable
                            .skip(telemetry, resource, label, raw, &e)
                            .ok_or(e)?;
                    }
                }
                Ok(())
            });
            if cap > 0 {
                self.metrics
                    .list_objects(self.spec.resource.go_type, cap, page_items.min(cap));
            }
            let meta = decoded.map_err(|e| ApiError::Decode {
                url: url.clone(),
                what: "list response".into(),
                detail: e.to_string(),
            })?;
            if continue_token.is_none() {
                let echoed = meta.shard_info.as_ref().map(|i| i.selector.clone());
                self.note_server_filter(echoed.is_some(), echoed.as_deref());
            }
            match meta.continue_token.filter(|c| !c.is_empty()) {
                Some(c) => continue_token = Some(c),
                None => return Ok((meta.resource_version, count)),
            }
        }
    }

    fn watch_once(&mut self) -> Result<WatchEnd, ApiError> {
        // spread in [300, 600) like client-go, so watches of many resources do not all
        // reconnect at the same moment
        let timeout_secs = 300 + self.backoff.random() % 300;
        let mut q = self.base_query();
        q.push(("watch", "true".into()));
        q.push(("allowWatchBookmarks", "true".into()));
        if let Some(rv) = &self.rv {
            q.push(("resourceVersion", rv.clone()));
        }
        q.push(("timeoutSeconds", timeout_secs.to_string()));
        let path = self.url_for(&q);
        let url = format!("{}{}", self.client.server(), path);
        let resp = match self.get(&path, Timeout::Idle(Duration::from_secs(timeout_secs + 60))) {
            Ok(r) => {
                self.metrics.watch(self.spec.resource.go_type, true);
                r
            }
            Err(e) => {
                self.metrics.watch(self.spec.resource.go_type, false);
                return Err(e);
            }
        };
        let mut reader = BufReader::with_capacity(64 * 1024, self.body(resp));
        let mut line = Vec::with_capacity(8 * 1024);
        let mut events = 0u64;
        let started = Instant::now();
        // the server counts from when it got the request, a little after `started`
        let due = Duration::from_secs(timeout_secs.saturating_sub(2));
        loop {
            if self.state.stopped() {
                return Ok(WatchEnd::Closed {
                    events,
                    early: false,
                });
            }
            line.clear();
            let n =
                read_line_capped(&mut reader, &mut line, MAX_EVENT_BYTES).map_err(|source| {
                    ApiError::Stream {
                        url: url.clone(),
                        source,
                    }
                })?;
            if n == 0 {
                return Ok(WatchEnd::Closed {
                    events,
                    early: started.elapsed() < due,
                });
            }
            let trimmed = trim_ascii(&line);
            if trimmed.is_empty() {
                continue;
            }
            if let Some(end) = self.apply_event(trimmed, &url)? {
                return Ok(end);
            }
            events += 1;
        }
    }

    /// A watch line did not decode. When it is a well-formed event whose object has a field
    /// of the wrong type, the object is left out (logged and counted once; a `DELETED` one
    /// is deleted by its metadata, silently) and `Some(its resourceVersion)` returned, so the
    /// watch goes on. Otherwise the line is counted as a decode error and `None` returned:
    /// the caller restarts from the last good resourceVersion.
    fn skip_event_object(
        &mut self,
        line: &[u8],
        what: &str,
        e: &serde_json::Error,
    ) -> Option<Option<String>> {
        let resource = self.spec.resource.plural;
        let event = match what {
            "watch event object" => serde_json::from_slice::<RawEvent>(line).ok(),
            _ => None,
        };
        let skipped = event.as_ref().and_then(|ev| {
            let raw = ev.object.get().as_bytes();
            if ev.kind == "DELETED" && e.classify() == serde_json::error::Category::Data {
                // gone anyway: deleted by its metadata, nothing left out, nothing to report
                let gone = serde_json::from_slice::<MetadataOnly>(raw)
                    .ok()
                    .and_then(|m| self.objects.hold_metadata(m.metadata.get()));
                if let Some((uid, rv)) = gone {
                    self.objects.apply(Op::Delete);
                    self.undecodable.seen.remove(&uid);
                    return Some(rv);
                }
            }
            self.undecodable
                .skip(self.metrics.as_ref(), resource, &self.label, raw, e)
        });
        if skipped.is_none() {
            self.metrics.watch_decode_error(resource);
        }
        skipped
    }

    /// Applies one watch line. A line that is not a watch event is an error: the watch
    /// restarts from the last good resourceVersion, so the event is received again rather
    /// than lost. An event whose object does not decode leaves that object out.
    fn apply_event(&mut self, line: &[u8], url: &str) -> Result<Option<WatchEnd>, ApiError> {
        let decode_err = |what: &str, e: serde_json::Error| ApiError::Decode {
            url: url.to_string(),
            what: what.to_string(),
            detail: e.to_string(),
        };
        let ev = match self.objects.decode_line(self.spec.shard, line) {
            Ok(ev) => ev,
            Err((what, e)) => {
                return match self.skip_event_object(line, what, &e) {
                    Some(rv) => {
                        if let Some(rv) = rv {
                            self.rv = Some(rv);
                        }
                        Ok(None)
                    }
                    None => Err(decode_err(what, e)),
                };
            }
        };
        let (kind, object) = match ev {
            EventLine::Skipped { rv } => {
                if let Some(rv) = rv {
                    self.rv = Some(rv);
                }
                if self.server_filtered == Some(true) {
                    // another shard's object: the server stopped filtering (restarted
                    // without the feature gate, say)
                    self.note_server_filter(false, None);
                }
                return Ok(None);
            }
            EventLine::Object { deleted, rv, .. } => {
                if let Some(rv) = rv {
                    self.rv = Some(rv);
                }
                self.objects
                    .apply(if deleted { Op::Delete } else { Op::Upsert });
                return Ok(None);
            }
            EventLine::Other { kind, object } => (kind, object),
        };
        match kind {
            "BOOKMARK" => {
                let b: BookmarkObject =
                    serde_json::from_str(object.get()).map_err(|e| decode_err("bookmark", e))?;
                if let Some(rv) = b.metadata.resource_version.filter(|r| !r.is_empty()) {
                    self.rv = Some(rv);
                }
            }
            "ERROR" => {
                let status: Status = serde_json::from_str(object.get()).unwrap_or_default();
                if status.code == 410 {
                    return Ok(Some(WatchEnd::Gone));
                }
                return Err(ApiError::Status {
                    url: url.to_string(),
                    status,
                    retry_after: None,
                });
            }
            other => {
                return Err(ApiError::Decode {
                    url: url.to_string(),
                    what: "watch event".into(),
                    detail: format!("unknown event type {other:?}"),
                })
            }
        }
        Ok(None)
    }
}

/// One watch line, decoded as far as this instance needs it.
pub enum EventLine<'a, T> {
    /// An object another shard owns; its resourceVersion still advances the resume point.
    Skipped { rv: Option<String> },
    /// An `ADDED`/`MODIFIED` (or, `deleted`, a `DELETED`) object this instance owns.
    Object {
        deleted: bool,
        obj: T,
        rv: Option<String>,
    },
    /// Any other type (`BOOKMARK`, `ERROR`, ...), with its object undecoded.
    Other { kind: &'a str, object: &'a RawValue },
}

/// Decodes one watch line. A sharded watch settles most lines with the byte-level probe: an
/// object another shard owns is skipped after reading only its type, uid and
/// resourceVersion, and an owned one is decoded with no identity pass. Lines the probe is not
/// sure about take the serde path, which also reports malformed lines. Errors say which part
/// failed to decode (`watch event`, `watch event object`).
pub fn decode_event_line<T: KubeObject>(
    shard: Option<crate::shard::Shard>,
    line: &[u8],
) -> Result<EventLine<'_, T>, (&'static str, serde_json::Error)> {
    let mut identity_shard = shard;
    if let Some(s) = shard {
        if let EventProbe::Object(id) = probe_event(line) {
            if !s.owns(id.uid) {
                return Ok(EventLine::Skipped {
                    rv: Some(id.resource_version.to_string()),
                });
            }
            identity_shard = None; // ownership settled
        }
    }
    if identity_shard.is_none() {
        if let Ok(OnePassEvent(Some((deleted, obj)))) = serde_json::from_slice(line) {
            let obj: T = obj;
            let rv = obj.resource_version().map(str::to_string);
            return Ok(EventLine::Object { deleted, obj, rv });
        }
    }
    let ev: RawEvent = serde_json::from_slice(line).map_err(|e| ("watch event", e))?;
    if !matches!(ev.kind, "ADDED" | "MODIFIED" | "DELETED") {
        return Ok(EventLine::Other {
            kind: ev.kind,
            object: ev.object,
        });
    }
    let (obj, rv) = decode_owned::<T>(identity_shard, RawObject::Str(ev.object.get()))
        .map_err(|e| ("watch event object", e))?;
    Ok(match obj {
        Some(obj) => EventLine::Object {
            deleted: ev.kind == "DELETED",
            obj,
            rv,
        },
        None => EventLine::Skipped { rv },
    })
}

/// Reads a LIST response of a sharded resource, decoding only the items `shard` owns: the
/// others are cut out of the stream and probed, never decoded.
pub fn split_owned<T: KubeObject, R: std::io::Read>(
    body: R,
    shard: crate::shard::Shard,
    mut on_owned: impl FnMut(T),
) -> Result<super::list::ListMeta, serde_json::Error> {
    split_list(body, |raw| {
        if let (Some(obj), _) = decode_owned::<T>(Some(shard), RawObject::Bytes(raw))? {
            on_owned(obj);
        }
        Ok(())
    })
}

/// The JSON text of one object: from a watch line (a `RawValue`, already valid UTF-8, so
/// serde need not check it again) or cut undecoded from a LIST response.
#[derive(Clone, Copy)]
enum RawObject<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> RawObject<'a> {
    fn bytes(self) -> &'a [u8] {
        match self {
            RawObject::Str(s) => s.as_bytes(),
            RawObject::Bytes(b) => b,
        }
    }

    fn decode<D: Deserialize<'a>>(self) -> Result<D, serde_json::Error> {
        match self {
            // the same reader as a LIST item's: every resource type's decoder is compiled
            // once, not once per reader (the UTF-8 check saved is small next to that)
            RawObject::Str(s) => serde_json::from_slice(s.as_bytes()),
            RawObject::Bytes(b) => serde_json::from_slice(b),
        }
    }
}

/// Decodes `raw` in full only when `shard` (if any) owns it. Also returns the object's
/// resourceVersion, which advances the resume point even for skipped objects. Ownership is
/// read by the byte-level probe; only an object it is not sure about costs a serde pass.
fn decode_owned<T: KubeObject>(
    shard: Option<crate::shard::Shard>,
    raw: RawObject,
) -> Result<(Option<T>, Option<String>), serde_json::Error> {
    if let Some(shard) = shard {
        if let Some(id) = probe_object(raw.bytes()) {
            let rv = Some(id.resource_version.to_string());
            if !shard.owns(id.uid) {
                return Ok((None, rv));
            }
            return Ok((Some(raw.decode()?), rv));
        }
        let id: IdentityOnly = raw.decode()?;
        let rv = id.metadata.resource_version.map(|r| r.into_owned());
        if !shard.owns(id.metadata.uid.as_deref().unwrap_or("")) {
            return Ok((None, rv));
        }
        return Ok((Some(raw.decode()?), rv));
    }
    let obj: T = raw.decode()?;
    let rv = obj.resource_version().map(str::to_string);
    Ok((Some(obj), rv))
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map(|i| i + 1)
        .unwrap_or(start);
    &b[start..end.max(start)]
}

fn read_line_capped<R: BufRead>(
    r: &mut R,
    out: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let (done, used) = {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                return Ok(total);
            }
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    out.extend_from_slice(&buf[..=i]);
                    (true, i + 1)
                }
                None => {
                    out.extend_from_slice(buf);
                    (false, buf.len())
                }
            }
        };
        r.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
        if total > cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("watch event longer than {cap} bytes"),
            ));
        }
    }
}

/// What a query value keeps as is: RFC 3986 unreserved characters; everything else is
/// `%XX` (upper-case hex, UTF-8 bytes one by one).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query value (label and field selectors, continue tokens).
pub fn percent_encode_into(out: &mut String, v: &str) {
    out.extend(utf8_percent_encode(v, QUERY_VALUE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_matches_the_reflector_curve() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut b = Backoff::new(ms(800), Duration::from_secs(30));
        let first = b.next_delay_at(t0);
        assert!(first >= ms(800) && first < ms(1600), "{first:?}");
        let second = b.next_delay_at(t0);
        assert!(second >= ms(1600) && second < ms(3200), "{second:?}");
        for _ in 0..20 {
            let d = b.next_delay_at(t0);
            assert!(d < Duration::from_secs(60), "{d:?}");
        }
        assert!(b.next_delay_at(t0) >= Duration::from_secs(30));
        // two minutes without a failure start the curve again
        let later = b.next_delay_at(t0 + Duration::from_secs(119));
        assert!(later >= Duration::from_secs(30));
        let fresh = b.next_delay_at(t0 + Duration::from_secs(119 + 120));
        assert!(fresh < ms(1600), "{fresh:?}");
        b.next_delay_at(t0);
        b.reset();
        assert!(b.next_delay_at(t0) < ms(1600));
    }

    use crate::shard::Shard;
    use k8s_openapi::api::core::v1::Pod;

    /// Pods whose uids spread over the shards; the last ones need serde's reading (an
    /// escaped uid, a missing resourceVersion), the rest are settled by the probe.
    fn pods() -> Vec<(String, String)> {
        let mut pods: Vec<(String, String)> = (0..40)
            .map(|i| {
                let uid = format!("{i:08x}-aaaa-bbbb-cccc-dddddddddddd");
                let json = format!(
                    r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"p{i}","namespace":"d","ownerReferences":[{{"uid":"owner-{i}"}}],"uid":"{uid}","resourceVersion":"{}"}},"spec":{{"containers":[]}}}}"#,
                    100 + i
                );
                (uid, json)
            })
            .collect();
        pods.push((
            "esc-1".into(),
            r#"{"metadata":{"name":"e1","uid":"esc-1","resourceVersion":"7"}}"#.into(),
        ));
        pods.push((
            "norv-2".into(),
            r#"{"metadata":{"name":"n2","uid":"norv-2"}}"#.into(),
        ));
        pods
    }

    #[test]
    fn each_object_is_decoded_by_exactly_its_owner() {
        let pods = pods();
        use crate::shard::Strategy;
        for (total, strategy) in [2, 3, 4]
            .into_iter()
            .flat_map(|t| [(t, Strategy::Jump), (t, Strategy::Range)])
        {
            let mut owners = vec![0; pods.len()];
            for ordinal in 0..total {
                let shard = Shard::new(ordinal, total, strategy).unwrap();
                for (i, (uid, json)) in pods.iter().enumerate() {
                    let (obj, rv) =
                        decode_owned::<Pod>(Some(shard), RawObject::Bytes(json.as_bytes()))
                            .unwrap();
                    // the same answer from a watch line's already-checked text
                    let (obj2, rv2) =
                        decode_owned::<Pod>(Some(shard), RawObject::Str(json)).unwrap();
                    assert_eq!(obj, obj2);
                    assert_eq!(rv, rv2);
                    let full: Pod = serde_json::from_str(json).unwrap();
                    assert_eq!(rv.as_deref(), full.metadata.resource_version.as_deref());
                    assert_eq!(obj.is_some(), shard.owns(uid), "{json}");
                    if let Some(obj) = obj {
                        assert_eq!(obj, full);
                        owners[i] += 1;
                    }
                }
            }
            assert!(owners.iter().all(|&n| n == 1), "{owners:?}");
        }
        let (obj, _) = decode_owned::<Pod>(None, RawObject::Str(&pods[0].1)).unwrap();
        assert!(obj.is_some());
    }

    #[test]
    fn watch_lines_are_skipped_or_decoded_by_ownership() {
        let shards = [Shard::jump(0, 2), Shard::jump(1, 2)];
        for (uid, obj) in pods() {
            for kind in ["ADDED", "MODIFIED", "DELETED"] {
                let line = format!(r#"{{"type":"{kind}","object":{obj}}}"#);
                let full: Pod = serde_json::from_str(&obj).unwrap();
                let want_rv = full.metadata.resource_version.clone();
                for shard in shards.iter().copied().map(Some).chain([None]) {
                    match decode_event_line::<Pod>(shard, line.as_bytes()).unwrap() {
                        EventLine::Skipped { rv } => {
                            assert!(!shard.unwrap().owns(&uid), "{line}");
                            assert_eq!(rv, want_rv);
                        }
                        EventLine::Object { deleted, obj, rv } => {
                            assert!(shard.is_none_or(|s| s.owns(&uid)), "{line}");
                            assert_eq!(deleted, kind == "DELETED");
                            assert_eq!(obj, full);
                            assert_eq!(rv, want_rv);
                        }
                        EventLine::Other { kind, .. } => panic!("{kind}"),
                    }
                }
            }
        }
        let bookmark = br#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"5"}}}"#;
        for shard in [Some(shards[0]), None] {
            let Ok(EventLine::Other { kind, object }) = decode_event_line::<Pod>(shard, bookmark)
            else {
                panic!("bookmark not passed on");
            };
            assert_eq!(kind, "BOOKMARK");
            assert_eq!(object.get(), r#"{"metadata":{"resourceVersion":"5"}}"#);
        }
        // malformed lines the probe cannot read are reported by serde, for every shard
        for line in [
            &br#"{"type":"ADDED","object":{"metadata":{"uid":"a","resourceV"#[..],
            br#"{"type":"ADDED","object":{"metadata":{"uid":"a\u0022","resourceVersion":1}}}"#,
        ] {
            for shard in shards {
                assert!(decode_event_line::<Pod>(Some(shard), line).is_err());
            }
        }
        // damage past the identity goes unnoticed where the object is skipped (the point of
        // the probe), and is reported by its owner
        let cut = br#"{"type":"ADDED","object":{"metadata":{"uid":"a","resourceVersion":"1""#;
        for shard in shards {
            match decode_event_line::<Pod>(Some(shard), cut) {
                Ok(EventLine::Skipped { rv }) if !shard.owns("a") => {
                    assert_eq!(rv.as_deref(), Some("1"))
                }
                Err(("watch event", _)) if shard.owns("a") => {}
                _ => panic!("shard {shard:?}"),
            }
        }
    }

    #[test]
    fn one_pass_decode_agrees_with_two_passes_and_falls_back_when_it_must() {
        let (_, obj) = &pods()[0];
        let full: Pod = serde_json::from_str(obj).unwrap();
        let want_rv = full.metadata.resource_version.clone();
        for line in [
            format!(r#"{{"type":"MODIFIED","object":{obj}}}"#),
            // object first: the one-pass reader cannot know what to decode it as
            format!(r#"{{"object":{obj},"type":"MODIFIED"}}"#),
            // extra keys and whitespace
            format!(
                r#" {{ "kind":"WatchEvent", "type" : "MODIFIED" , "object" : {obj} , "x":[1,{{}}]}} "#
            ),
        ] {
            match decode_event_line::<Pod>(None, line.as_bytes()) {
                Ok(EventLine::Object { deleted, obj, rv }) => {
                    assert!(!deleted);
                    assert_eq!(obj, full);
                    assert_eq!(rv, want_rv);
                }
                _ => panic!("{line}"),
            }
        }
        let one: Option<(bool, Pod)> = serde_json::from_str::<OnePassEvent<Pod>>(&format!(
            r#"{{"object":{obj},"type":"ADDED"}}"#
        ))
        .unwrap()
        .0;
        assert!(
            one.is_none(),
            "object before type is left to the two-pass path"
        );
        // errors keep their precise label: the object, or the event around it
        let bad_object = br#"{"type":"ADDED","object":{"metadata":{"name":7}}}"#;
        assert!(matches!(
            decode_event_line::<Pod>(None, bad_object),
            Err(("watch event object", _))
        ));
        let trailing = format!(r#"{{"type":"ADDED","object":{obj}}} x"#);
        assert!(matches!(
            decode_event_line::<Pod>(None, trailing.as_bytes()),
            Err(("watch event", _))
        ));
        let gone = br#"{"type":"ERROR","object":{"kind":"Status","code":410}}"#;
        assert!(matches!(
            decode_event_line::<Pod>(None, gone),
            Ok(EventLine::Other { kind: "ERROR", .. })
        ));
    }

    #[test]
    fn sharded_lists_yield_exactly_the_owned_items() {
        let pods = pods();
        let items: Vec<&str> = pods.iter().map(|(_, j)| j.as_str()).collect();
        let body = format!(
            r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"99"}},"items":[{}]}}"#,
            items.join(",")
        );
        for ordinal in 0..3 {
            let shard = Shard::jump(ordinal, 3);
            let mut got = Vec::new();
            let meta = split_owned(body.as_bytes(), shard, |p: Pod| {
                got.push(p.metadata.uid.unwrap())
            })
            .unwrap();
            assert_eq!(meta.resource_version, "99");
            let want: Vec<String> = pods
                .iter()
                .filter(|(uid, _)| shard.owns(uid))
                .map(|(uid, _)| uid.clone())
                .collect();
            assert_eq!(got, want);
        }
        // a malformed owned item is an error, as with a full decode
        let bad =
            r#"{"items":[{"metadata":{"uid":"x","resourceVersion":"1"},"spec":{"containers":5}}]}"#;
        let owner = (0..3)
            .map(|ordinal| Shard::jump(ordinal, 3))
            .find(|s| s.owns("x"))
            .unwrap();
        assert!(split_owned(bad.as_bytes(), owner, |_: Pod| {}).is_err());
    }

    #[test]
    fn objects_of_the_wrong_shape_are_skipped_once_and_broken_json_is_not() {
        /// Counts skipped objects per resource, as the telemetry registry would.
        #[derive(Default)]
        struct Skips(parking_lot::Mutex<std::collections::BTreeMap<&'static str, u64>>);
        impl WatchMetrics for Skips {
            fn list(&self, _: &'static str, _: bool) {}
            fn watch(&self, _: &'static str, _: bool) {}
            fn initial_sync(&self, _: &str, _: &'static str, _: f64, _: usize) {}
            fn track_decoding(&self, _: &'static str) {}
            fn watch_decode_error(&self, _: &'static str) {}
            fn object_skipped(&self, resource: &'static str) {
                *self.0.lock().entry(resource).or_insert(0) += 1;
            }
            fn shard_server_filtered(&self, _: &str, _: bool) {}
            fn list_objects(&self, _: &'static str, _: u64, _: u64) {}
            fn received_bytes(&self, _: &'static str, _: u64, _: u64) {}
        }
        impl Skips {
            fn counter(&self, _family: &str, resource: &str, _: &str) -> u64 {
                self.0.lock().get(resource).copied().unwrap_or(0)
            }
        }
        let t = Skips::default();
        let mut u = Undecodable::default();
        let bad = |rv: &str| {
            format!(
                r#"{{"metadata":{{"name":"p","namespace":"d","uid":"u1","resourceVersion":"{rv}"}},"spec":{{"containers":"nope"}}}}"#
            )
        };
        let err = |raw: &str| serde_json::from_str::<Pod>(raw).unwrap_err();
        let raw = bad("7");
        let e = err(&raw);
        // the same version again (a relist, a resumed watch) is not counted twice
        for _ in 0..3 {
            assert_eq!(
                u.skip(&t, "pods", "pods", raw.as_bytes(), &e),
                Some(Some("7".to_string()))
            );
        }
        assert_eq!(t.counter("kubestate_objects_skipped_total", "pods", ""), 1);
        let raw = bad("8");
        assert!(u
            .skip(&t, "pods", "pods", raw.as_bytes(), &err(&raw))
            .is_some());
        assert_eq!(t.counter("kubestate_objects_skipped_total", "pods", ""), 2);
        // not JSON: not an object to leave out, the caller's stream is broken
        let raw = r#"{"metadata":{"uid":"u2"},"spec":{"containers":[}"#;
        assert_eq!(u.skip(&t, "pods", "pods", raw.as_bytes(), &err(raw)), None);
        assert_eq!(t.counter("kubestate_objects_skipped_total", "pods", ""), 2);
    }

    #[test]
    fn lines_are_capped() {
        let data = [b'x'; 100];
        let mut r = BufReader::with_capacity(8, &data[..]);
        let mut out = Vec::new();
        assert!(read_line_capped(&mut r, &mut out, 50).is_err());
        let mut r = BufReader::with_capacity(8, &b"ab\ncd"[..]);
        out.clear();
        assert_eq!(read_line_capped(&mut r, &mut out, 50).unwrap(), 3);
        assert_eq!(out, b"ab\n");
    }

    #[test]
    fn query_values_are_encoded() {
        let mut s = String::new();
        percent_encode_into(&mut s, "metadata.namespace!=kube-system,spec.nodeName=a b");
        assert_eq!(
            s,
            "metadata.namespace%21%3Dkube-system%2Cspec.nodeName%3Da%20b"
        );
    }
}
