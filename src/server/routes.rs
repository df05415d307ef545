//! Routes of both ports. Handlers build a complete body and answer with a Content-Length;
//! a client that stops reading only holds its own worker until the write fails.

use super::telemetry::Telemetry;
use crate::discovery::manager::{Discovery, JobStatus};
use crate::exposition::negotiate::{accepts_gzip, negotiate, Format};
use crate::kube::watch::WatchState;
use crate::log::Level;
use crate::log_event;
use crate::store::ResourceWriter;
use std::sync::Arc;
use std::time::Instant;
use tiny_http::{Header, Method, Request, Response};

/// Everything the main port serves.
pub struct MainRoutes {
    /// Sorted by resource name: kube-state-metrics writes resources alphabetically.
    pub writers: crate::store::WriterSet,
    pub gzip: bool,
    pub telemetry: Arc<Telemetry>,
    pub readiness: Vec<(String, Arc<WatchState>)>,
    pub sd: Option<Arc<Discovery>>,
    /// Custom resource writers, swapped on reload; merged in by name at scrape time.
    pub custom: crate::metrics::custom::CustomWriters,
}

fn header(k: &str, v: &str) -> Header {
    Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("static header names and ASCII values")
}

fn request_header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn respond(req: Request, status: u16, content_type: &str, body: Vec<u8>, extra: Vec<Header>) {
    let mut resp = Response::from_data(body).with_status_code(status);
    resp.add_header(header("Content-Type", content_type));
    for h in extra {
        resp.add_header(h);
    }
    if let Err(e) = req.respond(resp) {
        log_event!(Level::Debug, "client went away", err = e);
    }
}

fn text(req: Request, status: u16, body: &str) {
    respond(
        req,
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
        Vec::new(),
    );
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

fn path_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

const INDEX: &str = "<html><head><title>kubestate</title></head><body><h1>kubestate</h1><ul>\
<li><a href=\"/metrics\">metrics</a></li><li><a href=\"/healthz\">healthz</a></li>\
<li><a href=\"/livez\">livez</a></li><li><a href=\"/readyz\">readyz</a></li></ul></body></html>";

impl MainRoutes {
    pub fn handle(&self, req: Request) {
        if !matches!(req.method(), Method::Get | Method::Head) {
            return text(req, 405, "method not allowed\n");
        }
        match path_of(req.url()) {
            "/metrics" => self.metrics(req),
            p if p.starts_with("/sd/") => self.service_discovery(req),
            "/healthz" | "/livez" => text(req, 200, "OK"),
            "/readyz" => self.readyz(req),
            "/" => respond(
                req,
                200,
                "text/html; charset=utf-8",
                INDEX.as_bytes().to_vec(),
                Vec::new(),
            ),
            _ => text(req, 404, "404 page not found\n"),
        }
    }

    /// `GET /sd/<job>`: http_sd JSON, never gzipped. 503 until the job's resources have
    /// synced, so Prometheus keeps its previous targets rather than dropping them.
    fn service_discovery(&self, req: Request) {
        let job = path_of(req.url()).trim_start_matches("/sd/").to_string();
        let Some(sd) = &self.sd else {
            return text(
                req,
                404,
                "service discovery is not configured (--sd-config)\n",
            );
        };
        match sd.job_status(&job) {
            JobStatus::Unknown => text(req, 404, &format!("no service discovery job {job:?}\n")),
            JobStatus::Pending => text(req, 503, &format!("job {job:?} has not synced yet\n")),
            JobStatus::Ready => match sd.render_job(&job) {
                Some(body) => respond(req, 200, "application/json", body, Vec::new()),
                None => text(req, 503, &format!("job {job:?} has not synced yet\n")),
            },
        }
    }

    fn readyz(&self, req: Request) {
        let waiting: Vec<&str> = self
            .readiness
            .iter()
            .filter(|(_, s)| !s.is_synced())
            .map(|(n, _)| n.as_str())
            .collect();
        if waiting.is_empty() {
            text(req, 200, "OK")
        } else {
            text(req, 503, &format!("not synced: {}\n", waiting.join(",")))
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

    fn metrics(&self, req: Request) {
        let started = Instant::now();
        let format = negotiate(request_header(&req, "Accept").unwrap_or(""));
        let gzip = self.gzip && accepts_gzip(request_header(&req, "Accept-Encoding").unwrap_or(""));
        let (include, exclude) = resource_query(req.url());
        let mut extra = Vec::new();
        let body = match gzip.then(|| self.render_gzip(format, &include, &exclude)) {
            Some(Ok(z)) => {
                extra.push(header("Content-Encoding", "gzip"));
                z
            }
            Some(Err(e)) => {
                log_event!(Level::Warn, "gzip failed, sending plain", err = e);
                self.render(format, &include, &exclude)
            }
            None => self.render(format, &include, &exclude),
        };
        extra.push(header("Vary", "Accept-Encoding"));
        respond(req, 200, format.content_type(), body, extra);
        self.telemetry
            .observe_scrape(started.elapsed().as_secs_f64());
    }
}

/// The telemetry port: self-metrics and health.
pub struct TelemetryRoutes {
    pub telemetry: Arc<Telemetry>,
}

impl TelemetryRoutes {
    pub fn handle(&self, req: Request) {
        match path_of(req.url()) {
            "/metrics" => {
                let mut body = Vec::with_capacity(8192);
                self.telemetry.render(&mut body);
                respond(req, 200, Format::Text.content_type(), body, Vec::new());
            }
            "/healthz" | "/livez" | "/readyz" => text(req, 200, "OK"),
            "/" => respond(
                req,
                200,
                "text/html; charset=utf-8",
                INDEX.as_bytes().to_vec(),
                Vec::new(),
            ),
            _ => text(req, 404, "404 page not found\n"),
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
