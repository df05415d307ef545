//! The API client: one ureq agent per cluster, the Authorization header on every request and
//! error statuses decoded before the caller sees a body.
//!
//! Credentials can change while we run, and the agent is rebuilt when they do:
//! - client certificate files named in the kubeconfig are checked for changes every few
//!   seconds (short-lived certificates renewed on disk); a new agent is swapped in, and the
//!   old one kept if the new files are unusable;
//! - an exec credential plugin may hand out a client certificate; a new one means a new
//!   agent;
//! - an exec plugin's token is re-obtained on a 401, and the request retried once.
//!
//! A request that meets a connection closed before any answer is sent again once, at once
//! (see [`closed_before_answer`]): a pooled keep-alive connection the server or a load
//! balancer has just closed is no outage, and Go's transport retries it the same way.
//!
//! Swapping the agent also drops its connection pool, so the next connection presents the
//! new certificate (in-flight watches finish on their old connection).
//!
//! The kubeconfig itself can change too (a rewritten token, a moved API server):
//! [`ApiClient::replace`] swaps the whole connection setup under every holder of the client;
//! requests already under way finish on the old one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use ureq::http::Response;
use ureq::Body;

use super::body::ApiResponse;
use super::config::{Auth, ClientCertFiles, ClusterConfig};
use super::error::{ApiError, ConnectError};
use super::exec::{Credential, ExecError};
use super::health::{HealthGate, Schedule};
use super::tls::{self, ClientPem, TlsError};
use crate::file_stamp::FileStamp;
use crate::log::Level;
use crate::log_event;

/// How often client certificate files are checked for changes at most: renewals happen
/// hours before expiry, so a few seconds of delay is irrelevant, and a stat per request
/// across dozens of watch threads would be waste.
const CERT_RECHECK_INTERVAL: Duration = Duration::from_secs(5);

pub struct ApiClient {
    conn: RwLock<Arc<Connection>>,
    /// Shared by every list/watch thread of this server, so that during an outage one
    /// request at a time looks for it (see [`super::health`]).
    health: Arc<HealthGate>,
}

/// One cluster configuration and the agent(s) built from it.
struct Connection {
    config: ClusterConfig,
    agent: RwLock<AgentSlot>,
    cert_files: Option<Mutex<CertFileWatch>>,
    cert_recheck: Duration,
}

/// The agent in use and the client certificate it was built with.
struct AgentSlot {
    agent: ureq::Agent,
    client: Option<OwnedPem>,
}

#[derive(Clone, PartialEq, Eq)]
struct OwnedPem {
    cert: Arc<Vec<u8>>,
    key: Arc<Vec<u8>>,
}

/// What the certificate files looked like when last checked.
struct CertFileWatch {
    files: ClientCertFiles,
    stamps: Vec<Option<FileStamp>>,
    checked_at: Instant,
}

/// How long one request may take.
#[derive(Debug, Clone, Copy)]
pub enum Timeout {
    /// A LIST page or a single GET: the whole exchange is bounded.
    Total(Duration),
    /// A watch stream: it may last for minutes, but silence longer than this means the
    /// connection is dead (bookmarks arrive well within it).
    Idle(Duration),
}

impl ApiClient {
    pub fn new(config: ClusterConfig) -> Result<Self, ConnectError> {
        Ok(ApiClient {
            conn: RwLock::new(Arc::new(Connection::new(config)?)),
            health: HealthGate::new(Schedule::default()),
        })
    }

    /// Changes how often client certificate files are checked (tests use a short one).
    pub fn with_cert_recheck(self, every: Duration) -> Self {
        let mut conn = self.conn.into_inner();
        if let Some(c) = Arc::get_mut(&mut conn) {
            c.cert_recheck = every;
        }
        ApiClient {
            conn: RwLock::new(conn),
            health: self.health,
        }
    }

    /// Uses `next`'s configuration from now on (a reloaded kubeconfig). An outage of the
    /// old setup says nothing about the new one: threads waiting on it go at once.
    pub fn replace(&self, next: ApiClient) {
        *self.conn.write() = next.conn.into_inner();
        self.health.reset();
    }

    /// The health gate of this server.
    pub fn health(&self) -> &Arc<HealthGate> {
        &self.health
    }

    fn current(&self) -> Arc<Connection> {
        self.conn.read().clone()
    }

    pub fn server(&self) -> String {
        self.current().config.server.clone()
    }

    /// The agent (TLS to the API server), for requests other than GET: the `--auth-filter`
    /// reviews POST with it and [`ApiClient::authorization`].
    pub fn agent(&self) -> ureq::Agent {
        self.current().agent.read().agent.clone()
    }

    /// Whether requests go through a proxy (from the kubeconfig or the environment).
    pub fn uses_proxy(&self) -> bool {
        self.current().config.proxy.is_some()
    }

    /// The Authorization header value of the configured static credentials, if any.
    pub fn authorization(&self) -> Result<Option<String>, ExecError> {
        self.current().config.authorization()
    }

    /// `GET server + path_and_query`; a non-2xx answer becomes an [`ApiError::Status`] built
    /// from the body. A 401 with exec-plugin credentials re-runs the plugin and retries once.
    /// The body is gzip-compressed when the server chose to (see [`super::body`]), unless
    /// compression is disabled.
    pub fn get(&self, path_and_query: &str, timeout: Timeout) -> Result<ApiResponse, ApiError> {
        self.current().get(path_and_query, timeout)
    }
}

impl Connection {
    fn new(config: ClusterConfig) -> Result<Self, TlsError> {
        let agent = tls::build_agent(&config)?;
        if config.tls.insecure_skip_verify {
            log_event!(
                Level::Warn,
                "TLS verification of the API server is disabled (insecure-skip-tls-verify); \
                 anyone on the network path can impersonate it",
                cluster = config.cluster_name.as_deref().unwrap_or("-"),
                server = config.server,
                source = config.source
            );
        }
        if let Some(proxy) = &config.proxy {
            log_event!(
                Level::Info,
                "connecting to the API server through a proxy",
                proxy = proxy.redacted(),
                origin = proxy.origin
            );
        }
        let client = match (&config.tls.client_cert_pem, &config.tls.client_key_pem) {
            (Some(cert), Some(key)) => Some(OwnedPem {
                cert: Arc::new(cert.clone()),
                key: Arc::new(key.clone()),
            }),
            _ => None,
        };
        let cert_files = config.tls.client_cert_files.clone().map(|files| {
            let stamps = FileStamp::of_all(&cert_paths(&files));
            Mutex::new(CertFileWatch {
                files,
                stamps,
                checked_at: Instant::now(),
            })
        });
        Ok(Connection {
            agent: RwLock::new(AgentSlot { agent, client }),
            config,
            cert_files,
            cert_recheck: CERT_RECHECK_INTERVAL,
        })
    }

    fn get(&self, path_and_query: &str, timeout: Timeout) -> Result<ApiResponse, ApiError> {
        let url = format!("{}{}", self.config.server, path_and_query);
        let (mut resp, used) = match self.send(&url, timeout) {
            Err(e) if closed_before_answer(&e) => self.send(&url, timeout)?,
            sent => sent?,
        };
        if resp.status().as_u16() == 401 {
            if let (Auth::Exec(exec), Some(used)) = (&self.config.auth, &used) {
                exec.invalidate(used);
                drop(resp);
                resp = self.send(&url, timeout)?.0;
            }
        }
        let resp = ApiResponse::new(resp);
        let code = resp.status().as_u16();
        if (200..300).contains(&code) {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.read_to_vec(64 * 1024).unwrap_or_default();
        Err(ApiError::from_response(&url, code, &body, retry_after))
    }

    /// One attempt; returns the exec credential used, if any, so a 401 can invalidate it.
    fn send(
        &self,
        url: &str,
        timeout: Timeout,
    ) -> Result<(Response<Body>, Option<Arc<Credential>>), ApiError> {
        self.reload_cert_files_if_changed();
        let (authorization, exec_cred) = match &self.config.auth {
            Auth::Exec(exec) => {
                let cred = exec
                    .credential()
                    .map_err(|e| ApiError::Credentials(e.into()))?;
                (
                    cred.token.as_ref().map(|t| format!("Bearer {t}")),
                    Some(cred),
                )
            }
            _ => (
                self.config
                    .authorization()
                    .map_err(|e| ApiError::Credentials(e.into()))?,
                None,
            ),
        };
        let agent = match exec_cred.as_ref().and_then(|c| c.client_cert.as_ref()) {
            Some((cert, key)) => self
                .agent_for(OwnedPem {
                    cert: cert.clone(),
                    key: key.clone(),
                })
                .map_err(|e| ApiError::Credentials(e.into()))?,
            None => self.agent.read().agent.clone(),
        };
        let mut req = agent.get(url).header("Accept", "application/json");
        if !self.config.disable_compression {
            // what client-go's transport sends unless DisableCompression is set
            req = req.header("Accept-Encoding", "gzip");
        }
        if let Some(auth) = authorization {
            req = req.header("Authorization", auth);
        }
        let req = match timeout {
            Timeout::Total(d) => req.config().timeout_global(Some(d)).build(),
            Timeout::Idle(d) => req
                .config()
                .timeout_recv_response(Some(d))
                .timeout_per_read(Some(d))
                .build(),
        };
        let resp = req.call().map_err(|source| ApiError::Transport {
            url: url.to_string(),
            source,
        })?;
        Ok((resp, exec_cred))
    }

    /// The agent presenting `pem`, rebuilt if the current one presents another certificate
    /// (an exec plugin returned a new one).
    fn agent_for(&self, pem: OwnedPem) -> Result<ureq::Agent, TlsError> {
        {
            let slot = self.agent.read();
            if slot.client.as_ref() == Some(&pem) {
                return Ok(slot.agent.clone());
            }
        }
        let mut slot = self.agent.write();
        if slot.client.as_ref() != Some(&pem) {
            let source = match &self.config.auth {
                Auth::Exec(exec) => format!("exec plugin {:?}", exec.command()),
                _ => self.config.source.clone(),
            };
            slot.agent = tls::build_agent_with_client(
                &self.config,
                Some(ClientPem {
                    cert: &pem.cert,
                    key: &pem.key,
                    source: &source,
                }),
            )?;
            slot.client = Some(pem);
        }
        Ok(slot.agent.clone())
    }

    /// Swaps in a new agent when the kubeconfig's client certificate files changed; keeps
    /// the old one (and says why) when the new files are unusable, e.g. mid-rotation.
    fn reload_cert_files_if_changed(&self) {
        let Some(watch) = &self.cert_files else {
            return;
        };
        let mut watch = watch.lock();
        if watch.checked_at.elapsed() < self.cert_recheck {
            return;
        }
        watch.checked_at = Instant::now();
        let stamps = FileStamp::of_all(&cert_paths(&watch.files));
        if stamps == watch.stamps {
            return;
        }
        // Remember the new state even if it fails, so a broken pair is reported once and
        // retried when the files change again.
        watch.stamps = stamps;
        let files = watch.files.clone();
        match self.rebuild_from_files(&files) {
            Ok(true) => log_event!(
                Level::Info,
                "client certificate reloaded",
                cert = files.cert.display(),
                key = files.key.display()
            ),
            Ok(false) => {}
            Err(e) => log_event!(
                Level::Error,
                "client certificate files changed but are unusable; keeping the previous \
                 certificate",
                cert = files.cert.display(),
                error = e
            ),
        }
    }

    /// `Ok(true)` if a new agent was swapped in, `Ok(false)` if the content is unchanged.
    fn rebuild_from_files(&self, files: &ClientCertFiles) -> Result<bool, TlsError> {
        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Unreadable {
                what,
                path: path.to_path_buf(),
                source,
            })
        };
        let pem = OwnedPem {
            cert: Arc::new(read("client-certificate", &files.cert)?),
            key: Arc::new(read("client-key", &files.key)?),
        };
        if self.agent.read().client.as_ref() == Some(&pem) {
            return Ok(false);
        }
        let source = format!(
            "client certificate files {} and {}",
            files.cert.display(),
            files.key.display()
        );
        let agent = tls::build_agent_with_client(
            &self.config,
            Some(ClientPem {
                cert: &pem.cert,
                key: &pem.key,
                source: &source,
            }),
        )?;
        *self.agent.write() = AgentSlot {
            agent,
            client: Some(pem),
        };
        Ok(true)
    }
}

/// Whether the connection was closed under the request before the server answered: the
/// mark of a pooled keep-alive connection the peer closed while it sat idle (ureq checks a
/// pooled connection before it reuses it, but a close that crosses the request goes
/// unseen). A GET is safe to send again, and a server that is really gone refuses the
/// fresh connection of the second attempt, which then counts as the outage it is.
fn closed_before_answer(e: &ApiError) -> bool {
    use std::io::ErrorKind;
    match e {
        ApiError::Transport {
            source: ureq::Error::Io(io),
            ..
        } => matches!(
            io.kind(),
            ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

fn cert_paths(files: &ClientCertFiles) -> [PathBuf; 2] {
    [files.cert.clone(), files.key.clone()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::config::tests::TempDir;
    use crate::kube::config::ConfigOptions;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    /// Reads one request head from `conn`; false at end of stream.
    fn read_request(conn: &mut BufReader<TcpStream>) -> bool {
        let mut line = String::new();
        let mut any = false;
        loop {
            line.clear();
            if conn.read_line(&mut line).unwrap_or(0) == 0 {
                return false;
            }
            if line == "\r\n" {
                return any;
            }
            any = true;
        }
    }

    /// The next connection, or None after 5 s: a test that fails must not hang its server.
    fn accept(listener: &TcpListener) -> Option<BufReader<TcpStream>> {
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            match listener.accept() {
                Ok((c, _)) => {
                    c.set_nonblocking(false).unwrap();
                    return Some(BufReader::new(c));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        None
    }

    fn client_for(port: u16, name: &str) -> ApiClient {
        let dir = TempDir::new(name);
        let kc = dir.write(
            "kubeconfig",
            &format!(
                "current-context: c\n\
                 clusters: [{{name: k, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
                 users: [{{name: u, user: {{}}}}]\n\
                 contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n"
            ),
        );
        let cfg = ClusterConfig::load(&ConfigOptions {
            kubeconfig: Some(kc),
            ..ConfigOptions::default()
        });
        ApiClient::new(cfg.unwrap()).unwrap()
    }

    const OK: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

    #[test]
    fn a_keep_alive_connection_closed_under_the_next_request_is_no_failure() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            // first connection: answers one request as keep-alive, then takes the second
            // and closes without a word (an idle timeout crossing the request)
            let (c, _) = listener.accept().unwrap();
            let mut c = BufReader::new(c);
            assert!(read_request(&mut c));
            c.get_mut().write_all(OK).unwrap();
            assert!(
                read_request(&mut c),
                "the second request reuses the connection"
            );
            drop(c);
            // the retry comes on a fresh connection
            let (c, _) = listener.accept().unwrap();
            let mut c = BufReader::new(c);
            assert!(read_request(&mut c));
            c.get_mut().write_all(OK).unwrap();
            let mut rest = Vec::new();
            let _ = c.read_to_end(&mut rest);
        });
        let client = client_for(port, "reuse");
        let timeout = Timeout::Total(Duration::from_secs(10));
        let first = client.get("/api/v1/pods", timeout).unwrap();
        assert_eq!(first.read_to_vec(1024).unwrap(), b"{}");
        let second = client.get("/api/v1/pods", timeout).unwrap();
        assert_eq!(second.read_to_vec(1024).unwrap(), b"{}");
        drop(client);
        server.join().unwrap();
    }

    #[test]
    fn a_server_that_closes_every_connection_unanswered_is_an_outage() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut requests = 0;
            while let Some(mut c) = accept(&listener) {
                if read_request(&mut c) {
                    requests += 1;
                }
            }
            requests
        });
        let client = client_for(port, "closes");
        let Err(err) = client.get("/api/v1/pods", Timeout::Total(Duration::from_secs(10))) else {
            panic!("no answer is an error");
        };
        assert!(err.is_outage(), "{err}");
        assert_eq!(server.join().unwrap(), 2, "one request, retried once");
    }
}
