//! Routes of both ports. Handlers build a complete body; the server sends it with a
//! Content-Length, and a client that stops reading holds its worker only until the write
//! timeout.

use super::http::{Method, Request, Response};
use super::telemetry::Telemetry;
use crate::discovery::manager::{Discovery, JobStatus};
use crate::exposition::negotiate::{accepts_gzip, negotiate, Format};
use crate::kube::watch::WatchState;
use crate::log::Level;
use crate::log_event;
use crate::store::ResourceWriter;
use std::sync::Arc;
use std::time::Instant;

/// Everything the main port serves.
pub struct MainRoutes {
    /// Sorted by resource name: kube-state-metrics writes resources alphabetically.
    pub writers: crate::store::WriterSet,
    pub gzip: bool,
    pub telemetry: Arc<Telemetry>,
    pub readiness: Vec<(String, Arc<WatchState>)>,
    /// Replaced whole when a reload changes the discovery jobs.
    pub sd: parking_lot::RwLock<Option<Arc<Discovery>>>,
    /// Custom resource writers, swapped on reload; merged in by name at scrape time.
    pub custom: crate::metrics::custom::CustomWriters,
}

fn text(status: u16, body: &str) -> Response {
    Response::text(status, body)
}

fn html() -> Response {
    Response::new(200, "text/html; charset=utf-8", INDEX.as_bytes().to_vec())
}

/// Splits `?resources=a,b&exclude_resources=c` (repeatable) as kube-state-metrics does.
fn resource_query(url: &str) -> (Vec<String>, Vec<String>) {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    if let Some((_, q)) = url.split_once('?') {
        for pair in q.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let list = match k {
                "resources" => &mut include,
                "exclude_resources" => &mut exclude,
                _ => continue,
            };
            list.extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string));
        }
    }
    (include, exclude)
}

const INDEX: &str = "<html><head><title>kubestate</title></head><body><h1>kubestate</h1><ul>\
<li><a href=\"/metrics\">metrics</a></li><li><a href=\"/healthz\">healthz</a></li>\
<li><a href=\"/livez\">livez</a></li><li><a href=\"/readyz\">readyz</a></li></ul></body></html>";

impl MainRoutes {
    pub fn handle(&self, req: &Request) -> Response {
        if !matches!(req.method, Method::Get | Method::Head) {
            return text(405, "method not allowed\n");
        }
        match req.path() {
            "/metrics" => self.metrics(req),
            p if p.starts_with("/sd/") => self.service_discovery(req),
            "/healthz" | "/livez" => text(200, "OK"),
            "/readyz" => self.readyz(),
            "/" => html(),
            _ => text(404, "404 page not found\n"),
        }
    }

    /// `GET /sd/<job>`: http_sd JSON, never gzipped. 503 until the job's resources have
    /// synced, so Prometheus keeps its previous targets rather than dropping them.
    fn service_discovery(&self, req: &Request) -> Response {
        let job = req.path().trim_start_matches("/sd/").to_string();
        let sd = self.sd.read().clone();
        let Some(sd) = sd else {
            return text(404, "service discovery is not configured (--sd-config)\n");
        };
        match sd.job_status(&job) {
            JobStatus::Unknown => text(404, &format!("no service discovery job {job:?}\n")),
            JobStatus::Pending => text(503, &format!("job {job:?} has not synced yet\n")),
            JobStatus::Ready => match sd.render_job(&job) {
                Some(body) => Response::new(200, "application/json", body),
                None => text(503, &format!("job {job:?} has not synced yet\n")),
            },
        }
    }

    fn readyz(&self) -> Response {
        let waiting: Vec<&str> = self
            .readiness
            .iter()
            .filter(|(_, s)| !s.is_synced())
            .map(|(n, _)| n.as_str())
            .collect();
        if waiting.is_empty() {
            text(200, "OK")
        } else {
            text(503, &format!("not synced: {}\n", waiting.join(",")))
        }
    }

    /// Renders the body for a scrape in the given format.
    /// The writers a scrape covers: built-in and custom, alphabetically, after the
    /// `?resources=`/`?exclude_resources=` filters.
    fn selected<'a>(
        &'a self,
        builtin: &'a [ResourceWriter],
        custom: &'a [Arc<ResourceWriter>],
        include: &[String],
        exclude: &[String],
    ) -> Vec<&'a ResourceWriter> {
        let mut merged: Vec<&ResourceWriter> = builtin.iter().collect();
        merged.extend(custom.iter().map(|w| &**w));
        merged.sort_by_key(|w| w.resource);
        merged.retain(|w| {
            (include.is_empty() || include.iter().any(|r| r == w.resource))
                && !exclude.iter().any(|r| r == w.resource)
        });
        merged
    }

    pub fn render(&self, format: Format, include: &[String], exclude: &[String]) -> Vec<u8> {
        let mut body = Vec::with_capacity(256 * 1024);
        let custom = self.custom.snapshot();
        let builtin = self.writers.snapshot();
        for w in self.selected(&builtin, &custom, include, exclude) {
            w.write(&mut body, format);
        }
        if format == Format::OpenMetrics {
            body.extend_from_slice(b"# EOF\n");
        }
        body
    }

    /// The gzip body: one cached member per resource, recompressed only for resources that
    /// changed since the last scrape.
    pub fn render_gzip(
        &self,
        format: Format,
        include: &[String],
        exclude: &[String],
    ) -> std::io::Result<Vec<u8>> {
        let custom = self.custom.snapshot();
        let builtin = self.writers.snapshot();
        let mut scratch = Vec::new();
        let members = self
            .selected(&builtin, &custom, include, exclude)
            .into_iter()
            .map(|w| w.gzip_member(format, &mut scratch))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut body = Vec::with_capacity(members.iter().map(|m| m.len()).sum::<usize>() + 64);
        for m in &members {
            body.extend_from_slice(m);
        }
        if format == Format::OpenMetrics || body.is_empty() {
            let tail: &[u8] = if format == Format::OpenMetrics {
                b"# EOF\n"
            } else {
                b""
            };
            body.extend_from_slice(&crate::exposition::gzip::compress(tail)?);
        }
        Ok(body)
    }

    fn metrics(&self, req: &Request) -> Response {
        let started = Instant::now();
        let format = negotiate(req.header("Accept").unwrap_or(""));
        let gzip = self.gzip && accepts_gzip(req.header("Accept-Encoding").unwrap_or(""));
        let (include, exclude) = resource_query(&req.target);
        let mut resp = match gzip.then(|| self.render_gzip(format, &include, &exclude)) {
            Some(Ok(z)) => {
                let mut r = Response::new(200, format.content_type(), z);
                r.headers.push(("Content-Encoding".into(), "gzip".into()));
                r
            }
            Some(Err(e)) => {
                log_event!(Level::Warn, "gzip failed, sending plain", err = e);
                Response::new(
                    200,
                    format.content_type(),
                    self.render(format, &include, &exclude),
                )
            }
            None => Response::new(
                200,
                format.content_type(),
                self.render(format, &include, &exclude),
            ),
        };
        resp.headers.push(("Vary".into(), "Accept-Encoding".into()));
        // rendering time: the body's delivery is bounded by the write timeout, not measured
        self.telemetry
            .observe_scrape(started.elapsed().as_secs_f64());
        resp
    }
}

/// The telemetry port: self-metrics and health.
pub struct TelemetryRoutes {
    pub telemetry: Arc<Telemetry>,
}

impl TelemetryRoutes {
    pub fn handle(&self, req: &Request) -> Response {
        match req.path() {
            "/metrics" => {
                let mut body = Vec::with_capacity(8192);
                self.telemetry.render(&mut body);
                Response::new(200, Format::Text.content_type(), body)
            }
            "/healthz" | "/livez" | "/readyz" => text(200, "OK"),
            "/" => html(),
            _ => text(404, "404 page not found\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_query_parses_repeated_params() {
        let (i, e) =
            resource_query("/metrics?resources=pods,nodes&exclude_resources=nodes&resources=x");
        assert_eq!(i, vec!["pods", "nodes", "x"]);
        assert_eq!(e, vec!["nodes"]);
        assert_eq!(resource_query("/metrics"), (vec![], vec![]));
    }
}
