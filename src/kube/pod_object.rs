//! Pods as the pods watch decodes them: a k8s-openapi [`Pod`] holding only the fields the pod
//! families and the pod discovery role (which may share the watch) read.
//!
//! Decoding a whole `Pod` was most of the CPU a pod watch event cost: every env var, probe,
//! volume mount, managed field and condition message became owned strings and maps, only to
//! be freed after rendering. Here serde skips everything else without building it, and what
//! is kept is moved into the k8s-openapi types the families are written against, so the
//! families (and their tests) are unchanged. Field semantics follow k8s-openapi's decoder: an
//! absent or `null` required field reads as its default, timestamps and quantities use the
//! same types. The tests in `pod.rs` render every fixture both ways and compare bytes.

use super::object::KubeObject;
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, EphemeralVolumeSource,
    PersistentVolumeClaimVolumeSource, Pod, PodCondition, PodIP, PodResourceClaim,
    PodResourceClaimStatus, PodSpec, PodStatus, ResourceRequirements, Toleration, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A pod decoded for the pod families; dereferences to the k8s-openapi [`Pod`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodObject(pub Pod);

impl std::ops::Deref for PodObject {
    type Target = Pod;
    fn deref(&self) -> &Pod {
        &self.0
    }
}

impl From<Pod> for PodObject {
    fn from(p: Pod) -> Self {
        PodObject(p)
    }
}

impl<'de> Deserialize<'de> for PodObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SlimPod::deserialize(d).map(|p| PodObject(p.into_pod()))
    }
}

impl KubeObject for PodObject {
    fn meta(&self) -> &ObjectMeta {
        &self.0.metadata
    }
}

type Quantities = Option<BTreeMap<String, Quantity>>;

#[derive(Deserialize, Default)]
#[serde(default)]
struct SlimPod {
    metadata: Option<SlimMeta>,
    spec: Option<SlimSpec>,
    status: Option<SlimStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimSpec {
    containers: Option<Vec<SlimContainer>>,
    init_containers: Option<Vec<SlimContainer>>,
    node_name: Option<String>,
    priority_class_name: Option<String>,
    host_network: Option<bool>,
    restart_policy: Option<String>,
    scheduler_name: Option<String>,
    service_account_name: Option<String>,
    runtime_class_name: Option<String>,
    overhead: Quantities,
    node_selector: Option<BTreeMap<String, String>>,
    tolerations: Option<Vec<Toleration>>,
    volumes: Option<Vec<SlimVolume>>,
    resource_claims: Option<Vec<PodResourceClaim>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimContainer {
    name: Option<String>,
    image: Option<String>,
    restart_policy: Option<String>,
    resources: Option<SlimResources>,
    ports: Option<Vec<ContainerPort>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SlimResources {
    limits: Quantities,
    requests: Quantities,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimVolume {
    name: Option<String>,
    persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    /// Only its presence is read.
    ephemeral: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimStatus {
    conditions: Option<Vec<SlimCondition>>,
    container_statuses: Option<Vec<SlimContainerStatus>>,
    init_container_statuses: Option<Vec<SlimContainerStatus>>,
    #[serde(rename = "hostIP")]
    host_ip: Option<String>,
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
    #[serde(rename = "podIPs")]
    pod_ips: Option<Vec<PodIP>>,
    phase: Option<String>,
    qos_class: Option<String>,
    reason: Option<String>,
    start_time: Option<Time>,
    nominated_node_name: Option<String>,
    resource_claim_statuses: Option<Vec<PodResourceClaimStatus>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimCondition {
    #[serde(rename = "type")]
    type_: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    last_transition_time: Option<Time>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimContainerStatus {
    name: Option<String>,
    image: Option<String>,
    #[serde(rename = "imageID")]
    image_id: Option<String>,
    #[serde(rename = "containerID")]
    container_id: Option<String>,
    ready: Option<bool>,
    restart_count: Option<i32>,
    state: Option<SlimState>,
    last_state: Option<SlimState>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SlimState {
    running: Option<SlimRunning>,
    terminated: Option<SlimTerminated>,
    waiting: Option<SlimWaiting>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimRunning {
    started_at: Option<Time>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SlimTerminated {
    started_at: Option<Time>,
    finished_at: Option<Time>,
    reason: Option<String>,
    exit_code: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SlimWaiting {
    reason: Option<String>,
}

fn vec_into<S, T>(v: Option<Vec<S>>, f: impl Fn(S) -> T) -> Option<Vec<T>> {
    v.map(|v| v.into_iter().map(f).collect())
}

impl SlimPod {
    fn into_pod(self) -> Pod {
        Pod {
            metadata: self.metadata.map(SlimMeta::into_meta).unwrap_or_default(),
            spec: self.spec.map(SlimSpec::into_spec),
            status: self.status.map(SlimStatus::into_status),
        }
    }
}

impl SlimMeta {
    fn into_meta(self) -> ObjectMeta {
        ObjectMeta {
            name: self.name,
            namespace: self.namespace,
            uid: self.uid,
            resource_version: self.resource_version,
            generation: self.generation,
            creation_timestamp: self.creation_timestamp,
            deletion_timestamp: self.deletion_timestamp,
            labels: self.labels,
            annotations: self.annotations,
            owner_references: self.owner_references,
            ..ObjectMeta::default()
        }
    }
}

impl SlimSpec {
    fn into_spec(self) -> PodSpec {
        PodSpec {
            containers: self
                .containers
                .unwrap_or_default()
                .into_iter()
                .map(SlimContainer::into_container)
                .collect(),
            init_containers: vec_into(self.init_containers, SlimContainer::into_container),
            node_name: self.node_name,
            priority_class_name: self.priority_class_name,
            host_network: self.host_network,
            restart_policy: self.restart_policy,
            scheduler_name: self.scheduler_name,
            service_account_name: self.service_account_name,
            runtime_class_name: self.runtime_class_name,
            overhead: self.overhead,
            node_selector: self.node_selector,
            tolerations: self.tolerations,
            volumes: vec_into(self.volumes, |v| Volume {
                name: v.name.unwrap_or_default(),
                persistent_volume_claim: v.persistent_volume_claim,
                ephemeral: v.ephemeral.map(|_| EphemeralVolumeSource::default()),
                ..Volume::default()
            }),
            resource_claims: self.resource_claims,
            ..PodSpec::default()
        }
    }
}

impl SlimContainer {
    fn into_container(self) -> Container {
        Container {
            name: self.name.unwrap_or_default(),
            image: self.image,
            restart_policy: self.restart_policy,
            resources: self.resources.map(|r| ResourceRequirements {
                limits: r.limits,
                requests: r.requests,
                ..ResourceRequirements::default()
            }),
            ports: self.ports,
            ..Container::default()
        }
    }
}

impl SlimStatus {
    fn into_status(self) -> PodStatus {
        PodStatus {
            conditions: vec_into(self.conditions, |c| PodCondition {
                type_: c.type_.unwrap_or_default(),
                status: c.status.unwrap_or_default(),
                reason: c.reason,
                last_transition_time: c.last_transition_time,
                ..PodCondition::default()
            }),
            container_statuses: vec_into(self.container_statuses, SlimContainerStatus::into_status),
            init_container_statuses: vec_into(
                self.init_container_statuses,
                SlimContainerStatus::into_status,
            ),
            host_ip: self.host_ip,
            pod_ip: self.pod_ip,
            pod_ips: self.pod_ips,
            phase: self.phase,
            qos_class: self.qos_class,
            reason: self.reason,
            start_time: self.start_time,
            nominated_node_name: self.nominated_node_name,
            resource_claim_statuses: self.resource_claim_statuses,
            ..PodStatus::default()
        }
    }
}

impl SlimContainerStatus {
    fn into_status(self) -> ContainerStatus {
        ContainerStatus {
            name: self.name.unwrap_or_default(),
            image: self.image.unwrap_or_default(),
            image_id: self.image_id.unwrap_or_default(),
            container_id: self.container_id,
            ready: self.ready.unwrap_or_default(),
            restart_count: self.restart_count.unwrap_or_default(),
            state: self.state.map(SlimState::into_state),
            last_state: self.last_state.map(SlimState::into_state),
            ..ContainerStatus::default()
        }
    }
}

impl SlimState {
    fn into_state(self) -> ContainerState {
        ContainerState {
            running: self.running.map(|r| ContainerStateRunning {
                started_at: r.started_at,
            }),
            terminated: self.terminated.map(|t| ContainerStateTerminated {
                started_at: t.started_at,
                finished_at: t.finished_at,
                reason: t.reason,
                exit_code: t.exit_code.unwrap_or_default(),
                ..ContainerStateTerminated::default()
            }),
            waiting: self.waiting.map(|w| ContainerStateWaiting {
                reason: w.reason,
                ..ContainerStateWaiting::default()
            }),
        }
    }
}
