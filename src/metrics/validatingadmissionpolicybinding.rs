//! ValidatingAdmissionPolicyBinding families, in kube-state-metrics' order (`internal/store/validatingadmissionpolicybinding.go`).
//!
//! Cluster-scoped, but kube-state-metrics' wrapper declares a `namespace` identity label, so
//! lines carry `namespace=""` from a real API server.

use crate::metrics::common::created;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::mutatingadmissionpolicybinding::push_binding_info;
use crate::metrics::ResourceDef;
use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding;

pub static VALIDATINGADMISSIONPOLICYBINDING: ResourceDef<ValidatingAdmissionPolicyBinding> =
    ResourceDef {
        name: "validatingadmissionpolicybindings",
        identity: validatingadmissionpolicybinding_identity,
        families: FAMILIES,
    };

fn validatingadmissionpolicybinding_identity(o: &ValidatingAdmissionPolicyBinding) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        (
            "validatingadmissionpolicybinding",
            m.name.as_deref().unwrap_or(""),
        ),
    ])
}

static FAMILIES: &[Family<ValidatingAdmissionPolicyBinding>] = &[
    Family::experimental(
        "kube_validatingadmissionpolicybinding_info",
        "Information about the ValidatingAdmissionPolicyBinding.",
        |b, _, s| push_binding_info(s, &b.spec.policy_name, b.spec.param_ref.as_ref()),
    ),
    Family::experimental(
        "kube_validatingadmissionpolicybinding_created",
        "Unix creation timestamp.",
        created,
    ),
    Family::experimental(
        "kube_validatingadmissionpolicybinding_validation_action",
        "Validation actions for the ValidatingAdmissionPolicyBinding.",
        validation_action,
    ),
];

/// One sample per listed action, in spec order (duplicates kept, as kube-state-metrics does).
fn validation_action(b: &ValidatingAdmissionPolicyBinding, _: &RenderCtx, s: &mut Samples) {
    for action in &b.spec.validation_actions {
        s.push(&[("action", action.as_str())], 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::testing::{obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_validatingadmissionpolicybinding_info",
        "kube_validatingadmissionpolicybinding_created",
        "kube_validatingadmissionpolicybinding_validation_action",
    ];

    fn render(json: &str) -> Vec<String> {
        let b: ValidatingAdmissionPolicyBinding = obj(json);
        render_lines(
            &VALIDATINGADMISSIONPOLICYBINDING,
            &b,
            RenderCtx::default(),
            NAMES,
        )
    }

    const WITH_PARAM: &str = r#"{
        "metadata": {"name": "validatingadmissionpolicybinding1", "namespace": "ns1",
                     "creationTimestamp": "2017-08-01T06:30:18Z"},
        "spec": {"policyName": "validatingadmissionpolicy1",
                 "paramRef": {"name": "param1", "namespace": "ns1", "parameterNotFoundAction": "Deny"},
                 "validationActions": ["Deny", "Warn"]}
    }"#;

    #[test]
    fn info_and_validation_actions() {
        assert_eq!(
            render(WITH_PARAM),
            vec![
                r#"kube_validatingadmissionpolicybinding_info{namespace="ns1",validatingadmissionpolicybinding="validatingadmissionpolicybinding1",policy_name="validatingadmissionpolicy1",param_name="param1",param_namespace="ns1",param_not_found_action="Deny"} 1"#,
                r#"kube_validatingadmissionpolicybinding_created{namespace="ns1",validatingadmissionpolicybinding="validatingadmissionpolicybinding1"} 1.501569018e+09"#,
                r#"kube_validatingadmissionpolicybinding_validation_action{namespace="ns1",validatingadmissionpolicybinding="validatingadmissionpolicybinding1",action="Deny"} 1"#,
                r#"kube_validatingadmissionpolicybinding_validation_action{namespace="ns1",validatingadmissionpolicybinding="validatingadmissionpolicybinding1",action="Warn"} 1"#,
            ]
        );
    }

    #[test]
    fn without_param_ref_actions_or_spec() {
        assert_eq!(
            render(
                r#"{"metadata": {"name": "validatingadmissionpolicybinding2", "namespace": "ns2"},
                    "spec": {"policyName": "validatingadmissionpolicy2"}}"#
            ),
            vec![
                r#"kube_validatingadmissionpolicybinding_info{namespace="ns2",validatingadmissionpolicybinding="validatingadmissionpolicybinding2",policy_name="validatingadmissionpolicy2",param_name="",param_namespace="",param_not_found_action=""} 1"#,
            ]
        );
        assert_eq!(
            render(r#"{"metadata": {"name": "b"}}"#),
            vec![
                r#"kube_validatingadmissionpolicybinding_info{namespace="",validatingadmissionpolicybinding="b",policy_name="",param_name="",param_namespace="",param_not_found_action=""} 1"#,
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        assert_catalog_labels("validatingadmissionpolicybindings", &render(WITH_PARAM));
    }
}
