//! The real binary's HTTP side against hostile clients, TLS (web config, client certificates,
//! minimum version, basic auth, headers, certificate reload) and `--auth-filter` with the fake
//! API server answering TokenReviews and SubjectAccessReviews.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::cluster_gen::{generate, ClusterSpec};
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-e2e-web-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor-certs")
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmRSS")
}

/// Raw request; returns everything the server sent before closing (or timing out).
fn raw(port: u16, request: &[u8]) -> String {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn hostile_clients_do_not_starve_scrapers() {
    let fake = FakeApiServer::start(FakeOptions::default());
    for (resource, obj) in generate(&ClusterSpec {
        nodes: 20,
        pods: 3000,
        namespaces: 10,
        seed: 7,
    }) {
        fake.create(&resource, obj);
    }
    let dir = tmpdir("hostile");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--server-read-header-timeout=20s",
            "--server-write-timeout=5s",
            "--resources=pods,nodes,namespaces",
        ],
    );
    ks.wait_ready();
    let baseline = ks.scrape();
    assert!(
        baseline.len() > 1_000_000,
        "large store: {}",
        baseline.len()
    );
    let rss_before = rss_kib(ks.pid());

    let port = ks.port;
    let idle: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("idle connect"))
        .collect();
    let slow: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else {
                    return;
                };
                for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\n".iter().take(8) {
                    if c.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
        })
        .collect();
    // requests the big body and never reads it
    let mut never_reads = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    never_reads
        .write_all(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .expect("write");

    for i in 0..6 {
        let (status, _, body) = ks.get("/metrics", &[]);
        assert_eq!(status, 200, "scrape {i} under attack");
        assert!(
            String::from_utf8_lossy(&body).contains("kube_pod_info{"),
            "scrape {i} complete"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(ks.get("/healthz", &[]).0, 200);
    let rss_after = rss_kib(ks.pid());
    assert!(
        rss_after < rss_before + 50 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    for t in slow {
        let _ = t.join();
    }
    drop(idle);
    drop(never_reads);
    assert_eq!(ks.get("/metrics", &[]).0, 200);
}

#[test]
fn oversized_header_431_and_slow_header_is_closed() {
    let fake = FakeApiServer::start(FakeOptions::default());
    let dir = tmpdir("limits");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--server-read-header-timeout=1s", "--resources=namespaces"],
    );
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let out = raw(ks.port, big.as_bytes());
    assert!(out.starts_with("HTTP/1.1 431 "), "{out:.200}");

    let out = raw(ks.port, b"PUT /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 405 "), "{out:.200}");
    let out = raw(ks.port, b"GET /healthz HTTP/1.0\r\n\r\n");
    assert!(
        out.starts_with("HTTP/1.1 200 ") && out.ends_with("OK"),
        "{out:.200}"
    );

    let mut slow = TcpStream::connect(("127.0.0.1", ks.port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    slow.write_all(b"GET /met").expect("write");
    let mut buf = [0u8; 64];
    let n = slow.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
}

// ---------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------

fn pem_certs(p: &Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(p)
        .expect("pem")
        .collect::<Result<_, _>>()
        .expect("certs")
}

struct Tls {
    versions: Vec<&'static rustls::SupportedProtocolVersion>,
    client_cert: Option<(&'static str, &'static str)>,
}

/// GET over HTTPS trusting the vendor CA and wrong-ca: (status, raw head, body, server cert).
fn https_get(
    port: u16,
    path: &str,
    tls: &Tls,
    auth: Option<&str>,
) -> Result<(u16, String, Vec<u8>, Vec<u8>), String> {
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for f in ["ca.crt", "wrong-ca.crt"] {
        for c in pem_certs(&certs().join(f)) {
            roots.add(c).expect("root");
        }
    }
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&tls.versions)
        .expect("versions")
        .with_root_certificates(roots);
    let cfg = match tls.client_cert {
        Some((crt, key)) => b
            .with_client_auth_cert(
                pem_certs(&certs().join(crt)),
                rustls::pki_types::PrivateKeyDer::from_pem_file(certs().join(key)).expect("key"),
            )
            .expect("client cert"),
        None => b.with_no_client_auth(),
    };
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut s = rustls::StreamOwned::new(conn, sock);
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if !out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    let peer = s
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header in {:?}", String::from_utf8_lossy(&out)))?;
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    Ok((status, head, out[split + 4..].to_vec(), peer))
}

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS12, &rustls::version::TLS13];

#[test]
fn tls_client_certs_basic_auth_headers_and_reload() {
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create(
        "namespaces",
        serde_json::json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}}),
    );
    let dir = tmpdir("tls");
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::copy(certs().join("server.crt"), &crt).expect("copy");
    std::fs::copy(certs().join("server.key"), &key).expect("copy");
    let hash = bcrypt::hash("s3cret", 4).expect("hash");
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_ca_file: {}\n  client_auth_type: RequireAndVerifyClientCert\nbasic_auth_users:\n  prom: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            certs().join("ca.crt").display()
        ),
    )
    .expect("web config");
    let good = Tls {
        versions: BOTH.to_vec(),
        client_cert: Some(("client.crt", "client.key")),
    };
    let auth = basic("prom", "s3cret");
    let ks = Kubestate::start_with_probe(
        &fake.write_kubeconfig(&dir),
        &[
            &format!("--web.config.file={}", web.display()),
            "--resources=namespaces",
        ],
        &[],
        &|port| https_get(port, "/healthz", &good, Some(&basic("prom", "s3cret"))).is_ok(),
    );
    let mut last = None;
    let scraped = ks.wait_for(Duration::from_secs(15), || {
        last = https_get(ks.port, "/metrics", &good, Some(&auth)).ok();
        matches!(&last, Some((200, _, body, _)) if String::from_utf8_lossy(body).contains("kube_namespace_created{"))
    });
    assert!(scraped.is_some(), "last: {last:?}");
    let Some((_, head, _, first_cert)) = last else {
        unreachable!("checked above")
    };
    assert!(head.contains("X-Frame-Options: deny"), "{head}");
    // the telemetry port is protected the same way
    let (status, _, body, _) =
        https_get(ks.telemetry_port, "/metrics", &good, Some(&auth)).expect("telemetry");
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    assert!(TcpStream::connect(("127.0.0.1", ks.port)).is_ok());
    let plain = raw(ks.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        !plain.contains("200 OK"),
        "plain HTTP refused: {plain:.100}"
    );

    // basic auth: wrong password, missing
    let (status, head, _, _) =
        https_get(ks.port, "/metrics", &good, Some(&basic("prom", "nope"))).expect("wrong pw");
    assert_eq!(status, 401);
    assert!(head.contains("WWW-Authenticate: Basic"), "{head}");
    assert!(head.contains("X-Frame-Options: deny"), "{head}");
    let (status, head, _, _) = https_get(ks.port, "/metrics", &good, None).expect("no auth");
    assert_eq!(status, 401);
    assert!(head.contains("WWW-Authenticate"), "{head}");

    // client certificates: none, or one from another CA, fail the handshake
    let none = Tls {
        versions: BOTH.to_vec(),
        client_cert: None,
    };
    assert!(https_get(ks.port, "/metrics", &none, Some(&auth)).is_err());
    let wrong = Tls {
        versions: BOTH.to_vec(),
        client_cert: Some(("wrong-server.crt", "wrong-server.key")),
    };
    assert!(https_get(ks.port, "/metrics", &wrong, Some(&auth)).is_err());

    // reload: new files, new handshakes present the new certificate
    std::fs::copy(certs().join("wrong-server.crt"), &crt).expect("swap");
    std::fs::copy(certs().join("wrong-server.key"), &key).expect("swap");
    let swapped = ks.wait_for(Duration::from_secs(15), || {
        matches!(https_get(ks.port, "/healthz", &good, Some(&auth)),
            Ok((200, _, _, cert)) if cert != first_cert)
    });
    assert!(
        swapped.is_some(),
        "new cert not served; log:\n{}",
        ks.logs()
    );
    let logs = ks.logs();
    assert!(logs.contains("TLS certificate reloaded"), "{logs}");
}

#[test]
fn tls_min_version_and_invalid_config_exit_2() {
    let fake = FakeApiServer::start(FakeOptions::default());
    let dir = tmpdir("tls13");
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  min_version: TLS13\n",
            certs().join("server.crt").display(),
            certs().join("server.key").display()
        ),
    )
    .expect("web config");
    let tls13 = Tls {
        versions: vec![&rustls::version::TLS13],
        client_cert: None,
    };
    let ks = Kubestate::start_with_probe(
        &fake.write_kubeconfig(&dir),
        &[
            &format!("--tls-config={}", web.display()),
            "--resources=namespaces",
        ],
        &[],
        &|port| https_get(port, "/healthz", &tls13, None).is_ok(),
    );
    assert_eq!(
        https_get(ks.port, "/metrics", &tls13, None)
            .expect("tls13")
            .0,
        200
    );
    let tls12 = Tls {
        versions: vec![&rustls::version::TLS12],
        client_cert: None,
    };
    assert!(https_get(ks.port, "/metrics", &tls12, None).is_err());

    let bad = dir.join("bad.yml");
    std::fs::write(&bad, "tls_server_config:\n  key_file: x.key\n").expect("bad config");
    let (code, stderr) = support::kubestate::run_to_exit(&[
        &format!("--kubeconfig={}", fake.write_kubeconfig(&dir).display()),
        &format!("--tls-config={}", bad.display()),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("tls_server_config.cert_file"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// --auth-filter
// ---------------------------------------------------------------------------------------

#[test]
fn auth_filter_uses_token_and_access_reviews() {
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.add_review_token("good-token", "alice");
    fake.add_review_token("other-token", "alice");
    fake.add_review_token("denied-token", "bob");
    fake.allow_nonresource_get("alice");
    fake.create(
        "namespaces",
        serde_json::json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}}),
    );
    let dir = tmpdir("authfilter");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--auth-filter", "--resources=namespaces"],
    );
    let bearer = |t: &str| format!("Bearer {t}");
    assert_eq!(ks.get("/healthz", &[]).0, 200);
    ks.wait_ready();
    let ready = ks.get("/readyz", &[]).0;
    assert!(ready == 200 || ready == 503, "readyz is open: {ready}");
    let (s, h, _) = ks.get("/metrics", &[]);
    assert_eq!(s, 401);
    assert!(h
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("www-authenticate")));
    assert_eq!(
        ks.get("/metrics", &[("Authorization", &bearer("nope"))]).0,
        401
    );
    assert_eq!(
        ks.get("/metrics", &[("Authorization", &bearer("denied-token"))])
            .0,
        403
    );
    let (s, _, body) = ks.get("/metrics", &[("Authorization", &bearer("good-token"))]);
    assert_eq!(s, 200);
    assert!(String::from_utf8_lossy(&body).contains("kube_namespace"));
    // positive answers are cached
    let reviews = fake.reviews();
    assert_eq!(
        ks.get("/metrics", &[("Authorization", &bearer("good-token"))])
            .0,
        200
    );
    assert_eq!(fake.reviews(), reviews);
    // the telemetry port is filtered too
    let tel = |auth: Option<String>| {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut r = agent.get(&format!("http://127.0.0.1:{}/metrics", ks.telemetry_port));
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.call().expect("telemetry").status().as_u16()
    };
    assert_eq!(tel(None), 401);
    assert_eq!(tel(Some(bearer("good-token"))), 200);
    // API down: 503 for tokens not cached, health stays open
    fake.set_reviews_down(true);
    let (s, _, body) = ks.get("/metrics", &[("Authorization", &bearer("other-token"))]);
    assert_eq!(s, 503);
    assert_eq!(
        String::from_utf8_lossy(&body).trim(),
        "auth filter unavailable"
    );
    assert_eq!(ks.get("/healthz", &[]).0, 200);
    assert!(ks.logs().contains("auth filter unavailable"));
}
