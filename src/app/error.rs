//! Why kubestate could not start (or a reload could not be applied), and the exit code.

use super::autoshard::AutoShardError;
use crate::discovery::config::SdConfigError;
use crate::kube::error::ConnectError;
use crate::metrics::filter::FilterError;
use crate::metrics::start::SpawnError;
use crate::server::tls::WebConfigError;
use crate::server::ServerError;
use std::fmt;

#[derive(Debug)]
pub enum AppError {
    AutoShard(AutoShardError),
    Filter(FilterError),
    SdConfig(SdConfigError),
    Config(ConnectError),
    Server(ServerError),
    WebConfig(WebConfigError),
    CustomResources(crate::metrics::custom::LoadError),
    Spawn {
        resource: String,
        source: std::io::Error,
    },
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Filter(e) => write!(f, "{e}"),
            AppError::AutoShard(e) => write!(f, "{e}"),
            AppError::SdConfig(e) => write!(f, "--sd-config: {e}"),
            AppError::Config(e) => write!(f, "API server configuration: {e}"),
            AppError::Server(e) => write!(f, "{e}"),
            AppError::WebConfig(e) => write!(f, "{e}"),
            AppError::CustomResources(e) => write!(f, "{e}"),
            AppError::Spawn { resource, source } => {
                write!(f, "cannot start the watch thread for {resource}: {source}")
            }
        }
    }
}

impl std::error::Error for AppError {}

impl From<SpawnError> for AppError {
    fn from(e: SpawnError) -> Self {
        AppError::Spawn {
            resource: e.watch,
            source: e.source,
        }
    }
}

impl AppError {
    /// Usage errors exit 2 (as flag errors do); runtime ones 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Filter(_) | AppError::SdConfig(_) | AppError::WebConfig(_) => 2,
            AppError::CustomResources(e) if !e.is_missing_file() => 2,
            _ => 1,
        }
    }

    /// A thread of `what` could not be started.
    pub(crate) fn spawn(what: &str) -> impl FnOnce(std::io::Error) -> AppError + '_ {
        move |source| AppError::Spawn {
            resource: what.to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_runtime_errors_1() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(AppError::spawn("x")(missing).exit_code(), 1);
        let bad = crate::discovery::config::load(std::path::Path::new("/nonexistent/sd.yaml"))
            .unwrap_err();
        assert_eq!(AppError::SdConfig(bad).exit_code(), 2);
        let e: AppError = SpawnError {
            watch: "pods".into(),
            source: std::io::Error::other("no threads"),
        }
        .into();
        assert_eq!(
            e.to_string(),
            "cannot start the watch thread for pods: no threads"
        );
    }
}
