//! Pod families, in kube-state-metrics' order (`internal/store/pod.go`).
//!
//! Behaviour follows kube-state-metrics v2.20 sample for sample, including its quirks: an
//! absent timestamp inside a container state or condition reads as Go's zero time
//! (`-6.21355968e+10`), `kube_pod_owner` without owners has empty labels, and
//! `kube_pod_status_qos_class` reports only what the kubelet wrote (no QoS computation).

use crate::kube::pod_object::PodObject;
use crate::metrics::common::{
    annotations, bool_value, created, deletion_timestamp, labels, owner, resource_units,
    sanitize_resource_name, time_or_go_zero, CONDITION_STATUSES,
};
use crate::metrics::family::{identity_labels, kube_map_to_labels_all, Family, RenderCtx, Samples};
use crate::metrics::quantity::parse_quantity;
use crate::metrics::time::unix_seconds;
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::{
    Container, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus,
};
use std::net::{IpAddr, Ipv6Addr};

pub static POD: ResourceDef<PodObject> = ResourceDef {
    name: "pods",
    identity: pod_identity,
    families: FAMILIES,
};

fn pod_identity(o: &PodObject) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("pod", m.name.as_deref().unwrap_or("")),
        ("uid", m.uid.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<PodObject>] = &[
    Family::stable(
        "kube_pod_completion_time",
        "Completion time in unix timestamp for a pod.",
        completion_time,
    ),
    Family::stable(
        "kube_pod_container_info",
        "Information about a container in a pod.",
        container_info::<false>,
    ),
    Family::stable(
        "kube_pod_container_resource_limits",
        "The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
        container_resources::<false, true>,
    ),
    Family::stable(
        "kube_pod_container_resource_requests",
        "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        container_resources::<false, false>,
    ),
    Family::stable(
        "kube_pod_container_state_started",
        "Start time in unix timestamp for a pod container.",
        state_started::<false>,
    ),
    Family::experimental(
        "kube_pod_container_status_last_terminated_reason",
        "Describes the last reason the container was in terminated state.",
        last_terminated_reason::<false>,
    ),
    Family::experimental(
        "kube_pod_container_status_last_terminated_exitcode",
        "Describes the exit code for the last container in terminated state.",
        last_terminated_exitcode::<false>,
    ),
    Family::experimental(
        "kube_pod_container_status_last_terminated_timestamp",
        "Last terminated time for a pod container in unix timestamp.",
        last_terminated_timestamp::<false>,
    ),
    Family::stable(
        "kube_pod_container_status_ready",
        "Describes whether the containers readiness check succeeded.",
        status_ready::<false>,
    ),
    Family::stable(
        "kube_pod_container_status_restarts_total",
        "The number of container restarts per container.",
        restarts_total::<false>,
    )
    .counter(),
    Family::stable(
        "kube_pod_container_status_running",
        "Describes whether the container is currently in running state.",
        status_running::<false>,
    ),
    Family::stable(
        "kube_pod_container_status_terminated",
        "Describes whether the container is currently in terminated state.",
        status_terminated::<false>,
    ),
    Family::experimental(
        "kube_pod_container_status_terminated_reason",
        "Describes the reason the container is currently in terminated state.",
        terminated_reason::<false>,
    ),
    Family::stable(
        "kube_pod_container_status_waiting",
        "Describes whether the container is currently in waiting state.",
        status_waiting::<false>,
    ),
    Family::stable(
        "kube_pod_container_status_waiting_reason",
        "Describes the reason the container is currently in waiting state.",
        waiting_reason::<false>,
    ),
    Family::stable("kube_pod_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_pod_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    Family::stable("kube_pod_info", "Information about pod.", info),
    Family::experimental("kube_pod_ips", "Pod IP addresses", ips),
    Family::stable(
        "kube_pod_init_container_info",
        "Information about an init container in a pod.",
        container_info::<true>,
    ),
    Family::experimental(
        "kube_pod_init_container_resource_limits",
        "The number of requested limit resource by an init container.",
        container_resources::<true, true>,
    ),
    Family::experimental(
        "kube_pod_init_container_resource_requests",
        "The number of requested request resource by an init container.",
        container_resources::<true, false>,
    ),
    Family::experimental(
        "kube_pod_init_container_state_started",
        "Start time in unix timestamp for a pod init container.",
        state_started::<true>,
    ),
    Family::experimental(
        "kube_pod_init_container_status_last_terminated_reason",
        "Describes the last reason the init container was in terminated state.",
        last_terminated_reason::<true>,
    ),
    Family::experimental(
        "kube_pod_init_container_status_last_terminated_exitcode",
        "Describes the exit code for the last init container in terminated state.",
        last_terminated_exitcode::<true>,
    ),
    Family::experimental(
        "kube_pod_init_container_status_last_terminated_timestamp",
        "Last terminated time for a pod init container in unix timestamp.",
        last_terminated_timestamp::<true>,
    ),
    Family::stable(
        "kube_pod_init_container_status_ready",
        "Describes whether the init containers readiness check succeeded.",
        status_ready::<true>,
    ),
    Family::stable(
        "kube_pod_init_container_status_restarts_total",
        "The number of restarts for the init container.",
        restarts_total::<true>,
    )
    .counter(),
    Family::stable(
        "kube_pod_init_container_status_running",
        "Describes whether the init container is currently in running state.",
        status_running::<true>,
    ),
    Family::stable(
        "kube_pod_init_container_status_terminated",
        "Describes whether the init container is currently in terminated state.",
        status_terminated::<true>,
    ),
    Family::experimental(
        "kube_pod_init_container_status_terminated_reason",
        "Describes the reason the init container is currently in terminated state.",
        terminated_reason::<true>,
    ),
    Family::stable(
        "kube_pod_init_container_status_waiting",
        "Describes whether the init container is currently in waiting state.",
        status_waiting::<true>,
    ),
    Family::experimental(
        "kube_pod_init_container_status_waiting_reason",
        "Describes the reason the init container is currently in waiting state.",
        waiting_reason::<true>,
    ),
    Family::experimental(
        "kube_pod_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_pod_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental(
        "kube_pod_overhead_cpu_cores",
        "The pod overhead in regards to cpu cores associated with running a pod.",
        overhead_cpu_cores,
    ),
    Family::experimental(
        "kube_pod_overhead_memory_bytes",
        "The pod overhead in regards to memory associated with running a pod.",
        overhead_memory_bytes,
    ),
    Family::stable("kube_pod_owner", "Information about the Pod's owner.", owner),
    Family::experimental(
        "kube_pod_resourceclaim_info",
        "Information about a DRA ResourceClaim referenced by a pod, one series per pod.spec.resourceClaims entry; claim_name is the pod-local reference and resourceclaim_name is the resolved ResourceClaim object name.",
        resourceclaim_info,
    ),
    Family::stable(
        "kube_pod_restart_policy",
        "Describes the restart policy in use by this pod.",
        restart_policy,
    ),
    Family::experimental(
        "kube_pod_runtimeclass_name_info",
        "The runtimeclass associated with the pod.",
        runtimeclass_name_info,
    ),
    Family::stable(
        "kube_pod_spec_volumes_persistentvolumeclaims_info",
        "Information about persistentvolumeclaim and ephemeral volumes in a pod.",
        pvc_info,
    ),
    Family::stable(
        "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
        "Describes whether a persistentvolumeclaim is mounted read only. Ephemeral volumes always report 0 since the ephemeral volume source does not support a read-only flag.",
        pvc_readonly,
    ),
    Family::stable(
        "kube_pod_start_time",
        "Start time in unix timestamp for a pod.",
        start_time,
    ),
    Family::stable("kube_pod_status_phase", "The pods current phase.", status_phase),
    Family::experimental(
        "kube_pod_status_qos_class",
        "The pods current qosClass.",
        status_qos_class,
    ),
    Family::stable(
        "kube_pod_status_ready",
        "Describes whether the pod is ready to serve requests.",
        condition_status::<READY>,
    ),
    Family::experimental(
        "kube_pod_status_ready_time",
        "Readiness achieved time in unix timestamp for a pod.",
        condition_true_time::<READY>,
    ),
    Family::experimental(
        "kube_pod_status_initialized_time",
        "Initialized time in unix timestamp for a pod.",
        condition_true_time::<INITIALIZED>,
    ),
    Family::experimental(
        "kube_pod_status_container_ready_time",
        "Readiness achieved time in unix timestamp for a pod containers.",
        condition_true_time::<CONTAINERS_READY>,
    ),
    Family::experimental("kube_pod_status_reason", "The pod status reasons", status_reason),
    Family::experimental(
        "kube_pod_status_disruption_reason",
        "The pod disruption condition reason",
        disruption_reason,
    ),
    Family::stable(
        "kube_pod_status_scheduled",
        "Describes the status of the scheduling process for the pod.",
        condition_status::<SCHEDULED>,
    ),
    Family::stable(
        "kube_pod_status_scheduled_time",
        "Unix timestamp when pod moved into scheduled status",
        condition_true_time::<SCHEDULED>,
    ),
    Family::stable(
        "kube_pod_status_unschedulable",
        "Describes the unschedulable status for the pod.",
        unschedulable,
    ),
    Family::experimental(
        "kube_pod_status_unscheduled_time",
        "Unix timestamp when pod moved into unscheduled status",
        unscheduled_time,
    ),
    Family::experimental(
        "kube_pod_tolerations",
        "Information about the pod tolerations",
        tolerations,
    ),
    Family::experimental(
        "kube_pod_nodeselectors",
        "Describes the Pod nodeSelectors.",
        nodeselectors,
    )
    .opt_in(),
    Family::experimental(
        "kube_pod_service_account",
        "The service account for a pod.",
        service_account,
    ),
    Family::experimental("kube_pod_scheduler", "The scheduler for a pod.", scheduler),
];

// ---------------------------------------------------------------------------------------
// Accessors. Everything optional in the API reads as Go's zero value, as KSM sees it.

fn s_or(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

fn spec(p: &Pod) -> Option<&PodSpec> {
    p.spec.as_ref()
}

fn status(p: &Pod) -> Option<&PodStatus> {
    p.status.as_ref()
}

fn node_name(p: &Pod) -> &str {
    spec(p).map_or("", |s| s_or(&s.node_name))
}

fn conditions(p: &Pod) -> &[PodCondition] {
    status(p)
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[])
}

fn containers<const INIT: bool>(p: &Pod) -> &[Container] {
    match spec(p) {
        None => &[],
        Some(s) if INIT => s.init_containers.as_deref().unwrap_or(&[]),
        Some(s) => &s.containers,
    }
}

fn container_statuses<const INIT: bool>(p: &Pod) -> &[ContainerStatus] {
    let Some(st) = status(p) else {
        return &[];
    };
    let v = if INIT {
        st.init_container_statuses.as_deref()
    } else {
        st.container_statuses.as_deref()
    };
    v.unwrap_or(&[])
}

fn is_running(cs: &ContainerStatus) -> bool {
    cs.state.as_ref().is_some_and(|s| s.running.is_some())
}

fn terminated(cs: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    cs.state.as_ref().and_then(|s| s.terminated.as_ref())
}

fn last_terminated(cs: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    cs.last_state.as_ref().and_then(|s| s.terminated.as_ref())
}

/// `Quantity.Value()`: whole units rounded up, which KSM uses for everything but cpu.
fn whole_units(q: &str) -> Option<f64> {
    parse_quantity(q).map(f64::ceil)
}

// ---------------------------------------------------------------------------------------
// Container families, shared between containers (`INIT = false`) and init containers.

fn completion_time(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    // KSM's fold: starts at 0 and takes any later finish; a zero-time finish leaves it negative
    // and then no sample is written.
    let mut last = 0.0;
    for cs in container_statuses::<false>(p) {
        if let Some(t) = terminated(cs) {
            let f = time_or_go_zero(t.finished_at.as_ref());
            if last == 0.0 || last < f {
                last = f;
            }
        }
    }
    if last > 0.0 {
        s.value(last);
    }
}

fn container_info<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let statuses = container_statuses::<INIT>(p);
    for c in containers::<INIT>(p) {
        let restart_policy = s_or(&c.restart_policy);
        for cs in statuses.iter().filter(|cs| cs.name == c.name) {
            let labels = [
                ("container", cs.name.as_str()),
                ("image_spec", s_or(&c.image)),
                ("image", cs.image.as_str()),
                ("image_id", cs.image_id.as_str()),
                ("container_id", s_or(&cs.container_id)),
                ("restart_policy", restart_policy),
            ];
            let n = if INIT { 6 } else { 5 };
            s.push(&labels[..n], 1.0);
        }
    }
}

fn container_resources<const INIT: bool, const LIMITS: bool>(
    p: &PodObject,
    _: &RenderCtx,
    s: &mut Samples,
) {
    let node = node_name(p);
    for c in containers::<INIT>(p) {
        let Some(r) = c.resources.as_ref() else {
            continue;
        };
        let map = if LIMITS {
            r.limits.as_ref()
        } else {
            r.requests.as_ref()
        };
        for (name, q) in map.into_iter().flatten() {
            push_resource(s, c.name.as_str(), node, name, &q.0);
        }
    }
}

/// One sample per resource kind KSM recognises (cpu in cores; memory, storage, hugepages and
/// attachable volumes in bytes; extended resources as integers); other names are dropped.
fn push_resource(s: &mut Samples, container: &str, node: &str, name: &str, q: &str) {
    let mut push = |unit: &str, v: Option<f64>| {
        if let Some(v) = v {
            let res = sanitize_resource_name(name);
            s.push(
                &[
                    ("container", container),
                    ("node", node),
                    ("resource", &res),
                    ("unit", unit),
                ],
                v,
            );
        }
    };
    resource_units(name, false, |unit| {
        push(
            unit,
            if unit == "core" {
                parse_quantity(q)
            } else {
                whole_units(q)
            },
        )
    });
}

fn state_started<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        let Some(st) = cs.state.as_ref() else {
            continue;
        };
        let started = if let Some(r) = st.running.as_ref() {
            r.started_at.as_ref()
        } else if let Some(t) = st.terminated.as_ref() {
            t.started_at.as_ref()
        } else {
            continue;
        };
        s.push(&[("container", cs.name.as_str())], time_or_go_zero(started));
    }
}

/// One sample per container status, labelled `container`, valued by `value`; a container for
/// which `value` has nothing gets no sample.
fn per_container<const INIT: bool>(
    p: &Pod,
    s: &mut Samples,
    value: impl Fn(&ContainerStatus) -> Option<f64>,
) {
    for cs in container_statuses::<INIT>(p) {
        if let Some(v) = value(cs) {
            s.push(&[("container", cs.name.as_str())], v);
        }
    }
}

/// Like [`per_container`] for the `*_reason` families: `container`, `reason`, value 1.
fn per_container_reason<const INIT: bool>(
    p: &Pod,
    s: &mut Samples,
    reason: impl Fn(&ContainerStatus) -> Option<&str>,
) {
    for cs in container_statuses::<INIT>(p) {
        if let Some(r) = reason(cs) {
            s.push(&[("container", cs.name.as_str()), ("reason", r)], 1.0);
        }
    }
}

fn last_terminated_reason<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container_reason::<INIT>(p, s, |cs| last_terminated(cs).map(|t| s_or(&t.reason)));
}

fn last_terminated_exitcode<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container::<INIT>(p, s, |cs| {
        last_terminated(cs).map(|t| f64::from(t.exit_code))
    });
}

fn last_terminated_timestamp<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container::<INIT>(p, s, |cs| {
        last_terminated(cs).map(|t| time_or_go_zero(t.finished_at.as_ref()))
    });
}

fn status_ready<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container::<INIT>(p, s, |cs| Some(bool_value(cs.ready)));
}

fn restarts_total<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container::<INIT>(p, s, |cs| Some(f64::from(cs.restart_count)));
}

fn status_running<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container::<INIT>(p, s, |cs| Some(bool_value(is_running(cs))));
}

fn status_terminated<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container::<INIT>(p, s, |cs| Some(bool_value(terminated(cs).is_some())));
}

fn terminated_reason<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container_reason::<INIT>(p, s, |cs| terminated(cs).map(|t| s_or(&t.reason)));
}

fn status_waiting<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    per_container::<INIT>(p, s, |cs| {
        Some(bool_value(
            cs.state.as_ref().is_some_and(|st| st.waiting.is_some()),
        ))
    });
}

fn waiting_reason<const INIT: bool>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        if let Some(w) = cs.state.as_ref().and_then(|st| st.waiting.as_ref()) {
            s.push(
                &[("container", cs.name.as_str()), ("reason", s_or(&w.reason))],
                1.0,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pod-level families.

fn info(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let controller = p
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    let (kind, name) = controller.map_or(("", ""), |o| (o.kind.as_str(), o.name.as_str()));
    let st = status(p);
    let sp = spec(p);
    let host_network = sp.and_then(|s| s.host_network).unwrap_or(false);
    s.push(
        &[
            ("host_ip", st.map_or("", |s| s_or(&s.host_ip))),
            ("pod_ip", st.map_or("", |s| s_or(&s.pod_ip))),
            ("node", node_name(p)),
            ("created_by_kind", kind),
            ("created_by_name", name),
            (
                "priority_class",
                sp.map_or("", |s| s_or(&s.priority_class_name)),
            ),
            ("host_network", if host_network { "true" } else { "false" }),
        ],
        1.0,
    );
}

fn ips(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let pod_ips = status(p)
        .and_then(|st| st.pod_ips.as_deref())
        .unwrap_or(&[]);
    for ip in pod_ips {
        if let Some(family) = ip_family(&ip.ip) {
            s.push(&[("ip", ip.ip.as_str()), ("ip_family", family)], 1.0);
        }
    }
}

/// Go's `netip.ParseAddr(..).Unmap()`: IPv4-mapped IPv6 counts as IPv4, an IPv6 zone is
/// accepted, anything unparsable gets no sample.
fn ip_family(ip: &str) -> Option<&'static str> {
    let addr = match ip.split_once('%') {
        Some((a, zone)) if !zone.is_empty() => IpAddr::V6(a.parse::<Ipv6Addr>().ok()?),
        Some(_) => return None,
        None => ip.parse::<IpAddr>().ok()?,
    };
    Some(match addr {
        IpAddr::V4(_) => "4",
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => "4",
        IpAddr::V6(_) => "6",
    })
}

fn overhead<'a>(p: &'a Pod, resource: &str) -> Option<&'a str> {
    spec(p)?
        .overhead
        .as_ref()?
        .get(resource)
        .map(|q| q.0.as_str())
}

fn overhead_cpu_cores(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = overhead(p, "cpu").and_then(parse_quantity) {
        s.value(v);
    }
}

fn overhead_memory_bytes(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = overhead(p, "memory").and_then(whole_units) {
        s.value(v);
    }
}

fn resourceclaim_info(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let claims = spec(p)
        .and_then(|sp| sp.resource_claims.as_deref())
        .unwrap_or(&[]);
    let statuses = status(p)
        .and_then(|st| st.resource_claim_statuses.as_deref())
        .unwrap_or(&[]);
    for rc in claims {
        let claim_name = match (&rc.resource_claim_name, &rc.resource_claim_template_name) {
            (None, None) => continue,
            (Some(n), _) => n.as_str(),
            // Template-backed: the kubelet writes the generated name into status; the last
            // status entry of that name wins, as with KSM's map.
            (None, Some(_)) => statuses
                .iter()
                .rev()
                .find(|st| st.name == rc.name && st.resource_claim_name.is_some())
                .map_or("", |st| s_or(&st.resource_claim_name)),
        };
        s.push(
            &[
                ("claim_name", rc.name.as_str()),
                ("resourceclaim_name", claim_name),
                (
                    "resourceclaim_template_name",
                    s_or(&rc.resource_claim_template_name),
                ),
            ],
            1.0,
        );
    }
}

fn restart_policy(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let policy = spec(p).map_or("", |sp| s_or(&sp.restart_policy));
    s.push(&[("type", policy)], 1.0);
}

fn runtimeclass_name_info(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    if let Some(rc) = spec(p).and_then(|sp| sp.runtime_class_name.as_deref()) {
        s.push(&[("runtimeclass_name", rc)], 1.0);
    }
}

/// PVC-backed volumes as (volume, claim, ephemeral, read-only value); a generic ephemeral
/// volume's claim is named `<pod>-<volume>` and never read-only in KSM's eyes.
fn pvc_volumes<F: FnMut(&str, &str, &str, f64)>(p: &Pod, mut f: F) {
    let volumes = spec(p).and_then(|sp| sp.volumes.as_deref()).unwrap_or(&[]);
    for v in volumes {
        if let Some(pvc) = v.persistent_volume_claim.as_ref() {
            f(
                &v.name,
                &pvc.claim_name,
                "false",
                bool_value(pvc.read_only.unwrap_or(false)),
            );
        } else if v.ephemeral.is_some() {
            let pod = p.metadata.name.as_deref().unwrap_or("");
            let claim = format!("{pod}-{}", v.name);
            f(&v.name, &claim, "true", 0.0);
        }
    }
}

fn pvc_info(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    pvc_volumes(p, |volume, claim, ephemeral, _| {
        s.push(
            &[
                ("volume", volume),
                ("persistentvolumeclaim", claim),
                ("ephemeral", ephemeral),
            ],
            1.0,
        );
    });
}

fn pvc_readonly(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    pvc_volumes(p, |volume, claim, ephemeral, read_only| {
        s.push(
            &[
                ("volume", volume),
                ("persistentvolumeclaim", claim),
                ("ephemeral", ephemeral),
            ],
            read_only,
        );
    });
}

fn start_time(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    if let Some(t) = status(p).and_then(|st| st.start_time.as_ref()) {
        s.value(unix_seconds(t));
    }
}

fn status_phase(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let phase = status(p).map_or("", |st| s_or(&st.phase));
    if phase.is_empty() {
        return;
    }
    for name in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
        s.push(&[("phase", name)], bool_value(phase == name));
    }
}

fn status_qos_class(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let class = status(p).map_or("", |st| s_or(&st.qos_class));
    if class.is_empty() {
        return;
    }
    for name in ["BestEffort", "Burstable", "Guaranteed"] {
        s.push(&[("qos_class", name)], bool_value(class == name));
    }
}

const READY: u8 = 0;
const INITIALIZED: u8 = 1;
const CONTAINERS_READY: u8 = 2;
const SCHEDULED: u8 = 3;

/// Condition types as const-generic selectors, so one generator serves several families.
const fn condition_type(t: u8) -> &'static str {
    match t {
        READY => "Ready",
        INITIALIZED => "Initialized",
        CONTAINERS_READY => "ContainersReady",
        _ => "PodScheduled",
    }
}

/// One series per possible status (`true`, `false`, `unknown`) for each condition of the type.
fn condition_status<const T: u8>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p)
        .iter()
        .filter(|c| c.type_ == condition_type(T))
    {
        for (status, label) in CONDITION_STATUSES {
            s.push(&[("condition", label)], bool_value(c.status == status));
        }
    }
}

fn condition_true_time<const T: u8>(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p) {
        if c.type_ == condition_type(T) && c.status == "True" {
            s.value(time_or_go_zero(c.last_transition_time.as_ref()));
        }
    }
}

const POD_STATUS_REASONS: [&str; 8] = [
    "Evicted",
    "NodeAffinity",
    "NodeLost",
    "PreemptionByScheduler",
    "SchedulingGated",
    "Shutdown",
    "TerminationByKubelet",
    "UnexpectedAdmissionError",
];

const DISRUPTION_REASONS: [&str; 5] = [
    "PreemptionByScheduler",
    "DeletionByTaintManager",
    "EvictionByEvictionAPI",
    "DeletionByPodGC",
    "TerminationByKubelet",
];

/// A reason counts when the pod, any condition or any currently terminated container carries
/// it; an empty reason matches nothing because KSM's known reasons are all non-empty.
fn has_status_reason(p: &Pod, reason: &str) -> bool {
    status(p).is_some_and(|st| s_or(&st.reason) == reason)
        || conditions(p).iter().any(|c| s_or(&c.reason) == reason)
        || container_statuses::<false>(p)
            .iter()
            .any(|cs| terminated(cs).is_some_and(|t| s_or(&t.reason) == reason))
}

fn status_reason(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for reason in POD_STATUS_REASONS {
        if has_status_reason(p, reason) {
            s.push(&[("reason", reason)], 1.0);
        }
    }
    let own = status(p).map_or("", |st| s_or(&st.reason));
    if !own.is_empty() && !POD_STATUS_REASONS.contains(&own) {
        s.push(&[("reason", "Other")], 1.0);
    }
}

fn disruption_reason(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p)
        .iter()
        .filter(|c| c.type_ == "DisruptionTarget")
    {
        let reason = s_or(&c.reason);
        let reason = if DISRUPTION_REASONS.contains(&reason) {
            reason
        } else {
            "Other"
        };
        s.push(&[("reason", reason)], 1.0);
    }
}

fn unschedulable(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p) {
        if c.type_ == "PodScheduled" && c.status == "False" {
            s.value(1.0);
        }
    }
}

fn unscheduled_time(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p) {
        if c.type_ == "PodScheduled" && c.status == "False" {
            s.value(time_or_go_zero(c.last_transition_time.as_ref()));
        }
    }
}

fn tolerations(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let all = spec(p)
        .and_then(|sp| sp.tolerations.as_deref())
        .unwrap_or(&[]);
    for (i, t) in all.iter().enumerate() {
        // KSM deduplicates on all five fields, keeping the first occurrence.
        let same = |o: &&k8s_openapi::api::core::v1::Toleration| {
            s_or(&o.key) == s_or(&t.key)
                && s_or(&o.operator) == s_or(&t.operator)
                && s_or(&o.value) == s_or(&t.value)
                && s_or(&o.effect) == s_or(&t.effect)
                && o.toleration_seconds == t.toleration_seconds
        };
        if all[..i].iter().any(|o| same(&o)) {
            continue;
        }
        let seconds = t
            .toleration_seconds
            .map(|v| v.to_string())
            .unwrap_or_default();
        s.push(
            &[
                ("key", s_or(&t.key)),
                ("operator", s_or(&t.operator)),
                ("value", s_or(&t.value)),
                ("effect", s_or(&t.effect)),
                ("toleration_seconds", seconds.as_str()),
            ],
            1.0,
        );
    }
}

fn nodeselectors(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let l = kube_map_to_labels_all(
        "nodeselector",
        spec(p).and_then(|sp| sp.node_selector.as_ref()),
    );
    s.push(&l, 1.0);
}

fn service_account(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let sa = spec(p).map_or("", |sp| s_or(&sp.service_account_name));
    s.push(&[("service_account", sa)], 1.0);
}

fn scheduler(p: &PodObject, _: &RenderCtx, s: &mut Samples) {
    let name = spec(p).map_or("", |sp| s_or(&sp.scheduler_name));
    s.push(&[("name", name)], 1.0);
}

/// The slim pod's metadata, for the shared `_labels`/`_annotations`/`_created` helpers.
impl crate::metrics::common::Meta for PodObject {
    fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.0.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::common::is_extended_resource_name;
    use crate::metrics::family::{MetricType, Stability};
    use crate::metrics::filter::Allowlist;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    /// `name{<identity>,<labels>} value`, as the writer formats it.
    fn line(name: &str, id: &str, labels: &str, value: &str) -> String {
        if labels.is_empty() {
            format!("{name}{{{id}}} {value}")
        } else {
            format!("{name}{{{id},{labels}}} {value}")
        }
    }

    fn lines(p: &Pod, names: &[&str]) -> Vec<String> {
        render_lines(&POD, &watched(p), allow_all(), names)
    }

    /// Every family (opt-in ones included) with every label and annotation allowed.
    fn render_all(p: &PodObject) -> String {
        let all = crate::metrics::filter::MetricFilter::new(&[], &[], &[".*".to_string()])
            .expect("static regex");
        crate::metrics::Renderer::new(&POD, &all, allow_all()).render_text(p)
    }

    /// The pod as the watch hands it over: its JSON through [`PodObject`]'s slim decode,
    /// after checking that this renders byte for byte like the full k8s-openapi decode.
    fn watched(p: &Pod) -> PodObject {
        let json = serde_json::to_string(p).expect("pod encodes");
        let slim: PodObject = serde_json::from_str(&json).expect("slim decode");
        assert_eq!(
            render_all(&slim),
            render_all(&PodObject(p.clone())),
            "slim and full decode differ for {json}"
        );
        slim
    }

    const RUN_ID: &str = r#"namespace="prod",pod="web-7d9f",uid="uid-run""#;

    fn running_pod() -> Pod {
        obj(r#"{
          "metadata": {
            "name": "web-7d9f", "namespace": "prod", "uid": "uid-run",
            "creationTimestamp": "2024-01-02T03:04:05Z",
            "labels": {"app": "web", "app.kubernetes.io/name": "web", "team": "payments"},
            "annotations": {"prometheus.io/scrape": "true", "owner": "team-a"},
            "ownerReferences": [
              {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n1"},
              {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "rs1", "controller": true}
            ]
          },
          "spec": {
            "nodeName": "node-1",
            "priorityClassName": "high",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "web-sa",
            "runtimeClassName": "gvisor",
            "overhead": {"cpu": "250m", "memory": "120Mi"},
            "nodeSelector": {"kubernetes.io/os": "linux", "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
            "tolerations": [
              {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
              {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
              {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
              {"operator": "Exists"}
            ],
            "resourceClaims": [
              {"name": "gpu", "resourceClaimTemplateName": "gpu-template"},
              {"name": "shared", "resourceClaimName": "shared-claim"},
              {"name": "pending", "resourceClaimTemplateName": "gpu-template"},
              {"name": "broken"}
            ],
            "containers": [
              {"name": "app", "image": "nginx:1.25",
               "resources": {
                 "requests": {"cpu": "250m", "memory": "64Mi", "nvidia.com/gpu": "1"},
                 "limits": {"cpu": "1", "memory": "128Mi", "nvidia.com/gpu": "1", "ephemeral-storage": "1Gi", "hugepages-2Mi": "4Mi"}
               }},
              {"name": "sidecar", "image": "envoy:v1",
               "resources": {
                 "requests": {"cpu": "100m", "memory": "32Mi", "pods": "1", "example.com/foo": "2", "kubernetes.io/bar": "1"}
               }}
            ]
          },
          "status": {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": "10.1.2.3",
            "podIPs": [{"ip": "10.1.2.3"}, {"ip": "fd00::3"}, {"ip": "::ffff:1.2.3.4"}, {"ip": "not-an-ip"}],
            "qosClass": "Burstable",
            "startTime": "2024-01-02T03:04:07Z",
            "conditions": [
              {"type": "Initialized", "status": "True", "lastTransitionTime": "2024-01-02T03:04:07Z"},
              {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-02T03:04:31Z"},
              {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2024-01-02T03:04:30Z"},
              {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-02T03:04:05Z"}
            ],
            "containerStatuses": [
              {"name": "app", "image": "docker.io/library/nginx:1.25", "imageID": "docker.io/library/nginx@sha256:aaa",
               "containerID": "containerd://c1", "ready": true, "restartCount": 0,
               "state": {"running": {"startedAt": "2024-01-02T03:04:09Z"}}},
              {"name": "sidecar", "image": "docker.io/envoyproxy/envoy:v1", "imageID": "docker.io/envoyproxy/envoy@sha256:bbb",
               "containerID": "containerd://c2", "ready": true, "restartCount": 3,
               "state": {"running": {"startedAt": "2024-01-02T03:04:30Z"}},
               "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                 "startedAt": "2024-01-02T03:04:09Z", "finishedAt": "2024-01-02T03:04:29Z"}}}
            ],
            "resourceClaimStatuses": [{"name": "gpu", "resourceClaimName": "web-7d9f-gpu-x7k2p"}]
          }
        }"#)
    }

    #[test]
    fn running_pod_info_and_owner() {
        let p = running_pod();
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_info",
                    "kube_pod_owner",
                    "kube_pod_created",
                    "kube_pod_start_time"
                ]
            ),
            vec![
                line("kube_pod_created", RUN_ID, "", "1.704164645e+09"),
                line(
                    "kube_pod_info",
                    RUN_ID,
                    r#"host_ip="10.0.0.1",pod_ip="10.1.2.3",node="node-1",created_by_kind="ReplicaSet",created_by_name="web-7d9f",priority_class="high",host_network="false""#,
                    "1"
                ),
                line(
                    "kube_pod_owner",
                    RUN_ID,
                    r#"owner_kind="Node",owner_name="node-1",owner_is_controller="false""#,
                    "1"
                ),
                line(
                    "kube_pod_owner",
                    RUN_ID,
                    r#"owner_kind="ReplicaSet",owner_name="web-7d9f",owner_is_controller="true""#,
                    "1"
                ),
                line("kube_pod_start_time", RUN_ID, "", "1.704164647e+09"),
            ]
        );
    }

    #[test]
    fn running_pod_container_state() {
        let p = running_pod();
        let c = |n: &str| format!(r#"container="{n}""#);
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_container_info",
                    "kube_pod_container_state_started",
                    "kube_pod_container_status_ready",
                    "kube_pod_container_status_restarts_total",
                    "kube_pod_container_status_running",
                    "kube_pod_container_status_terminated",
                    "kube_pod_container_status_terminated_reason",
                    "kube_pod_container_status_waiting",
                    "kube_pod_container_status_waiting_reason",
                    "kube_pod_completion_time",
                ]
            ),
            vec![
                line(
                    "kube_pod_container_info",
                    RUN_ID,
                    r#"container="app",image_spec="nginx:1.25",image="docker.io/library/nginx:1.25",image_id="docker.io/library/nginx@sha256:aaa",container_id="containerd://c1""#,
                    "1"
                ),
                line(
                    "kube_pod_container_info",
                    RUN_ID,
                    r#"container="sidecar",image_spec="envoy:v1",image="docker.io/envoyproxy/envoy:v1",image_id="docker.io/envoyproxy/envoy@sha256:bbb",container_id="containerd://c2""#,
                    "1"
                ),
                line(
                    "kube_pod_container_state_started",
                    RUN_ID,
                    &c("app"),
                    "1.704164649e+09"
                ),
                line(
                    "kube_pod_container_state_started",
                    RUN_ID,
                    &c("sidecar"),
                    "1.70416467e+09"
                ),
                line("kube_pod_container_status_ready", RUN_ID, &c("app"), "1"),
                line(
                    "kube_pod_container_status_ready",
                    RUN_ID,
                    &c("sidecar"),
                    "1"
                ),
                line(
                    "kube_pod_container_status_restarts_total",
                    RUN_ID,
                    &c("app"),
                    "0"
                ),
                line(
                    "kube_pod_container_status_restarts_total",
                    RUN_ID,
                    &c("sidecar"),
                    "3"
                ),
                line("kube_pod_container_status_running", RUN_ID, &c("app"), "1"),
                line(
                    "kube_pod_container_status_running",
                    RUN_ID,
                    &c("sidecar"),
                    "1"
                ),
                line(
                    "kube_pod_container_status_terminated",
                    RUN_ID,
                    &c("app"),
                    "0"
                ),
                line(
                    "kube_pod_container_status_terminated",
                    RUN_ID,
                    &c("sidecar"),
                    "0"
                ),
                line("kube_pod_container_status_waiting", RUN_ID, &c("app"), "0"),
                line(
                    "kube_pod_container_status_waiting",
                    RUN_ID,
                    &c("sidecar"),
                    "0"
                ),
            ]
        );
    }

    #[test]
    fn restarted_container_reports_last_termination() {
        let p = running_pod();
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_container_status_last_terminated_reason",
                    "kube_pod_container_status_last_terminated_exitcode",
                    "kube_pod_container_status_last_terminated_timestamp",
                ]
            ),
            vec![
                line(
                    "kube_pod_container_status_last_terminated_reason",
                    RUN_ID,
                    r#"container="sidecar",reason="OOMKilled""#,
                    "1"
                ),
                line(
                    "kube_pod_container_status_last_terminated_exitcode",
                    RUN_ID,
                    r#"container="sidecar""#,
                    "137"
                ),
                line(
                    "kube_pod_container_status_last_terminated_timestamp",
                    RUN_ID,
                    r#"container="sidecar""#,
                    "1.704164669e+09"
                ),
            ]
        );
    }

    #[test]
    fn requests_and_limits_per_resource_with_units() {
        let p = running_pod();
        let r = |c: &str, res: &str, unit: &str| {
            format!(r#"container="{c}",node="node-1",resource="{res}",unit="{unit}""#)
        };
        assert_eq!(
            lines(&p, &["kube_pod_container_resource_limits"]),
            vec![
                line(
                    "kube_pod_container_resource_limits",
                    RUN_ID,
                    &r("app", "cpu", "core"),
                    "1"
                ),
                line(
                    "kube_pod_container_resource_limits",
                    RUN_ID,
                    &r("app", "ephemeral_storage", "byte"),
                    "1.073741824e+09"
                ),
                line(
                    "kube_pod_container_resource_limits",
                    RUN_ID,
                    &r("app", "hugepages_2Mi", "byte"),
                    "4.194304e+06"
                ),
                line(
                    "kube_pod_container_resource_limits",
                    RUN_ID,
                    &r("app", "memory", "byte"),
                    "1.34217728e+08"
                ),
                line(
                    "kube_pod_container_resource_limits",
                    RUN_ID,
                    &r("app", "nvidia_com_gpu", "integer"),
                    "1"
                ),
            ]
        );
        // `pods` (native, not a container resource) and `kubernetes.io/bar` (reserved
        // domain) are not reported; `example.com/foo` is an extended resource.
        assert_eq!(
            lines(&p, &["kube_pod_container_resource_requests"]),
            vec![
                line(
                    "kube_pod_container_resource_requests",
                    RUN_ID,
                    &r("app", "cpu", "core"),
                    "0.25"
                ),
                line(
                    "kube_pod_container_resource_requests",
                    RUN_ID,
                    &r("app", "memory", "byte"),
                    "6.7108864e+07"
                ),
                line(
                    "kube_pod_container_resource_requests",
                    RUN_ID,
                    &r("app", "nvidia_com_gpu", "integer"),
                    "1"
                ),
                line(
                    "kube_pod_container_resource_requests",
                    RUN_ID,
                    &r("sidecar", "cpu", "core"),
                    "0.1"
                ),
                line(
                    "kube_pod_container_resource_requests",
                    RUN_ID,
                    &r("sidecar", "example_com_foo", "integer"),
                    "2"
                ),
                line(
                    "kube_pod_container_resource_requests",
                    RUN_ID,
                    &r("sidecar", "memory", "byte"),
                    "3.3554432e+07"
                ),
            ]
        );
    }

    #[test]
    fn running_pod_status_families() {
        let p = running_pod();
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_status_phase",
                    "kube_pod_status_qos_class",
                    "kube_pod_status_ready",
                    "kube_pod_status_ready_time",
                    "kube_pod_status_initialized_time",
                    "kube_pod_status_container_ready_time",
                    "kube_pod_status_reason",
                    "kube_pod_status_disruption_reason",
                    "kube_pod_status_scheduled",
                    "kube_pod_status_scheduled_time",
                    "kube_pod_status_unschedulable",
                    "kube_pod_status_unscheduled_time",
                ]
            ),
            vec![
                line("kube_pod_status_phase", RUN_ID, r#"phase="Pending""#, "0"),
                line("kube_pod_status_phase", RUN_ID, r#"phase="Succeeded""#, "0"),
                line("kube_pod_status_phase", RUN_ID, r#"phase="Failed""#, "0"),
                line("kube_pod_status_phase", RUN_ID, r#"phase="Unknown""#, "0"),
                line("kube_pod_status_phase", RUN_ID, r#"phase="Running""#, "1"),
                line(
                    "kube_pod_status_qos_class",
                    RUN_ID,
                    r#"qos_class="BestEffort""#,
                    "0"
                ),
                line(
                    "kube_pod_status_qos_class",
                    RUN_ID,
                    r#"qos_class="Burstable""#,
                    "1"
                ),
                line(
                    "kube_pod_status_qos_class",
                    RUN_ID,
                    r#"qos_class="Guaranteed""#,
                    "0"
                ),
                line("kube_pod_status_ready", RUN_ID, r#"condition="true""#, "1"),
                line("kube_pod_status_ready", RUN_ID, r#"condition="false""#, "0"),
                line(
                    "kube_pod_status_ready",
                    RUN_ID,
                    r#"condition="unknown""#,
                    "0"
                ),
                line("kube_pod_status_ready_time", RUN_ID, "", "1.704164671e+09"),
                line(
                    "kube_pod_status_initialized_time",
                    RUN_ID,
                    "",
                    "1.704164647e+09"
                ),
                line(
                    "kube_pod_status_container_ready_time",
                    RUN_ID,
                    "",
                    "1.70416467e+09"
                ),
                line(
                    "kube_pod_status_scheduled",
                    RUN_ID,
                    r#"condition="true""#,
                    "1"
                ),
                line(
                    "kube_pod_status_scheduled",
                    RUN_ID,
                    r#"condition="false""#,
                    "0"
                ),
                line(
                    "kube_pod_status_scheduled",
                    RUN_ID,
                    r#"condition="unknown""#,
                    "0"
                ),
                line(
                    "kube_pod_status_scheduled_time",
                    RUN_ID,
                    "",
                    "1.704164645e+09"
                ),
            ]
        );
    }

    #[test]
    fn running_pod_spec_families() {
        let p = running_pod();
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_ips",
                    "kube_pod_overhead_cpu_cores",
                    "kube_pod_overhead_memory_bytes",
                    "kube_pod_resourceclaim_info",
                    "kube_pod_restart_policy",
                    "kube_pod_runtimeclass_name_info",
                    "kube_pod_tolerations",
                    "kube_pod_nodeselectors",
                    "kube_pod_service_account",
                    "kube_pod_scheduler",
                    "kube_pod_deletion_timestamp",
                    "kube_pod_spec_volumes_persistentvolumeclaims_info",
                ]
            ),
            vec![
                line(
                    "kube_pod_ips",
                    RUN_ID,
                    r#"ip="10.1.2.3",ip_family="4""#,
                    "1"
                ),
                line("kube_pod_ips", RUN_ID, r#"ip="fd00::3",ip_family="6""#, "1"),
                line(
                    "kube_pod_ips",
                    RUN_ID,
                    r#"ip="::ffff:1.2.3.4",ip_family="4""#,
                    "1"
                ),
                line("kube_pod_overhead_cpu_cores", RUN_ID, "", "0.25"),
                line(
                    "kube_pod_overhead_memory_bytes",
                    RUN_ID,
                    "",
                    "1.2582912e+08"
                ),
                line(
                    "kube_pod_resourceclaim_info",
                    RUN_ID,
                    r#"claim_name="gpu",resourceclaim_name="web-7d9f-gpu-x7k2p",resourceclaim_template_name="gpu-template""#,
                    "1"
                ),
                line(
                    "kube_pod_resourceclaim_info",
                    RUN_ID,
                    r#"claim_name="shared",resourceclaim_name="shared-claim",resourceclaim_template_name="""#,
                    "1"
                ),
                line(
                    "kube_pod_resourceclaim_info",
                    RUN_ID,
                    r#"claim_name="pending",resourceclaim_name="",resourceclaim_template_name="gpu-template""#,
                    "1"
                ),
                line("kube_pod_restart_policy", RUN_ID, r#"type="Always""#, "1"),
                line(
                    "kube_pod_runtimeclass_name_info",
                    RUN_ID,
                    r#"runtimeclass_name="gvisor""#,
                    "1"
                ),
                line(
                    "kube_pod_tolerations",
                    RUN_ID,
                    r#"key="node.kubernetes.io/not-ready",operator="Exists",value="",effect="NoExecute",toleration_seconds="300""#,
                    "1"
                ),
                line(
                    "kube_pod_tolerations",
                    RUN_ID,
                    r#"key="dedicated",operator="Equal",value="gpu",effect="NoSchedule",toleration_seconds="""#,
                    "1"
                ),
                line(
                    "kube_pod_tolerations",
                    RUN_ID,
                    r#"key="",operator="Exists",value="",effect="",toleration_seconds="""#,
                    "1"
                ),
                line(
                    "kube_pod_nodeselectors",
                    RUN_ID,
                    r#"nodeselector_cloud_google_com_gke_accelerator="nvidia-tesla-t4",nodeselector_kubernetes_io_os="linux""#,
                    "1"
                ),
                line(
                    "kube_pod_service_account",
                    RUN_ID,
                    r#"service_account="web-sa""#,
                    "1"
                ),
                line(
                    "kube_pod_scheduler",
                    RUN_ID,
                    r#"name="default-scheduler""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let p = running_pod();
        let names = &["kube_pod_labels", "kube_pod_annotations"];
        // Not in the allowlist: the families exist but have no samples.
        assert!(render_lines(&POD, &watched(&p), RenderCtx::default(), names).is_empty());
        // Listed, but no key of this pod matches: identity labels only.
        let list = Allowlist::parse("x", "pods=[missing]", &|_| true).expect("allowlist");
        let ctx = RenderCtx {
            labels: list.for_resource("pods"),
            annotations: list.for_resource("pods"),
        };
        assert_eq!(
            render_lines(&POD, &watched(&p), ctx, names),
            vec![
                line("kube_pod_annotations", RUN_ID, "", "1"),
                line("kube_pod_labels", RUN_ID, "", "1"),
            ]
        );
        // Listed keys, sorted by original key, sanitized and snake-cased.
        let list = Allowlist::parse("x", "pods=[app.kubernetes.io/*,team,owner]", &|_| true)
            .expect("allowlist");
        let ctx = RenderCtx {
            labels: list.for_resource("pods"),
            annotations: list.for_resource("pods"),
        };
        assert_eq!(
            render_lines(&POD, &watched(&p), ctx, names),
            vec![
                line(
                    "kube_pod_annotations",
                    RUN_ID,
                    r#"annotation_owner="team-a""#,
                    "1"
                ),
                line(
                    "kube_pod_labels",
                    RUN_ID,
                    r#"label_app_kubernetes_io_name="web",label_team="payments""#,
                    "1"
                ),
            ]
        );
        // `[*]`: every key.
        assert_eq!(
            lines(&p, names),
            vec![
                line(
                    "kube_pod_annotations",
                    RUN_ID,
                    r#"annotation_owner="team-a",annotation_prometheus_io_scrape="true""#,
                    "1"
                ),
                line(
                    "kube_pod_labels",
                    RUN_ID,
                    r#"label_app="web",label_app_kubernetes_io_name="web",label_team="payments""#,
                    "1"
                ),
            ]
        );
    }

    const PENDING_ID: &str = r#"namespace="default",pod="big-job",uid="uid-pend""#;

    fn pending_pod() -> Pod {
        obj(r#"{
          "metadata": {"name": "big-job", "namespace": "default", "uid": "uid-pend",
                       "creationTimestamp": "2024-01-02T05:00:00Z"},
          "spec": {
            "containers": [{"name": "main", "image": "busybox",
                            "resources": {"requests": {"cpu": "64", "memory": "1Ti"}}}],
            "restartPolicy": "OnFailure",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "hostNetwork": true
          },
          "status": {
            "phase": "Pending",
            "qosClass": "Burstable",
            "conditions": [
              {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
               "message": "0/3 nodes are available: 3 Insufficient cpu.",
               "lastTransitionTime": "2024-01-02T05:10:00Z"}
            ]
          }
        }"#)
    }

    #[test]
    fn pending_unschedulable_pod() {
        let p = pending_pod();
        let all: Vec<&str> = FAMILIES.iter().map(|f| f.def.name).collect();
        assert_eq!(
            lines(&p, &all),
            vec![
                line(
                    "kube_pod_container_resource_requests",
                    PENDING_ID,
                    r#"container="main",node="",resource="cpu",unit="core""#,
                    "64"
                ),
                line(
                    "kube_pod_container_resource_requests",
                    PENDING_ID,
                    r#"container="main",node="",resource="memory",unit="byte""#,
                    "1.099511627776e+12"
                ),
                line("kube_pod_created", PENDING_ID, "", "1.7041716e+09"),
                line(
                    "kube_pod_info",
                    PENDING_ID,
                    r#"host_ip="",pod_ip="",node="",created_by_kind="",created_by_name="",priority_class="",host_network="true""#,
                    "1"
                ),
                // allow_all(): listed, no labels or annotations on this pod.
                line("kube_pod_annotations", PENDING_ID, "", "1"),
                line("kube_pod_labels", PENDING_ID, "", "1"),
                line(
                    "kube_pod_owner",
                    PENDING_ID,
                    r#"owner_kind="",owner_name="",owner_is_controller="""#,
                    "1"
                ),
                line(
                    "kube_pod_restart_policy",
                    PENDING_ID,
                    r#"type="OnFailure""#,
                    "1"
                ),
                line(
                    "kube_pod_status_phase",
                    PENDING_ID,
                    r#"phase="Pending""#,
                    "1"
                ),
                line(
                    "kube_pod_status_phase",
                    PENDING_ID,
                    r#"phase="Succeeded""#,
                    "0"
                ),
                line(
                    "kube_pod_status_phase",
                    PENDING_ID,
                    r#"phase="Failed""#,
                    "0"
                ),
                line(
                    "kube_pod_status_phase",
                    PENDING_ID,
                    r#"phase="Unknown""#,
                    "0"
                ),
                line(
                    "kube_pod_status_phase",
                    PENDING_ID,
                    r#"phase="Running""#,
                    "0"
                ),
                line(
                    "kube_pod_status_qos_class",
                    PENDING_ID,
                    r#"qos_class="BestEffort""#,
                    "0"
                ),
                line(
                    "kube_pod_status_qos_class",
                    PENDING_ID,
                    r#"qos_class="Burstable""#,
                    "1"
                ),
                line(
                    "kube_pod_status_qos_class",
                    PENDING_ID,
                    r#"qos_class="Guaranteed""#,
                    "0"
                ),
                line(
                    "kube_pod_status_scheduled",
                    PENDING_ID,
                    r#"condition="true""#,
                    "0"
                ),
                line(
                    "kube_pod_status_scheduled",
                    PENDING_ID,
                    r#"condition="false""#,
                    "1"
                ),
                line(
                    "kube_pod_status_scheduled",
                    PENDING_ID,
                    r#"condition="unknown""#,
                    "0"
                ),
                line("kube_pod_status_unschedulable", PENDING_ID, "", "1"),
                line(
                    "kube_pod_status_unscheduled_time",
                    PENDING_ID,
                    "",
                    "1.7041722e+09"
                ),
                line("kube_pod_nodeselectors", PENDING_ID, "", "1"),
                line(
                    "kube_pod_service_account",
                    PENDING_ID,
                    r#"service_account="default""#,
                    "1"
                ),
                line(
                    "kube_pod_scheduler",
                    PENDING_ID,
                    r#"name="default-scheduler""#,
                    "1"
                ),
            ]
        );
    }

    const OOM_ID: &str = r#"namespace="prod",pod="worker-0",uid="uid-oom""#;

    fn oom_pod() -> Pod {
        obj(r#"{
          "metadata": {"name": "worker-0", "namespace": "prod", "uid": "uid-oom"},
          "spec": {"containers": [{"name": "worker", "image": "worker:2"}, {"name": "log", "image": "fluentbit:3"}]},
          "status": {
            "phase": "Running",
            "containerStatuses": [
              {"name": "worker", "image": "worker:2", "imageID": "", "ready": false, "restartCount": 5,
               "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
               "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                  "startedAt": "2024-01-02T05:12:00Z", "finishedAt": "2024-01-02T05:13:20Z"}}},
              {"name": "log", "image": "fluentbit:3", "imageID": "", "ready": false, "restartCount": 0,
               "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                  "startedAt": "2024-01-02T05:00:00Z", "finishedAt": "2024-01-02T05:13:20Z"}}}
            ]
          }
        }"#)
    }

    #[test]
    fn oom_killed_and_crash_looping_containers() {
        let p = oom_pod();
        let c = |n: &str| format!(r#"container="{n}""#);
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_container_info",
                    "kube_pod_container_state_started",
                    "kube_pod_container_status_last_terminated_reason",
                    "kube_pod_container_status_last_terminated_exitcode",
                    "kube_pod_container_status_last_terminated_timestamp",
                    "kube_pod_container_status_restarts_total",
                    "kube_pod_container_status_running",
                    "kube_pod_container_status_terminated",
                    "kube_pod_container_status_terminated_reason",
                    "kube_pod_container_status_waiting",
                    "kube_pod_container_status_waiting_reason",
                    "kube_pod_completion_time",
                    "kube_pod_status_reason",
                ]
            ),
            vec![
                line("kube_pod_completion_time", OOM_ID, "", "1.7041724e+09"),
                line(
                    "kube_pod_container_info",
                    OOM_ID,
                    r#"container="worker",image_spec="worker:2",image="worker:2",image_id="",container_id="""#,
                    "1"
                ),
                line(
                    "kube_pod_container_info",
                    OOM_ID,
                    r#"container="log",image_spec="fluentbit:3",image="fluentbit:3",image_id="",container_id="""#,
                    "1"
                ),
                line(
                    "kube_pod_container_state_started",
                    OOM_ID,
                    &c("log"),
                    "1.7041716e+09"
                ),
                line(
                    "kube_pod_container_status_last_terminated_reason",
                    OOM_ID,
                    r#"container="worker",reason="OOMKilled""#,
                    "1"
                ),
                line(
                    "kube_pod_container_status_last_terminated_exitcode",
                    OOM_ID,
                    &c("worker"),
                    "137"
                ),
                line(
                    "kube_pod_container_status_last_terminated_timestamp",
                    OOM_ID,
                    &c("worker"),
                    "1.7041724e+09"
                ),
                line(
                    "kube_pod_container_status_restarts_total",
                    OOM_ID,
                    &c("worker"),
                    "5"
                ),
                line(
                    "kube_pod_container_status_restarts_total",
                    OOM_ID,
                    &c("log"),
                    "0"
                ),
                line(
                    "kube_pod_container_status_running",
                    OOM_ID,
                    &c("worker"),
                    "0"
                ),
                line("kube_pod_container_status_running", OOM_ID, &c("log"), "0"),
                line(
                    "kube_pod_container_status_terminated",
                    OOM_ID,
                    &c("worker"),
                    "0"
                ),
                line(
                    "kube_pod_container_status_terminated",
                    OOM_ID,
                    &c("log"),
                    "1"
                ),
                line(
                    "kube_pod_container_status_terminated_reason",
                    OOM_ID,
                    r#"container="log",reason="OOMKilled""#,
                    "1"
                ),
                line(
                    "kube_pod_container_status_waiting",
                    OOM_ID,
                    &c("worker"),
                    "1"
                ),
                line("kube_pod_container_status_waiting", OOM_ID, &c("log"), "0"),
                line(
                    "kube_pod_container_status_waiting_reason",
                    OOM_ID,
                    r#"container="worker",reason="CrashLoopBackOff""#,
                    "1"
                ),
            ]
        );
    }

    const JOB_ID: &str = r#"namespace="batch",pod="report-28412345-abcde",uid="uid-job""#;

    fn job_pod() -> Pod {
        obj(r#"{
          "metadata": {"name": "report-28412345-abcde", "namespace": "batch", "uid": "uid-job",
                       "creationTimestamp": "2024-01-02T05:00:00Z",
                       "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report-28412345",
                                            "uid": "j1", "controller": true, "blockOwnerDeletion": true}]},
          "spec": {"restartPolicy": "Never", "nodeName": "node-2",
                   "containers": [{"name": "report", "image": "report:1",
                                   "resources": {"requests": {"cpu": "500m", "memory": "256M"},
                                                 "limits": {"cpu": "500m", "memory": "256M"}}},
                                  {"name": "upload", "image": "upload:1",
                                   "resources": {"requests": {"cpu": "1.5", "memory": "100k"},
                                                 "limits": {"cpu": "1.5", "memory": "100k"}}}]},
          "status": {
            "phase": "Succeeded", "qosClass": "Guaranteed", "hostIP": "10.0.0.2", "podIP": "10.1.9.9",
            "startTime": "2024-01-02T05:00:00Z",
            "conditions": [
              {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": "2024-01-02T05:13:20Z"},
              {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-02T05:00:00Z"}
            ],
            "containerStatuses": [
              {"name": "report", "image": "report:1", "imageID": "report@sha256:1", "containerID": "containerd://r1",
               "ready": false, "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                  "startedAt": "2024-01-02T05:00:00Z", "finishedAt": "2024-01-02T05:12:00Z"}}},
              {"name": "upload", "image": "upload:1", "imageID": "upload@sha256:1", "containerID": "containerd://u1",
               "ready": false, "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                  "startedAt": "2024-01-02T05:10:00Z", "finishedAt": "2024-01-02T05:13:20Z"}}}
            ]
          }
        }"#)
    }

    #[test]
    fn completed_job_pod() {
        let p = job_pod();
        let r = |c: &str, res: &str, unit: &str| {
            format!(r#"container="{c}",node="node-2",resource="{res}",unit="{unit}""#)
        };
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_completion_time",
                    "kube_pod_container_resource_limits",
                    "kube_pod_container_status_terminated_reason",
                    "kube_pod_info",
                    "kube_pod_owner",
                    "kube_pod_restart_policy",
                    "kube_pod_status_phase",
                    "kube_pod_status_ready",
                    "kube_pod_status_ready_time",
                    "kube_pod_status_reason",
                ]
            ),
            vec![
                // The latest finish of all containers.
                line("kube_pod_completion_time", JOB_ID, "", "1.7041724e+09"),
                line(
                    "kube_pod_container_resource_limits",
                    JOB_ID,
                    &r("report", "cpu", "core"),
                    "0.5"
                ),
                line(
                    "kube_pod_container_resource_limits",
                    JOB_ID,
                    &r("report", "memory", "byte"),
                    "2.56e+08"
                ),
                line(
                    "kube_pod_container_resource_limits",
                    JOB_ID,
                    &r("upload", "cpu", "core"),
                    "1.5"
                ),
                line(
                    "kube_pod_container_resource_limits",
                    JOB_ID,
                    &r("upload", "memory", "byte"),
                    "100000"
                ),
                line(
                    "kube_pod_container_status_terminated_reason",
                    JOB_ID,
                    r#"container="report",reason="Completed""#,
                    "1"
                ),
                line(
                    "kube_pod_container_status_terminated_reason",
                    JOB_ID,
                    r#"container="upload",reason="Completed""#,
                    "1"
                ),
                line(
                    "kube_pod_info",
                    JOB_ID,
                    r#"host_ip="10.0.0.2",pod_ip="10.1.9.9",node="node-2",created_by_kind="Job",created_by_name="report-28412345",priority_class="",host_network="false""#,
                    "1"
                ),
                line(
                    "kube_pod_owner",
                    JOB_ID,
                    r#"owner_kind="Job",owner_name="report-28412345",owner_is_controller="true""#,
                    "1"
                ),
                line("kube_pod_restart_policy", JOB_ID, r#"type="Never""#, "1"),
                line("kube_pod_status_phase", JOB_ID, r#"phase="Pending""#, "0"),
                line("kube_pod_status_phase", JOB_ID, r#"phase="Succeeded""#, "1"),
                line("kube_pod_status_phase", JOB_ID, r#"phase="Failed""#, "0"),
                line("kube_pod_status_phase", JOB_ID, r#"phase="Unknown""#, "0"),
                line("kube_pod_status_phase", JOB_ID, r#"phase="Running""#, "0"),
                line("kube_pod_status_ready", JOB_ID, r#"condition="true""#, "0"),
                line("kube_pod_status_ready", JOB_ID, r#"condition="false""#, "1"),
                line(
                    "kube_pod_status_ready",
                    JOB_ID,
                    r#"condition="unknown""#,
                    "0"
                ),
            ]
        );
    }

    const INIT_ID: &str = r#"namespace="mesh",pod="api-1",uid="uid-init""#;

    fn init_pod() -> Pod {
        obj(r#"{
          "metadata": {"name": "api-1", "namespace": "mesh", "uid": "uid-init"},
          "spec": {
            "nodeName": "node-3",
            "initContainers": [
              {"name": "init-db", "image": "migrate:1",
               "resources": {"requests": {"cpu": "50m"}, "limits": {"memory": "64Mi"}}},
              {"name": "istio-proxy", "image": "proxyv2:1.22", "restartPolicy": "Always",
               "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"memory": "1Gi"}}},
              {"name": "seed", "image": "seed:1"}
            ],
            "containers": [{"name": "api", "image": "api:3"}]
          },
          "status": {
            "phase": "Pending",
            "initContainerStatuses": [
              {"name": "init-db", "image": "migrate:1", "imageID": "migrate@sha256:1", "containerID": "containerd://i1",
               "ready": true, "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                 "startedAt": "2024-01-02T03:04:05Z", "finishedAt": "2024-01-02T03:04:07Z"}}},
              {"name": "istio-proxy", "image": "proxyv2:1.22", "imageID": "proxyv2@sha256:2", "containerID": "containerd://i2",
               "ready": true, "restartCount": 1, "started": true,
               "state": {"running": {"startedAt": "2024-01-02T03:04:09Z"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                 "startedAt": "2024-01-02T03:04:07Z", "finishedAt": "2024-01-02T03:04:09Z"}}},
              {"name": "seed", "image": "seed:1", "imageID": "", "ready": false, "restartCount": 2,
               "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 2, "reason": "Error",
                 "startedAt": "2024-01-02T03:04:30Z", "finishedAt": "2024-01-02T03:04:31Z"}}}
            ],
            "containerStatuses": [
              {"name": "api", "image": "api:3", "imageID": "", "ready": false, "restartCount": 0,
               "state": {"waiting": {"reason": "PodInitializing"}}}
            ]
          }
        }"#)
    }

    #[test]
    fn init_containers_including_a_sidecar() {
        let p = init_pod();
        let c = |n: &str| format!(r#"container="{n}""#);
        let r = |c: &str, res: &str, unit: &str| {
            format!(r#"container="{c}",node="node-3",resource="{res}",unit="{unit}""#)
        };
        let names: Vec<&str> = FAMILIES
            .iter()
            .map(|f| f.def.name)
            .filter(|n| n.starts_with("kube_pod_init_container_"))
            .collect();
        assert_eq!(
            lines(&p, &names),
            vec![
                line(
                    "kube_pod_init_container_info",
                    INIT_ID,
                    r#"container="init-db",image_spec="migrate:1",image="migrate:1",image_id="migrate@sha256:1",container_id="containerd://i1",restart_policy="""#,
                    "1"
                ),
                line(
                    "kube_pod_init_container_info",
                    INIT_ID,
                    r#"container="istio-proxy",image_spec="proxyv2:1.22",image="proxyv2:1.22",image_id="proxyv2@sha256:2",container_id="containerd://i2",restart_policy="Always""#,
                    "1"
                ),
                line(
                    "kube_pod_init_container_info",
                    INIT_ID,
                    r#"container="seed",image_spec="seed:1",image="seed:1",image_id="",container_id="",restart_policy="""#,
                    "1"
                ),
                line(
                    "kube_pod_init_container_resource_limits",
                    INIT_ID,
                    &r("init-db", "memory", "byte"),
                    "6.7108864e+07"
                ),
                line(
                    "kube_pod_init_container_resource_limits",
                    INIT_ID,
                    &r("istio-proxy", "memory", "byte"),
                    "1.073741824e+09"
                ),
                line(
                    "kube_pod_init_container_resource_requests",
                    INIT_ID,
                    &r("init-db", "cpu", "core"),
                    "0.05"
                ),
                line(
                    "kube_pod_init_container_resource_requests",
                    INIT_ID,
                    &r("istio-proxy", "cpu", "core"),
                    "0.01"
                ),
                line(
                    "kube_pod_init_container_resource_requests",
                    INIT_ID,
                    &r("istio-proxy", "memory", "byte"),
                    "4.194304e+07"
                ),
                line(
                    "kube_pod_init_container_state_started",
                    INIT_ID,
                    &c("init-db"),
                    "1.704164645e+09"
                ),
                line(
                    "kube_pod_init_container_state_started",
                    INIT_ID,
                    &c("istio-proxy"),
                    "1.704164649e+09"
                ),
                line(
                    "kube_pod_init_container_status_last_terminated_reason",
                    INIT_ID,
                    r#"container="istio-proxy",reason="Error""#,
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_last_terminated_reason",
                    INIT_ID,
                    r#"container="seed",reason="Error""#,
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_last_terminated_exitcode",
                    INIT_ID,
                    &c("istio-proxy"),
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_last_terminated_exitcode",
                    INIT_ID,
                    &c("seed"),
                    "2"
                ),
                line(
                    "kube_pod_init_container_status_last_terminated_timestamp",
                    INIT_ID,
                    &c("istio-proxy"),
                    "1.704164649e+09"
                ),
                line(
                    "kube_pod_init_container_status_last_terminated_timestamp",
                    INIT_ID,
                    &c("seed"),
                    "1.704164671e+09"
                ),
                line(
                    "kube_pod_init_container_status_ready",
                    INIT_ID,
                    &c("init-db"),
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_ready",
                    INIT_ID,
                    &c("istio-proxy"),
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_ready",
                    INIT_ID,
                    &c("seed"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_restarts_total",
                    INIT_ID,
                    &c("init-db"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_restarts_total",
                    INIT_ID,
                    &c("istio-proxy"),
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_restarts_total",
                    INIT_ID,
                    &c("seed"),
                    "2"
                ),
                line(
                    "kube_pod_init_container_status_running",
                    INIT_ID,
                    &c("init-db"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_running",
                    INIT_ID,
                    &c("istio-proxy"),
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_running",
                    INIT_ID,
                    &c("seed"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_terminated",
                    INIT_ID,
                    &c("init-db"),
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_terminated",
                    INIT_ID,
                    &c("istio-proxy"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_terminated",
                    INIT_ID,
                    &c("seed"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_terminated_reason",
                    INIT_ID,
                    r#"container="init-db",reason="Completed""#,
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_waiting",
                    INIT_ID,
                    &c("init-db"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_waiting",
                    INIT_ID,
                    &c("istio-proxy"),
                    "0"
                ),
                line(
                    "kube_pod_init_container_status_waiting",
                    INIT_ID,
                    &c("seed"),
                    "1"
                ),
                line(
                    "kube_pod_init_container_status_waiting_reason",
                    INIT_ID,
                    r#"container="seed",reason="CrashLoopBackOff""#,
                    "1"
                ),
            ]
        );
        // Init container results never leak into the regular container families.
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_container_status_waiting_reason",
                    "kube_pod_completion_time"
                ]
            ),
            vec![line(
                "kube_pod_container_status_waiting_reason",
                INIT_ID,
                r#"container="api",reason="PodInitializing""#,
                "1"
            )]
        );
    }

    const EVICTED_ID: &str = r#"namespace="prod",pod="cache-5f",uid="uid-evict""#;

    fn evicted_pod() -> Pod {
        obj(r#"{
          "metadata": {"name": "cache-5f", "namespace": "prod", "uid": "uid-evict"},
          "spec": {"nodeName": "node-4", "containers": [{"name": "redis", "image": "redis:7"}]},
          "status": {
            "phase": "Failed",
            "reason": "Evicted",
            "message": "The node was low on resource: memory.",
            "conditions": [
              {"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
               "lastTransitionTime": "2024-01-02T06:00:00Z"},
              {"type": "Ready", "status": "False", "lastTransitionTime": "2024-01-02T06:00:00Z"}
            ],
            "containerStatuses": [
              {"name": "redis", "image": "redis:7", "imageID": "", "ready": false, "restartCount": 0,
               "state": {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}}}
            ]
          }
        }"#)
    }

    #[test]
    fn evicted_pod_reasons_and_zero_time_quirk() {
        let p = evicted_pod();
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_status_reason",
                    "kube_pod_status_disruption_reason",
                    "kube_pod_container_state_started",
                    "kube_pod_completion_time",
                    "kube_pod_status_ready_time",
                ]
            ),
            vec![
                // No startedAt: KSM reads Go's zero time; the completion time then stays
                // negative and is not written.
                line(
                    "kube_pod_container_state_started",
                    EVICTED_ID,
                    r#"container="redis""#,
                    "-6.21355968e+10"
                ),
                line(
                    "kube_pod_status_reason",
                    EVICTED_ID,
                    r#"reason="Evicted""#,
                    "1"
                ),
                line(
                    "kube_pod_status_reason",
                    EVICTED_ID,
                    r#"reason="TerminationByKubelet""#,
                    "1"
                ),
                line(
                    "kube_pod_status_disruption_reason",
                    EVICTED_ID,
                    r#"reason="TerminationByKubelet""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn unknown_reasons_become_other() {
        let p: Pod = obj(r#"{
          "metadata": {"name": "p", "namespace": "n", "uid": "u"},
          "spec": {"containers": []},
          "status": {
            "phase": "Failed", "reason": "OutOfcpu",
            "conditions": [
              {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"},
              {"type": "DisruptionTarget", "status": "True", "reason": "SomethingNew"},
              {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
            ]
          }
        }"#);
        let id = r#"namespace="n",pod="p",uid="u""#;
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_status_reason",
                    "kube_pod_status_disruption_reason",
                    "kube_pod_status_unscheduled_time"
                ]
            ),
            vec![
                line(
                    "kube_pod_status_reason",
                    id,
                    r#"reason="SchedulingGated""#,
                    "1"
                ),
                line("kube_pod_status_reason", id, r#"reason="Other""#, "1"),
                line(
                    "kube_pod_status_disruption_reason",
                    id,
                    r#"reason="EvictionByEvictionAPI""#,
                    "1"
                ),
                line(
                    "kube_pod_status_disruption_reason",
                    id,
                    r#"reason="Other""#,
                    "1"
                ),
                line(
                    "kube_pod_status_unscheduled_time",
                    id,
                    "",
                    "-6.21355968e+10"
                ),
            ]
        );
    }

    const DB_ID: &str = r#"namespace="data",pod="db-0",uid="uid-db""#;

    fn volume_pod() -> Pod {
        obj(r#"{
          "metadata": {"name": "db-0", "namespace": "data", "uid": "uid-db",
                       "creationTimestamp": "2024-01-02T03:04:05Z",
                       "deletionTimestamp": "2024-01-02T06:00:00Z",
                       "deletionGracePeriodSeconds": 30,
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "s1", "controller": true}]},
          "spec": {
            "containers": [{"name": "postgres", "image": "postgres:16"}],
            "volumes": [
              {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}},
              {"name": "config", "configMap": {"name": "db-config"}},
              {"name": "backups", "persistentVolumeClaim": {"claimName": "backups", "readOnly": true}},
              {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
                  "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}
            ]
          }
        }"#)
    }

    #[test]
    fn pvc_and_ephemeral_volumes_and_deletion() {
        let p = volume_pod();
        assert_eq!(
            lines(
                &p,
                &[
                    "kube_pod_spec_volumes_persistentvolumeclaims_info",
                    "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
                    "kube_pod_deletion_timestamp",
                    "kube_pod_created",
                    "kube_pod_status_phase",
                ]
            ),
            vec![
                line("kube_pod_created", DB_ID, "", "1.704164645e+09"),
                line("kube_pod_deletion_timestamp", DB_ID, "", "1.7041752e+09"),
                line(
                    "kube_pod_spec_volumes_persistentvolumeclaims_info",
                    DB_ID,
                    r#"volume="data",persistentvolumeclaim="data-db-0",ephemeral="false""#,
                    "1"
                ),
                line(
                    "kube_pod_spec_volumes_persistentvolumeclaims_info",
                    DB_ID,
                    r#"volume="backups",persistentvolumeclaim="backups",ephemeral="false""#,
                    "1"
                ),
                line(
                    "kube_pod_spec_volumes_persistentvolumeclaims_info",
                    DB_ID,
                    r#"volume="scratch",persistentvolumeclaim="db-0-scratch",ephemeral="true""#,
                    "1"
                ),
                line(
                    "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
                    DB_ID,
                    r#"volume="data",persistentvolumeclaim="data-db-0",ephemeral="false""#,
                    "0"
                ),
                line(
                    "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
                    DB_ID,
                    r#"volume="backups",persistentvolumeclaim="backups",ephemeral="false""#,
                    "1"
                ),
                line(
                    "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
                    DB_ID,
                    r#"volume="scratch",persistentvolumeclaim="db-0-scratch",ephemeral="true""#,
                    "0"
                ),
            ]
        );
    }

    #[test]
    fn extended_resource_names_follow_kubernetes_rules() {
        assert!(is_extended_resource_name("nvidia.com/gpu"));
        assert!(is_extended_resource_name("example.com/foo_bar.v1"));
        assert!(!is_extended_resource_name("cpu"));
        assert!(!is_extended_resource_name("kubernetes.io/foo"));
        assert!(!is_extended_resource_name("requests.example.com/foo"));
        assert!(!is_extended_resource_name("Example.com/foo"));
        assert!(!is_extended_resource_name("example.com/"));
        assert!(!is_extended_resource_name("example.com/a/b"));
        assert!(!is_extended_resource_name("example.com/-foo"));
        assert_eq!(ip_family("fe80::1%eth0"), Some("6"));
        assert_eq!(ip_family("1.2.3.4%eth0"), None);
        assert_eq!(ip_family(""), None);
        assert_eq!(sanitize_resource_name("hugepages-1Gi"), "hugepages_1Gi");
    }

    /// Label names of one sample line, in order.
    fn label_names(l: &str) -> Vec<String> {
        let Some(open) = l.find('{') else {
            return Vec::new();
        };
        let b = l.as_bytes();
        let mut i = open + 1;
        let mut out = Vec::new();
        while i < b.len() && b[i] != b'}' {
            let eq = i + l[i..].find('=').expect("=");
            out.push(l[i..eq].to_string());
            i = eq + 2; // skip `="`
            while b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            if b[i] == b',' {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        let tsv = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/ksm-metrics.tsv"
        ))
        .expect("catalog readable");
        let rows: Vec<Vec<&str>> = tsv
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|c| c.first() == Some(&"pods"))
            .collect();
        assert_eq!(rows.len(), 60);
        assert_eq!(rows.len(), FAMILIES.len());
        for (row, fam) in rows.iter().zip(FAMILIES) {
            let d = &fam.def;
            assert_eq!(row[1], d.name);
            let kind = match d.kind {
                MetricType::Gauge => "gauge",
                MetricType::Counter => "counter",
            };
            assert_eq!(row[2], kind, "{}", d.name);
            let stab = match d.stability {
                Stability::Stable => "STABLE",
                Stability::Experimental => "EXPERIMENTAL",
            };
            assert_eq!(row[4], stab, "{}", d.name);
            assert_eq!(row[5] == "opt-in", d.opt_in, "{}", d.name);
            assert!(d.deprecated_since.is_none());
        }

        // Every family has lines in some fixture, and their label names are the catalog's.
        let pods = [
            running_pod(),
            pending_pod(),
            oom_pod(),
            job_pod(),
            init_pod(),
            evicted_pod(),
            volume_pod(),
        ];
        for row in &rows {
            let want: Vec<&str> = row[3].split(',').collect();
            let mut seen = 0;
            for p in &pods {
                for l in lines(p, &[row[1]]) {
                    seen += 1;
                    let got = label_names(&l);
                    let fixed: Vec<&str> =
                        want.iter().copied().filter(|w| !w.ends_with('*')).collect();
                    let wildcard = want.iter().find_map(|w| w.strip_suffix('*'));
                    assert_eq!(got[..fixed.len().min(got.len())], fixed[..], "{l}");
                    for extra in &got[fixed.len()..] {
                        let prefix = wildcard.unwrap_or_else(|| panic!("unexpected label in {l}"));
                        assert!(extra.starts_with(prefix), "{l}");
                    }
                }
            }
            assert!(seen > 0, "no fixture produces {}", row[1]);
        }
    }

    /// What the slim decode skips or reads as a default (nulls, fields no family reads)
    /// changes nothing: same bytes as the full decode of the same JSON.
    #[test]
    fn slim_decode_of_odd_json_renders_like_the_full_one() {
        let json = r#"{
          "apiVersion": "v1", "kind": "Pod",
          "metadata": {"name": "odd", "namespace": "n", "uid": "u", "generateName": "od",
            "resourceVersion": "42", "labels": null, "annotations": {"a": "x\"y\\z\nw"},
            "finalizers": ["f"], "managedFields": [{"manager": "kubelet", "operation": "Update",
              "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:phase": {}}}}],
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "x", "controller": null}]},
          "spec": {"containers": [{"name": null, "image": null, "env": [{"name": "A", "value": "b"}],
              "resources": {"claims": [{"name": "c"}], "requests": {"cpu": "1.5"}, "limits": null},
              "ports": [{"containerPort": 80, "name": "http", "protocol": null}],
              "readinessProbe": {"exec": {"command": ["true"]}}}],
            "initContainers": [{"name": "init", "restartPolicy": "Always", "image": "i"}],
            "volumes": [{"name": "e", "ephemeral": null}, {"name": "f", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
              {"name": "p", "persistentVolumeClaim": {"claimName": "c", "readOnly": true}}, {"name": "s", "secret": {}}],
            "hostNetwork": null, "overhead": {"memory": "1Gi"}, "tolerations": [{"key": "k", "tolerationSeconds": null}],
            "nodeSelector": {}, "affinity": {"nodeAffinity": {}}},
          "status": {"phase": "Running", "reason": "Evicted", "message": "long text",
            "conditions": [{"type": null, "status": "True"}, {"type": "Ready", "status": "False", "lastTransitionTime": null,
              "message": "m", "observedGeneration": 3}],
            "containerStatuses": [{"name": null, "ready": null, "restartCount": null, "imageID": null, "image": "x",
              "state": {"terminated": {"exitCode": null, "reason": "Evicted", "signal": 9, "message": "m"}},
              "lastState": {"waiting": {"reason": "r", "message": "m"}}, "allocatedResources": {"cpu": "1"},
              "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
            "initContainerStatuses": null, "podIPs": [], "hostIPs": [{"ip": "1.2.3.4"}]}
        }"#;
        let full = PodObject(obj::<Pod>(json));
        let slim: PodObject = obj(json);
        assert_eq!(render_all(&slim), render_all(&full));
        assert!(render_all(&slim).contains("kube_pod_status_reason{"));
    }

    #[test]
    fn empty_pod_has_only_the_unconditional_families() {
        let p: Pod = obj(r#"{"metadata": {"name": "x", "namespace": "n", "uid": "u"}}"#);
        let all: Vec<&str> = FAMILIES.iter().map(|f| f.def.name).collect();
        let got: Vec<String> = render_lines(&POD, &watched(&p), RenderCtx::default(), &all);
        let id = r#"namespace="n",pod="x",uid="u""#;
        assert_eq!(
            got,
            vec![
                line(
                    "kube_pod_info",
                    id,
                    r#"host_ip="",pod_ip="",node="",created_by_kind="",created_by_name="",priority_class="",host_network="false""#,
                    "1"
                ),
                line(
                    "kube_pod_owner",
                    id,
                    r#"owner_kind="",owner_name="",owner_is_controller="""#,
                    "1"
                ),
                line("kube_pod_restart_policy", id, r#"type="""#, "1"),
                line("kube_pod_nodeselectors", id, "", "1"),
                line("kube_pod_service_account", id, r#"service_account="""#, "1"),
                line("kube_pod_scheduler", id, r#"name="""#, "1"),
            ]
        );
    }
}
