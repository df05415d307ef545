//! NetworkPolicy families, in kube-state-metrics' order (`internal/store/networkpolicy.go`).

use crate::metrics::common::{annotations, created_or_go_zero, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::networking::v1::NetworkPolicy;

pub static NETWORKPOLICY: ResourceDef<NetworkPolicy> = ResourceDef {
    name: "networkpolicies",
    identity: networkpolicy_identity,
    families: FAMILIES,
};

fn networkpolicy_identity(o: &NetworkPolicy) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("networkpolicy", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<NetworkPolicy>] = &[
    Family::experimental(
        "kube_networkpolicy_created",
        "Unix creation timestamp of network policy",
        created_or_go_zero,
    ),
    Family::experimental(
        "kube_networkpolicy_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_networkpolicy_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::experimental(
        "kube_networkpolicy_spec_ingress_rules",
        "Number of ingress rules on the networkpolicy",
        ingress_rules,
    ),
    Family::experimental(
        "kube_networkpolicy_spec_egress_rules",
        "Number of egress rules on the networkpolicy",
        egress_rules,
    ),
];

fn ingress_rules(o: &NetworkPolicy, _: &RenderCtx, s: &mut Samples) {
    let n = o
        .spec
        .as_ref()
        .and_then(|x| x.ingress.as_ref())
        .map_or(0, Vec::len);
    s.value(n as f64);
}

fn egress_rules(o: &NetworkPolicy, _: &RenderCtx, s: &mut Samples) {
    let n = o
        .spec
        .as_ref()
        .and_then(|x| x.egress.as_ref())
        .map_or(0, Vec::len);
    s.value(n as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_networkpolicy_created",
        "kube_networkpolicy_annotations",
        "kube_networkpolicy_labels",
        "kube_networkpolicy_spec_ingress_rules",
        "kube_networkpolicy_spec_egress_rules",
    ];

    fn policy() -> NetworkPolicy {
        obj(r#"{
          "metadata": {
            "name": "netpol1", "namespace": "ns1",
            "creationTimestamp": "2017-07-14T02:40:00Z",
            "labels": {"app": "web"},
            "annotations": {"app.k8s.io/owner": "@foo"}
          },
          "spec": {
            "podSelector": {},
            "ingress": [{}, {"from": [{"podSelector": {}}]}],
            "egress": [{}, {}, {}]
          }
        }"#)
    }

    #[test]
    fn every_family_of_a_network_policy() {
        let id = r#"namespace="ns1",networkpolicy="netpol1""#;
        assert_eq!(
            render_lines(&NETWORKPOLICY, &policy(), allow_all(), ALL),
            vec![
                format!("kube_networkpolicy_created{{{id}}} 1.5e+09"),
                format!(
                    r#"kube_networkpolicy_annotations{{{id},annotation_app_k8s_io_owner="@foo"}} 1"#
                ),
                format!(r#"kube_networkpolicy_labels{{{id},label_app="web"}} 1"#),
                format!("kube_networkpolicy_spec_ingress_rules{{{id}}} 2"),
                format!("kube_networkpolicy_spec_egress_rules{{{id}}} 3"),
            ]
        );
    }

    #[test]
    fn bare_policy_reports_zero_time_and_no_rules() {
        let p: NetworkPolicy = obj(r#"{"metadata": {"name": "p", "namespace": "n"}}"#);
        let id = r#"namespace="n",networkpolicy="p""#;
        assert_eq!(
            render_lines(&NETWORKPOLICY, &p, RenderCtx::default(), ALL),
            vec![
                format!("kube_networkpolicy_created{{{id}}} -6.21355968e+10"),
                format!("kube_networkpolicy_spec_ingress_rules{{{id}}} 0"),
                format!("kube_networkpolicy_spec_egress_rules{{{id}}} 0"),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&NETWORKPOLICY, &[policy()]);
    }
}
