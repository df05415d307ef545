//! Hostile clients for the auth tests and the auth-storm benchmark: loops that send requests
//! with bad credentials as fast as they are answered, and a legitimate scraper beside them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A keep-alive HTTP client that reports statuses instead of failing on them.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// GET `path` with `Authorization: auth`: (status, `Retry-After`, body); status 0 when the
/// request failed outright.
pub fn get(
    agent: &ureq::Agent,
    port: u16,
    path: &str,
    auth: &str,
) -> (u16, Option<String>, Vec<u8>) {
    let resp = agent
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .header("Authorization", auth)
        .call();
    let Ok(resp) = resp else {
        return (0, None, Vec::new());
    };
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    let _ = resp
        .into_body()
        .into_with_config()
        .limit(1 << 30)
        .reader()
        .read_to_end(&mut body);
    (status, retry, body)
}

/// Loops sending `GET path` with the `Authorization` that `auth(loop, n)` gives for the
/// loop's `n`th request, until stopped.
pub struct Storm {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Tally>>,
}

/// Responses by status (0: failed), and whether every 429 carried `Retry-After`.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub statuses: BTreeMap<u16, u64>,
    pub retry_after_missing: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.statuses.values().sum()
    }

    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }
}

impl Storm {
    pub fn start(
        port: u16,
        loops: usize,
        path: &'static str,
        auth: impl Fn(usize, u64) -> String + Send + Sync + 'static,
    ) -> Storm {
        let stop = Arc::new(AtomicBool::new(false));
        let auth = Arc::new(auth);
        let threads = (0..loops)
            .map(|i| {
                let stop = stop.clone();
                let auth = auth.clone();
                std::thread::spawn(move || {
                    let agent = agent();
                    let mut tally = Tally::default();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let (status, retry, _) = get(&agent, port, path, &auth(i, n));
                        *tally.statuses.entry(status).or_insert(0) += 1;
                        if status == 429 && retry.is_none() {
                            tally.retry_after_missing += 1;
                        }
                        if status == 0 {
                            // refused or reset: do not spin
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        n += 1;
                    }
                    tally
                })
            })
            .collect();
        Storm { stop, threads }
    }

    /// Stops the loops and adds up what they got.
    pub fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Tally::default();
        for t in self.threads {
            let Ok(t) = t.join() else { continue };
            for (s, n) in t.statuses {
                *all.statuses.entry(s).or_insert(0) += n;
            }
            all.retry_after_missing += t.retry_after_missing;
        }
        all
    }
}

/// `scrapes` GETs of `path` with `auth`, `every` apart, on one keep-alive connection as a
/// Prometheus would: each one's status and duration.
pub fn scrape_loop(
    port: u16,
    path: &str,
    auth: &str,
    scrapes: usize,
    every: Duration,
) -> Vec<(u16, Duration, Vec<u8>)> {
    let agent = agent();
    (0..scrapes)
        .map(|_| {
            let started = Instant::now();
            let (status, _, body) = get(&agent, port, path, auth);
            let took = started.elapsed();
            std::thread::sleep(every.saturating_sub(took));
            (status, took, body)
        })
        .collect()
}

/// `Basic` credentials.
pub fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// A sample's value in a text exposition; panics when it is not there.
pub fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no sample {series} in:\n{exposition}"))
}
