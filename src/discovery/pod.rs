//! The pod role, and [`PodInfo`]: the part of a pod that the pod role and the endpoints
//! roles' pod joins read, so the pod cache does not hold whole pods (env, volumes, ...).

use super::config::Role;
use super::selector::Selectable;
use super::{
    add_map, add_namespace_metadata, add_node_metadata, controller_of, join_host_port, meta,
    Controller, LabelSet, Lookups, TargetGroup,
};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub name: String,
    pub number: i32,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub name: String,
    pub image: String,
    /// From the container status; `""` when there is none.
    pub id: String,
    pub init: bool,
    pub ports: Vec<PortInfo>,
}

/// What discovery keeps of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub pod_ip: String,
    /// Lowercased Ready condition status, `unknown` without one.
    pub ready: String,
    pub phase: String,
    pub node_name: String,
    pub host_ip: String,
    /// Kind and name of the first controller owner reference.
    pub controller: Controller,
    /// Containers, then init containers.
    pub containers: Vec<ContainerInfo>,
    /// Selectable fields (`spec.nodeName`, ...) beyond the ones above.
    pub fields: BTreeMap<&'static str, String>,
}

fn container(c: &Container, statuses: Option<&Vec<ContainerStatus>>, init: bool) -> ContainerInfo {
    let id = statuses
        .into_iter()
        .flatten()
        .find(|s| s.name == c.name)
        .and_then(|s| s.container_id.clone())
        .unwrap_or_default();
    ContainerInfo {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        id,
        init,
        ports: c
            .ports
            .iter()
            .flatten()
            .map(|p| PortInfo {
                name: p.name.clone().unwrap_or_default(),
                number: p.container_port,
                protocol: p.protocol.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// Field selector values for a pod, as the API server spells them.
pub(crate) fn pod_field(p: &Pod, path: &str) -> String {
    let spec = p.spec.as_ref();
    let st = p.status.as_ref();
    let s = |o: Option<&String>| o.cloned().unwrap_or_default();
    match path {
        "metadata.name" => s(p.metadata.name.as_ref()),
        "metadata.namespace" => s(p.metadata.namespace.as_ref()),
        "spec.nodeName" => s(spec.and_then(|x| x.node_name.as_ref())),
        "spec.restartPolicy" => s(spec.and_then(|x| x.restart_policy.as_ref())),
        "spec.schedulerName" => s(spec.and_then(|x| x.scheduler_name.as_ref())),
        "spec.serviceAccountName" => s(spec.and_then(|x| x.service_account_name.as_ref())),
        "spec.hostNetwork" => spec
            .and_then(|x| x.host_network)
            .unwrap_or(false)
            .to_string(),
        "status.phase" => s(st.and_then(|x| x.phase.as_ref())),
        "status.podIP" => s(st.and_then(|x| x.pod_ip.as_ref())),
        "status.nominatedNodeName" => s(st.and_then(|x| x.nominated_node_name.as_ref())),
        _ => String::new(),
    }
}

impl PodInfo {
    pub fn from_pod(p: &Pod) -> PodInfo {
        let st = p.status.as_ref();
        let spec = p.spec.as_ref();
        let md = &p.metadata;
        let ready = st
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.to_lowercase())
            .unwrap_or_else(|| "unknown".into());
        let controller = controller_of(md);
        let mut containers = Vec::new();
        if let Some(spec) = spec {
            let cs = st.and_then(|s| s.container_statuses.as_ref());
            let ics = st.and_then(|s| s.init_container_statuses.as_ref());
            containers.extend(spec.containers.iter().map(|c| container(c, cs, false)));
            containers.extend(
                spec.init_containers
                    .iter()
                    .flatten()
                    .map(|c| container(c, ics, true)),
            );
        }
        let fields = Role::Pod
            .selectable_fields()
            .iter()
            .filter(|f| {
                !f.starts_with("metadata.")
                    && **f != "status.phase"
                    && **f != "status.podIP"
                    && **f != "spec.nodeName"
            })
            .map(|f| (*f, pod_field(p, f)))
            .collect();
        PodInfo {
            namespace: md.namespace.clone().unwrap_or_default(),
            name: md.name.clone().unwrap_or_default(),
            uid: md.uid.clone().unwrap_or_default(),
            labels: md.labels.clone().unwrap_or_default(),
            annotations: md.annotations.clone().unwrap_or_default(),
            pod_ip: st.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
            ready,
            phase: st.and_then(|s| s.phase.clone()).unwrap_or_default(),
            node_name: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
            host_ip: st.and_then(|s| s.host_ip.clone()).unwrap_or_default(),
            controller,
            containers,
            fields,
        }
    }

    pub fn source(&self) -> String {
        format!("pod/{}/{}", self.namespace, self.name)
    }

    /// Prometheus's `podLabels`: everything the pod contributes, without `namespace` (the
    /// endpoints roles merge this into targets), including the workload names the job's
    /// attach_metadata asks for.
    pub fn labels(&self, l: &Lookups) -> LabelSet {
        let mut out = LabelSet::new();
        out.insert(meta("pod_name"), self.name.clone());
        out.insert(meta("pod_ip"), self.pod_ip.clone());
        out.insert(meta("pod_ready"), self.ready.clone());
        out.insert(meta("pod_phase"), self.phase.clone());
        out.insert(meta("pod_node_name"), self.node_name.clone());
        out.insert(meta("pod_host_ip"), self.host_ip.clone());
        out.insert(meta("pod_uid"), self.uid.clone());
        add_map(&mut out, "pod", "label", Some(&self.labels));
        add_map(&mut out, "pod", "annotation", Some(&self.annotations));
        if let Some((kind, name)) = &self.controller {
            if !kind.is_empty() {
                out.insert(meta("pod_controller_kind"), kind.clone());
            }
            if !name.is_empty() {
                out.insert(meta("pod_controller_name"), name.clone());
            }
            self.add_workload_labels(&mut out, kind, name, l);
        }
        out
    }

    /// `pod_deployment_name`, `pod_job_name`, `pod_cronjob_name` (Prometheus v3.11+): the
    /// job name needs no lookup, the other two need the controller's own controller.
    fn add_workload_labels(&self, out: &mut LabelSet, kind: &str, name: &str, l: &Lookups) {
        match kind {
            "ReplicaSet" => {
                if let Some(d) = l.deployment_of(&self.namespace, name) {
                    out.insert(meta("pod_deployment_name"), d.to_string());
                }
            }
            "Job" => {
                if l.job.attach.job {
                    out.insert(meta("pod_job_name"), name.to_string());
                }
                if let Some(c) = l.cronjob_of(&self.namespace, name) {
                    out.insert(meta("pod_cronjob_name"), c.to_string());
                }
            }
            _ => {}
        }
    }
}

impl Selectable for PodInfo {
    fn labels(&self) -> Option<&BTreeMap<String, String>> {
        Some(&self.labels)
    }
    fn field(&self, path: &str) -> String {
        match path {
            "metadata.name" => self.name.clone(),
            "metadata.namespace" => self.namespace.clone(),
            "spec.nodeName" => self.node_name.clone(),
            "status.phase" => self.phase.clone(),
            "status.podIP" => self.pod_ip.clone(),
            f => self.fields.get(f).cloned().unwrap_or_default(),
        }
    }
}

/// The pod role for one pod.
pub fn pod_group(pod: &Pod, l: &Lookups) -> TargetGroup {
    pod_info_group(&PodInfo::from_pod(pod), l)
}

/// The pod role from the cached form: `{source}` alone when the pod has no IP yet, or when
/// attaching node metadata and its node is unknown (or filtered out by a node selector).
pub fn pod_info_group(p: &PodInfo, l: &Lookups) -> TargetGroup {
    let mut tg = TargetGroup::empty(p.source());
    if p.pod_ip.is_empty() {
        return tg;
    }
    if l.attach_node() {
        match l.node(&p.node_name) {
            Some(n) => add_node_metadata(&mut tg.labels, n),
            None => return tg,
        }
    }
    tg.labels.extend(p.labels(l));
    tg.labels.insert(meta("namespace"), p.namespace.clone());
    add_namespace_metadata(&mut tg.labels, l, &p.namespace);
    for c in &p.containers {
        let init = if c.init { "true" } else { "false" };
        let base = |addr: String| {
            let mut t = LabelSet::new();
            t.insert("__address__".into(), addr);
            t.insert(meta("pod_container_name"), c.name.clone());
            t.insert(meta("pod_container_id"), c.id.clone());
            t.insert(meta("pod_container_image"), c.image.clone());
            t.insert(meta("pod_container_init"), init.into());
            t
        };
        if c.ports.is_empty() {
            tg.targets.push(base(p.pod_ip.clone()));
            continue;
        }
        for port in &c.ports {
            let mut t = base(join_host_port(&p.pod_ip, port.number));
            t.insert(meta("pod_container_port_name"), port.name.clone());
            t.insert(meta("pod_container_port_number"), port.number.to_string());
            t.insert(meta("pod_container_port_protocol"), port.protocol.clone());
            tg.targets.push(t);
        }
    }
    tg
}
