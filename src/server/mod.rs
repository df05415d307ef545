//! The HTTP side: a fixed pool of worker threads per listener, the routes of the main port
//! (object metrics, health) and of the telemetry port (self-metrics).

pub mod process;
pub mod routes;
pub mod telemetry;

use crate::log::Level;
use crate::log_event;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub enum ServerError {
    Bind { addr: String, reason: String },
    Spawn(std::io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Bind { addr, reason } => write!(f, "cannot listen on {addr}: {reason}"),
            ServerError::Spawn(e) => write!(f, "cannot start HTTP worker thread: {e}"),
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

/// A running listener and its workers.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
    pub addr: std::net::SocketAddr,
}

impl HttpServer {
    /// Stops taking new requests, lets the workers finish the ones they are serving (up to
    /// `grace`), then closes the listener.
    pub fn shutdown(self, grace: std::time::Duration) {
        self.stop.store(true, Ordering::Release);
        for _ in &self.workers {
            self.server.unblock();
        }
        let deadline = std::time::Instant::now() + grace;
        for w in &self.workers {
            while !w.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// Binds `addr` and serves it with `workers` named threads (`<name>/<i>`), each taking the
/// next request and passing it to `handle`.
pub fn serve<H>(
    name: &str,
    addr: &str,
    workers: usize,
    handle: H,
) -> Result<HttpServer, ServerError>
where
    H: Fn(tiny_http::Request) + Send + Sync + 'static,
{
    let server = tiny_http::Server::http(addr).map_err(|e| ServerError::Bind {
        addr: addr.to_string(),
        reason: e.to_string(),
    })?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| ServerError::Bind {
            addr: addr.to_string(),
            reason: "not an IP listener".into(),
        })?;
    let server = Arc::new(server);
    let handle = Arc::new(handle);
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for i in 0..workers.max(1) {
        let server = server.clone();
        let handle = handle.clone();
        let stop = stop.clone();
        let t = std::thread::Builder::new()
            .name(format!("{name}/{i}"))
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match server.recv() {
                        Ok(req) => handle(req),
                        Err(e) => {
                            if !stop.load(Ordering::Acquire) {
                                log_event!(Level::Warn, "accept failed", server = "http", err = e);
                            }
                        }
                    }
                }
            })
            .map_err(ServerError::Spawn)?;
        threads.push(t);
    }
    log_event!(Level::Info, "listening", server = name, addr = bound);
    Ok(HttpServer {
        server,
        stop,
        workers: threads,
        addr: bound,
    })
}
