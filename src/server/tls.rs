//! `--tls-config` / `--web.config.file`: the Prometheus exporter-toolkit web configuration
//! (TLS with optional client certificates, basic-auth users, extra response headers), so the
//! files written for kube-state-metrics work unchanged. Validated completely at start, because
//! a typo found at the first scrape would leave the endpoint silently open or unreachable.
//! Certificates and the client CA bundle are re-read when their files change, so rotation
//! needs no restart.

use crate::file_stamp::FileStamp;
use crate::log::Level;
use crate::log_event;
use parking_lot::Mutex;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a handshake may look at the certificate files' modification times.
const RELOAD_CHECK: Duration = Duration::from_secs(2);

/// Response headers the server itself controls; the config may not set them.
const RESERVED_HEADERS: &[&str] = &[
    "content-length",
    "content-type",
    "content-encoding",
    "connection",
    "transfer-encoding",
    "www-authenticate",
    "vary",
];

#[derive(Debug)]
pub enum WebConfigError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Parse {
        path: PathBuf,
        reason: String,
    },
    Invalid {
        path: PathBuf,
        key: &'static str,
        reason: String,
    },
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebConfigError::Read { path, source } => {
                write!(f, "--tls-config {}: {source}", path.display())
            }
            WebConfigError::Parse { path, reason } => {
                write!(f, "--tls-config {}: {reason}", path.display())
            }
            WebConfigError::Invalid { path, key, reason } => {
                write!(f, "--tls-config {}: {key}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for WebConfigError {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    tls_server_config: Option<FileTls>,
    #[serde(default)]
    http_server_config: Option<FileHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    #[serde(default)]
    client_ca_file: String,
    #[serde(default)]
    client_auth_type: String,
    #[serde(default)]
    min_version: String,
    #[serde(default)]
    max_version: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Accepted for compatibility; this server speaks HTTP/1.1 only.
    #[serde(default)]
    http2: Option<bool>,
}

/// The validated web configuration.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// None: plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// username → bcrypt hash; empty: no basic auth.
    pub users: BTreeMap<String, String>,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(s: &str) -> Option<ClientAuth> {
        Some(match s {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            // "RequireClientCert" is the toolkit's old spelling
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            _ => return None,
        })
    }
}

fn version(s: &str) -> Option<Option<&'static rustls::SupportedProtocolVersion>> {
    match s {
        "" => Some(None),
        "TLS12" => Some(Some(&rustls::version::TLS12)),
        "TLS13" => Some(Some(&rustls::version::TLS13)),
        _ => None,
    }
}

/// Reads and validates the file; builds the TLS server configuration when it has one.
pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

fn parse(path: &Path, text: &str) -> Result<WebConfig, WebConfigError> {
    let file: FileConfig = if text.trim().is_empty() {
        FileConfig::default()
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| WebConfigError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
    };
    let invalid = |key: &'static str, reason: String| WebConfigError::Invalid {
        path: path.to_path_buf(),
        key,
        reason,
    };
    // relative file names are relative to the config file, as in exporter-toolkit
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |f: &str| -> PathBuf {
        let p = Path::new(f);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let mut users = BTreeMap::new();
    for (user, hash) in file.basic_auth_users.unwrap_or_default() {
        if user.contains(':') || user.is_empty() {
            return Err(invalid(
                "basic_auth_users",
                format!("invalid user name {user:?}"),
            ));
        }
        if bcrypt_cost(&hash).is_none() {
            return Err(invalid(
                "basic_auth_users",
                format!("password of {user:?} is not a bcrypt hash ($2a$/$2b$/$2y$)"),
            ));
        }
        users.insert(user, hash);
    }
    let mut headers = Vec::new();
    let http = file.http_server_config.unwrap_or_default();
    let _ = http.http2;
    for (k, v) in http.headers {
        let lower = k.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(invalid(
                "http_server_config.headers",
                format!("{k} is set by the server and cannot be configured"),
            ));
        }
        let token = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token || v.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(invalid(
                "http_server_config.headers",
                format!("invalid header {k:?}: {v:?}"),
            ));
        }
        headers.push((k, v));
    }
    let tls = match file.tls_server_config {
        None => None,
        Some(t) => {
            if t.cert_file.is_empty() {
                return Err(invalid("tls_server_config.cert_file", "missing".into()));
            }
            if t.key_file.is_empty() {
                return Err(invalid("tls_server_config.key_file", "missing".into()));
            }
            let auth = ClientAuth::parse(&t.client_auth_type).ok_or_else(|| {
                invalid(
                    "tls_server_config.client_auth_type",
                    format!(
                        "unknown {:?} (NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)",
                        t.client_auth_type
                    ),
                )
            })?;
            let min = version(&t.min_version).ok_or_else(|| {
                invalid(
                    "tls_server_config.min_version",
                    format!("unsupported {:?} (TLS12 or TLS13)", t.min_version),
                )
            })?;
            let max = version(&t.max_version).ok_or_else(|| {
                invalid(
                    "tls_server_config.max_version",
                    format!("unsupported {:?} (TLS12 or TLS13)", t.max_version),
                )
            })?;
            let mut versions: Vec<&'static rustls::SupportedProtocolVersion> =
                vec![&rustls::version::TLS12, &rustls::version::TLS13];
            if min == Some(&rustls::version::TLS13) {
                versions.retain(|v| v.version == rustls::ProtocolVersion::TLSv1_3);
            }
            if max == Some(&rustls::version::TLS12) {
                versions.retain(|v| v.version == rustls::ProtocolVersion::TLSv1_2);
            }
            if versions.is_empty() {
                return Err(invalid(
                    "tls_server_config.max_version",
                    "is lower than min_version".into(),
                ));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier: Option<Arc<dyn ClientCertVerifier>> = if auth == ClientAuth::NoClientCert
            {
                if !t.client_ca_file.is_empty() {
                    return Err(invalid(
                        "tls_server_config.client_ca_file",
                        "set without a client_auth_type that uses it".into(),
                    ));
                }
                None
            } else if matches!(
                auth,
                ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert
            ) {
                Some(Arc::new(AnyClientCert {
                    mandatory: auth == ClientAuth::RequireAnyClientCert,
                    provider: provider.clone(),
                }))
            } else {
                if t.client_ca_file.is_empty() {
                    return Err(invalid(
                        "tls_server_config.client_ca_file",
                        format!("required by client_auth_type {}", t.client_auth_type),
                    ));
                }
                let verifier = ReloadingClientCa::new(
                    resolve(&t.client_ca_file),
                    auth == ClientAuth::VerifyClientCertIfGiven,
                    provider.clone(),
                )
                .map_err(|e| invalid("tls_server_config.client_ca_file", e))?;
                Some(Arc::new(verifier))
            };
            let resolver = ReloadingCert::new(
                resolve(&t.cert_file),
                resolve(&t.key_file),
                provider.clone(),
            )
            .map_err(|e| invalid("tls_server_config.cert_file", e))?;
            let builder = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&versions)
                .map_err(|e| invalid("tls_server_config.min_version", e.to_string()))?;
            let builder = match verifier {
                Some(v) => builder.with_client_cert_verifier(v),
                None => builder.with_no_client_auth(),
            };
            let mut cfg = builder.with_cert_resolver(Arc::new(resolver));
            cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(Arc::new(cfg))
        }
    };
    Ok(WebConfig {
        tls,
        users,
        headers,
    })
}

/// The cost of a `$2a$`/`$2b$`/`$2y$` bcrypt hash, None when it is not one.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let rest = hash
        .strip_prefix("$2a$")
        .or_else(|| hash.strip_prefix("$2b$"))
        .or_else(|| hash.strip_prefix("$2y$"))?;
    let (cost, salted) = rest.split_once('$')?;
    (salted.len() == 53).then_some(())?;
    cost.parse().ok().filter(|c| (4..=31).contains(c))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn load_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let certs = read_certs(cert)?;
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let signer = provider
        .key_provider
        .load_private_key(der)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    let ck = CertifiedKey::new(certs, signer);
    ck.keys_match()
        .map_err(|e| format!("{} does not match {}: {e}", key.display(), cert.display()))?;
    Ok(ck)
}

/// The [`FileStamp`] of each file a reloaded value is built from.
type Stamp = Vec<Option<FileStamp>>;

struct ReloadState<T> {
    value: T,
    stamp: Stamp,
    checked: Instant,
    /// The stamp of files that failed to load, so the error is logged once per change.
    failed: Option<Stamp>,
}

/// A value built from files and rebuilt, at most every [`RELOAD_CHECK`], when one of them
/// changes (modification time or size): rotation needs no restart. A build that fails (files
/// caught mid-rotation, a broken bundle) keeps the previous value and is logged once per
/// change.
struct Reloading<T> {
    /// What is reloaded, for log lines: "TLS certificate", "TLS client CA".
    what: &'static str,
    files: Vec<PathBuf>,
    build: Box<dyn Fn() -> Result<T, String> + Send + Sync>,
    state: Mutex<ReloadState<T>>,
}

impl<T: Clone> Reloading<T> {
    fn new(
        what: &'static str,
        files: Vec<PathBuf>,
        build: Box<dyn Fn() -> Result<T, String> + Send + Sync>,
    ) -> Result<Self, String> {
        let stamp = FileStamp::of_all(&files);
        let value = build()?;
        Ok(Reloading {
            what,
            files,
            build,
            state: Mutex::new(ReloadState {
                value,
                stamp,
                checked: Instant::now(),
                failed: None,
            }),
        })
    }

    fn current(&self) -> T {
        let mut s = self.state.lock();
        if s.checked.elapsed() >= RELOAD_CHECK {
            s.checked = Instant::now();
            let now = FileStamp::of_all(&self.files);
            if now != s.stamp && s.failed.as_ref() != Some(&now) {
                let file = self.files[0].display();
                match (self.build)() {
                    Ok(v) => {
                        s.value = v;
                        s.stamp = now;
                        s.failed = None;
                        let msg = format!("{} reloaded", self.what);
                        log_event!(Level::Info, &msg, file = file);
                    }
                    Err(e) => {
                        s.failed = Some(now);
                        let msg = format!("{} reload failed, keeping the previous one", self.what);
                        log_event!(Level::Error, &msg, file = file, err = e);
                    }
                }
            }
        }
        s.value.clone()
    }

    /// Makes the next `current` look at the files again (tests).
    #[cfg(test)]
    fn recheck_now(&self) {
        self.state.lock().checked -= RELOAD_CHECK;
    }
}

/// Hands out the current certificate and key pair, re-read when their files change.
pub struct ReloadingCert {
    inner: Reloading<Arc<CertifiedKey>>,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("files", &self.inner.files)
            .finish()
    }
}

impl ReloadingCert {
    fn new(cert: PathBuf, key: PathBuf, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let files = vec![cert.clone(), key.clone()];
        let build = move || load_key(&cert, &key, &provider).map(Arc::new);
        Ok(ReloadingCert {
            inner: Reloading::new("TLS certificate", files, Box::new(build))?,
        })
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.inner.current()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The client CA bundle for RequireAndVerifyClientCert / VerifyClientCertIfGiven, re-read
/// when the file changes, as exporter-toolkit reads it on every handshake: a CA rotation
/// needs no restart. No CA names are sent as hints (they would be stale after a rotation);
/// clients then offer whatever certificate they have, which is verified all the same.
struct ReloadingClientCa {
    optional: bool,
    inner: Reloading<Arc<dyn ClientCertVerifier>>,
}

impl fmt::Debug for ReloadingClientCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingClientCa")
            .field("files", &self.inner.files)
            .field("optional", &self.optional)
            .finish()
    }
}

fn build_ca_verifier(
    path: &Path,
    optional: bool,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in read_certs(path)? {
        roots.add(c).map_err(|e| e.to_string())?;
    }
    let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if optional {
        b = b.allow_unauthenticated();
    }
    b.build().map_err(|e| e.to_string())
}

impl ReloadingClientCa {
    fn new(path: PathBuf, optional: bool, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let files = vec![path.clone()];
        let build = move || build_ca_verifier(&path, optional, &provider);
        Ok(ReloadingClientCa {
            optional,
            inner: Reloading::new("TLS client CA", files, Box::new(build))?,
        })
    }

    fn current(&self) -> Arc<dyn ClientCertVerifier> {
        self.inner.current()
    }
}

impl ClientCertVerifier for ReloadingClientCa {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        !self.optional
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.current()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current().supported_verify_schemes()
    }
}

/// RequestClientCert / RequireAnyClientCert: a certificate is asked for (or required) and
/// its possession proven by the handshake signature, but it is not checked against a CA.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certs() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor-certs")
    }

    fn parse_in(text: &str) -> Result<WebConfig, WebConfigError> {
        parse(&certs().join("web.yml"), text)
    }

    #[test]
    fn validates_and_names_the_key() {
        let err = |t: &str| parse_in(t).unwrap_err().to_string();
        assert!(err("tls_server_config:\n  key_file: server.key\n").contains("cert_file: missing"));
        assert!(err("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Maybe\n")
            .contains("client_auth_type"));
        assert!(err("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS10\n")
            .contains("min_version"));
        assert!(err("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n")
            .contains("client_ca_file: required"));
        assert!(
            err("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n")
                .contains("does not match")
        );
        assert!(
            err("tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n")
                .contains("cert_file")
        );
        assert!(err("tls_server_config:\n  cert_file: a\n  bogus: 1\n").contains("bogus"));
        assert!(err("basic_auth_users:\n  alice: plain\n").contains("basic_auth_users"));
        assert!(
            err("http_server_config:\n  headers:\n    Content-Length: \"1\"\n")
                .contains("http_server_config.headers")
        );
    }

    #[test]
    fn builds_tls_and_keeps_users_and_headers() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let c = parse_in(&format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS13\nbasic_auth_users:\n  alice: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        ))
        .unwrap();
        assert!(c.tls.is_some());
        assert_eq!(c.users.len(), 1);
        assert_eq!(c.headers, vec![("X-Frame-Options".into(), "deny".into())]);
        let plain = parse_in("").unwrap();
        assert!(plain.tls.is_none() && plain.users.is_empty());
    }

    #[test]
    fn reload_swaps_valid_pairs_and_keeps_the_old_on_errors() {
        let dir = std::env::temp_dir().join(format!("kubestate-tls-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        std::fs::copy(certs().join("server.crt"), &crt).unwrap();
        std::fs::copy(certs().join("server.key"), &key).unwrap();
        let r = ReloadingCert::new(
            crt.clone(),
            key.clone(),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .unwrap();
        let first = r.current().cert[0].clone();
        std::fs::write(&crt, "garbage").unwrap();
        r.inner.recheck_now();
        assert_eq!(r.current().cert[0], first, "broken file keeps the old cert");
        std::fs::copy(certs().join("wrong-server.crt"), &crt).unwrap();
        std::fs::copy(certs().join("wrong-server.key"), &key).unwrap();
        r.inner.recheck_now();
        assert_ne!(r.current().cert[0], first, "new pair is used");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn client_ca_reload_changes_who_is_accepted_and_keeps_the_old_on_errors() {
        let dir =
            std::env::temp_dir().join(format!("kubestate-tls-ca-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.crt");
        std::fs::copy(certs().join("ca.crt"), &ca).unwrap();
        let v = ReloadingClientCa::new(
            ca.clone(),
            false,
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .unwrap();
        let client = read_certs(&certs().join("client.crt")).unwrap();
        let accepts = |v: &ReloadingClientCa| {
            v.verify_client_cert(&client[0], &client[1..], UnixTime::now())
                .is_ok()
        };
        assert!(v.client_auth_mandatory());
        assert!(accepts(&v), "client.crt is signed by ca.crt");
        std::fs::write(&ca, "garbage").unwrap();
        v.inner.recheck_now();
        assert!(accepts(&v), "a broken bundle keeps the previous CA");
        std::fs::copy(certs().join("wrong-ca.crt"), &ca).unwrap();
        v.inner.recheck_now();
        assert!(!accepts(&v), "the new CA did not sign client.crt");
        std::fs::copy(certs().join("ca.crt"), &ca).unwrap();
        v.inner.recheck_now();
        assert!(accepts(&v));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
