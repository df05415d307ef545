//! The discovery state kubestate keeps and publishes.
//!
//! Watch threads feed a [`DiscoveryConsumer`] per resource. Each keeps the shared caches
//! (under one lock, so joins see one consistent state), recomputes the groups an event
//! affects for every job and sends them, still under the lock so two threads cannot
//! reorder updates of one source, to the `sd/manager` thread. That thread keeps each job's
//! groups by source, and publishes a job at most once per interval (Prometheus's manager
//! throttles to 5 s too), immediately for the first full set once every resource the job
//! reads has synced: an in-memory JSON snapshot for `GET /sd/<job>`, and optionally
//! `DIR/<job>.json` for file_sd.

use super::config::{Job, Role, SdConfig};
use super::endpoints::endpoints_group;
use super::endpointslice::{endpointslice_group, slice_service_name};
use super::ingress::ingress_group;
use super::node::node_group;
use super::pod::{pod_info_group, PodInfo};
use super::service::service_group;
use super::targetgroup::render_http_sd;
use super::{controller_of, key, name_of, ns_of, slim_meta, Lookups, TargetGroup, World};
use crate::kube::client::ApiClient;
use crate::kube::object::KubeObject;
use crate::kube::pod_object::PodObject;
use crate::kube::resources::{self, ApiResource};
use crate::kube::watch::{Consumer, WatchMetrics, WatchOptions, WatchSpec, WatchState, Watcher};
use crate::log::Level;
use crate::log_event;
use crate::telemetry::sd::SdStats;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job as BatchJob;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use parking_lot::{Mutex, RwLock};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A resource discovery watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Nodes,
    Namespaces,
    Pods,
    Services,
    Endpoints,
    EndpointSlices,
    Ingresses,
    /// Only for attach_metadata.deployment.
    ReplicaSets,
    /// Only for attach_metadata.cronjob.
    Jobs,
}

impl Resource {
    pub const ALL: [Resource; 9] = [
        Resource::Nodes,
        Resource::Namespaces,
        Resource::Pods,
        Resource::Services,
        Resource::Endpoints,
        Resource::EndpointSlices,
        Resource::Ingresses,
        Resource::ReplicaSets,
        Resource::Jobs,
    ];

    /// The discovery resource read from `api`, if a role reads it.
    pub fn for_api(api: ApiResource) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.api() == api)
    }

    pub fn api(self) -> ApiResource {
        match self {
            Resource::Nodes => resources::NODES,
            Resource::Namespaces => resources::NAMESPACES,
            Resource::Pods => resources::PODS,
            Resource::Services => resources::SERVICES,
            Resource::Endpoints => resources::ENDPOINTS,
            Resource::EndpointSlices => resources::ENDPOINTSLICES,
            Resource::Ingresses => resources::INGRESSES,
            Resource::ReplicaSets => resources::REPLICASETS,
            Resource::Jobs => resources::JOBS,
        }
    }
}

/// The resources a job reads: its own, the ones it joins, the attached metadata.
pub fn job_resources(job: &Job) -> BTreeSet<Resource> {
    let mut r = BTreeSet::new();
    match job.role {
        Role::Node => {
            r.insert(Resource::Nodes);
        }
        Role::Pod => {
            r.insert(Resource::Pods);
        }
        Role::Service => {
            r.insert(Resource::Services);
        }
        Role::Ingress => {
            r.insert(Resource::Ingresses);
        }
        Role::Endpoints | Role::EndpointSlice => {
            r.insert(if job.role == Role::Endpoints {
                Resource::Endpoints
            } else {
                Resource::EndpointSlices
            });
            r.insert(Resource::Services);
            r.insert(Resource::Pods);
        }
    }
    if job.attach.node
        && job.role != Role::Node
        && job.role != Role::Service
        && job.role != Role::Ingress
    {
        r.insert(Resource::Nodes);
    }
    if job.attach.namespace && job.role != Role::Node {
        r.insert(Resource::Namespaces);
    }
    // The roles that carry pod labels; attach_metadata.job reads the pod's owner reference
    // alone, so unlike Prometheus it watches no Jobs.
    if matches!(job.role, Role::Pod | Role::Endpoints | Role::EndpointSlice) {
        if job.attach.deployment {
            r.insert(Resource::ReplicaSets);
        }
        if job.attach.cronjob {
            r.insert(Resource::Jobs);
        }
    }
    r
}

/// A group recomputed for one job; `group: None` or an empty group removes the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub job: usize,
    pub source: String,
    pub group: Option<TargetGroup>,
}

/// What consumers tell the manager thread.
#[derive(Debug)]
pub enum Msg {
    Updates(Vec<Update>),
    /// The first full list of a resource has been applied.
    Synced(Resource),
    /// Publish everything pending now (shutdown), then signal.
    Flush(crossbeam_channel::Sender<()>),
}

/// Everything the consumers share: the join caches and the primary objects of the roles
/// whose groups must be rebuilt when a joined object changes.
#[derive(Debug, Default)]
pub struct Core {
    pub world: World,
    pub endpoints: BTreeMap<String, Endpoints>,
    pub slices: BTreeMap<String, EndpointSlice>,
    pub ingresses: BTreeMap<String, Ingress>,
}

/// Workload metadata a rebuild may be limited to: a ReplicaSet or Job change only matters to
/// jobs that attach what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Deployment,
    CronJob,
}

impl Workload {
    fn attached(self, job: &Job) -> bool {
        match self {
            Workload::Deployment => job.attach.deployment,
            Workload::CronJob => job.attach.cronjob,
        }
    }
}

/// Primary objects to rebuild, by role and cache key; each for every job of the role, or
/// only for the jobs attaching one kind of workload metadata.
#[derive(Debug, Default)]
pub struct Dirty {
    entries: BTreeMap<(Role, String), Option<Workload>>,
}

impl Dirty {
    /// Rebuild for every job of the role.
    pub fn insert(&mut self, e: (Role, String)) {
        self.entries.insert(e, None);
    }

    /// Rebuild only for jobs attaching `w` (unless also marked for every job).
    pub fn insert_for(&mut self, e: (Role, String), w: Workload) {
        let gate = self.entries.entry(e).or_insert(Some(w));
        if *gate != Some(w) {
            *gate = None;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `job` needs the group of `e` rebuilt.
    pub fn affects(&self, e: &(Role, String), job: &Job) -> bool {
        job.role == e.0
            && self
                .entries
                .get(e)
                .is_some_and(|g| g.is_none_or(|w| w.attached(job)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &(Role, String)> {
        self.entries.keys()
    }
}

impl Extend<(Role, String)> for Dirty {
    fn extend<I: IntoIterator<Item = (Role, String)>>(&mut self, iter: I) {
        for e in iter {
            self.insert(e);
        }
    }
}

fn ns_range<'a, V>(
    m: &'a BTreeMap<String, V>,
    ns: &str,
) -> impl Iterator<Item = (&'a String, &'a V)> {
    let start = format!("{ns}/");
    let end = format!("{ns}0"); // '0' follows '/'
    m.range(start..end)
}

impl Core {
    fn all_in_namespace(&self, ns: &str, out: &mut Dirty) {
        out.extend(ns_range(&self.world.pods, ns).map(|(k, _)| (Role::Pod, k.clone())));
        out.extend(ns_range(&self.world.services, ns).map(|(k, _)| (Role::Service, k.clone())));
        out.extend(ns_range(&self.endpoints, ns).map(|(k, _)| (Role::Endpoints, k.clone())));
        out.extend(ns_range(&self.slices, ns).map(|(k, _)| (Role::EndpointSlice, k.clone())));
        out.extend(ns_range(&self.ingresses, ns).map(|(k, _)| (Role::Ingress, k.clone())));
    }

    /// Pods on the node, endpoints and slices with addresses on it or pointing at it.
    fn on_node(&self, node: &str, out: &mut Dirty) {
        let is = |r: Option<&k8s_openapi::api::core::v1::ObjectReference>| {
            r.is_some_and(|r| r.kind.as_deref() == Some("Node") && r.name.as_deref() == Some(node))
        };
        out.extend(
            self.world
                .pods
                .iter()
                .filter(|(_, p)| p.node_name == node)
                .map(|(k, _)| (Role::Pod, k.clone())),
        );
        for (k, e) in &self.endpoints {
            let hit = e.subsets.iter().flatten().any(|s| {
                s.addresses
                    .iter()
                    .flatten()
                    .chain(s.not_ready_addresses.iter().flatten())
                    .any(|a| a.node_name.as_deref() == Some(node) || is(a.target_ref.as_ref()))
            });
            if hit {
                out.insert((Role::Endpoints, k.clone()));
            }
        }
        for (k, s) in &self.slices {
            let hit = s
                .endpoints
                .iter()
                .flatten()
                .any(|e| e.node_name.as_deref() == Some(node) || is(e.target_ref.as_ref()));
            if hit {
                out.insert((Role::EndpointSlice, k.clone()));
            }
        }
    }

    /// Endpoints and slices in the pod's namespace whose addresses reference it.
    fn referencing_pod(&self, ns: &str, name: &str, out: &mut Dirty) {
        out.extend(self.referencing_pods(ns, &BTreeSet::from([name])));
    }

    /// Endpoints and slices in `ns` whose addresses reference one of the named pods.
    fn referencing_pods(&self, ns: &str, names: &BTreeSet<&str>) -> BTreeSet<(Role, String)> {
        let mut out = BTreeSet::new();
        let is = |r: Option<&k8s_openapi::api::core::v1::ObjectReference>| {
            r.is_some_and(|r| {
                r.kind.as_deref() == Some("Pod")
                    && r.name.as_deref().is_some_and(|n| names.contains(n))
                    && r.namespace.as_deref().unwrap_or("") == ns
            })
        };
        for (k, e) in ns_range(&self.endpoints, ns) {
            let hit = e.subsets.iter().flatten().any(|s| {
                s.addresses
                    .iter()
                    .flatten()
                    .chain(s.not_ready_addresses.iter().flatten())
                    .any(|a| is(a.target_ref.as_ref()))
            });
            if hit {
                out.insert((Role::Endpoints, k.clone()));
            }
        }
        for (k, s) in ns_range(&self.slices, ns) {
            if s.endpoints
                .iter()
                .flatten()
                .any(|e| is(e.target_ref.as_ref()))
            {
                out.insert((Role::EndpointSlice, k.clone()));
            }
        }
        out
    }

    /// The pods a ReplicaSet or Job `k` controls, and the endpoints and slices that merge
    /// their labels, for the jobs attaching `w`. Prometheus re-emits only the pods; the
    /// endpoints roles here follow every change a join shows, as they do for pods.
    fn owned_by(&self, owner_kind: &str, k: &str, w: Workload, out: &mut Dirty) {
        let (ns, owner) = split(k);
        let mut names = BTreeSet::new();
        for (pk, p) in ns_range(&self.world.pods, ns) {
            if p.controller
                .as_ref()
                .is_some_and(|(kind, name)| kind == owner_kind && name == owner)
            {
                out.insert_for((Role::Pod, pk.clone()), w);
                names.insert(p.name.as_str());
            }
        }
        if !names.is_empty() {
            for e in self.referencing_pods(ns, &names) {
                out.insert_for(e, w);
            }
        }
    }

    /// The group of one primary object for one job: `None` means "send nothing" (a node
    /// without address); an empty group removes the source.
    pub fn group(&self, job: &Job, role: Role, k: &str) -> Option<TargetGroup> {
        let l = Lookups::new(&self.world, job);
        let (ns, name) = split(k);
        let gone = |source: String| Some(TargetGroup::empty(source));
        match role {
            Role::Node => match self.world.nodes.get(k) {
                Some(n) if l.selects(n, "") => node_group(n),
                _ => gone(super::node::node_source(k)),
            },
            Role::Pod => match self.world.pods.get(k) {
                Some(p) if l.selects(p, ns) => Some(pod_info_group(p, &l)),
                _ => gone(format!("pod/{ns}/{name}")),
            },
            Role::Service => match self.world.services.get(k) {
                Some(s) if l.selects(s, ns) => Some(service_group(s, &l)),
                _ => gone(super::service::service_source(ns, name)),
            },
            Role::Endpoints => match self.endpoints.get(k) {
                Some(e) if l.selects(e, ns) => Some(endpoints_group(e, &l)),
                _ => gone(super::endpoints::endpoints_source(ns, name)),
            },
            Role::EndpointSlice => match self.slices.get(k) {
                Some(s) if l.selects(s, ns) => Some(endpointslice_group(s, &l)),
                _ => gone(super::endpointslice::endpointslice_source(ns, name)),
            },
            Role::Ingress => match self.ingresses.get(k) {
                Some(i) if l.selects(i, ns) => Some(ingress_group(i, &l)),
                _ => gone(super::ingress::ingress_source(ns, name)),
            },
        }
    }
}

/// An object kind discovery consumes: how it enters and leaves the caches, and which
/// primary objects that touches.
pub trait SdObject: KubeObject {
    const RESOURCE: Resource;
    fn cache_key(&self) -> String {
        let m = self.meta();
        if Self::RESOURCE == Resource::Nodes || Self::RESOURCE == Resource::Namespaces {
            name_of(m).to_string()
        } else {
            key(ns_of(m), name_of(m))
        }
    }
    fn keys(core: &Core) -> Vec<String>;
    /// Whether the cache holds `k` (an upsert of it is an update, not an add).
    fn contains(core: &Core, k: &str) -> bool;
    fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty);
    fn remove(core: &mut Core, k: &str, dirty: &mut Dirty);
}

fn split(k: &str) -> (&str, &str) {
    k.split_once('/').unwrap_or(("", k))
}

impl SdObject for Node {
    const RESOURCE: Resource = Resource::Nodes;
    fn keys(core: &Core) -> Vec<String> {
        core.world.nodes.keys().cloned().collect()
    }
    fn contains(core: &Core, k: &str) -> bool {
        core.world.nodes.contains_key(k)
    }
    fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty) {
        let k = obj.cache_key();
        let meta_changed = core.world.nodes.get(&k).is_none_or(|old| {
            old.metadata.labels != obj.metadata.labels
                || old.metadata.annotations != obj.metadata.annotations
        });
        core.world.insert_node(obj);
        dirty.insert((Role::Node, k.clone()));
        if meta_changed {
            core.on_node(&k, dirty);
        }
    }
    fn remove(core: &mut Core, k: &str, dirty: &mut Dirty) {
        if core.world.nodes.remove(k).is_some() {
            core.on_node(k, dirty);
        }
        dirty.insert((Role::Node, k.to_string()));
    }
}

impl SdObject for Namespace {
    const RESOURCE: Resource = Resource::Namespaces;
    fn keys(core: &Core) -> Vec<String> {
        core.world.namespaces.keys().cloned().collect()
    }
    fn contains(core: &Core, k: &str) -> bool {
        core.world.namespaces.contains_key(k)
    }
    fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty) {
        let k = obj.cache_key();
        let new = slim_meta(&obj.metadata);
        let changed = core
            .world
            .namespaces
            .get(&k)
            .is_none_or(|old| old.labels != new.labels || old.annotations != new.annotations);
        core.world.namespaces.insert(k.clone(), new);
        if changed {
            core.all_in_namespace(&k, dirty);
        }
    }
    fn remove(core: &mut Core, k: &str, dirty: &mut Dirty) {
        if core.world.namespaces.remove(k).is_some() {
            core.all_in_namespace(k, dirty);
        }
    }
}

/// Discovery sees the same pod it would have decoded itself (see `PodInfo::from_pod`) when
/// it shares the pods watch of the metrics, which decodes the slim [`PodObject`].
impl SdObject for PodObject {
    const RESOURCE: Resource = <Pod as SdObject>::RESOURCE;
    fn keys(core: &Core) -> Vec<String> {
        <Pod as SdObject>::keys(core)
    }
    fn contains(core: &Core, k: &str) -> bool {
        <Pod as SdObject>::contains(core, k)
    }
    fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty) {
        <Pod as SdObject>::upsert(core, &obj.0, dirty)
    }
    fn remove(core: &mut Core, k: &str, dirty: &mut Dirty) {
        <Pod as SdObject>::remove(core, k, dirty)
    }
}

impl SdObject for Pod {
    const RESOURCE: Resource = Resource::Pods;
    fn keys(core: &Core) -> Vec<String> {
        core.world.pods.keys().cloned().collect()
    }
    fn contains(core: &Core, k: &str) -> bool {
        core.world.pods.contains_key(k)
    }
    fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty) {
        let info = PodInfo::from_pod(obj);
        let k = key(&info.namespace, &info.name);
        // Unlike Prometheus (phase changes only), any change a join shows is re-emitted.
        let changed = core.world.pods.get(&k) != Some(&info);
        if changed {
            core.referencing_pod(&info.namespace, &info.name, dirty);
        }
        core.world.pods.insert(k.clone(), info);
        dirty.insert((Role::Pod, k));
    }
    fn remove(core: &mut Core, k: &str, dirty: &mut Dirty) {
        if core.world.pods.remove(k).is_some() {
            let (ns, name) = split(k);
            core.referencing_pod(ns, name, dirty);
        }
        dirty.insert((Role::Pod, k.to_string()));
    }
}

/// ReplicaSets and Jobs: only their controller is kept, and only a change of it rebuilds the
/// pods they control (any other update, e.g. of labels or status, cannot change a group).
macro_rules! workload_owner {
    ($t:ty, $res:ident, $field:ident, $kind:literal, $w:expr) => {
        impl SdObject for $t {
            const RESOURCE: Resource = Resource::$res;
            fn keys(core: &Core) -> Vec<String> {
                core.world.$field.keys().cloned().collect()
            }
            fn contains(core: &Core, k: &str) -> bool {
                core.world.$field.contains_key(k)
            }
            fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty) {
                let k = obj.cache_key();
                let c = controller_of(&obj.metadata);
                if core.world.$field.get(&k) != Some(&c) {
                    core.world.$field.insert(k.clone(), c);
                    core.owned_by($kind, &k, $w, dirty);
                }
            }
            fn remove(core: &mut Core, k: &str, dirty: &mut Dirty) {
                if core.world.$field.remove(k).is_some() {
                    core.owned_by($kind, k, $w, dirty);
                }
            }
        }
    };
}
workload_owner!(
    ReplicaSet,
    ReplicaSets,
    replicasets,
    "ReplicaSet",
    Workload::Deployment
);
workload_owner!(BatchJob, Jobs, jobs, "Job", Workload::CronJob);

/// Endpoints share the service's key; slices name it in a label.
fn service_dependents(core: &Core, k: &str, dirty: &mut Dirty) {
    dirty.insert((Role::Service, k.to_string()));
    dirty.insert((Role::Endpoints, k.to_string()));
    let (ns, name) = split(k);
    dirty.extend(
        ns_range(&core.slices, ns)
            .filter(|(_, s)| slice_service_name(s) == Some(name))
            .map(|(k, _)| (Role::EndpointSlice, k.clone())),
    );
}

impl SdObject for Service {
    const RESOURCE: Resource = Resource::Services;
    fn keys(core: &Core) -> Vec<String> {
        core.world.services.keys().cloned().collect()
    }
    fn contains(core: &Core, k: &str) -> bool {
        core.world.services.contains_key(k)
    }
    fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty) {
        core.world.insert_service(obj);
        service_dependents(core, &obj.cache_key(), dirty);
    }
    fn remove(core: &mut Core, k: &str, dirty: &mut Dirty) {
        core.world.services.remove(k);
        service_dependents(core, k, dirty);
    }
}

macro_rules! primary {
    ($t:ty, $res:ident, $field:ident, $role:ident) => {
        impl SdObject for $t {
            const RESOURCE: Resource = Resource::$res;
            fn keys(core: &Core) -> Vec<String> {
                core.$field.keys().cloned().collect()
            }
            fn contains(core: &Core, k: &str) -> bool {
                core.$field.contains_key(k)
            }
            fn upsert(core: &mut Core, obj: &Self, dirty: &mut Dirty) {
                let k = obj.cache_key();
                let mut o = obj.clone();
                o.metadata = slim_meta(&o.metadata);
                core.$field.insert(k.clone(), o);
                dirty.insert((Role::$role, k));
            }
            fn remove(core: &mut Core, k: &str, dirty: &mut Dirty) {
                core.$field.remove(k);
                dirty.insert((Role::$role, k.to_string()));
            }
        }
    };
}
primary!(Endpoints, Endpoints, endpoints, Endpoints);
primary!(EndpointSlice, EndpointSlices, slices, EndpointSlice);
primary!(Ingress, Ingresses, ingresses, Ingress);

/// The published http_sd bodies by job name, shared with the HTTP side.
pub type Snapshots = Arc<RwLock<HashMap<String, Arc<Vec<u8>>>>>;

/// Publishing options.
#[derive(Debug, Clone)]
pub struct SdOptions {
    /// At most one publication per job per interval (the first full set goes out at once).
    pub interval: Duration,
    /// Write `DIR/<job>.json` for file_sd.
    pub file_dir: Option<PathBuf>,
    /// Self-metrics, shared with the telemetry port and across reloads.
    pub stats: Arc<SdStats>,
}

impl Default for SdOptions {
    fn default() -> Self {
        SdOptions {
            interval: Duration::from_secs(5),
            file_dir: None,
            stats: Arc::default(),
        }
    }
}

/// Whether `GET /sd/<job>` has something to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Unknown,
    /// Some resource the job reads has not finished its first list: serve an error, so
    /// Prometheus keeps its previous targets instead of dropping them.
    Pending,
    Ready,
}

/// Service discovery: the shared caches, the channel to the manager thread and the
/// published snapshots.
pub struct Discovery {
    jobs: Vec<Job>,
    stats: Arc<SdStats>,
    core: Mutex<Core>,
    tx: Sender<Msg>,
    snapshots: Snapshots,
}

impl Discovery {
    /// Builds the state and spawns the `sd/manager` thread, which runs until every
    /// consumer and the returned `Discovery` are dropped.
    pub fn start(
        config: SdConfig,
        opts: SdOptions,
    ) -> std::io::Result<(Arc<Discovery>, JoinHandle<()>)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let stats = opts.stats.clone();
        let names: Vec<String> = config.jobs.iter().map(|j| j.name.clone()).collect();
        stats.configure(&names);
        let snapshots = Arc::new(RwLock::new(HashMap::new()));
        let state = ManagerState::new(&config.jobs, opts, snapshots.clone());
        let handle = std::thread::Builder::new()
            .name("sd/manager".into())
            .spawn(move || run_manager(state, rx))?;
        Ok((
            Arc::new(Discovery {
                jobs: config.jobs,
                stats,
                core: Mutex::new(Core::default()),
                tx,
                snapshots,
            }),
            handle,
        ))
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Writes every pending update (file_sd included) without waiting for the coalescing
    /// interval; used on shutdown so the files hold the last state. Waits up to `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done, wait) = crossbeam_channel::bounded(1);
        self.tx.send(Msg::Flush(done)).is_ok() && wait.recv_timeout(timeout).is_ok()
    }

    /// The resources to watch, each with one consumer from [`Discovery::consumer`].
    pub fn resources(&self) -> BTreeSet<Resource> {
        self.jobs.iter().flat_map(job_resources).collect()
    }

    /// The consumer for a metrics watch of `r` to carry, type-erased as the built-in
    /// resource table takes it (a `Box<dyn Consumer<T>>` of the type that watch decodes:
    /// the slim `PodObject` for pods).
    pub fn shared_consumer(self: &Arc<Self>, r: Resource) -> Box<dyn Any + Send> {
        fn erased<T: SdObject>(sd: &Arc<Discovery>) -> Box<dyn Any + Send> {
            let c: Box<dyn Consumer<T>> = Box::new(sd.consumer::<T>());
            Box::new(c)
        }
        match r {
            Resource::Nodes => erased::<Node>(self),
            Resource::Namespaces => erased::<Namespace>(self),
            Resource::Pods => erased::<PodObject>(self),
            Resource::Services => erased::<Service>(self),
            Resource::Endpoints => erased::<Endpoints>(self),
            Resource::EndpointSlices => erased::<EndpointSlice>(self),
            Resource::Ingresses => erased::<Ingress>(self),
            Resource::ReplicaSets => erased::<ReplicaSet>(self),
            Resource::Jobs => erased::<BatchJob>(self),
        }
    }

    /// Starts a watch of `r` that feeds only discovery (the resource is not exported as
    /// metrics, or its metrics watch is sharded or restricted); returns its label and state.
    pub fn spawn_watch(
        self: &Arc<Self>,
        r: Resource,
        client: &Arc<ApiClient>,
        options: &WatchOptions,
        reporter: &Arc<dyn WatchMetrics>,
    ) -> std::io::Result<(String, Arc<WatchState>)> {
        fn spawn<T: SdObject>(
            sd: &Arc<Discovery>,
            spec: WatchSpec,
            client: &Arc<ApiClient>,
            reporter: &Arc<dyn WatchMetrics>,
        ) -> std::io::Result<Arc<WatchState>> {
            let state = WatchState::new();
            let consumers: Vec<Box<dyn Consumer<T>>> = vec![Box::new(sd.consumer::<T>())];
            Watcher::new(
                client.clone(),
                spec,
                consumers,
                state.clone(),
                reporter.clone(),
            )
            .spawn()?;
            Ok(state)
        }
        let spec = WatchSpec::new(r.api(), options);
        let label = format!("{}(sd)", spec.label());
        let state = match r {
            Resource::Nodes => spawn::<Node>(self, spec, client, reporter),
            Resource::Namespaces => spawn::<Namespace>(self, spec, client, reporter),
            Resource::Pods => spawn::<Pod>(self, spec, client, reporter),
            Resource::Services => spawn::<Service>(self, spec, client, reporter),
            Resource::Endpoints => spawn::<Endpoints>(self, spec, client, reporter),
            Resource::EndpointSlices => spawn::<EndpointSlice>(self, spec, client, reporter),
            Resource::Ingresses => spawn::<Ingress>(self, spec, client, reporter),
            Resource::ReplicaSets => spawn::<ReplicaSet>(self, spec, client, reporter),
            Resource::Jobs => spawn::<BatchJob>(self, spec, client, reporter),
        }?;
        Ok((label, state))
    }

    /// The consumer for one resource's watch; it serves every job that reads it.
    pub fn consumer<T: SdObject>(self: &Arc<Self>) -> DiscoveryConsumer<T> {
        DiscoveryConsumer {
            sd: self.clone(),
            relist: None,
            _t: PhantomData,
        }
    }

    /// The http_sd body for `job` once published; `None` if unknown or not yet synced.
    pub fn render_job(&self, job: &str) -> Option<Vec<u8>> {
        self.snapshots.read().get(job).map(|b| b.as_ref().clone())
    }

    pub fn job_status(&self, job: &str) -> JobStatus {
        if self.snapshots.read().contains_key(job) {
            JobStatus::Ready
        } else if self.jobs.iter().any(|j| j.name == job) {
            JobStatus::Pending
        } else {
            JobStatus::Unknown
        }
    }

    /// Applies a change, then recomputes and sends the affected groups of every job. The
    /// send happens under the lock so updates of one source stay in order. `f` is a trait
    /// object so this is compiled once, not once per resource and change.
    fn apply(&self, f: &mut dyn FnMut(&mut Core, &mut Dirty)) {
        let mut core = self.core.lock();
        let mut dirty = Dirty::default();
        f(&mut core, &mut dirty);
        let mut updates = Vec::new();
        for e in dirty.keys() {
            let (role, k) = e;
            for (i, job) in self
                .jobs
                .iter()
                .enumerate()
                .filter(|(_, j)| dirty.affects(e, j))
            {
                if let Some(g) = core.group(job, *role, k) {
                    updates.push(Update {
                        job: i,
                        source: g.source.clone(),
                        group: Some(g),
                    });
                }
            }
        }
        if !updates.is_empty() {
            // The manager outlives consumers unless shutting down; nothing to do then.
            let _ = self.tx.send(Msg::Updates(updates));
        }
    }
}

/// Feeds one resource's watch into discovery.
pub struct DiscoveryConsumer<T> {
    sd: Arc<Discovery>,
    /// Keys seen since `relist_begin`.
    relist: Option<HashSet<String>>,
    _t: PhantomData<fn(&T)>,
}

impl<T: SdObject> DiscoveryConsumer<T> {
    fn upsert_counted(&self, obj: &T) {
        let stats = &self.sd.stats;
        self.sd.apply(&mut |c, d| {
            let event = if T::contains(c, &obj.cache_key()) {
                "update"
            } else {
                "add"
            };
            stats.event(T::RESOURCE.api().plural, event);
            T::upsert(c, obj, d)
        });
    }
}

impl<T: SdObject> Consumer<T> for DiscoveryConsumer<T> {
    fn upsert(&mut self, obj: &T) {
        self.upsert_counted(obj);
    }

    fn delete(&mut self, obj: &T) {
        let k = obj.cache_key();
        self.sd.stats.event(T::RESOURCE.api().plural, "delete");
        self.sd.apply(&mut |c, d| T::remove(c, &k, d));
    }

    fn relist_begin(&mut self) {
        self.relist = Some(HashSet::new());
    }

    /// Items are applied as they come: each is the current state, so an aborted relist
    /// leaves nothing stale, it only postpones the removal of vanished objects.
    fn relist_item(&mut self, obj: &T) {
        if let Some(seen) = &mut self.relist {
            seen.insert(obj.cache_key());
        }
        self.upsert_counted(obj);
    }

    fn relist_commit(&mut self) {
        let Some(seen) = self.relist.take() else {
            return;
        };
        let stats = &self.sd.stats;
        self.sd.apply(&mut |c, d| {
            for k in T::keys(c).into_iter().filter(|k| !seen.contains(k)) {
                stats.event(T::RESOURCE.api().plural, "delete");
                T::remove(c, &k, d);
            }
        });
        let _ = self.sd.tx.send(Msg::Synced(T::RESOURCE));
    }

    fn relist_abort(&mut self) {
        self.relist = None;
    }
}

/// One job's output side.
#[derive(Debug)]
struct JobOut {
    name: String,
    needs: BTreeSet<Resource>,
    groups: BTreeMap<String, TargetGroup>,
    dirty: bool,
    last_publish: Option<Instant>,
    /// What `DIR/<job>.json` holds, as far as we know.
    written: Option<Arc<Vec<u8>>>,
    /// A failed write to retry at this time.
    retry_at: Option<Instant>,
    publications: u64,
}

/// The manager thread's state, separate from the thread so tests can drive time.
pub struct ManagerState {
    jobs: Vec<JobOut>,
    synced: BTreeSet<Resource>,
    opts: SdOptions,
    snapshots: Snapshots,
}

impl ManagerState {
    pub fn new(jobs: &[Job], opts: SdOptions, snapshots: Snapshots) -> Self {
        ManagerState {
            jobs: jobs
                .iter()
                .map(|j| JobOut {
                    name: j.name.clone(),
                    needs: job_resources(j),
                    groups: BTreeMap::new(),
                    dirty: true,
                    last_publish: None,
                    written: None,
                    retry_at: None,
                    publications: 0,
                })
                .collect(),
            synced: BTreeSet::new(),
            opts,
            snapshots,
        }
    }

    pub fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Synced(r) => {
                self.synced.insert(r);
            }
            Msg::Updates(us) => {
                for u in us {
                    let Some(j) = self.jobs.get_mut(u.job) else {
                        continue;
                    };
                    let changed = match u.group {
                        Some(g) if !g.is_empty() => {
                            j.groups.insert(u.source, g.clone()).as_ref() != Some(&g)
                        }
                        _ => j.groups.remove(&u.source).is_some(),
                    };
                    j.dirty |= changed;
                }
            }
            // answered by the manager loop, which publishes before signalling
            Msg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }

    /// Publishes what is due; returns when to come back.
    pub fn tick(&mut self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut wake = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        for j in &mut self.jobs {
            if !j.needs.iter().all(|r| self.synced.contains(r)) {
                continue;
            }
            if j.dirty {
                let due = j.last_publish.map_or(now, |t| t + self.opts.interval);
                if due <= now {
                    let body = Arc::new(render_http_sd(j.groups.values()));
                    self.snapshots.write().insert(j.name.clone(), body);
                    let targets = j.groups.values().map(|g| g.targets.len()).sum();
                    self.opts.stats.published(&j.name, j.groups.len(), targets);
                    j.dirty = false;
                    j.last_publish = Some(now);
                    j.publications += 1;
                    j.retry_at = None;
                } else {
                    wake(due);
                }
            }
            if let Some(dir) = &self.opts.file_dir {
                if j.retry_at.is_some_and(|t| t > now) {
                    if let Some(t) = j.retry_at {
                        wake(t);
                    }
                    continue;
                }
                let Some(body) = self.snapshots.read().get(&j.name).cloned() else {
                    continue;
                };
                if j.written.as_ref() == Some(&body) {
                    continue;
                }
                let written = write_atomic(dir, &j.name, &body);
                self.opts.stats.file_written(&j.name, written.is_ok());
                match written {
                    Ok(()) => {
                        j.written = Some(body);
                        j.retry_at = None;
                    }
                    Err(e) => {
                        log_event!(
                            Level::Warn,
                            "writing file_sd output failed, keeping targets in memory and retrying",
                            job = j.name,
                            dir = dir.display(),
                            err = e
                        );
                        let t = now + self.opts.interval;
                        j.retry_at = Some(t);
                        wake(t);
                    }
                }
            }
        }
        next
    }

    /// How many times a job has been published (for tests and self-metrics).
    pub fn publications(&self, job: &str) -> u64 {
        self.jobs
            .iter()
            .find(|j| j.name == job)
            .map_or(0, |j| j.publications)
    }
}

/// `DIR/<job>.json` via a temp file in the same directory that file_sd patterns such as
/// `*.json` do not match, fsync, rename: readers see the old or the new file, never a torn
/// one.
pub fn write_atomic(dir: &Path, job: &str, body: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{job}.json.tmp"));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(format!("{job}.json")))?;
        // Persist the rename itself; not all platforms allow fsync on a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn run_manager(mut state: ManagerState, rx: Receiver<Msg>) {
    let mut next: Option<Instant> = None;
    loop {
        let msg = match next {
            Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let mut flushed = Vec::new();
        match msg {
            Ok(Msg::Flush(done)) => flushed.push(done),
            Ok(m) => state.handle(m),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(m) = rx.try_recv() {
            match m {
                Msg::Flush(done) => flushed.push(done),
                m => state.handle(m),
            }
        }
        if flushed.is_empty() {
            next = state.tick(Instant::now());
        } else {
            // past every coalescing deadline: whatever is pending is written now
            next = state.tick(Instant::now() + Duration::from_secs(24 * 3600));
            for done in flushed {
                let _ = done.send(());
            }
        }
    }
}
