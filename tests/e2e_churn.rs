//! State under churn, end to end: the real binary watches the fake API server while pods
//! are created, updated and deleted as fast as the server takes them: first with watches
//! cut and the history compacted under them (410, relist) and LISTs paginated, then carried
//! by the watches alone (so a lost delete or update is not papered over by a relist). After that the
//! pods kubestate reports are exactly the server's, and its whole output equals that of an
//! instance started fresh on the final state: nothing lost, nothing left over, nothing
//! counted twice. Scrapes taken during the churn, plain and gzip, are whole expositions
//! without a duplicate series.

mod support;

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::cluster_gen::{self, Churner, ClusterSpec, Mutation};
use support::exposition::assert_same_exposition;
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-churn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn apply(srv: &FakeApiServer, m: Mutation) {
    match m {
        Mutation::Create(r, o) | Mutation::Update(r, o) => {
            srv.apply(&r, o);
        }
        Mutation::Delete {
            resource,
            namespace,
            name,
        } => {
            srv.delete(&resource, namespace.as_deref(), &name);
        }
    }
}

/// `namespace/pod` of every `kube_pod_info` sample; panics on a duplicate series.
fn pods_in(scrape: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for l in scrape.lines().filter(|l| l.starts_with("kube_pod_info{")) {
        let label = |name: &str| {
            let key = format!("{name}=\"");
            let at = l.find(&key).unwrap_or_else(|| panic!("no {name} in {l}")) + key.len();
            l[at..at + l[at..].find('"').expect("closing quote")].to_string()
        };
        let pod = format!("{}/{}", label("namespace"), label("pod"));
        assert!(seen.insert(pod.clone()), "kube_pod_info twice for {pod}");
    }
    seen
}

fn server_pods(srv: &FakeApiServer) -> BTreeSet<String> {
    srv.list("pods")
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap_or(""),
                p["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Every sample line, sorted (two instances order objects differently).
fn samples(scrape: &str) -> Vec<&str> {
    let mut v: Vec<&str> = scrape.lines().filter(|l| !l.starts_with('#')).collect();
    v.sort_unstable();
    v
}

fn gunzip(body: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::MultiGzDecoder::new(body)
        .read_to_string(&mut out)
        .expect("a gzip scrape decodes");
    out
}

fn gzip_scrape(ks: &Kubestate) -> String {
    let (status, headers, body) = ks.get("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "gzip"),
        "{headers:?}"
    );
    gunzip(&body)
}

/// How long into the churn watches are cut.
const CUTS_FOR: Duration = Duration::from_secs(3);

#[test]
fn after_churn_with_cut_watches_and_compaction_the_state_is_the_servers() {
    let spec = ClusterSpec {
        nodes: 6,
        pods: 300,
        namespaces: 4,
        seed: 11,
    };
    // A short history: watches resumed after a cut often find their resourceVersion
    // compacted away (410) and relist, paginated, while the churn goes on.
    let fake = Arc::new(FakeApiServer::start(FakeOptions {
        history_limit: 400,
        max_page: Some(40),
        ..FakeOptions::default()
    }));
    for (r, o) in cluster_gen::generate(&spec) {
        fake.create(&r, o);
    }
    let dir = tmpdir("state");
    let kubeconfig = fake.write_kubeconfig(&dir);
    let watch_list = Kubestate::start(
        &kubeconfig,
        &["--initial-sync=watch-list", "--enable-gzip-encoding"],
    );
    let list = Kubestate::start(
        &kubeconfig,
        &["--initial-sync=list", "--enable-gzip-encoding"],
    );
    watch_list.wait_ready();
    list.wait_ready();
    assert_eq!(pods_in(&watch_list.scrape()), server_pods(&fake));

    let stop = Arc::new(AtomicBool::new(false));
    let steps = Arc::new(AtomicU64::new(0));
    let churn = {
        let (fake, stop, steps, spec) = (fake.clone(), stop.clone(), steps.clone(), spec.clone());
        std::thread::spawn(move || {
            let churner = Churner::new(&spec);
            let started = Instant::now();
            let mut step = 0u64;
            let mut next_cut = Duration::from_millis(300);
            while !stop.load(Ordering::SeqCst) {
                apply(&fake, churner.step(step));
                step += 1;
                steps.store(step, Ordering::SeqCst);
                // cuts for the first 3 s; after that the watches alone carry the churn
                if started.elapsed() >= next_cut && next_cut < CUTS_FOR {
                    fake.drop_watches();
                    next_cut += Duration::from_millis(300);
                }
                if step % 8 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    // Scrapes during the churn: each a whole exposition, no series twice, gzip included.
    let churn_for = CUTS_FOR + Duration::from_secs(3);
    let started = Instant::now();
    let mut scrapes = 0;
    while started.elapsed() < churn_for {
        for ks in [&watch_list, &list] {
            pods_in(&ks.scrape());
            pods_in(&gzip_scrape(ks));
            scrapes += 2;
        }
    }
    stop.store(true, Ordering::SeqCst);
    churn.join().expect("churn thread");
    let steps = steps.load(Ordering::SeqCst);
    assert!(steps > 500, "only {steps} mutations");
    assert!(scrapes >= 8, "only {scrapes} scrapes");

    let want = server_pods(&fake);
    for (what, ks) in [("watch-list", &watch_list), ("list", &list)] {
        let mut last = BTreeSet::new();
        let agreed = ks.wait_for(Duration::from_secs(30), || {
            last = pods_in(&ks.scrape());
            last == want
        });
        assert!(
            agreed.is_some(),
            "{what}: after {steps} mutations, pods kubestate has and the server has not: {:?}; \
             the server has and kubestate has not: {:?}\n{}",
            last.difference(&want).collect::<Vec<_>>(),
            want.difference(&last).collect::<Vec<_>>(),
            ks.logs()
        );
    }
    // The history was compacted under the watches: some resumed watch had to relist.
    let relisted = [&watch_list, &list]
        .iter()
        .any(|ks| ks.logs().contains("resourceVersion expired, relisting"));
    assert!(relisted, "no watch hit a compacted history");

    // An instance started now, on the final state, agrees on every sample; the gzip body of
    // each equals its plain body.
    let fresh = Kubestate::start(&kubeconfig, &["--initial-sync=list"]);
    fresh.wait_ready();
    let reference = fresh.scrape();
    for (what, ks) in [("watch-list", &watch_list), ("list", &list)] {
        let plain = ks.scrape();
        let a = samples(&plain);
        let b = samples(&reference);
        if a != b {
            let only_a: Vec<_> = a.iter().filter(|l| b.binary_search(l).is_err()).collect();
            let only_b: Vec<_> = b.iter().filter(|l| a.binary_search(l).is_err()).collect();
            panic!(
                "{what} after churn differs from a fresh instance:\nonly after churn: \
                 {only_a:#?}\nonly fresh: {only_b:#?}"
            );
        }
        assert_same_exposition(gzip_scrape(ks).as_bytes(), plain.as_bytes(), what);
    }
}
