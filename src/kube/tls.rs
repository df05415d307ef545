//! Building the HTTP agent that talks to the API server from a [`ClusterConfig`].
//!
//! Trust is explicit: only the configured CA is trusted (no bundled web roots, since an API
//! server certificate is never issued by a public CA in practice, and trusting those would
//! widen the attack surface). Without a configured CA, the system bundle is used, which is
//! what client-go does via Go's system pool.
//!
//! Certificates and keys are validated here with rustls, because ureq would otherwise only
//! discover a bad client key on the first connection (and panics on it).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use super::config::{ClusterConfig, ConfigError};

/// Used when the configuration names no CA (e.g. `--apiserver` alone, or a kubeconfig
/// relying on the host's trust store). Debian/Alpine/distroless path.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Short enough that an unreachable API server is reported quickly, long enough for a
/// loaded control plane to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the agent used for every API request.
///
/// No global timeout: watches stream for minutes, so callers set per-request timeouts.
/// HTTP error statuses are returned as responses because callers decode the Kubernetes
/// `Status` body themselves.
pub fn build_agent(cfg: &ClusterConfig) -> Result<ureq::Agent, ConfigError> {
    build_agent_with_bundle(cfg, Path::new(SYSTEM_CA_BUNDLE))
}

fn build_agent_with_bundle(
    cfg: &ClusterConfig,
    system_bundle: &Path,
) -> Result<ureq::Agent, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = TlsConfig::builder().unversioned_rustls_crypto_provider(provider.clone());

    // Roots are only needed for https; a plain-http --apiserver (e.g. `kubectl proxy`)
    // must work on hosts without a CA bundle.
    let needs_roots = cfg.server.starts_with("https://") && !cfg.tls.insecure_skip_verify;
    if cfg.tls.insecure_skip_verify {
        tls = tls.disable_verification(true);
    } else if needs_roots {
        let roots = match &cfg.tls.ca_pem {
            Some(pem) => parse_ca(pem, &cfg.source)?,
            None => system_roots(system_bundle, &cfg.source)?,
        };
        tls = tls.root_certs(RootCerts::new_with_certs(&roots));
    }

    if let Some(client_cert) = client_cert(cfg, &provider)? {
        tls = tls.client_cert(Some(client_cert));
    }

    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(None)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .user_agent(concat!("kubestate/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls.build())
        .build();
    Ok(config.new_agent())
}

/// All certificates in `pem`, each checked to be acceptable as a trust anchor.
fn parse_ca(pem: &[u8], source: &str) -> Result<Vec<Certificate<'static>>, ConfigError> {
    let invalid = |detail: String| ConfigError::InvalidCa {
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
fn system_roots(bundle: &Path, source: &str) -> Result<Vec<Certificate<'static>>, ConfigError> {
    let missing = || ConfigError::NoRootCertificates {
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

/// The client certificate chain and key, validated by building a throwaway rustls client
/// config (catches unsupported key types and a key that does not match the certificate).
fn client_cert(
    cfg: &ClusterConfig,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<ClientCert>, ConfigError> {
    let (cert_pem, key_pem) = match (&cfg.tls.client_cert_pem, &cfg.tls.client_key_pem) {
        (Some(c), Some(k)) => (c, k),
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(invalid_client(
                cfg,
                "a certificate without a key".to_string(),
            ))
        }
        (None, Some(_)) => {
            return Err(invalid_client(
                cfg,
                "a key without a certificate".to_string(),
            ))
        }
    };
    let mut chain = Vec::new();
    for item in ureq::tls::parse_pem(cert_pem) {
        match item.map_err(|e| invalid_client(cfg, format!("bad certificate PEM: {e}")))? {
            PemItem::Certificate(cert) => chain.push(cert),
            _ => continue,
        }
    }
    if chain.is_empty() {
        return Err(invalid_client(
            cfg,
            "no PEM \"CERTIFICATE\" block in the client certificate".to_string(),
        ));
    }
    let key = PrivateKey::from_pem(key_pem)
        .map_err(|e| invalid_client(cfg, format!("no usable private key: {e}")))?;

    let rustls_chain: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    // ureq does not expose the key kind, so parse the same PEM again for rustls; both pick
    // the first private-key block.
    let rustls_key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| invalid_client(cfg, format!("no usable private key: {e}")))?;
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid_client(cfg, format!("TLS setup: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(rustls_chain, rustls_key)
        .map_err(|e| invalid_client(cfg, e.to_string()))?;

    Ok(Some(ClientCert::new_with_certs(&chain, key)))
}

fn invalid_client(cfg: &ClusterConfig, detail: String) -> ConfigError {
    ConfigError::InvalidClientCert {
        source: cfg.source.clone(),
        detail,
    }
}
