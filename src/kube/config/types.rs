//! What loading produces: the server, TLS material, credentials and proxy for one API
//! server, with `Debug` output that never shows a secret.

use std::fmt;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::token_file::TokenFile;
use crate::kube::exec::{ExecAuth, ExecError};

/// Command-line choices that influence loading (kube-state-metrics' `--kubeconfig`,
/// `--context` and `--apiserver`).
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub apiserver: Option<String>,
    /// `--disable-compression`: no `Accept-Encoding: gzip`, whatever the kubeconfig says
    /// (kubectl's flag of that name overrides the cluster field the same way).
    pub disable_compression: bool,
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
    /// Do not ask for gzip-compressed responses: the kubeconfig cluster's
    /// `disable-compression` or `--disable-compression` (client-go's `DisableCompression`).
    /// Compression saves bytes on the wire for CPU on both ends, which a client next to the
    /// API server may not want to pay.
    pub disable_compression: bool,
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
            Auth::TokenFile(t) => write!(f, "TokenFile({})", t.path().display()),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Auth::Exec(e) => write!(f, "Exec({e:?})"),
        }
    }
}

impl ClusterConfig {
    /// Value for the Authorization header, if any. A token file is re-read when its mtime
    /// or size changes (service-account tokens rotate), checked at most once per second.
    pub fn authorization(&self) -> Result<Option<String>, ExecError> {
        Ok(match &self.auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::TokenFile(file) => Some(format!("Bearer {}", file.token())),
            Auth::Basic { username, password } => Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            )),
            Auth::Exec(exec) => exec
                .credential()?
                .token
                .as_ref()
                .map(|t| format!("Bearer {t}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            disable_compression: false,
        };
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("admin"));
        let dbg = format!("{:?}", Auth::Bearer("SECRET-TOKEN".to_string()));
        assert!(!dbg.contains("SECRET"), "{dbg}");
    }
}
