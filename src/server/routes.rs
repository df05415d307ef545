//! Routes of both ports. Small bodies are built whole and sent with a Content-Length;
//! `/metrics` streams its body (chunked) from the stores through a per-worker buffer. Either
//! way a client that stops reading holds its worker only until the write timeout.

use super::http::{Method, Request, Response};
use crate::discovery::manager::{Discovery, JobStatus};
use crate::exposition::negotiate::{accepts_gzip, negotiate, Format};
use crate::kube::watch::WatchState;
use crate::log::Level;
use crate::log_event;
use crate::store::{GzipCache, GzipMembers, ResourceWriter, CHUNK};
use crate::telemetry::Telemetry;
use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

/// Everything the main port serves.
pub struct MainRoutes {
    /// Sorted by resource name: kube-state-metrics writes resources alphabetically.
    pub writers: crate::store::WriterSet,
    /// The gzip member cache (`--enable-gzip-encoding`); `None`: responses are never gzipped.
    pub gzip: Option<Arc<GzipCache>>,
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

    /// One pass of the gzip settler over every writer (built-in and custom): see
    /// [`ResourceWriter::settle`]. A writer no gzip scrape asked for is skipped.
    pub fn settle_gzip(&self, now: Instant) {
        let builtin = self.writers.snapshot();
        let custom = self.custom.snapshot();
        for w in builtin.iter().chain(custom.iter().map(|w| &**w)) {
            if let Err(e) = w.settle(now, crate::store::gzip::QUIET) {
                log_event!(
                    Level::Warn,
                    "gzip settling failed, members stay at the fast level",
                    resource = w.resource,
                    err = e
                );
            }
        }
    }

    /// 503 until every watch has synced. The telemetry port answers the same: kube-state-
    /// metrics' standard manifest points its readiness probe there.
    pub fn readyz(&self) -> Response {
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

    /// `/metrics`: a streamed body (plain: copied from the stores through the worker's
    /// buffer; gzip: the cached members one after the other). Memory per scrape is the
    /// buffer and one pointer per object, whatever the output size.
    fn metrics(&self, req: &Request) -> Response {
        let started = Instant::now();
        let format = negotiate(req.header("Accept").unwrap_or(""));
        let gzip = self
            .gzip
            .as_ref()
            .filter(|_| accepts_gzip(req.header("Accept-Encoding").unwrap_or("")));
        let (include, exclude) = resource_query(&req.target);
        // The writers as they are now: the stream keeps them even if a reshard swaps them.
        let custom = self.custom.snapshot();
        let builtin = self.writers.snapshot();
        let telemetry = self.telemetry.clone();
        // Members are built (compressed when stale) before the header goes out, so a
        // compression failure can still fall back to a plain body.
        let members = match gzip.map(|cache| {
            let writers = selected(&builtin, &custom, &include, &exclude);
            for w in &writers {
                w.attach_gzip_cache(cache);
            }
            gzip_members(&writers, format)
        }) {
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => {
                log_event!(Level::Warn, "gzip failed, sending plain", err = e);
                None
            }
            None => None,
        };
        let gz = members.is_some();
        let mut resp = Response::stream(200, format.content_type(), move |out| {
            let result = match members {
                Some(members) => members
                    .iter()
                    .flat_map(|m| m.iter())
                    .try_for_each(|m| out.write_all(m)),
                None => write_plain(
                    &selected(&builtin, &custom, &include, &exclude),
                    format,
                    out,
                ),
            };
            // Like kube-state-metrics' handler histogram, this covers rendering and delivery:
            // with a streamed body they overlap, and a slow client shows up here.
            telemetry.observe_scrape(started.elapsed().as_secs_f64());
            result
        });
        if gz {
            resp.headers
                .push(("Content-Encoding".into(), "gzip".into()));
        }
        resp.headers.push(("Vary".into(), "Accept-Encoding".into()));
        resp
    }
}

/// The writers a scrape covers: built-in and custom, alphabetically, after the
/// `?resources=`/`?exclude_resources=` filters.
fn selected<'a>(
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

thread_local! {
    /// Each HTTP worker's scrape buffer, reused across scrapes: a plain scrape is copied
    /// from the stores into it and written out whenever it holds [`CHUNK`] bytes.
    static SCRAPE_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes the plain exposition of `writers` to `out` in chunks of about [`CHUNK`] bytes,
/// through this thread's reusable buffer. Each resource's stores are locked only to take a
/// snapshot of their objects, never while `out` is written to, so a client that reads slowly
/// holds up no watch thread.
pub fn write_plain(
    writers: &[&ResourceWriter],
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    SCRAPE_BUF.with_borrow_mut(|buf| {
        buf.clear();
        // a line longer than the slack would grow it; keep what one scrape needs, no more
        if buf.capacity() > 4 * CHUNK {
            *buf = Vec::new();
        }
        buf.reserve(CHUNK + 16 * 1024);
        let result = (|| {
            for w in writers {
                w.write_chunked(format, buf, CHUNK, out)?;
            }
            if format == Format::OpenMetrics {
                buf.extend_from_slice(b"# EOF\n");
            }
            out.write_all(buf)
        })();
        buf.clear();
        result
    })
}

/// The gzip members of `writers` (cached, recompressed only for resources that changed since
/// the last scrape), plus the OpenMetrics `# EOF` member, or one empty member when there is
/// nothing else so the body is still valid gzip. Sent in order, they are the whole body.
pub fn gzip_members(writers: &[&ResourceWriter], format: Format) -> io::Result<Vec<GzipMembers>> {
    let mut members = writers
        .iter()
        .map(|w| w.gzip_members(format))
        .filter(|m| !matches!(m, Ok(m) if m.is_empty()))
        .collect::<io::Result<Vec<_>>>()?;
    if format == Format::OpenMetrics || members.is_empty() {
        let tail: &[u8] = if format == Format::OpenMetrics {
            b"# EOF\n"
        } else {
            b""
        };
        members.push(Arc::new(vec![
            crate::exposition::gzip::compress(tail)?.into()
        ]));
    }
    Ok(members)
}

/// The telemetry port: self-metrics and health.
pub struct TelemetryRoutes {
    pub telemetry: Arc<Telemetry>,
    /// The main port's routes, whose readiness `/readyz` reports.
    pub main: Arc<MainRoutes>,
    /// Both ports' access control, for its self-metrics.
    pub guard: Arc<super::auth::Guard>,
}

impl TelemetryRoutes {
    pub fn handle(&self, req: &Request) -> Response {
        match req.path() {
            "/metrics" => {
                let mut body = Vec::with_capacity(8192);
                self.telemetry.render(&mut body);
                super::process::render(&mut body);
                self.guard.render_stats(&mut body);
                Response::new(200, Format::Text.content_type(), body)
            }
            "/healthz" | "/livez" => text(200, "OK"),
            "/readyz" => self.main.readyz(),
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

    #[test]
    fn telemetry_port_serves_self_metrics_then_process_metrics() {
        let telemetry = Arc::new(Telemetry::new());
        let main = Arc::new(MainRoutes {
            writers: crate::store::WriterSet::new(Vec::new()),
            gzip: None,
            telemetry: telemetry.clone(),
            readiness: Vec::new(),
            sd: parking_lot::RwLock::new(None),
            custom: Default::default(),
        });
        let routes = TelemetryRoutes {
            telemetry,
            main,
            guard: Arc::new(super::super::auth::Guard::new(None, None, Vec::new())),
        };
        routes.telemetry.list("*v1.Pod", true);
        let req = Request {
            method: Method::Get,
            target: "/metrics".into(),
            headers: Vec::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
        };
        let resp = routes.handle(&req);
        let body = String::from_utf8(resp.bytes().expect("complete body").to_vec()).unwrap();
        let list = body
            .find("kube_state_metrics_list_total{")
            .expect("list counter");
        let process = body
            .find("process_resident_memory_bytes ")
            .expect("process metrics");
        assert!(list < process, "{body}");
    }
}
