//! TEMPORARY stand-in until the kubeconfig module lands (same interface).
use std::fmt;
use std::path::PathBuf;

pub struct ConfigOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub apiserver: Option<String>,
}
pub struct TlsSettings {
    pub insecure_skip_verify: bool,
}
pub enum Auth {
    None,
    Bearer(String),
}
pub struct ClusterConfig {
    pub server: String,
    pub tls: TlsSettings,
    pub auth: Auth,
    pub source: String,
}
#[derive(Debug)]
pub enum ConfigError {
    Missing,
}
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no API server configured")
    }
}
impl std::error::Error for ConfigError {}
impl ClusterConfig {
    pub fn load(opts: &ConfigOptions) -> Result<ClusterConfig, ConfigError> {
        let server = opts.apiserver.clone().ok_or(ConfigError::Missing)?;
        let token = std::env::var("KUBESTATE_TOKEN").ok();
        Ok(ClusterConfig {
            server: server.trim_end_matches('/').to_string(),
            tls: TlsSettings {
                insecure_skip_verify: false,
            },
            auth: token.map(Auth::Bearer).unwrap_or(Auth::None),
            source: "--apiserver".into(),
        })
    }
    pub fn authorization(&self) -> Result<Option<String>, ConfigError> {
        Ok(match &self.auth {
            Auth::None => None,
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
        })
    }
}
