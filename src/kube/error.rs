//! Errors from talking to the API server, decoded from Kubernetes `Status` bodies into a
//! message a person can act on.

use serde::Deserialize;
use std::fmt;
use std::time::Duration;

use super::config::LoadError;
use super::exec::ExecError;
use super::tls::TlsError;

/// The parts of a `meta/v1 Status` worth showing.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Status {
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// Could not reach the server or the connection broke.
    Transport { url: String, source: ureq::Error },
    /// The server answered with an error status.
    Status {
        url: String,
        status: Status,
        retry_after: Option<Duration>,
    },
    /// A body or a watch event that is not what the API promises.
    Decode {
        url: String,
        what: String,
        detail: String,
    },
    /// Reading the stream failed midway.
    Stream { url: String, source: std::io::Error },
    /// Credentials could not be obtained (an exec plugin failed) or the agent presenting a
    /// new client certificate could not be built.
    Credentials(ConnectError),
}

/// Why kubestate cannot connect to the API server: the configuration could not be loaded,
/// the TLS agent could not be built from it, or an exec plugin gave no credential. Wraps
/// the three boundaries' own errors for the callers that cross more than one (start-up, a
/// kubeconfig reload, a request); the message is the inner one.
#[derive(Debug)]
pub enum ConnectError {
    Load(LoadError),
    Tls(TlsError),
    Exec(ExecError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Load(e) => e.fmt(f),
            ConnectError::Tls(e) => e.fmt(f),
            ConnectError::Exec(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Load(e) => e.source(),
            ConnectError::Tls(e) => e.source(),
            ConnectError::Exec(e) => e.source(),
        }
    }
}

impl From<LoadError> for ConnectError {
    fn from(e: LoadError) -> Self {
        ConnectError::Load(e)
    }
}

impl From<TlsError> for ConnectError {
    fn from(e: TlsError) -> Self {
        ConnectError::Tls(e)
    }
}

impl From<ExecError> for ConnectError {
    fn from(e: ExecError) -> Self {
        ConnectError::Exec(e)
    }
}

impl ApiError {
    /// 410 Gone: the resourceVersion or continue token is too old; only a relist helps.
    pub fn is_gone(&self) -> bool {
        matches!(self, ApiError::Status { status, .. } if status.code == 410)
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether this says the server is not serving at all, rather than refusing one
    /// request: unreachable, a stream cut midway, overloaded (429) or failing (5xx). These
    /// go through the health gate (one probe at a time for every resource); anything else
    /// is the answer of a working server and is retried by the resource alone.
    pub fn is_outage(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Stream { source, .. } => source.kind() != std::io::ErrorKind::InvalidData,
            ApiError::Status { status, .. } => matches!(status.code, 429 | 500 | 502 | 503 | 504),
            ApiError::Decode { .. } | ApiError::Credentials(_) => false,
        }
    }

    pub fn code(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(status.code),
            _ => None,
        }
    }

    /// Builds the error for a non-2xx response from its body, which is a `Status` when the
    /// API server produced it and arbitrary text when a proxy in front of it did.
    pub fn from_response(
        url: &str,
        code: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> ApiError {
        let mut status = serde_json::from_slice::<Status>(body).unwrap_or_default();
        if status.code == 0 {
            status.code = code;
        }
        if status.message.is_empty() {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            status.message = if text.is_empty() {
                "(empty body)".to_string()
            } else {
                text.chars().take(200).collect()
            };
        }
        ApiError::Status {
            url: url.to_string(),
            status,
            retry_after,
        }
    }
}

fn hint(code: u16) -> &'static str {
    match code {
        401 => " (credentials rejected: check the token or client certificate in the kubeconfig)",
        403 => " (RBAC: the identity lacks list/watch on this resource; see `kubestate rbac`)",
        404 => " (resource not served by this API server)",
        410 => " (resourceVersion too old; relisting)",
        429 => " (throttled by the API server)",
        _ => "",
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Transport { url, source } => write!(f, "cannot reach {url}: {source}"),
            ApiError::Status { url, status, .. } => {
                write!(f, "{url}: {} {}", status.code, status.reason)?;
                write!(f, ": {}{}", status.message, hint(status.code))
            }
            ApiError::Decode { url, what, detail } => {
                write!(f, "{url}: malformed {what}: {detail}")
            }
            ApiError::Stream { url, source } => write!(f, "{url}: stream broken: {source}"),
            ApiError::Credentials(e) => write!(f, "credentials: {e}"),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_body_becomes_readable_message() {
        let body = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"x\" cannot list resource \"pods\"","reason":"Forbidden","code":403}"#;
        let e = ApiError::from_response("https://h/api/v1/pods", 403, body, None);
        let s = e.to_string();
        assert!(
            s.starts_with("https://h/api/v1/pods: 403 Forbidden: pods is forbidden: User \"x\""),
            "{s}"
        );
        assert!(s.contains("RBAC"));
    }

    #[test]
    fn non_status_body_is_kept_short() {
        let body = "<html>bad gateway</html>".repeat(50);
        let e = ApiError::from_response("u", 502, body.as_bytes(), None);
        assert_eq!(e.code(), Some(502));
        assert!(e.to_string().len() < 300);
        assert!(ApiError::from_response("u", 410, b"", None).is_gone());
    }

    #[test]
    fn outages_are_told_from_refusals() {
        for code in [429, 500, 502, 503, 504] {
            assert!(
                ApiError::from_response("u", code, b"", None).is_outage(),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 410, 422] {
            assert!(
                !ApiError::from_response("u", code, b"", None).is_outage(),
                "{code}"
            );
        }
        let stream = |kind| ApiError::Stream {
            url: "u".into(),
            source: std::io::Error::new(kind, "x"),
        };
        assert!(stream(std::io::ErrorKind::ConnectionReset).is_outage());
        assert!(stream(std::io::ErrorKind::TimedOut).is_outage());
        // an oversized watch line is the data's fault, not the server's health
        assert!(!stream(std::io::ErrorKind::InvalidData).is_outage());
    }
}
