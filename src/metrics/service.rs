//! Service families, in kube-state-metrics' order (`internal/store/service.go`).
//!
//! Every spec field is reported as written, empty when unset: KSM reads the Go zero values.

use crate::metrics::common::{annotations, created, deletion_timestamp, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::core::v1::Service;

pub static SERVICE: ResourceDef<Service> = ResourceDef {
    name: "services",
    identity: service_identity,
    families: FAMILIES,
};

fn service_identity(o: &Service) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("service", m.name.as_deref().unwrap_or("")),
        ("uid", m.uid.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Service>] = &[
    Family::stable("kube_service_info", "Information about service.", info),
    Family::stable("kube_service_created", "Unix creation timestamp", created),
    Family::stable("kube_service_spec_type", "Type about service.", spec_type),
    Family::experimental(
        "kube_service_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_service_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable(
        "kube_service_spec_external_ip",
        "Service external ips. One series for each ip",
        external_ips,
    ),
    Family::stable(
        "kube_service_status_load_balancer_ingress",
        "Service load balancer ingress status",
        load_balancer_ingress,
    ),
    Family::experimental(
        "kube_service_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
];

fn info(o: &Service, _: &RenderCtx, s: &mut Samples) {
    let sp = o.spec.as_ref();
    let field = |f: fn(&k8s_openapi::api::core::v1::ServiceSpec) -> Option<&String>| {
        sp.and_then(f).map_or("", String::as_str)
    };
    s.push(
        &[
            ("cluster_ip", field(|x| x.cluster_ip.as_ref())),
            ("external_name", field(|x| x.external_name.as_ref())),
            ("load_balancer_ip", field(|x| x.load_balancer_ip.as_ref())),
            (
                "external_traffic_policy",
                field(|x| x.external_traffic_policy.as_ref()),
            ),
        ],
        1.0,
    );
}

fn spec_type(o: &Service, _: &RenderCtx, s: &mut Samples) {
    let t = o
        .spec
        .as_ref()
        .and_then(|x| x.type_.as_deref())
        .unwrap_or("");
    s.push(&[("type", t)], 1.0);
}

fn external_ips(o: &Service, _: &RenderCtx, s: &mut Samples) {
    let ips = o.spec.as_ref().and_then(|x| x.external_ips.as_deref());
    for ip in ips.unwrap_or(&[]) {
        s.push(&[("external_ip", ip.as_str())], 1.0);
    }
}

fn load_balancer_ingress(o: &Service, _: &RenderCtx, s: &mut Samples) {
    let ingress = o
        .status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or(&[]);
    for i in ingress {
        s.push(
            &[
                ("ip", i.ip.as_deref().unwrap_or("")),
                ("hostname", i.hostname.as_deref().unwrap_or("")),
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
        "kube_service_info",
        "kube_service_created",
        "kube_service_spec_type",
        "kube_service_annotations",
        "kube_service_labels",
        "kube_service_spec_external_ip",
        "kube_service_status_load_balancer_ingress",
        "kube_service_deletion_timestamp",
    ];

    fn load_balancer() -> Service {
        obj(r#"{
          "metadata": {
            "name": "test-service4", "namespace": "default", "uid": "uid4",
            "creationTimestamp": "2017-07-14T02:40:00Z",
            "deletionTimestamp": "2017-07-14T02:50:00Z",
            "labels": {"app": "example4"},
            "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
          },
          "spec": {
            "type": "LoadBalancer", "clusterIP": "1.2.3.6", "loadBalancerIP": "1.2.3.7",
            "externalTrafficPolicy": "Local",
            "externalIPs": ["1.2.3.8", "1.2.3.9"]
          },
          "status": {"loadBalancer": {"ingress": [
            {"ip": "1.2.3.10", "hostname": "lb.example.com"},
            {"hostname": "other.example.com"}
          ]}}
        }"#)
    }

    fn external_name() -> Service {
        obj(r#"{
          "metadata": {"name": "test-service5", "namespace": "default", "uid": "uid5",
                       "creationTimestamp": "2017-07-14T02:40:00Z"},
          "spec": {"type": "ExternalName", "externalName": "www.example.com"}
        }"#)
    }

    #[test]
    fn load_balancer_service() {
        let id = r#"namespace="default",service="test-service4",uid="uid4""#;
        assert_eq!(
            render_lines(&SERVICE, &load_balancer(), allow_all(), ALL),
            vec![
                format!(
                    r#"kube_service_info{{{id},cluster_ip="1.2.3.6",external_name="",load_balancer_ip="1.2.3.7",external_traffic_policy="Local"}} 1"#
                ),
                format!("kube_service_created{{{id}}} 1.5e+09"),
                format!(r#"kube_service_spec_type{{{id},type="LoadBalancer"}} 1"#),
                format!(
                    r#"kube_service_annotations{{{id},annotation_service_beta_kubernetes_io_aws_load_balancer_type="nlb"}} 1"#
                ),
                format!(r#"kube_service_labels{{{id},label_app="example4"}} 1"#),
                format!(r#"kube_service_spec_external_ip{{{id},external_ip="1.2.3.8"}} 1"#),
                format!(r#"kube_service_spec_external_ip{{{id},external_ip="1.2.3.9"}} 1"#),
                format!(
                    r#"kube_service_status_load_balancer_ingress{{{id},ip="1.2.3.10",hostname="lb.example.com"}} 1"#
                ),
                format!(
                    r#"kube_service_status_load_balancer_ingress{{{id},ip="",hostname="other.example.com"}} 1"#
                ),
                format!("kube_service_deletion_timestamp{{{id}}} 1.5000006e+09"),
            ]
        );
    }

    #[test]
    fn external_name_and_bare_services() {
        let id = r#"namespace="default",service="test-service5",uid="uid5""#;
        assert_eq!(
            render_lines(&SERVICE, &external_name(), RenderCtx::default(), ALL),
            vec![
                format!(
                    r#"kube_service_info{{{id},cluster_ip="",external_name="www.example.com",load_balancer_ip="",external_traffic_policy=""}} 1"#
                ),
                format!("kube_service_created{{{id}}} 1.5e+09"),
                format!(r#"kube_service_spec_type{{{id},type="ExternalName"}} 1"#),
            ]
        );
        // No spec at all: info and type still have one series of empty values.
        let bare: Service = obj(r#"{"metadata": {"name": "s", "namespace": "n"}}"#);
        assert_eq!(
            render_lines(&SERVICE, &bare, RenderCtx::default(), ALL),
            vec![
                r#"kube_service_info{namespace="n",service="s",uid="",cluster_ip="",external_name="",load_balancer_ip="",external_traffic_policy=""} 1"#,
                r#"kube_service_spec_type{namespace="n",service="s",uid="",type=""} 1"#,
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&SERVICE, &[load_balancer(), external_name()]);
    }
}
