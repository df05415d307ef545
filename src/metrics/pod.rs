//! Pod families, in kube-state-metrics' order (`internal/store/pod.go`).
//!
//! Behaviour follows kube-state-metrics v2.20 sample for sample, including its quirks: an
//! absent timestamp inside a container state or condition reads as Go's zero time
//! (`-6.21355968e+10`), `kube_pod_owner` without owners has empty labels, and
//! `kube_pod_status_qos_class` reports only what the kubelet wrote (no QoS computation).

use crate::metrics::family::{
    identity_labels, kube_map_to_labels, kube_map_to_labels_all, Family, RenderCtx, Samples,
};
use crate::metrics::quantity::parse_quantity;
use crate::metrics::time::unix_seconds;
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::{
    Container, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};

pub static POD: ResourceDef<Pod> = ResourceDef {
    name: "pods",
    identity: pod_identity,
    families: FAMILIES,
};

fn pod_identity(o: &Pod) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("pod", m.name.as_deref().unwrap_or("")),
        ("uid", m.uid.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Pod>] = &[
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

/// `time.Time{}.Unix()`: KSM calls `.Unix()` on timestamps the API left unset, so they come
/// out as year 1, not as a missing sample.
const GO_ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

fn ts(t: Option<&Time>) -> f64 {
    t.map_or(GO_ZERO_TIME_UNIX, unix_seconds)
}

fn bool_f(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

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

fn completion_time(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    // KSM's fold: starts at 0 and takes any later finish; a zero-time finish leaves it negative
    // and then no sample is written.
    let mut last = 0.0;
    for cs in container_statuses::<false>(p) {
        if let Some(t) = terminated(cs) {
            let f = ts(t.finished_at.as_ref());
            if last == 0.0 || last < f {
                last = f;
            }
        }
    }
    if last > 0.0 {
        s.value(last);
    }
}

fn container_info<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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
    p: &Pod,
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
    match name {
        "cpu" => push("core", parse_quantity(q)),
        "memory" | "storage" | "ephemeral-storage" => push("byte", whole_units(q)),
        _ => {
            // Independent checks, as in KSM: a name may match more than one.
            if name.starts_with("hugepages-") {
                push("byte", whole_units(q));
            }
            if name.starts_with("attachable-volumes-") {
                push("byte", whole_units(q));
            }
            if is_extended_resource_name(name) {
                push("integer", whole_units(q));
            }
        }
    }
}

/// KSM's `SanitizeLabelName` (no snake-casing for resource names): `nvidia.com/gpu` →
/// `nvidia_com_gpu`, `hugepages-2Mi` → `hugepages_2Mi`.
fn sanitize_resource_name(name: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.chars().all(ok) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(name.chars().map(|c| if ok(c) { c } else { '_' }).collect())
}

/// `v1helper.IsExtendedResourceName`: a domain-prefixed name outside `kubernetes.io/` that is
/// still a qualified name after quota's `requests.` prefix is added.
fn is_extended_resource_name(name: &str) -> bool {
    if !name.contains('/') || name.contains("kubernetes.io/") || name.starts_with("requests.") {
        return false;
    }
    // "requests." + name must be a qualified name: <dns subdomain>/<name part>.
    let Some((prefix, part)) = name.split_once('/') else {
        return false;
    };
    if part.contains('/') {
        return false;
    }
    is_dns1123_subdomain(prefix, 253 - "requests.".len()) && is_qualified_name_part(part)
}

fn is_dns1123_subdomain(s: &str, max_len: usize) -> bool {
    if s.is_empty() || s.len() > max_len {
        return false;
    }
    s.split('.').all(|label| {
        let b = label.as_bytes();
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && alnum(b[0])
            && alnum(b[b.len() - 1])
            && b.iter().all(|&c| alnum(c) || c == b'-')
    })
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 63 {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter()
            .all(|&c| alnum(c) || c == b'-' || c == b'_' || c == b'.')
}

fn state_started<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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
        s.push(&[("container", cs.name.as_str())], ts(started));
    }
}

fn last_terminated_reason<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        if let Some(t) = last_terminated(cs) {
            s.push(
                &[("container", cs.name.as_str()), ("reason", s_or(&t.reason))],
                1.0,
            );
        }
    }
}

fn last_terminated_exitcode<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        if let Some(t) = last_terminated(cs) {
            s.push(&[("container", cs.name.as_str())], f64::from(t.exit_code));
        }
    }
}

fn last_terminated_timestamp<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        if let Some(t) = last_terminated(cs) {
            s.push(
                &[("container", cs.name.as_str())],
                ts(t.finished_at.as_ref()),
            );
        }
    }
}

fn status_ready<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        s.push(&[("container", cs.name.as_str())], bool_f(cs.ready));
    }
}

fn restarts_total<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        s.push(
            &[("container", cs.name.as_str())],
            f64::from(cs.restart_count),
        );
    }
}

fn status_running<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        s.push(&[("container", cs.name.as_str())], bool_f(is_running(cs)));
    }
}

fn status_terminated<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        s.push(
            &[("container", cs.name.as_str())],
            bool_f(terminated(cs).is_some()),
        );
    }
}

fn terminated_reason<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        if let Some(t) = terminated(cs) {
            s.push(
                &[("container", cs.name.as_str()), ("reason", s_or(&t.reason))],
                1.0,
            );
        }
    }
}

fn status_waiting<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for cs in container_statuses::<INIT>(p) {
        let waiting = cs.state.as_ref().is_some_and(|st| st.waiting.is_some());
        s.push(&[("container", cs.name.as_str())], bool_f(waiting));
    }
}

fn waiting_reason<const INIT: bool>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

/// A metadata timestamp KSM skips when unset or Go's zero time (`IsZero`).
fn set_time(t: Option<&Time>) -> Option<f64> {
    t.map(unix_seconds).filter(|&v| v != GO_ZERO_TIME_UNIX)
}

fn created(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = set_time(p.metadata.creation_timestamp.as_ref()) {
        s.value(v);
    }
}

fn deletion_timestamp(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = set_time(p.metadata.deletion_timestamp.as_ref()) {
        s.value(v);
    }
}

fn info(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn ips(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn annotations(p: &Pod, ctx: &RenderCtx, s: &mut Samples) {
    if !ctx.annotations.listed {
        return;
    }
    let l = kube_map_to_labels(
        "annotation",
        p.metadata.annotations.as_ref(),
        &ctx.annotations,
    );
    s.push(&l, 1.0);
}

fn labels(p: &Pod, ctx: &RenderCtx, s: &mut Samples) {
    if !ctx.labels.listed {
        return;
    }
    let l = kube_map_to_labels("label", p.metadata.labels.as_ref(), &ctx.labels);
    s.push(&l, 1.0);
}

fn overhead<'a>(p: &'a Pod, resource: &str) -> Option<&'a str> {
    spec(p)?
        .overhead
        .as_ref()?
        .get(resource)
        .map(|q| q.0.as_str())
}

fn overhead_cpu_cores(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = overhead(p, "cpu").and_then(parse_quantity) {
        s.value(v);
    }
}

fn overhead_memory_bytes(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = overhead(p, "memory").and_then(whole_units) {
        s.value(v);
    }
}

fn owner(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    let owners = p.metadata.owner_references.as_deref().unwrap_or(&[]);
    if owners.is_empty() {
        s.push(
            &[
                ("owner_kind", ""),
                ("owner_name", ""),
                ("owner_is_controller", ""),
            ],
            1.0,
        );
        return;
    }
    for o in owners {
        let ctl = if o.controller == Some(true) {
            "true"
        } else {
            "false"
        };
        s.push(
            &[
                ("owner_kind", o.kind.as_str()),
                ("owner_name", o.name.as_str()),
                ("owner_is_controller", ctl),
            ],
            1.0,
        );
    }
}

fn resourceclaim_info(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn restart_policy(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    let policy = spec(p).map_or("", |sp| s_or(&sp.restart_policy));
    s.push(&[("type", policy)], 1.0);
}

fn runtimeclass_name_info(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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
                bool_f(pvc.read_only.unwrap_or(false)),
            );
        } else if v.ephemeral.is_some() {
            let pod = p.metadata.name.as_deref().unwrap_or("");
            let claim = format!("{pod}-{}", v.name);
            f(&v.name, &claim, "true", 0.0);
        }
    }
}

fn pvc_info(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn pvc_readonly(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn start_time(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    if let Some(t) = status(p).and_then(|st| st.start_time.as_ref()) {
        s.value(unix_seconds(t));
    }
}

fn status_phase(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    let phase = status(p).map_or("", |st| s_or(&st.phase));
    if phase.is_empty() {
        return;
    }
    for name in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
        s.push(&[("phase", name)], bool_f(phase == name));
    }
}

fn status_qos_class(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    let class = status(p).map_or("", |st| s_or(&st.qos_class));
    if class.is_empty() {
        return;
    }
    for name in ["BestEffort", "Burstable", "Guaranteed"] {
        s.push(&[("qos_class", name)], bool_f(class == name));
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
fn condition_status<const T: u8>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p)
        .iter()
        .filter(|c| c.type_ == condition_type(T))
    {
        for (label, status) in [("true", "True"), ("false", "False"), ("unknown", "Unknown")] {
            s.push(&[("condition", label)], bool_f(c.status == status));
        }
    }
}

fn condition_true_time<const T: u8>(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p) {
        if c.type_ == condition_type(T) && c.status == "True" {
            s.value(ts(c.last_transition_time.as_ref()));
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

fn status_reason(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn disruption_reason(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn unschedulable(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p) {
        if c.type_ == "PodScheduled" && c.status == "False" {
            s.value(1.0);
        }
    }
}

fn unscheduled_time(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    for c in conditions(p) {
        if c.type_ == "PodScheduled" && c.status == "False" {
            s.value(ts(c.last_transition_time.as_ref()));
        }
    }
}

fn tolerations(p: &Pod, _: &RenderCtx, s: &mut Samples) {
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

fn nodeselectors(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    let l = kube_map_to_labels_all(
        "nodeselector",
        spec(p).and_then(|sp| sp.node_selector.as_ref()),
    );
    s.push(&l, 1.0);
}

fn service_account(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    let sa = spec(p).map_or("", |sp| s_or(&sp.service_account_name));
    s.push(&[("service_account", sa)], 1.0);
}

fn scheduler(p: &Pod, _: &RenderCtx, s: &mut Samples) {
    let name = spec(p).map_or("", |sp| s_or(&sp.scheduler_name));
    s.push(&[("name", name)], 1.0);
}
