//! Integration tests of the fake API server itself (plain HTTP with ureq, no kubestate code).

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::cluster_gen::{self, ClusterSpec, Mutation};
use support::fake_apiserver::{FakeApiServer, FakeOptions, WatchListMode};

fn agent() -> ureq::Agent {
    let cfg = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(8)))
        .build();
    ureq::Agent::new_with_config(cfg)
}

struct Reply {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

fn get_with(srv: &FakeApiServer, path: &str, token: Option<&str>) -> Reply {
    let mut req = agent().get(format!("{}{}", srv.url(), path));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut resp = req.call().expect("request");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        body,
        retry_after,
    }
}

fn get(srv: &FakeApiServer, path: &str) -> Reply {
    get_with(srv, path, None)
}

fn get_ok(srv: &FakeApiServer, path: &str) -> Value {
    let r = get(srv, path);
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

struct Watch {
    lines: std::io::Lines<BufReader<ureq::BodyReader<'static>>>,
}

impl Watch {
    fn open(srv: &FakeApiServer, path: &str) -> Watch {
        let resp = agent()
            .get(format!("{}{}", srv.url(), path))
            .call()
            .expect("watch request");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/json"
        );
        assert_eq!(resp.headers().get("transfer-encoding").unwrap(), "chunked");
        Watch {
            lines: BufReader::new(resp.into_body().into_reader()).lines(),
        }
    }

    /// Next raw line; None on end of stream or error.
    fn line(&mut self) -> Option<String> {
        self.lines.next().and_then(Result::ok)
    }

    fn event(&mut self) -> Option<Value> {
        self.line()
            .map(|l| serde_json::from_str(&l).expect("watch line is JSON"))
    }

    /// All events until the stream ends.
    fn rest(&mut self) -> Vec<Value> {
        std::iter::from_fn(|| self.event()).collect()
    }
}

fn pod(ns: &str, name: &str, node: &str, app: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Running"},
    })
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn rv_of(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn is_status(v: &Value, code: u64, reason: &str) {
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["apiVersion"], "v1");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["reason"], reason, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn create_fills_metadata_and_get_paths_work() {
    let srv = FakeApiServer::start(FakeOptions::default());
    let p = srv.create("pods", pod("team-a", "web-1", "n1", "web"));
    assert_eq!(p["apiVersion"], "v1");
    assert_eq!(p["kind"], "Pod");
    let uid = p["metadata"]["uid"].as_str().unwrap();
    assert_eq!(uid.len(), 36);
    assert_eq!(&uid[14..15], "4", "uuid v4: {uid}");
    let ts = p["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(
        ts.len() == 20 && ts.ends_with('Z') && &ts[10..11] == "T",
        "{ts}"
    );
    assert_eq!(rv_of(&p), 1);
    let n = srv.create("nodes", json!({"metadata": {"name": "n1"}}));
    assert_eq!(rv_of(&n), 2);
    assert!(n["metadata"].get("namespace").is_none());
    let d = srv.create(
        "deployments",
        json!({"metadata": {"name": "web"}, "spec": {"replicas": 2}}),
    );
    assert_eq!(d["apiVersion"], "apps/v1");
    assert_eq!(d["metadata"]["namespace"], "default");
    assert_eq!(d["metadata"]["generation"], 1);
    assert_eq!(srv.current_rv(), 3);

    let got = get_ok(&srv, "/api/v1/namespaces/team-a/pods/web-1");
    assert_eq!(got["metadata"]["uid"], p["metadata"]["uid"]);
    assert_eq!(get_ok(&srv, "/api/v1/nodes/n1")["kind"], "Node");
    let list = get_ok(&srv, "/apis/apps/v1/deployments");
    assert_eq!(list["kind"], "DeploymentList");
    assert_eq!(list["apiVersion"], "apps/v1");
    assert_eq!(names(&list["items"]), vec!["web"]);
    assert_eq!(list["metadata"]["resourceVersion"], "3");
    // Like the real server, list items carry no kind/apiVersion.
    assert!(list["items"][0].get("kind").is_none());
    let r = get(&srv, "/api/v1/namespaces/team-a/pods/nope");
    assert_eq!(r.status, 404);
    is_status(&r.body, 404, "NotFound");
    let r = get(&srv, "/api/v1/frobs");
    assert_eq!(r.status, 404);
    is_status(&r.body, 404, "NotFound");
    // nodes are cluster-scoped: no namespaced path
    assert_eq!(get(&srv, "/api/v1/namespaces/x/nodes").status, 404);
    assert_eq!(get_ok(&srv, "/version")["gitVersion"], "v1.37.2");
    assert_eq!(get(&srv, "/livez").status, 200);
    assert_eq!(get(&srv, "/readyz").status, 200);
    assert_eq!(get_ok(&srv, "/api")["versions"], json!(["v1"]));
    let groups = get_ok(&srv, "/apis");
    assert!(groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "discovery.k8s.io"));

    // update: MODIFIED keeps uid, bumps generation on spec change; delete returns last state
    let d2 = srv.update(
        "deployments",
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 3}}),
    );
    assert_eq!(d2["metadata"]["uid"], d["metadata"]["uid"]);
    assert_eq!(d2["metadata"]["generation"], 2);
    assert_eq!(rv_of(&d2), 4);
    let gone = srv.delete("pods", Some("team-a"), "web-1").unwrap();
    assert_eq!(rv_of(&gone), 5);
    assert!(srv.get("pods", Some("team-a"), "web-1").is_none());
    assert!(srv.delete("pods", Some("team-a"), "web-1").is_none());
}

#[test]
fn pagination_returns_all_items_at_one_resource_version() {
    let srv = FakeApiServer::start(FakeOptions::default());
    for i in 0..25 {
        srv.create(
            "pods",
            pod(
                if i % 2 == 0 { "a" } else { "b" },
                &format!("p{i:02}"),
                "n1",
                "x",
            ),
        );
    }
    let first = get_ok(&srv, "/api/v1/pods?limit=10");
    let snap_rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(snap_rv, "25");
    assert_eq!(first["items"].as_array().unwrap().len(), 10);
    assert_eq!(first["metadata"]["remainingItemCount"], 15);
    let mut all = names(&first["items"]);
    let mut token = first["metadata"]["continue"].as_str().unwrap().to_string();
    // Writes between pages must not show up in the paginated snapshot.
    srv.create("pods", pod("a", "p00-new", "n1", "x"));
    srv.delete("pods", Some("b"), "p23");
    srv.update("pods", pod("b", "p21", "n2", "changed"));
    let mut pages = 1;
    loop {
        let page = get_ok(&srv, &format!("/api/v1/pods?limit=10&continue={token}"));
        pages += 1;
        assert_eq!(page["metadata"]["resourceVersion"], snap_rv.as_str());
        all.extend(names(&page["items"]));
        if let Some(p21) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["metadata"]["name"] == "p21")
        {
            assert_eq!(
                p21["spec"]["nodeName"], "n1",
                "page must show the snapshot state"
            );
        }
        match page["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => {
                assert!(page["metadata"].get("remainingItemCount").is_none());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<(String, String)> = (0..25)
        .map(|i| {
            (
                if i % 2 == 0 { "a" } else { "b" }.to_string(),
                format!("p{i:02}"),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(
        all,
        expected.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
    );
    // A fresh list sees the new state.
    let fresh = get_ok(&srv, "/api/v1/pods");
    assert_eq!(fresh["items"].as_array().unwrap().len(), 25);
    assert_eq!(fresh["metadata"]["resourceVersion"], "28");
    assert!(fresh["metadata"].get("continue").is_none());
    // resourceVersion=0 is served "from the cache" and ignores limit.
    let cached = get_ok(&srv, "/api/v1/pods?limit=5&resourceVersion=0");
    assert_eq!(cached["items"].as_array().unwrap().len(), 25);
    // namespaced list
    let a = get_ok(&srv, "/api/v1/namespaces/a/pods?limit=100");
    assert_eq!(a["items"].as_array().unwrap().len(), 14);
    assert!(srv
        .requests()
        .iter()
        .any(|r| r.starts_with("GET /api/v1/pods?limit=10&continue=")));
}

#[test]
fn max_page_caps_page_size() {
    let srv = FakeApiServer::start(FakeOptions {
        max_page: Some(3),
        ..FakeOptions::default()
    });
    for i in 0..7 {
        srv.create(
            "configmaps",
            json!({"metadata": {"name": format!("cm{i}")}}),
        );
    }
    let page = get_ok(&srv, "/api/v1/configmaps?limit=500");
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["metadata"]["remainingItemCount"], 4);
    // Without limit the server returns everything, as a real one does.
    assert_eq!(
        get_ok(&srv, "/api/v1/configmaps")["items"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

#[test]
fn continue_token_expires_after_compaction() {
    let srv = FakeApiServer::start(FakeOptions::default());
    for i in 0..6 {
        srv.create("pods", pod("a", &format!("p{i}"), "n1", "x"));
    }
    let first = get_ok(&srv, "/api/v1/pods?limit=2");
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    // Still valid before compaction.
    assert_eq!(
        get(&srv, &format!("/api/v1/pods?limit=2&continue={token}")).status,
        200
    );
    srv.create("pods", pod("a", "late", "n1", "x"));
    srv.compact();
    let r = get(&srv, &format!("/api/v1/pods?limit=2&continue={token}"));
    assert_eq!(r.status, 410);
    is_status(&r.body, 410, "Expired");
    let r = get(&srv, "/api/v1/pods?limit=2&continue=garbage!");
    assert_eq!(r.status, 400);
}

#[test]
fn watch_from_resource_version_replays_then_streams_live() {
    let srv = FakeApiServer::start(FakeOptions::default());
    let a = srv.create("pods", pod("ns", "a", "n1", "x"));
    let from = rv_of(&a);
    srv.create("configmaps", json!({"metadata": {"name": "other"}}));
    srv.create("pods", pod("ns", "b", "n1", "x"));
    srv.update("pods", pod("ns", "a", "n2", "x"));
    srv.delete("pods", Some("ns"), "b");
    let mut w = Watch::open(
        &srv,
        &format!("/api/v1/pods?watch=true&resourceVersion={from}&timeoutSeconds=2"),
    );
    let mut got = Vec::new();
    for _ in 0..3 {
        let e = w.event().expect("replayed event");
        got.push((
            e["type"].as_str().unwrap().to_string(),
            e["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string(),
            rv_of(&e["object"]),
        ));
        assert_eq!(e["object"]["kind"], "Pod");
    }
    assert_eq!(
        got,
        vec![
            ("ADDED".into(), "b".into(), 3),
            ("MODIFIED".into(), "a".into(), 4),
            ("DELETED".into(), "b".into(), 5)
        ]
    );
    assert!(srv.wait_for_watches(1, Duration::from_secs(2)));
    srv.create("pods", pod("ns", "live", "n1", "x"));
    let e = w.event().expect("live event");
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["metadata"]["name"], "live");
    assert_eq!(rv_of(&e["object"]), 6);
    // timeoutSeconds ends the stream cleanly.
    let start = Instant::now();
    assert!(w.rest().is_empty());
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(srv
        .requests()
        .iter()
        .any(|r| r.contains("watch=true&resourceVersion=1")));
}

#[test]
fn watch_without_resource_version_sends_current_state_first() {
    let srv = FakeApiServer::start(FakeOptions::default());
    srv.create("pods", pod("ns", "b", "n1", "x"));
    srv.create("pods", pod("ns", "a", "n1", "x"));
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=1&timeoutSeconds=1");
    let ev = w.rest();
    let names: Vec<_> = ev
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, vec![("ADDED", "a"), ("ADDED", "b")]);
}

#[test]
fn watch_from_compacted_resource_version_gets_410_error_event() {
    let srv = FakeApiServer::start(FakeOptions::default());
    for i in 0..3 {
        srv.create("pods", pod("ns", &format!("p{i}"), "n1", "x"));
    }
    srv.compact();
    srv.create("pods", pod("ns", "after", "n1", "x"));
    let mut w = Watch::open(
        &srv,
        "/api/v1/pods?watch=true&resourceVersion=1&allowWatchBookmarks=true",
    );
    let e = w.event().expect("error event");
    assert_eq!(e["type"], "ERROR");
    is_status(&e["object"], 410, "Expired");
    assert_eq!(e["object"]["message"], "too old resource version: 1 (3)");
    assert!(w.event().is_none(), "stream closes after the ERROR event");
    // Resuming from the compaction point itself is fine.
    let mut w = Watch::open(
        &srv,
        "/api/v1/pods?watch=true&resourceVersion=3&timeoutSeconds=1",
    );
    let e = w.event().unwrap();
    assert_eq!(
        (e["type"].as_str(), rv_of(&e["object"])),
        (Some("ADDED"), 4)
    );
}

#[test]
fn open_watches_survive_compaction_without_losing_events() {
    let srv = FakeApiServer::start(FakeOptions::default());
    srv.create("pods", pod("ns", "a", "n1", "x"));
    let mut w = Watch::open(
        &srv,
        "/api/v1/pods?watch=true&resourceVersion=1&timeoutSeconds=2",
    );
    assert!(srv.wait_for_watches(1, Duration::from_secs(2)));
    srv.create("pods", pod("ns", "b", "n1", "x"));
    srv.compact();
    srv.create("pods", pod("ns", "c", "n1", "x"));
    let ev = w.rest();
    let names: Vec<_> = ev
        .iter()
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["b", "c"]);
}

#[test]
fn bookmarks_arrive_periodically() {
    let srv = FakeApiServer::start(FakeOptions {
        bookmark_interval: Duration::from_millis(200),
        ..FakeOptions::default()
    });
    srv.create("pods", pod("ns", "a", "n1", "x"));
    let mut w = Watch::open(
        &srv,
        "/api/v1/pods?watch=true&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=1",
    );
    let ev = w.rest();
    let bookmarks: Vec<&Value> = ev.iter().filter(|e| e["type"] == "BOOKMARK").collect();
    assert!(bookmarks.len() >= 3, "got {ev:?}");
    for b in &bookmarks {
        assert_eq!(
            b["object"],
            json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}})
        );
    }
    // Without allowWatchBookmarks: none.
    let mut w = Watch::open(
        &srv,
        "/api/v1/pods?watch=true&resourceVersion=1&timeoutSeconds=1",
    );
    assert!(w.rest().is_empty());
}

#[test]
fn send_initial_events_supported_ends_with_annotated_bookmark() {
    let srv = FakeApiServer::start(FakeOptions {
        bookmark_interval: Duration::from_secs(30),
        ..FakeOptions::default()
    });
    for n in ["c", "a", "b"] {
        srv.create("pods", pod("ns", n, "n1", "x"));
    }
    let q = "/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1";
    let mut w = Watch::open(&srv, q);
    let ev = w.rest();
    assert_eq!(ev.len(), 4, "{ev:?}");
    for e in &ev[..3] {
        assert_eq!(e["type"], "ADDED");
    }
    assert_eq!(ev[3]["type"], "BOOKMARK");
    assert_eq!(
        ev[3]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(ev[3]["object"]["metadata"]["resourceVersion"], "3");
    // Without resourceVersionMatch=NotOlderThan the request is invalid.
    let r = get(
        &srv,
        "/api/v1/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
    );
    assert_eq!(r.status, 422);
    is_status(&r.body, 422, "Invalid");
}

/// A compressed WatchList stream is framed as kube-apiserver's per-flush gzip writer frames
/// it: every member's data is complete at a sync flush before the member's final block, so a
/// reader (Go's gzip reader among them, which returns a member's last bytes only after the
/// next member's header) has the end-of-initial-events bookmark at once.
#[test]
fn compressed_watch_list_members_end_in_a_sync_flush() {
    use std::io::Read;
    let srv = FakeApiServer::start(FakeOptions {
        bookmark_interval: Duration::from_secs(30),
        compression: true,
        ..FakeOptions::default()
    });
    for i in 0..50 {
        srv.create("pods", pod("ns", &format!("p{i}"), "n1", "x"));
    }
    let q = "/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1";
    let resp = agent()
        .get(&format!("{}{q}", srv.url()))
        .header("Accept-Encoding", "gzip")
        .call()
        .unwrap();
    assert_eq!(resp.headers()["Content-Encoding"], "gzip");
    let mut raw = Vec::new();
    resp.into_body()
        .into_reader()
        .read_to_end(&mut raw)
        .unwrap();
    let mut rest = &raw[..];
    let mut events = 0;
    while !rest.is_empty() {
        // one member: how far the gzip decoder reads is where it ends
        let mut dec = flate2::bufread::GzDecoder::new(rest);
        let mut whole = Vec::new();
        dec.read_to_end(&mut whole).unwrap();
        let member_len = rest.len() - dec.into_inner().len();
        let member = &rest[..member_len];
        // the data must be complete at a sync flush (an empty stored block, 00 00 ff ff):
        // the deflate data up to the last one decodes to the whole member, and only the
        // final block and the trailer follow it
        let deflate = &member[10..member_len - 8];
        let sync = deflate
            .windows(4)
            .rposition(|w| w == [0, 0, 0xff, 0xff])
            .expect("a member without a sync flush");
        assert!(deflate.len() - (sync + 4) <= 5, "data after the sync flush");
        let mut inflate = flate2::Decompress::new(false);
        let mut early = Vec::with_capacity(whole.len() + 64);
        inflate
            .decompress_vec(
                &deflate[..sync + 4],
                &mut early,
                flate2::FlushDecompress::Sync,
            )
            .unwrap();
        assert_eq!(early, whole, "a member's data waits for its final block");
        events += whole
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        rest = &rest[member_len..];
    }
    assert_eq!(events, 51, "50 pods and the end bookmark");
}

#[test]
fn send_initial_events_rejected_by_old_server() {
    let srv = FakeApiServer::start(FakeOptions {
        watch_list: WatchListMode::Rejected,
        ..FakeOptions::default()
    });
    srv.create("pods", pod("ns", "a", "n1", "x"));
    let r = get(&srv, "/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true");
    assert_eq!(r.status, 422);
    is_status(&r.body, 422, "Invalid");
    // Plain watches still work.
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=true&timeoutSeconds=1");
    assert_eq!(w.rest().len(), 1);
}

#[test]
fn send_initial_events_ignored_gives_no_end_bookmark() {
    let srv = FakeApiServer::start(FakeOptions {
        watch_list: WatchListMode::Ignored,
        bookmark_interval: Duration::from_millis(300),
        ..FakeOptions::default()
    });
    srv.create("pods", pod("ns", "a", "n1", "x"));
    srv.create("pods", pod("ns", "b", "n1", "x"));
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1");
    let ev = w.rest();
    assert_eq!(ev.iter().filter(|e| e["type"] == "ADDED").count(), 2);
    assert!(
        ev.iter().any(|e| e["type"] == "BOOKMARK"),
        "periodic bookmarks still arrive"
    );
    assert!(ev
        .iter()
        .all(|e| e["object"]["metadata"].get("annotations").is_none()));
}

#[test]
fn token_auth_401_and_runtime_rotation() {
    let srv = FakeApiServer::start(FakeOptions {
        token: Some("s3cret".into()),
        ..FakeOptions::default()
    });
    let r = get(&srv, "/api/v1/pods");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})
    );
    assert_eq!(get_with(&srv, "/api/v1/pods", Some("wrong")).status, 401);
    assert_eq!(get_with(&srv, "/api/v1/pods", Some("s3cret")).status, 200);
    assert_eq!(
        get_with(&srv, "/api/v1/pods?watch=1", Some("wrong")).status,
        401
    );
    // Health endpoints are public for anonymous requests.
    assert_eq!(get(&srv, "/livez").status, 200);
    srv.set_token(Some("rotated"));
    assert_eq!(get_with(&srv, "/api/v1/pods", Some("s3cret")).status, 401);
    assert_eq!(get_with(&srv, "/api/v1/pods", Some("rotated")).status, 200);

    let dir = std::env::temp_dir().join(format!("fakeapi-kcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = srv.write_kubeconfig(&dir);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("server: {}", srv.url())), "{text}");
    assert!(text.contains("token: \"rotated\""), "{text}");
    assert!(text.contains("current-context: fake"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fail_next_returns_status_with_retry_after() {
    let srv = FakeApiServer::start(FakeOptions::default());
    srv.fail_next(2, 429, Some(3));
    for _ in 0..2 {
        let r = get(&srv, "/api/v1/pods");
        assert_eq!(r.status, 429);
        assert_eq!(r.retry_after.as_deref(), Some("3"));
        is_status(&r.body, 429, "TooManyRequests");
        assert_eq!(r.body["details"]["retryAfterSeconds"], 3);
    }
    let r = get(&srv, "/api/v1/pods");
    assert_eq!(r.status, 200);
    srv.fail_next(1, 500, None);
    let r = get(&srv, "/apis/apps/v1/deployments?watch=true");
    assert_eq!(r.status, 500);
    assert!(r.retry_after.is_none());
    is_status(&r.body, 500, "InternalError");
    assert_eq!(get(&srv, "/api/v1/pods").status, 200);
}

#[test]
fn field_and_label_selectors_filter_lists_and_watches() {
    let srv = FakeApiServer::start(FakeOptions::default());
    srv.create("pods", pod("a", "p1", "node-1", "web"));
    srv.create("pods", pod("a", "p2", "node-2", "web"));
    srv.create("pods", pod("b", "p3", "node-1", "db"));
    srv.create("pods", pod("b", "p4", "", "web"));
    let l = |q: &str| names(&get_ok(&srv, &format!("/api/v1/pods?{q}"))["items"]);
    assert_eq!(l("fieldSelector=spec.nodeName%3Dnode-1"), vec!["p1", "p3"]);
    assert_eq!(l("fieldSelector=spec.nodeName==node-1"), vec!["p1", "p3"]);
    assert_eq!(l("fieldSelector=spec.nodeName!=node-1"), vec!["p2", "p4"]);
    assert_eq!(l("fieldSelector=spec.nodeName="), vec!["p4"]);
    assert_eq!(
        l("fieldSelector=metadata.namespace%3Db%2Cspec.nodeName%3Dnode-1"),
        vec!["p3"]
    );
    assert_eq!(l("fieldSelector=metadata.name=p2"), vec!["p2"]);
    assert_eq!(l("labelSelector=app%3Dweb"), vec!["p1", "p2", "p4"]);
    assert_eq!(l("labelSelector=app!=web"), vec!["p3"]);
    assert_eq!(l("labelSelector=app%20in%20(db,cache)"), vec!["p3"]);
    assert_eq!(l("labelSelector=app,!tier"), vec!["p1", "p2", "p3", "p4"]);
    let r = get(&srv, "/api/v1/pods?fieldSelector=spec.bogus=1");
    assert_eq!(r.status, 400);
    is_status(&r.body, 400, "BadRequest");
    // Watches: leaving the selector is a DELETED, entering it an ADDED.
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=true&resourceVersion=4&fieldSelector=spec.nodeName%3Dnode-1&timeoutSeconds=1");
    assert!(srv.wait_for_watches(1, Duration::from_secs(2)));
    srv.update("pods", pod("a", "p1", "node-9", "web"));
    srv.update("pods", pod("a", "p2", "node-1", "web"));
    srv.update("pods", pod("a", "p2", "node-1", "web2"));
    srv.create("pods", pod("a", "p5", "node-3", "web"));
    let ev: Vec<_> = w
        .rest()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(ev, vec!["DELETED p1", "ADDED p2", "MODIFIED p2"]);
}

#[test]
fn drop_watches_cuts_streams_without_terminator() {
    let srv = FakeApiServer::start(FakeOptions::default());
    srv.create("pods", pod("ns", "a", "n1", "x"));
    // Through ureq: the stream ends (with an error) soon after the drop.
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=true&resourceVersion=1");
    // Raw socket: check the bytes.
    let mut raw = TcpStream::connect(srv.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(b"GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(srv.wait_for_watches(2, Duration::from_secs(2)));
    srv.create("pods", pod("ns", "b", "n1", "x"));
    assert_eq!(w.event().unwrap()["object"]["metadata"]["name"], "b");
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&bytes).contains("\"name\":\"b\"") {
        let n = raw.read(&mut buf).unwrap();
        assert!(n > 0, "raw watch ended early");
        bytes.extend_from_slice(&buf[..n]);
    }
    let start = Instant::now();
    srv.drop_watches();
    assert_eq!(srv.open_watches(), 0);
    let end = w.lines.next();
    assert!(
        !matches!(end, Some(Ok(_))),
        "no more events after drop: {end:?}"
    );
    raw.read_to_end(&mut bytes).unwrap();
    assert!(start.elapsed() < Duration::from_secs(3));
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\"name\":\"b\""), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "abrupt close must not send the final chunk: {text}"
    );
    // New watches work afterwards.
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=true&timeoutSeconds=1");
    assert_eq!(w.rest().len(), 2);
}

#[test]
fn an_outage_answers_every_request_and_cuts_watches() {
    let srv = FakeApiServer::start(FakeOptions::default());
    srv.create("pods", pod("ns", "a", "n1", "x"));
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=true&resourceVersion=1");
    assert!(srv.wait_for_watches(1, Duration::from_secs(2)));
    srv.begin_outage(503, Some(2));
    assert_eq!(srv.open_watches(), 0);
    assert!(!matches!(w.lines.next(), Some(Ok(_))), "stream cut");
    for path in [
        "/api/v1/pods",
        "/apis/apps/v1/deployments?watch=true",
        "/version",
        "/readyz",
    ] {
        let r = get(&srv, path);
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(r.retry_after.as_deref(), Some("2"), "{path}");
        is_status(&r.body, 503, "ServiceUnavailable");
    }
    // objects still change behind it, and show once it ends
    srv.create("pods", pod("ns", "b", "n1", "x"));
    assert_eq!(srv.outage_requests(), 4);
    srv.end_outage();
    assert_eq!(
        names(&get_ok(&srv, "/api/v1/pods")["items"]),
        vec!["a", "b"]
    );
    assert_eq!(srv.outage_requests(), 4);
    srv.begin_outage(429, None);
    assert_eq!(srv.outage_requests(), 0);
    let r = get(&srv, "/api/v1/pods");
    assert_eq!(r.status, 429);
    assert!(r.retry_after.is_none());
    assert_eq!(srv.outage_requests(), 1);
}

#[test]
fn timeout_ends_stream_with_terminator() {
    let srv = FakeApiServer::start(FakeOptions::default());
    let mut raw = TcpStream::connect(srv.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(b"GET /api/v1/pods?watch=true&timeoutSeconds=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut bytes = Vec::new();
    raw.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("Transfer-Encoding: chunked"), "{text}");
    assert!(text.ends_with("\r\n\r\n0\r\n\r\n"), "{text:?}");
}

#[test]
fn malformed_watch_line_injection() {
    let srv = FakeApiServer::start(FakeOptions::default());
    let mut w = Watch::open(
        &srv,
        "/api/v1/pods?watch=true&resourceVersion=0&timeoutSeconds=2",
    );
    assert!(srv.wait_for_watches(1, Duration::from_secs(2)));
    srv.inject_malformed_watch_line("pods");
    srv.create("configmaps", json!({"metadata": {"name": "unrelated"}}));
    srv.create("pods", pod("ns", "x", "n1", "x"));
    srv.create("pods", pod("ns", "y", "n1", "x"));
    let bad = w.line().unwrap();
    assert!(serde_json::from_str::<Value>(&bad).is_err(), "{bad}");
    assert!(bad.starts_with("{\"type\":\"ADDED\""));
    let good = w.event().unwrap();
    assert_eq!(good["object"]["metadata"]["name"], "y");
}

#[test]
fn generated_cluster_is_deterministic_and_realistic() {
    let spec = ClusterSpec {
        nodes: 12,
        pods: 120,
        namespaces: 6,
        seed: 7,
    };
    let objs = cluster_gen::generate(&spec);
    assert_eq!(objs, cluster_gen::generate(&spec));
    let other = cluster_gen::generate(&ClusterSpec {
        seed: 8,
        ..spec.clone()
    });
    assert_ne!(objs, other);
    let count = |r: &str| objs.iter().filter(|(res, _)| res == r).count();
    assert_eq!(count("pods"), 120);
    assert_eq!(count("nodes"), 12);
    assert_eq!(count("namespaces"), 6);
    assert!(count("deployments") >= 20);
    assert_eq!(count("deployments"), count("replicasets"));
    assert_eq!(count("endpointslices") + 1, count("services"));
    assert!(count("secrets") >= 2);
    let pods: Vec<&Value> = objs
        .iter()
        .filter(|(r, _)| r == "pods")
        .map(|(_, v)| v)
        .collect();
    let avg = pods.iter().map(|p| p.to_string().len()).sum::<usize>() / pods.len();
    assert!((3000..=5500).contains(&avg), "average pod JSON size {avg}");
    eprintln!("average pod JSON size {avg}");
    let phase = |ph: &str| pods.iter().filter(|p| p["status"]["phase"] == ph).count();
    assert!(phase("Running") > 80 && phase("Pending") > 0 && phase("Succeeded") > 0);
    assert!(pods.iter().any(
        |p| p["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    ));
    assert!(pods
        .iter()
        .all(|p| p["metadata"]["ownerReferences"][0]["controller"] == true));

    let srv = FakeApiServer::start(FakeOptions::default());
    for (r, o) in &objs {
        srv.create(r, o.clone());
    }
    assert_eq!(srv.current_rv(), objs.len() as u64);
    // Owner references resolve to the generated replicasets.
    let rs_uids: Vec<Value> = srv
        .list("replicasets")
        .iter()
        .map(|r| r["metadata"]["uid"].clone())
        .collect();
    for p in srv.list("pods") {
        assert!(rs_uids.contains(&p["metadata"]["ownerReferences"][0]["uid"]));
    }
    let cp = names(
        &get_ok(
            &srv,
            "/api/v1/nodes?labelSelector=node-role.kubernetes.io/control-plane",
        )["items"],
    );
    assert_eq!(cp.len(), 3);
    // Churn replays cleanly (creates, updates, deletes) and keeps going.
    let before = srv.list("pods").len();
    for step in 0..40 {
        match cluster_gen::churn(&spec, step) {
            Mutation::Create(r, o) => {
                srv.create(&r, o);
            }
            Mutation::Update(r, o) => {
                srv.update(&r, o);
            }
            Mutation::Delete {
                resource,
                namespace,
                name,
            } => {
                srv.delete(&resource, namespace.as_deref(), &name)
                    .expect("churn deletes an existing pod");
            }
        }
    }
    let after = srv.list("pods").len();
    assert!(after > before && after <= before + 4, "{before} -> {after}");
}

#[test]
fn history_limit_compacts_automatically() {
    let srv = FakeApiServer::start(FakeOptions {
        history_limit: 10,
        ..FakeOptions::default()
    });
    srv.create("pods", pod("ns", "first", "n1", "x"));
    let token = {
        srv.create("pods", pod("ns", "second", "n1", "x"));
        let page = get_ok(&srv, "/api/v1/pods?limit=1");
        page["metadata"]["continue"].as_str().unwrap().to_string()
    };
    for i in 0..30 {
        srv.create(
            "configmaps",
            json!({"metadata": {"name": format!("cm{i}")}}),
        );
    }
    let r = get(&srv, &format!("/api/v1/pods?limit=1&continue={token}"));
    assert_eq!(r.status, 410);
    let mut w = Watch::open(&srv, "/api/v1/pods?watch=true&resourceVersion=1");
    let e = w.event().unwrap();
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["code"], 410);
    // Recent revisions are still replayable.
    let rv = srv.current_rv() - 2;
    let mut w = Watch::open(
        &srv,
        &format!("/api/v1/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
    );
    assert_eq!(w.rest().len(), 2);
}

/// FNV-1a 64 of a uid, computed here independently of the fake and of kubestate.
fn uid_hash(uid: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in uid.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    h
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn shard_selector_filters_lists_and_watches_only_with_the_gate() {
    let srv = FakeApiServer::start(FakeOptions {
        bookmark_interval: Duration::from_secs(30),
        ..FakeOptions::default()
    });
    let mut low = Vec::new();
    for i in 0..24 {
        let p = srv.create("pods", pod("ns", &format!("p{i:02}"), "n1", "x"));
        if uid_hash(p["metadata"]["uid"].as_str().unwrap()) < 1 << 63 {
            low.push(format!("p{i:02}"));
        }
    }
    assert!(!low.is_empty() && low.len() < 24, "{low:?}");
    let sel = "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')";
    let full = "shardRange(object.metadata.uid, '0x0', '0x8000000000000000') || shardRange(object.metadata.uid, '0x8000000000000000', '0x10000000000000000')";
    let list = |s: &str| get_ok(&srv, &format!("/api/v1/pods?shardSelector={}", enc(s)));

    // gate off: ignored, no shardInfo
    let l = list(sel);
    assert_eq!(names(&l["items"]).len(), 24);
    assert!(l["metadata"].get("shardInfo").is_none());
    assert_eq!(srv.objects_served(sel), 24);

    srv.set_sharded_list_and_watch(true);
    let l = list(sel);
    assert_eq!(names(&l["items"]), low);
    assert_eq!(l["metadata"]["shardInfo"]["selector"], sel);
    assert_eq!(names(&list(full)["items"]).len(), 24);
    assert_eq!(srv.objects_served(sel), 24 + low.len());
    // unquoted bounds, as the apiserver's own parser tests write them
    let unquoted = "shardRange(object.metadata.uid,0x0000000000000000,0x8000000000000000)";
    assert_eq!(names(&list(unquoted)["items"]), low);
    for bad in [
        "shardRange(object.metadata.name, '0x0', '0x8')",
        "shardRange(object.metadata.uid, '0', '0x8')",
        "shardRange(object.metadata.uid, '0x0', '0x100000000000000000')",
        "shardRange(object.metadata.uid, '0x0g', '0x80')",
        "shardRange(object.metadata.uid, '0x0', '0x80'",
    ] {
        let r = get(&srv, &format!("/api/v1/pods?shardSelector={}", enc(bad)));
        assert_eq!(r.status, 422, "{bad}");
    }

    // watch-list: only the range's objects, and the end bookmark echoes the selector
    let q = format!("/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1&shardSelector={}", enc(sel));
    let ev = Watch::open(&srv, &q).rest();
    let added: Vec<String> = ev
        .iter()
        .filter(|e| e["type"] == "ADDED")
        .map(|e| {
            e["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut sorted = added.clone();
    sorted.sort();
    assert_eq!(sorted, low);
    let end = ev.last().unwrap();
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(end["object"]["metadata"]["shardInfo"]["selector"], sel);

    // a live watch sends only the range's changes
    let rv = srv.current_rv();
    let mut w = Watch::open(
        &srv,
        &format!(
            "/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=1&shardSelector={}",
            enc(sel)
        ),
    );
    assert!(srv.wait_for_watches(1, Duration::from_secs(2)));
    for i in 0..24 {
        srv.update("pods", pod("ns", &format!("p{i:02}"), "n2", "x"));
    }
    let mut got: Vec<String> = w
        .rest()
        .iter()
        .map(|e| {
            e["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    got.sort();
    assert_eq!(got, low);
}
