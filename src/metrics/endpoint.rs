//! Endpoints families, in kube-state-metrics' order (`internal/store/endpoint.go`).

use crate::metrics::common::{annotations, created, info, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Endpoints;

pub static ENDPOINT: ResourceDef<Endpoints> = ResourceDef {
    name: "endpoints",
    identity: endpoint_identity,
    families: FAMILIES,
};

fn endpoint_identity(o: &Endpoints) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("endpoint", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Endpoints>] = &[
    Family::stable("kube_endpoint_info", "Information about endpoint.", info),
    Family::stable("kube_endpoint_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_endpoint_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_endpoint_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable(
        "kube_endpoint_address",
        "Information about Endpoint available and non available addresses.",
        address,
    ),
    Family::stable(
        "kube_endpoint_ports",
        "Information about the Endpoint ports.",
        ports,
    )
    .deprecated("v2.14.0"),
];

/// One series per (subset, port, address): ready addresses first, then not-ready ones, for
/// each port in turn — KSM's loop order.
fn address(o: &Endpoints, _: &RenderCtx, s: &mut Samples) {
    for subset in o.subsets.iter().flatten() {
        for port in subset.ports.iter().flatten() {
            let number = port.port.to_string();
            let protocol = port.protocol.as_deref().unwrap_or("");
            let name = port.name.as_deref().unwrap_or("");
            let groups = [
                (subset.addresses.as_deref(), "true"),
                (subset.not_ready_addresses.as_deref(), "false"),
            ];
            for (addrs, ready) in groups {
                for a in addrs.unwrap_or(&[]) {
                    s.push(
                        &[
                            ("port_protocol", protocol),
                            ("port_number", number.as_str()),
                            ("port_name", name),
                            ("ip", a.ip.as_str()),
                            ("ready", ready),
                        ],
                        1.0,
                    );
                }
            }
        }
    }
}

fn ports(o: &Endpoints, _: &RenderCtx, s: &mut Samples) {
    for subset in o.subsets.iter().flatten() {
        for port in subset.ports.iter().flatten() {
            let number = port.port.to_string();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_endpoint_info",
        "kube_endpoint_created",
        "kube_endpoint_annotations",
        "kube_endpoint_labels",
        "kube_endpoint_address",
        "kube_endpoint_ports",
    ];

    fn endpoints() -> Endpoints {
        obj(r#"{
          "metadata": {
            "name": "test-endpoint", "namespace": "default",
            "creationTimestamp": "2017-07-14T02:40:00Z",
            "labels": {"app": "foobar"},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2017-07-14T02:39:00Z"}
          },
          "subsets": [
            {"addresses": [{"ip": "127.0.0.1"}, {"ip": "10.0.0.1"}],
             "ports": [{"port": 8080, "name": "http", "protocol": "TCP"}, {"port": 8081, "name": "app", "protocol": "TCP"}]},
            {"addresses": [{"ip": "172.22.23.202"}],
             "ports": [{"port": 8443, "name": "https", "protocol": "TCP"}]},
            {"notReadyAddresses": [{"ip": "192.168.1.3"}],
             "ports": [{"port": 1234, "name": "syslog", "protocol": "UDP"}]},
            {"addresses": [{"ip": "10.0.0.5"}],
             "notReadyAddresses": [{"ip": "10.0.0.10"}],
             "ports": [{"port": 9090}]},
            {"addresses": [{"ip": "10.0.0.6"}]}
          ]
        }"#)
    }

    #[test]
    fn every_family_of_endpoints() {
        let id = r#"namespace="default",endpoint="test-endpoint""#;
        let addr = |p: &str, n: &str, name: &str, ip: &str, r: &str| {
            format!(
                r#"kube_endpoint_address{{{id},port_protocol="{p}",port_number="{n}",port_name="{name}",ip="{ip}",ready="{r}"}} 1"#
            )
        };
        let port = |name: &str, p: &str, n: &str| {
            format!(
                r#"kube_endpoint_ports{{{id},port_name="{name}",port_protocol="{p}",port_number="{n}"}} 1"#
            )
        };
        assert_eq!(
            render_lines(&ENDPOINT, &endpoints(), allow_all(), ALL),
            vec![
                format!("kube_endpoint_info{{{id}}} 1"),
                format!("kube_endpoint_created{{{id}}} 1.5e+09"),
                format!(
                    r#"kube_endpoint_annotations{{{id},annotation_endpoints_kubernetes_io_last_change_trigger_time="2017-07-14T02:39:00Z"}} 1"#
                ),
                format!(r#"kube_endpoint_labels{{{id},label_app="foobar"}} 1"#),
                addr("TCP", "8080", "http", "127.0.0.1", "true"),
                addr("TCP", "8080", "http", "10.0.0.1", "true"),
                addr("TCP", "8081", "app", "127.0.0.1", "true"),
                addr("TCP", "8081", "app", "10.0.0.1", "true"),
                addr("TCP", "8443", "https", "172.22.23.202", "true"),
                addr("UDP", "1234", "syslog", "192.168.1.3", "false"),
                // Unnamed port without protocol: empty labels, as Go's zero values.
                addr("", "9090", "", "10.0.0.5", "true"),
                addr("", "9090", "", "10.0.0.10", "false"),
                port("http", "TCP", "8080"),
                port("app", "TCP", "8081"),
                port("https", "TCP", "8443"),
                port("syslog", "UDP", "1234"),
                port("", "", "9090"),
            ]
        );
    }

    #[test]
    fn endpoints_without_subsets() {
        let e: Endpoints = obj(r#"{"metadata": {"name": "e", "namespace": "n"}}"#);
        assert_eq!(
            render_lines(&ENDPOINT, &e, RenderCtx::default(), ALL),
            vec![r#"kube_endpoint_info{namespace="n",endpoint="e"} 1"#]
        );
    }

    #[test]
    fn ports_family_is_deprecated() {
        let h = String::from_utf8(FAMILIES[5].def.header()).expect("utf8");
        assert!(h.starts_with(
            "# HELP kube_endpoint_ports [STABLE] (Deprecated since v2.14.0) Information"
        ));
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&ENDPOINT, &[endpoints()]);
    }
}
