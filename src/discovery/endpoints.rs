//! The endpoints role (deprecated API, still widely used): one target per address × port,
//! joined with the pods behind the addresses and the service of the same name, plus extra
//! targets for pod container ports no endpoint port covers.

use super::pod::PodInfo;
use super::service::service_labels;
use super::{
    add_families, add_namespace_metadata, add_node_metadata, join_host_port, meta, name_of, ns_of,
    LabelSet, Lookups, TargetGroup,
};
use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, Endpoints, ObjectReference};

pub fn endpoints_source(ns: &str, name: &str) -> String {
    format!("endpoints/{ns}/{name}")
}

/// Pods met while building a group, in first-seen order (Prometheus iterates a Go map, so
/// its order is random; any fixed order is as good), with the endpoint ports they serve.
#[derive(Default)]
pub(crate) struct SeenPods<'a> {
    pods: Vec<(&'a PodInfo, Vec<i32>)>,
}

impl<'a> SeenPods<'a> {
    pub(crate) fn add(&mut self, p: &'a PodInfo, port: Option<i32>) {
        let i = match self.pods.iter().position(|(q, _)| std::ptr::eq(*q, p)) {
            Some(i) => i,
            None => {
                self.pods.push((p, Vec::new()));
                self.pods.len() - 1
            }
        };
        if let Some(port) = port {
            self.pods[i].1.push(port);
        }
    }

    /// One target per container port of each pod with an IP that no endpoint port matched.
    pub(crate) fn extra_targets(&self, l: &Lookups, out: &mut Vec<LabelSet>) {
        for (p, ports) in &self.pods {
            if p.pod_ip.is_empty() {
                continue;
            }
            let pod_labels = p.labels(l);
            for c in &p.containers {
                for cp in &c.ports {
                    if ports.contains(&cp.number) {
                        continue;
                    }
                    let mut t = pod_labels.clone();
                    t.insert("__address__".into(), join_host_port(&p.pod_ip, cp.number));
                    t.insert(meta("pod_container_name"), c.name.clone());
                    t.insert(meta("pod_container_image"), c.image.clone());
                    t.insert(meta("pod_container_port_name"), cp.name.clone());
                    t.insert(meta("pod_container_port_number"), cp.number.to_string());
                    t.insert(meta("pod_container_port_protocol"), cp.protocol.clone());
                    t.insert(meta("pod_container_init"), c.init.to_string());
                    out.push(t);
                }
            }
        }
    }
}

/// The pod a target reference names, if it is a pod the job can see.
pub(crate) fn resolve_pod<'a>(l: &Lookups<'a>, r: Option<&ObjectReference>) -> Option<&'a PodInfo> {
    let r = r?;
    if r.kind.as_deref() != Some("Pod") {
        return None;
    }
    l.pod(
        r.namespace.as_deref().unwrap_or(""),
        r.name.as_deref().unwrap_or(""),
    )
}

/// Merges a pod's labels into a target and, when a container declares `port`, that
/// container's labels (the last such container wins, as in Prometheus). `protocol` is the
/// one to report: the endpoint port's for endpoints, the container port's for slices.
pub(crate) fn add_pod_port(
    t: &mut LabelSet,
    p: &PodInfo,
    port: Option<i32>,
    endpoint_protocol: Option<&str>,
    l: &Lookups,
) {
    t.extend(p.labels(l));
    let Some(port) = port else { return };
    for c in &p.containers {
        if let Some(cp) = c.ports.iter().find(|cp| cp.number == port) {
            t.insert(meta("pod_container_name"), c.name.clone());
            t.insert(meta("pod_container_image"), c.image.clone());
            t.insert(meta("pod_container_port_name"), cp.name.clone());
            t.insert(meta("pod_container_port_number"), port.to_string());
            t.insert(
                meta("pod_container_port_protocol"),
                endpoint_protocol.unwrap_or(&cp.protocol).to_string(),
            );
            t.insert(meta("pod_container_init"), c.init.to_string());
        }
    }
}

/// The endpoints role for one Endpoints object.
pub fn endpoints_group(eps: &Endpoints, l: &Lookups) -> TargetGroup {
    let ns = ns_of(&eps.metadata);
    let name = name_of(&eps.metadata);
    let mut tg = TargetGroup::empty(endpoints_source(ns, name));
    tg.labels.insert(meta("namespace"), ns.to_string());
    tg.labels.insert(meta("endpoints_name"), name.to_string());
    add_families(&mut tg.labels, "endpoints", &eps.metadata);
    if let Some(svc) = l.service(ns, name) {
        tg.labels.extend(service_labels(svc));
    }
    add_namespace_metadata(&mut tg.labels, l, ns);

    let mut seen = SeenPods::default();
    let mut add = |addr: &EndpointAddress, port: &EndpointPort, ready: &str| {
        let mut t = LabelSet::new();
        t.insert("__address__".into(), join_host_port(&addr.ip, port.port));
        t.insert(
            meta("endpoint_port_name"),
            port.name.clone().unwrap_or_default(),
        );
        t.insert(
            meta("endpoint_port_protocol"),
            port.protocol.clone().unwrap_or_default(),
        );
        t.insert(meta("endpoint_ready"), ready.into());
        if let Some(n) = &addr.node_name {
            t.insert(meta("endpoint_node_name"), n.clone());
        }
        if let Some(h) = addr.hostname.as_ref().filter(|h| !h.is_empty()) {
            t.insert(meta("endpoint_hostname"), h.clone());
        }
        if let Some(r) = &addr.target_ref {
            t.insert(
                meta("endpoint_address_target_kind"),
                r.kind.clone().unwrap_or_default(),
            );
            t.insert(
                meta("endpoint_address_target_name"),
                r.name.clone().unwrap_or_default(),
            );
        }
        if l.attach_node() {
            let node_name = addr.node_name.as_deref().or_else(|| {
                addr.target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Node"))
                    .and_then(|r| r.name.as_deref())
            });
            if let Some(n) = node_name.and_then(|n| l.node(n)) {
                add_node_metadata(&mut t, n);
            }
        }
        if let Some(p) = resolve_pod(l, addr.target_ref.as_ref()) {
            seen.add(p, Some(port.port));
            add_pod_port(
                &mut t,
                p,
                Some(port.port),
                Some(port.protocol.as_deref().unwrap_or("")),
                l,
            );
        }
        tg.targets.push(t);
    };
    for ss in eps.subsets.iter().flatten() {
        for port in ss.ports.iter().flatten() {
            for a in ss.addresses.iter().flatten() {
                add(a, port, "true");
            }
            for a in ss.not_ready_addresses.iter().flatten() {
                add(a, port, "false");
            }
        }
    }
    match eps
        .metadata
        .labels
        .as_ref()
        .and_then(|m| m.get("endpoints.kubernetes.io/over-capacity"))
        .map(String::as_str)
    {
        Some("truncated") => crate::log_event!(
            crate::log::Level::Warn,
            "Number of endpoints in one Endpoints object exceeds 1000 and has been truncated, please use \"role: endpointslice\" instead",
            endpoint = name
        ),
        Some("warning") => crate::log_event!(
            crate::log::Level::Warn,
            "Number of endpoints in one Endpoints object exceeds 1000, please use \"role: endpointslice\" instead",
            endpoint = name
        ),
        _ => {}
    }
    seen.extra_targets(l, &mut tg.targets);
    tg
}
