//! CertificateSigningRequest families, in kube-state-metrics' order (`internal/store/certificatesigningrequest.go`).

use crate::metrics::common::{annotations, created, labels};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;

pub static CERTIFICATESIGNINGREQUEST: ResourceDef<CertificateSigningRequest> = ResourceDef {
    name: "certificatesigningrequests",
    identity: certificatesigningrequest_identity,
    families: FAMILIES,
};

fn certificatesigningrequest_identity(o: &CertificateSigningRequest) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("certificatesigningrequest", m.name.as_deref().unwrap_or("")),
        ("signer_name", o.spec.signer_name.as_str()),
    ])
}

static FAMILIES: &[Family<CertificateSigningRequest>] = &[
    Family::experimental(
        "kube_certificatesigningrequest_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_certificatesigningrequest_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable(
        "kube_certificatesigningrequest_created",
        "Unix creation timestamp",
        created,
    ),
    Family::stable(
        "kube_certificatesigningrequest_condition",
        "The number of each certificatesigningrequest condition",
        condition,
    ),
    Family::stable(
        "kube_certificatesigningrequest_cert_length",
        "Length of the issued cert",
        |c, _, s| {
            let len = c
                .status
                .as_ref()
                .and_then(|st| st.certificate.as_ref())
                .map_or(0, |b| b.0.len());
            s.value(len as f64)
        },
    ),
];

/// Counts (not states): a CSR may carry a condition type several times, and every one of the
/// three known types always gets a sample, zero included.
fn condition(c: &CertificateSigningRequest, _: &RenderCtx, s: &mut Samples) {
    let conditions = c
        .status
        .as_ref()
        .and_then(|st| st.conditions.as_deref())
        .unwrap_or(&[]);
    for (label, kind) in [
        ("approved", "Approved"),
        ("denied", "Denied"),
        ("failed", "Failed"),
    ] {
        let n = conditions.iter().filter(|c| c.type_ == kind).count();
        s.push(&[("condition", label)], n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const NAMES: &[&str] = &[
        "kube_certificatesigningrequest_annotations",
        "kube_certificatesigningrequest_labels",
        "kube_certificatesigningrequest_created",
        "kube_certificatesigningrequest_condition",
        "kube_certificatesigningrequest_cert_length",
    ];

    const ID: &str = r#"certificatesigningrequest="certificate-test",signer_name="signer""#;

    fn csr(status: &str) -> CertificateSigningRequest {
        obj(&format!(
            r#"{{
                "metadata": {{
                    "name": "certificate-test",
                    "creationTimestamp": "2017-07-14T02:40:00Z",
                    "labels": {{"cert": "test"}},
                    "annotations": {{"cert": "test"}}
                }},
                "spec": {{"request": "", "signerName": "signer", "usages": []}},
                "status": {status}
            }}"#
        ))
    }

    fn expect(approved: u32, denied: u32, failed: u32, len: usize) -> Vec<String> {
        vec![
            format!("kube_certificatesigningrequest_created{{{ID}}} 1.5e+09"),
            format!("kube_certificatesigningrequest_condition{{{ID},condition=\"approved\"}} {approved}"),
            format!("kube_certificatesigningrequest_condition{{{ID},condition=\"denied\"}} {denied}"),
            format!("kube_certificatesigningrequest_condition{{{ID},condition=\"failed\"}} {failed}"),
            format!("kube_certificatesigningrequest_cert_length{{{ID}}} {len}"),
        ]
    }

    fn conds(types: &[&str]) -> String {
        let c: Vec<String> = types
            .iter()
            .map(|t| format!(r#"{{"type": "{t}", "status": "True"}}"#))
            .collect();
        format!(r#"{{"conditions": [{}]}}"#, c.join(","))
    }

    #[test]
    fn condition_counts_and_cert_length_like_kube_state_metrics_tests() {
        let render = |c: &CertificateSigningRequest| {
            render_lines(&CERTIFICATESIGNINGREQUEST, c, RenderCtx::default(), NAMES)
        };
        assert_eq!(render(&csr("{}")), expect(0, 0, 0, 0));
        assert_eq!(render(&csr(&conds(&["Denied"]))), expect(0, 1, 0, 0));
        assert_eq!(render(&csr(&conds(&["Approved"]))), expect(1, 0, 0, 0));
        assert_eq!(render(&csr(&conds(&["Failed"]))), expect(0, 0, 1, 0));
        // "just for test", base64-encoded in JSON: 13 bytes once decoded.
        let issued = r#"{"certificate": "anVzdCBmb3IgdGVzdA==", "conditions": [{"type": "Approved", "status": "True"}]}"#;
        assert_eq!(render(&csr(issued)), expect(1, 0, 0, 13));
        assert_eq!(
            render(&csr(&conds(&["Approved", "Denied", "Failed"]))),
            expect(1, 1, 1, 0)
        );
        assert_eq!(
            render(&csr(&conds(&[
                "Approved", "Denied", "Approved", "Denied", "Failed", "Failed"
            ]))),
            expect(2, 2, 2, 0)
        );
    }

    #[test]
    fn no_status_at_all() {
        let c: CertificateSigningRequest = obj(
            r#"{"metadata": {"name": "n"}, "spec": {"request": "", "signerName": "kubernetes.io/kubelet-serving"}}"#,
        );
        let id = r#"certificatesigningrequest="n",signer_name="kubernetes.io/kubelet-serving""#;
        assert_eq!(
            render_lines(&CERTIFICATESIGNINGREQUEST, &c, RenderCtx::default(), NAMES),
            vec![
                format!(
                    "kube_certificatesigningrequest_condition{{{id},condition=\"approved\"}} 0"
                ),
                format!("kube_certificatesigningrequest_condition{{{id},condition=\"denied\"}} 0"),
                format!("kube_certificatesigningrequest_condition{{{id},condition=\"failed\"}} 0"),
                format!("kube_certificatesigningrequest_cert_length{{{id}}} 0"),
            ]
        );
    }

    #[test]
    fn labels_and_annotations_with_allowlist() {
        assert_eq!(
            render_lines(
                &CERTIFICATESIGNINGREQUEST,
                &csr("{}"),
                allow_all(),
                &NAMES[..2]
            ),
            vec![
                format!(
                    "kube_certificatesigningrequest_annotations{{{ID},annotation_cert=\"test\"}} 1"
                ),
                format!("kube_certificatesigningrequest_labels{{{ID},label_cert=\"test\"}} 1"),
            ]
        );
    }

    #[test]
    fn label_names_match_the_catalog() {
        let lines = render_lines(
            &CERTIFICATESIGNINGREQUEST,
            &csr(&conds(&["Approved"])),
            allow_all(),
            NAMES,
        );
        assert_catalog_labels("certificatesigningrequests", &lines);
    }
}
