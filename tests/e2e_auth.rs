//! End-to-end authentication: exec credential plugins against the fake API server, client
//! certificate rotation against an in-process mTLS server, and `proxy-url` through a tiny
//! CONNECT proxy. Everything listens on 127.0.0.1 and every wait is bounded.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kubestate::kube::client::{ApiClient, Timeout};
use kubestate::kube::config::{ClusterConfig, ConfigOptions};
use kubestate::kube::error::{ApiError, ConnectError};
use kubestate::kube::exec::{ExecError, ExecFailure};
use parking_lot::Mutex;
use support::fake_apiserver::{rfc3339, FakeApiServer, FakeOptions};

const T: Timeout = Timeout::Total(Duration::from_secs(10));

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kubestate-e2e-auth-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A plugin that counts its runs in `count`, prints the token from `token` with the expiry
/// from `expiry` (empty: none), and saves `KUBERNETES_EXEC_INFO` to `exec-info`.
const PLUGIN: &str = r#"#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0)
echo $((n + 1)) > "$dir/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$dir/exec-info"
exp=$(cat "$dir/expiry")
if [ -n "$exp" ]; then exp=",\"expirationTimestamp\":\"$exp\""; fi
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"%s}}\n' \
  "$PLUGIN_API_VERSION" "$(cat "$dir/token")" "$exp"
"#;

fn write_script(dir: &Scratch, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.write(name, body);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A kubeconfig whose user runs `exec` (a YAML flow mapping).
fn exec_kubeconfig(dir: &Scratch, server: &str, exec: &str) -> PathBuf {
    dir.write(
        "kubeconfig",
        &format!(
            "current-context: c\n\
             clusters: [{{name: k, cluster: {{server: \"{server}\"}}}}]\n\
             users: [{{name: plugin-user, user: {{exec: {exec}}}}}]\n\
             contexts: [{{name: c, context: {{cluster: k, user: plugin-user}}}}]\n"
        ),
    )
}

fn client_for(kubeconfig: &Path) -> ApiClient {
    let cfg = ClusterConfig::load(&ConfigOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        ..ConfigOptions::default()
    })
    .unwrap();
    ApiClient::new(cfg).unwrap()
}

fn runs(dir: &Scratch) -> u32 {
    dir.read("count").trim().parse().unwrap_or(0)
}

fn plugin_setup(api_version: &str, server: &FakeApiServer) -> (Scratch, ApiClient) {
    let dir = Scratch::new("exec");
    write_script(&dir, "plugin.sh", PLUGIN);
    dir.write("token", "token-1");
    dir.write("expiry", "");
    let kc = exec_kubeconfig(
        &dir,
        &server.url(),
        &format!(
            "{{apiVersion: {api_version}, command: ./plugin.sh, interactiveMode: Never, \
             provideClusterInfo: true, env: [{{name: PLUGIN_API_VERSION, value: {api_version}}}]}}"
        ),
    );
    let client = client_for(&kc);
    (dir, client)
}

#[test]
fn exec_plugin_v1_token_is_cached_refreshed_on_expiry_and_on_401() {
    let server = FakeApiServer::start(FakeOptions {
        token: Some("token-1".to_string()),
        ..FakeOptions::default()
    });
    let (dir, client) = plugin_setup("client.authentication.k8s.io/v1", &server);
    assert_eq!(
        runs(&dir),
        0,
        "the plugin runs lazily, on the first request"
    );

    for _ in 0..5 {
        client.get("/api", T).unwrap();
    }
    assert_eq!(runs(&dir), 1, "one run serves many requests");
    let info: serde_json::Value = serde_json::from_str(&dir.read("exec-info")).unwrap();
    assert_eq!(info["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(info["kind"], "ExecCredential");
    assert_eq!(info["spec"]["interactive"], false);
    assert_eq!(info["spec"]["cluster"]["server"], server.url());

    // The API server stops accepting token-1; the plugin now hands out token-2. The first
    // request sees a 401, re-runs the plugin and succeeds on the retry.
    server.set_token(Some("token-2"));
    dir.write("token", "token-2");
    client.get("/api", T).unwrap();
    assert_eq!(runs(&dir), 2);
    client.get("/api", T).unwrap();
    assert_eq!(runs(&dir), 2);

    // A credential about to expire is replaced before use; a distant expiry is cached.
    dir.write(
        "expiry",
        &rfc3339(SystemTime::now() + Duration::from_secs(5)),
    );
    client.get("/api", T).unwrap(); // still the cached credential without expiry
    server.set_token(Some("token-3"));
    dir.write("token", "token-3");
    client.get("/api", T).unwrap(); // 401 -> run 3, which expires in 5s
    assert_eq!(runs(&dir), 3);
    client.get("/api", T).unwrap(); // expiring within the margin -> run 4
    assert_eq!(runs(&dir), 4);
    dir.write(
        "expiry",
        &rfc3339(SystemTime::now() + Duration::from_secs(3600)),
    );
    client.get("/api", T).unwrap(); // run 5, valid for an hour
    client.get("/api", T).unwrap();
    client.get("/api", T).unwrap();
    assert_eq!(runs(&dir), 5);

    // A plugin that keeps returning a rejected token: one retry, then the 401 surfaces.
    server.set_token(Some("token-other"));
    let err = client.get("/api", T).unwrap_err();
    assert_eq!(err.code(), Some(401), "{err}");
    assert_eq!(runs(&dir), 6, "exactly one re-run per 401");
}

#[test]
fn exec_plugin_v1beta1_token_is_used() {
    let server = FakeApiServer::start(FakeOptions {
        token: Some("token-1".to_string()),
        ..FakeOptions::default()
    });
    let (dir, client) = plugin_setup("client.authentication.k8s.io/v1beta1", &server);
    client.get("/api", T).unwrap();
    client.get("/api", T).unwrap();
    assert_eq!(runs(&dir), 1);
    let info: serde_json::Value = serde_json::from_str(&dir.read("exec-info")).unwrap();
    assert_eq!(info["apiVersion"], "client.authentication.k8s.io/v1beta1");
}

/// The exec plugin error behind a failed request.
fn exec_error(client: &ApiClient) -> (String, ExecFailure) {
    match client.get("/api", T).unwrap_err() {
        ApiError::Credentials(err) => {
            let msg = err.to_string();
            match err {
                ConnectError::Exec(ExecError::Failed { reason, .. }) => (msg, reason),
                other => panic!("expected ExecFailed, got {other:?}"),
            }
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn exec_plugin_failures_are_explained() {
    let server = FakeApiServer::start(FakeOptions {
        token: Some("t".to_string()),
        ..FakeOptions::default()
    });
    let v1 = "client.authentication.k8s.io/v1";

    let dir = Scratch::new("missing");
    let kc = exec_kubeconfig(
        &dir,
        &server.url(),
        &format!(
            "{{apiVersion: {v1}, command: kubestate-no-such-plugin, \
             installHint: \"install it with: brew install no-such-plugin\"}}"
        ),
    );
    let (msg, reason) = exec_error(&client_for(&kc));
    assert!(matches!(reason, ExecFailure::NotFound { .. }), "{reason:?}");
    assert!(
        msg.contains("kubestate-no-such-plugin")
            && msg.contains("plugin-user")
            && msg.contains("brew install no-such-plugin"),
        "{msg}"
    );

    let dir = Scratch::new("exit");
    write_script(
        &dir,
        "fail.sh",
        "#!/bin/sh\necho 'error: SSO session expired, run aws sso login' >&2\nexit 3\n",
    );
    let kc = exec_kubeconfig(
        &dir,
        &server.url(),
        &format!("{{apiVersion: {v1}, command: ./fail.sh}}"),
    );
    let (msg, reason) = exec_error(&client_for(&kc));
    assert!(matches!(reason, ExecFailure::Exit { .. }), "{reason:?}");
    assert!(
        msg.contains("SSO session expired") && msg.contains("fail.sh") && msg.contains('3'),
        "{msg}"
    );

    let dir = Scratch::new("json");
    write_script(&dir, "garbage.sh", "#!/bin/sh\necho 'token: SECRET'\n");
    let kc = exec_kubeconfig(
        &dir,
        &server.url(),
        &format!("{{apiVersion: {v1}, command: ./garbage.sh}}"),
    );
    let (msg, reason) = exec_error(&client_for(&kc));
    assert!(matches!(reason, ExecFailure::BadOutput(_)), "{reason:?}");
    assert!(!msg.contains("SECRET"), "{msg}");

    // Output for another apiVersion than configured.
    let dir = Scratch::new("version");
    write_script(&dir, "plugin.sh", PLUGIN);
    dir.write("token", "t");
    dir.write("expiry", "");
    let kc = exec_kubeconfig(
        &dir,
        &server.url(),
        &format!(
            "{{apiVersion: {v1}, command: ./plugin.sh, env: [{{name: PLUGIN_API_VERSION, \
             value: client.authentication.k8s.io/v1beta1}}]}}"
        ),
    );
    let (msg, _) = exec_error(&client_for(&kc));
    assert!(msg.contains("does not match"), "{msg}");

    // interactiveMode Always cannot work unattended (test runs have no terminal on stdin).
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        let kc = exec_kubeconfig(
            &dir,
            &server.url(),
            &format!("{{apiVersion: {v1}, command: ./plugin.sh, interactiveMode: Always}}"),
        );
        let (msg, reason) = exec_error(&client_for(&kc));
        assert!(matches!(reason, ExecFailure::InteractiveRequired), "{msg}");
    }
}

// ---------------------------------------------------------------------------------------
// proxy-url through a CONNECT proxy

/// A CONNECT proxy on 127.0.0.1 that records each target and tunnels to 127.0.0.1 on the
/// target's port (so any host name works). Threads end when either side closes.
struct ConnectProxy {
    port: u16,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = tunnel(conn, &seen);
                });
            }
        });
        ConnectProxy { port, targets }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().clone()
    }
}

fn tunnel(mut client: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut words = head.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    };
    seen.lock().push(target.to_string());
    let port = target.rsplit_once(':').map_or("80", |(_, p)| p);
    let upstream = TcpStream::connect(format!("127.0.0.1:{port}"))?;
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let (mut c2, mut u2) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(std::net::Shutdown::Write);
    });
    let (mut u, mut c) = (upstream, client);
    let _ = std::io::copy(&mut u, &mut c);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
    Ok(())
}

#[test]
fn kubeconfig_proxy_url_carries_requests() {
    let server = FakeApiServer::start(FakeOptions {
        token: Some("t".to_string()),
        ..FakeOptions::default()
    });
    let proxy = ConnectProxy::start();
    let dir = Scratch::new("proxy");
    let with_proxy = |proxy_line: &str| {
        dir.write(
            "kubeconfig",
            &format!(
                "current-context: c\n\
                 clusters: [{{name: k, cluster: {{server: \"{}\"{proxy_line}}}}}]\n\
                 users: [{{name: u, user: {{token: t}}}}]\n\
                 contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n",
                server.url()
            ),
        )
    };
    // proxy-url applies even to a loopback server (unlike HTTPS_PROXY).
    let kc = with_proxy(&format!(", proxy-url: \"{}\"", proxy.url()));
    let client = client_for(&kc);
    assert!(client.uses_proxy());
    client.get("/api", T).unwrap();
    client.get("/api", T).unwrap();
    let port = server.addr().port();
    let targets = proxy.targets();
    assert!(!targets.is_empty(), "the proxy saw nothing");
    assert!(
        targets.iter().all(|t| t == &format!("127.0.0.1:{port}")),
        "{targets:?}"
    );

    let before = proxy.targets().len();
    let client = client_for(&with_proxy(""));
    client.get("/api", T).unwrap();
    assert_eq!(
        proxy.targets().len(),
        before,
        "no proxy configured, none used"
    );
}

// ---------------------------------------------------------------------------------------
// client certificate files reloaded on change

fn vendor(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vendor-certs")
        .join(name)
}

fn rotated(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/certs")
        .join(name)
}

/// An HTTPS server on 127.0.0.1 requiring a client certificate from the test CA; answers
/// each connection once (`Connection: close`) and records the client's leaf certificate.
fn mtls_server() -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let (port, seen, _) = mtls_server_with(&vendor("server.crt"), &vendor("server.key"));
    (port, seen)
}

/// [`mtls_server`] presenting `cert`, also recording the SNI of each connection.
#[allow(clippy::type_complexity)]
fn mtls_server_with(
    cert: &Path,
    key: &Path,
) -> (
    u16,
    Arc<Mutex<Vec<Vec<u8>>>>,
    Arc<Mutex<Vec<Option<String>>>>,
) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(vendor("ca.crt")).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let names = Arc::new(Mutex::new(Vec::new()));
    let (record, record_name) = (seen.clone(), names.clone());
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            let (config, record) = (config.clone(), record.clone());
            let record_name = record_name.clone();
            std::thread::spawn(move || -> Option<()> {
                sock.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
                let conn = rustls::ServerConnection::new(config).ok()?;
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = tls.read(&mut buf).ok()?;
                    if n == 0 {
                        return None;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                let leaf = tls.conn.peer_certificates()?.first()?.to_vec();
                record.lock().push(leaf);
                record_name
                    .lock()
                    .push(tls.conn.server_name().map(str::to_string));
                let body = "{}";
                write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .ok()?;
                tls.conn.send_close_notify();
                tls.flush().ok()
            });
        }
    });
    (port, seen, names)
}

fn der(path: &Path) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_file(path)
        .unwrap()
        .to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn client_certificate_files_are_reloaded_when_they_change() {
    let (port, seen) = mtls_server();
    let dir = Scratch::new("certs");
    let copy = |from: &Path, to: &str| std::fs::copy(from, dir.0.join(to)).unwrap();
    copy(&vendor("client.crt"), "tls.crt");
    copy(&vendor("client.key"), "tls.key");
    let kc = dir.write(
        "kubeconfig",
        &format!(
            "current-context: c\n\
             clusters: [{{name: k, cluster: {{server: \"https://127.0.0.1:{port}\", certificate-authority: {}}}}}]\n\
             users: [{{name: u, user: {{client-certificate: tls.crt, client-key: tls.key}}}}]\n\
             contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n",
            vendor("ca.crt").display()
        ),
    );
    let cfg = ClusterConfig::load(&ConfigOptions {
        kubeconfig: Some(kc),
        ..ConfigOptions::default()
    })
    .unwrap();
    let client = ApiClient::new(cfg)
        .unwrap()
        .with_cert_recheck(Duration::ZERO);

    client.get("/api", T).unwrap();
    let old = der(&vendor("client.crt"));
    let new = der(&rotated("client2.crt"));
    assert_eq!(seen.lock().last(), Some(&old));

    // A half-finished rotation (new certificate, old key) is rejected; the old pair stays.
    copy(&rotated("client2.crt"), "tls.crt");
    client.get("/api", T).unwrap();
    assert_eq!(seen.lock().last(), Some(&old));

    // The key arrives: the next request presents the new certificate.
    copy(&rotated("client2.key"), "tls.key");
    client.get("/api", T).unwrap();
    let last = seen.lock().last().cloned().unwrap();
    assert_eq!(last, new);
    assert!(
        contains(&last, b"kubestate-rotated"),
        "server sees the new subject"
    );
    client.get("/api", T).unwrap();
    assert_eq!(seen.lock().last(), Some(&new));

    // Unusable files later on: keep working with the current certificate.
    dir.write("tls.crt", "garbage");
    dir.write("tls.key", "garbage too");
    client.get("/api", T).unwrap();
    assert_eq!(seen.lock().last(), Some(&new));
}

// ---------------------------------------------------------------------------------------
// tls-server-name together with proxy-url and client certificate reload

#[test]
fn tls_server_name_through_proxy_with_certificate_reload() {
    // Valid only for DNS:apiserver.internal, reached as 127.0.0.1 through a CONNECT proxy.
    let (port, seen, names) =
        mtls_server_with(&rotated("sni-server.crt"), &rotated("sni-server.key"));
    let proxy = ConnectProxy::start();
    let dir = Scratch::new("sni");
    let copy = |from: &Path, to: &str| std::fs::copy(from, dir.0.join(to)).unwrap();
    copy(&vendor("client.crt"), "tls.crt");
    copy(&vendor("client.key"), "tls.key");
    let kc = dir.write(
        "kubeconfig",
        &format!(
            "current-context: c\n\
             clusters: [{{name: k, cluster: {{server: \"https://127.0.0.1:{port}\", certificate-authority: {}, tls-server-name: apiserver.internal, proxy-url: \"{}\"}}}}]\n\
             users: [{{name: u, user: {{client-certificate: tls.crt, client-key: tls.key}}}}]\n\
             contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n",
            vendor("ca.crt").display(),
            proxy.url()
        ),
    );
    let cfg = ClusterConfig::load(&ConfigOptions {
        kubeconfig: Some(kc),
        ..ConfigOptions::default()
    })
    .unwrap();
    let client = ApiClient::new(cfg)
        .unwrap()
        .with_cert_recheck(Duration::ZERO);

    client.get("/api", T).unwrap();
    assert_eq!(seen.lock().last(), Some(&der(&vendor("client.crt"))));

    copy(&rotated("client2.crt"), "tls.crt");
    copy(&rotated("client2.key"), "tls.key");
    client.get("/api", T).unwrap();
    assert_eq!(seen.lock().last(), Some(&der(&rotated("client2.crt"))));

    let names = names.lock().clone();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.as_deref() == Some("apiserver.internal")),
        "{names:?}"
    );
    let targets = proxy.targets();
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert!(
        targets.iter().all(|t| t == &format!("127.0.0.1:{port}")),
        "{targets:?}"
    );
}
