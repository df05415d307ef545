//! Self-metrics on the telemetry port, with kube-state-metrics' names and labels so its
//! upstream alerts (list/watch error ratios, shard consistency) keep working.
//!
//! A leaf: every part (watch loops, custom resources, service discovery, the scrape
//! handler) records here, and `server/` renders it on the telemetry port; nothing here knows
//! those parts, so any of them can be tested without a server.

pub mod crs;
pub mod gzip;
pub mod sd;

use crate::exposition::format::write_float;
use crate::exposition::text::{header, line};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

/// Default Prometheus client histogram buckets, as `promhttp.InstrumentHandlerDuration` uses.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

pub struct Telemetry {
    /// (family, resource, result) → count
    counters: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>>,
    scrape: Mutex<Histogram>,
    shard_ordinal: AtomicI64,
    /// watch label → (mode, seconds, objects) of its last initial sync.
    syncs: Mutex<BTreeMap<String, (&'static str, f64, usize)>>,
    total_shards: AtomicI64,
    /// watch label → whether the API server applied its `shardSelector` (range sharding).
    shard_server_filtered: Mutex<BTreeMap<String, bool>>,
    /// `--object-limit`: client-go type → (limit, objects kept from the last LIST page).
    list_objects: Mutex<BTreeMap<&'static str, (u64, u64)>>,
    /// Custom resource state self-metrics.
    pub crs: crs::CrsTelemetry,
    /// Service discovery self-metrics.
    pub sd: std::sync::Arc<sd::SdStats>,
    /// The gzip member cache's self-metrics.
    pub gzip: std::sync::Arc<gzip::GzipStats>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            counters: Mutex::new(BTreeMap::new()),
            scrape: Mutex::new(Histogram::default()),
            shard_ordinal: AtomicI64::new(0),
            syncs: Mutex::new(BTreeMap::new()),
            total_shards: AtomicI64::new(1),
            shard_server_filtered: Mutex::new(BTreeMap::new()),
            list_objects: Mutex::new(BTreeMap::new()),
            crs: Default::default(),
            sd: Default::default(),
            gzip: Default::default(),
        }
    }
}

const LIST: &str = "kube_state_metrics_list_total";
const WATCH: &str = "kube_state_metrics_watch_total";
/// Watch lines that are not a watch event (the watch restarts from the last good
/// resourceVersion, so nothing is lost). kube-state-metrics has no counter for these.
const DECODE_ERRORS: &str = "kubestate_watch_decode_errors_total";
/// Objects that are valid JSON but not of the resource's shape (a field of the wrong type):
/// left out, the rest of the resource kept.
const SKIPPED: &str = "kubestate_objects_skipped_total";
/// Response body bytes from the API server as received (gzip-compressed or not) and after
/// decoding: their ratio is what compression saves on the wire.
const RECEIVED: &str = "kubestate_apiserver_received_bytes_total";
const DECODED: &str = "kubestate_apiserver_decoded_bytes_total";

impl Telemetry {
    pub fn new() -> Self {
        Self::default()
    }

    fn bump(&self, family: &'static str, resource: &'static str, ok: bool) {
        let result = if ok { "success" } else { "error" };
        *self
            .counters
            .lock()
            .entry((family, resource, result))
            .or_insert(0) += 1;
        // keep the other result at 0 so error-ratio alerts have both series from the start
        let other = if ok { "error" } else { "success" };
        self.counters
            .lock()
            .entry((family, resource, other))
            .or_insert(0);
    }

    /// A LIST (all pages of one relist) finished; `resource` is the client-go type name.
    pub fn list(&self, resource: &'static str, ok: bool) {
        self.bump(LIST, resource, ok);
    }

    /// A LIST page under `--object-limit`: kube-state-metrics' `list_objects_limit` and
    /// `list_objects` gauges, set only when a limit is in force.
    pub fn list_objects(&self, resource: &'static str, limit: u64, kept: u64) {
        self.list_objects.lock().insert(resource, (limit, kept));
    }

    /// A WATCH request was opened (or failed to open).
    pub fn watch(&self, resource: &'static str, ok: bool) {
        self.bump(WATCH, resource, ok);
    }

    /// Starts the bad-input counters of `resource` at 0, so a rate over them works from the
    /// first scrape.
    pub fn track_decoding(&self, resource: &'static str) {
        let mut c = self.counters.lock();
        c.entry((DECODE_ERRORS, resource, "")).or_insert(0);
        c.entry((SKIPPED, resource, "")).or_insert(0);
        c.entry((RECEIVED, resource, "")).or_insert(0);
        c.entry((DECODED, resource, "")).or_insert(0);
    }

    /// Response body bytes of `resource` (its plural): `wire` as received, `decoded` after
    /// gzip decoding.
    pub fn received_bytes(&self, resource: &'static str, wire: u64, decoded: u64) {
        let mut c = self.counters.lock();
        *c.entry((RECEIVED, resource, "")).or_insert(0) += wire;
        *c.entry((DECODED, resource, "")).or_insert(0) += decoded;
    }

    /// A watch line of `resource` (its plural) was not a watch event.
    pub fn watch_decode_error(&self, resource: &'static str) {
        *self
            .counters
            .lock()
            .entry((DECODE_ERRORS, resource, ""))
            .or_insert(0) += 1;
    }

    /// An object of `resource` (its plural) did not decode and was left out.
    pub fn object_skipped(&self, resource: &'static str) {
        *self
            .counters
            .lock()
            .entry((SKIPPED, resource, ""))
            .or_insert(0) += 1;
    }

    /// Records how the last initial sync (or relist) of a watch went.
    pub fn initial_sync(&self, watch: &str, mode: &'static str, seconds: f64, objects: usize) {
        self.syncs
            .lock()
            .insert(watch.to_string(), (mode, seconds, objects));
    }

    pub fn observe_scrape(&self, seconds: f64) {
        let mut h = self.scrape.lock();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    pub fn set_shards(&self, ordinal: i64, total: i64) {
        self.shard_ordinal.store(ordinal, Ordering::Relaxed);
        self.total_shards.store(total, Ordering::Relaxed);
    }

    /// Whether the API server applied the `shardSelector` of watch `watch` on its last sync.
    pub fn set_shard_server_filtered(&self, watch: &str, applied: bool) {
        let mut m = self.shard_server_filtered.lock();
        match m.get_mut(watch) {
            Some(v) => *v = applied,
            None => {
                m.insert(watch.to_string(), applied);
            }
        }
    }

    pub fn counter(&self, family: &str, resource: &str, result: &str) -> u64 {
        self.counters
            .lock()
            .iter()
            .find(|((f, r, res), _)| *f == family && *r == resource && *res == result)
            .map(|(_, v)| *v)
            .unwrap_or(0)
    }

    /// Every self-metric recorded here, text format 0.0.4 (the telemetry port appends the
    /// process metrics).
    pub fn render(&self, out: &mut Vec<u8>) {
        header(out, "kube_state_metrics_build_info", "A metric with a constant '1' value labeled by version, revision, branch, goversion from which kube_state_metrics was built, and the goos and goarch for the build.", "gauge");
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        line(
            out,
            "kube_state_metrics_build_info",
            &[
                ("branch", ""),
                ("goversion", "rust"),
                ("goos", std::env::consts::OS),
                ("goarch", arch),
                (
                    "revision",
                    option_env!("KUBESTATE_REVISION").unwrap_or("unknown"),
                ),
                ("tags", ""),
                ("version", env!("CARGO_PKG_VERSION")),
                ("client_go_version", "kubestate"),
            ],
            1.0,
        );
        let counters = self.counters.lock().clone();
        for family in [LIST, WATCH] {
            let rows: Vec<_> = counters
                .iter()
                .filter(|((f, _, _), _)| *f == family)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let help = if family == LIST {
                "Number of total resource list in kube-state-metrics"
            } else {
                "Number of total resource watches in kube-state-metrics"
            };
            header(out, family, help, "counter");
            for ((_, resource, result), v) in rows {
                line(
                    out,
                    family,
                    &[("resource", resource), ("result", result)],
                    *v as f64,
                );
            }
        }
        for (family, help) in [
            (
                DECODE_ERRORS,
                "Watch lines that were not a watch event; the watch restarted from the last good resourceVersion.",
            ),
            (
                SKIPPED,
                "Objects that did not decode into their resource's type (a field of the wrong type) and were left out.",
            ),
            (
                RECEIVED,
                "Response body bytes received from the API server for the resource's lists and watches, before gzip decoding.",
            ),
            (
                DECODED,
                "Response body bytes from the API server for the resource's lists and watches after gzip decoding (equal to the received bytes without compression).",
            ),
        ] {
            let rows: Vec<_> = counters
                .iter()
                .filter(|((f, _, _), _)| *f == family)
                .collect();
            if rows.is_empty() {
                continue;
            }
            header(out, family, help, "counter");
            for ((_, resource, _), v) in rows {
                line(out, family, &[("resource", resource)], *v as f64);
            }
        }
        let limits = self.list_objects.lock().clone();
        if !limits.is_empty() {
            header(
                out,
                "kube_state_metrics_list_objects",
                "Number of resources listed in kube-state-metrics",
                "gauge",
            );
            for (resource, (_, kept)) in &limits {
                line(
                    out,
                    "kube_state_metrics_list_objects",
                    &[("resource", resource)],
                    *kept as f64,
                );
            }
            header(
                out,
                "kube_state_metrics_list_objects_limit",
                "Number of resource list limit in kube-state-metrics",
                "gauge",
            );
            for (resource, (limit, _)) in &limits {
                line(
                    out,
                    "kube_state_metrics_list_objects_limit",
                    &[("resource", resource)],
                    *limit as f64,
                );
            }
        }
        header(
            out,
            "kube_state_metrics_shard_ordinal",
            "Current sharding ordinal/index of this instance",
            "gauge",
        );
        let ord = self.shard_ordinal.load(Ordering::Relaxed);
        line(
            out,
            "kube_state_metrics_shard_ordinal",
            &[("shard_ordinal", &ord.to_string())],
            ord as f64,
        );
        header(
            out,
            "kube_state_metrics_total_shards",
            "Number of total shards this instance is aware of",
            "gauge",
        );
        line(
            out,
            "kube_state_metrics_total_shards",
            &[],
            self.total_shards.load(Ordering::Relaxed) as f64,
        );
        let filtered = self.shard_server_filtered.lock().clone();
        if !filtered.is_empty() {
            header(
                out,
                "kubestate_shard_server_filtered",
                "1 when the API server applied this shard's shardSelector (--shard-strategy=range with ShardedListAndWatch) on the resource's last sync, 0 when it ignored it and every object was received and filtered here.",
                "gauge",
            );
            for (w, applied) in &filtered {
                line(
                    out,
                    "kubestate_shard_server_filtered",
                    &[("resource", w)],
                    if *applied { 1.0 } else { 0.0 },
                );
            }
        }
        let syncs = self.syncs.lock().clone();
        if !syncs.is_empty() {
            header(
                out,
                "kubestate_initial_sync_mode",
                "How each watch obtains its initial state: watch-list (streamed) or list.",
                "gauge",
            );
            for (w, (mode, _, _)) in &syncs {
                line(
                    out,
                    "kubestate_initial_sync_mode",
                    &[("resource", w), ("mode", mode)],
                    1.0,
                );
            }
            header(
                out,
                "kubestate_initial_sync_duration_seconds",
                "Duration of the last initial sync or relist of each watch.",
                "gauge",
            );
            for (w, (_, secs, _)) in &syncs {
                line(
                    out,
                    "kubestate_initial_sync_duration_seconds",
                    &[("resource", w)],
                    *secs,
                );
            }
            header(
                out,
                "kubestate_initial_sync_objects",
                "Objects received in the last initial sync or relist of each watch.",
                "gauge",
            );
            for (w, (_, _, n)) in &syncs {
                line(
                    out,
                    "kubestate_initial_sync_objects",
                    &[("resource", w)],
                    *n as f64,
                );
            }
        }
        {
            let h = self.scrape.lock();
            let name = "http_request_duration_seconds";
            header(
                out,
                name,
                "A histogram of requests for kube-state-metrics metrics handler.",
                "histogram",
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let mut le = Vec::new();
                write_float(&mut le, *b);
                let le = String::from_utf8(le).unwrap_or_default();
                line(
                    out,
                    "http_request_duration_seconds_bucket",
                    &[("handler", "metrics"), ("method", "get"), ("le", &le)],
                    h.counts[i] as f64,
                );
            }
            line(
                out,
                "http_request_duration_seconds_bucket",
                &[("handler", "metrics"), ("method", "get"), ("le", "+Inf")],
                h.count as f64,
            );
            line(
                out,
                "http_request_duration_seconds_sum",
                &[("handler", "metrics"), ("method", "get")],
                h.sum,
            );
            line(
                out,
                "http_request_duration_seconds_count",
                &[("handler", "metrics"), ("method", "get")],
                h.count as f64,
            );
        }
        self.crs.render(out);
        self.sd.render(out);
        self.gzip.render(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_ksm_labels() {
        let t = Telemetry::new();
        t.list("*v1.Pod", true);
        t.watch("*v1.Pod", false);
        t.observe_scrape(0.02);
        let mut out = Vec::new();
        t.render(&mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains(
                "kube_state_metrics_list_total{resource=\"*v1.Pod\",result=\"success\"} 1\n"
            ),
            "{s}"
        );
        assert!(
            s.contains("kube_state_metrics_list_total{resource=\"*v1.Pod\",result=\"error\"} 0\n")
        );
        assert!(
            s.contains("kube_state_metrics_watch_total{resource=\"*v1.Pod\",result=\"error\"} 1\n")
        );
        assert!(s.contains("kube_state_metrics_shard_ordinal{shard_ordinal=\"0\"} 0\n"));
        assert!(s.contains("kube_state_metrics_total_shards 1\n"));
        assert!(s.contains("http_request_duration_seconds_bucket{handler=\"metrics\",method=\"get\",le=\"0.025\"} 1\n"));
        assert!(s.contains("http_request_duration_seconds_bucket{handler=\"metrics\",method=\"get\",le=\"0.01\"} 0\n"));
    }

    #[test]
    fn bad_input_counters_start_at_zero_and_count_per_resource() {
        let t = Telemetry::new();
        t.track_decoding("pods");
        t.track_decoding("nodes");
        t.watch_decode_error("pods");
        t.object_skipped("pods");
        t.object_skipped("pods");
        let mut out = Vec::new();
        t.render(&mut out);
        let s = String::from_utf8(out).unwrap();
        for want in [
            "# TYPE kubestate_watch_decode_errors_total counter\n",
            "kubestate_watch_decode_errors_total{resource=\"pods\"} 1\n",
            "kubestate_watch_decode_errors_total{resource=\"nodes\"} 0\n",
            "kubestate_objects_skipped_total{resource=\"pods\"} 2\n",
            "kubestate_objects_skipped_total{resource=\"nodes\"} 0\n",
        ] {
            assert!(s.contains(want), "{want}\n{s}");
        }
        // the KSM families keep only their own rows
        assert!(!s.contains("kube_state_metrics_list_total{"), "{s}");
    }

    #[test]
    fn received_bytes_count_wire_and_decoded_per_resource_from_zero() {
        let t = Telemetry::new();
        t.track_decoding("pods");
        t.track_decoding("nodes");
        t.received_bytes("pods", 100, 700);
        t.received_bytes("pods", 20, 20);
        let mut out = Vec::new();
        t.render(&mut out);
        let s = String::from_utf8(out).unwrap();
        for want in [
            "# TYPE kubestate_apiserver_received_bytes_total counter\n",
            "kubestate_apiserver_received_bytes_total{resource=\"pods\"} 120\n",
            "kubestate_apiserver_received_bytes_total{resource=\"nodes\"} 0\n",
            "# TYPE kubestate_apiserver_decoded_bytes_total counter\n",
            "kubestate_apiserver_decoded_bytes_total{resource=\"pods\"} 720\n",
            "kubestate_apiserver_decoded_bytes_total{resource=\"nodes\"} 0\n",
        ] {
            assert!(s.contains(want), "{want}\n{s}");
        }
    }

    #[test]
    fn server_filtering_is_a_gauge_per_watch_once_known() {
        let t = Telemetry::new();
        let render = |t: &Telemetry| {
            let mut out = Vec::new();
            t.render(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert!(!render(&t).contains("kubestate_shard_server_filtered"));
        t.set_shard_server_filtered("pods", true);
        t.set_shard_server_filtered("nodes", false);
        let s = render(&t);
        assert!(
            s.contains("kubestate_shard_server_filtered{resource=\"pods\"} 1\n"),
            "{s}"
        );
        assert!(
            s.contains("kubestate_shard_server_filtered{resource=\"nodes\"} 0\n"),
            "{s}"
        );
        t.set_shard_server_filtered("pods", false);
        assert!(render(&t).contains("kubestate_shard_server_filtered{resource=\"pods\"} 0\n"));
    }
}
