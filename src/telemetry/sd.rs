//! Self-metrics of service discovery, on the telemetry port: what the watches fed in (as
//! Prometheus's `prometheus_sd_kubernetes_events_total` counts it) and what each job last
//! published, so an operator can alert on a job that stopped publishing or a file_sd
//! directory that stopped being writable. Shared by every discovery generation; a reload
//! keeps the counters of jobs that stay and drops the jobs that go.

use crate::exposition::text::{header, line};
use parking_lot::Mutex;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct SdStats {
    /// (resource, add|update|delete) → count
    events: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    jobs: Mutex<BTreeMap<String, JobStats>>,
}

#[derive(Debug, Default, Clone)]
struct JobStats {
    groups: usize,
    targets: usize,
    publications: u64,
    last_publication: f64,
    file_writes_ok: u64,
    file_writes_failed: u64,
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl SdStats {
    pub fn event(&self, resource: &'static str, event: &'static str) {
        *self.events.lock().entry((resource, event)).or_insert(0) += 1;
    }

    /// The jobs of a newly started configuration: counters of the others are dropped.
    pub fn configure(&self, jobs: &[String]) {
        let mut m = self.jobs.lock();
        m.retain(|k, _| jobs.contains(k));
        for j in jobs {
            m.entry(j.clone()).or_default();
        }
    }

    pub fn published(&self, job: &str, groups: usize, targets: usize) {
        let mut m = self.jobs.lock();
        let j = m.entry(job.to_string()).or_default();
        j.groups = groups;
        j.targets = targets;
        j.publications += 1;
        j.last_publication = unix_now();
    }

    pub fn file_written(&self, job: &str, ok: bool) {
        let mut m = self.jobs.lock();
        let j = m.entry(job.to_string()).or_default();
        if ok {
            j.file_writes_ok += 1;
        } else {
            j.file_writes_failed += 1;
        }
    }

    pub fn render(&self, out: &mut Vec<u8>) {
        let events = self.events.lock().clone();
        let jobs = self.jobs.lock().clone();
        if events.is_empty() && jobs.is_empty() {
            return;
        }
        header(
            out,
            "kubestate_sd_kubernetes_events_total",
            "Objects received by service discovery, by resource and event (add, update, delete).",
            "counter",
        );
        for ((resource, event), n) in &events {
            line(
                out,
                "kubestate_sd_kubernetes_events_total",
                &[("role", resource), ("event", event)],
                *n as f64,
            );
        }
        type Field = fn(&JobStats) -> f64;
        let per_job: [(&str, &str, &str, Field); 6] = [
            (
                "kubestate_sd_target_groups",
                "Target groups in the last publication of a discovery job.",
                "gauge",
                |j| j.groups as f64,
            ),
            (
                "kubestate_sd_targets",
                "Targets in the last publication of a discovery job.",
                "gauge",
                |j| j.targets as f64,
            ),
            (
                "kubestate_sd_publications_total",
                "Publications of a discovery job (http_sd snapshot replaced).",
                "counter",
                |j| j.publications as f64,
            ),
            (
                "kubestate_sd_last_publication_timestamp_seconds",
                "Unix time of a discovery job's last publication (0: none yet).",
                "gauge",
                |j| j.last_publication,
            ),
            (
                "kubestate_sd_file_writes_total",
                "file_sd writes of a discovery job that succeeded.",
                "counter",
                |j| j.file_writes_ok as f64,
            ),
            (
                "kubestate_sd_file_write_failures_total",
                "file_sd writes of a discovery job that failed (retried).",
                "counter",
                |j| j.file_writes_failed as f64,
            ),
        ];
        for (name, help, kind, f) in per_job {
            header(out, name, help, kind);
            for (job, s) in &jobs {
                line(out, name, &[("job", job)], f(s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_events_and_publications_and_forgets_removed_jobs() {
        let s = SdStats::default();
        let mut out = Vec::new();
        s.render(&mut out);
        assert!(out.is_empty(), "nothing configured, nothing rendered");
        s.configure(&["web".into(), "gone".into()]);
        s.event("pods", "add");
        s.event("pods", "add");
        s.event("pods", "delete");
        s.published("web", 2, 5);
        s.file_written("web", true);
        s.file_written("web", false);
        s.configure(&["web".into()]);
        s.render(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("kubestate_sd_kubernetes_events_total{role=\"pods\",event=\"add\"} 2\n"),
            "{text}"
        );
        assert!(text
            .contains("kubestate_sd_kubernetes_events_total{role=\"pods\",event=\"delete\"} 1\n"));
        assert!(text.contains("kubestate_sd_targets{job=\"web\"} 5\n"));
        assert!(text.contains("kubestate_sd_target_groups{job=\"web\"} 2\n"));
        assert!(text.contains("kubestate_sd_publications_total{job=\"web\"} 1\n"));
        assert!(text.contains("kubestate_sd_file_writes_total{job=\"web\"} 1\n"));
        assert!(text.contains("kubestate_sd_file_write_failures_total{job=\"web\"} 1\n"));
        assert!(!text.contains("job=\"gone\""), "{text}");
        assert!(text.contains("# TYPE kubestate_sd_publications_total counter\n"));
    }
}
