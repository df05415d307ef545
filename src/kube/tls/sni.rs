//! TLS to the API server under a name other than the URL host: kubeconfig `tls-server-name`
//! (client-go semantics: connect to the URL's host, send this name as SNI and verify the
//! server certificate against it).
//!
//! ureq derives both from the URL host and takes no rustls configuration, so agents for
//! such clusters get their own connector chain: ureq's CONNECT-proxy and TCP connectors,
//! then [`SniConnector`], which wraps connections to the API server in TLS with our own
//! rustls config and name. Anything else that needs TLS on the same agent (an `https://`
//! proxy itself, a redirect elsewhere) falls through to ureq's rustls connector and its
//! usual URL-host verification.

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use ureq::http::Uri;
use ureq::tls::Certificate;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::time::{Duration as UDuration, Instant as UInstant};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    RustlsConnector, TcpConnector, Transport, TransportAdapter,
};

use super::TlsError;
use crate::kube::config::ClusterConfig;

/// How the API server certificate is checked.
pub enum Trust<'a> {
    /// Against these roots and the configured server name.
    Roots(&'a [Certificate<'static>]),
    /// Not at all (`insecure-skip-tls-verify`); the name is still sent as SNI.
    Insecure,
}

/// The agent for `cfg`, whose TLS to the API server uses `server_name` (see the module
/// docs). `config` is the agent configuration built for the plain path; its TLS settings
/// still serve other TLS connections (an `https://` proxy).
pub fn agent(
    cfg: &ClusterConfig,
    server_name: &str,
    config: ureq::config::Config,
    provider: &Arc<CryptoProvider>,
    trust: Trust<'_>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ureq::Agent, TlsError> {
    let connector = SniConnector::new(cfg, server_name, provider, trust, client)?;
    let chain =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(connector)
            .chain(RustlsConnector::default());
    Ok(ureq::Agent::with_parts(
        config,
        chain,
        DefaultResolver::default(),
    ))
}

/// Wraps connections to one `host:port` (the API server) in TLS under a fixed name.
pub struct SniConnector {
    tls: Arc<ClientConfig>,
    name: ServerName<'static>,
    host: String,
    port: u16,
}

impl SniConnector {
    fn new(
        cfg: &ClusterConfig,
        server_name: &str,
        provider: &Arc<CryptoProvider>,
        trust: Trust<'_>,
        client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, TlsError> {
        let name = ServerName::try_from(server_name.trim())
            .map_err(|e| TlsError::InvalidTlsServerName {
                name: server_name.to_string(),
                source: cfg.source.clone(),
                reason: e.to_string(),
            })?
            .to_owned();
        let uri: Uri = cfg.server.parse().map_err(|_| TlsError::InvalidServer {
            server: cfg.server.clone(),
            origin: cfg.source.clone(),
            reason: "not a valid URL",
        })?;
        let Some(host) = uri.host() else {
            return Err(TlsError::InvalidServer {
                server: cfg.server.clone(),
                origin: cfg.source.clone(),
                reason: "no host in the URL",
            });
        };
        let tls_error = |e: rustls::Error| TlsError::InvalidClientCert {
            source: cfg.source.clone(),
            detail: format!("TLS setup: {e}"),
        };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?;
        let builder = match trust {
            Trust::Roots(certs) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(
                    certs.iter().map(|c| CertificateDer::from(c.der().to_vec())),
                );
                builder.with_root_certificates(roots)
            }
            Trust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(SkipVerification(provider.clone()))),
        };
        let tls = match client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(tls_error)?,
            None => builder.with_no_client_auth(),
        };
        Ok(SniConnector {
            tls: Arc::new(tls),
            name,
            host: host.to_string(),
            port: uri.port_u16().unwrap_or(443),
        })
    }

    /// Whether `uri` is the API server (and not, say, the proxy being connected to).
    fn is_target(&self, uri: &Uri) -> bool {
        uri.host()
            .is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && uri.port_u16().unwrap_or(443) == self.port
    }
}

impl<In: Transport> Connector<In> for SniConnector {
    type Out = Either<In, SniTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() || !self.is_target(details.uri) {
            return Ok(Some(Either::A(transport)));
        }
        let conn = ClientConnection::new(self.tls.clone(), self.name.clone())?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(remaining(details));
        let mut stream = StreamOwned::new(conn, sock);
        stream.conn.complete_io(&mut stream.sock)?;
        Ok(Some(Either::B(SniTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream,
        })))
    }
}

/// The connect timeout minus what TCP (and a proxy) already used of it.
fn remaining(details: &ConnectionDetails) -> NextTimeout {
    let mut timeout = details.timeout;
    if let (UDuration::Exact(limit), UInstant::Exact(start), UInstant::Exact(now)) =
        (timeout.after, details.now, (details.current_time)())
    {
        timeout.after =
            UDuration::Exact(limit.saturating_sub(now.saturating_duration_since(start)));
    }
    timeout
}

impl fmt::Debug for SniConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SniConnector")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .finish()
    }
}

/// A TLS connection to the API server.
pub struct SniTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl Transport for SniTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        self.stream.write_all(&self.buffers.output()[..amount])?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        let read = self.stream.read(self.buffers.input_append_buf())?;
        self.buffers.input_appended(read);
        Ok(read > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.sock.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

impl fmt::Debug for SniTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SniTransport")
            .field("inner", &self.stream.sock.get_ref())
            .finish()
    }
}

/// `insecure-skip-tls-verify`: any certificate is accepted, but the handshake signatures are
/// still checked (they prove the peer holds the key of the certificate it sent).
#[derive(Debug)]
struct SkipVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::config::{Auth, TlsSettings};

    fn connector(server: &str) -> SniConnector {
        let cfg = ClusterConfig {
            server: server.to_string(),
            tls: TlsSettings::default(),
            auth: Auth::None,
            source: "test".to_string(),
            cluster_name: None,
            proxy: None,
            disable_compression: false,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        SniConnector::new(&cfg, "apiserver.internal", &provider, Trust::Insecure, None).unwrap()
    }

    #[test]
    fn only_the_api_server_gets_the_configured_name() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        let c = connector("https://10.0.0.1:6443");
        assert!(c.is_target(&uri("https://10.0.0.1:6443/api?watch=1")));
        // An https:// proxy is verified under its own name by ureq.
        assert!(!c.is_target(&uri("https://10.0.0.1:3128")));
        assert!(!c.is_target(&uri("https://proxy.example:6443")));

        let c = connector("https://API.example");
        assert!(c.is_target(&uri("https://api.example:443/version")));
        assert!(!c.is_target(&uri("https://api.example:8443/version")));
        assert_eq!(c.name, ServerName::try_from("apiserver.internal").unwrap());
    }
}
