//! The helpers the resource files share: metadata-only families (created, deletion,
//! generation, owner, labels, annotations, resource version, info), timestamps with Go's
//! zero-time rule, condition series, bool values and resource names/units. Generators are
//! generic over [`Meta`] so a family table can name them directly (`created` as a
//! `fn(&DaemonSet, ..)`).
//!
//! Where kube-state-metrics itself differs between resources (a family that writes Go's zero
//! time instead of skipping it, a resource version parsed more or less strictly), each
//! variant is kept here under its own name and documented, and the resource picks it.

use crate::metrics::family::{kube_map_to_labels, RenderCtx, Samples};
use crate::metrics::filter::KeyFilter;
use crate::metrics::time::unix_seconds;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Access to an object's metadata; blanket for every k8s-openapi resource, implemented by
/// hand for types decoded partially (`SecretMeta`).
pub(crate) trait Meta {
    fn meta(&self) -> &ObjectMeta;
}

impl<T: k8s_openapi::Metadata<Ty = ObjectMeta>> Meta for T {
    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }
}

// ---------------------------------------------------------------------------------------
// Timestamps.

/// `time.Time{}.Unix()`: Go's zero time (0001-01-01T00:00:00Z), which `metav1.Time.IsZero`
/// treats like an absent timestamp.
pub(crate) const GO_ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

/// A timestamp as KSM writes it, `None` when unset or Go's zero time (KSM's `IsZero` guard).
/// Only whole seconds are compared, as everywhere but `lease` (see its `renew_time`).
pub(crate) fn set_time(t: Option<&Time>) -> Option<f64> {
    t.map(unix_seconds).filter(|&v| v != GO_ZERO_TIME_UNIX)
}

/// A timestamp for families without the `IsZero` guard: KSM calls `.Unix()` on an unset time,
/// so it comes out as year 1 rather than as a missing sample.
pub(crate) fn time_or_go_zero(t: Option<&Time>) -> f64 {
    t.map_or(GO_ZERO_TIME_UNIX, unix_seconds)
}

/// A timestamp sample unless the time is absent or Go's zero time.
pub(crate) fn push_timestamp(s: &mut Samples, t: Option<&Time>) {
    if let Some(v) = set_time(t) {
        s.value(v);
    }
}

// ---------------------------------------------------------------------------------------
// Metadata families.

/// One sample with only the identity labels (the `*_info` families without labels).
pub(crate) fn info<T>(_: &T, _: &RenderCtx, s: &mut Samples) {
    s.value(1.0);
}

/// `*_created`, skipped when unset or Go's zero time.
pub(crate) fn created<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
    push_timestamp(s, o.meta().creation_timestamp.as_ref());
}

/// `*_created` of the families without KSM's `IsZero` guard: always one sample, Go's zero
/// time when unset.
pub(crate) fn created_or_go_zero<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
    s.value(time_or_go_zero(o.meta().creation_timestamp.as_ref()));
}

/// `*_deletion_timestamp`, skipped when unset or Go's zero time.
pub(crate) fn deletion_timestamp<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
    push_timestamp(s, o.meta().deletion_timestamp.as_ref());
}

/// `*_metadata_generation`: an absent generation reads as 0.
pub(crate) fn generation<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
    s.value(o.meta().generation.unwrap_or(0) as f64);
}

/// `*_owner`: one sample per owner reference; without owners a single sample with empty
/// values (KSM v2.20 writes `""`, not `<none>`). An unset `controller` reads as `false`.
pub(crate) fn owner<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
    let owners = o.meta().owner_references.as_deref().unwrap_or(&[]);
    if owners.is_empty() {
        s.push(
            &[
                ("owner_kind", ""),
                ("owner_name", ""),
                ("owner_is_controller", ""),
            ],
            1.0,
        );
        return;
    }
    for r in owners {
        let controller = if r.controller == Some(true) {
            "true"
        } else {
            "false"
        };
        s.push(
            &[
                ("owner_kind", r.kind.as_str()),
                ("owner_name", r.name.as_str()),
                ("owner_is_controller", controller),
            ],
            1.0,
        );
    }
}

/// `kube_<res>_labels`/`_annotations`: no sample unless the resource is in the allowlist;
/// then exactly one, carrying the allowed keys (identity labels only when none is allowed).
pub(crate) fn push_kube_map(
    s: &mut Samples,
    prefix: &str,
    map: Option<&BTreeMap<String, String>>,
    filter: &KeyFilter,
) {
    if !filter.listed {
        return;
    }
    s.push(&kube_map_to_labels(prefix, map, filter), 1.0);
}

/// `*_labels` via `--metric-labels-allowlist`, see [`push_kube_map`].
pub(crate) fn labels<T: Meta>(o: &T, ctx: &RenderCtx, s: &mut Samples) {
    push_kube_map(s, "label", o.meta().labels.as_ref(), &ctx.labels);
}

/// `*_annotations` via `--metric-annotations-allowlist`, see [`push_kube_map`].
pub(crate) fn annotations<T: Meta>(o: &T, ctx: &RenderCtx, s: &mut Samples) {
    push_kube_map(
        s,
        "annotation",
        o.meta().annotations.as_ref(),
        &ctx.annotations,
    );
}

// ---------------------------------------------------------------------------------------
// Resource versions.

/// `*_metadata_resource_version`: the resource version as a number, no sample when
/// [`go_parse_float_signed_nan`] rejects it.
pub(crate) fn resource_version<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = o
        .meta()
        .resource_version
        .as_deref()
        .and_then(go_parse_float_signed_nan)
    {
        s.value(v);
    }
}

/// `*_metadata_resource_version` with the strict [`go_parse_float`] (signed NaN rejected).
pub(crate) fn resource_version_strict<T: Meta>(o: &T, _: &RenderCtx, s: &mut Samples) {
    if let Some(v) = o
        .meta()
        .resource_version
        .as_deref()
        .and_then(go_parse_float)
    {
        s.value(v);
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal and special forms: optional sign, digits
/// with an optional fraction and exponent, `inf`/`infinity` (signed) and `nan` (unsigned),
/// case-insensitive; overflow is an error there (`ErrRange`), so it is `None` here. Go's hex
/// floats (`0x1p4`) are not accepted: an API server only ever issues decimal versions.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.eq_ignore_ascii_case("nan") && body.len() != s.len() {
        return None;
    }
    go_parse_float_signed_nan(s)
}

/// [`go_parse_float`] except that a signed `+nan`/`-nan` is accepted (Rust's parser does,
/// Go's does not); the families that used this variant keep it.
pub(crate) fn go_parse_float_signed_nan(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    if v.is_infinite() {
        let body = s.trim_start_matches(['+', '-']);
        if !body.eq_ignore_ascii_case("inf") && !body.eq_ignore_ascii_case("infinity") {
            return None;
        }
    }
    Some(v)
}

// ---------------------------------------------------------------------------------------
// Values and conditions.

pub(crate) fn bool_value(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The Kubernetes condition statuses and the `status` label values KSM writes for them.
pub(crate) const CONDITION_STATUSES: [(&str, &str); 3] =
    [("True", "true"), ("False", "false"), ("Unknown", "unknown")];

/// The three `status` series kube-state-metrics writes per condition (`addConditionMetrics`):
/// the one equal to the condition's status (case-sensitive) is 1. `reason`, when given, comes
/// before `condition`, as in the deployment family.
pub(crate) fn push_condition(s: &mut Samples, reason: Option<&str>, kind: &str, status: &str) {
    for (k8s, label) in CONDITION_STATUSES {
        let v = bool_value(status == k8s);
        let fixed = [("condition", kind), ("status", label)];
        match reason {
            Some(r) => s.push_iter(std::iter::once(("reason", r)).chain(fixed), v),
            None => s.push(&fixed, v),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Resource names and units.

/// KSM's `SanitizeLabelName` without the snake-casing label keys get: `[^a-zA-Z0-9_]` → `_`
/// per character, so `nvidia.com/gpu` → `nvidia_com_gpu`, `hugepages-1Gi` → `hugepages_1Gi`.
/// Borrows when nothing needs replacing.
pub(crate) fn sanitize_resource_name(name: &str) -> Cow<'_, str> {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.chars().all(valid) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(
        name.chars()
            .map(|c| if valid(c) { c } else { '_' })
            .collect(),
    )
}

/// Kubernetes' `IsExtendedResourceName`: not native (native = no `/` or a `kubernetes.io/`
/// name), not `requests.`-prefixed, and `requests.<name>` is a qualified name.
pub(crate) fn is_extended_resource_name(name: &str) -> bool {
    if !name.contains('/') || name.contains("kubernetes.io/") || name.starts_with("requests.") {
        return false;
    }
    let Some((prefix, local)) = name.split_once('/') else {
        return false;
    };
    !local.contains('/')
        && prefix.len() + "requests.".len() <= 253
        && is_dns1123_subdomain(prefix)
        && is_qualified_local_name(local)
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`, length checked by the
/// caller.
fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && b.first().is_some_and(edge)
                && b.last().is_some_and(edge)
                && b.iter().all(|c| edge(c) || *c == b'-')
        })
}

/// The name part of a qualified name: at most 63 characters of
/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_qualified_local_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Calls `emit` with each unit KSM assigns the resource `name` (cpu in cores; memory,
/// storage, hugepages and attachable volumes in bytes; extended resources as integers);
/// other names get none. The checks of the default branch are independent, as in KSM, so a
/// name may match more than one. `pods` (as integer) is only known where KSM lists it (node
/// capacity/allocatable), not for container resources.
pub(crate) fn resource_units(name: &str, with_pods: bool, mut emit: impl FnMut(&'static str)) {
    match name {
        "cpu" => emit("core"),
        "storage" | "ephemeral-storage" | "memory" => emit("byte"),
        "pods" if with_pods => emit("integer"),
        _ => {
            if name.starts_with("hugepages-") {
                emit("byte");
            }
            if name.starts_with("attachable-volumes-") {
                emit("byte");
            }
            if is_extended_resource_name(name) {
                emit("integer");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_parse_float_variants_differ_only_on_signed_nan() {
        for s in ["123", "1e3", "-Inf", "+infinity", "10.5", "nan", "NaN"] {
            assert_eq!(
                go_parse_float(s).map(f64::to_bits),
                go_parse_float_signed_nan(s).map(f64::to_bits),
                "{s}"
            );
        }
        for s in ["1e400", "", "12a", "0x1p3", "1_0", "Infinit"] {
            assert_eq!(go_parse_float(s), None, "{s}");
            assert_eq!(go_parse_float_signed_nan(s), None, "{s}");
        }
        assert_eq!(go_parse_float("-nan"), None);
        assert!(go_parse_float_signed_nan("-nan").is_some_and(f64::is_nan));
    }
}
