//! The error catalogue of loading: why no API-server configuration could be built from the
//! flags, the kubeconfig files, the pod environment or the proxy settings.
//!
//! TLS material is validated later, where the agent is built ([`crate::kube::tls::TlsError`]),
//! and exec plugins fail on their own terms ([`crate::kube::exec::ExecError`]).

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::kube::exec::ExecError;

/// context, cluster, user or key involved, because the reader is an operator looking at a
/// crash-looping pod.
#[derive(Debug)]
pub enum LoadError {
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
    /// The `exec` stanza of a user is unusable, or combined with another credential.
    Exec(ExecError),
    /// A proxy URL (`proxy-url` or `HTTPS_PROXY`/`HTTP_PROXY`) is unusable.
    InvalidProxy {
        /// With credentials removed.
        proxy: String,
        origin: String,
        reason: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LoadError::*;
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
            InvalidProxy {
                proxy,
                origin,
                reason,
            } => write!(f, "proxy {proxy:?} from {origin} is unusable: {reason}"),
            Exec(e) => write!(f, "{e}"),
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

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::Yaml { source, .. } => Some(source),
            LoadError::Base64 { error, .. } => Some(error),
            LoadError::Exec(e) => e.source(),
            _ => None,
        }
    }
}

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
