//! `HTTP_PROXY`/`NO_PROXY` from the process environment. A test binary of its own with a
//! single test, because it sets process-wide environment variables.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

mod support;

use kubestate::kube::client::{ApiClient, Timeout};
use kubestate::kube::config::{ClusterConfig, ConfigOptions};
use parking_lot::Mutex;
use support::fake_apiserver::{FakeApiServer, FakeOptions};

/// A CONNECT proxy recording targets and tunnelling every one to 127.0.0.1:<port>, so the
/// unresolvable host name in the kubeconfig only works through it.
fn proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let seen = targets.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { return };
            let seen = seen.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                client.set_read_timeout(Some(Duration::from_secs(30)))?;
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut b)? == 0 {
                        return Ok(());
                    }
                    head.push(b[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                seen.lock().push(target.clone());
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
            });
        }
    });
    (port, targets)
}

#[test]
fn http_proxy_env_is_used_unless_no_proxy_matches() {
    let server = FakeApiServer::start(FakeOptions {
        token: Some("t".to_string()),
        ..FakeOptions::default()
    });
    let api_port = server.addr().port();
    let (proxy_port, targets) = proxy();
    let dir = std::env::temp_dir().join(format!("kubestate-e2e-proxy-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kc = dir.join("kubeconfig");
    // `.test` never resolves, so only the proxy can reach this server.
    std::fs::write(
        &kc,
        format!(
            "current-context: c\n\
             clusters: [{{name: k, cluster: {{server: \"http://apiserver.kubestate.test:{api_port}\"}}}}]\n\
             users: [{{name: u, user: {{token: t}}}}]\n\
             contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n"
        ),
    )
    .unwrap();
    let load = || {
        ClusterConfig::load(&ConfigOptions {
            kubeconfig: Some(kc.clone()),
            ..ConfigOptions::default()
        })
        .unwrap()
    };
    let timeout = Timeout::Total(Duration::from_secs(10));
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", format!("127.0.0.1:{proxy_port}"));
    let client = ApiClient::new(load()).unwrap();
    client.get("/api", timeout).unwrap();
    assert_eq!(
        *targets.lock(),
        vec![format!("apiserver.kubestate.test:{api_port}")]
    );

    std::env::set_var("NO_PROXY", "localhost, .kubestate.test");
    let cfg = load();
    assert!(cfg.proxy.is_none());
    let client = ApiClient::new(cfg).unwrap();
    // Direct now: the name does not resolve, and the proxy sees nothing new.
    assert!(client.get("/api", timeout).is_err());
    assert_eq!(targets.lock().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
