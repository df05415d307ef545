//! EndpointSlice families, in kube-state-metrics' order (`internal/store/endpointslice.go`).

use crate::metrics::common::{annotations, created, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::discovery::v1::EndpointSlice;

pub static ENDPOINTSLICE: ResourceDef<EndpointSlice> = ResourceDef {
    name: "endpointslices",
    identity: endpointslice_identity,
    families: FAMILIES,
};

fn endpointslice_identity(o: &EndpointSlice) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("endpointslice", m.name.as_deref().unwrap_or("")),
        ("namespace", m.namespace.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<EndpointSlice>] = &[
    Family::experimental(
        "kube_endpointslice_info",
        "Information about endpointslice.",
        info,
    ),
    Family::experimental(
        "kube_endpointslice_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_endpointslice_endpoints_hints",
        "Topology routing hints attached to endpoints",
        hints,
    ),
    Family::experimental(
        "kube_endpointslice_endpoints",
        "Endpoints attached to the endpointslice.",
        endpoints,
    ),
    Family::experimental(
        "kube_endpointslice_ports",
        "Ports attached to the endpointslice.",
        ports,
    ),
    Family::experimental(
        "kube_endpointslice_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_endpointslice_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

fn info(o: &EndpointSlice, _: &RenderCtx, s: &mut Samples) {
    s.push(&[("addresstype", o.address_type.as_str())], 1.0);
}

/// One series per zone hint, labelled with the endpoint's first address (all addresses of
/// an endpoint are fungible); endpoints without hints or addresses are skipped.
fn hints(o: &EndpointSlice, _: &RenderCtx, s: &mut Samples) {
    for ep in o.endpoints.iter().flatten() {
        let zones = ep.hints.as_ref().and_then(|h| h.for_zones.as_deref());
        let (Some(zones), Some(address)) = (zones, ep.addresses.first()) else {
            continue;
        };
        for z in zones {
            s.push(
                &[("address", address.as_str()), ("for_zone", z.name.as_str())],
                1.0,
            );
        }
    }
}

/// Go's `strconv.FormatBool` of an optional condition, empty when unset.
fn opt_bool(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

/// One series per address of each endpoint.
fn endpoints(o: &EndpointSlice, _: &RenderCtx, s: &mut Samples) {
    for ep in o.endpoints.iter().flatten() {
        let c = ep.conditions.as_ref();
        let tr = ep.target_ref.as_ref();
        let tr_field = |f: fn(&k8s_openapi::api::core::v1::ObjectReference) -> Option<&String>| {
            tr.and_then(f).map_or("", String::as_str)
        };
        let fixed = [
            ("ready", opt_bool(c.and_then(|c| c.ready))),
            ("serving", opt_bool(c.and_then(|c| c.serving))),
            ("hostname", ep.hostname.as_deref().unwrap_or("")),
            ("terminating", opt_bool(c.and_then(|c| c.terminating))),
            ("targetref_kind", tr_field(|t| t.kind.as_ref())),
            ("targetref_name", tr_field(|t| t.name.as_ref())),
            ("targetref_namespace", tr_field(|t| t.namespace.as_ref())),
            ("endpoint_nodename", ep.node_name.as_deref().unwrap_or("")),
            ("endpoint_zone", ep.zone.as_deref().unwrap_or("")),
        ];
        for address in &ep.addresses {
            s.push_iter(
                fixed
                    .iter()
                    .copied()
                    .chain(std::iter::once(("address", address.as_str()))),
                1.0,
            );
        }
    }
}

/// Every field of a slice port is optional (a slice need not route traffic): unset ones
/// are empty labels.
fn ports(o: &EndpointSlice, _: &RenderCtx, s: &mut Samples) {
    for port in o.ports.iter().flatten() {
        let number = port.port.map(|p| p.to_string()).unwrap_or_default();
        s.push(
            &[
                ("port_name", port.name.as_deref().unwrap_or("")),
                ("port_protocol", port.protocol.as_deref().unwrap_or("")),
                ("port_number", number.as_str()),
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_endpointslice_info",
        "kube_endpointslice_created",
        "kube_endpointslice_endpoints_hints",
        "kube_endpointslice_endpoints",
        "kube_endpointslice_ports",
        "kube_endpointslice_annotations",
        "kube_endpointslice_labels",
    ];

    fn slice() -> EndpointSlice {
        obj(r#"{
          "metadata": {
            "name": "test_endpointslice-endpoints", "namespace": "test",
            "creationTimestamp": "2017-07-14T02:40:00Z",
            "labels": {"kubernetes.io/service-name": "web"},
            "annotations": {"endpoints.kubernetes.io/managed-by": "endpointslice-controller"}
          },
          "addressType": "IPv4",
          "endpoints": [
            {"addresses": ["10.0.0.1", "192.168.1.10"],
             "conditions": {"ready": true, "serving": true, "terminating": false},
             "hostname": "host",
             "nodeName": "node",
             "zone": "west",
             "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "test"},
             "hints": {"forZones": [{"name": "west"}, {"name": "east"}]}},
            {"addresses": ["10.0.0.2"],
             "conditions": {"ready": false}},
            {"addresses": [],
             "hints": {"forZones": [{"name": "west"}]}},
            {"addresses": ["10.0.0.3"],
             "hints": {"forZones": []}}
          ],
          "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"},
            {}
          ]
        }"#)
    }

    #[test]
    fn every_family_of_an_endpointslice() {
        let id = r#"endpointslice="test_endpointslice-endpoints",namespace="test""#;
        assert_eq!(
            render_lines(&ENDPOINTSLICE, &slice(), allow_all(), ALL),
            vec![
                format!(r#"kube_endpointslice_info{{{id},addresstype="IPv4"}} 1"#),
                format!("kube_endpointslice_created{{{id}}} 1.5e+09"),
                format!(
                    r#"kube_endpointslice_endpoints_hints{{{id},address="10.0.0.1",for_zone="west"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_endpoints_hints{{{id},address="10.0.0.1",for_zone="east"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_endpoints{{{id},ready="true",serving="true",hostname="host",terminating="false",targetref_kind="Pod",targetref_name="web-1",targetref_namespace="test",endpoint_nodename="node",endpoint_zone="west",address="10.0.0.1"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_endpoints{{{id},ready="true",serving="true",hostname="host",terminating="false",targetref_kind="Pod",targetref_name="web-1",targetref_namespace="test",endpoint_nodename="node",endpoint_zone="west",address="192.168.1.10"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_endpoints{{{id},ready="false",serving="",hostname="",terminating="",targetref_kind="",targetref_name="",targetref_namespace="",endpoint_nodename="",endpoint_zone="",address="10.0.0.2"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_endpoints{{{id},ready="",serving="",hostname="",terminating="",targetref_kind="",targetref_name="",targetref_namespace="",endpoint_nodename="",endpoint_zone="",address="10.0.0.3"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_ports{{{id},port_name="http",port_protocol="TCP",port_number="80"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_ports{{{id},port_name="",port_protocol="",port_number=""}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_annotations{{{id},annotation_endpoints_kubernetes_io_managed_by="endpointslice-controller"}} 1"#
                ),
                format!(
                    r#"kube_endpointslice_labels{{{id},label_kubernetes_io_service_name="web"}} 1"#
                ),
            ]
        );
    }

    #[test]
    fn empty_slice() {
        let e: EndpointSlice =
            obj(r#"{"metadata": {"name": "e", "namespace": "n"}, "addressType": "FQDN"}"#);
        assert_eq!(
            render_lines(&ENDPOINTSLICE, &e, RenderCtx::default(), ALL),
            vec![
                r#"kube_endpointslice_info{endpointslice="e",namespace="n",addresstype="FQDN"} 1"#
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&ENDPOINTSLICE, &[slice()]);
    }
}
