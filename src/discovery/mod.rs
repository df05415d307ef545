//! Prometheus-compatible Kubernetes service discovery from kubestate's own watches: the same
//! `__meta_kubernetes_*` labels as Prometheus's `kubernetes_sd_configs`, served as http_sd
//! JSON and written as file_sd files.
//!
//! Layout: one pure function per role turns an object plus [`Lookups`] (the side caches the
//! role joins) into a [`TargetGroup`]; [`manager`] keeps those caches, recomputes groups on
//! watch events and publishes per-job snapshots.

pub mod config;
pub mod endpoints;
pub mod endpointslice;
pub mod ingress;
pub mod manager;
pub mod node;
pub mod pod;
pub mod selector;
pub mod service;
pub mod targetgroup;

pub use config::{Job, Role, SdConfig};
pub use targetgroup::TargetGroup;

use config::Role as R;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job as BatchJob;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use pod::PodInfo;
use selector::Selectable;
use std::collections::BTreeMap;

/// A label set, sorted so output is stable.
pub type LabelSet = BTreeMap<String, String>;

/// Every discovered label starts with this.
pub const PREFIX: &str = "__meta_kubernetes_";

/// `__meta_kubernetes_<name>`.
pub(crate) fn meta(name: &str) -> String {
    let mut s = String::with_capacity(PREFIX.len() + name.len());
    s.push_str(PREFIX);
    s.push_str(name);
    s
}

/// Prometheus's `strutil.SanitizeLabelName`: every char outside `[a-zA-Z0-9_]` (a multi-byte
/// one counting once) becomes `_`, case kept. Not KSM's sanitiser, which differs.
pub fn sanitize_label_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Go's `net.JoinHostPort`: a host containing `:` (IPv6) is bracketed.
pub fn join_host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `<res>_label_<k>`, `<res>_labelpresent_<k>`, `<res>_annotation_<k>`,
/// `<res>_annotationpresent_<k>` for an object's metadata.
pub(crate) fn add_families(out: &mut LabelSet, res: &str, m: &ObjectMeta) {
    add_map(out, res, "label", m.labels.as_ref());
    add_map(out, res, "annotation", m.annotations.as_ref());
}

pub(crate) fn add_map(
    out: &mut LabelSet,
    res: &str,
    kind: &str,
    map: Option<&BTreeMap<String, String>>,
) {
    for (k, v) in map.into_iter().flatten() {
        let k = sanitize_label_name(k);
        out.insert(meta(&format!("{res}_{kind}_{k}")), v.clone());
        out.insert(meta(&format!("{res}_{kind}present_{k}")), "true".into());
    }
}

/// attach_metadata.node: the node's name and its label/annotation families.
pub(crate) fn add_node_metadata(out: &mut LabelSet, node: &Node) {
    out.insert(
        meta("node_name"),
        node.metadata.name.clone().unwrap_or_default(),
    );
    add_families(out, "node", &node.metadata);
}

/// attach_metadata.namespace: the namespace's label/annotation families (no name: that is
/// `__meta_kubernetes_namespace` already).
pub(crate) fn add_namespace_metadata(out: &mut LabelSet, l: &Lookups, ns: &str) {
    if let Some(m) = l.namespace(ns) {
        add_families(out, "namespace", m);
    }
}

pub(crate) fn name_of(m: &ObjectMeta) -> &str {
    m.name.as_deref().unwrap_or("")
}

pub(crate) fn ns_of(m: &ObjectMeta) -> &str {
    m.namespace.as_deref().unwrap_or("")
}

/// `ns/name`: how the side caches are keyed.
pub(crate) fn key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

/// The kind and name of an object's managing controller: the first owner reference with
/// `controller: true`, as Kubernetes's `GetControllerOf` (which Prometheus uses) picks it.
pub type Controller = Option<(String, String)>;

pub(crate) fn controller_of(m: &ObjectMeta) -> Controller {
    m.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| (o.kind.clone(), o.name.clone()))
}

/// The side caches roles join against, shared by all jobs. Only the fields joins need are
/// kept: pods as [`PodInfo`], nodes and services without managed fields or node images,
/// namespaces as bare metadata, ReplicaSets and Jobs as their controller alone.
#[derive(Debug, Default)]
pub struct World {
    pub nodes: BTreeMap<String, Node>,
    pub namespaces: BTreeMap<String, ObjectMeta>,
    /// By `ns/name`.
    pub pods: BTreeMap<String, PodInfo>,
    /// By `ns/name`.
    pub services: BTreeMap<String, Service>,
    /// ReplicaSet `ns/name` → its controller, for attach_metadata.deployment.
    pub replicasets: BTreeMap<String, Controller>,
    /// Job `ns/name` → its controller, for attach_metadata.cronjob.
    pub jobs: BTreeMap<String, Controller>,
}

impl World {
    pub fn insert_node(&mut self, n: &Node) {
        self.nodes
            .insert(name_of(&n.metadata).to_string(), slim_node(n));
    }
    pub fn insert_namespace(&mut self, n: &Namespace) {
        self.namespaces
            .insert(name_of(&n.metadata).to_string(), slim_meta(&n.metadata));
    }
    pub fn insert_pod(&mut self, p: &Pod) {
        let info = PodInfo::from_pod(p);
        self.pods.insert(key(&info.namespace, &info.name), info);
    }
    pub fn insert_replicaset(&mut self, rs: &ReplicaSet) {
        let m = &rs.metadata;
        self.replicasets
            .insert(key(ns_of(m), name_of(m)), controller_of(m));
    }
    pub fn insert_job(&mut self, j: &BatchJob) {
        let m = &j.metadata;
        self.jobs
            .insert(key(ns_of(m), name_of(m)), controller_of(m));
    }
    pub fn insert_service(&mut self, s: &Service) {
        let mut s = s.clone();
        s.metadata = slim_meta(&s.metadata);
        self.services
            .insert(key(ns_of(&s.metadata), name_of(&s.metadata)), s);
    }
}

/// Metadata without managed fields, which no label uses and which dominate object size.
pub(crate) fn slim_meta(m: &ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        labels: m.labels.clone(),
        annotations: m.annotations.clone(),
        owner_references: m.owner_references.clone(),
        ..Default::default()
    }
}

/// A node as discovery needs it: no image list, no managed fields.
pub(crate) fn slim_node(n: &Node) -> Node {
    let mut n = n.clone();
    n.metadata = slim_meta(&n.metadata);
    if let Some(st) = &mut n.status {
        st.images = None;
        st.volumes_attached = None;
        st.volumes_in_use = None;
    }
    n
}

/// What a role function may look up for one job: the shared caches seen through that job's
/// attach_metadata, namespaces and side-cache selectors.
#[derive(Clone, Copy)]
pub struct Lookups<'a> {
    pub world: &'a World,
    pub job: &'a Job,
}

impl<'a> Lookups<'a> {
    pub fn new(world: &'a World, job: &'a Job) -> Self {
        Lookups { world, job }
    }

    pub fn attach_node(&self) -> bool {
        self.job.attach.node
    }

    /// The node for attach_metadata.node, filtered by the job's node selector (how Prometheus
    /// lets a node selector filter pods); `None` when not attaching.
    pub fn node(&self, name: &str) -> Option<&'a Node> {
        if !self.job.attach.node {
            return None;
        }
        let n = self.world.nodes.get(name)?;
        match self.job.selector(R::Node) {
            Some(s) if !s.matches(n) => None,
            _ => Some(n),
        }
    }

    /// Namespace metadata for attach_metadata.namespace. Prometheus's namespace informer
    /// ignores the job's `namespaces`, so this does too.
    pub fn namespace(&self, name: &str) -> Option<&'a ObjectMeta> {
        if !self.job.attach.namespace {
            return None;
        }
        self.world.namespaces.get(name)
    }

    /// attach_metadata.deployment: the Deployment controlling ReplicaSet `ns/rs`, if that
    /// ReplicaSet is known and its controller is a Deployment.
    pub fn deployment_of(&self, ns: &str, rs: &str) -> Option<&'a str> {
        if !self.job.attach.deployment {
            return None;
        }
        controlled_by(self.world.replicasets.get(&key(ns, rs))?, "Deployment")
    }

    /// attach_metadata.cronjob: the CronJob controlling Job `ns/job`, if that Job is known and
    /// its controller is a CronJob.
    pub fn cronjob_of(&self, ns: &str, job: &str) -> Option<&'a str> {
        if !self.job.attach.cronjob {
            return None;
        }
        controlled_by(self.world.jobs.get(&key(ns, job))?, "CronJob")
    }

    /// A pod the endpoints roles join, as the job's pod selector and namespaces see it.
    pub fn pod(&self, ns: &str, name: &str) -> Option<&'a PodInfo> {
        let p = self.world.pods.get(&key(ns, name))?;
        if !self.job.in_namespace(ns) || self.side_filtered(R::Pod, p) {
            return None;
        }
        Some(p)
    }

    /// A service the endpoints roles join, as the job's service selector and namespaces see it.
    pub fn service(&self, ns: &str, name: &str) -> Option<&'a Service> {
        let s = self.world.services.get(&key(ns, name))?;
        if !self.job.in_namespace(ns) || self.side_filtered(R::Service, s) {
            return None;
        }
        Some(s)
    }

    /// Selectors for the job's own role filter the primary objects, not the side caches.
    fn side_filtered(&self, role: R, obj: &dyn Selectable) -> bool {
        role != self.job.role && self.job.selector(role).is_some_and(|s| !s.matches(obj))
    }

    /// Whether a primary object of the job's role belongs to the job.
    pub fn selects(&self, obj: &dyn Selectable, ns: &str) -> bool {
        self.job.in_namespace(ns)
            && self
                .job
                .selector(self.job.role)
                .is_none_or(|s| s.matches(obj))
    }
}

fn controlled_by<'a>(c: &'a Controller, kind: &str) -> Option<&'a str> {
    match c {
        Some((k, name)) if k == kind => Some(name),
        _ => None,
    }
}

fn meta_field(m: &ObjectMeta, path: &str) -> Option<String> {
    match path {
        "metadata.name" => Some(name_of(m).to_string()),
        "metadata.namespace" => Some(ns_of(m).to_string()),
        _ => None,
    }
}

macro_rules! meta_selectable {
    ($($t:ty),*) => {$(
        impl Selectable for $t {
            fn labels(&self) -> Option<&BTreeMap<String, String>> {
                self.metadata.labels.as_ref()
            }
            fn field(&self, path: &str) -> String {
                meta_field(&self.metadata, path).unwrap_or_default()
            }
        }
    )*};
}
meta_selectable!(Endpoints, EndpointSlice, Ingress);

impl Selectable for Node {
    fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.metadata.labels.as_ref()
    }
    fn field(&self, path: &str) -> String {
        match path {
            "spec.unschedulable" => self
                .spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false)
                .to_string(),
            _ => meta_field(&self.metadata, path).unwrap_or_default(),
        }
    }
}

impl Selectable for Service {
    fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.metadata.labels.as_ref()
    }
    fn field(&self, path: &str) -> String {
        let spec = self.spec.as_ref();
        match path {
            "spec.clusterIP" => spec.and_then(|s| s.cluster_ip.clone()).unwrap_or_default(),
            "spec.type" => spec.and_then(|s| s.type_.clone()).unwrap_or_default(),
            _ => meta_field(&self.metadata, path).unwrap_or_default(),
        }
    }
}

impl Selectable for Pod {
    fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.metadata.labels.as_ref()
    }
    fn field(&self, path: &str) -> String {
        pod::pod_field(self, path)
    }
}

#[cfg(test)]
mod manager_tests;
#[cfg(test)]
mod role_tests;
#[cfg(test)]
pub(crate) mod testutil;
#[cfg(test)]
mod workload_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_is_prometheus_not_ksm() {
        assert_eq!(
            sanitize_label_name("app.kubernetes.io/name"),
            "app_kubernetes_io_name"
        );
        assert_eq!(sanitize_label_name("test-label"), "test_label");
        assert_eq!(sanitize_label_name("Unschedulable"), "Unschedulable");
        assert_eq!(sanitize_label_name("1é/x"), "1__x");
    }

    #[test]
    fn host_port() {
        assert_eq!(join_host_port("1.2.3.4", 80), "1.2.3.4:80");
        assert_eq!(join_host_port("fd00::1", 9000), "[fd00::1]:9000");
        assert_eq!(join_host_port("", 0), ":0");
    }
}
