//! Where and how to talk to the Kubernetes API server.
//!
//! Follows client-go's loading rules so that a kubeconfig that works for `kubectl` works
//! here, and so that in a pod the service-account credentials are picked up the same way:
//!
//! 1. `--kubeconfig`, else `$KUBECONFIG` (a colon-separated list, merged: the first file that
//!    defines a named cluster/user/context wins, `current-context` comes from the first file
//!    that sets one), else `~/.kube/config` if it exists, else the in-cluster service account.
//! 2. `--context` or `current-context` selects the cluster and user.
//! 3. `--apiserver` overrides the server URL; with neither a kubeconfig nor a pod environment
//!    it is used alone, without credentials.
//!
//! Everything a request needs (CA, client certificate, static tokens) is read here, once, so
//! that a bad path or bad base64 fails at startup with a message naming the file and key,
//! rather than on the first request. The exception is a token *file*: service-account tokens
//! rotate, so [`TokenFile`] re-reads it when it changes.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use serde::Deserialize;

use super::exec::{ClusterInfo, ExecAuth, ExecConfig, ExecFailure};

/// Where the in-cluster service-account credentials are mounted by the kubelet.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How often a token file is checked for changes at most: a stat per request would be
/// wasteful with dozens of watch threads, and the kubelet rotates tokens long before expiry.
const TOKEN_RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Command-line choices that influence loading (kube-state-metrics' `--kubeconfig`,
/// `--context` and `--apiserver`).
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub apiserver: Option<String>,
}

/// Everything needed to build an HTTP agent and authenticate requests to one API server.
#[derive(Debug)]
pub struct ClusterConfig {
    /// Base URL without trailing slash, e.g. `https://127.0.0.1:6443`.
    pub server: String,
    pub tls: TlsSettings,
    pub auth: Auth,
    /// Human-readable origin for logs and errors, e.g. `kubeconfig /root/.kube/config
    /// (context kind-kind)` or `in-cluster service account`.
    pub source: String,
    /// The kubeconfig cluster entry's name, for log lines about it (None in-cluster).
    pub cluster_name: Option<String>,
    /// The proxy requests go through, already decided from `proxy-url` or the
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` environment (one server, so one decision).
    pub proxy: Option<ProxyChoice>,
}

/// A proxy for the API server connection and where it was configured.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyChoice {
    /// `scheme://[user:pass@]host:port`; may contain credentials, so never log it whole.
    pub url: String,
    /// e.g. `HTTPS_PROXY` or `proxy-url of cluster "k"`.
    pub origin: String,
}

impl ProxyChoice {
    /// The URL without user info, for logs.
    pub fn redacted(&self) -> String {
        match self.url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://<redacted>@{host}"),
                None => self.url.clone(),
            },
            None => match self.url.rsplit_once('@') {
                Some((_, host)) => format!("<redacted>@{host}"),
                None => self.url.clone(),
            },
        }
    }
}

impl fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyChoice({} from {})", self.redacted(), self.origin)
    }
}

/// Client certificate and key files named in the kubeconfig: they are re-read when they
/// change (cert-manager or a node agent renewing short-lived client certificates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// TLS material as PEM bytes; parsed and validated by [`crate::kube::tls::build_agent`].
#[derive(Clone, Default)]
pub struct TlsSettings {
    pub ca_pem: Option<Vec<u8>>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    pub insecure_skip_verify: bool,
    /// `tls-server-name`: the name sent as SNI and verified in the server certificate
    /// instead of the URL host (API servers reached through an IP or a tunnel).
    pub server_name: Option<String>,
    /// Set when both client certificate and key came from files (not `*-data`).
    pub client_cert_files: Option<ClientCertFiles>,
}

impl fmt::Debug for TlsSettings {
    /// Sizes only: the key is a secret and certificates are noise in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = |v: &Option<Vec<u8>>| v.as_ref().map(|b| b.len());
        f.debug_struct("TlsSettings")
            .field("ca_pem_bytes", &len(&self.ca_pem))
            .field("client_cert_pem_bytes", &len(&self.client_cert_pem))
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("server_name", &self.server_name)
            .field("client_cert_files", &self.client_cert_files)
            .finish()
    }
}

/// How requests authenticate, besides a TLS client certificate.
pub enum Auth {
    None,
    Bearer(String),
    /// A bearer token read from a file that may be rotated underneath us.
    TokenFile(TokenFile),
    Basic {
        username: String,
        password: String,
    },
    /// An exec credential plugin; may also supply the client certificate.
    Exec(ExecAuth),
}

impl fmt::Debug for Auth {
    /// Never prints secrets, so a `{:?}` of the config is safe to log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::TokenFile(t) => write!(f, "TokenFile({})", t.path.display()),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Auth::Exec(e) => write!(f, "Exec({e:?})"),
        }
    }
}

/// A bearer token kept in a file (service-account tokens, kubeconfig `tokenFile`).
///
/// The kubelet rewrites projected service-account tokens well before they expire, so the
/// file is re-read whenever its mtime or size changes, checked at most once a second
/// (`TOKEN_RECHECK_INTERVAL`). Shared by all watch threads, hence the mutex.
pub struct TokenFile {
    path: PathBuf,
    recheck: Duration,
    state: Mutex<TokenState>,
}

struct TokenState {
    token: String,
    mtime: Option<SystemTime>,
    size: u64,
    checked_at: Instant,
}

impl TokenFile {
    /// Reads the token now, so that a missing or empty file is a startup error.
    pub fn new(path: PathBuf) -> Result<TokenFile, ConfigError> {
        Self::with_recheck(path, TOKEN_RECHECK_INTERVAL)
    }

    fn with_recheck(path: PathBuf, recheck: Duration) -> Result<TokenFile, ConfigError> {
        let state = read_token_file(&path)?;
        Ok(TokenFile {
            path,
            recheck,
            state: Mutex::new(state),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current token. If the file changed but cannot be read (or is empty) right now,
    /// the previous token is returned, like client-go does: a rotation in progress must not
    /// fail requests, and the old token normally stays valid for a while.
    pub fn token(&self) -> String {
        let mut state = self.state.lock();
        if state.checked_at.elapsed() < self.recheck {
            return state.token.clone();
        }
        state.checked_at = Instant::now();
        let changed = match std::fs::metadata(&self.path) {
            Ok(md) => md.modified().ok() != state.mtime || md.len() != state.size,
            Err(_) => false,
        };
        if changed {
            if let Ok(fresh) = read_token_file(&self.path) {
                *state = fresh;
            }
        }
        state.token.clone()
    }
}

fn read_token_file(path: &Path) -> Result<TokenState, ConfigError> {
    let io_err = |source| ConfigError::Io {
        what: "token file",
        path: path.to_path_buf(),
        source,
    };
    // Metadata first: if the file is replaced between the two calls we re-read next time.
    let md = std::fs::metadata(path).map_err(io_err)?;
    let raw = std::fs::read_to_string(path).map_err(io_err)?;
    let token = raw.trim().to_string();
    if token.is_empty() {
        return Err(ConfigError::EmptyToken {
            path: path.to_path_buf(),
        });
    }
    Ok(TokenState {
        token,
        mtime: md.modified().ok(),
        size: md.len(),
        checked_at: Instant::now(),
    })
}

/// Why the API-server configuration could not be loaded. Each variant names the file,
/// context, cluster, user or key involved, because the reader is an operator looking at a
/// crash-looping pod.
#[derive(Debug)]
pub enum ConfigError {
    /// A file could not be read. `what` says which role the file plays.
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A kubeconfig is not valid YAML or has a wrongly typed known key.
    Yaml {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    /// Neither `--context` nor `current-context` selects a context.
    NoCurrentContext {
        kubeconfig: String,
        available: Vec<String>,
    },
    ContextNotFound {
        context: String,
        kubeconfig: String,
        available: Vec<String>,
    },
    /// The context has no `cluster` key.
    ContextWithoutCluster {
        context: String,
        kubeconfig: String,
    },
    ClusterNotFound {
        cluster: String,
        context: String,
        kubeconfig: String,
    },
    UserNotFound {
        user: String,
        context: String,
        kubeconfig: String,
    },
    MissingServer {
        cluster: String,
        kubeconfig: String,
    },
    /// The server URL (from a kubeconfig, the pod environment or `--apiserver`) is unusable.
    InvalidServer {
        server: String,
        origin: String,
        reason: &'static str,
    },
    /// A `*-data` key is not valid base64.
    Base64 {
        field: String,
        kubeconfig: PathBuf,
        error: Base64Error,
    },
    /// The user authenticates with a mechanism kubestate does not implement.
    Unsupported {
        user: String,
        mechanism: &'static str,
        kubeconfig: String,
    },
    /// A client certificate without its key, or a key without its certificate.
    IncompleteClientCert {
        user: String,
        missing: &'static str,
        kubeconfig: String,
    },
    /// Username/password together with a bearer token (client-go refuses this as well).
    ConflictingAuth {
        user: String,
        kubeconfig: String,
    },
    /// client-go refuses a CA together with `insecure-skip-tls-verify`; so do we.
    InsecureWithCa {
        cluster: String,
        kubeconfig: String,
    },
    EmptyToken {
        path: PathBuf,
    },
    /// No kubeconfig, not in a pod and no `--apiserver`.
    NoConfiguration {
        tried: String,
    },
    /// The CA certificates are not usable PEM X.509 certificates.
    InvalidCa {
        source: String,
        detail: String,
    },
    /// The client certificate/key pair is unusable (bad PEM, unsupported key, mismatch).
    InvalidClientCert {
        source: String,
        detail: String,
    },
    /// `tls-server-name` is neither a DNS name nor an IP address.
    InvalidTlsServerName {
        name: String,
        source: String,
        reason: String,
    },
    /// No CA configured and no system bundle to fall back to.
    NoRootCertificates {
        source: String,
        bundle: PathBuf,
    },
    /// The `exec` stanza of a user is unusable (bad apiVersion, no command, ...).
    InvalidExec {
        user: String,
        kubeconfig: String,
        reason: String,
    },
    /// Running the exec credential plugin did not produce a credential.
    ExecFailed {
        user: String,
        command: String,
        reason: ExecFailure,
    },
    /// A proxy URL (`proxy-url` or `HTTPS_PROXY`/`HTTP_PROXY`) is unusable.
    InvalidProxy {
        /// With credentials removed.
        proxy: String,
        origin: String,
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigError::*;
        match self {
            Io { what, path, source } => {
                write!(f, "cannot read {what} {}: {source}", path.display())
            }
            Yaml { path, source } => write!(
                f,
                "kubeconfig {} is not a valid kubeconfig: {source}",
                path.display()
            ),
            NoCurrentContext {
                kubeconfig,
                available,
            } => write!(
                f,
                "{kubeconfig} has no current-context and no --context was given; \
                 available contexts: {}",
                list(available)
            ),
            ContextNotFound {
                context,
                kubeconfig,
                available,
            } => write!(
                f,
                "context {context:?} not found in {kubeconfig}; available contexts: {}",
                list(available)
            ),
            ContextWithoutCluster {
                context,
                kubeconfig,
            } => write!(
                f,
                "context {context:?} in {kubeconfig} has no `cluster` key"
            ),
            ClusterNotFound {
                cluster,
                context,
                kubeconfig,
            } => write!(
                f,
                "cluster {cluster:?} (used by context {context:?}) not found in {kubeconfig}"
            ),
            UserNotFound {
                user,
                context,
                kubeconfig,
            } => write!(
                f,
                "user {user:?} (used by context {context:?}) not found in {kubeconfig}"
            ),
            MissingServer {
                cluster,
                kubeconfig,
            } => write!(
                f,
                "cluster {cluster:?} in {kubeconfig} has no `server` (and no --apiserver was given)"
            ),
            InvalidServer {
                server,
                origin,
                reason,
            } => write!(
                f,
                "API server URL {server:?} from {origin} is invalid: {reason}"
            ),
            Base64 {
                field,
                kubeconfig,
                error,
            } => write!(
                f,
                "{field} in kubeconfig {} is not valid base64: {error}",
                kubeconfig.display()
            ),
            Unsupported {
                user,
                mechanism,
                kubeconfig,
            } => write!(
                f,
                "user {user:?} in {kubeconfig} authenticates with `{mechanism}`, which kubestate \
                 does not support yet; use a context whose user has a token, tokenFile or \
                 client certificate, or run in-cluster with a service account"
            ),
            IncompleteClientCert {
                user,
                missing,
                kubeconfig,
            } => write!(
                f,
                "user {user:?} in {kubeconfig} has a client certificate or key but no {missing}"
            ),
            InsecureWithCa {
                cluster,
                kubeconfig,
            } => write!(
                f,
                "cluster {cluster:?} in {kubeconfig} sets both a certificate authority and \
                 insecure-skip-tls-verify; remove one of them"
            ),
            ConflictingAuth { user, kubeconfig } => write!(
                f,
                "user {user:?} in {kubeconfig} sets both username/password and a token; \
                 keep only one"
            ),
            EmptyToken { path } => write!(f, "token file {} is empty", path.display()),
            NoConfiguration { tried } => write!(
                f,
                "don't know which API server to use: {tried}; pass --kubeconfig or --apiserver, \
                 or run in a pod with a service account"
            ),
            InvalidCa { source, detail } => {
                write!(f, "CA certificate from {source} is unusable: {detail}")
            }
            InvalidClientCert { source, detail } => write!(
                f,
                "client certificate/key from {source} is unusable: {detail}"
            ),
            InvalidTlsServerName {
                name,
                source,
                reason,
            } => write!(
                f,
                "tls-server-name {name:?} from {source} is not a DNS name or IP address: \
                 {reason}"
            ),
            NoRootCertificates { source, bundle } => write!(
                f,
                "{source} configures no certificate authority and the system bundle {} \
                 is missing or empty; set certificate-authority(-data) in the kubeconfig",
                bundle.display()
            ),
            InvalidExec {
                user,
                kubeconfig,
                reason,
            } => write!(
                f,
                "exec credential plugin of user {user:?} in {kubeconfig}: {reason}"
            ),
            ExecFailed {
                user,
                command,
                reason,
            } => write!(
                f,
                "exec credential plugin {command:?} of user {user:?}: {reason}"
            ),
            InvalidProxy {
                proxy,
                origin,
                reason,
            } => write!(f, "proxy {proxy:?} from {origin} is unusable: {reason}"),
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            ConfigError::Yaml { source, .. } => Some(source),
            ConfigError::Base64 { error, .. } => Some(error),
            ConfigError::ExecFailed {
                reason: ExecFailure::Spawn(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

impl ClusterConfig {
    /// Loads the configuration from the process environment (see the module docs).
    pub fn load(opts: &ConfigOptions) -> Result<ClusterConfig, ConfigError> {
        load_with(opts, &Environment::from_process())
    }

    /// The kubeconfig files [`ClusterConfig::load`] reads for `opts` (none in-cluster), so a
    /// change to them can be noticed.
    pub fn files(opts: &ConfigOptions) -> Vec<PathBuf> {
        kubeconfig_files(opts, &Environment::from_process())
    }

    /// Value for the Authorization header, if any. A token file is re-read when its mtime
    /// or size changes (service-account tokens rotate), checked at most once per second.
    pub fn authorization(&self) -> Result<Option<String>, ConfigError> {
        Ok(match &self.auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::TokenFile(file) => Some(format!("Bearer {}", file.token())),
            Auth::Basic { username, password } => Some(format!(
                "Basic {}",
                base64_encode(format!("{username}:{password}").as_bytes())
            )),
            Auth::Exec(exec) => exec
                .credential()?
                .token
                .as_ref()
                .map(|t| format!("Bearer {t}")),
        })
    }
}

/// The parts of the process environment loading depends on, injectable for tests (which
/// must not mutate process-wide environment variables while running in parallel).
#[derive(Debug, Clone)]
struct Environment {
    /// `$KUBECONFIG`.
    kubeconfig: Option<String>,
    /// `$HOME`, for `~/.kube/config`.
    home: Option<PathBuf>,
    service_host: Option<String>,
    service_port: Option<String>,
    /// Directory holding the service-account `token` and `ca.crt`.
    service_account_dir: PathBuf,
    /// `$HTTPS_PROXY` (or `$https_proxy`), used for https servers.
    https_proxy: Option<String>,
    /// `$HTTP_PROXY` (or `$http_proxy`), used for plain-http servers.
    http_proxy: Option<String>,
    /// `$NO_PROXY` (or `$no_proxy`).
    no_proxy: Option<String>,
}

impl Environment {
    fn from_process() -> Environment {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Environment {
            kubeconfig: var("KUBECONFIG"),
            home: var("HOME").map(PathBuf::from),
            service_host: var("KUBERNETES_SERVICE_HOST"),
            service_port: var("KUBERNETES_SERVICE_PORT"),
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            // Upper case first, as Go's net/http does; ALL_PROXY is not used by client-go.
            https_proxy: var("HTTPS_PROXY").or_else(|| var("https_proxy")),
            http_proxy: var("HTTP_PROXY").or_else(|| var("http_proxy")),
            no_proxy: var("NO_PROXY").or_else(|| var("no_proxy")),
        }
    }
}

fn load_with(opts: &ConfigOptions, env: &Environment) -> Result<ClusterConfig, ConfigError> {
    let mut cfg = load_without_proxy(opts, env)?;
    if cfg.proxy.is_none() {
        cfg.proxy = proxy_from_env(&cfg.server, env)?;
    }
    Ok(cfg)
}

fn load_without_proxy(
    opts: &ConfigOptions,
    env: &Environment,
) -> Result<ClusterConfig, ConfigError> {
    let files = kubeconfig_files(opts, env);
    if !files.is_empty() {
        let merged = Merged::load(&files)?;
        return merged.resolve(opts);
    }
    if let (Some(host), Some(port)) = (&env.service_host, &env.service_port) {
        // Like client-go, a pod without a mounted token is "not in-cluster" when an
        // --apiserver is given; without one, the missing token is the error worth reporting.
        let token_present = env.service_account_dir.join("token").exists();
        if opts.apiserver.is_some() && !token_present {
            return bare_apiserver(opts);
        }
        let mut cfg = in_cluster(host, port, &env.service_account_dir)?;
        if let Some(apiserver) = &opts.apiserver {
            cfg.server = normalize_server(apiserver, "--apiserver")?;
        }
        return Ok(cfg);
    }
    if opts.apiserver.is_some() {
        return bare_apiserver(opts);
    }
    let kubeconfig = match &env.kubeconfig {
        Some(list) => format!("no file in $KUBECONFIG ({list}) exists"),
        None => "no --kubeconfig, $KUBECONFIG unset, no ~/.kube/config".to_string(),
    };
    Err(ConfigError::NoConfiguration {
        tried: format!("{kubeconfig}, KUBERNETES_SERVICE_HOST/PORT unset, no --apiserver"),
    })
}

/// `--apiserver` alone: no kubeconfig and no pod credentials (e.g. `kubectl proxy`).
fn bare_apiserver(opts: &ConfigOptions) -> Result<ClusterConfig, ConfigError> {
    Ok(ClusterConfig {
        server: normalize_server(opts.apiserver.as_deref().unwrap_or_default(), "--apiserver")?,
        tls: TlsSettings::default(),
        auth: Auth::None,
        source: "--apiserver without credentials".to_string(),
        cluster_name: None,
        proxy: None,
    })
}

/// The kubeconfig files to merge, in precedence order. An explicit `--kubeconfig` is
/// returned even if missing (reading it then fails loudly); `$KUBECONFIG` entries that do not
/// exist are skipped like client-go does.
fn kubeconfig_files(opts: &ConfigOptions, env: &Environment) -> Vec<PathBuf> {
    if let Some(path) = &opts.kubeconfig {
        return vec![path.clone()];
    }
    if let Some(list) = &env.kubeconfig {
        let mut files: Vec<PathBuf> = Vec::new();
        for entry in list.split(':').filter(|e| !e.is_empty()) {
            let path = PathBuf::from(entry);
            if path.exists() && !files.contains(&path) {
                files.push(path);
            }
        }
        return files;
    }
    if let Some(home) = &env.home {
        let path = home.join(".kube").join("config");
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

fn in_cluster(host: &str, port: &str, dir: &Path) -> Result<ClusterConfig, ConfigError> {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let server = normalize_server(
        &format!("https://{host}:{port}"),
        "KUBERNETES_SERVICE_HOST/PORT",
    )?;
    let token = TokenFile::new(dir.join("token"))?;
    let ca_path = dir.join("ca.crt");
    let ca = std::fs::read(&ca_path).map_err(|source| ConfigError::Io {
        what: "service-account CA",
        path: ca_path.clone(),
        source,
    })?;
    Ok(ClusterConfig {
        server,
        tls: TlsSettings {
            ca_pem: Some(ca),
            ..TlsSettings::default()
        },
        auth: Auth::TokenFile(token),
        source: "in-cluster service account".to_string(),
        cluster_name: None,
        proxy: None,
    })
}

/// Accepts `https://host:port[/prefix]`, `http://…`, or a bare `host:port` (https, like
/// client-go); strips trailing slashes so callers can append `/api/v1/...`.
fn normalize_server(raw: &str, origin: &str) -> Result<String, ConfigError> {
    let invalid = |reason| ConfigError::InvalidServer {
        server: raw.to_string(),
        origin: origin.to_string(),
        reason,
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    let url = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        rest
    } else {
        return Err(invalid("the scheme must be https:// or http://"));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid("it has no host"));
    }
    if rest.contains('?') || rest.contains('#') {
        return Err(invalid("it must not contain a query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

// ---------------------------------------------------------------------------------------
// proxies

/// Checks that ureq can use the proxy URL, so a typo fails at startup.
fn validate_proxy(choice: ProxyChoice) -> Result<ProxyChoice, ConfigError> {
    let url = if choice.url.contains("://") {
        choice.url.clone()
    } else {
        // Go's net/http assumes http:// for a bare host:port.
        format!("http://{}", choice.url)
    };
    let invalid = |reason: String| ConfigError::InvalidProxy {
        proxy: ProxyChoice {
            url: url.clone(),
            origin: String::new(),
        }
        .redacted(),
        origin: choice.origin.clone(),
        reason,
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(invalid(
            "only http:// and https:// proxies are supported (no SOCKS)".to_string(),
        ));
    }
    ureq::Proxy::new(&url).map_err(|e| invalid(e.to_string()))?;
    Ok(ProxyChoice {
        url,
        origin: choice.origin,
    })
}

/// The proxy from the environment for `server`, following Go's `ProxyFromEnvironment`
/// (what client-go uses): `HTTPS_PROXY` for https servers, `HTTP_PROXY` for http ones,
/// never for `localhost` or loopback addresses, and not when `NO_PROXY` matches.
fn proxy_from_env(server: &str, env: &Environment) -> Result<Option<ProxyChoice>, ConfigError> {
    let (var, origin) = if server.starts_with("https://") {
        (&env.https_proxy, "HTTPS_PROXY")
    } else {
        (&env.http_proxy, "HTTP_PROXY")
    };
    let Some(url) = var.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let (host, port) = server_host_port(server);
    if host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    {
        return Ok(None);
    }
    if let Some(no_proxy) = &env.no_proxy {
        if no_proxy_matches(no_proxy, &host, port) {
            return Ok(None);
        }
    }
    validate_proxy(ProxyChoice {
        url: url.to_string(),
        origin: origin.to_string(),
    })
    .map(Some)
}

/// Host (lower case, IPv6 without brackets) and port of a normalized server URL.
fn server_host_port(server: &str) -> (String, u16) {
    let (rest, default_port) = match server.split_once("://") {
        Some(("http", rest)) => (rest, 80),
        Some((_, rest)) => (rest, 443),
        None => (server, 443),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (v6, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = port.and_then(|p| p.parse().ok()).unwrap_or(default_port);
    (host.to_ascii_lowercase(), port)
}

/// Go's `NO_PROXY` rules: comma-separated; `*` matches everything; an IP or CIDR matches
/// IP hosts; `name` matches the name and its subdomains, `.name` (or `*.name`) only
/// subdomains; an entry with `:port` matches only that port.
pub(crate) fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host.parse::<std::net::IpAddr>().ok();
    for entry in list.split(',') {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return true;
        }
        if let Some((net, bits)) = entry.split_once('/') {
            if let (Some(ip), Ok(net), Ok(bits)) = (host_ip, net.parse(), bits.parse::<u8>()) {
                if cidr_contains(net, bits, ip) {
                    return true;
                }
            }
            continue;
        }
        if let Ok(ip) = entry
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
        {
            if host_ip == Some(ip) {
                return true;
            }
            continue;
        }
        // `[v6]:port` or `name:port`.
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => (
                n.trim_matches(|c| c == '[' || c == ']'),
                p.parse::<u16>().ok(),
            ),
            _ => (entry.as_str(), None),
        };
        if entry_port.is_some_and(|p| p != port) {
            continue;
        }
        if let Ok(ip) = name.parse::<std::net::IpAddr>() {
            if host_ip == Some(ip) {
                return true;
            }
            continue;
        }
        let name = name.strip_prefix('*').unwrap_or(name).trim_end_matches('.');
        let matched = if let Some(suffix) = name.strip_prefix('.') {
            host.ends_with(&format!(".{suffix}"))
        } else {
            host == name || host.ends_with(&format!(".{name}"))
        };
        if matched {
            return true;
        }
    }
    false
}

fn cidr_contains(net: std::net::IpAddr, bits: u8, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// kubeconfig files

#[derive(Debug, Default, Deserialize)]
struct RawKubeconfig {
    #[serde(default, rename = "current-context")]
    current_context: Option<String>,
    #[serde(default)]
    clusters: Option<Vec<NamedCluster>>,
    #[serde(default)]
    users: Option<Vec<NamedUser>>,
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
}

#[derive(Debug, Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default)]
    cluster: Option<RawCluster>,
}

#[derive(Debug, Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: Option<RawUser>,
}

#[derive(Debug, Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: Option<RawContext>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawCluster {
    #[serde(default)]
    server: Option<String>,
    #[serde(default, rename = "certificate-authority")]
    certificate_authority: Option<String>,
    #[serde(default, rename = "certificate-authority-data")]
    certificate_authority_data: Option<String>,
    #[serde(default, rename = "insecure-skip-tls-verify")]
    insecure_skip_tls_verify: Option<bool>,
    #[serde(default, rename = "tls-server-name")]
    tls_server_name: Option<String>,
    #[serde(default, rename = "proxy-url")]
    proxy_url: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawUser {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "tokenFile")]
    token_file: Option<String>,
    #[serde(default, rename = "client-certificate")]
    client_certificate: Option<String>,
    #[serde(default, rename = "client-key")]
    client_key: Option<String>,
    #[serde(default, rename = "client-certificate-data")]
    client_certificate_data: Option<String>,
    #[serde(default, rename = "client-key-data")]
    client_key_data: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    exec: Option<ExecConfig>,
    #[serde(default, rename = "auth-provider")]
    auth_provider: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawContext {
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

/// An entry plus the file that defined it: relative paths resolve against that file's
/// directory, and errors name it.
#[derive(Debug)]
struct Sourced<T> {
    file: PathBuf,
    value: T,
}

impl<T> Sourced<T> {
    fn dir(&self) -> PathBuf {
        match self.file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir().join(p)
        }
    }
}

/// Several kubeconfig files merged with client-go's first-wins rule.
#[derive(Debug, Default)]
struct Merged {
    files: Vec<PathBuf>,
    current_context: Option<String>,
    clusters: HashMap<String, Sourced<RawCluster>>,
    users: HashMap<String, Sourced<RawUser>>,
    contexts: HashMap<String, Sourced<RawContext>>,
}

impl Merged {
    fn load(files: &[PathBuf]) -> Result<Merged, ConfigError> {
        let mut merged = Merged {
            files: files.to_vec(),
            ..Merged::default()
        };
        for file in files {
            let raw = parse_kubeconfig(file)?;
            if merged.current_context.is_none() {
                merged.current_context = raw.current_context.filter(|c| !c.is_empty());
            }
            for c in raw.clusters.unwrap_or_default() {
                merged.clusters.entry(c.name).or_insert_with(|| Sourced {
                    file: file.clone(),
                    value: c.cluster.unwrap_or_default(),
                });
            }
            for u in raw.users.unwrap_or_default() {
                merged.users.entry(u.name).or_insert_with(|| Sourced {
                    file: file.clone(),
                    value: u.user.unwrap_or_default(),
                });
            }
            for c in raw.contexts.unwrap_or_default() {
                merged.contexts.entry(c.name).or_insert_with(|| Sourced {
                    file: file.clone(),
                    value: c.context.unwrap_or_default(),
                });
            }
        }
        Ok(merged)
    }

    /// The file list as shown to people: `kubeconfig /a` or `kubeconfig /a:/b`.
    fn describe(&self) -> String {
        let paths: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        format!("kubeconfig {}", paths.join(":"))
    }

    fn context_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.contexts.keys().cloned().collect();
        names.sort();
        names
    }

    fn resolve(&self, opts: &ConfigOptions) -> Result<ClusterConfig, ConfigError> {
        let kubeconfig = self.describe();
        let context_name = match opts
            .context
            .as_ref()
            .filter(|c| !c.is_empty())
            .or(self.current_context.as_ref())
        {
            Some(c) => c.clone(),
            None => {
                return Err(ConfigError::NoCurrentContext {
                    kubeconfig,
                    available: self.context_names(),
                })
            }
        };
        let context =
            self.contexts
                .get(&context_name)
                .ok_or_else(|| ConfigError::ContextNotFound {
                    context: context_name.clone(),
                    kubeconfig: kubeconfig.clone(),
                    available: self.context_names(),
                })?;
        let cluster_name = context
            .value
            .cluster
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ConfigError::ContextWithoutCluster {
                context: context_name.clone(),
                kubeconfig: kubeconfig.clone(),
            })?;
        let cluster =
            self.clusters
                .get(&cluster_name)
                .ok_or_else(|| ConfigError::ClusterNotFound {
                    cluster: cluster_name.clone(),
                    context: context_name.clone(),
                    kubeconfig: kubeconfig.clone(),
                })?;
        // A context without a user is legal (anonymous access), as in client-go.
        let user = match context.value.user.as_ref().filter(|u| !u.is_empty()) {
            Some(name) => Some((
                name.clone(),
                self.users
                    .get(name)
                    .ok_or_else(|| ConfigError::UserNotFound {
                        user: name.clone(),
                        context: context_name.clone(),
                        kubeconfig: kubeconfig.clone(),
                    })?,
            )),
            None => None,
        };

        let server = match (&opts.apiserver, &cluster.value.server) {
            (Some(apiserver), _) => normalize_server(apiserver, "--apiserver")?,
            (None, Some(server)) if !server.trim().is_empty() => {
                normalize_server(server, &format!("cluster {cluster_name:?} in {kubeconfig}"))?
            }
            (None, _) => {
                return Err(ConfigError::MissingServer {
                    cluster: cluster_name,
                    kubeconfig,
                })
            }
        };

        let ca_pem = file_or_data(
            cluster,
            cluster.value.certificate_authority.as_deref(),
            cluster.value.certificate_authority_data.as_deref(),
            "certificate-authority",
            &format!("clusters[{cluster_name:?}].cluster"),
        )?;
        let insecure_skip_verify = cluster.value.insecure_skip_tls_verify.unwrap_or(false);
        if insecure_skip_verify && ca_pem.is_some() {
            return Err(ConfigError::InsecureWithCa {
                cluster: cluster_name,
                kubeconfig,
            });
        }
        let server_name = cluster
            .value
            .tls_server_name
            .clone()
            .filter(|n| !n.trim().is_empty());
        let proxy = match cluster.value.proxy_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Some(validate_proxy(ProxyChoice {
                url: url.to_string(),
                origin: format!("proxy-url of cluster {cluster_name:?} in {kubeconfig}"),
            })?),
            _ => None,
        };
        let mut tls = TlsSettings {
            ca_pem,
            client_cert_pem: None,
            client_key_pem: None,
            insecure_skip_verify,
            server_name,
            client_cert_files: None,
        };

        let auth = match user {
            None => Auth::None,
            Some((name, user)) => {
                let u = &user.value;
                let field = format!("users[{name:?}].user");
                if u.auth_provider.is_some() {
                    return Err(ConfigError::Unsupported {
                        user: name,
                        mechanism: "auth-provider",
                        kubeconfig,
                    });
                }
                tls.client_cert_pem = file_or_data(
                    user,
                    u.client_certificate.as_deref(),
                    u.client_certificate_data.as_deref(),
                    "client-certificate",
                    &field,
                )?;
                tls.client_key_pem = file_or_data(
                    user,
                    u.client_key.as_deref(),
                    u.client_key_data.as_deref(),
                    "client-key",
                    &field,
                )?;
                match (&tls.client_cert_pem, &tls.client_key_pem) {
                    (Some(_), None) => {
                        return Err(ConfigError::IncompleteClientCert {
                            user: name,
                            missing: "client-key",
                            kubeconfig,
                        })
                    }
                    (None, Some(_)) => {
                        return Err(ConfigError::IncompleteClientCert {
                            user: name,
                            missing: "client-certificate",
                            kubeconfig,
                        })
                    }
                    _ => {}
                }
                let no_data = |d: &Option<String>| d.as_deref().is_none_or(|d| d.trim().is_empty());
                if let (Some(cert), Some(key), true, true) = (
                    u.client_certificate.as_deref().filter(|p| !p.is_empty()),
                    u.client_key.as_deref().filter(|p| !p.is_empty()),
                    no_data(&u.client_certificate_data),
                    no_data(&u.client_key_data),
                ) {
                    tls.client_cert_files = Some(ClientCertFiles {
                        cert: user.resolve(cert),
                        key: user.resolve(key),
                    });
                }
                let token = u.token.as_ref().filter(|t| !t.is_empty());
                let token_file = u.token_file.as_ref().filter(|t| !t.is_empty());
                let username = u.username.as_ref().filter(|u| !u.is_empty());
                if username.is_some() && (token.is_some() || token_file.is_some()) {
                    // client-go's transport refuses this combination too.
                    return Err(ConfigError::ConflictingAuth {
                        user: name,
                        kubeconfig,
                    });
                }
                if let Some(exec) = &u.exec {
                    if token.is_some() || token_file.is_some() || username.is_some() {
                        // client-go would silently let the static credential win; with
                        // two sources of truth an operator cannot tell which one is used.
                        return Err(ConfigError::InvalidExec {
                            user: name,
                            kubeconfig,
                            reason: "it is combined with token/tokenFile/username; keep only \
                                     one way to authenticate"
                                .to_string(),
                        });
                    }
                    let info = ClusterInfo {
                        server: server.clone(),
                        tls_server_name: tls.server_name.clone(),
                        insecure_skip_tls_verify: tls.insecure_skip_verify,
                        ca_pem: tls.ca_pem.clone(),
                        proxy_url: proxy.as_ref().map(|p| p.url.clone()),
                    };
                    Auth::Exec(ExecAuth::new(&name, exec, &user.dir(), &kubeconfig, info)?)
                } else if let Some(path) = token_file {
                    // As in client-go, a readable tokenFile wins over a literal token (the
                    // file is the one kept fresh); the literal token is the fallback.
                    match (TokenFile::new(user.resolve(path)), token) {
                        (Ok(file), _) => Auth::TokenFile(file),
                        (Err(_), Some(token)) => Auth::Bearer(token.clone()),
                        (Err(e), None) => return Err(e),
                    }
                } else if let Some(token) = token {
                    Auth::Bearer(token.clone())
                } else if let Some(username) = username {
                    Auth::Basic {
                        username: username.clone(),
                        password: u.password.clone().unwrap_or_default(),
                    }
                } else {
                    Auth::None
                }
            }
        };

        Ok(ClusterConfig {
            server,
            tls,
            auth,
            source: format!("{kubeconfig} (context {context_name})"),
            cluster_name: Some(cluster_name),
            proxy,
        })
    }
}

fn parse_kubeconfig(path: &Path) -> Result<RawKubeconfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        what: "kubeconfig",
        path: path.to_path_buf(),
        source,
    })?;
    // An empty file is an empty config to client-go, not an error.
    if text.trim().is_empty() {
        return Ok(RawKubeconfig::default());
    }
    let raw: Option<RawKubeconfig> =
        serde_yaml_ng::from_str(&text).map_err(|source| ConfigError::Yaml {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(raw.unwrap_or_default())
}

/// Reads `<key>-data` (base64, wins like in client-go) or the file named by `<key>`.
fn file_or_data<T>(
    owner: &Sourced<T>,
    path: Option<&str>,
    data: Option<&str>,
    key: &'static str,
    field_prefix: &str,
) -> Result<Option<Vec<u8>>, ConfigError> {
    if let Some(data) = data.filter(|d| !d.trim().is_empty()) {
        return base64_decode(data)
            .map(Some)
            .map_err(|error| ConfigError::Base64 {
                field: format!("{field_prefix}.{key}-data"),
                kubeconfig: owner.file.clone(),
                error,
            });
    }
    match path.filter(|p| !p.is_empty()) {
        Some(p) => {
            let resolved = owner.resolve(p);
            std::fs::read(&resolved)
                .map(Some)
                .map_err(|source| ConfigError::Io {
                    what: key,
                    path: resolved,
                    source,
                })
        }
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------
// base64 (standard alphabet, padded), to avoid a direct dependency for a few lines of code

const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why a base64 value was rejected; positions count non-whitespace characters from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base64Error {
    InvalidCharacter {
        ch: char,
        position: usize,
    },
    /// The length (whitespace removed) is not a multiple of 4.
    BadLength(usize),
    /// `=` somewhere other than the last one or two characters.
    BadPadding {
        position: usize,
    },
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::InvalidCharacter { ch, position } => {
                write!(f, "invalid character {ch:?} at position {position}")
            }
            Base64Error::BadLength(n) => write!(
                f,
                "length {n} is not a multiple of 4 (truncated or missing padding?)"
            ),
            Base64Error::BadPadding { position } => {
                write!(f, "misplaced padding '=' at position {position}")
            }
        }
    }
}

impl std::error::Error for Base64Error {}

fn base64_decode(input: &str) -> Result<Vec<u8>, Base64Error> {
    let chars: Vec<char> = input.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() % 4 != 0 {
        return Err(Base64Error::BadLength(chars.len()));
    }
    let pad = chars.iter().rev().take_while(|&&c| c == '=').count();
    if pad > 2 {
        return Err(Base64Error::BadPadding {
            position: chars.len() - pad,
        });
    }
    let body = &chars[..chars.len() - pad];
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for (position, &ch) in body.iter().enumerate() {
        let v = match ch {
            'A'..='Z' => u32::from(ch) - u32::from('A'),
            'a'..='z' => u32::from(ch) - u32::from('a') + 26,
            '0'..='9' => u32::from(ch) - u32::from('0') + 52,
            '+' => 62,
            '/' => 63,
            '=' => return Err(Base64Error::BadPadding { position }),
            _ => return Err(Base64Error::InvalidCharacter { ch, position }),
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

pub(crate) fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    B64_ALPHABET[((n >> (18 - 6 * i)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory removed on drop (no tempfile crate in the dependency tree).
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "kubestate-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        pub(crate) fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn no_env() -> Environment {
        Environment {
            kubeconfig: None,
            home: None,
            service_host: None,
            service_port: None,
            service_account_dir: PathBuf::from("/nonexistent/kubestate-test"),
            https_proxy: None,
            http_proxy: None,
            no_proxy: None,
        }
    }

    fn explicit(path: &Path) -> ConfigOptions {
        ConfigOptions {
            kubeconfig: Some(path.to_path_buf()),
            ..ConfigOptions::default()
        }
    }

    fn auth_header(cfg: &ClusterConfig) -> Option<String> {
        cfg.authorization().unwrap()
    }

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: dev
preferences: {}
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443/
    insecure-skip-tls-verify: true
    some-future-key: ignored
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: default}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
users:
- name: dev-user
  user: {token: dev-token}
- name: prod-user
  user: {username: user, password: pass}
"#;

    #[test]
    fn current_context_selects_cluster_and_user() {
        let dir = TempDir::new("kc");
        let kc = dir.write("config", TWO_CONTEXTS);
        let cfg = load_with(&explicit(&kc), &no_env()).unwrap();
        assert_eq!(cfg.server, "https://dev.example:6443");
        assert!(cfg.tls.insecure_skip_verify);
        assert!(cfg.tls.ca_pem.is_none());
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer dev-token"));
        assert_eq!(
            cfg.source,
            format!("kubeconfig {} (context dev)", kc.display())
        );
    }

    #[test]
    fn context_option_overrides_current_context() {
        let dir = TempDir::new("kc");
        let kc = dir.write("config", TWO_CONTEXTS);
        let opts = ConfigOptions {
            context: Some("prod".to_string()),
            ..explicit(&kc)
        };
        let cfg = load_with(&opts, &no_env()).unwrap();
        assert_eq!(cfg.server, "https://prod.example:6443");
        assert!(!cfg.tls.insecure_skip_verify);
        // base64("user:pass")
        assert_eq!(auth_header(&cfg).as_deref(), Some("Basic dXNlcjpwYXNz"));
        assert!(cfg.source.ends_with("(context prod)"));
    }

    #[test]
    fn apiserver_option_overrides_kubeconfig_server() {
        let dir = TempDir::new("kc");
        let kc = dir.write("config", TWO_CONTEXTS);
        let opts = ConfigOptions {
            apiserver: Some("https://10.1.2.3:8443/".to_string()),
            ..explicit(&kc)
        };
        let cfg = load_with(&opts, &no_env()).unwrap();
        assert_eq!(cfg.server, "https://10.1.2.3:8443");
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer dev-token"));
    }

    #[test]
    fn relative_paths_resolve_against_kubeconfig_dir() {
        let dir = TempDir::new("kc");
        dir.write("pki/ca.crt", "CA PEM");
        dir.write("pki/client.crt", "CERT PEM");
        dir.write("pki/client.key", "KEY PEM");
        dir.write("pki/token", "  file-token\n");
        let kc = dir.write(
            "kubeconfig",
            r#"
current-context: c
clusters:
- name: k
  cluster: {server: "https://k:6443", certificate-authority: pki/ca.crt}
users:
- name: u
  user:
    client-certificate: pki/client.crt
    client-key: pki/client.key
    tokenFile: pki/token
contexts:
- name: c
  context: {cluster: k, user: u}
"#,
        );
        let cfg = load_with(&explicit(&kc), &no_env()).unwrap();
        assert_eq!(cfg.tls.ca_pem.as_deref(), Some(&b"CA PEM"[..]));
        assert_eq!(cfg.tls.client_cert_pem.as_deref(), Some(&b"CERT PEM"[..]));
        assert_eq!(cfg.tls.client_key_pem.as_deref(), Some(&b"KEY PEM"[..]));
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer file-token"));
        match &cfg.auth {
            Auth::TokenFile(t) => assert_eq!(t.path(), dir.0.join("pki/token")),
            other => panic!("expected a token file, got {other:?}"),
        }
    }

    #[test]
    fn missing_referenced_file_names_key_and_path() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
current-context: c
clusters: [{name: k, cluster: {server: "https://k", certificate-authority: nope/ca.crt}}]
contexts: [{name: c, context: {cluster: k}}]
"#,
        );
        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(
            err,
            ConfigError::Io {
                what: "certificate-authority",
                ..
            }
        ));
        assert!(
            msg.contains(&dir.0.join("nope/ca.crt").display().to_string()),
            "{msg}"
        );
    }

    #[test]
    fn data_fields_are_base64_decoded_and_win_over_paths() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            &format!(
                r#"
current-context: c
clusters:
- name: k
  cluster:
    server: https://k
    certificate-authority: does-not-exist.crt
    certificate-authority-data: "{}"
users:
- name: u
  user:
    client-certificate-data: |
      {}
    client-key-data: {}
contexts: [{{name: c, context: {{cluster: k, user: u}}}}]
"#,
                base64_encode(b"the CA"),
                base64_encode(b"the client certificate, long enough to wrap"),
                base64_encode(b"k"),
            ),
        );
        let cfg = load_with(&explicit(&kc), &no_env()).unwrap();
        assert_eq!(cfg.tls.ca_pem.as_deref(), Some(&b"the CA"[..]));
        assert_eq!(
            cfg.tls.client_cert_pem.as_deref(),
            Some(&b"the client certificate, long enough to wrap"[..])
        );
        assert_eq!(cfg.tls.client_key_pem.as_deref(), Some(&b"k"[..]));
        assert!(matches!(cfg.auth, Auth::None));
        assert_eq!(auth_header(&cfg), None);
    }

    #[test]
    fn bad_base64_names_the_field() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {client-certificate-data: "aGVsbG8*", client-key-data: "aGVsbG8="}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
"#,
        );
        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        match &err {
            ConfigError::Base64 { field, error, .. } => {
                assert_eq!(field, r#"users["u"].user.client-certificate-data"#);
                assert_eq!(
                    *error,
                    Base64Error::InvalidCharacter {
                        ch: '*',
                        position: 7
                    }
                );
            }
            other => panic!("expected Base64, got {other:?}"),
        }
        assert!(err.to_string().contains("client-certificate-data"));
    }

    #[test]
    fn kubeconfig_env_merges_first_definition_wins() {
        let dir = TempDir::new("kc");
        let first = dir.write(
            "a/config",
            r#"
clusters:
- name: shared
  cluster: {server: "https://from-first:6443"}
contexts:
- name: ctx
  context: {cluster: shared, user: u}
"#,
        );
        dir.write("b/token", "token-from-b-dir");
        let second = dir.write(
            "b/config",
            r#"
current-context: ctx
clusters:
- name: shared
  cluster: {server: "https://from-second:6443"}
contexts:
- name: ctx
  context: {cluster: other, user: other}
users:
- name: u
  user: {tokenFile: token}
"#,
        );
        let third = dir.write("c/config", "current-context: ignored-because-later\n");
        let missing = dir.0.join("missing/config");
        let env = Environment {
            kubeconfig: Some(format!(
                "{}::{}:{}:{}",
                first.display(),
                missing.display(),
                second.display(),
                third.display()
            )),
            ..no_env()
        };
        let cfg = load_with(&ConfigOptions::default(), &env).unwrap();
        assert_eq!(cfg.server, "https://from-first:6443");
        // The user comes from the second file, so its relative tokenFile resolves there.
        assert_eq!(
            auth_header(&cfg).as_deref(),
            Some("Bearer token-from-b-dir")
        );
        assert_eq!(
            cfg.source,
            format!(
                "kubeconfig {}:{}:{} (context ctx)",
                first.display(),
                second.display(),
                third.display()
            )
        );
    }

    #[test]
    fn home_kubeconfig_used_when_kubeconfig_env_unset() {
        let dir = TempDir::new("home");
        dir.write(".kube/config", TWO_CONTEXTS);
        let env = Environment {
            home: Some(dir.0.clone()),
            // In-cluster must lose against ~/.kube/config.
            service_host: Some("10.0.0.1".to_string()),
            service_port: Some("443".to_string()),
            ..no_env()
        };
        let cfg = load_with(&ConfigOptions::default(), &env).unwrap();
        assert_eq!(cfg.server, "https://dev.example:6443");
    }

    #[test]
    fn missing_context_cluster_user_are_named() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: no-cluster, context: {cluster: ghost-cluster, user: u}}
- {name: no-user, context: {cluster: k, user: ghost-user}}
- {name: empty, context: {}}
"#,
        );
        let with_ctx = |c: &str| ConfigOptions {
            context: Some(c.to_string()),
            ..explicit(&kc)
        };

        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        assert!(
            matches!(&err, ConfigError::NoCurrentContext { available, .. }
            if available == &["empty", "no-cluster", "no-user"])
        );

        let err = load_with(&with_ctx("ghost"), &no_env()).unwrap_err();
        assert!(matches!(&err, ConfigError::ContextNotFound { context, .. } if context == "ghost"));
        let msg = err.to_string();
        assert!(
            msg.contains("\"ghost\"") && msg.contains("no-cluster, no-user"),
            "{msg}"
        );

        let err = load_with(&with_ctx("no-cluster"), &no_env()).unwrap_err();
        assert!(
            matches!(&err, ConfigError::ClusterNotFound { cluster, context, .. }
            if cluster == "ghost-cluster" && context == "no-cluster")
        );
        assert!(err.to_string().contains(&kc.display().to_string()));

        let err = load_with(&with_ctx("no-user"), &no_env()).unwrap_err();
        assert!(matches!(&err, ConfigError::UserNotFound { user, .. } if user == "ghost-user"));
        assert!(err.to_string().contains("ghost-user"));

        let err = load_with(&with_ctx("empty"), &no_env()).unwrap_err();
        assert!(
            matches!(&err, ConfigError::ContextWithoutCluster { context, .. } if context == "empty")
        );
    }

    #[test]
    fn broken_yaml_reports_file_and_line() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            "current-context: c\nclusters:\n- name: k\n  cluster: {server: [unclosed\n",
        );
        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        assert!(matches!(err, ConfigError::Yaml { .. }));
        let msg = err.to_string();
        assert!(msg.contains(&kc.display().to_string()), "{msg}");
        assert!(msg.contains("line"), "{msg}");
    }

    #[test]
    fn wrongly_typed_key_is_an_error_with_line() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            "current-context: c\nclusters:\n- name: k\n  cluster:\n    insecure-skip-tls-verify: [1]\n",
        );
        let msg = load_with(&explicit(&kc), &no_env())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 5"), "{msg}");
    }

    #[test]
    fn auth_provider_is_unsupported_and_exec_is_loaded() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters: [{name: k, cluster: {server: "https://k", tls-server-name: api.internal}}]
users:
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: bin/aws
      args: [eks, get-token]
      env: [{name: AWS_PROFILE, value: prod}]
      installHint: install the aws CLI
- name: gcp
  user:
    auth-provider: {name: gcp}
- name: both
  user:
    token: t
    exec: {apiVersion: client.authentication.k8s.io/v1, command: x}
- name: old
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}
contexts:
- {name: e, context: {cluster: k, user: eks}}
- {name: g, context: {cluster: k, user: gcp}}
- {name: both, context: {cluster: k, user: both}}
- {name: old, context: {cluster: k, user: old}}
"#,
        );
        let load = |ctx: &str| {
            let opts = ConfigOptions {
                context: Some(ctx.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, &no_env())
        };
        let err = load("g").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Unsupported { user, mechanism: "auth-provider", .. }
                if user == "gcp"),
            "{err:?}"
        );
        let cfg = load("e").unwrap();
        assert_eq!(cfg.tls.server_name.as_deref(), Some("api.internal"));
        match &cfg.auth {
            Auth::Exec(e) => {
                assert_eq!(e.user(), "eks");
                assert_eq!(e.command(), dir.0.join("bin/aws").display().to_string());
            }
            other => panic!("expected exec, got {other:?}"),
        }
        for ctx in ["both", "old"] {
            let err = load(ctx).unwrap_err();
            assert!(
                matches!(&err, ConfigError::InvalidExec { user, .. } if user == ctx),
                "{err:?}"
            );
        }
    }

    #[test]
    fn no_proxy_follows_go_rules() {
        let m = no_proxy_matches;
        assert!(m("*", "anything", 443));
        assert!(m("example.com", "example.com", 443));
        assert!(m(" example.com ", "api.example.com", 443));
        assert!(!m("example.com", "badexample.com", 443));
        assert!(m(".example.com", "api.example.com", 443));
        assert!(!m(".example.com", "example.com", 443));
        assert!(m("*.example.com", "api.example.com", 443));
        assert!(m("example.com:6443", "example.com", 6443));
        assert!(!m("example.com:6443", "example.com", 443));
        assert!(m("10.0.0.0/8", "10.96.0.1", 443));
        assert!(!m("10.0.0.0/8", "11.0.0.1", 443));
        assert!(m("fd00::/8", "fd00::1", 443));
        assert!(m("192.168.1.1", "192.168.1.1", 443));
        assert!(!m("192.168.1.1", "192.168.1.2", 443));
        assert!(!m("", "example.com", 443));
        assert!(m("a.b, EXAMPLE.com", "Example.COM", 443));
    }

    #[test]
    fn proxy_is_chosen_from_kubeconfig_then_environment() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters:
- {name: p, cluster: {server: "https://api.example:6443", proxy-url: "http://user:pw@proxy.corp:3128"}}
- {name: e, cluster: {server: "https://api.example:6443"}}
- {name: l, cluster: {server: "https://127.0.0.1:6443"}}
- {name: h, cluster: {server: "http://api.example:8080"}}
- {name: bad, cluster: {server: "https://k", proxy-url: "socks5://proxy:1080"}}
contexts:
- {name: p, context: {cluster: p}}
- {name: e, context: {cluster: e}}
- {name: l, context: {cluster: l}}
- {name: h, context: {cluster: h}}
- {name: bad, context: {cluster: bad}}
"#,
        );
        let env = Environment {
            https_proxy: Some("envproxy:8080".to_string()),
            http_proxy: Some("http://plainproxy:8080".to_string()),
            ..no_env()
        };
        let load = |ctx: &str, env: &Environment| {
            let opts = ConfigOptions {
                context: Some(ctx.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, env)
        };
        let cfg = load("p", &env).unwrap();
        let proxy = cfg.proxy.unwrap();
        assert_eq!(proxy.url, "http://user:pw@proxy.corp:3128");
        assert!(proxy.origin.contains("proxy-url"));
        assert_eq!(proxy.redacted(), "http://<redacted>@proxy.corp:3128");
        assert!(!format!("{proxy:?}").contains("pw"));

        let proxy = load("e", &env).unwrap().proxy.unwrap();
        assert_eq!(proxy.url, "http://envproxy:8080");
        assert_eq!(proxy.origin, "HTTPS_PROXY");
        assert!(
            load("l", &env).unwrap().proxy.is_none(),
            "loopback is never proxied"
        );
        let proxy = load("h", &env).unwrap().proxy.unwrap();
        assert_eq!(proxy.origin, "HTTP_PROXY");
        let no = Environment {
            no_proxy: Some("localhost,.example".to_string()),
            ..env.clone()
        };
        assert!(load("e", &no).unwrap().proxy.is_none());
        assert!(load("e", &no_env()).unwrap().proxy.is_none());
        let err = load("bad", &env).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidProxy { .. }), "{err:?}");
    }

    #[test]
    fn client_cert_files_are_remembered_only_for_paths() {
        let dir = TempDir::new("kc");
        dir.write("c.crt", "CERT");
        dir.write("c.key", "KEY");
        let kc = dir.write(
            "config",
            &format!(
                r#"
clusters: [{{name: k, cluster: {{server: "https://k"}}}}]
users:
- {{name: files, user: {{client-certificate: c.crt, client-key: c.key}}}}
- {{name: data, user: {{client-certificate: c.crt, client-key-data: "{}"}}}}
contexts:
- {{name: files, context: {{cluster: k, user: files}}}}
- {{name: data, context: {{cluster: k, user: data}}}}
"#,
                base64_encode(b"KEY")
            ),
        );
        let load = |ctx: &str| {
            let opts = ConfigOptions {
                context: Some(ctx.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, &no_env()).unwrap()
        };
        assert_eq!(
            load("files").tls.client_cert_files,
            Some(ClientCertFiles {
                cert: dir.0.join("c.crt"),
                key: dir.0.join("c.key"),
            })
        );
        assert_eq!(load("data").tls.client_cert_files, None);
    }

    #[test]
    fn inconsistent_tls_settings_are_rejected() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters:
- {name: both, cluster: {server: "https://k", insecure-skip-tls-verify: true, certificate-authority-data: "Q0E="}}
- {name: ok, cluster: {server: "https://k"}}
users: [{name: half, user: {client-certificate-data: "Q0U="}}]
contexts:
- {name: insecure, context: {cluster: both}}
- {name: half, context: {cluster: ok, user: half}}
"#,
        );
        let with_ctx = |c: &str| ConfigOptions {
            context: Some(c.to_string()),
            ..explicit(&kc)
        };
        let err = load_with(&with_ctx("insecure"), &no_env()).unwrap_err();
        assert!(matches!(err, ConfigError::InsecureWithCa { .. }), "{err:?}");
        let err = load_with(&with_ctx("half"), &no_env()).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::IncompleteClientCert {
                    missing: "client-key",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn token_file_wins_over_token_and_token_is_the_fallback() {
        let dir = TempDir::new("kc");
        dir.write("tok", "from-file");
        let kc = dir.write(
            "config",
            r#"
clusters: [{name: k, cluster: {server: "https://k"}}]
users:
- {name: both, user: {token: literal, tokenFile: tok}}
- {name: broken-file, user: {token: literal, tokenFile: missing}}
- {name: only-broken-file, user: {tokenFile: missing}}
- {name: conflict, user: {token: t, username: admin, password: p}}
contexts:
- {name: both, context: {cluster: k, user: both}}
- {name: broken-file, context: {cluster: k, user: broken-file}}
- {name: only-broken-file, context: {cluster: k, user: only-broken-file}}
- {name: conflict, context: {cluster: k, user: conflict}}
"#,
        );
        let load = |c: &str| {
            let opts = ConfigOptions {
                context: Some(c.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, &no_env())
        };
        let cfg = load("both").unwrap();
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer from-file"));
        let cfg = load("broken-file").unwrap();
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer literal"));
        let err = load("only-broken-file").unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Io {
                    what: "token file",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = load("conflict").unwrap_err();
        assert!(matches!(&err, ConfigError::ConflictingAuth { user, .. } if user == "conflict"));
    }

    #[test]
    fn explicit_kubeconfig_must_exist() {
        let dir = TempDir::new("kc");
        let err = load_with(&explicit(&dir.0.join("absent")), &no_env()).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Io {
                    what: "kubeconfig",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    fn service_account_dir(token: &str) -> TempDir {
        let dir = TempDir::new("sa");
        dir.write("token", token);
        dir.write("ca.crt", "SA CA");
        dir
    }

    fn in_cluster_env(dir: &TempDir, host: &str) -> Environment {
        Environment {
            service_host: Some(host.to_string()),
            service_port: Some("443".to_string()),
            service_account_dir: dir.0.clone(),
            ..no_env()
        }
    }

    #[test]
    fn in_cluster_uses_service_account_and_rereads_rotated_token() {
        let dir = service_account_dir("first-token\n");
        let cfg = load_with(
            &ConfigOptions::default(),
            &in_cluster_env(&dir, "10.96.0.1"),
        )
        .unwrap();
        assert_eq!(cfg.server, "https://10.96.0.1:443");
        assert_eq!(cfg.source, "in-cluster service account");
        assert_eq!(cfg.tls.ca_pem.as_deref(), Some(&b"SA CA"[..]));
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer first-token"));

        // The kubelet rotates the token: new content, new mtime.
        let token_path = dir.write("token", "second-token-longer");
        let file = std::fs::File::options()
            .write(true)
            .open(&token_path)
            .unwrap();
        file.set_modified(SystemTime::now() + Duration::from_secs(10))
            .unwrap();
        drop(file);

        // Within the recheck interval the cached token is served without touching the file.
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer first-token"));

        let Auth::TokenFile(tf) = &cfg.auth else {
            panic!("expected a token file, got {:?}", cfg.auth);
        };
        tf.state.lock().checked_at = Instant::now().checked_sub(Duration::from_secs(2)).unwrap();
        assert_eq!(
            auth_header(&cfg).as_deref(),
            Some("Bearer second-token-longer")
        );
    }

    #[test]
    fn token_file_keeps_old_token_while_file_is_unreadable() {
        let dir = TempDir::new("tok");
        let path = dir.write("token", "old");
        let tf = TokenFile::with_recheck(path.clone(), Duration::ZERO).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(tf.token(), "old");
        dir.write("token", "");
        assert_eq!(tf.token(), "old");
        dir.write("token", "new!");
        assert_eq!(tf.token(), "new!");
    }

    #[test]
    fn in_cluster_ipv6_host_is_bracketed_and_apiserver_overrides() {
        let dir = service_account_dir("t");
        let cfg = load_with(&ConfigOptions::default(), &in_cluster_env(&dir, "fd00::1")).unwrap();
        assert_eq!(cfg.server, "https://[fd00::1]:443");

        let opts = ConfigOptions {
            apiserver: Some("https://apiserver.internal:6443".to_string()),
            ..ConfigOptions::default()
        };
        let cfg = load_with(&opts, &in_cluster_env(&dir, "fd00::1")).unwrap();
        assert_eq!(cfg.server, "https://apiserver.internal:6443");
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer t"));
    }

    #[test]
    fn in_cluster_without_token_is_an_error() {
        let dir = TempDir::new("sa");
        let err =
            load_with(&ConfigOptions::default(), &in_cluster_env(&dir, "10.0.0.1")).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Io {
                    what: "token file",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn pod_env_without_token_falls_back_to_bare_apiserver() {
        let dir = TempDir::new("sa");
        let opts = ConfigOptions {
            apiserver: Some("https://k:6443".to_string()),
            ..ConfigOptions::default()
        };
        let cfg = load_with(&opts, &in_cluster_env(&dir, "10.0.0.1")).unwrap();
        assert_eq!(cfg.server, "https://k:6443");
        assert!(matches!(cfg.auth, Auth::None));
    }

    #[test]
    fn apiserver_alone_has_no_credentials() {
        let opts = ConfigOptions {
            apiserver: Some("http://127.0.0.1:8001".to_string()),
            ..ConfigOptions::default()
        };
        let cfg = load_with(&opts, &no_env()).unwrap();
        assert_eq!(cfg.server, "http://127.0.0.1:8001");
        assert!(matches!(cfg.auth, Auth::None));
        assert!(cfg.tls.ca_pem.is_none());
    }

    #[test]
    fn nothing_configured_explains_what_was_tried() {
        let err = load_with(&ConfigOptions::default(), &no_env()).unwrap_err();
        assert!(matches!(err, ConfigError::NoConfiguration { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("KUBERNETES_SERVICE_HOST") && msg.contains("--apiserver"),
            "{msg}"
        );
    }

    #[test]
    fn server_urls_are_normalized_or_rejected() {
        assert_eq!(normalize_server("k:6443", "t").unwrap(), "https://k:6443");
        assert_eq!(
            normalize_server(" https://k/prefix// ", "t").unwrap(),
            "https://k/prefix"
        );
        for bad in ["", "ftp://k", "https://", "https://k/?x=1"] {
            assert!(
                matches!(
                    normalize_server(bad, "t"),
                    Err(ConfigError::InvalidServer { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base64_round_trip_and_whitespace() {
        for input in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0, 255, 128, 7],
        ] {
            let enc = base64_encode(input);
            assert_eq!(base64_decode(&enc).unwrap(), input, "{enc}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zm9v\n YmE=\r\n").unwrap(), b"fooba");
    }

    #[test]
    fn base64_errors() {
        assert_eq!(base64_decode("Zm9"), Err(Base64Error::BadLength(3)));
        assert_eq!(
            base64_decode("Z=9v"),
            Err(Base64Error::BadPadding { position: 1 })
        );
        assert_eq!(
            base64_decode("Z==="),
            Err(Base64Error::BadPadding { position: 1 })
        );
        assert_eq!(
            base64_decode("Zm-v"),
            Err(Base64Error::InvalidCharacter {
                ch: '-',
                position: 2
            })
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let cfg = ClusterConfig {
            server: "https://k".to_string(),
            tls: TlsSettings {
                client_key_pem: Some(b"SECRET-KEY".to_vec()),
                ..TlsSettings::default()
            },
            auth: Auth::Basic {
                username: "admin".to_string(),
                password: "SECRET-PASSWORD".to_string(),
            },
            source: "test".to_string(),
            cluster_name: None,
            proxy: None,
        };
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("admin"));
        let dbg = format!("{:?}", Auth::Bearer("SECRET-TOKEN".to_string()));
        assert!(!dbg.contains("SECRET"), "{dbg}");
    }
}
