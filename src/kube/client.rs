//! The API client: one ureq agent per cluster, the Authorization header on every request and
//! error statuses decoded before the caller sees a body.

use super::config::{ClusterConfig, ConfigError};
use super::error::ApiError;
use std::time::Duration;
use ureq::http::Response;
use ureq::Body;

pub struct ApiClient {
    agent: ureq::Agent,
    config: ClusterConfig,
}

/// How long one request may take.
#[derive(Debug, Clone, Copy)]
pub enum Timeout {
    /// A LIST page or a single GET: the whole exchange is bounded.
    Total(Duration),
    /// A watch stream: it may last for minutes, but silence longer than this means the
    /// connection is dead (bookmarks arrive well within it).
    Idle(Duration),
}

impl ApiClient {
    pub fn new(config: ClusterConfig) -> Result<Self, ConfigError> {
        let agent = super::tls::build_agent(&config)?;
        Ok(ApiClient { agent, config })
    }

    pub fn server(&self) -> &str {
        &self.config.server
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The agent (TLS to the API server), for requests other than GET: the `--auth-filter`
    /// reviews POST with it and [`ClusterConfig::authorization`].
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// `GET server + path_and_query`; a non-2xx answer becomes an [`ApiError::Status`] built
    /// from the body.
    pub fn get(&self, path_and_query: &str, timeout: Timeout) -> Result<Response<Body>, ApiError> {
        let url = format!("{}{}", self.config.server, path_and_query);
        let mut req = self.agent.get(&url).header("Accept", "application/json");
        if let Some(auth) = self.config.authorization().map_err(ApiError::Config)? {
            req = req.header("Authorization", auth);
        }
        let req = match timeout {
            Timeout::Total(d) => req.config().timeout_global(Some(d)).build(),
            Timeout::Idle(d) => req
                .config()
                .timeout_recv_response(Some(d))
                .timeout_per_read(Some(d))
                .build(),
        };
        let resp = req.call().map_err(|source| ApiError::Transport {
            url: url.clone(),
            source,
        })?;
        let code = resp.status().as_u16();
        if (200..300).contains(&code) {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp
            .into_body()
            .into_with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        Err(ApiError::from_response(&url, code, &body, retry_after))
    }
}
