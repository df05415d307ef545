//! Where and how to talk to the Kubernetes API server.
//!
//! Follows client-go's loading rules so that a kubeconfig that works for `kubectl` works
//! here, and so that in a pod the service-account credentials are picked up the same way:
//!
//! 1. `--kubeconfig`, else `$KUBECONFIG` (a colon-separated list, merged: the first file that
//!    defines a named cluster/user/context wins, `current-context` comes from the first file
//!    that sets one), else `~/.kube/config` if it exists, else the in-cluster service account.
//! 2. `--context` or `current-context` selects the cluster and user.
//! 3. `--apiserver` overrides the server URL; with neither a kubeconfig nor a pod environment
//!    it is used alone, without credentials.
//!
//! Everything a request needs (CA, client certificate, static tokens) is read here, once, so
//! that a bad path or bad base64 fails at startup with a message naming the file and key,
//! rather than on the first request. The exception is a token *file*: service-account tokens
//! rotate, so [`TokenFile`] re-reads it when it changes.

//!
//! One file per job: [`types`] (what loading produces), [`kubeconfig`] (the file format,
//! `$KUBECONFIG` lists and merging), [`in_cluster`] (the pod's service account),
//! [`token_file`] (rotating bearer tokens), [`proxy`] (`proxy-url`, `HTTPS_PROXY` and
//! `NO_PROXY`) and [`error`] (the catalogue of what can be wrong). This file holds the
//! precedence between them.

mod error;
mod in_cluster;
mod kubeconfig;
mod proxy;
mod token_file;
mod types;

use std::path::PathBuf;

pub use error::{Base64Error, LoadError};
pub use in_cluster::SERVICE_ACCOUNT_DIR;
pub use token_file::TokenFile;
pub use types::{Auth, ClientCertFiles, ClusterConfig, ConfigOptions, ProxyChoice, TlsSettings};

use in_cluster::in_cluster;
use kubeconfig::{kubeconfig_files, Merged};
use proxy::proxy_from_env;

impl ClusterConfig {
    /// Loads the configuration from the process environment (see the module docs).
    pub fn load(opts: &ConfigOptions) -> Result<ClusterConfig, LoadError> {
        load_with(opts, &Environment::from_process())
    }

    /// The kubeconfig files [`ClusterConfig::load`] reads for `opts` (none in-cluster), so a
    /// change to them can be noticed.
    pub fn files(opts: &ConfigOptions) -> Vec<PathBuf> {
        kubeconfig_files(opts, &Environment::from_process())
    }
}

/// The parts of the process environment loading depends on, injectable for tests (which
/// must not mutate process-wide environment variables while running in parallel).
#[derive(Debug, Clone)]
struct Environment {
    /// `$KUBECONFIG`.
    kubeconfig: Option<String>,
    /// `$HOME`, for `~/.kube/config`.
    home: Option<PathBuf>,
    service_host: Option<String>,
    service_port: Option<String>,
    /// Directory holding the service-account `token` and `ca.crt`.
    service_account_dir: PathBuf,
    /// `$HTTPS_PROXY` (or `$https_proxy`), used for https servers.
    https_proxy: Option<String>,
    /// `$HTTP_PROXY` (or `$http_proxy`), used for plain-http servers.
    http_proxy: Option<String>,
    /// `$NO_PROXY` (or `$no_proxy`).
    no_proxy: Option<String>,
}

impl Environment {
    fn from_process() -> Environment {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Environment {
            kubeconfig: var("KUBECONFIG"),
            home: var("HOME").map(PathBuf::from),
            service_host: var("KUBERNETES_SERVICE_HOST"),
            service_port: var("KUBERNETES_SERVICE_PORT"),
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            // Upper case first, as Go's net/http does; ALL_PROXY is not used by client-go.
            https_proxy: var("HTTPS_PROXY").or_else(|| var("https_proxy")),
            http_proxy: var("HTTP_PROXY").or_else(|| var("http_proxy")),
            no_proxy: var("NO_PROXY").or_else(|| var("no_proxy")),
        }
    }
}

fn load_with(opts: &ConfigOptions, env: &Environment) -> Result<ClusterConfig, LoadError> {
    let mut cfg = load_without_proxy(opts, env)?;
    if cfg.proxy.is_none() {
        cfg.proxy = proxy_from_env(&cfg.server, env)?;
    }
    cfg.disable_compression |= opts.disable_compression;
    Ok(cfg)
}

fn load_without_proxy(opts: &ConfigOptions, env: &Environment) -> Result<ClusterConfig, LoadError> {
    let files = kubeconfig_files(opts, env);
    if !files.is_empty() {
        let merged = Merged::load(&files)?;
        return merged.resolve(opts);
    }
    if let (Some(host), Some(port)) = (&env.service_host, &env.service_port) {
        // Like client-go, a pod without a mounted token is "not in-cluster" when an
        // --apiserver is given; without one, the missing token is the error worth reporting.
        let token_present = env.service_account_dir.join("token").exists();
        if opts.apiserver.is_some() && !token_present {
            return bare_apiserver(opts);
        }
        let mut cfg = in_cluster(host, port, &env.service_account_dir)?;
        if let Some(apiserver) = &opts.apiserver {
            cfg.server = normalize_server(apiserver, "--apiserver")?;
        }
        return Ok(cfg);
    }
    if opts.apiserver.is_some() {
        return bare_apiserver(opts);
    }
    let kubeconfig = match &env.kubeconfig {
        Some(list) => format!("no file in $KUBECONFIG ({list}) exists"),
        None => "no --kubeconfig, $KUBECONFIG unset, no ~/.kube/config".to_string(),
    };
    Err(LoadError::NoConfiguration {
        tried: format!("{kubeconfig}, KUBERNETES_SERVICE_HOST/PORT unset, no --apiserver"),
    })
}

/// `--apiserver` alone: no kubeconfig and no pod credentials (e.g. `kubectl proxy`).
fn bare_apiserver(opts: &ConfigOptions) -> Result<ClusterConfig, LoadError> {
    Ok(ClusterConfig {
        server: normalize_server(opts.apiserver.as_deref().unwrap_or_default(), "--apiserver")?,
        tls: TlsSettings::default(),
        auth: Auth::None,
        source: "--apiserver without credentials".to_string(),
        cluster_name: None,
        proxy: None,
        disable_compression: false,
    })
}

/// Accepts `https://host:port[/prefix]`, `http://…`, or a bare `host:port` (https, like
/// client-go); strips trailing slashes so callers can append `/api/v1/...`.
fn normalize_server(raw: &str, origin: &str) -> Result<String, LoadError> {
    let invalid = |reason| LoadError::InvalidServer {
        server: raw.to_string(),
        origin: origin.to_string(),
        reason,
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    let url = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        rest
    } else {
        return Err(invalid("the scheme must be https:// or http://"));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid("it has no host"));
    }
    if rest.contains('?') || rest.contains('#') {
        return Err(invalid("it must not contain a query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory removed on drop (no tempfile crate in the dependency tree).
    pub(crate) struct TempDir(pub(crate) PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "kubestate-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        pub(crate) fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub(super) fn no_env() -> Environment {
        Environment {
            kubeconfig: None,
            home: None,
            service_host: None,
            service_port: None,
            service_account_dir: PathBuf::from("/nonexistent/kubestate-test"),
            https_proxy: None,
            http_proxy: None,
            no_proxy: None,
        }
    }

    pub(super) fn explicit(path: &Path) -> ConfigOptions {
        ConfigOptions {
            kubeconfig: Some(path.to_path_buf()),
            ..ConfigOptions::default()
        }
    }

    pub(super) fn auth_header(cfg: &ClusterConfig) -> Option<String> {
        cfg.authorization().unwrap()
    }

    #[test]
    fn home_kubeconfig_used_when_kubeconfig_env_unset() {
        let dir = TempDir::new("home");
        dir.write(".kube/config", kubeconfig::tests::TWO_CONTEXTS);
        let env = Environment {
            home: Some(dir.0.clone()),
            // In-cluster must lose against ~/.kube/config.
            service_host: Some("10.0.0.1".to_string()),
            service_port: Some("443".to_string()),
            ..no_env()
        };
        let cfg = load_with(&ConfigOptions::default(), &env).unwrap();
        assert_eq!(cfg.server, "https://dev.example:6443");
    }

    #[test]
    pub(super) fn explicit_kubeconfig_must_exist() {
        let dir = TempDir::new("kc");
        let err = load_with(&explicit(&dir.0.join("absent")), &no_env()).unwrap_err();
        assert!(
            matches!(
                err,
                LoadError::Io {
                    what: "kubeconfig",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    pub(super) fn service_account_dir(token: &str) -> TempDir {
        let dir = TempDir::new("sa");
        dir.write("token", token);
        dir.write("ca.crt", "SA CA");
        dir
    }

    pub(super) fn in_cluster_env(dir: &TempDir, host: &str) -> Environment {
        Environment {
            service_host: Some(host.to_string()),
            service_port: Some("443".to_string()),
            service_account_dir: dir.0.clone(),
            ..no_env()
        }
    }

    #[test]
    fn pod_env_without_token_falls_back_to_bare_apiserver() {
        let dir = TempDir::new("sa");
        let opts = ConfigOptions {
            apiserver: Some("https://k:6443".to_string()),
            ..ConfigOptions::default()
        };
        let cfg = load_with(&opts, &in_cluster_env(&dir, "10.0.0.1")).unwrap();
        assert_eq!(cfg.server, "https://k:6443");
        assert!(matches!(cfg.auth, Auth::None));
    }

    #[test]
    fn apiserver_alone_has_no_credentials() {
        let opts = ConfigOptions {
            apiserver: Some("http://127.0.0.1:8001".to_string()),
            ..ConfigOptions::default()
        };
        let cfg = load_with(&opts, &no_env()).unwrap();
        assert_eq!(cfg.server, "http://127.0.0.1:8001");
        assert!(matches!(cfg.auth, Auth::None));
        assert!(cfg.tls.ca_pem.is_none());
    }

    #[test]
    fn nothing_configured_explains_what_was_tried() {
        let err = load_with(&ConfigOptions::default(), &no_env()).unwrap_err();
        assert!(matches!(err, LoadError::NoConfiguration { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("KUBERNETES_SERVICE_HOST") && msg.contains("--apiserver"),
            "{msg}"
        );
    }

    #[test]
    fn server_urls_are_normalized_or_rejected() {
        assert_eq!(normalize_server("k:6443", "t").unwrap(), "https://k:6443");
        assert_eq!(
            normalize_server(" https://k/prefix// ", "t").unwrap(),
            "https://k/prefix"
        );
        for bad in ["", "ftp://k", "https://", "https://k/?x=1"] {
            assert!(
                matches!(
                    normalize_server(bad, "t"),
                    Err(LoadError::InvalidServer { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
