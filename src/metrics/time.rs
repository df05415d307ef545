//! Timestamps as kube-state-metrics exposes them: whole Unix seconds as a float.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// `float64(t.Unix())`.
pub fn unix_seconds(t: &Time) -> f64 {
    t.0.as_second() as f64
}
