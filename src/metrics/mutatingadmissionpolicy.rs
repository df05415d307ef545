//! MutatingAdmissionPolicy families, in kube-state-metrics' order (`internal/store/mutatingadmissionpolicy.go`).
//!
//! Cluster-scoped, but kube-state-metrics' wrapper declares a `namespace` identity label, so
//! lines carry `namespace=""` from a real API server.

use crate::metrics::common::created;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicy;

pub static MUTATINGADMISSIONPOLICY: ResourceDef<MutatingAdmissionPolicy> = ResourceDef {
    name: "mutatingadmissionpolicies",
    identity: mutatingadmissionpolicy_identity,
    families: FAMILIES,
};

fn mutatingadmissionpolicy_identity(o: &MutatingAdmissionPolicy) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("mutatingadmissionpolicy", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<MutatingAdmissionPolicy>] = &[
    Family::experimental(
        "kube_mutatingadmissionpolicy_info",
        "Information about the MutatingAdmissionPolicy.",
        info,
    ),
    Family::experimental(
        "kube_mutatingadmissionpolicy_created",
        "Unix creation timestamp.",
        created,
    ),
];

/// Always one sample; unset spec fields are empty label values.
fn info(p: &MutatingAdmissionPolicy, _: &RenderCtx, s: &mut Samples) {
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
            (
                "reinvocation_policy",
                spec.and_then(|sp| sp.reinvocation_policy.as_deref())
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
        "kube_mutatingadmissionpolicy_info",
        "kube_mutatingadmissionpolicy_created",
    ];

    fn render(json: &str) -> Vec<String> {
        let p: MutatingAdmissionPolicy = obj(json);
        render_lines(&MUTATINGADMISSIONPOLICY, &p, RenderCtx::default(), NAMES)
    }

    const WITH_PARAM: &str = r#"{
        "metadata": {"name": "mutatingadmissionpolicy1", "namespace": "ns1",
                     "creationTimestamp": "2017-08-01T06:30:18Z"},
        "spec": {"paramKind": {"apiVersion": "rules.example.com/v1", "kind": "Rule"},
                 "failurePolicy": "Fail", "reinvocationPolicy": "Never"}
    }"#;

    #[test]
    fn info_with_param_kind() {
        assert_eq!(
            render(WITH_PARAM),
            vec![
                r#"kube_mutatingadmissionpolicy_info{namespace="ns1",mutatingadmissionpolicy="mutatingadmissionpolicy1",param_api_version="rules.example.com/v1",param_kind="Rule",failure_policy="Fail",reinvocation_policy="Never"} 1"#,
                r#"kube_mutatingadmissionpolicy_created{namespace="ns1",mutatingadmissionpolicy="mutatingadmissionpolicy1"} 1.501569018e+09"#,
            ]
        );
    }

    #[test]
    fn without_param_kind_or_spec() {
        assert_eq!(
            render(
                r#"{"metadata": {"name": "mutatingadmissionpolicy2", "namespace": "ns2"},
                    "spec": {"failurePolicy": "Ignore", "reinvocationPolicy": "IfNeeded"}}"#
            ),
            vec![
                r#"kube_mutatingadmissionpolicy_info{namespace="ns2",mutatingadmissionpolicy="mutatingadmissionpolicy2",param_api_version="",param_kind="",failure_policy="Ignore",reinvocation_policy="IfNeeded"} 1"#,
            ]
        );
        assert_eq!(
            render(r#"{"metadata": {"name": "p"}}"#),
            vec![
                r#"kube_mutatingadmissionpolicy_info{namespace="",mutatingadmissionpolicy="p",param_api_version="",param_kind="",failure_policy="",reinvocation_policy=""} 1"#,
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        assert_catalog_labels("mutatingadmissionpolicies", &render(WITH_PARAM));
    }
}
