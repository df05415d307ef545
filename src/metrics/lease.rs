//! Lease families, in kube-state-metrics' order (`internal/store/lease.go`).
//!
//! Only the lease name is an identity label; `namespace` is a family label that
//! kube-state-metrics places after the owner labels in `kube_lease_owner`.

use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

pub static LEASE: ResourceDef<Lease> = ResourceDef {
    name: "leases",
    identity: lease_identity,
    families: FAMILIES,
};

fn lease_identity(o: &Lease) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[("lease", m.name.as_deref().unwrap_or(""))])
}

static FAMILIES: &[Family<Lease>] = &[
    Family::experimental(
        "kube_lease_owner",
        "Information about the Lease's owner.",
        owner,
    ),
    Family::experimental(
        "kube_lease_renew_time",
        "Kube lease renew time.",
        renew_time,
    ),
];

/// One sample per owner reference, or one with empty owner labels when there is none.
fn owner(l: &Lease, _: &RenderCtx, s: &mut Samples) {
    let ns = l.metadata.namespace.as_deref().unwrap_or("");
    let holder = l
        .spec
        .as_ref()
        .and_then(|sp| sp.holder_identity.as_deref())
        .unwrap_or("");
    let owners = l.metadata.owner_references.as_deref().unwrap_or(&[]);
    if owners.is_empty() {
        s.push(
            &[
                ("owner_kind", ""),
                ("owner_name", ""),
                ("namespace", ns),
                ("lease_holder", holder),
            ],
            1.0,
        );
    }
    for o in owners {
        s.push(
            &[
                ("owner_kind", o.kind.as_str()),
                ("owner_name", o.name.as_str()),
                ("namespace", ns),
                ("lease_holder", holder),
            ],
            1.0,
        );
    }
}

/// Unix seconds of Go's zero time, which `MicroTime.IsZero` reports as unset.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

fn renew_time(l: &Lease, _: &RenderCtx, s: &mut Samples) {
    let Some(t) = l.spec.as_ref().and_then(|sp| sp.renew_time.as_ref()) else {
        return;
    };
    let secs = go_unix(t);
    if secs != GO_ZERO_TIME_UNIX || t.0.subsec_nanosecond() != 0 {
        s.push(
            &[("namespace", l.metadata.namespace.as_deref().unwrap_or(""))],
            secs as f64,
        );
    }
}

/// Go's `Time.Unix()`: whole seconds rounded toward negative infinity, whereas jiff truncates
/// toward zero (they differ for fractional times before 1970).
fn go_unix(t: &MicroTime) -> i64 {
    let secs = t.0.as_second();
    if t.0.subsec_nanosecond() < 0 {
        secs - 1
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::assert_catalog_labels;
    use crate::metrics::testing::{obj, render_lines};

    const NAMES: &[&str] = &["kube_lease_owner", "kube_lease_renew_time"];

    fn lease(spec: &str, owners: &str) -> Lease {
        obj(&format!(
            r#"{{
                "metadata": {{
                    "name": "kube-master",
                    "namespace": "default",
                    "generation": 2,
                    "creationTimestamp": "2017-07-14T02:40:00Z",
                    "ownerReferences": {owners}
                }},
                "spec": {spec}
            }}"#
        ))
    }

    const NODE_OWNER: &str =
        r#"[{"apiVersion": "v1", "kind": "Node", "name": "kube-master", "uid": "u1"}]"#;

    #[test]
    fn owner_and_renew_time_with_holder() {
        let l = lease(
            r#"{"renewTime": "2017-07-14T02:40:00.000000Z", "holderIdentity": "kube-master"}"#,
            NODE_OWNER,
        );
        assert_eq!(
            render_lines(&LEASE, &l, RenderCtx::default(), NAMES),
            vec![
                r#"kube_lease_owner{lease="kube-master",owner_kind="Node",owner_name="kube-master",namespace="default",lease_holder="kube-master"} 1"#,
                r#"kube_lease_renew_time{lease="kube-master",namespace="default"} 1.5e+09"#,
            ]
        );
    }

    #[test]
    fn without_holder_the_holder_label_is_empty() {
        let l = lease(
            r#"{"renewTime": "2017-07-14T02:40:00.000000Z"}"#,
            NODE_OWNER,
        );
        assert_eq!(
            render_lines(&LEASE, &l, RenderCtx::default(), NAMES),
            vec![
                r#"kube_lease_owner{lease="kube-master",owner_kind="Node",owner_name="kube-master",namespace="default",lease_holder=""} 1"#,
                r#"kube_lease_renew_time{lease="kube-master",namespace="default"} 1.5e+09"#,
            ]
        );
    }

    #[test]
    fn no_owner_no_renew_time_and_several_owners() {
        let l = lease(r#"{"holderIdentity": "h"}"#, "[]");
        assert_eq!(
            render_lines(&LEASE, &l, RenderCtx::default(), NAMES),
            vec![
                r#"kube_lease_owner{lease="kube-master",owner_kind="",owner_name="",namespace="default",lease_holder="h"} 1"#,
            ]
        );
        let two = r#"[{"apiVersion": "v1", "kind": "Node", "name": "a", "uid": "1"},
                      {"apiVersion": "v1", "kind": "Pod", "name": "b", "uid": "2"}]"#;
        let l = lease(r#"{"renewTime": "2024-01-02T03:04:05.678901Z"}"#, two);
        assert_eq!(
            render_lines(&LEASE, &l, RenderCtx::default(), NAMES),
            vec![
                r#"kube_lease_owner{lease="kube-master",owner_kind="Node",owner_name="a",namespace="default",lease_holder=""} 1"#,
                r#"kube_lease_owner{lease="kube-master",owner_kind="Pod",owner_name="b",namespace="default",lease_holder=""} 1"#,
                r#"kube_lease_renew_time{lease="kube-master",namespace="default"} 1.704164645e+09"#,
            ]
        );
    }

    #[test]
    fn missing_spec_and_pre_epoch_fraction() {
        let l: Lease = obj(r#"{"metadata": {"name": "x", "namespace": "ns"}}"#);
        assert_eq!(
            render_lines(&LEASE, &l, RenderCtx::default(), NAMES),
            vec![
                r#"kube_lease_owner{lease="x",owner_kind="",owner_name="",namespace="ns",lease_holder=""} 1"#,
            ]
        );
        let l = lease(r#"{"renewTime": "1969-12-31T23:59:58.500000Z"}"#, "[]");
        assert_eq!(
            render_lines(&LEASE, &l, RenderCtx::default(), &NAMES[1..]),
            vec![r#"kube_lease_renew_time{lease="kube-master",namespace="default"} -2"#]
        );
        let l = lease(r#"{"renewTime": "0001-01-01T00:00:00.000000Z"}"#, "[]");
        assert!(render_lines(&LEASE, &l, RenderCtx::default(), &NAMES[1..]).is_empty());
    }

    #[test]
    fn label_names_match_the_catalog() {
        let l = lease(
            r#"{"renewTime": "2017-07-14T02:40:00.000000Z", "holderIdentity": "kube-master"}"#,
            NODE_OWNER,
        );
        assert_catalog_labels(
            "leases",
            &render_lines(&LEASE, &l, RenderCtx::default(), NAMES),
        );
    }
}
