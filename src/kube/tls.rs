//! TEMPORARY stand-in until the TLS module lands (same interface).
use super::config::{ClusterConfig, ConfigError};
pub fn build_agent(_cfg: &ClusterConfig) -> Result<ureq::Agent, ConfigError> {
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(std::time::Duration::from_secs(10)))
        .build()
        .new_agent())
}
