//! Exec credential plugins (`users[].user.exec` in a kubeconfig), as client-go runs them.
//!
//! Managed clusters (EKS, GKE, AKS, OIDC setups) hand out short-lived credentials through a
//! helper command (`aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`, ...). The
//! command prints an `ExecCredential` JSON document with a bearer token and/or a client
//! certificate, optionally with an expiry. We run it lazily on the first request, cache the
//! result until shortly before it expires, and run it again when the API server answers 401
//! (the credential was revoked or rotated early).
//!
//! The plugin is run with stdin closed: kubestate is a daemon, so an interactive login can
//! never complete. `interactiveMode: Always` is therefore an error, and `IfAvailable` behaves
//! like `Never` unless stdin happens to be a terminal.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;

use super::time::{parse_rfc3339, Timestamp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// The two ExecCredential versions client-go still accepts (`v1alpha1` was removed).
pub const API_V1: &str = "client.authentication.k8s.io/v1";
pub const API_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// A credential is refreshed this long before it expires, so that a request started just
/// before expiry does not reach the API server with a dead token (client-go has no margin
/// and relies on the 401 retry; a margin avoids the failed round trip).
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// A plugin that has not answered after this long is killed. client-go has no limit, but a
/// hung plugin would stall every watch thread behind the credential lock forever.
const PLUGIN_TIMEOUT: Duration = Duration::from_secs(120);

/// How much stderr to quote in an error: enough for the plugin's message, not a log dump.
const STDERR_QUOTE_LIMIT: usize = 2048;

/// The `exec` stanza of a kubeconfig user, as written.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExecConfig {
    #[serde(default, rename = "apiVersion")]
    pub api_version: Option<String>,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<Vec<ExecEnvVar>>,
    #[serde(default, rename = "installHint")]
    pub install_hint: Option<String>,
    #[serde(default, rename = "interactiveMode")]
    pub interactive_mode: Option<String>,
    #[serde(default, rename = "provideClusterInfo")]
    pub provide_cluster_info: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExecEnvVar {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// client-go's `interactiveMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractiveMode {
    Never,
    IfAvailable,
    Always,
}

impl InteractiveMode {
    /// Whether the plugin runs interactively given whether stdin is a terminal; `Always`
    /// without a terminal cannot work and is reported instead of hanging.
    pub fn resolve(self, stdin_is_tty: bool) -> Result<bool, ExecFailure> {
        match (self, stdin_is_tty) {
            (InteractiveMode::Never, _) => Ok(false),
            (InteractiveMode::IfAvailable, tty) => Ok(tty),
            (InteractiveMode::Always, true) => Ok(true),
            (InteractiveMode::Always, false) => Err(ExecFailure::InteractiveRequired),
        }
    }
}

/// The parts of the cluster a plugin may ask for with `provideClusterInfo: true`.
#[derive(Debug, Clone, Default)]
pub struct ClusterInfo {
    pub server: String,
    pub tls_server_name: Option<String>,
    pub insecure_skip_tls_verify: bool,
    pub ca_pem: Option<Vec<u8>>,
    pub proxy_url: Option<String>,
}

/// Why running the plugin did not yield a credential.
#[derive(Debug)]
pub enum ExecFailure {
    /// The command does not exist; the kubeconfig's `installHint` says how to get it.
    NotFound {
        install_hint: Option<String>,
    },
    /// The command exists but could not be started (permissions, not executable, ...).
    Spawn(std::io::Error),
    /// Non-zero exit; stderr is quoted because that is where plugins explain themselves.
    Exit {
        status: String,
        stderr: String,
    },
    TimedOut(Duration),
    /// Stdout is not an ExecCredential we can use.
    BadOutput(String),
    /// `interactiveMode: Always`, but stdin is not a terminal.
    InteractiveRequired,
}

impl fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecFailure::NotFound { install_hint } => {
                f.write_str("command not found")?;
                if let Some(hint) = install_hint {
                    write!(f, "; {}", hint.trim())?;
                }
                Ok(())
            }
            ExecFailure::Spawn(e) => write!(f, "cannot start: {e}"),
            ExecFailure::Exit { status, stderr } => {
                write!(f, "exited with {status}")?;
                if stderr.trim().is_empty() {
                    f.write_str(" (no stderr output)")
                } else {
                    write!(f, "; stderr: {}", stderr.trim())
                }
            }
            ExecFailure::TimedOut(d) => write!(f, "did not finish within {}s", d.as_secs()),
            ExecFailure::BadOutput(detail) => {
                write!(f, "printed an unusable ExecCredential: {detail}")
            }
            ExecFailure::InteractiveRequired => f.write_str(
                "interactiveMode is Always but stdin is not a terminal (kubestate runs \
                 unattended); use a plugin mode that works without user input",
            ),
        }
    }
}

/// Why an exec credential plugin gave no credential: its kubeconfig stanza is unusable, or
/// running it failed. Both name the kubeconfig user, because that is what an operator
/// edits.
#[derive(Debug)]
pub enum ExecError {
    /// The `exec` stanza of a user is unusable (bad apiVersion, no command, ...).
    Invalid {
        user: String,
        kubeconfig: String,
        reason: String,
    },
    /// Running the plugin did not produce a credential.
    Failed {
        user: String,
        command: String,
        reason: ExecFailure,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Invalid {
                user,
                kubeconfig,
                reason,
            } => write!(
                f,
                "exec credential plugin of user {user:?} in {kubeconfig}: {reason}"
            ),
            ExecError::Failed {
                user,
                command,
                reason,
            } => write!(
                f,
                "exec credential plugin {command:?} of user {user:?}: {reason}"
            ),
        }
    }
}

impl std::error::Error for ExecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExecError::Failed {
                reason: ExecFailure::Spawn(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

/// PEM client certificate and key, shared so comparing and cloning is cheap.
pub type PemPair = (Arc<Vec<u8>>, Arc<Vec<u8>>);

/// A credential returned by the plugin.
pub struct Credential {
    pub token: Option<String>,
    /// PEM client certificate and key.
    pub client_cert: Option<PemPair>,
    pub expires: Option<SystemTime>,
    obtained: Instant,
}

impl fmt::Debug for Credential {
    /// Never prints the token or key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("client_cert", &self.client_cert.is_some())
            .field("expires", &self.expires)
            .finish()
    }
}

impl Credential {
    fn fresh_at(&self, now: SystemTime) -> bool {
        match self.expires {
            None => true,
            Some(exp) => now + REFRESH_MARGIN < exp,
        }
    }
}

/// A configured plugin plus its cached credential; shared by all request threads.
pub struct ExecAuth {
    user: String,
    api_version: String,
    command: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    install_hint: Option<String>,
    interactive: InteractiveMode,
    cluster: Option<ClusterInfo>,
    /// The lock also serializes plugin runs: forty watch threads starting at once must run
    /// `aws eks get-token` once, not forty times.
    cache: Mutex<Option<Arc<Credential>>>,
    runs: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for ExecAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecAuth")
            .field("user", &self.user)
            .field("api_version", &self.api_version)
            .field("command", &self.command)
            .field("args", &self.args)
            // Values may hold secrets (some plugins take keys via env).
            .field(
                "env",
                &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .field("interactive", &self.interactive)
            .finish()
    }
}

impl ExecAuth {
    /// Validates the stanza. `kubeconfig_dir` resolves a relative command containing a path
    /// separator (client-go does the same); a bare name is looked up in `$PATH`.
    pub fn new(
        user: &str,
        raw: &ExecConfig,
        kubeconfig_dir: &Path,
        kubeconfig: &str,
        cluster: ClusterInfo,
    ) -> Result<ExecAuth, ExecError> {
        let invalid = |reason: String| ExecError::Invalid {
            user: user.to_string(),
            kubeconfig: kubeconfig.to_string(),
            reason,
        };
        let api_version = raw.api_version.clone().unwrap_or_default();
        if api_version != API_V1 && api_version != API_V1BETA1 {
            return Err(invalid(format!(
                "apiVersion {api_version:?} is not supported; use {API_V1} or {API_V1BETA1}"
            )));
        }
        let command = raw
            .command
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| invalid("`command` is missing".to_string()))?;
        let command = if command.contains('/') && !Path::new(&command).is_absolute() {
            kubeconfig_dir.join(&command).display().to_string()
        } else {
            command
        };
        let interactive = match raw.interactive_mode.as_deref() {
            // v1 requires the field in client-go; defaulting keeps older kubeconfigs working.
            None | Some("") | Some("IfAvailable") => InteractiveMode::IfAvailable,
            Some("Never") => InteractiveMode::Never,
            Some("Always") => InteractiveMode::Always,
            Some(other) => {
                return Err(invalid(format!(
                    "interactiveMode {other:?} is not one of Never, IfAvailable, Always"
                )))
            }
        };
        Ok(ExecAuth {
            user: user.to_string(),
            api_version,
            command,
            args: raw.args.clone().unwrap_or_default(),
            env: raw
                .env
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|v| (v.name, v.value))
                .collect(),
            install_hint: raw.install_hint.clone().filter(|h| !h.trim().is_empty()),
            interactive,
            cluster: raw.provide_cluster_info.unwrap_or(false).then_some(cluster),
            cache: Mutex::new(None),
            runs: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn command(&self) -> &str {
        &self.command
    }

    /// How often the plugin has been run (for tests and diagnostics).
    pub fn runs(&self) -> u64 {
        self.runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The cached credential, or a fresh one if there is none or it is about to expire.
    pub fn credential(&self) -> Result<Arc<Credential>, ExecError> {
        let mut cache = self.cache.lock();
        if let Some(cred) = cache.as_ref() {
            if cred.fresh_at(SystemTime::now()) {
                return Ok(cred.clone());
            }
        }
        let cred = Arc::new(self.run().map_err(|reason| ExecError::Failed {
            user: self.user.clone(),
            command: self.command.clone(),
            reason,
        })?);
        *cache = Some(cred.clone());
        Ok(cred)
    }

    /// Drops `used` from the cache after the API server rejected it, so the next
    /// [`credential`](Self::credential) runs the plugin. A credential that was already
    /// replaced by another thread is left alone: one 401 wave, one plugin run.
    pub fn invalidate(&self, used: &Arc<Credential>) {
        let mut cache = self.cache.lock();
        if cache.as_ref().is_some_and(|c| Arc::ptr_eq(c, used)) {
            *cache = None;
        }
    }

    /// The `KUBERNETES_EXEC_INFO` document: always the version, kind and interactivity
    /// (plugins such as kubelogin read it), plus the cluster with `provideClusterInfo`.
    fn exec_info(&self, interactive: bool) -> String {
        let mut spec = json!({ "interactive": interactive });
        if let Some(c) = &self.cluster {
            let mut cluster = BTreeMap::new();
            cluster.insert("server", json!(c.server));
            if let Some(name) = &c.tls_server_name {
                cluster.insert("tls-server-name", json!(name));
            }
            if c.insecure_skip_tls_verify {
                cluster.insert("insecure-skip-tls-verify", json!(true));
            }
            if let Some(ca) = &c.ca_pem {
                cluster.insert("certificate-authority-data", json!(STANDARD.encode(ca)));
            }
            if let Some(proxy) = &c.proxy_url {
                cluster.insert("proxy-url", json!(proxy));
            }
            spec["cluster"] = json!(cluster);
        }
        json!({ "apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec })
            .to_string()
    }

    fn run(&self) -> Result<Credential, ExecFailure> {
        let stdin_is_tty = stdin_is_terminal();
        let interactive = self.interactive.resolve(stdin_is_tty)?;
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut cmd = Command::new(&self.command);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("KUBERNETES_EXEC_INFO", self.exec_info(interactive))
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ExecFailure::NotFound {
                install_hint: self.install_hint.clone(),
            },
            _ => ExecFailure::Spawn(e),
        })?;
        // Both pipes are drained on their own threads so a chatty plugin cannot block on a
        // full pipe while we wait for it to exit.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < PLUGIN_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ExecFailure::TimedOut(PLUGIN_TIMEOUT));
                }
                Err(e) => return Err(ExecFailure::Spawn(e)),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        if !status.success() {
            let mut stderr = String::from_utf8_lossy(&stderr).to_string();
            if stderr.len() > STDERR_QUOTE_LIMIT {
                let mut cut = STDERR_QUOTE_LIMIT;
                while !stderr.is_char_boundary(cut) {
                    cut -= 1;
                }
                stderr.truncate(cut);
                stderr.push_str("...");
            }
            return Err(ExecFailure::Exit {
                status: status.to_string(),
                stderr,
            });
        }
        parse_credential(&stdout, &self.api_version).map_err(ExecFailure::BadOutput)
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

#[derive(Deserialize)]
struct RawCredential {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    status: Option<RawStatus>,
}

#[derive(Deserialize)]
struct RawStatus {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "clientCertificateData")]
    client_certificate_data: Option<String>,
    #[serde(default, rename = "clientKeyData")]
    client_key_data: Option<String>,
    #[serde(default, rename = "expirationTimestamp")]
    expiration_timestamp: Option<String>,
}

/// Checks the document the way client-go does; the message never quotes the token.
/// Public (hidden) only so the fuzz target can reach it.
#[doc(hidden)]
pub fn parse_credential(stdout: &[u8], expected_version: &str) -> Result<Credential, String> {
    let raw: RawCredential =
        serde_json::from_slice(stdout).map_err(|e| format!("not ExecCredential JSON: {e}"))?;
    let version = raw.api_version.unwrap_or_default();
    if version != expected_version {
        return Err(format!(
            "apiVersion {version:?} does not match the kubeconfig's {expected_version:?}"
        ));
    }
    if raw.kind.as_deref() != Some("ExecCredential") {
        return Err(format!(
            "kind {:?} is not \"ExecCredential\"",
            raw.kind.unwrap_or_default()
        ));
    }
    let status = raw.status.ok_or_else(|| "it has no `status`".to_string())?;
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let token = non_empty(status.token);
    let cert = non_empty(status.client_certificate_data);
    let key = non_empty(status.client_key_data);
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((Arc::new(c.into_bytes()), Arc::new(k.into_bytes()))),
        (None, None) => None,
        (Some(_), None) => return Err("clientCertificateData without clientKeyData".to_string()),
        (None, Some(_)) => return Err("clientKeyData without clientCertificateData".to_string()),
    };
    if token.is_none() && client_cert.is_none() {
        return Err(
            "status has neither a token nor clientCertificateData/clientKeyData".to_string(),
        );
    }
    let expires = match non_empty(status.expiration_timestamp) {
        None => None,
        Some(ts) => Some(
            parse_rfc3339(&ts)
                .and_then(Timestamp::to_system_time)
                .ok_or_else(|| format!("expirationTimestamp {ts:?} is not RFC 3339"))?,
        ),
    };
    Ok(Credential {
        token,
        client_cert,
        expires,
        obtained: Instant::now(),
    })
}

impl Credential {
    /// When the plugin produced this credential.
    pub fn obtained(&self) -> Instant {
        self.obtained
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interactive_mode_without_terminal() {
        assert!(!InteractiveMode::Never.resolve(true).unwrap());
        assert!(!InteractiveMode::IfAvailable.resolve(false).unwrap());
        assert!(InteractiveMode::IfAvailable.resolve(true).unwrap());
        assert!(InteractiveMode::Always.resolve(true).unwrap());
        let err = InteractiveMode::Always.resolve(false).unwrap_err();
        assert!(err.to_string().contains("not a terminal"), "{err}");
    }

    #[test]
    fn credential_output_is_validated() {
        let ok = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
            "status":{"token":"SECRET","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#;
        let cred = parse_credential(ok, API_V1).unwrap();
        assert_eq!(cred.token.as_deref(), Some("SECRET"));
        assert!(cred.expires.is_some());
        assert!(!format!("{cred:?}").contains("SECRET"));

        let err = parse_credential(ok, API_V1BETA1).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        for (doc, want) in [
            (&b"not json"[..], "not ExecCredential JSON"),
            (
                br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}"#,
                "no `status`",
            ),
            (
                br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#,
                "neither a token",
            ),
            (
                br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"C"}}"#,
                "without clientKeyData",
            ),
            (
                br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"SECRET","expirationTimestamp":"soon"}}"#,
                "not RFC 3339",
            ),
            (
                br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"Other","status":{"token":"SECRET"}}"#,
                "kind",
            ),
        ] {
            let err = parse_credential(doc, API_V1).unwrap_err();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn exec_info_carries_cluster_only_when_asked() {
        let raw = ExecConfig {
            api_version: Some(API_V1.to_string()),
            command: Some("plugin".to_string()),
            interactive_mode: Some("Never".to_string()),
            ..ExecConfig::default()
        };
        let cluster = ClusterInfo {
            server: "https://k:6443".to_string(),
            ca_pem: Some(b"CA".to_vec()),
            ..ClusterInfo::default()
        };
        let plain = ExecAuth::new("u", &raw, Path::new("."), "kc", cluster.clone()).unwrap();
        let info: serde_json::Value = serde_json::from_str(&plain.exec_info(false)).unwrap();
        assert_eq!(
            info,
            json!({"apiVersion": API_V1, "kind": "ExecCredential", "spec": {"interactive": false}})
        );
        let with = ExecConfig {
            provide_cluster_info: Some(true),
            ..raw
        };
        let auth = ExecAuth::new("u", &with, Path::new("."), "kc", cluster).unwrap();
        let info: serde_json::Value = serde_json::from_str(&auth.exec_info(false)).unwrap();
        assert_eq!(info["spec"]["cluster"]["server"], "https://k:6443");
        assert_eq!(
            info["spec"]["cluster"]["certificate-authority-data"],
            "Q0E="
        );
    }

    #[test]
    fn invalid_stanzas_are_rejected() {
        let base = ExecConfig {
            api_version: Some(API_V1BETA1.to_string()),
            command: Some("plugin".to_string()),
            ..ExecConfig::default()
        };
        let check = |raw: ExecConfig, want: &str| {
            let err = ExecAuth::new("eks", &raw, Path::new("."), "kc", ClusterInfo::default())
                .unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(want) && msg.contains("eks"), "{msg}");
        };
        check(
            ExecConfig {
                api_version: Some("client.authentication.k8s.io/v1alpha1".to_string()),
                ..base.clone()
            },
            "v1alpha1",
        );
        check(
            ExecConfig {
                command: None,
                ..base.clone()
            },
            "command",
        );
        check(
            ExecConfig {
                interactive_mode: Some("Sometimes".to_string()),
                ..base.clone()
            },
            "Sometimes",
        );
        let rel = ExecConfig {
            command: Some("bin/plugin".to_string()),
            ..base
        };
        let auth = ExecAuth::new(
            "u",
            &rel,
            Path::new("/etc/kube"),
            "kc",
            ClusterInfo::default(),
        )
        .unwrap();
        assert_eq!(auth.command(), "/etc/kube/bin/plugin");
    }
}
