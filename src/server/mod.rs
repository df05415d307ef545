//! The HTTP side: our own HTTP/1.1 server (`http.rs`: a fixed pool of worker threads behind
//! an acceptor that parks idle and slow connections), TLS and the web config (`tls.rs`),
//! access control (`auth.rs`), the routes of the main port (object metrics, service discovery,
//! health) and of the telemetry port (self-metrics).

pub mod auth;
pub mod http;
pub mod process;
pub mod routes;
pub mod telemetry;
pub mod tls;

use std::fmt;
use std::sync::Arc;

pub use http::{Limits, Request, Response};

#[derive(Debug)]
pub enum ServerError {
    Http(http::HttpError),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Http(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// `host:port` with IPv6 hosts bracketed (`--host ::` is KSM's default).
pub fn listen_addr(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A running listener and its threads.
pub type HttpServer = http::Server;

/// What both ports share, as in kube-state-metrics: timeouts and limits, TLS, and access
/// control (basic auth, `--auth-filter`, extra headers).
#[derive(Clone, Default)]
pub struct Endpoint {
    pub limits: Limits,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub guard: Arc<auth::Guard>,
}

/// Binds `addr` and serves it with `workers` named threads (`<name>/<i>`) behind an acceptor
/// (`<name>/accept`); every request passes the endpoint's guard before `handle`, its slow
/// checks on the verifier threads (`<name>/verify<i>`) when credentials are configured.
pub fn serve<H>(
    name: &str,
    addr: &str,
    workers: usize,
    endpoint: &Endpoint,
    handle: H,
) -> Result<HttpServer, ServerError>
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let guard = endpoint.guard.clone();
    let gate: Option<Arc<dyn http::Gate>> = guard
        .checks()
        .then(|| endpoint.guard.clone() as Arc<dyn http::Gate>);
    http::serve_gated(
        name,
        addr,
        workers,
        endpoint.limits.clone(),
        endpoint.tls.clone(),
        gate,
        move |req: &Request| guard.handle(req, &handle),
    )
    .map_err(ServerError::Http)
}
