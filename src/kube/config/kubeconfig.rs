//! Kubeconfig files as client-go reads them: the file format, `$KUBECONFIG` lists merged
//! with the first-definition-wins rule, relative paths resolved against the defining file,
//! `*-data` keys winning over paths, and the selected context resolved to a
//! [`ClusterConfig`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{DecodeError, Engine as _};
use serde::Deserialize;

use super::error::{Base64Error, LoadError};
use super::proxy::validate_proxy;
use super::token_file::TokenFile;
use super::types::{Auth, ClientCertFiles, ClusterConfig, ConfigOptions, ProxyChoice, TlsSettings};
use super::{normalize_server, Environment};
use crate::kube::exec::{ClusterInfo, ExecAuth, ExecConfig, ExecError};

/// The kubeconfig files to merge, in precedence order. An explicit `--kubeconfig` is
/// returned even if missing (reading it then fails loudly); `$KUBECONFIG` entries that do not
/// exist are skipped like client-go does.
pub(super) fn kubeconfig_files(opts: &ConfigOptions, env: &Environment) -> Vec<PathBuf> {
    if let Some(path) = &opts.kubeconfig {
        return vec![path.clone()];
    }
    if let Some(list) = &env.kubeconfig {
        let mut files: Vec<PathBuf> = Vec::new();
        for entry in list.split(':').filter(|e| !e.is_empty()) {
            let path = PathBuf::from(entry);
            if path.exists() && !files.contains(&path) {
                files.push(path);
            }
        }
        return files;
    }
    if let Some(home) = &env.home {
        let path = home.join(".kube").join("config");
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

#[derive(Debug, Default, Deserialize)]
struct RawKubeconfig {
    #[serde(default, rename = "current-context")]
    current_context: Option<String>,
    #[serde(default)]
    clusters: Option<Vec<NamedCluster>>,
    #[serde(default)]
    users: Option<Vec<NamedUser>>,
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
}

#[derive(Debug, Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default)]
    cluster: Option<RawCluster>,
}

#[derive(Debug, Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: Option<RawUser>,
}

#[derive(Debug, Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: Option<RawContext>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawCluster {
    #[serde(default)]
    server: Option<String>,
    #[serde(default, rename = "certificate-authority")]
    certificate_authority: Option<String>,
    #[serde(default, rename = "certificate-authority-data")]
    certificate_authority_data: Option<String>,
    #[serde(default, rename = "insecure-skip-tls-verify")]
    insecure_skip_tls_verify: Option<bool>,
    #[serde(default, rename = "tls-server-name")]
    tls_server_name: Option<String>,
    #[serde(default, rename = "proxy-url")]
    proxy_url: Option<String>,
    #[serde(default, rename = "disable-compression")]
    disable_compression: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawUser {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "tokenFile")]
    token_file: Option<String>,
    #[serde(default, rename = "client-certificate")]
    client_certificate: Option<String>,
    #[serde(default, rename = "client-key")]
    client_key: Option<String>,
    #[serde(default, rename = "client-certificate-data")]
    client_certificate_data: Option<String>,
    #[serde(default, rename = "client-key-data")]
    client_key_data: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    exec: Option<ExecConfig>,
    #[serde(default, rename = "auth-provider")]
    auth_provider: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawContext {
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

/// An entry plus the file that defined it: relative paths resolve against that file's
/// directory, and errors name it.
#[derive(Debug)]
struct Sourced<T> {
    file: PathBuf,
    value: T,
}

impl<T> Sourced<T> {
    fn dir(&self) -> PathBuf {
        match self.file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir().join(p)
        }
    }
}

/// Several kubeconfig files merged with client-go's first-wins rule.
#[derive(Debug, Default)]
pub(super) struct Merged {
    files: Vec<PathBuf>,
    current_context: Option<String>,
    clusters: HashMap<String, Sourced<RawCluster>>,
    users: HashMap<String, Sourced<RawUser>>,
    contexts: HashMap<String, Sourced<RawContext>>,
}

impl Merged {
    pub(super) fn load(files: &[PathBuf]) -> Result<Merged, LoadError> {
        let mut merged = Merged {
            files: files.to_vec(),
            ..Merged::default()
        };
        for file in files {
            let raw = parse_kubeconfig(file)?;
            if merged.current_context.is_none() {
                merged.current_context = raw.current_context.filter(|c| !c.is_empty());
            }
            for c in raw.clusters.unwrap_or_default() {
                merged.clusters.entry(c.name).or_insert_with(|| Sourced {
                    file: file.clone(),
                    value: c.cluster.unwrap_or_default(),
                });
            }
            for u in raw.users.unwrap_or_default() {
                merged.users.entry(u.name).or_insert_with(|| Sourced {
                    file: file.clone(),
                    value: u.user.unwrap_or_default(),
                });
            }
            for c in raw.contexts.unwrap_or_default() {
                merged.contexts.entry(c.name).or_insert_with(|| Sourced {
                    file: file.clone(),
                    value: c.context.unwrap_or_default(),
                });
            }
        }
        Ok(merged)
    }

    /// The file list as shown to people: `kubeconfig /a` or `kubeconfig /a:/b`.
    fn describe(&self) -> String {
        let paths: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        format!("kubeconfig {}", paths.join(":"))
    }

    fn context_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.contexts.keys().cloned().collect();
        names.sort();
        names
    }

    pub(super) fn resolve(&self, opts: &ConfigOptions) -> Result<ClusterConfig, LoadError> {
        let kubeconfig = self.describe();
        let context_name = match opts
            .context
            .as_ref()
            .filter(|c| !c.is_empty())
            .or(self.current_context.as_ref())
        {
            Some(c) => c.clone(),
            None => {
                return Err(LoadError::NoCurrentContext {
                    kubeconfig,
                    available: self.context_names(),
                })
            }
        };
        let context =
            self.contexts
                .get(&context_name)
                .ok_or_else(|| LoadError::ContextNotFound {
                    context: context_name.clone(),
                    kubeconfig: kubeconfig.clone(),
                    available: self.context_names(),
                })?;
        let cluster_name = context
            .value
            .cluster
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| LoadError::ContextWithoutCluster {
                context: context_name.clone(),
                kubeconfig: kubeconfig.clone(),
            })?;
        let cluster =
            self.clusters
                .get(&cluster_name)
                .ok_or_else(|| LoadError::ClusterNotFound {
                    cluster: cluster_name.clone(),
                    context: context_name.clone(),
                    kubeconfig: kubeconfig.clone(),
                })?;
        // A context without a user is legal (anonymous access), as in client-go.
        let user = match context.value.user.as_ref().filter(|u| !u.is_empty()) {
            Some(name) => Some((
                name.clone(),
                self.users
                    .get(name)
                    .ok_or_else(|| LoadError::UserNotFound {
                        user: name.clone(),
                        context: context_name.clone(),
                        kubeconfig: kubeconfig.clone(),
                    })?,
            )),
            None => None,
        };

        let server = match (&opts.apiserver, &cluster.value.server) {
            (Some(apiserver), _) => normalize_server(apiserver, "--apiserver")?,
            (None, Some(server)) if !server.trim().is_empty() => {
                normalize_server(server, &format!("cluster {cluster_name:?} in {kubeconfig}"))?
            }
            (None, _) => {
                return Err(LoadError::MissingServer {
                    cluster: cluster_name,
                    kubeconfig,
                })
            }
        };

        let ca_pem = file_or_data(
            cluster,
            cluster.value.certificate_authority.as_deref(),
            cluster.value.certificate_authority_data.as_deref(),
            "certificate-authority",
            &format!("clusters[{cluster_name:?}].cluster"),
        )?;
        let insecure_skip_verify = cluster.value.insecure_skip_tls_verify.unwrap_or(false);
        if insecure_skip_verify && ca_pem.is_some() {
            return Err(LoadError::InsecureWithCa {
                cluster: cluster_name,
                kubeconfig,
            });
        }
        let server_name = cluster
            .value
            .tls_server_name
            .clone()
            .filter(|n| !n.trim().is_empty());
        let proxy = match cluster.value.proxy_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Some(validate_proxy(ProxyChoice {
                url: url.to_string(),
                origin: format!("proxy-url of cluster {cluster_name:?} in {kubeconfig}"),
            })?),
            _ => None,
        };
        let mut tls = TlsSettings {
            ca_pem,
            client_cert_pem: None,
            client_key_pem: None,
            insecure_skip_verify,
            server_name,
            client_cert_files: None,
        };

        let auth = match user {
            None => Auth::None,
            Some((name, user)) => {
                let u = &user.value;
                let field = format!("users[{name:?}].user");
                if u.auth_provider.is_some() {
                    return Err(LoadError::Unsupported {
                        user: name,
                        mechanism: "auth-provider",
                        kubeconfig,
                    });
                }
                tls.client_cert_pem = file_or_data(
                    user,
                    u.client_certificate.as_deref(),
                    u.client_certificate_data.as_deref(),
                    "client-certificate",
                    &field,
                )?;
                tls.client_key_pem = file_or_data(
                    user,
                    u.client_key.as_deref(),
                    u.client_key_data.as_deref(),
                    "client-key",
                    &field,
                )?;
                match (&tls.client_cert_pem, &tls.client_key_pem) {
                    (Some(_), None) => {
                        return Err(LoadError::IncompleteClientCert {
                            user: name,
                            missing: "client-key",
                            kubeconfig,
                        })
                    }
                    (None, Some(_)) => {
                        return Err(LoadError::IncompleteClientCert {
                            user: name,
                            missing: "client-certificate",
                            kubeconfig,
                        })
                    }
                    _ => {}
                }
                let no_data = |d: &Option<String>| d.as_deref().is_none_or(|d| d.trim().is_empty());
                if let (Some(cert), Some(key), true, true) = (
                    u.client_certificate.as_deref().filter(|p| !p.is_empty()),
                    u.client_key.as_deref().filter(|p| !p.is_empty()),
                    no_data(&u.client_certificate_data),
                    no_data(&u.client_key_data),
                ) {
                    tls.client_cert_files = Some(ClientCertFiles {
                        cert: user.resolve(cert),
                        key: user.resolve(key),
                    });
                }
                let token = u.token.as_ref().filter(|t| !t.is_empty());
                let token_file = u.token_file.as_ref().filter(|t| !t.is_empty());
                let username = u.username.as_ref().filter(|u| !u.is_empty());
                if username.is_some() && (token.is_some() || token_file.is_some()) {
                    // client-go's transport refuses this combination too.
                    return Err(LoadError::ConflictingAuth {
                        user: name,
                        kubeconfig,
                    });
                }
                if let Some(exec) = &u.exec {
                    if token.is_some() || token_file.is_some() || username.is_some() {
                        // client-go would silently let the static credential win; with
                        // two sources of truth an operator cannot tell which one is used.
                        return Err(LoadError::Exec(ExecError::Invalid {
                            user: name,
                            kubeconfig,
                            reason: "it is combined with token/tokenFile/username; keep only \
                                     one way to authenticate"
                                .to_string(),
                        }));
                    }
                    let info = ClusterInfo {
                        server: server.clone(),
                        tls_server_name: tls.server_name.clone(),
                        insecure_skip_tls_verify: tls.insecure_skip_verify,
                        ca_pem: tls.ca_pem.clone(),
                        proxy_url: proxy.as_ref().map(|p| p.url.clone()),
                    };
                    Auth::Exec(
                        ExecAuth::new(&name, exec, &user.dir(), &kubeconfig, info)
                            .map_err(LoadError::Exec)?,
                    )
                } else if let Some(path) = token_file {
                    // As in client-go, a readable tokenFile wins over a literal token (the
                    // file is the one kept fresh); the literal token is the fallback.
                    match (TokenFile::new(user.resolve(path)), token) {
                        (Ok(file), _) => Auth::TokenFile(file),
                        (Err(_), Some(token)) => Auth::Bearer(token.clone()),
                        (Err(e), None) => return Err(e),
                    }
                } else if let Some(token) = token {
                    Auth::Bearer(token.clone())
                } else if let Some(username) = username {
                    Auth::Basic {
                        username: username.clone(),
                        password: u.password.clone().unwrap_or_default(),
                    }
                } else {
                    Auth::None
                }
            }
        };

        Ok(ClusterConfig {
            server,
            tls,
            auth,
            source: format!("{kubeconfig} (context {context_name})"),
            cluster_name: Some(cluster_name),
            proxy,
            disable_compression: cluster.value.disable_compression.unwrap_or(false),
        })
    }
}

fn parse_kubeconfig(path: &Path) -> Result<RawKubeconfig, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        what: "kubeconfig",
        path: path.to_path_buf(),
        source,
    })?;
    // An empty file is an empty config to client-go, not an error.
    if text.trim().is_empty() {
        return Ok(RawKubeconfig::default());
    }
    let raw: Option<RawKubeconfig> =
        serde_yaml_ng::from_str(&text).map_err(|source| LoadError::Yaml {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(raw.unwrap_or_default())
}

/// Reads `<key>-data` (base64, wins like in client-go) or the file named by `<key>`.
fn file_or_data<T>(
    owner: &Sourced<T>,
    path: Option<&str>,
    data: Option<&str>,
    key: &'static str,
    field_prefix: &str,
) -> Result<Option<Vec<u8>>, LoadError> {
    if let Some(data) = data.filter(|d| !d.trim().is_empty()) {
        return base64_decode(data)
            .map(Some)
            .map_err(|error| LoadError::Base64 {
                field: format!("{field_prefix}.{key}-data"),
                kubeconfig: owner.file.clone(),
                error,
            });
    }
    match path.filter(|p| !p.is_empty()) {
        Some(p) => {
            let resolved = owner.resolve(p);
            std::fs::read(&resolved)
                .map(Some)
                .map_err(|source| LoadError::Io {
                    what: key,
                    path: resolved,
                    source,
                })
        }
        None => Ok(None),
    }
}

/// The engine for kubeconfig `*-data` keys: standard alphabet, padding required (the
/// length is checked first, for a clearer message), non-zero trailing bits accepted as Go's
/// `base64.StdEncoding` (which client-go decodes these keys with) accepts them.
const KUBECONFIG_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes a `*-data` value; whitespace (line breaks of a wrapped value) is ignored and an
/// error names the offending character by its position among the non-whitespace ones.
fn base64_decode(input: &str) -> Result<Vec<u8>, Base64Error> {
    let chars: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let count = chars.chars().count();
    if count % 4 != 0 {
        return Err(Base64Error::BadLength(count));
    }
    let body = chars.trim_end_matches('=');
    let pad = chars.len() - body.len();
    if pad > 2 {
        return Err(Base64Error::BadPadding {
            position: count - pad,
        });
    }
    KUBECONFIG_BASE64.decode(body).map_err(|e| {
        // Offsets from the engine count bytes (possibly inside a multi-byte character);
        // positions count characters.
        let char_at = |offset: usize| {
            body.char_indices()
                .enumerate()
                .take_while(|(_, (start, _))| *start <= offset)
                .last()
                .map_or((offset, '\u{fffd}'), |(position, (_, ch))| (position, ch))
        };
        match e {
            DecodeError::InvalidByte(offset, b'=') => Base64Error::BadPadding {
                position: char_at(offset).0,
            },
            DecodeError::InvalidByte(offset, _) | DecodeError::InvalidLastSymbol(offset, _) => {
                let (position, ch) = char_at(offset);
                Base64Error::InvalidCharacter { ch, position }
            }
            DecodeError::InvalidLength(_) | DecodeError::InvalidPadding => {
                Base64Error::BadLength(count)
            }
        }
    })
}

#[cfg(test)]
pub(super) mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::super::tests::{auth_header, explicit, no_env, TempDir};
    use super::super::{load_with, Environment};
    use super::*;

    fn base64_encode(input: &[u8]) -> String {
        STANDARD.encode(input)
    }

    pub(in crate::kube::config) const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: dev
preferences: {}
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443/
    insecure-skip-tls-verify: true
    some-future-key: ignored
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: default}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
users:
- name: dev-user
  user: {token: dev-token}
- name: prod-user
  user: {username: user, password: pass}
"#;

    #[test]
    fn current_context_selects_cluster_and_user() {
        let dir = TempDir::new("kc");
        let kc = dir.write("config", TWO_CONTEXTS);
        let cfg = load_with(&explicit(&kc), &no_env()).unwrap();
        assert_eq!(cfg.server, "https://dev.example:6443");
        assert!(cfg.tls.insecure_skip_verify);
        assert!(cfg.tls.ca_pem.is_none());
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer dev-token"));
        assert_eq!(
            cfg.source,
            format!("kubeconfig {} (context dev)", kc.display())
        );
    }

    #[test]
    fn context_option_overrides_current_context() {
        let dir = TempDir::new("kc");
        let kc = dir.write("config", TWO_CONTEXTS);
        let opts = ConfigOptions {
            context: Some("prod".to_string()),
            ..explicit(&kc)
        };
        let cfg = load_with(&opts, &no_env()).unwrap();
        assert_eq!(cfg.server, "https://prod.example:6443");
        assert!(!cfg.tls.insecure_skip_verify);
        // base64("user:pass")
        assert_eq!(auth_header(&cfg).as_deref(), Some("Basic dXNlcjpwYXNz"));
        assert!(cfg.source.ends_with("(context prod)"));
    }

    #[test]
    fn apiserver_option_overrides_kubeconfig_server() {
        let dir = TempDir::new("kc");
        let kc = dir.write("config", TWO_CONTEXTS);
        let opts = ConfigOptions {
            apiserver: Some("https://10.1.2.3:8443/".to_string()),
            ..explicit(&kc)
        };
        let cfg = load_with(&opts, &no_env()).unwrap();
        assert_eq!(cfg.server, "https://10.1.2.3:8443");
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer dev-token"));
    }

    #[test]
    fn relative_paths_resolve_against_kubeconfig_dir() {
        let dir = TempDir::new("kc");
        dir.write("pki/ca.crt", "CA PEM");
        dir.write("pki/client.crt", "CERT PEM");
        dir.write("pki/client.key", "KEY PEM");
        dir.write("pki/token", "  file-token\n");
        let kc = dir.write(
            "kubeconfig",
            r#"
current-context: c
clusters:
- name: k
  cluster: {server: "https://k:6443", certificate-authority: pki/ca.crt}
users:
- name: u
  user:
    client-certificate: pki/client.crt
    client-key: pki/client.key
    tokenFile: pki/token
contexts:
- name: c
  context: {cluster: k, user: u}
"#,
        );
        let cfg = load_with(&explicit(&kc), &no_env()).unwrap();
        assert_eq!(cfg.tls.ca_pem.as_deref(), Some(&b"CA PEM"[..]));
        assert_eq!(cfg.tls.client_cert_pem.as_deref(), Some(&b"CERT PEM"[..]));
        assert_eq!(cfg.tls.client_key_pem.as_deref(), Some(&b"KEY PEM"[..]));
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer file-token"));
        match &cfg.auth {
            Auth::TokenFile(t) => assert_eq!(t.path(), dir.0.join("pki/token")),
            other => panic!("expected a token file, got {other:?}"),
        }
    }

    #[test]
    fn missing_referenced_file_names_key_and_path() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
current-context: c
clusters: [{name: k, cluster: {server: "https://k", certificate-authority: nope/ca.crt}}]
contexts: [{name: c, context: {cluster: k}}]
"#,
        );
        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(
            err,
            LoadError::Io {
                what: "certificate-authority",
                ..
            }
        ));
        assert!(
            msg.contains(&dir.0.join("nope/ca.crt").display().to_string()),
            "{msg}"
        );
    }

    #[test]
    fn data_fields_are_base64_decoded_and_win_over_paths() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            &format!(
                r#"
current-context: c
clusters:
- name: k
  cluster:
    server: https://k
    certificate-authority: does-not-exist.crt
    certificate-authority-data: "{}"
users:
- name: u
  user:
    client-certificate-data: |
      {}
    client-key-data: {}
contexts: [{{name: c, context: {{cluster: k, user: u}}}}]
"#,
                base64_encode(b"the CA"),
                base64_encode(b"the client certificate, long enough to wrap"),
                base64_encode(b"k"),
            ),
        );
        let cfg = load_with(&explicit(&kc), &no_env()).unwrap();
        assert_eq!(cfg.tls.ca_pem.as_deref(), Some(&b"the CA"[..]));
        assert_eq!(
            cfg.tls.client_cert_pem.as_deref(),
            Some(&b"the client certificate, long enough to wrap"[..])
        );
        assert_eq!(cfg.tls.client_key_pem.as_deref(), Some(&b"k"[..]));
        assert!(matches!(cfg.auth, Auth::None));
        assert_eq!(auth_header(&cfg), None);
    }

    #[test]
    fn bad_base64_names_the_field() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {client-certificate-data: "aGVsbG8*", client-key-data: "aGVsbG8="}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
"#,
        );
        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        match &err {
            LoadError::Base64 { field, error, .. } => {
                assert_eq!(field, r#"users["u"].user.client-certificate-data"#);
                assert_eq!(
                    *error,
                    Base64Error::InvalidCharacter {
                        ch: '*',
                        position: 7
                    }
                );
            }
            other => panic!("expected Base64, got {other:?}"),
        }
        assert!(err.to_string().contains("client-certificate-data"));
    }

    #[test]
    fn kubeconfig_env_merges_first_definition_wins() {
        let dir = TempDir::new("kc");
        let first = dir.write(
            "a/config",
            r#"
clusters:
- name: shared
  cluster: {server: "https://from-first:6443"}
contexts:
- name: ctx
  context: {cluster: shared, user: u}
"#,
        );
        dir.write("b/token", "token-from-b-dir");
        let second = dir.write(
            "b/config",
            r#"
current-context: ctx
clusters:
- name: shared
  cluster: {server: "https://from-second:6443"}
contexts:
- name: ctx
  context: {cluster: other, user: other}
users:
- name: u
  user: {tokenFile: token}
"#,
        );
        let third = dir.write("c/config", "current-context: ignored-because-later\n");
        let missing = dir.0.join("missing/config");
        let env = Environment {
            kubeconfig: Some(format!(
                "{}::{}:{}:{}",
                first.display(),
                missing.display(),
                second.display(),
                third.display()
            )),
            ..no_env()
        };
        let cfg = load_with(&ConfigOptions::default(), &env).unwrap();
        assert_eq!(cfg.server, "https://from-first:6443");
        // The user comes from the second file, so its relative tokenFile resolves there.
        assert_eq!(
            auth_header(&cfg).as_deref(),
            Some("Bearer token-from-b-dir")
        );
        assert_eq!(
            cfg.source,
            format!(
                "kubeconfig {}:{}:{} (context ctx)",
                first.display(),
                second.display(),
                third.display()
            )
        );
    }

    #[test]
    fn missing_context_cluster_user_are_named() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: no-cluster, context: {cluster: ghost-cluster, user: u}}
- {name: no-user, context: {cluster: k, user: ghost-user}}
- {name: empty, context: {}}
"#,
        );
        let with_ctx = |c: &str| ConfigOptions {
            context: Some(c.to_string()),
            ..explicit(&kc)
        };

        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        assert!(matches!(&err, LoadError::NoCurrentContext { available, .. }
            if available == &["empty", "no-cluster", "no-user"]));

        let err = load_with(&with_ctx("ghost"), &no_env()).unwrap_err();
        assert!(matches!(&err, LoadError::ContextNotFound { context, .. } if context == "ghost"));
        let msg = err.to_string();
        assert!(
            msg.contains("\"ghost\"") && msg.contains("no-cluster, no-user"),
            "{msg}"
        );

        let err = load_with(&with_ctx("no-cluster"), &no_env()).unwrap_err();
        assert!(
            matches!(&err, LoadError::ClusterNotFound { cluster, context, .. }
            if cluster == "ghost-cluster" && context == "no-cluster")
        );
        assert!(err.to_string().contains(&kc.display().to_string()));

        let err = load_with(&with_ctx("no-user"), &no_env()).unwrap_err();
        assert!(matches!(&err, LoadError::UserNotFound { user, .. } if user == "ghost-user"));
        assert!(err.to_string().contains("ghost-user"));

        let err = load_with(&with_ctx("empty"), &no_env()).unwrap_err();
        assert!(
            matches!(&err, LoadError::ContextWithoutCluster { context, .. } if context == "empty")
        );
    }

    #[test]
    fn broken_yaml_reports_file_and_line() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            "current-context: c\nclusters:\n- name: k\n  cluster: {server: [unclosed\n",
        );
        let err = load_with(&explicit(&kc), &no_env()).unwrap_err();
        assert!(matches!(err, LoadError::Yaml { .. }));
        let msg = err.to_string();
        assert!(msg.contains(&kc.display().to_string()), "{msg}");
        assert!(msg.contains("line"), "{msg}");
    }

    #[test]
    fn wrongly_typed_key_is_an_error_with_line() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            "current-context: c\nclusters:\n- name: k\n  cluster:\n    insecure-skip-tls-verify: [1]\n",
        );
        let msg = load_with(&explicit(&kc), &no_env())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 5"), "{msg}");
    }

    #[test]
    fn auth_provider_is_unsupported_and_exec_is_loaded() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters: [{name: k, cluster: {server: "https://k", tls-server-name: api.internal}}]
users:
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: bin/aws
      args: [eks, get-token]
      env: [{name: AWS_PROFILE, value: prod}]
      installHint: install the aws CLI
- name: gcp
  user:
    auth-provider: {name: gcp}
- name: both
  user:
    token: t
    exec: {apiVersion: client.authentication.k8s.io/v1, command: x}
- name: old
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}
contexts:
- {name: e, context: {cluster: k, user: eks}}
- {name: g, context: {cluster: k, user: gcp}}
- {name: both, context: {cluster: k, user: both}}
- {name: old, context: {cluster: k, user: old}}
"#,
        );
        let load = |ctx: &str| {
            let opts = ConfigOptions {
                context: Some(ctx.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, &no_env())
        };
        let err = load("g").unwrap_err();
        assert!(
            matches!(&err, LoadError::Unsupported { user, mechanism: "auth-provider", .. }
                if user == "gcp"),
            "{err:?}"
        );
        let cfg = load("e").unwrap();
        assert_eq!(cfg.tls.server_name.as_deref(), Some("api.internal"));
        match &cfg.auth {
            Auth::Exec(e) => {
                assert_eq!(e.user(), "eks");
                assert_eq!(e.command(), dir.0.join("bin/aws").display().to_string());
            }
            other => panic!("expected exec, got {other:?}"),
        }
        for ctx in ["both", "old"] {
            let err = load(ctx).unwrap_err();
            assert!(
                matches!(&err, LoadError::Exec(ExecError::Invalid { user, .. }) if user == ctx),
                "{err:?}"
            );
        }
    }

    #[test]
    fn client_cert_files_are_remembered_only_for_paths() {
        let dir = TempDir::new("kc");
        dir.write("c.crt", "CERT");
        dir.write("c.key", "KEY");
        let kc = dir.write(
            "config",
            &format!(
                r#"
clusters: [{{name: k, cluster: {{server: "https://k"}}}}]
users:
- {{name: files, user: {{client-certificate: c.crt, client-key: c.key}}}}
- {{name: data, user: {{client-certificate: c.crt, client-key-data: "{}"}}}}
contexts:
- {{name: files, context: {{cluster: k, user: files}}}}
- {{name: data, context: {{cluster: k, user: data}}}}
"#,
                base64_encode(b"KEY")
            ),
        );
        let load = |ctx: &str| {
            let opts = ConfigOptions {
                context: Some(ctx.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, &no_env()).unwrap()
        };
        assert_eq!(
            load("files").tls.client_cert_files,
            Some(ClientCertFiles {
                cert: dir.0.join("c.crt"),
                key: dir.0.join("c.key"),
            })
        );
        assert_eq!(load("data").tls.client_cert_files, None);
    }

    #[test]
    fn inconsistent_tls_settings_are_rejected() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters:
- {name: both, cluster: {server: "https://k", insecure-skip-tls-verify: true, certificate-authority-data: "Q0E="}}
- {name: ok, cluster: {server: "https://k"}}
users: [{name: half, user: {client-certificate-data: "Q0U="}}]
contexts:
- {name: insecure, context: {cluster: both}}
- {name: half, context: {cluster: ok, user: half}}
"#,
        );
        let with_ctx = |c: &str| ConfigOptions {
            context: Some(c.to_string()),
            ..explicit(&kc)
        };
        let err = load_with(&with_ctx("insecure"), &no_env()).unwrap_err();
        assert!(matches!(err, LoadError::InsecureWithCa { .. }), "{err:?}");
        let err = load_with(&with_ctx("half"), &no_env()).unwrap_err();
        assert!(
            matches!(
                err,
                LoadError::IncompleteClientCert {
                    missing: "client-key",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn token_file_wins_over_token_and_token_is_the_fallback() {
        let dir = TempDir::new("kc");
        dir.write("tok", "from-file");
        let kc = dir.write(
            "config",
            r#"
clusters: [{name: k, cluster: {server: "https://k"}}]
users:
- {name: both, user: {token: literal, tokenFile: tok}}
- {name: broken-file, user: {token: literal, tokenFile: missing}}
- {name: only-broken-file, user: {tokenFile: missing}}
- {name: conflict, user: {token: t, username: admin, password: p}}
contexts:
- {name: both, context: {cluster: k, user: both}}
- {name: broken-file, context: {cluster: k, user: broken-file}}
- {name: only-broken-file, context: {cluster: k, user: only-broken-file}}
- {name: conflict, context: {cluster: k, user: conflict}}
"#,
        );
        let load = |c: &str| {
            let opts = ConfigOptions {
                context: Some(c.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, &no_env())
        };
        let cfg = load("both").unwrap();
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer from-file"));
        let cfg = load("broken-file").unwrap();
        assert_eq!(auth_header(&cfg).as_deref(), Some("Bearer literal"));
        let err = load("only-broken-file").unwrap_err();
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
        let err = load("conflict").unwrap_err();
        assert!(matches!(&err, LoadError::ConflictingAuth { user, .. } if user == "conflict"));
    }

    #[test]
    fn base64_round_trip_and_whitespace() {
        for input in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0, 255, 128, 7],
        ] {
            let enc = base64_encode(input);
            assert_eq!(base64_decode(&enc).unwrap(), input, "{enc}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zm9v\n YmE=\r\n").unwrap(), b"fooba");
    }

    #[test]
    fn base64_accepts_what_go_std_encoding_accepts() {
        // Non-zero bits after the last byte: Go's (non-strict) StdEncoding decodes them.
        assert_eq!(base64_decode("Zh==").unwrap(), b"f");
        // Positions count characters, not bytes.
        assert_eq!(
            base64_decode("Zm9\u{e9}"),
            Err(Base64Error::InvalidCharacter {
                ch: '\u{e9}',
                position: 3
            })
        );
        assert_eq!(
            base64_decode("Zm9v Zm=v"),
            Err(Base64Error::BadPadding { position: 6 })
        );
    }

    #[test]
    fn base64_errors() {
        assert_eq!(base64_decode("Zm9"), Err(Base64Error::BadLength(3)));
        assert_eq!(
            base64_decode("Z=9v"),
            Err(Base64Error::BadPadding { position: 1 })
        );
        assert_eq!(
            base64_decode("Z==="),
            Err(Base64Error::BadPadding { position: 1 })
        );
        assert_eq!(
            base64_decode("Zm-v"),
            Err(Base64Error::InvalidCharacter {
                ch: '-',
                position: 2
            })
        );
    }
}
