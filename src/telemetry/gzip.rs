//! Self-metrics of the gzip member cache (`--gzip-cache-max-mb`): what it holds against its
//! limit, how often a scrape found a resource's members cached, rebuilt them on the scrape
//! path, or found them upgraded by the settler, and what was dropped to stay in bounds.

use crate::exposition::text::{header, line};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct GzipStats {
    /// Set once a cache exists (`--enable-gzip-encoding`): nothing is rendered before.
    enabled: AtomicBool,
    limit: AtomicU64,
    /// Signed: a slot adds and subtracts deltas, so a transient order of updates from two
    /// slots can never wrap.
    bytes: AtomicI64,
    hits: AtomicU64,
    misses: AtomicU64,
    settled: AtomicU64,
    evicted_limit: AtomicU64,
    evicted_idle: AtomicU64,
}

/// Why cached members were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// The cache was over `--gzip-cache-max-mb`.
    Limit,
    /// No gzip scrape asked for the resource in that format for a long time.
    Idle,
}

impl GzipStats {
    pub fn enable(&self, limit: u64) {
        self.limit.store(limit, Ordering::Relaxed);
        self.enabled.store(true, Ordering::Relaxed);
    }

    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Bytes of compressed members held now.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire).max(0) as u64
    }

    pub fn add_bytes(&self, delta: i64) {
        self.bytes.fetch_add(delta, Ordering::AcqRel);
    }

    /// A resource's gzip output was served from cached members alone.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// A scrape compressed (part of) a resource's output itself.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// The settler recompressed a resource's rebuilt members at the settled level.
    pub fn settle(&self) {
        self.settled.fetch_add(1, Ordering::Relaxed);
    }

    /// `members` cached members were dropped.
    pub fn evict(&self, why: Eviction, members: u64) {
        let c = match why {
            Eviction::Limit => &self.evicted_limit,
            Eviction::Idle => &self.evicted_idle,
        };
        c.fetch_add(members, Ordering::Relaxed);
    }

    pub fn counts(&self) -> (u64, u64, u64, u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.settled.load(Ordering::Relaxed),
            self.evicted_limit.load(Ordering::Relaxed),
            self.evicted_idle.load(Ordering::Relaxed),
        )
    }

    pub fn render(&self, out: &mut Vec<u8>) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let (hits, misses, settled, limit_ev, idle_ev) = self.counts();
        let gauge = |out: &mut Vec<u8>, name: &str, help: &str, v: u64| {
            header(out, name, help, "gauge");
            line(out, name, &[], v as f64);
        };
        let counter = |out: &mut Vec<u8>, name: &str, help: &str, v: u64| {
            header(out, name, help, "counter");
            line(out, name, &[], v as f64);
        };
        gauge(
            out,
            "kubestate_gzip_cache_bytes",
            "Bytes of compressed /metrics members held in the gzip cache.",
            self.bytes(),
        );
        gauge(
            out,
            "kubestate_gzip_cache_limit_bytes",
            "Most bytes the gzip cache may hold (--gzip-cache-max-mb).",
            self.limit(),
        );
        counter(
            out,
            "kubestate_gzip_cache_hits_total",
            "Resources whose gzip output a scrape served from cached members alone.",
            hits,
        );
        counter(
            out,
            "kubestate_gzip_cache_misses_total",
            "Resources a scrape compressed (wholly or the members not cached) on the scrape path, at the fast level.",
            misses,
        );
        counter(
            out,
            "kubestate_gzip_settled_total",
            "Times the members a scrape rebuilt were recompressed at the settled level off the scrape path.",
            settled,
        );
        header(
            out,
            "kubestate_gzip_cache_evictions_total",
            "Cached gzip members dropped: limit (the cache was over --gzip-cache-max-mb, least recently scraped first) or idle (not scraped with gzip for 10 minutes).",
            "counter",
        );
        for (reason, v) in [("limit", limit_ev), ("idle", idle_ev)] {
            line(
                out,
                "kubestate_gzip_cache_evictions_total",
                &[("reason", reason)],
                v as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_nothing_until_enabled_then_every_family() {
        let s = GzipStats::default();
        let mut out = Vec::new();
        s.render(&mut out);
        assert!(out.is_empty());
        s.enable(64 << 20);
        s.add_bytes(1000);
        s.add_bytes(-400);
        s.hit();
        s.miss();
        s.miss();
        s.settle();
        s.evict(Eviction::Limit, 3);
        s.render(&mut out);
        let s = String::from_utf8(out).unwrap();
        for want in [
            "kubestate_gzip_cache_bytes 600\n",
            "kubestate_gzip_cache_limit_bytes 6.7108864e+07\n",
            "kubestate_gzip_cache_hits_total 1\n",
            "kubestate_gzip_cache_misses_total 2\n",
            "kubestate_gzip_settled_total 1\n",
            "kubestate_gzip_cache_evictions_total{reason=\"limit\"} 3\n",
            "kubestate_gzip_cache_evictions_total{reason=\"idle\"} 0\n",
        ] {
            assert!(s.contains(want), "{want}\n{s}");
        }
    }
}
