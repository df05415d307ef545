//! The real binary's access control under hostile clients: 40 loops sending wrong passwords
//! (bcrypt cost 10) or bogus bearer tokens (`--auth-filter`) while a legitimate client
//! scrapes. What must hold: every legitimate scrape succeeds; a repeated bad credential is
//! checked once and then answered from the cache; fresh bad credentials meet a bounded queue
//! (429 with `Retry-After`) instead of unbounded bcrypt. Latency is measured in
//! `bench/auth_storm.rs`, not here.

#[path = "support/storm.rs"]
mod storm;
mod support;

use std::path::PathBuf;
use std::time::Duration;
use storm::{basic, sample, scrape_loop, Storm};
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

const LOOPS: usize = 40;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-e2e-storm-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn fake_with_namespaces() -> FakeApiServer {
    let fake = FakeApiServer::start(FakeOptions::default());
    for ns in ["default", "kube-system", "shop"] {
        fake.create(
            "namespaces",
            serde_json::json!({"metadata": {"name": ns}, "status": {"phase": "Active"}}),
        );
    }
    fake
}

/// Every scrape answered 200 with the namespaces in it.
fn assert_all_scraped(scrapes: &[(u16, Duration, Vec<u8>)], what: &str) {
    for (i, (status, _, body)) in scrapes.iter().enumerate() {
        assert_eq!(*status, 200, "{what}: scrape {i} of {}", scrapes.len());
        assert!(
            String::from_utf8_lossy(body).contains("kube_namespace_created{namespace=\"shop\""),
            "{what}: scrape {i} complete"
        );
    }
}

#[test]
fn wrong_password_storm_does_not_starve_the_scraper() {
    let fake = fake_with_namespaces();
    let dir = tmpdir("basic");
    let hash = bcrypt::hash("s3cret", 10).expect("hash");
    let web = dir.join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prom: '{hash}'\n")).expect("web config");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            &format!("--web.config.file={}", web.display()),
            "--resources=namespaces",
        ],
    );
    let good = basic("prom", "s3cret");
    let port = ks.port;
    let ready = ks.wait_for(Duration::from_secs(20), || {
        ks.get("/readyz", &[("Authorization", &good)]).0 == 200
    });
    assert!(ready.is_some(), "never ready; log:\n{}", ks.logs());
    assert_all_scraped(
        &scrape_loop(port, "/metrics", &good, 1, Duration::ZERO),
        "quiet",
    );

    // each loop repeats its own wrong password: one bcrypt each, then the cache answers
    let storm = Storm::start(port, LOOPS, "/metrics", |i, _| {
        basic("prom", &format!("wrong-{i}"))
    });
    let scrapes = scrape_loop(port, "/metrics", &good, 20, Duration::from_millis(100));
    let tally = storm.stop();
    assert_all_scraped(&scrapes, "repeated wrong passwords");
    let tel = |ks: &Kubestate| {
        let (status, _, body) = ks.get_telemetry(&good);
        assert_eq!(status, 200);
        String::from_utf8(body).expect("utf8")
    };
    let t = tel(&ks);
    let bcrypts = sample(&t, "kubestate_http_auth_checks_total{check=\"bcrypt\"}");
    assert!(tally.count(401) > 0, "{tally:?}");
    assert_eq!(
        tally.count(401) + tally.count(429),
        tally.total(),
        "only refusals for the storm: {tally:?}"
    );
    // one per distinct wrong password and one for the right one, however many requests
    assert!(
        bcrypts <= (LOOPS + 1) as f64,
        "{bcrypts} bcrypts for {tally:?}\n{t}"
    );
    assert!(
        tally.total() as f64 > 2.0 * bcrypts,
        "the cache answered most of the storm: {bcrypts} bcrypts, {tally:?}"
    );
    assert_eq!(tally.retry_after_missing, 0);

    // a fresh wrong password every time: bcrypt is bounded by the queue, the rest get 429
    let storm = Storm::start(port, LOOPS, "/metrics", |i, n| {
        basic("prom", &format!("fresh-{i}-{n}"))
    });
    let scrapes = scrape_loop(port, "/metrics", &good, 20, Duration::from_millis(100));
    let tally = storm.stop();
    assert_all_scraped(&scrapes, "fresh wrong passwords");
    let after = sample(
        &tel(&ks),
        "kubestate_http_auth_checks_total{check=\"bcrypt\"}",
    );
    assert!(
        tally.count(429) > 0,
        "the queue was full at times: {tally:?}"
    );
    assert_eq!(tally.retry_after_missing, 0, "429 carries Retry-After");
    assert!(
        after - bcrypts < tally.total() as f64,
        "not one bcrypt per request: {} bcrypts for {tally:?}",
        after - bcrypts
    );
    let busy = sample(&tel(&ks), "kubestate_http_auth_busy_total");
    assert!(busy >= tally.count(429) as f64, "busy {busy}, {tally:?}");
}

#[test]
fn bogus_token_storm_does_not_starve_the_scraper() {
    let fake = fake_with_namespaces();
    fake.add_review_token("good-token", "alice");
    fake.allow_nonresource_get("alice");
    fake.set_review_delay(Duration::from_millis(5));
    let dir = tmpdir("tokens");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &["--auth-filter", "--resources=namespaces"],
    );
    ks.wait_ready();
    let good = "Bearer good-token";
    let port = ks.port;
    assert_all_scraped(
        &scrape_loop(port, "/metrics", good, 1, Duration::ZERO),
        "quiet",
    );
    let before = fake.reviews();
    assert_eq!(before, 2, "one TokenReview and one SubjectAccessReview");

    let storm = Storm::start(port, LOOPS, "/metrics", |i, _| format!("Bearer bogus-{i}"));
    let scrapes = scrape_loop(port, "/metrics", good, 20, Duration::from_millis(100));
    let tally = storm.stop();
    assert_all_scraped(&scrapes, "bogus tokens");
    let reviews = fake.reviews() - before;
    assert!(tally.count(401) > 0, "{tally:?}");
    assert_eq!(
        tally.count(401) + tally.count(429),
        tally.total(),
        "{tally:?}"
    );
    // each bogus token reviewed once (negative answers are cached), the good one not again
    assert!(reviews <= LOOPS, "{reviews} reviews for {tally:?}");
    assert!(
        tally.total() > 4 * LOOPS as u64,
        "the storm was a storm: {tally:?}"
    );
    assert_eq!(tally.retry_after_missing, 0);
    let t = String::from_utf8(ks.get_telemetry(good).2).expect("utf8");
    assert!(
        sample(
            &t,
            "kubestate_http_auth_checks_total{check=\"token_review\"}"
        ) <= (LOOPS + 1) as f64,
        "{t}"
    );
    assert!(
        sample(
            &t,
            "kubestate_http_auth_cache_hits_total{check=\"token_review\"}"
        ) > 0.0,
        "{t}"
    );
}
