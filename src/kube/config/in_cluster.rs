//! In-cluster configuration: the service account the kubelet mounts into every pod, as
//! client-go's `rest.InClusterConfig` reads it.

use std::path::Path;

use super::error::LoadError;
use super::normalize_server;
use super::token_file::TokenFile;
use super::types::{Auth, ClusterConfig, TlsSettings};

/// Where the in-cluster service-account credentials are mounted by the kubelet.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The pod's service account: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`
/// (an IPv6 host bracketed), the token (re-read when rotated) and CA from `dir`.
pub(super) fn in_cluster(host: &str, port: &str, dir: &Path) -> Result<ClusterConfig, LoadError> {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let server = normalize_server(
        &format!("https://{host}:{port}"),
        "KUBERNETES_SERVICE_HOST/PORT",
    )?;
    let token = TokenFile::new(dir.join("token"))?;
    let ca_path = dir.join("ca.crt");
    let ca = std::fs::read(&ca_path).map_err(|source| LoadError::Io {
        what: "service-account CA",
        path: ca_path.clone(),
        source,
    })?;
    Ok(ClusterConfig {
        server,
        tls: TlsSettings {
            ca_pem: Some(ca),
            ..TlsSettings::default()
        },
        auth: Auth::TokenFile(token),
        source: "in-cluster service account".to_string(),
        cluster_name: None,
        proxy: None,
        disable_compression: false,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::tests::{auth_header, in_cluster_env, service_account_dir, TempDir};
    use super::super::{load_with, Auth, ConfigOptions, LoadError};

    #[test]
    fn in_cluster_uses_service_account_and_rereads_rotated_token() {
        let dir = service_account_dir("first-token\n");
        let cfg = load_with(
            &ConfigOptions::default(),
            &in_cluster_env(&dir, "10.96.0.1"),
        )
        .unwrap();
        assert_eq!(cfg.server, "https://10.96.0.1:443");
        assert_eq!(cfg.source, "in-cluster service account");
        assert_eq!(cfg.tls.ca_pem.as_deref(), Some(&b"SA CA"[..]));
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer first-token"));

        // The kubelet rotates the token: new content, new mtime.
        let token_path = dir.write("token", "second-token-longer");
        let file = std::fs::File::options()
            .write(true)
            .open(&token_path)
            .unwrap();
        file.set_modified(SystemTime::now() + Duration::from_secs(10))
            .unwrap();
        drop(file);

        // Within the recheck interval the cached token is served without touching the file.
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer first-token"));

        let Auth::TokenFile(tf) = &cfg.auth else {
            panic!("expected a token file, got {:?}", cfg.auth);
        };
        tf.expire_recheck();
        assert_eq!(
            auth_header(&cfg).as_deref(),
            Some("Bearer second-token-longer")
        );
    }

    #[test]
    fn in_cluster_ipv6_host_is_bracketed_and_apiserver_overrides() {
        let dir = service_account_dir("t");
        let cfg = load_with(&ConfigOptions::default(), &in_cluster_env(&dir, "fd00::1")).unwrap();
        assert_eq!(cfg.server, "https://[fd00::1]:443");

        let opts = ConfigOptions {
            apiserver: Some("https://apiserver.internal:6443".to_string()),
            ..ConfigOptions::default()
        };
        let cfg = load_with(&opts, &in_cluster_env(&dir, "fd00::1")).unwrap();
        assert_eq!(cfg.server, "https://apiserver.internal:6443");
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer t"));
    }

    #[test]
    fn in_cluster_without_token_is_an_error() {
        let dir = TempDir::new("sa");
        let err =
            load_with(&ConfigOptions::default(), &in_cluster_env(&dir, "10.0.0.1")).unwrap_err();
        assert!(
            matches!(
                err,
                LoadError::Io {
                    what: "token file",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
