//! ValidatingAdmissionPolicy families, in kube-state-metrics' order (`internal/store/validatingadmissionpolicy.go`).
//!
//! Cluster-scoped, but kube-state-metrics' wrapper declares a `namespace` identity label, so
//! lines carry `namespace=""` from a real API server.

use crate::metrics::common::created;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy;

pub static VALIDATINGADMISSIONPOLICY: ResourceDef<ValidatingAdmissionPolicy> = ResourceDef {
    name: "validatingadmissionpolicies",
    identity: validatingadmissionpolicy_identity,
    families: FAMILIES,
};

fn validatingadmissionpolicy_identity(o: &ValidatingAdmissionPolicy) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("validatingadmissionpolicy", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<ValidatingAdmissionPolicy>] = &[
    Family::experimental(
        "kube_validatingadmissionpolicy_info",
        "Information about the ValidatingAdmissionPolicy.",
        info,
    ),
    Family::experimental(
        "kube_validatingadmissionpolicy_created",
        "Unix creation timestamp.",
        created,
    ),
];

/// Always one sample; unset spec fields are empty label values.
fn info(p: &ValidatingAdmissionPolicy, _: &RenderCtx, s: &mut Samples) {
    let spec = p.spec.as_ref();
    let param = spec.and_then(|sp| sp.param_kind.as_ref());
    s.push(
        &[
            (
                "param_api_version",
                param.and_then(|k| k.api_version.as_deref()).unwrap_or(""),
            ),
            (
                "param_kind",
                param.and_then(|k| k.kind.as_deref()).unwrap_or(""),
            ),
            (
                "failure_policy",
                spec.and_then(|sp| sp.failure_policy.as_deref())
                    .unwrap_or(""),
            ),
        ],
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::testing::{obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_validatingadmissionpolicy_info",
        "kube_validatingadmissionpolicy_created",
    ];

    fn render(json: &str) -> Vec<String> {
        let p: ValidatingAdmissionPolicy = obj(json);
        render_lines(&VALIDATINGADMISSIONPOLICY, &p, RenderCtx::default(), NAMES)
    }

    const WITH_PARAM: &str = r#"{
        "metadata": {"name": "validatingadmissionpolicy1", "namespace": "ns1",
                     "creationTimestamp": "2017-08-01T06:30:18Z"},
        "spec": {"paramKind": {"apiVersion": "rules.example.com/v1", "kind": "Rule"},
                 "failurePolicy": "Fail"}
    }"#;

    #[test]
    fn info_with_param_kind() {
        assert_eq!(
            render(WITH_PARAM),
            vec![
                r#"kube_validatingadmissionpolicy_info{namespace="ns1",validatingadmissionpolicy="validatingadmissionpolicy1",param_api_version="rules.example.com/v1",param_kind="Rule",failure_policy="Fail"} 1"#,
                r#"kube_validatingadmissionpolicy_created{namespace="ns1",validatingadmissionpolicy="validatingadmissionpolicy1"} 1.501569018e+09"#,
            ]
        );
    }

    #[test]
    fn without_param_kind_or_spec() {
        assert_eq!(
            render(
                r#"{"metadata": {"name": "validatingadmissionpolicy2", "namespace": "ns2"},
                    "spec": {"failurePolicy": "Ignore"}}"#
            ),
            vec![
                r#"kube_validatingadmissionpolicy_info{namespace="ns2",validatingadmissionpolicy="validatingadmissionpolicy2",param_api_version="",param_kind="",failure_policy="Ignore"} 1"#,
            ]
        );
        assert_eq!(
            render(r#"{"metadata": {"name": "p"}}"#),
            vec![
                r#"kube_validatingadmissionpolicy_info{namespace="",validatingadmissionpolicy="p",param_api_version="",param_kind="",failure_policy=""} 1"#,
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        assert_catalog_labels("validatingadmissionpolicies", &render(WITH_PARAM));
    }
}
