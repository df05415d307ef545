//! Building the HTTP agent that talks to the API server from a [`ClusterConfig`].
//!
//! Trust is explicit: only the configured CA is trusted (no bundled web roots, since an API
//! server certificate is never issued by a public CA in practice, and trusting those would
//! widen the attack surface). Without a configured CA, the system bundle is used, which is
//! what client-go does via Go's system pool.
//!
//! A kubeconfig `tls-server-name` (SNI and verified name other than the URL host) is
//! handled by our own TLS connector in [`sni`].
//!
//! Certificates and keys are validated here with rustls, because ureq would otherwise only
//! discover a bad client key on the first connection (and panics on it).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::kube::config::ClusterConfig;
use sni::Trust;

mod sni;

/// Used when the configuration names no CA (e.g. `--apiserver` alone, or a kubeconfig
/// relying on the host's trust store). Debian/Alpine/distroless path.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Short enough that an unreachable API server is reported quickly, long enough for a
/// loaded control plane to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no agent could be built for the API server: the TLS material or the connection
/// settings it is built from are unusable. `source` names where the material came from
/// (the kubeconfig and context, the service account, an exec plugin, certificate files).
#[derive(Debug)]
pub enum TlsError {
    /// The CA certificates are not usable PEM X.509 certificates.
    InvalidCa { source: String, detail: String },
    /// The client certificate/key pair is unusable (bad PEM, unsupported key, mismatch).
    InvalidClientCert { source: String, detail: String },
    /// A client certificate or key file could not be read (on reload).
    Unreadable {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// `tls-server-name` is neither a DNS name nor an IP address.
    InvalidTlsServerName {
        name: String,
        source: String,
        reason: String,
    },
    /// No CA configured and no system bundle to fall back to.
    NoRootCertificates { source: String, bundle: PathBuf },
    /// The server URL cannot be connected to under `tls-server-name`.
    InvalidServer {
        server: String,
        origin: String,
        reason: &'static str,
    },
    /// ureq refuses the proxy URL.
    InvalidProxy {
        /// With credentials removed.
        proxy: String,
        origin: String,
        reason: String,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::InvalidCa { source, detail } => {
                write!(f, "CA certificate from {source} is unusable: {detail}")
            }
            TlsError::InvalidClientCert { source, detail } => write!(
                f,
                "client certificate/key from {source} is unusable: {detail}"
            ),
            TlsError::Unreadable { what, path, source } => {
                write!(f, "cannot read {what} {}: {source}", path.display())
            }
            TlsError::InvalidTlsServerName {
                name,
                source,
                reason,
            } => write!(
                f,
                "tls-server-name {name:?} from {source} is not a DNS name or IP address: \
                 {reason}"
            ),
            TlsError::NoRootCertificates { source, bundle } => write!(
                f,
                "{source} configures no certificate authority and the system bundle {} \
                 is missing or empty; set certificate-authority(-data) in the kubeconfig",
                bundle.display()
            ),
            TlsError::InvalidServer {
                server,
                origin,
                reason,
            } => write!(
                f,
                "API server URL {server:?} from {origin} is invalid: {reason}"
            ),
            TlsError::InvalidProxy {
                proxy,
                origin,
                reason,
            } => write!(f, "proxy {proxy:?} from {origin} is unusable: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Unreadable { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Builds the agent used for every API request.
///
/// No global timeout: watches stream for minutes, so callers set per-request timeouts.
/// HTTP error statuses are returned as responses because callers decode the Kubernetes
/// `Status` body themselves.
pub fn build_agent(cfg: &ClusterConfig) -> Result<ureq::Agent, TlsError> {
    build_agent_with_bundle(cfg, configured_client(cfg), Path::new(SYSTEM_CA_BUNDLE))
}

/// PEM client certificate and key, plus where they came from (for error messages).
#[derive(Clone, Copy)]
pub struct ClientPem<'a> {
    pub cert: &'a [u8],
    pub key: &'a [u8],
    pub source: &'a str,
}

/// Like [`build_agent`], but with `client` instead of the configured client certificate:
/// used when the certificate files change or an exec plugin hands out a certificate.
pub fn build_agent_with_client(
    cfg: &ClusterConfig,
    client: Option<ClientPem<'_>>,
) -> Result<ureq::Agent, TlsError> {
    build_agent_with_bundle(cfg, Ok(client), Path::new(SYSTEM_CA_BUNDLE))
}

fn configured_client(cfg: &ClusterConfig) -> Result<Option<ClientPem<'_>>, TlsError> {
    match (&cfg.tls.client_cert_pem, &cfg.tls.client_key_pem) {
        (Some(cert), Some(key)) => Ok(Some(ClientPem {
            cert,
            key,
            source: &cfg.source,
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid_client(
            &cfg.source,
            "a certificate without a key".to_string(),
        )),
        (None, Some(_)) => Err(invalid_client(
            &cfg.source,
            "a key without a certificate".to_string(),
        )),
    }
}

fn build_agent_with_bundle(
    cfg: &ClusterConfig,
    client: Result<Option<ClientPem<'_>>, TlsError>,
    system_bundle: &Path,
) -> Result<ureq::Agent, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = TlsConfig::builder().unversioned_rustls_crypto_provider(provider.clone());

    // Roots are only needed for https; a plain-http --apiserver (e.g. `kubectl proxy`)
    // must work on hosts without a CA bundle.
    let https = cfg.server.starts_with("https://");
    let roots = if https && !cfg.tls.insecure_skip_verify {
        Some(match &cfg.tls.ca_pem {
            Some(pem) => parse_ca(pem, &cfg.source)?,
            None => system_roots(system_bundle, &cfg.source)?,
        })
    } else {
        None
    };
    if cfg.tls.insecure_skip_verify {
        tls = tls.disable_verification(true);
    } else if let Some(roots) = &roots {
        tls = tls.root_certs(RootCerts::new_with_certs(roots));
    }

    let client = client?.map(|pem| client_cert(pem, &provider)).transpose()?;
    if let Some(identity) = &client {
        tls = tls.client_cert(Some(identity.ureq.clone()));
    }

    // Always set explicitly: ureq would otherwise read ALL_PROXY/HTTPS_PROXY itself, with
    // its own NO_PROXY rules, behind the back of the decision made in config loading.
    let proxy = match &cfg.proxy {
        Some(choice) => {
            Some(
                ureq::Proxy::new(&choice.url).map_err(|e| TlsError::InvalidProxy {
                    proxy: choice.redacted(),
                    origin: choice.origin.clone(),
                    reason: e.to_string(),
                })?,
            )
        }
        None => None,
    };

    let config = ureq::Agent::config_builder()
        .proxy(proxy)
        .http_status_as_error(false)
        .timeout_global(None)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .user_agent(concat!("kubestate/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls.build())
        .build();
    // tls-server-name needs our own TLS connector (see `sni`); without it, ureq's.
    match &cfg.tls.server_name {
        Some(name) if https => {
            let trust = match &roots {
                Some(roots) => Trust::Roots(roots),
                None => Trust::Insecure,
            };
            let client = client.map(|identity| (identity.chain, identity.key));
            sni::agent(cfg, name, config, &provider, trust, client)
        }
        _ => Ok(config.new_agent()),
    }
}

/// All certificates in `pem`, each checked to be acceptable as a trust anchor.
fn parse_ca(pem: &[u8], source: &str) -> Result<Vec<Certificate<'static>>, TlsError> {
    let invalid = |detail: String| TlsError::InvalidCa {
        source: source.to_string(),
        detail,
    };
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item.map_err(|e| invalid(format!("bad PEM: {e}")))? {
            PemItem::Certificate(cert) => {
                let mut store = rustls::RootCertStore::empty();
                store
                    .add(CertificateDer::from(cert.der().to_vec()))
                    .map_err(|e| invalid(format!("certificate {}: {e}", certs.len() + 1)))?;
                certs.push(cert);
            }
            // A stray key or other block in a CA bundle is harmless.
            _ => continue,
        }
    }
    if certs.is_empty() {
        return Err(invalid(
            "no PEM \"CERTIFICATE\" block found (is it DER, or the wrong file?)".to_string(),
        ));
    }
    Ok(certs)
}

/// The system bundle; unparsable entries are skipped (bundles carry odd legacy roots).
fn system_roots(bundle: &Path, source: &str) -> Result<Vec<Certificate<'static>>, TlsError> {
    let missing = || TlsError::NoRootCertificates {
        source: source.to_string(),
        bundle: bundle.to_path_buf(),
    };
    let pem = std::fs::read(bundle).map_err(|_| missing())?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => {
                let mut store = rustls::RootCertStore::empty();
                store
                    .add(CertificateDer::from(cert.der().to_vec()))
                    .ok()
                    .map(|()| cert)
            }
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(missing());
    }
    Ok(certs)
}

/// A validated client certificate, for ureq and for our own rustls config
/// ([`sni`], `tls-server-name`).
struct ClientIdentity {
    ureq: ClientCert,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// The client certificate chain and key, validated by building a throwaway rustls client
/// config (catches unsupported key types and a key that does not match the certificate).
fn client_cert(
    pem: ClientPem<'_>,
    provider: &Arc<CryptoProvider>,
) -> Result<ClientIdentity, TlsError> {
    let source = pem.source;
    let mut chain = Vec::new();
    for item in ureq::tls::parse_pem(pem.cert) {
        match item.map_err(|e| invalid_client(source, format!("bad certificate PEM: {e}")))? {
            PemItem::Certificate(cert) => chain.push(cert),
            _ => continue,
        }
    }
    if chain.is_empty() {
        return Err(invalid_client(
            source,
            "no PEM \"CERTIFICATE\" block in the client certificate".to_string(),
        ));
    }
    let key = PrivateKey::from_pem(pem.key)
        .map_err(|e| invalid_client(source, format!("no usable private key: {e}")))?;

    let rustls_chain: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    // ureq does not expose the key kind, so parse the same PEM again for rustls; both pick
    // the first private-key block.
    let rustls_key = PrivateKeyDer::from_pem_slice(pem.key)
        .map_err(|e| invalid_client(source, format!("no usable private key: {e}")))?;
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid_client(source, format!("TLS setup: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(rustls_chain.clone(), rustls_key.clone_key())
        .map_err(|e| invalid_client(source, e.to_string()))?;

    Ok(ClientIdentity {
        ureq: ClientCert::new_with_certs(&chain, key),
        chain: rustls_chain,
        key: rustls_key,
    })
}

fn invalid_client(source: &str, detail: String) -> TlsError {
    TlsError::InvalidClientCert {
        source: source.to_string(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::config::{Auth, TlsSettings};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::path::PathBuf;
    use std::thread::JoinHandle;

    /// `sni-*` (valid only for `apiserver.internal`) lives with the other test-only
    /// certificates; everything else is the vendored test PKI.
    fn cert_path(name: &str) -> PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if name.starts_with("sni-") {
            root.join("tests/support/certs").join(name)
        } else {
            root.join("vendor-certs").join(name)
        }
    }

    fn pem(name: &str) -> Vec<u8> {
        std::fs::read(cert_path(name)).unwrap()
    }

    fn config(tls: TlsSettings, port: u16) -> ClusterConfig {
        ClusterConfig {
            server: format!("https://127.0.0.1:{port}"),
            tls,
            auth: Auth::None,
            source: "test".to_string(),
            cluster_name: None,
            proxy: None,
            disable_compression: false,
        }
    }

    fn with_ca(ca: &str) -> TlsSettings {
        TlsSettings {
            ca_pem: Some(pem(ca)),
            ..TlsSettings::default()
        }
    }

    /// What the test server saw on its single connection.
    #[derive(Debug)]
    struct Seen {
        user_agent: String,
        client_certs: usize,
        /// The SNI the client sent.
        server_name: Option<String>,
    }

    /// A one-connection HTTPS server on 127.0.0.1:0 presenting `cert`; with `client_ca` it
    /// requires a client certificate signed by that CA. Socket timeouts bound the thread.
    fn serve(
        cert: &str,
        key: &str,
        client_ca: Option<&str>,
    ) -> (u16, JoinHandle<Result<Seen, String>>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path(cert))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(cert_path(key)).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(CertificateDer::from_pem_file(cert_path(ca)).unwrap())
                    .unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let server_config = Arc::new(builder.with_single_cert(chain, key).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (sock, _) = listener.accept().map_err(|e| e.to_string())?;
            sock.set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            sock.set_write_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            let conn = rustls::ServerConnection::new(server_config).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tls.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("client closed before sending a request".to_string());
                }
                request.extend_from_slice(&buf[..n]);
            }
            let request = String::from_utf8_lossy(&request).to_string();
            let user_agent = request
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("user-agent")
                        .then(|| value.trim().to_string())
                })
                .unwrap_or_default();
            let client_certs = tls.conn.peer_certificates().map_or(0, |c| c.len());
            let server_name = tls.conn.server_name().map(str::to_string);
            let body = "ok";
            write!(
                tls,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| e.to_string())?;
            Ok(Seen {
                user_agent,
                client_certs,
                server_name,
            })
        });
        (port, handle)
    }

    fn get(agent: &ureq::Agent, port: u16) -> Result<String, ureq::Error> {
        let mut resp = agent
            .get(format!("https://127.0.0.1:{port}/version"))
            .config()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .call()?;
        assert_eq!(resp.status(), 200);
        resp.body_mut().read_to_string()
    }

    /// The rustls certificate verdict inside a ureq error (ureq surfaces handshake failures
    /// either directly or wrapped in the I/O error of the TLS stream).
    fn certificate_error(err: &ureq::Error) -> Option<&rustls::CertificateError> {
        let tls = match err {
            ureq::Error::Rustls(e) => e,
            ureq::Error::Io(e) => e.get_ref()?.downcast_ref::<rustls::Error>()?,
            _ => return None,
        };
        match tls {
            rustls::Error::InvalidCertificate(e) => Some(e),
            _ => None,
        }
    }

    #[test]
    fn configured_ca_verifies_server() {
        let (port, server) = serve("server.crt", "server.key", None);
        let agent = build_agent(&config(with_ca("ca.crt"), port)).unwrap();
        assert_eq!(get(&agent, port).unwrap(), "ok");
        let seen = server.join().unwrap().unwrap();
        assert_eq!(
            seen.user_agent,
            concat!("kubestate/", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(seen.client_certs, 0);
        // No SNI for an IP address.
        assert_eq!(seen.server_name, None);
    }

    #[test]
    fn server_from_other_ca_is_rejected() {
        let (port, _server) = serve("wrong-server.crt", "wrong-server.key", None);
        let agent = build_agent(&config(with_ca("ca.crt"), port)).unwrap();
        let err = get(&agent, port).unwrap_err();
        assert!(
            matches!(
                certificate_error(&err),
                Some(rustls::CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn expired_server_certificate_is_rejected() {
        let (port, _server) = serve("expired.crt", "expired.key", None);
        let agent = build_agent(&config(with_ca("ca.crt"), port)).unwrap();
        let err = get(&agent, port).unwrap_err();
        assert!(
            matches!(
                certificate_error(&err),
                Some(
                    rustls::CertificateError::Expired
                        | rustls::CertificateError::ExpiredContext { .. }
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn insecure_skip_verify_accepts_any_server() {
        let (port, server) = serve("wrong-server.crt", "wrong-server.key", None);
        let tls = TlsSettings {
            insecure_skip_verify: true,
            ..TlsSettings::default()
        };
        let agent = build_agent(&config(tls, port)).unwrap();
        assert_eq!(get(&agent, port).unwrap(), "ok");
        server.join().unwrap().unwrap();
    }

    #[test]
    fn client_certificate_is_presented() {
        let (port, server) = serve("server.crt", "server.key", Some("ca.crt"));
        let tls = TlsSettings {
            client_cert_pem: Some(pem("client.crt")),
            client_key_pem: Some(pem("client.key")),
            ..with_ca("ca.crt")
        };
        let agent = build_agent(&config(tls, port)).unwrap();
        assert_eq!(get(&agent, port).unwrap(), "ok");
        assert_eq!(server.join().unwrap().unwrap().client_certs, 1);
    }

    #[test]
    fn missing_client_certificate_fails_when_required() {
        let (port, server) = serve("server.crt", "server.key", Some("ca.crt"));
        let agent = build_agent(&config(with_ca("ca.crt"), port)).unwrap();
        assert!(get(&agent, port).is_err());
        let server_err = server.join().unwrap().unwrap_err();
        assert!(
            server_err.to_lowercase().contains("certificate"),
            "{server_err}"
        );
    }

    #[test]
    fn kubeconfig_to_agent_end_to_end() {
        use crate::kube::config::ConfigOptions;
        let (port, server) = serve("server.crt", "server.key", Some("ca.crt"));
        let dir = std::env::temp_dir().join(format!("kubestate-tls-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kc = dir.join("config");
        let certs = cert_path("");
        std::fs::write(
            &kc,
            format!(
                "current-context: c\n\
                 clusters: [{{name: k, cluster: {{server: \"https://localhost:{port}\", certificate-authority: {ca}}}}}]\n\
                 users: [{{name: u, user: {{client-certificate: {crt}, client-key: {key}}}}}]\n\
                 contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n",
                ca = certs.join("ca.crt").display(),
                crt = certs.join("client.crt").display(),
                key = certs.join("client.key").display(),
            ),
        )
        .unwrap();
        let cfg = ClusterConfig::load(&ConfigOptions {
            kubeconfig: Some(kc),
            ..ConfigOptions::default()
        });
        let _ = std::fs::remove_dir_all(&dir);
        let agent = build_agent(&cfg.unwrap()).unwrap();
        // "localhost" exercises the DNS SAN. The server listens on 127.0.0.1 only, so keep
        // the client off ::1 in case localhost resolves to it first.
        let mut resp = agent
            .get(format!("https://localhost:{port}/version"))
            .config()
            .timeout_global(Some(Duration::from_secs(10)))
            .ip_family(ureq::config::IpFamily::Ipv4Only)
            .build()
            .call()
            .unwrap();
        assert_eq!(resp.body_mut().read_to_string().unwrap(), "ok");
        assert_eq!(server.join().unwrap().unwrap().client_certs, 1);
    }

    #[test]
    fn unusable_ca_is_a_config_error() {
        let cfg = |ca: &[u8]| {
            config(
                TlsSettings {
                    ca_pem: Some(ca.to_vec()),
                    ..TlsSettings::default()
                },
                1,
            )
        };
        let err = build_agent(&cfg(b"not pem at all")).unwrap_err();
        assert!(matches!(err, TlsError::InvalidCa { .. }), "{err:?}");
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = build_agent(&cfg(garbage)).unwrap_err();
        assert!(matches!(err, TlsError::InvalidCa { .. }), "{err:?}");
        assert!(err.to_string().contains("test"));
    }

    #[test]
    fn mismatched_or_partial_client_credentials_are_config_errors() {
        let tls = |cert: Option<&str>, key: Option<&str>| TlsSettings {
            client_cert_pem: cert.map(pem),
            client_key_pem: key.map(pem),
            ..with_ca("ca.crt")
        };
        for (cert, key) in [
            (Some("client.crt"), Some("server.key")),
            (Some("client.crt"), None),
            (None, Some("client.key")),
            (Some("client.key"), Some("client.key")),
            (Some("client.crt"), Some("client.crt")),
        ] {
            let err = build_agent(&config(tls(cert, key), 1)).unwrap_err();
            assert!(
                matches!(err, TlsError::InvalidClientCert { .. }),
                "{cert:?}/{key:?}: {err:?}"
            );
        }
    }

    #[test]
    fn no_ca_falls_back_to_system_bundle() {
        let cfg = config(TlsSettings::default(), 1);
        let err = build_agent_with_bundle(&cfg, Ok(None), Path::new("/nonexistent/bundle.crt"))
            .unwrap_err();
        assert!(
            matches!(err, TlsError::NoRootCertificates { .. }),
            "{err:?}"
        );
        // Any readable bundle with a valid certificate works as the trust store.
        build_agent_with_bundle(&cfg, Ok(None), &cert_path("ca.crt")).unwrap();
        // Plain http (e.g. `kubectl proxy`) needs no roots at all.
        let plain = ClusterConfig {
            server: "http://127.0.0.1:8001".to_string(),
            ..config(TlsSettings::default(), 1)
        };
        build_agent_with_bundle(&plain, Ok(None), Path::new("/nonexistent/bundle.crt")).unwrap();
    }

    fn with_server_name(tls: TlsSettings, name: &str) -> TlsSettings {
        TlsSettings {
            server_name: Some(name.to_string()),
            ..tls
        }
    }

    fn assert_name_mismatch(err: &ureq::Error) {
        assert!(
            matches!(
                certificate_error(err),
                Some(
                    rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn tls_server_name_is_sent_and_verified() {
        // sni-server.crt is valid only for DNS:apiserver.internal, not for 127.0.0.1.
        let (port, _server) = serve("sni-server.crt", "sni-server.key", None);
        let agent = build_agent(&config(with_ca("ca.crt"), port)).unwrap();
        assert_name_mismatch(&get(&agent, port).unwrap_err());

        let (port, server) = serve("sni-server.crt", "sni-server.key", None);
        let tls = with_server_name(with_ca("ca.crt"), "apiserver.internal");
        let agent = build_agent(&config(tls, port)).unwrap();
        assert_eq!(get(&agent, port).unwrap(), "ok");
        let seen = server.join().unwrap().unwrap();
        assert_eq!(seen.server_name.as_deref(), Some("apiserver.internal"));
        assert_eq!(
            seen.user_agent,
            concat!("kubestate/", env!("CARGO_PKG_VERSION"))
        );

        let (port, _server) = serve("sni-server.crt", "sni-server.key", None);
        let tls = with_server_name(with_ca("ca.crt"), "other.internal");
        let agent = build_agent(&config(tls, port)).unwrap();
        assert_name_mismatch(&get(&agent, port).unwrap_err());
    }

    #[test]
    fn tls_server_name_still_checks_the_issuer_and_expiry() {
        // The name matches (server.crt has DNS:localhost), the CA does not.
        let (port, _server) = serve("wrong-server.crt", "wrong-server.key", None);
        let tls = with_server_name(with_ca("ca.crt"), "localhost");
        let err = get(&build_agent(&config(tls, port)).unwrap(), port).unwrap_err();
        assert!(
            matches!(
                certificate_error(&err),
                Some(rustls::CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
        let (port, _server) = serve("expired.crt", "expired.key", None);
        let tls = with_server_name(with_ca("ca.crt"), "localhost");
        let err = get(&build_agent(&config(tls, port)).unwrap(), port).unwrap_err();
        assert!(
            matches!(
                certificate_error(&err),
                Some(
                    rustls::CertificateError::Expired
                        | rustls::CertificateError::ExpiredContext { .. }
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn tls_server_name_with_client_certificate() {
        let (port, server) = serve("sni-server.crt", "sni-server.key", Some("ca.crt"));
        let tls = TlsSettings {
            client_cert_pem: Some(pem("client.crt")),
            client_key_pem: Some(pem("client.key")),
            ..with_server_name(with_ca("ca.crt"), "apiserver.internal")
        };
        let agent = build_agent(&config(tls, port)).unwrap();
        assert_eq!(get(&agent, port).unwrap(), "ok");
        let seen = server.join().unwrap().unwrap();
        assert_eq!(seen.client_certs, 1);
        assert_eq!(seen.server_name.as_deref(), Some("apiserver.internal"));

        // A certificate handed over later (exec plugin, reloaded files) goes the same way.
        let (port, server) = serve("sni-server.crt", "sni-server.key", Some("ca.crt"));
        let cfg = config(
            with_server_name(with_ca("ca.crt"), "apiserver.internal"),
            port,
        );
        let (cert, key) = (pem("client.crt"), pem("client.key"));
        let client = ClientPem {
            cert: &cert,
            key: &key,
            source: "test",
        };
        let agent = build_agent_with_client(&cfg, Some(client)).unwrap();
        assert_eq!(get(&agent, port).unwrap(), "ok");
        assert_eq!(server.join().unwrap().unwrap().client_certs, 1);
    }

    #[test]
    fn tls_server_name_with_insecure_skip_verify_is_still_sent() {
        let (port, server) = serve("wrong-server.crt", "wrong-server.key", None);
        let tls = TlsSettings {
            insecure_skip_verify: true,
            server_name: Some("apiserver.internal".to_string()),
            ..TlsSettings::default()
        };
        let agent = build_agent(&config(tls, port)).unwrap();
        assert_eq!(get(&agent, port).unwrap(), "ok");
        let seen = server.join().unwrap().unwrap();
        assert_eq!(seen.server_name.as_deref(), Some("apiserver.internal"));
    }

    #[test]
    fn invalid_tls_server_name_is_a_config_error() {
        let tls = with_server_name(with_ca("ca.crt"), "not a name!");
        let err = build_agent(&config(tls, 1)).unwrap_err();
        assert!(
            matches!(err, TlsError::InvalidTlsServerName { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("not a name!"), "{err}");
        // Plain http has no TLS, so the name is irrelevant there.
        let plain = ClusterConfig {
            server: "http://127.0.0.1:8001".to_string(),
            ..config(with_server_name(TlsSettings::default(), "not a name!"), 1)
        };
        build_agent(&plain).unwrap();
    }

    #[test]
    fn kubeconfig_tls_server_name_end_to_end() {
        use crate::kube::client::{ApiClient, Timeout};
        use crate::kube::config::ConfigOptions;
        let (port, server) = serve("sni-server.crt", "sni-server.key", Some("ca.crt"));
        let dir = std::env::temp_dir().join(format!("kubestate-sni-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kc = dir.join("config");
        std::fs::write(
            &kc,
            format!(
                "current-context: c\n\
                 clusters: [{{name: k, cluster: {{server: \"https://127.0.0.1:{port}\", certificate-authority: {ca}, tls-server-name: apiserver.internal}}}}]\n\
                 users: [{{name: u, user: {{client-certificate: {crt}, client-key: {key}}}}}]\n\
                 contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n",
                ca = cert_path("ca.crt").display(),
                crt = cert_path("client.crt").display(),
                key = cert_path("client.key").display(),
            ),
        )
        .unwrap();
        let cfg = ClusterConfig::load(&ConfigOptions {
            kubeconfig: Some(kc),
            ..ConfigOptions::default()
        });
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = cfg.unwrap();
        assert_eq!(cfg.tls.server_name.as_deref(), Some("apiserver.internal"));
        let client = ApiClient::new(cfg).unwrap();
        let resp = client
            .get("/version", Timeout::Total(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(
            String::from_utf8(resp.read_to_vec(1024).unwrap()).unwrap(),
            "ok"
        );
        let seen = server.join().unwrap().unwrap();
        assert_eq!(seen.server_name.as_deref(), Some("apiserver.internal"));
        assert_eq!(seen.client_certs, 1);
    }
}
