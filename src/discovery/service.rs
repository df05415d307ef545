//! The service role: one target per service port at `<name>.<ns>.svc:<port>`.

use super::{
    add_families, add_namespace_metadata, meta, name_of, ns_of, LabelSet, Lookups, TargetGroup,
};
use k8s_openapi::api::core::v1::Service;

pub fn service_source(ns: &str, name: &str) -> String {
    format!("svc/{ns}/{name}")
}

/// `service_name` and the service label/annotation families: what the endpoints roles
/// attach from the service of the same name.
pub fn service_labels(svc: &Service) -> LabelSet {
    let mut l = LabelSet::new();
    l.insert(meta("service_name"), name_of(&svc.metadata).to_string());
    add_families(&mut l, "service", &svc.metadata);
    l
}

/// The service role for one service. A service without ports has labels but no targets.
pub fn service_group(svc: &Service, l: &Lookups) -> TargetGroup {
    let ns = ns_of(&svc.metadata);
    let name = name_of(&svc.metadata);
    let mut tg = TargetGroup::empty(service_source(ns, name));
    tg.labels = service_labels(svc);
    tg.labels.insert(meta("namespace"), ns.to_string());
    add_namespace_metadata(&mut tg.labels, l, ns);

    let Some(spec) = svc.spec.as_ref() else {
        return tg;
    };
    let type_ = spec.type_.clone().unwrap_or_default();
    for port in spec.ports.iter().flatten() {
        let mut t = LabelSet::new();
        t.insert(
            "__address__".into(),
            format!("{name}.{ns}.svc:{}", port.port),
        );
        t.insert(
            meta("service_port_name"),
            port.name.clone().unwrap_or_default(),
        );
        t.insert(meta("service_port_number"), port.port.to_string());
        t.insert(
            meta("service_port_protocol"),
            port.protocol.clone().unwrap_or_default(),
        );
        t.insert(meta("service_type"), type_.clone());
        if type_ == "ExternalName" {
            t.insert(
                meta("service_external_name"),
                spec.external_name.clone().unwrap_or_default(),
            );
        } else {
            t.insert(
                meta("service_cluster_ip"),
                spec.cluster_ip.clone().unwrap_or_default(),
            );
        }
        if type_ == "LoadBalancer" {
            t.insert(meta("service_loadbalancer_ip"), loadbalancer_ip(svc));
        }
        tg.targets.push(t);
    }
    tg
}

/// Prometheus main: the status ingress IPs joined with `,`, else `spec.loadBalancerIP`.
fn loadbalancer_ip(svc: &Service) -> String {
    let ips: Vec<&str> = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref())
        .filter(|ip| !ip.is_empty())
        .collect();
    if ips.is_empty() {
        svc.spec
            .as_ref()
            .and_then(|s| s.load_balancer_ip.clone())
            .unwrap_or_default()
    } else {
        ips.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::testutil::{assert_group, job, obj, tg};
    use crate::discovery::{Role, World};
    use k8s_openapi::api::core::v1::Namespace;
    use serde_json::json;

    fn group(svc: serde_json::Value) -> TargetGroup {
        let w = World::default();
        let j = job(Role::Service);
        service_group(&obj(svc), &Lookups::new(&w, &j))
    }

    #[test]
    fn add_cluster_ip() {
        let g = group(json!({
            "metadata": {"name": "testservice", "namespace": "default"},
            "spec": {"ports": [{"name": "testport", "protocol": "TCP", "port": 30900}],
                     "type": "ClusterIP", "clusterIP": "10.0.0.1"}
        }));
        assert_group(
            &g,
            &tg(
                "svc/default/testservice",
                &[("service_name", "testservice"), ("namespace", "default")],
                &[&[
                    ("__address__", "testservice.default.svc:30900"),
                    ("service_type", "ClusterIP"),
                    ("service_cluster_ip", "10.0.0.1"),
                    ("service_port_name", "testport"),
                    ("service_port_number", "30900"),
                    ("service_port_protocol", "TCP"),
                ]],
            ),
        );
    }

    #[test]
    fn add_external_name_and_load_balancers() {
        let g = group(json!({
            "metadata": {"name": "testservice-external", "namespace": "default"},
            "spec": {"ports": [{"name": "testport", "protocol": "TCP", "port": 31900}],
                     "type": "ExternalName", "externalName": "FooExternalName"}
        }));
        assert_group(
            &g,
            &tg(
                "svc/default/testservice-external",
                &[
                    ("service_name", "testservice-external"),
                    ("namespace", "default"),
                ],
                &[&[
                    ("__address__", "testservice-external.default.svc:31900"),
                    ("service_type", "ExternalName"),
                    ("service_external_name", "FooExternalName"),
                    ("service_port_name", "testport"),
                    ("service_port_number", "31900"),
                    ("service_port_protocol", "TCP"),
                ]],
            ),
        );
        let g = group(json!({
            "metadata": {"name": "testservice-lb", "namespace": "default"},
            "spec": {"ports": [{"name": "testport", "protocol": "TCP", "port": 32900}],
                     "type": "LoadBalancer", "clusterIP": "10.0.0.3", "loadBalancerIP": "127.0.0.1"}
        }));
        assert_eq!(
            g.targets[0]["__meta_kubernetes_service_loadbalancer_ip"],
            "127.0.0.1"
        );
        assert_eq!(
            g.targets[0]["__meta_kubernetes_service_cluster_ip"],
            "10.0.0.3"
        );
        let g = group(json!({
            "metadata": {"name": "lb2", "namespace": "default"},
            "spec": {"ports": [{"port": 80}], "type": "LoadBalancer", "clusterIP": "10.0.0.4",
                     "loadBalancerIP": "127.0.0.1"},
            "status": {"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}, {"hostname": "lb.example"}, {"ip": "2001:db8::1"}]}}
        }));
        assert_eq!(
            g.targets[0]["__meta_kubernetes_service_loadbalancer_ip"],
            "1.1.1.1,2001:db8::1"
        );
        assert_eq!(g.targets[0]["__meta_kubernetes_service_port_name"], "");
        assert_eq!(g.targets[0]["__meta_kubernetes_service_port_protocol"], "");
    }

    #[test]
    fn update_two_ports_labels_annotations_headless() {
        let g = group(json!({
            "metadata": {"name": "testservice", "namespace": "default",
                         "labels": {"app/name": "test"}, "annotations": {"test.annotation": "test"}},
            "spec": {"ports": [{"name": "testport0", "protocol": "TCP", "port": 30900},
                               {"name": "testport1", "protocol": "UDP", "port": 30901}],
                     "type": "ClusterIP", "clusterIP": "None"}
        }));
        let t = |port: &'static str, name: &'static str, proto: &'static str| {
            vec![
                ("__address__", port),
                ("service_type", "ClusterIP"),
                ("service_cluster_ip", "None"),
                ("service_port_name", name),
                ("service_port_number", &port[port.len() - 5..]),
                ("service_port_protocol", proto),
            ]
        };
        let t0 = t("testservice.default.svc:30900", "testport0", "TCP");
        let t1 = t("testservice.default.svc:30901", "testport1", "UDP");
        assert_group(
            &g,
            &tg(
                "svc/default/testservice",
                &[
                    ("service_name", "testservice"),
                    ("namespace", "default"),
                    ("service_label_app_name", "test"),
                    ("service_labelpresent_app_name", "true"),
                    ("service_annotation_test_annotation", "test"),
                    ("service_annotationpresent_test_annotation", "true"),
                ],
                &[&t0, &t1],
            ),
        );
    }

    #[test]
    fn no_ports_no_targets_and_namespace_metadata() {
        let mut w = World::default();
        w.insert_namespace(&obj::<Namespace>(json!({"metadata": {"name": "ns1",
            "labels": {"service.kubernetes.io/x": "y"}, "annotations": {"a": "b"}}})));
        let mut j = job(Role::Service);
        j.attach.namespace = true;
        let svc: Service = obj(json!({"metadata": {"name": "s", "namespace": "ns1"}, "spec": {}}));
        let g = service_group(&svc, &Lookups::new(&w, &j));
        assert_group(
            &g,
            &tg(
                "svc/ns1/s",
                &[
                    ("service_name", "s"),
                    ("namespace", "ns1"),
                    ("namespace_label_service_kubernetes_io_x", "y"),
                    ("namespace_labelpresent_service_kubernetes_io_x", "true"),
                    ("namespace_annotation_a", "b"),
                    ("namespace_annotationpresent_a", "true"),
                ],
                &[],
            ),
        );
    }
}
