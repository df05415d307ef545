//! The endpointslice role: one target per endpoint × port × address, joined with the pods
//! behind the endpoints and the service the slice belongs to.

use super::endpoints::{add_pod_port, resolve_pod, SeenPods};
use super::service::service_labels;
use super::{
    add_families, add_map, add_namespace_metadata, add_node_metadata, join_host_port, meta,
    name_of, ns_of, LabelSet, Lookups, TargetGroup,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// The slice label naming the owning service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

pub fn endpointslice_source(ns: &str, name: &str) -> String {
    format!("endpointslice/{ns}/{name}")
}

/// The service a slice belongs to, by its `kubernetes.io/service-name` label.
pub fn slice_service_name(s: &EndpointSlice) -> Option<&str> {
    s.metadata
        .labels
        .as_ref()
        .and_then(|m| m.get(SERVICE_NAME_LABEL))
        .map(String::as_str)
}

/// The endpointslice role for one slice.
pub fn endpointslice_group(slice: &EndpointSlice, l: &Lookups) -> TargetGroup {
    let ns = ns_of(&slice.metadata);
    let name = name_of(&slice.metadata);
    let mut tg = TargetGroup::empty(endpointslice_source(ns, name));
    tg.labels.insert(meta("namespace"), ns.to_string());
    tg.labels
        .insert(meta("endpointslice_name"), name.to_string());
    tg.labels.insert(
        meta("endpointslice_address_type"),
        slice.address_type.clone(),
    );
    add_families(&mut tg.labels, "endpointslice", &slice.metadata);
    let svc = slice_service_name(slice).and_then(|s| l.service(ns, s));
    if let Some(svc) = svc {
        tg.labels.extend(service_labels(svc));
    }
    add_namespace_metadata(&mut tg.labels, l, ns);

    // Dual-stack services get one slice per family; only the primary family's is scraped.
    if let Some(spec) = svc.and_then(|s| s.spec.as_ref()) {
        let dual = matches!(
            spec.ip_family_policy.as_deref(),
            Some("PreferDualStack" | "RequireDualStack")
        );
        if let Some(primary) = spec.ip_families.as_ref().and_then(|f| f.first()) {
            if dual && *primary != slice.address_type {
                return tg;
            }
        }
    }

    let mut seen = SeenPods::default();
    let ports = slice.ports.as_deref().unwrap_or(&[]);
    for ep in slice.endpoints.iter().flatten() {
        for port in ports {
            for addr in &ep.addresses {
                let mut t = LabelSet::new();
                let a = match port.port {
                    Some(p) => join_host_port(addr, p),
                    None => addr.clone(),
                };
                t.insert("__address__".into(), a);
                let mut opt = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        t.insert(meta(k), v);
                    }
                };
                opt("endpointslice_port_name", port.name.clone());
                opt("endpointslice_port_protocol", port.protocol.clone());
                opt("endpointslice_port", port.port.map(|p| p.to_string()));
                opt("endpointslice_port_app_protocol", port.app_protocol.clone());
                let c = ep.conditions.as_ref();
                opt(
                    "endpointslice_endpoint_conditions_ready",
                    c.and_then(|c| c.ready).map(|b| b.to_string()),
                );
                opt(
                    "endpointslice_endpoint_conditions_serving",
                    c.and_then(|c| c.serving).map(|b| b.to_string()),
                );
                opt(
                    "endpointslice_endpoint_conditions_terminating",
                    c.and_then(|c| c.terminating).map(|b| b.to_string()),
                );
                opt("endpointslice_endpoint_hostname", ep.hostname.clone());
                opt("endpointslice_endpoint_node_name", ep.node_name.clone());
                opt("endpointslice_endpoint_zone", ep.zone.clone());
                if let Some(r) = &ep.target_ref {
                    t.insert(
                        meta("endpointslice_address_target_kind"),
                        r.kind.clone().unwrap_or_default(),
                    );
                    t.insert(
                        meta("endpointslice_address_target_name"),
                        r.name.clone().unwrap_or_default(),
                    );
                }
                add_map(
                    &mut t,
                    "endpointslice_endpoint",
                    "topology",
                    ep.deprecated_topology.as_ref(),
                );
                // add_map spells the presence label `topologypresent`; Prometheus's is
                // `topology_present`.
                let present: Vec<String> = t
                    .keys()
                    .filter(|k| k.contains("endpointslice_endpoint_topologypresent_"))
                    .cloned()
                    .collect();
                for k in present {
                    t.remove(&k);
                    t.insert(
                        k.replace("_topologypresent_", "_topology_present_"),
                        "true".into(),
                    );
                }
                if l.attach_node() {
                    let node_name = ep
                        .target_ref
                        .as_ref()
                        .filter(|r| r.kind.as_deref() == Some("Node"))
                        .and_then(|r| r.name.as_deref())
                        .or(ep.node_name.as_deref());
                    if let Some(n) = node_name.and_then(|n| l.node(n)) {
                        add_node_metadata(&mut t, n);
                    }
                }
                if let Some(p) = resolve_pod(l, ep.target_ref.as_ref()) {
                    seen.add(p, port.port);
                    add_pod_port(&mut t, p, port.port, None, l);
                }
                tg.targets.push(t);
            }
        }
    }
    seen.extra_targets(l, &mut tg.targets);
    tg
}
