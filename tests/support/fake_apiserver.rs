//! A fake Kubernetes API server that speaks real list/watch over HTTP/1.1.
//!
//! It models the parts of kube-apiserver a read-only client relies on: one global,
//! monotonically increasing resourceVersion (etcd's revision), paginated consistent
//! LISTs with continue tokens that expire on compaction, chunked WATCH streams with
//! replay from a resourceVersion, `410 Expired` ERROR events, bookmarks, WatchList
//! (`sendInitialEvents`), bearer-token auth, field/label selectors, server-side sharding
//! (KEP-5866 `shardSelector`, switchable like the `ShardedListAndWatch` feature gate),
//! gzip responses for clients that ask (switchable, see [`FakeOptions::compression`]) and
//! injectable failures (status codes, malformed watch lines, corrupt gzip members, dropped
//! streams, whole outages).
//!
//! The HTTP layer is a small hand-written HTTP/1.1 server on `std::net` rather than
//! tiny_http: tiny_http keeps the socket for keep-alive and offers no way to cut a
//! streaming response off mid-body, which `drop_watches` needs.

use parking_lot::{Condvar, Mutex};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the server does with `sendInitialEvents=true` (the WatchList feature).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchListMode {
    /// Initial ADDED events, then a BOOKMARK annotated `k8s.io/initial-events-end`.
    Supported,
    /// `422 Invalid`, like a server with the WatchList feature gate disabled.
    Rejected,
    /// Behaves as if the parameter were absent (no end bookmark), like an old server.
    Ignored,
}

#[derive(Clone, Debug)]
pub struct FakeOptions {
    /// When set, every API request needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Interval of BOOKMARK events on watches with `allowWatchBookmarks=true`.
    pub bookmark_interval: Duration,
    pub watch_list: WatchListMode,
    /// Cap on the page size of paginated LISTs (only when the client sends `limit`).
    pub max_page: Option<usize>,
    /// Event history kept for watch replay / continue tokens before automatic
    /// compaction (the oldest half is dropped when exceeded).
    pub history_limit: usize,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Honour `shardSelector` like kube-apiserver with `ShardedListAndWatch` (else the
    /// parameter is ignored, as by a server without the gate); switchable at run time.
    pub sharded_list_and_watch: bool,
    /// Compress like kube-apiserver 1.37 for a request with `Accept-Encoding: gzip`:
    /// responses over 128 KiB (`APIResponseCompression`) and WatchList streams, one gzip
    /// member per flush, its data ending in a sync flush (`WatchListCompression`); a plain
    /// WATCH stays uncompressed.
    /// Switchable at run time.
    pub compression: bool,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            token: None,
            bookmark_interval: Duration::from_secs(1),
            watch_list: WatchListMode::Supported,
            max_page: None,
            history_limit: 200_000,
            port: 0,
            sharded_list_and_watch: false,
            compression: true,
        }
    }
}

/// One served resource type.
#[derive(Clone, Copy, Debug)]
pub struct ResourceInfo {
    pub plural: &'static str,
    /// "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn res(
    plural: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> ResourceInfo {
    ResourceInfo {
        plural,
        group,
        version,
        kind,
        namespaced,
    }
}

pub const RESOURCES: &[ResourceInfo] = &[
    res("pods", "", "v1", "Pod", true),
    res("nodes", "", "v1", "Node", false),
    res("namespaces", "", "v1", "Namespace", false),
    res("services", "", "v1", "Service", true),
    res("endpoints", "", "v1", "Endpoints", true),
    res("configmaps", "", "v1", "ConfigMap", true),
    res("secrets", "", "v1", "Secret", true),
    res("deployments", "apps", "v1", "Deployment", true),
    res("replicasets", "apps", "v1", "ReplicaSet", true),
    res("statefulsets", "apps", "v1", "StatefulSet", true),
    res("daemonsets", "apps", "v1", "DaemonSet", true),
    res("jobs", "batch", "v1", "Job", true),
    res("cronjobs", "batch", "v1", "CronJob", true),
    res("ingresses", "networking.k8s.io", "v1", "Ingress", true),
    res(
        "endpointslices",
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        true,
    ),
    // The rest of what kube-state-metrics watches, at the versions kube-apiserver v1.37 serves.
    res("persistentvolumes", "", "v1", "PersistentVolume", false),
    res(
        "persistentvolumeclaims",
        "",
        "v1",
        "PersistentVolumeClaim",
        true,
    ),
    res("serviceaccounts", "", "v1", "ServiceAccount", true),
    res("resourcequotas", "", "v1", "ResourceQuota", true),
    res("limitranges", "", "v1", "LimitRange", true),
    res(
        "replicationcontrollers",
        "",
        "v1",
        "ReplicationController",
        true,
    ),
    res(
        "horizontalpodautoscalers",
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        true,
    ),
    res(
        "poddisruptionbudgets",
        "policy",
        "v1",
        "PodDisruptionBudget",
        true,
    ),
    res("leases", "coordination.k8s.io", "v1", "Lease", true),
    res(
        "networkpolicies",
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        true,
    ),
    res(
        "ingressclasses",
        "networking.k8s.io",
        "v1",
        "IngressClass",
        false,
    ),
    res(
        "storageclasses",
        "storage.k8s.io",
        "v1",
        "StorageClass",
        false,
    ),
    res(
        "volumeattachments",
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        false,
    ),
    res(
        "certificatesigningrequests",
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        false,
    ),
    res("roles", "rbac.authorization.k8s.io", "v1", "Role", true),
    res(
        "rolebindings",
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        true,
    ),
    res(
        "clusterroles",
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        false,
    ),
    res(
        "clusterrolebindings",
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        false,
    ),
    res(
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        false,
    ),
    res(
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        false,
    ),
    res(
        "mutatingadmissionpolicies",
        "admissionregistration.k8s.io",
        "v1",
        "MutatingAdmissionPolicy",
        false,
    ),
    res(
        "mutatingadmissionpolicybindings",
        "admissionregistration.k8s.io",
        "v1",
        "MutatingAdmissionPolicyBinding",
        false,
    ),
    res(
        "validatingadmissionpolicies",
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        false,
    ),
    res(
        "validatingadmissionpolicybindings",
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        false,
    ),
];

/// Resource types registered at run time (custom resources), beside the fixed table.
/// Process-wide: tests that register use their own plurals, which name the stores.
static REGISTERED: Mutex<Vec<&'static ResourceInfo>> = Mutex::new(Vec::new());

/// Serves an extra resource type (list, watch, get and `/apis/<g>/<v>` discovery) from now
/// on, on every fake server of this process, as installing a CRD would.
pub fn register_resource(info: ResourceInfo) {
    let mut r = REGISTERED.lock();
    if !r.iter().any(|x| x.plural == info.plural) {
        r.push(Box::leak(Box::new(info)));
    }
}

/// The fixed table plus the registered types.
fn served() -> Vec<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .chain(REGISTERED.lock().iter().copied())
        .collect()
}

pub fn resource_info(plural: &str) -> Option<&'static ResourceInfo> {
    served().into_iter().find(|r| r.plural == plural)
}

fn info_or_panic(plural: &str) -> &'static ResourceInfo {
    resource_info(plural).unwrap_or_else(|| panic!("fake apiserver: unknown resource {plural:?}"))
}

// ---------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventType {
    Added,
    Modified,
    Deleted,
}

struct Event {
    resource: &'static str,
    kind: EventType,
    /// New state (for DELETED: the last state, with the deletion's resourceVersion).
    object: Arc<Value>,
    /// State before the event (None for ADDED).
    prev: Option<Arc<Value>>,
    rv: u64,
}

#[derive(Default)]
struct State {
    rv: u64,
    /// Watches and continue tokens from a resourceVersion below this get 410.
    compacted_rv: u64,
    objects: HashMap<&'static str, BTreeMap<String, Arc<Value>>>,
    /// Sorted by rv.
    history: VecDeque<Event>,
    /// Open watch id -> last resourceVersion it has seen (history is kept for them).
    watch_positions: HashMap<u64, u64>,
}

impl State {
    fn min_watch_position(&self) -> u64 {
        self.watch_positions
            .values()
            .copied()
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Drops history up to `upto`, keeping what open watches still need.
    fn compact_to(&mut self, upto: u64) {
        self.compacted_rv = self.compacted_rv.max(upto);
        let keep_from = self.min_watch_position();
        while let Some(front) = self.history.front() {
            if front.rv <= upto && front.rv <= keep_from {
                self.history.pop_front();
            } else {
                break;
            }
        }
    }

    /// The objects of `resource` as they were at revision `at` (must be >= compacted_rv).
    fn snapshot(&self, resource: &'static str, at: u64) -> BTreeMap<String, Arc<Value>> {
        let mut map = self.objects.get(resource).cloned().unwrap_or_default();
        for ev in self.history.iter().rev() {
            if ev.rv <= at {
                break;
            }
            if ev.resource != resource {
                continue;
            }
            let key = object_key(&ev.object);
            match ev.kind {
                EventType::Added => {
                    map.remove(&key);
                }
                EventType::Modified => {
                    if let Some(prev) = &ev.prev {
                        map.insert(key, prev.clone());
                    }
                }
                EventType::Deleted => {
                    let prev = ev.prev.clone().unwrap_or_else(|| ev.object.clone());
                    map.insert(key, prev);
                }
            }
        }
        map
    }
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn object_key(obj: &Value) -> String {
    let ns = meta_str(obj, "namespace");
    let name = meta_str(obj, "name");
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

fn key_of(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

struct Conn {
    stream: TcpStream,
    watching: bool,
}

struct Failures {
    remaining: usize,
    status: u16,
    retry_after: Option<u32>,
}

/// Every request answered with `status` (and `Retry-After`) while it lasts.
#[derive(Clone, Copy)]
struct Outage {
    status: u16,
    retry_after: Option<u32>,
}

struct Shared {
    opts: FakeOptions,
    addr: SocketAddr,
    state: Mutex<State>,
    changed: Condvar,
    token: Mutex<Option<String>>,
    failures: Mutex<Failures>,
    outage: Mutex<Option<Outage>>,
    /// Requests answered by the current (or last) outage.
    outage_requests: AtomicU64,
    requests: Mutex<Vec<String>>,
    malformed: Mutex<HashMap<String, usize>>,
    bulk: Mutex<HashMap<String, Bulk>>,
    conns: Mutex<HashMap<u64, Conn>>,
    next_id: AtomicU64,
    drop_gen: AtomicU64,
    shutdown: AtomicBool,
    rng: Mutex<u64>,
    auth: Mutex<super::fake_auth::FakeAuth>,
    sharded: AtomicBool,
    /// `shardSelector` as sent ("" without one) → objects served (list items and watch events).
    served_by_selector: Mutex<HashMap<String, usize>>,
    compression: AtomicBool,
    /// resource → gzip members still to be sent corrupt on its WatchList streams.
    corrupt_gzip: Mutex<HashMap<String, usize>>,
    /// Response body bytes written (after compression), for benchmarks.
    body_bytes: AtomicU64,
}

impl Shared {
    fn notify(&self) {
        // Take the lock so a watcher between "scan" and "wait" cannot miss the wakeup.
        let _g = self.state.lock();
        self.changed.notify_all();
    }
}

/// A running fake API server; stopped on drop.
pub struct FakeApiServer {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    pub fn start(opts: FakeOptions) -> FakeApiServer {
        let listener = TcpListener::bind(("127.0.0.1", opts.port))
            .unwrap_or_else(|e| panic!("fake apiserver: bind 127.0.0.1:{}: {e}", opts.port));
        let addr = listener.local_addr().expect("local_addr");
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ (addr.port() as u64) << 48;
        let sharded = opts.sharded_list_and_watch;
        let compression = opts.compression;
        let shared = Arc::new(Shared {
            token: Mutex::new(opts.token.clone()),
            opts,
            addr,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            failures: Mutex::new(Failures {
                remaining: 0,
                status: 0,
                retry_after: None,
            }),
            outage: Mutex::new(None),
            outage_requests: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            malformed: Mutex::new(HashMap::new()),
            bulk: Mutex::new(HashMap::new()),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            drop_gen: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            rng: Mutex::new(seed | 1),
            auth: Mutex::new(Default::default()),
            sharded: AtomicBool::new(sharded),
            served_by_selector: Mutex::new(HashMap::new()),
            compression: AtomicBool::new(compression),
            corrupt_gzip: Mutex::new(HashMap::new()),
            body_bytes: AtomicU64::new(0),
        });
        let sh = shared.clone();
        let accept = std::thread::Builder::new()
            .name("fake-apiserver/accept".into())
            .spawn(move || accept_loop(sh, listener))
            .expect("spawn accept thread");
        FakeApiServer {
            shared,
            accept: Some(accept),
        }
    }

    /// Makes `token` authenticate as `user` in TokenReviews.
    pub fn add_review_token(&self, token: &str, user: &str) {
        self.shared
            .auth
            .lock()
            .tokens
            .insert(token.to_string(), user.to_string());
    }

    /// Lets `user` `get` non-resource paths in SubjectAccessReviews.
    pub fn allow_nonresource_get(&self, user: &str) {
        self.shared.auth.lock().allowed.insert(user.to_string());
    }

    /// Reviews answer 500 while `down`.
    pub fn set_reviews_down(&self, down: bool) {
        self.shared.auth.lock().down = down;
    }

    /// Each review is answered after `delay` (default: at once).
    pub fn set_review_delay(&self, delay: std::time::Duration) {
        self.shared.auth.lock().delay = delay;
    }

    /// Token and access reviews answered so far.
    pub fn reviews(&self) -> usize {
        self.shared.auth.lock().reviews
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Stops accepting, closes every connection. Idempotent.
    pub fn stop(&mut self) {
        if self.shared.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.shared.addr, Duration::from_secs(1));
        for conn in self.shared.conns.lock().values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        self.shared.notify();
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }

    pub fn set_token(&self, token: Option<&str>) {
        *self.shared.token.lock() = token.map(str::to_string);
    }

    // ----- store control -----

    /// Creates an object (panics if it exists). Fills apiVersion, kind, uid,
    /// creationTimestamp, namespace ("default" if missing), generation, resourceVersion.
    pub fn create(&self, resource: &str, obj: Value) -> Value {
        let info = info_or_panic(resource);
        let mut obj = obj;
        self.prepare(info, &mut obj);
        let mut st = self.shared.state.lock();
        let key = object_key(&obj);
        if st
            .objects
            .get(info.plural)
            .is_some_and(|m| m.contains_key(&key))
        {
            panic!("fake apiserver: {resource} {key:?} already exists");
        }
        self.commit(&mut st, info, EventType::Added, obj, None)
    }

    /// Replaces an existing object (panics if missing): MODIFIED event. uid and
    /// creationTimestamp are kept; generation is bumped when `spec` changed.
    pub fn update(&self, resource: &str, obj: Value) -> Value {
        let info = info_or_panic(resource);
        let st = self.shared.state.lock();
        let key = self.key_for(info, &obj);
        let prev = st
            .objects
            .get(info.plural)
            .and_then(|m| m.get(&key))
            .cloned()
            .unwrap_or_else(|| panic!("fake apiserver: {resource} {key:?} not found"));
        drop(st);
        self.replace(info, obj, prev)
    }

    /// Create or update.
    pub fn apply(&self, resource: &str, obj: Value) -> Value {
        let info = info_or_panic(resource);
        let st = self.shared.state.lock();
        let key = self.key_for(info, &obj);
        let prev = st
            .objects
            .get(info.plural)
            .and_then(|m| m.get(&key))
            .cloned();
        drop(st);
        match prev {
            Some(prev) => self.replace(info, obj, prev),
            None => self.create(resource, obj),
        }
    }

    /// Deletes an object: DELETED event carrying the last state with a new resourceVersion.
    pub fn delete(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let info = info_or_panic(resource);
        let key = key_of(if info.namespaced { namespace } else { None }, name);
        let mut st = self.shared.state.lock();
        let prev = st.objects.get_mut(info.plural)?.remove(&key)?;
        st.rv += 1;
        let rv = st.rv;
        let mut obj = (*prev).clone();
        set_meta(&mut obj, "resourceVersion", Value::String(rv.to_string()));
        let obj = Arc::new(obj);
        st.history.push_back(Event {
            resource: info.plural,
            kind: EventType::Deleted,
            object: obj.clone(),
            prev: Some(prev),
            rv,
        });
        self.after_write(&mut st);
        Some((*obj).clone())
    }

    pub fn get(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let info = info_or_panic(resource);
        let key = key_of(if info.namespaced { namespace } else { None }, name);
        let st = self.shared.state.lock();
        st.objects
            .get(info.plural)
            .and_then(|m| m.get(&key))
            .map(|v| (**v).clone())
    }

    /// All current objects of a resource, sorted by namespace/name.
    pub fn list(&self, resource: &str) -> Vec<Value> {
        let info = info_or_panic(resource);
        let st = self.shared.state.lock();
        st.objects
            .get(info.plural)
            .map(|m| m.values().map(|v| (**v).clone()).collect())
            .unwrap_or_default()
    }

    pub fn current_rv(&self) -> u64 {
        self.shared.state.lock().rv
    }

    /// Drops history up to the current revision: new watches from older
    /// resourceVersions and older continue tokens get 410 Expired. Open watches
    /// keep streaming without loss (like the apiserver's watch cache).
    pub fn compact(&self) {
        let mut st = self.shared.state.lock();
        let rv = st.rv;
        st.compact_to(rv);
    }

    // ----- fault injection -----

    /// Cuts every open watch stream off mid-stream (no terminating chunk).
    pub fn drop_watches(&self) {
        self.shared.drop_gen.fetch_add(1, Ordering::SeqCst);
        for conn in self.shared.conns.lock().values_mut() {
            if conn.watching {
                let _ = conn.stream.shutdown(Shutdown::Both);
                conn.watching = false;
            }
        }
        self.shared.notify();
    }

    /// The next ADDED/MODIFIED/DELETED line written on a watch of `resource` is broken JSON.
    pub fn inject_malformed_watch_line(&self, resource: &str) {
        info_or_panic(resource);
        *self
            .shared
            .malformed
            .lock()
            .entry(resource.to_string())
            .or_default() += 1;
    }

    /// Turns gzip responses on or off (see [`FakeOptions::compression`]).
    pub fn set_compression(&self, on: bool) {
        self.shared.compression.store(on, Ordering::SeqCst);
    }

    /// The next gzip member written on a WatchList stream of `resource` is corrupt (a valid
    /// header, then a deflate block of the reserved type, which no decoder accepts).
    pub fn inject_corrupt_gzip_member(&self, resource: &str) {
        info_or_panic(resource);
        *self
            .shared
            .corrupt_gzip
            .lock()
            .entry(resource.to_string())
            .or_default() += 1;
    }

    /// Response body bytes written so far, after compression (headers and chunk framing
    /// not counted).
    pub fn body_bytes(&self) -> u64 {
        self.shared.body_bytes.load(Ordering::Relaxed)
    }

    /// LISTs of `resource` are streamed (chunked) with `items` generated objects after the
    /// stored ones, written as they are generated so a million of them never exist here at
    /// once. The first `cut_once` of those LISTs end abruptly after `cut_after` generated
    /// items (a truncated body); later ones are complete.
    pub fn serve_bulk_list(&self, resource: &str, items: usize, cut_after: usize, cut_once: usize) {
        info_or_panic(resource);
        self.shared.bulk.lock().insert(
            resource.to_string(),
            Bulk {
                items,
                cut_after,
                cuts_left: cut_once,
            },
        );
    }

    /// The uid of the `i`th generated object of [`FakeApiServer::serve_bulk_list`].
    pub fn bulk_uid(i: usize) -> String {
        format!("b0000000-0000-4000-8000-{i:012}")
    }

    /// The next `n` requests under /api and /apis get `status` with a Status body
    /// (and `Retry-After` when given).
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<u32>) {
        *self.shared.failures.lock() = Failures {
            remaining: n,
            status,
            retry_after,
        };
    }

    /// From now on every request, whatever its path, gets `status` (with `Retry-After` when
    /// given) and the open watch streams are cut: an API server going down behind a load
    /// balancer. Resets [`Self::outage_requests`].
    pub fn begin_outage(&self, status: u16, retry_after: Option<u32>) {
        self.shared.outage_requests.store(0, Ordering::SeqCst);
        *self.shared.outage.lock() = Some(Outage {
            status,
            retry_after,
        });
        self.drop_watches();
    }

    /// Serves normally again.
    pub fn end_outage(&self) {
        *self.shared.outage.lock() = None;
    }

    /// Requests the current (or last) outage answered.
    pub fn outage_requests(&self) -> u64 {
        self.shared.outage_requests.load(Ordering::SeqCst)
    }

    /// Turns `shardSelector` support (the `ShardedListAndWatch` gate) on or off for requests
    /// from now on.
    pub fn set_sharded_list_and_watch(&self, on: bool) {
        self.shared.sharded.store(on, Ordering::SeqCst);
    }

    /// Objects served (LIST items plus watch object events) to requests carrying `selector`
    /// as their `shardSelector` ("" for requests without one).
    pub fn objects_served(&self, selector: &str) -> usize {
        self.shared
            .served_by_selector
            .lock()
            .get(selector)
            .copied()
            .unwrap_or(0)
    }

    /// Every request seen, as `"GET /path?query"` (query exactly as sent).
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().clone()
    }

    pub fn clear_requests(&self) {
        self.shared.requests.lock().clear();
    }

    pub fn open_watches(&self) -> usize {
        self.shared
            .conns
            .lock()
            .values()
            .filter(|c| c.watching)
            .count()
    }

    /// Polls until `open_watches() >= n`; false on timeout.
    pub fn wait_for_watches(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.open_watches() >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Writes `<dir>/kubeconfig` pointing at this server (token user if configured).
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        self.write_kubeconfig_to(&path);
        path
    }

    pub fn write_kubeconfig_to(&self, path: &Path) {
        let user = match &*self.shared.token.lock() {
            Some(t) => format!("    token: {}\n", yaml_quote(t)),
            None => String::new(),
        };
        let user_block = if user.is_empty() {
            "  user: {}\n".to_string()
        } else {
            format!("  user:\n{user}")
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: fake\nusers:\n- name: fake\n{user_block}preferences: {{}}\n",
            self.url()
        );
        std::fs::write(path, text).expect("write kubeconfig");
    }

    // ----- internals -----

    fn key_for(&self, info: &ResourceInfo, obj: &Value) -> String {
        let name = meta_str(obj, "name");
        let ns = meta_str(obj, "namespace");
        if info.namespaced {
            key_of(Some(if ns.is_empty() { "default" } else { ns }), name)
        } else {
            name.to_string()
        }
    }

    fn prepare(&self, info: &ResourceInfo, obj: &mut Value) {
        let uid = {
            let mut rng = self.shared.rng.lock();
            uuid_v4(&mut rng)
        };
        let Some(map) = obj.as_object_mut() else {
            panic!("fake apiserver: object must be a JSON object");
        };
        map.insert("apiVersion".into(), Value::String(info.api_version()));
        map.insert("kind".into(), Value::String(info.kind.into()));
        let has_spec = map.contains_key("spec");
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("metadata must be an object");
        assert!(
            meta.get("name").and_then(Value::as_str).is_some(),
            "fake apiserver: metadata.name required"
        );
        if info.namespaced {
            if meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                meta.insert("namespace".into(), Value::String("default".into()));
            }
        } else {
            meta.remove("namespace");
        }
        meta.entry("uid").or_insert(Value::String(uid));
        meta.entry("creationTimestamp")
            .or_insert_with(|| Value::String(rfc3339(SystemTime::now())));
        if has_spec {
            meta.entry("generation").or_insert(json!(1));
        }
    }

    fn replace(&self, info: &'static ResourceInfo, obj: Value, prev: Arc<Value>) -> Value {
        let mut obj = obj;
        for field in ["uid", "creationTimestamp", "generation"] {
            if let Some(v) = prev.get("metadata").and_then(|m| m.get(field)) {
                if obj.get("metadata").and_then(|m| m.get(field)).is_none() {
                    set_meta(&mut obj, field, v.clone());
                }
            }
        }
        if obj.get("spec").is_some() && obj.get("spec") != prev.get("spec") {
            let g = prev
                .get("metadata")
                .and_then(|m| m.get("generation"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            set_meta(&mut obj, "generation", json!(g + 1));
        }
        self.prepare(info, &mut obj);
        let mut st = self.shared.state.lock();
        self.commit(&mut st, info, EventType::Modified, obj, Some(prev))
    }

    fn commit(
        &self,
        st: &mut State,
        info: &'static ResourceInfo,
        kind: EventType,
        mut obj: Value,
        prev: Option<Arc<Value>>,
    ) -> Value {
        st.rv += 1;
        let rv = st.rv;
        set_meta(&mut obj, "resourceVersion", Value::String(rv.to_string()));
        let key = object_key(&obj);
        let arc = Arc::new(obj);
        st.objects
            .entry(info.plural)
            .or_default()
            .insert(key, arc.clone());
        st.history.push_back(Event {
            resource: info.plural,
            kind,
            object: arc.clone(),
            prev,
            rv,
        });
        self.after_write(st);
        (*arc).clone()
    }

    fn after_write(&self, st: &mut State) {
        if st.history.len() > self.shared.opts.history_limit {
            let half = st.history.len() / 2;
            let upto = st.history[half].rv;
            st.compact_to(upto);
        }
        self.shared.changed.notify_all();
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_meta(obj: &mut Value, field: &str, v: Value) {
    if let Some(map) = obj.as_object_mut() {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(field.to_string(), v);
        }
    }
}

fn yaml_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        shared.conns.lock().insert(
            id,
            Conn {
                stream: clone,
                watching: false,
            },
        );
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("fake-apiserver/conn".into())
            .spawn(move || {
                serve_conn(&sh, stream, id);
                sh.conns.lock().remove(&id);
            });
        if spawned.is_err() {
            shared.conns.lock().remove(&id);
        }
    }
}

struct Request {
    method: String,
    path: String,
    raw_query: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true") | Some("1"))
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: u64 = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = Vec::new();
    if len > 0 {
        r.by_ref().take(len.min(1 << 20)).read_to_end(&mut body)?;
    }
    let (path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let query = raw_query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(kv), String::new()),
        })
        .collect();
    Ok(Some(Request {
        method,
        path,
        raw_query,
        query,
        headers,
        body,
    }))
}

pub fn percent_decode(s: &str) -> String {
    // Query strings: `+` is a space, `%XX` a byte (an invalid escape stays as written).
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

fn status_reason(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// An injected failure, as kube-apiserver words it.
fn failure_resp(code: u16, retry_after: Option<u32>) -> Resp {
    let message = match code {
        429 => "Too many requests, please try again later.".to_string(),
        500 => "Internal error occurred: injected failure".to_string(),
        503 => "the server is currently unable to handle the request".to_string(),
        _ => format!("injected failure {code}"),
    };
    let mut body = status_body(code, status_reason(code), &message);
    let mut resp_headers = Vec::new();
    if let Some(ra) = retry_after {
        body["details"] = json!({ "retryAfterSeconds": ra });
        resp_headers.push(("Retry-After".to_string(), ra.to_string()));
    }
    let mut r = Resp::json(code, &body);
    r.headers = resp_headers;
    r
}

/// A `metav1.Status` failure body.
pub fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

struct Resp {
    code: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(code: u16, v: &Value) -> Resp {
        Resp {
            code,
            content_type: "application/json",
            headers: Vec::new(),
            body: serde_json::to_vec(v).expect("serialize"),
        }
    }

    fn status(code: u16, message: &str) -> Resp {
        Resp::json(code, &status_body(code, status_reason(code), message))
    }

    fn text(code: u16, s: &str) -> Resp {
        Resp {
            code,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: s.as_bytes().to_vec(),
        }
    }
}

/// kube-apiserver's `defaultGzipThresholdBytes`: smaller responses are sent as they are.
const GZIP_THRESHOLD: usize = 128 * 1024;

/// The level kube-apiserver's gzip writers use is Go's 1; zlib's 2 comes closest to its
/// output size (Go's level 1 is a different, stronger algorithm than zlib's).
fn gzip_level() -> flate2::Compression {
    flate2::Compression::new(2)
}

/// One complete gzip member of `data`.
fn gzip_member(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), gzip_level());
    e.write_all(data).expect("gzip to memory");
    e.finish().expect("gzip to memory")
}

/// One gzip member of a WatchList stream, framed as kube-apiserver's per-flush gzip writer
/// frames it (`perFlushGzipWriter`: `gzip.Writer.Flush`, then `Close`): the data ends in a
/// sync flush and the member in an empty final block. A reader thus has every event before
/// the member's end; Go's gzip reader, which returns the last bytes of a member only after
/// it has read the next member's header, would otherwise hold the end-of-initial-events
/// bookmark until the next flush.
fn flushed_gzip_member(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), gzip_level());
    e.write_all(data).expect("gzip to memory");
    e.flush().expect("gzip to memory");
    e.finish().expect("gzip to memory")
}

/// A gzip member no decoder accepts: a valid header, then a deflate block of the reserved
/// type 3.
fn corrupt_gzip_member() -> Vec<u8> {
    let mut m = gzip_member(b"")[..10].to_vec();
    m.extend_from_slice(&[0xff; 16]);
    m
}

/// Whether the request asks for gzip and the server is to give it.
fn wants_gzip(shared: &Shared, req: &Request) -> bool {
    shared.compression.load(Ordering::SeqCst)
        && req.header("accept-encoding").is_some_and(|v| {
            v.split(',')
                .any(|t| t.split(';').next().unwrap_or("").trim() == "gzip")
        })
}

fn write_resp(w: &mut TcpStream, r: &Resp, shared: &Shared, gzip: bool) -> io::Result<()> {
    let gzipped;
    let (body, encoding) = if gzip && r.body.len() > GZIP_THRESHOLD {
        gzipped = gzip_member(&r.body);
        (
            &gzipped[..],
            "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n",
        )
    } else {
        (&r.body[..], "")
    };
    shared
        .body_bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{encoding}Cache-Control: no-cache, private\r\n",
        r.code,
        reason_phrase(r.code),
        r.content_type,
        body.len()
    )
    .into_bytes();
    for (k, v) in &r.headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}

fn serve_conn(shared: &Arc<Shared>, stream: TcpStream, id: u64) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !shared.shutdown.load(Ordering::SeqCst) {
        let req = match read_request(&mut reader) {
            Ok(Some(r)) => r,
            _ => break,
        };
        shared.requests.lock().push(if req.raw_query.is_empty() {
            format!("{} {}", req.method, req.path)
        } else {
            format!("{} {}?{}", req.method, req.path, req.raw_query)
        });
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let gzip = wants_gzip(shared, &req);
        match route(shared, &req, id) {
            Routed::Resp(r) => {
                if write_resp(&mut writer, &r, shared, gzip).is_err() {
                    break;
                }
            }
            Routed::Watch(w) => {
                run_watch(shared, &mut writer, id, w, gzip);
                break;
            }
            Routed::Bulk(r, n, cut) => {
                if r.code == 200 {
                    let _ = write_bulk(&mut writer, &r, n, cut, gzip);
                } else {
                    let _ = write_resp(&mut writer, &r, shared, gzip);
                }
                break;
            }
        }
        if close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

enum Routed {
    Resp(Resp),
    Watch(WatchReq),
    /// A streamed LIST: stored items, then `n` generated ones, cut after `cut` of those.
    Bulk(Resp, usize, Option<usize>),
}

/// See [`FakeApiServer::serve_bulk_list`].
#[derive(Clone, Copy, Debug)]
struct Bulk {
    items: usize,
    cut_after: usize,
    cuts_left: usize,
}

/// Writes `list` (a complete LIST response) as a chunked body with `n` generated items
/// appended to its `items`, stopping without the final chunk after `cut` of them.
/// With `gzip`, the body is one gzip stream, cut off mid-member when it is cut.
fn write_bulk(
    w: &mut TcpStream,
    list: &Resp,
    n: usize,
    cut: Option<usize>,
    gzip: bool,
) -> io::Result<()> {
    let body = std::str::from_utf8(&list.body).expect("list JSON");
    // the stored items end the array: `...,"items":[..]}` (serde_json writes keys sorted)
    let v: Value = serde_json::from_str(body).expect("list JSON");
    let stored = v["items"].as_array().map(Vec::len).unwrap_or(0);
    let rv = v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("1")
        .to_string();
    let head = format!(
        "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{{\"resourceVersion\":\"{rv}\"}},\"items\":[",
        v["kind"], v["apiVersion"]
    );
    w.write_all(if gzip {
        &b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"[..]
    } else {
        &b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"[..]
    })?;
    let chunked = io::BufWriter::with_capacity(256 * 1024, ChunkedWriter(w));
    let mut out: Box<dyn Write + '_> = if gzip {
        Box::new(flate2::write::GzEncoder::new(chunked, gzip_level()))
    } else {
        Box::new(chunked)
    };
    out.write_all(head.as_bytes())?;
    for (i, item) in v["items"].as_array().into_iter().flatten().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, item)?;
    }
    for i in 0..n {
        if cut == Some(i) {
            out.flush()?;
            return Ok(()); // no closing chunk: the caller closes the connection
        }
        if i > 0 || stored > 0 {
            out.write_all(b",")?;
        }
        write!(
            out,
            r#"{{"metadata":{{"name":"bulk-{i}","namespace":"bulk","uid":"{}","resourceVersion":"{rv}"}}}}"#,
            FakeApiServer::bulk_uid(i)
        )?;
    }
    out.write_all(b"]}")?;
    drop(out); // finishes the gzip stream and flushes the buffered chunks
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

/// Frames every write as one HTTP chunk.
struct ChunkedWriter<'a>(&'a mut TcpStream);

impl Write for ChunkedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            write!(self.0, "{:x}\r\n", buf.len())?;
            self.0.write_all(buf)?;
            self.0.write_all(b"\r\n")?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn route(shared: &Shared, req: &Request, id: u64) -> Routed {
    if let Some(o) = *shared.outage.lock() {
        shared.outage_requests.fetch_add(1, Ordering::SeqCst);
        return Routed::Resp(failure_resp(o.status, o.retry_after));
    }
    let path = req.path.trim_end_matches('/');
    let public = matches!(path, "/livez" | "/readyz" | "/healthz" | "/version");
    // Auth: a missing header is "anonymous" (allowed on the public paths), a wrong token is 401.
    if let Some(tok) = &*shared.token.lock() {
        let auth = req.header("authorization");
        let ok = auth
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|t| t.trim() == tok);
        let anonymous_public = public && auth.is_none();
        if !ok && !anonymous_public {
            return Routed::Resp(Resp::json(
                401,
                &status_body(401, "Unauthorized", "Unauthorized"),
            ));
        }
    }
    if path == "/api" || path.starts_with("/api/") || path == "/apis" || path.starts_with("/apis/")
    {
        let mut f = shared.failures.lock();
        if f.remaining > 0 {
            f.remaining -= 1;
            return Routed::Resp(failure_resp(f.status, f.retry_after));
        }
    }
    match path {
        "/livez" | "/readyz" | "/healthz" => return Routed::Resp(Resp::text(200, "ok")),
        _ => {}
    }
    if req.method == "POST" {
        let answered = shared.auth.lock().handle(path, &req.body);
        if let Some((code, v)) = answered {
            // a real API server takes its time; not under the lock, so reviews overlap
            let delay = shared.auth.lock().delay;
            std::thread::sleep(delay);
            return Routed::Resp(Resp::json(code, &v));
        }
    }
    if req.method != "GET" {
        return Routed::Resp(Resp::status(
            405,
            &format!("method {} not supported by the fake apiserver", req.method),
        ));
    }
    match path {
        "/version" => {
            return Routed::Resp(Resp::json(
                200,
                &json!({
                    "major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37",
                    "minCompatibilityMajor": "1", "minCompatibilityMinor": "36",
                    "gitVersion": "v1.37.2", "gitCommit": "0000000000000000000000000000000000000000",
                    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                    "goVersion": "go1.25.5", "compiler": "gc", "platform": "linux/amd64"
                }),
            ))
        }
        "/api" => {
            return Routed::Resp(Resp::json(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}]}),
            ))
        }
        "/apis" => {
            let mut groups: Vec<Value> = Vec::new();
            for r in served().into_iter().filter(|r| !r.group.is_empty()) {
                if groups.iter().any(|g| g["name"] == r.group) {
                    continue;
                }
                let gv = json!({"groupVersion": r.api_version(), "version": r.version});
                groups.push(
                    json!({"name": r.group, "versions": [gv.clone()], "preferredVersion": gv}),
                );
            }
            return Routed::Resp(Resp::json(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            ));
        }
        _ => {}
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Routed::Resp(not_found()),
    };
    let in_gv = |p: &str| {
        served()
            .into_iter()
            .find(|r| r.plural == p && r.group == group && r.version == version)
    };
    if rest.is_empty() {
        let resources: Vec<Value> = served()
            .into_iter()
            .filter(|r| r.group == group && r.version == version)
            .map(|r| json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "list", "watch"]}))
            .collect();
        if resources.is_empty() {
            return Routed::Resp(not_found());
        }
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        return Routed::Resp(Resp::json(
            200,
            &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
        ));
    }
    let (info, ns, name) = match rest {
        [p] => (in_gv(p), None, None),
        ["namespaces", ns, p] => match in_gv(p) {
            Some(i) if i.namespaced => (Some(i), Some(*ns), None),
            _ => (None, None, None),
        },
        ["namespaces", ns, p, name] => match in_gv(p) {
            Some(i) if i.namespaced => (Some(i), Some(*ns), Some(*name)),
            _ => (None, None, None),
        },
        [p, name] => match in_gv(p) {
            Some(i) if !i.namespaced => (Some(i), None, Some(*name)),
            _ => (None, None, None),
        },
        _ => (None, None, None),
    };
    let Some(info) = info else {
        return Routed::Resp(not_found());
    };
    if let Some(name) = name {
        let st = shared.state.lock();
        let key = key_of(ns, name);
        return Routed::Resp(
            match st.objects.get(info.plural).and_then(|m| m.get(&key)) {
                Some(obj) => Resp::json(200, obj),
                None => {
                    let mut body = status_body(
                        404,
                        "NotFound",
                        &format!("{} \"{}\" not found", qualified(info), name),
                    );
                    body["details"] =
                        json!({"name": name, "group": info.group, "kind": info.plural});
                    Resp::json(404, &body)
                }
            },
        );
    }
    let selectors = match Selectors::parse(info, req) {
        Ok(s) => s,
        Err(msg) => return Routed::Resp(Resp::status(400, &msg)),
    };
    let shard = match req.param("shardSelector").filter(|s| !s.is_empty()) {
        Some(sel) if shared.sharded.load(Ordering::SeqCst) => match ShardSelector::parse(sel) {
            Ok(s) => Some(s),
            Err(msg) => return Routed::Resp(invalid(info, "shardSelector", &msg)),
        },
        _ => None,
    };
    let scope = Scope {
        info,
        namespace: ns.map(str::to_string),
        selectors,
        shard,
        selector_sent: req.param("shardSelector").unwrap_or("").to_string(),
    };
    if req.flag("watch") {
        return match WatchReq::new(shared, req, scope, id) {
            Ok(w) => Routed::Watch(w),
            Err(r) => Routed::Resp(r),
        };
    }
    let bulk = shared.bulk.lock().get_mut(info.plural).map(|b| {
        let cut = (b.cuts_left > 0).then_some(b.cut_after);
        b.cuts_left = b.cuts_left.saturating_sub(1);
        (b.items, cut)
    });
    match bulk {
        Some((n, cut)) => Routed::Bulk(list(shared, req, &scope), n, cut),
        None => Routed::Resp(list(shared, req, &scope)),
    }
}

fn qualified(info: &ResourceInfo) -> String {
    if info.group.is_empty() {
        info.plural.to_string()
    } else {
        format!("{}.{}", info.plural, info.group)
    }
}

fn not_found() -> Resp {
    Resp::status(404, "the server could not find the requested resource")
}

// ---------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------

enum LabelReq {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

struct Selectors {
    fields: Vec<(String, bool, String)>,
    labels: Vec<LabelReq>,
}

fn field_supported(info: &ResourceInfo, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match info.plural {
        "pods" => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        "nodes" => field == "spec.unschedulable",
        "namespaces" => field == "status.phase",
        "secrets" => field == "type",
        "replicasets" => field == "status.replicas",
        "jobs" => field == "status.successful",
        _ => false,
    }
}

fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_set(s: &str) -> Option<Vec<String>> {
    let s = s.trim();
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl Selectors {
    fn parse(info: &ResourceInfo, req: &Request) -> Result<Selectors, String> {
        let mut fields = Vec::new();
        for term in split_top_level(req.param("fieldSelector").unwrap_or("")) {
            let (k, eq, v) = if let Some((k, v)) = term.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = term.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = term.split_once('=') {
                (k, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{term}'; can't understand '{term}'"
                ));
            };
            let k = k.trim();
            if !field_supported(info, k) {
                return Err(format!("field label not supported: {k}",));
            }
            fields.push((k.to_string(), eq, v.trim().to_string()));
        }
        let mut labels = Vec::new();
        for term in split_top_level(req.param("labelSelector").unwrap_or("")) {
            let r = if let Some(k) = term.strip_prefix('!') {
                LabelReq::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = term.split_once(" notin ") {
                LabelReq::NotIn(
                    k.trim().to_string(),
                    parse_set(v).ok_or(format!("unable to parse requirement: {term}"))?,
                )
            } else if let Some((k, v)) = term.split_once(" in ") {
                LabelReq::In(
                    k.trim().to_string(),
                    parse_set(v).ok_or(format!("unable to parse requirement: {term}"))?,
                )
            } else if let Some((k, v)) = term.split_once("!=") {
                LabelReq::Ne(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = term.split_once("==") {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = term.split_once('=') {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else {
                LabelReq::Exists(term.trim().to_string())
            };
            labels.push(r);
        }
        Ok(Selectors { fields, labels })
    }

    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.labels.is_empty()
    }

    fn matches(&self, obj: &Value) -> bool {
        for (path, eq, want) in &self.fields {
            let mut cur = Some(obj);
            for part in path.split('.') {
                cur = cur.and_then(|c| c.get(part));
            }
            let got = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            };
            if (got == *want) != *eq {
                return false;
            }
        }
        let labels = obj.get("metadata").and_then(|m| m.get("labels"));
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.labels.iter().all(|r| match r {
            LabelReq::Eq(k, v) => label(k) == Some(v.as_str()),
            LabelReq::Ne(k, v) => label(k) != Some(v.as_str()),
            LabelReq::Exists(k) => label(k).is_some(),
            LabelReq::NotExists(k) => label(k).is_none(),
            LabelReq::In(k, set) => label(k).is_some_and(|v| set.iter().any(|s| s == v)),
            LabelReq::NotIn(k, set) => !label(k).is_some_and(|v| set.iter().any(|s| s == v)),
        })
    }
}

struct Scope {
    info: &'static ResourceInfo,
    namespace: Option<String>,
    selectors: Selectors,
    /// The applied `shardSelector` (`None` when absent or the gate is off).
    shard: Option<ShardSelector>,
    /// `shardSelector` as the client sent it, applied or not, for `objects_served`.
    selector_sent: String,
}

impl Scope {
    fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.namespace {
            if meta_str(obj, "namespace") != ns {
                return false;
            }
        }
        if let Some(shard) = &self.shard {
            if !shard.matches(obj) {
                return false;
            }
        }
        self.selectors.matches(obj)
    }

    fn count_served(&self, shared: &Shared, n: usize) {
        *shared
            .served_by_selector
            .lock()
            .entry(self.selector_sent.clone())
            .or_insert(0) += n;
    }
}

/// FNV-1a 64, written out here rather than taken from the crate under test.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// A parsed KEP-5866 selector: `shardRange(<field>, '0xLO', '0xHI')` terms joined by `||`;
/// an object matches when the FNV-1a 64 hash of the field lies in any `[LO, HI)`.
#[derive(Clone, Debug)]
struct ShardSelector {
    /// The selector as the server echoes it in `shardInfo`.
    text: String,
    /// (field: uid or namespace, lo, hi)
    ranges: Vec<(&'static str, u128, u128)>,
}

impl ShardSelector {
    fn parse(text: &str) -> Result<ShardSelector, String> {
        let mut ranges = Vec::new();
        for term in text.split("||") {
            let term = term.trim();
            let args = term
                .strip_prefix("shardRange(")
                .and_then(|t| t.strip_suffix(')'))
                .ok_or_else(|| format!("invalid shard selector term {term:?}: expected shardRange(field, '0xSTART', '0xEND')"))?;
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            let [field, lo, hi] = parts[..] else {
                return Err(format!("shardRange takes 3 arguments, got {}", parts.len()));
            };
            let field = match field {
                "object.metadata.uid" => "uid",
                "object.metadata.namespace" => "namespace",
                other => return Err(format!("unsupported shardRange field {other:?}")),
            };
            let bound = |b: &str| -> Result<u128, String> {
                let b = b
                    .strip_prefix('\'')
                    .and_then(|b| b.strip_suffix('\''))
                    .unwrap_or(b);
                let hex = b
                    .strip_prefix("0x")
                    .ok_or_else(|| format!("shardRange bound {b:?} lacks the 0x prefix"))?;
                if hex.is_empty() || hex.len() > 17 {
                    return Err(format!("shardRange bound {b:?}: 1 to 17 hex digits"));
                }
                let v = u128::from_str_radix(hex, 16)
                    .map_err(|e| format!("shardRange bound {b:?}: {e}"))?;
                if v > 1u128 << 64 {
                    return Err(format!("shardRange bound {b:?} exceeds 2^64"));
                }
                Ok(v)
            };
            let (lo, hi) = (bound(lo)?, bound(hi)?);
            if lo >= hi {
                return Err(format!("shardRange start {lo:#x} not below end {hi:#x}"));
            }
            ranges.push((field, lo, hi));
        }
        Ok(ShardSelector {
            text: text.to_string(),
            ranges,
        })
    }

    fn matches(&self, obj: &Value) -> bool {
        self.ranges.iter().any(|&(field, lo, hi)| {
            let h = fnv1a64(meta_str(obj, field).as_bytes()) as u128;
            lo <= h && h < hi
        })
    }
}

// ---------------------------------------------------------------------------
// LIST
// ---------------------------------------------------------------------------

fn encode_continue(rv: u64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64_encode_url(token.to_string().as_bytes())
}

fn decode_continue(token: &str) -> Option<(u64, String)> {
    let bytes = base64_decode(token)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    if v.get("v")?.as_str()? != "meta.k8s.io/v1" {
        return None;
    }
    let rv = v.get("rv")?.as_u64()?;
    let start = v.get("start")?.as_str()?.to_string();
    Some((rv, start))
}

fn strip_type_meta(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    o
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn list(shared: &Shared, req: &Request, scope: &Scope) -> Resp {
    let info = scope.info;
    let rv_param = req.param("resourceVersion").filter(|s| !s.is_empty());
    let rv_match = req.param("resourceVersionMatch").unwrap_or("");
    let mut limit: Option<usize> = req
        .param("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let st = shared.state.lock();
    let (snap_rv, start) = if let Some(token) = req.param("continue").filter(|s| !s.is_empty()) {
        if rv_param.is_some() {
            return Resp::status(
                400,
                "specifying resource version is not allowed when using continue",
            );
        }
        let Some((rv, start)) = decode_continue(token) else {
            return Resp::status(400, "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
        };
        if rv < st.compacted_rv {
            return Resp::status(410, CONTINUE_EXPIRED);
        }
        (rv, Some(start))
    } else {
        match rv_param {
            None => (st.rv, None),
            Some("0") => {
                // Served from the watch cache: limit is ignored.
                limit = None;
                (st.rv, None)
            }
            Some(n) => {
                let Ok(n) = n.parse::<u64>() else {
                    return Resp::status(400, &format!("invalid resource version: {n}"));
                };
                if rv_match == "Exact" {
                    if n < st.compacted_rv {
                        return Resp::status(
                            410,
                            &format!(
                                "The resourceVersion for the provided list is too old. ({n} < {})",
                                st.compacted_rv
                            ),
                        );
                    }
                    if n > st.rv {
                        return Resp::status(
                            504,
                            &format!("Too large resource version: {n}, current: {}", st.rv),
                        );
                    }
                    (n, None)
                } else {
                    (st.rv, None)
                }
            }
        }
    };
    if let (Some(l), Some(cap)) = (limit, shared.opts.max_page) {
        limit = Some(l.min(cap));
    }
    let snapshot = st.snapshot(info.plural, snap_rv);
    drop(st);
    let mut items = Vec::new();
    let mut last_key: Option<&String> = None;
    let mut remaining = 0i64;
    let iter = snapshot
        .iter()
        .filter(|(k, _)| start.as_deref().is_none_or(|s| k.as_str() >= s))
        .filter(|(_, v)| scope.matches(v));
    for (k, v) in iter {
        if limit.is_some_and(|l| items.len() >= l) {
            remaining += 1;
            continue;
        }
        items.push(strip_type_meta(v));
        last_key = Some(k);
    }
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::String(snap_rv.to_string()));
    if remaining > 0 {
        let last = last_key.map(String::as_str).unwrap_or("");
        meta.insert(
            "continue".into(),
            Value::String(encode_continue(snap_rv, last)),
        );
        if scope.selectors.is_empty() && scope.shard.is_none() {
            meta.insert("remainingItemCount".into(), json!(remaining));
        }
    }
    if let Some(shard) = &scope.shard {
        meta.insert("shardInfo".into(), json!({"selector": shard.text}));
    }
    scope.count_served(shared, items.len());
    Resp::json(
        200,
        &json!({
            "kind": format!("{}List", info.kind),
            "apiVersion": info.api_version(),
            "metadata": meta,
            "items": items,
        }),
    )
}

// ---------------------------------------------------------------------------
// WATCH
// ---------------------------------------------------------------------------

struct WatchReq {
    scope: Scope,
    start_rv: u64,
    initial: Vec<Arc<Value>>,
    end_bookmark: bool,
    bookmarks: bool,
    timeout: Option<Duration>,
    expired: Option<String>,
}

impl WatchReq {
    fn new(shared: &Shared, req: &Request, scope: Scope, id: u64) -> Result<WatchReq, Resp> {
        let bookmarks = req.flag("allowWatchBookmarks");
        let mut send_initial = req.param("sendInitialEvents").map(|v| v == "true");
        match shared.opts.watch_list {
            WatchListMode::Rejected if send_initial.is_some() => {
                return Err(invalid(
                    scope.info,
                    "sendInitialEvents",
                    "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
                ));
            }
            WatchListMode::Ignored => send_initial = None,
            WatchListMode::Supported if send_initial.is_some() => {
                if req.param("resourceVersionMatch") != Some("NotOlderThan") {
                    return Err(invalid(
                        scope.info,
                        "resourceVersionMatch",
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    ));
                }
                if send_initial == Some(true) && !bookmarks {
                    return Err(invalid(
                        scope.info,
                        "allowWatchBookmarks",
                        "sendInitialEvents requires setting allowWatchBookmarks to true",
                    ));
                }
            }
            _ => {}
        }
        let timeout = req
            .param("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_secs);
        let rv_param = req.param("resourceVersion").filter(|s| !s.is_empty());
        let mut st = shared.state.lock();
        let mut w = WatchReq {
            start_rv: st.rv,
            initial: Vec::new(),
            end_bookmark: false,
            bookmarks,
            timeout,
            expired: None,
            scope,
        };
        let initial = send_initial == Some(true) || matches!(rv_param, None | Some("0"));
        if initial {
            w.initial = st
                .objects
                .get(w.scope.info.plural)
                .map(|m| m.values().filter(|v| w.scope.matches(v)).cloned().collect())
                .unwrap_or_default();
            w.end_bookmark = send_initial == Some(true);
        } else {
            let n = rv_param.unwrap_or("0");
            let Ok(n) = n.parse::<u64>() else {
                return Err(Resp::status(400, &format!("invalid resource version: {n}")));
            };
            if n < st.compacted_rv {
                w.expired = Some(format!(
                    "too old resource version: {n} ({})",
                    st.compacted_rv
                ));
            }
            w.start_rv = n;
        }
        if w.expired.is_none() {
            // Registered under the same lock so no history it needs can be compacted away.
            st.watch_positions.insert(id, w.start_rv);
        }
        Ok(w)
    }
}

fn invalid(info: &ResourceInfo, field: &str, message: &str) -> Resp {
    let mut body = status_body(
        422,
        "Invalid",
        &format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: Forbidden: {message}"),
    );
    body["details"] = json!({"group": "meta.k8s.io", "kind": "ListOptions",
        "causes": [{"reason": "FieldValueForbidden", "message": format!("Forbidden: {message}"), "field": field}]});
    let _ = info;
    Resp::json(422, &body)
}

fn event_line(kind: &str, obj: &Value) -> String {
    format!(
        "{{\"type\":\"{kind}\",\"object\":{}}}\n",
        serde_json::to_string(obj).expect("serialize")
    )
}

/// `shard`: the applied selector, echoed on the initial-events-end bookmark as on a list.
fn bookmark_line(
    info: &ResourceInfo,
    rv: u64,
    initial_end: bool,
    shard: Option<&ShardSelector>,
) -> String {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        if let Some(shard) = shard {
            meta["shardInfo"] = json!({"selector": shard.text});
        }
    }
    event_line(
        "BOOKMARK",
        &json!({"kind": info.kind, "apiVersion": info.api_version(), "metadata": meta}),
    )
}

fn write_chunk(w: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    let mut buf = format!("{:x}\r\n", data.len()).into_bytes();
    buf.extend_from_slice(data);
    buf.extend_from_slice(b"\r\n");
    w.write_all(&buf)?;
    w.flush()
}

/// Whether the next line for `resource` is to be broken JSON (takes one injected malformation).
fn take_malformed(shared: &Shared, resource: &str) -> bool {
    let mut m = shared.malformed.lock();
    match m.get_mut(resource) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}

/// The first half of `line`, newline-terminated: broken JSON.
fn malform(line: String) -> String {
    let mut cut_at = line.len() / 2;
    while !line.is_char_boundary(cut_at) {
        cut_at -= 1;
    }
    format!("{}\n", &line[..cut_at])
}

/// Replaces a line by broken JSON when a malformed line was injected for the resource.
fn maybe_malform(shared: &Shared, resource: &str, line: String) -> String {
    if take_malformed(shared, resource) {
        malform(line)
    } else {
        line
    }
}

/// Writes the lines due on a watch stream: a chunk per line, or with `gzip` a gzip member
/// per batch (kube-apiserver closes its gzip writer on every flush, so each member is
/// complete), batches of at most 1 MiB so that a large initial state is not held whole.
fn write_lines(
    shared: &Shared,
    w: &mut TcpStream,
    resource: &str,
    lines: &mut Vec<String>,
    gzip: bool,
) -> io::Result<()> {
    if !gzip {
        for line in lines.drain(..) {
            shared
                .body_bytes
                .fetch_add(line.len() as u64, Ordering::Relaxed);
            write_chunk(w, line.as_bytes())?;
        }
        return Ok(());
    }
    let mut batch = Vec::new();
    let mut lines = lines.drain(..).peekable();
    while lines.peek().is_some() {
        batch.clear();
        while let Some(line) =
            lines.next_if(|l| batch.is_empty() || batch.len() + l.len() <= 1 << 20)
        {
            batch.extend_from_slice(line.as_bytes());
        }
        let member = if take_corrupt(shared, resource) {
            corrupt_gzip_member()
        } else {
            flushed_gzip_member(&batch)
        };
        shared
            .body_bytes
            .fetch_add(member.len() as u64, Ordering::Relaxed);
        write_chunk(w, &member)?;
    }
    Ok(())
}

/// Whether the next gzip member for `resource` is to be corrupt (takes one injection).
fn take_corrupt(shared: &Shared, resource: &str) -> bool {
    let mut m = shared.corrupt_gzip.lock();
    match m.get_mut(resource) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}

/// `gzip`: the client asked for it; only a WatchList stream (`sendInitialEvents` honoured)
/// is compressed, as by kube-apiserver.
fn run_watch(shared: &Arc<Shared>, w: &mut TcpStream, id: u64, req: WatchReq, gzip: bool) {
    let gzip = gzip && req.end_bookmark;
    let head = if gzip {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n"
    } else {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n"
    };
    if w.write_all(head.as_bytes())
        .and_then(|_| w.flush())
        .is_err()
    {
        shared.state.lock().watch_positions.remove(&id);
        return;
    }
    let info = req.scope.info;
    if let Some(msg) = &req.expired {
        let line = event_line("ERROR", &status_body(410, "Expired", msg));
        let _ = write_lines(shared, w, info.plural, &mut vec![line], gzip);
        let _ = w.write_all(b"0\r\n\r\n").and_then(|_| w.flush());
        return;
    }
    let drop_gen = shared.drop_gen.load(Ordering::SeqCst);
    if let Some(c) = shared.conns.lock().get_mut(&id) {
        c.watching = true;
    }
    let started = Instant::now();
    let deadline = req.timeout.map(|t| started + t);
    let interval = shared.opts.bookmark_interval;
    let mut next_bookmark = started + interval;
    let mut pos = req.start_rv;
    req.scope.count_served(shared, req.initial.len());
    let mut pending: Vec<String> = req
        .initial
        .iter()
        .map(|o| maybe_malform(shared, info.plural, event_line("ADDED", o)))
        .collect();
    if req.end_bookmark {
        pending.push(bookmark_line(info, pos, true, req.scope.shard.as_ref()));
    }
    let mut clean_end = false;
    loop {
        if write_lines(shared, w, info.plural, &mut pending, gzip).is_err() {
            break;
        }
        let now = Instant::now();
        if shared.drop_gen.load(Ordering::SeqCst) != drop_gen
            || shared.shutdown.load(Ordering::SeqCst)
        {
            break;
        }
        if deadline.is_some_and(|d| now >= d) {
            clean_end = true;
            break;
        }
        if req.bookmarks && now >= next_bookmark {
            next_bookmark = now + interval;
            pending.push(bookmark_line(info, pos, false, None));
            continue;
        }
        let mut st = shared.state.lock();
        if st.rv <= pos {
            let mut wait = Duration::from_millis(200);
            if let Some(d) = deadline {
                wait = wait.min(d.saturating_duration_since(now));
            }
            if req.bookmarks {
                wait = wait.min(next_bookmark.saturating_duration_since(now));
            }
            shared.changed.wait_for(&mut st, wait);
        }
        if st.rv <= pos {
            continue;
        }
        let first = st.history.front().map(|e| e.rv).unwrap_or(u64::MAX);
        if first > pos + 1 {
            // History we still needed is gone (cannot happen for registered watches
            // unless the position predates registration).
            let msg = format!("too old resource version: {pos} ({})", st.compacted_rv);
            drop(st);
            pending.push(event_line("ERROR", &status_body(410, "Expired", &msg)));
            let _ = write_lines(shared, w, info.plural, &mut pending, gzip);
            clean_end = true;
            break;
        }
        // Which events to send is decided under the lock; they are serialized after it is
        // released, so that the writer (benchsim's churn loop) does not wait for watchers.
        let mut due: Vec<(&'static str, Arc<Value>, bool)> = Vec::new();
        let from = st.history.partition_point(|e| e.rv <= pos);
        for ev in st.history.range(from..) {
            if ev.resource != info.plural {
                continue;
            }
            let now_match = req.scope.matches(&ev.object);
            let prev_match = ev.prev.as_ref().is_some_and(|p| req.scope.matches(p));
            let kind = match (ev.kind, prev_match, now_match) {
                (EventType::Added, _, true) => Some("ADDED"),
                (EventType::Modified, true, true) => Some("MODIFIED"),
                (EventType::Modified, false, true) => Some("ADDED"),
                (EventType::Modified, true, false) => Some("DELETED"),
                (EventType::Deleted, true, _) => Some("DELETED"),
                _ => None,
            };
            if let Some(kind) = kind {
                let broken = take_malformed(shared, info.plural);
                due.push((kind, ev.object.clone(), broken));
            }
        }
        pos = st.rv;
        st.watch_positions.insert(id, pos);
        drop(st);
        req.scope.count_served(shared, due.len());
        for (kind, object, broken) in due {
            let line = event_line(kind, &object);
            pending.push(if broken { malform(line) } else { line });
        }
    }
    shared.state.lock().watch_positions.remove(&id);
    if let Some(c) = shared.conns.lock().get_mut(&id) {
        c.watching = false;
    }
    if clean_end {
        let _ = w.write_all(b"0\r\n\r\n").and_then(|_| w.flush());
    }
}

// ---------------------------------------------------------------------------
// Small helpers shared with cluster_gen
// ---------------------------------------------------------------------------

/// splitmix64 step.
pub fn next_rand(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random UUID (version 4 layout).
pub fn uuid_v4(state: &mut u64) -> String {
    let a = next_rand(state);
    let b = next_rand(state);
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// RFC 3339 UTC timestamp with second precision, like Kubernetes' metav1.Time.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339_secs(secs as i64)
}

pub fn rfc3339_secs(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Standard base64 with padding (as in Secret `data`).
pub fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// URL-safe base64 without padding (as in continue tokens).
pub fn base64_encode_url(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT.decode(s.replace('+', "-").replace('/', "_")).ok()
}
