//! IngressClass families, in kube-state-metrics' order (`internal/store/ingressclass.go`).

use crate::metrics::common::{annotations, created, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::networking::v1::IngressClass;

pub static INGRESSCLASS: ResourceDef<IngressClass> = ResourceDef {
    name: "ingressclasses",
    identity: ingressclass_identity,
    families: FAMILIES,
};

fn ingressclass_identity(o: &IngressClass) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("ingressclass", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<IngressClass>] = &[
    Family::experimental(
        "kube_ingressclass_info",
        "Information about ingressclass.",
        info,
    ),
    Family::experimental(
        "kube_ingressclass_created",
        "Unix creation timestamp",
        created,
    ),
    Family::experimental(
        "kube_ingressclass_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::experimental(
        "kube_ingressclass_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

fn info(o: &IngressClass, _: &RenderCtx, s: &mut Samples) {
    let controller = o.spec.as_ref().and_then(|sp| sp.controller.as_deref());
    s.push(&[("controller", controller.unwrap_or(""))], 1.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_ingressclass_info",
        "kube_ingressclass_created",
        "kube_ingressclass_annotations",
        "kube_ingressclass_labels",
    ];

    fn class() -> IngressClass {
        obj(r#"{
          "metadata": {"name": "test_ingressclass-info", "creationTimestamp": "2017-07-14T02:40:00Z",
                       "labels": {"foo": "bar"},
                       "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
          "spec": {"controller": "controller"}
        }"#)
    }

    #[test]
    fn every_family_of_an_ingress_class() {
        let id = r#"ingressclass="test_ingressclass-info""#;
        assert_eq!(
            render_lines(&INGRESSCLASS, &class(), allow_all(), ALL),
            vec![
                format!(r#"kube_ingressclass_info{{{id},controller="controller"}} 1"#),
                format!("kube_ingressclass_created{{{id}}} 1.5e+09"),
                format!(
                    r#"kube_ingressclass_annotations{{{id},annotation_ingressclass_kubernetes_io_is_default_class="true"}} 1"#
                ),
                format!(r#"kube_ingressclass_labels{{{id},label_foo="bar"}} 1"#),
            ]
        );
    }

    #[test]
    fn class_without_spec() {
        let ic: IngressClass = obj(r#"{"metadata": {"name": "c"}}"#);
        assert_eq!(
            render_lines(&INGRESSCLASS, &ic, RenderCtx::default(), ALL),
            vec![r#"kube_ingressclass_info{ingressclass="c",controller=""} 1"#]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&INGRESSCLASS, &[class()]);
    }
}
