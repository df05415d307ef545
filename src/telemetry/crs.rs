//! Self-metrics of custom resource state: kube-state-metrics' `custom_resource_state_*`
//! counters, its config reload gauges, and kubestate's per-family conversion error counter.
//! Recorded by `metrics::custom`, rendered with the rest of the telemetry.

use crate::exposition::text::{header, line};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// (type, filename) of a configuration file, for its reload self-metrics; the value is (last
/// attempt succeeded, time of the last success).
type ReloadKey = (&'static str, String);

/// Self-metrics of the CRS machinery (kube-state-metrics' `custom_resource_state_*`, its
/// config reload gauges, and kubestate's per-family conversion error counter).
#[derive(Default)]
pub struct CrsTelemetry {
    add: AtomicU64,
    update: AtomicU64,
    delete: AtomicU64,
    cache: AtomicI64,
    errors: Mutex<BTreeMap<(String, String), u64>>,
    /// filename → (last reload ok, unix seconds of the last success)
    reloads: Mutex<BTreeMap<ReloadKey, (bool, f64)>>,
}

impl CrsTelemetry {
    /// A configured type became available (discovered): KSM counts CRD add events.
    pub fn type_added(&self) {
        self.add.fetch_add(1, Ordering::Relaxed);
        self.cache.fetch_add(1, Ordering::Relaxed);
    }

    /// A generation stopped: its discovered types leave the cache.
    pub fn types_removed(&self, n: i64) {
        if n > 0 {
            self.delete.fetch_add(n as u64, Ordering::Relaxed);
            self.cache.fetch_sub(n, Ordering::Relaxed);
        }
    }

    pub fn error(&self, resource: &str, metric: &str) {
        *self
            .errors
            .lock()
            .entry((resource.to_string(), metric.to_string()))
            .or_insert(0) += 1;
    }

    pub fn errors(&self, resource: &str, metric: &str) -> u64 {
        self.errors
            .lock()
            .get(&(resource.to_string(), metric.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn reload(&self, filename: &str, ok: bool) {
        self.reload_of("customresourceconfig", filename, ok)
    }

    /// A reload attempt of a configuration file of kind `kind` (KSM's `type` label:
    /// `customresourceconfig`, `config`; here also `kubeconfig`).
    pub fn reload_of(&self, kind: &'static str, filename: &str, ok: bool) {
        let mut m = self.reloads.lock();
        let e = m.entry((kind, filename.to_string())).or_insert((ok, 0.0));
        e.0 = ok;
        if ok {
            e.1 = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
        }
    }

    pub fn render(&self, out: &mut Vec<u8>) {
        for (name, help, v) in [
            (
                "kube_state_metrics_custom_resource_state_add_events_total",
                "Number of add events in the custom resource state discovery cache.",
                self.add.load(Ordering::Relaxed),
            ),
            (
                "kube_state_metrics_custom_resource_state_update_events_total",
                "Number of update events in the custom resource state discovery cache.",
                self.update.load(Ordering::Relaxed),
            ),
            (
                "kube_state_metrics_custom_resource_state_delete_events_total",
                "Number of delete events in the custom resource state discovery cache.",
                self.delete.load(Ordering::Relaxed),
            ),
        ] {
            header(out, name, help, "counter");
            line(out, name, &[], v as f64);
        }
        header(
            out,
            "kube_state_metrics_custom_resource_state_cache",
            "Net amount of CRDs affecting the cache currently.",
            "gauge",
        );
        line(
            out,
            "kube_state_metrics_custom_resource_state_cache",
            &[],
            self.cache.load(Ordering::Relaxed) as f64,
        );
        let reloads = self.reloads.lock().clone();
        if !reloads.is_empty() {
            let n = "kube_state_metrics_last_config_reload_successful";
            header(
                out,
                n,
                "Whether the last configuration reload attempt was successful.",
                "gauge",
            );
            for ((kind, file), (ok, _)) in &reloads {
                line(
                    out,
                    n,
                    &[("filename", file), ("type", kind)],
                    if *ok { 1.0 } else { 0.0 },
                );
            }
            let n = "kube_state_metrics_last_config_reload_success_timestamp_seconds";
            header(
                out,
                n,
                "Timestamp of the last successful configuration reload.",
                "gauge",
            );
            for ((kind, file), (_, ts)) in &reloads {
                line(out, n, &[("filename", file), ("type", kind)], *ts);
            }
        }
        let errors = self.errors.lock().clone();
        if !errors.is_empty() {
            let n = "kubestate_custom_resource_errors_total";
            header(out, n, "Custom resource values that could not be converted (sample dropped), by resource and metric.", "counter");
            for ((r, m), v) in &errors {
                line(out, n, &[("resource", r), ("metric", m)], *v as f64);
            }
        }
    }
}
