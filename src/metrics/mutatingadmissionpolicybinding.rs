//! MutatingAdmissionPolicyBinding families, in kube-state-metrics' order (`internal/store/mutatingadmissionpolicybinding.go`).
//!
//! Cluster-scoped, but kube-state-metrics' wrapper declares a `namespace` identity label, so
//! lines carry `namespace=""` from a real API server.

use crate::metrics::common::created;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::{MutatingAdmissionPolicyBinding, ParamRef};

pub static MUTATINGADMISSIONPOLICYBINDING: ResourceDef<MutatingAdmissionPolicyBinding> =
    ResourceDef {
        name: "mutatingadmissionpolicybindings",
        identity: mutatingadmissionpolicybinding_identity,
        families: FAMILIES,
    };

fn mutatingadmissionpolicybinding_identity(o: &MutatingAdmissionPolicyBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        (
            "mutatingadmissionpolicybinding",
            m.name.as_deref().unwrap_or(""),
        ),
    ])
}

static FAMILIES: &[Family<MutatingAdmissionPolicyBinding>] = &[
    Family::experimental(
        "kube_mutatingadmissionpolicybinding_info",
        "Information about the MutatingAdmissionPolicyBinding.",
        info,
    ),
    Family::experimental(
        "kube_mutatingadmissionpolicybinding_created",
        "Unix creation timestamp.",
        created,
    ),
];

fn info(b: &MutatingAdmissionPolicyBinding, _: &RenderCtx, s: &mut Samples) {
    let spec = b.spec.as_ref();
    push_binding_info(
        s,
        spec.and_then(|sp| sp.policy_name.as_deref()).unwrap_or(""),
        spec.and_then(|sp| sp.param_ref.as_ref()),
    );
}

/// The `*_info` sample both policy binding kinds share: always one, unset fields empty.
pub(crate) fn push_binding_info(s: &mut Samples, policy: &str, param: Option<&ParamRef>) {
    s.push(
        &[
            ("policy_name", policy),
            (
                "param_name",
                param.and_then(|p| p.name.as_deref()).unwrap_or(""),
            ),
            (
                "param_namespace",
                param.and_then(|p| p.namespace.as_deref()).unwrap_or(""),
            ),
            (
                "param_not_found_action",
                param
                    .and_then(|p| p.parameter_not_found_action.as_deref())
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
        "kube_mutatingadmissionpolicybinding_info",
        "kube_mutatingadmissionpolicybinding_created",
    ];

    fn render(json: &str) -> Vec<String> {
        let b: MutatingAdmissionPolicyBinding = obj(json);
        render_lines(
            &MUTATINGADMISSIONPOLICYBINDING,
            &b,
            RenderCtx::default(),
            NAMES,
        )
    }

    const WITH_PARAM: &str = r#"{
        "metadata": {"name": "mutatingadmissionpolicybinding1", "namespace": "ns1",
                     "creationTimestamp": "2017-08-01T06:30:18Z"},
        "spec": {"policyName": "mutatingadmissionpolicy1",
                 "paramRef": {"name": "param1", "namespace": "ns1", "parameterNotFoundAction": "Deny"}}
    }"#;

    #[test]
    fn info_with_param_ref() {
        assert_eq!(
            render(WITH_PARAM),
            vec![
                r#"kube_mutatingadmissionpolicybinding_info{namespace="ns1",mutatingadmissionpolicybinding="mutatingadmissionpolicybinding1",policy_name="mutatingadmissionpolicy1",param_name="param1",param_namespace="ns1",param_not_found_action="Deny"} 1"#,
                r#"kube_mutatingadmissionpolicybinding_created{namespace="ns1",mutatingadmissionpolicybinding="mutatingadmissionpolicybinding1"} 1.501569018e+09"#,
            ]
        );
    }

    #[test]
    fn without_param_ref_or_spec() {
        assert_eq!(
            render(
                r#"{"metadata": {"name": "mutatingadmissionpolicybinding2", "namespace": "ns2"},
                    "spec": {"policyName": "mutatingadmissionpolicy2"}}"#
            ),
            vec![
                r#"kube_mutatingadmissionpolicybinding_info{namespace="ns2",mutatingadmissionpolicybinding="mutatingadmissionpolicybinding2",policy_name="mutatingadmissionpolicy2",param_name="",param_namespace="",param_not_found_action=""} 1"#,
            ]
        );
        assert_eq!(
            render(r#"{"metadata": {"name": "b"}}"#),
            vec![
                r#"kube_mutatingadmissionpolicybinding_info{namespace="",mutatingadmissionpolicybinding="b",policy_name="",param_name="",param_namespace="",param_not_found_action=""} 1"#,
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        assert_catalog_labels("mutatingadmissionpolicybindings", &render(WITH_PARAM));
    }
}
