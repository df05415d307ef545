//! Sharding through the real binary: static shards split the objects exactly as
//! kube-state-metrics assigns them, range shards split them by hash range whether or not the
//! API server filters for them (KEP-5866), and StatefulSet autosharding reshards without a
//! restart and without a scrape ever seeing a partial store.

mod support;

use kubestate::shard::{Shard, Strategy};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-shard-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn add_pods(fake: &FakeApiServer, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let p = fake.create(
                "pods",
                json!({"metadata": {"name": format!("p{i}"), "namespace": "default"},
                       "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"phase": "Running"}}),
            );
            (p["metadata"]["name"].as_str().expect("name").to_string(), p["metadata"]["uid"].as_str().expect("uid").to_string())
        })
        .collect()
}

fn exported_pods(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|l| l.starts_with("kube_pod_info{"))
        .filter_map(|l| l.split("pod=\"").nth(1).and_then(|r| r.split('"').next()))
        .map(str::to_string)
        .collect()
}

#[test]
fn static_shards_partition_the_objects_like_kube_state_metrics() {
    let fake = FakeApiServer::start(FakeOptions::default());
    let pods = add_pods(&fake, 60);
    let dir = tmpdir("static");
    let mut union = BTreeSet::new();
    for ordinal in 0..3 {
        let ks = Kubestate::start(
            &fake.write_kubeconfig(&dir),
            &[
                "--resources=pods",
                &format!("--shard={ordinal}"),
                "--total-shards=3",
            ],
        );
        ks.wait_ready();
        let got = exported_pods(&ks.scrape());
        let want: BTreeSet<String> = pods
            .iter()
            .filter(|(_, uid)| Shard::jump(ordinal, 3).owns(uid))
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(got, want, "shard {ordinal}");
        assert!(union.is_disjoint(&got));
        union.extend(got);
        assert!(ks.telemetry().contains(&format!(
            "kube_state_metrics_shard_ordinal{{shard_ordinal=\"{ordinal}\"}} {ordinal}"
        )));
        assert!(ks.telemetry().contains("kube_state_metrics_total_shards 3"));
    }
    assert_eq!(union.len(), 60);
}

/// The sample lines of a scrape (comments dropped), as a set.
fn samples(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Two range shards against a server with `ShardedListAndWatch` on or off: together they
/// export exactly what an unsharded instance exports, every request carries the shard's
/// selector, and with the gate on each shard is sent only its own objects.
fn range_shards_union_is_unsharded(gate: bool, initial_sync: &str) {
    let fake = FakeApiServer::start(FakeOptions {
        sharded_list_and_watch: gate,
        ..FakeOptions::default()
    });
    let pods = add_pods(&fake, 50);
    for i in 0..20 {
        fake.create(
            "configmaps",
            json!({"metadata": {"name": format!("cm{i}"), "namespace": "default"}, "data": {"k": "v"}}),
        );
    }
    let dir = tmpdir(&format!("range-{gate}-{initial_sync}"));
    let kubeconfig = fake.write_kubeconfig(&dir);
    let resources = "--resources=pods,configmaps";
    let unsharded = Kubestate::start(&kubeconfig, &[resources]);
    unsharded.wait_ready();
    let want = samples(&unsharded.scrape());
    assert!(want.len() > 100, "{}", want.len());
    // stopped (and waited for) before the requests are cleared, so every request recorded
    // from here on comes from the shard under test
    drop(unsharded);
    fake.clear_requests();

    let mut union = BTreeSet::new();
    let mut all_pods = BTreeSet::new();
    for ordinal in 0..2 {
        let shard = Shard::new(ordinal, 2, Strategy::Range).expect("sharded");
        let ks = Kubestate::start(
            &kubeconfig,
            &[
                resources,
                &format!("--shard={ordinal}"),
                "--total-shards=2",
                "--shard-strategy=range",
                &format!("--initial-sync={initial_sync}"),
            ],
        );
        ks.wait_ready();
        let body = ks.scrape();
        let got = samples(&body);
        let owned: BTreeSet<String> = pods
            .iter()
            .filter(|(_, uid)| shard.owns(uid))
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(exported_pods(&body), owned, "shard {ordinal}");
        assert!(all_pods.is_disjoint(&exported_pods(&body)));
        all_pods.extend(exported_pods(&body));
        union.extend(got);

        let selector = shard.selector().expect("range selector");
        let encoded: String = selector
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let reqs: Vec<String> = fake
            .requests()
            .into_iter()
            .filter(|r| r.contains("/pods") || r.contains("/configmaps"))
            .collect();
        assert!(!reqs.is_empty());
        for r in &reqs {
            assert!(
                r.contains(&format!("shardSelector={encoded}")),
                "request without this shard's selector: {r}"
            );
        }

        let owned_objects = fake
            .list("pods")
            .iter()
            .chain(fake.list("configmaps").iter())
            .filter(|o| shard.owns(o["metadata"]["uid"].as_str().expect("uid")))
            .count();
        let served = fake.objects_served(&selector);
        let filtered = format!(
            "kubestate_shard_server_filtered{{resource=\"pods\"}} {}",
            gate as u8
        );
        let tele = ks.telemetry();
        assert!(tele.contains(&filtered), "{filtered} not in:\n{tele}");
        if gate {
            assert_eq!(
                served, owned_objects,
                "shard {ordinal} was sent others' objects"
            );
            assert!(ks.logs().contains("shardSelector applied"), "{}", ks.logs());
        } else {
            assert_eq!(served, 70, "shard {ordinal}");
            assert!(ks.logs().contains("ignored shardSelector"), "{}", ks.logs());
        }
        // this shard stopped before the next one starts: a watch it reopens in the meantime
        // must not be counted as the next shard's request
        drop(ks);
        fake.clear_requests();
    }
    assert_eq!(all_pods.len(), 50);
    assert_eq!(union, want);
}

#[test]
fn range_shards_with_server_side_filtering() {
    range_shards_union_is_unsharded(true, "watch-list");
    range_shards_union_is_unsharded(true, "list");
}

#[test]
fn a_server_that_stops_filtering_is_noticed_from_the_watch() {
    let fake = FakeApiServer::start(FakeOptions {
        sharded_list_and_watch: true,
        ..FakeOptions::default()
    });
    add_pods(&fake, 10);
    let dir = tmpdir("range-stop");
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods",
            "--shard=0",
            "--total-shards=2",
            "--shard-strategy=range",
        ],
    );
    ks.wait_ready();
    let filtered = |v: u8| format!("kubestate_shard_server_filtered{{resource=\"pods\"}} {v}");
    assert!(ks.telemetry().contains(&filtered(1)), "{}", ks.telemetry());
    // the gate goes off and the watch reconnects: the next foreign event tells
    fake.set_sharded_list_and_watch(false);
    fake.drop_watches();
    assert!(fake.wait_for_watches(1, Duration::from_secs(10)));
    let owner = Shard::new(0, 2, Strategy::Range).expect("sharded");
    let foreign = (0..20)
        .map(|i| {
            fake.create(
                "pods",
                json!({"metadata": {"name": format!("late{i}"), "namespace": "default"},
                       "spec": {"containers": [{"name": "c", "image": "x"}]}}),
            )
        })
        .filter(|p| !owner.owns(p["metadata"]["uid"].as_str().expect("uid")))
        .count();
    assert!(foreign > 0);
    ks.wait_for(Duration::from_secs(10), || {
        ks.telemetry().contains(&filtered(0))
    })
    .unwrap_or_else(|| panic!("still reported as filtered: {}", ks.telemetry()));
    assert!(ks.logs().contains("ignored shardSelector"), "{}", ks.logs());
    let want: BTreeSet<String> = fake
        .list("pods")
        .iter()
        .filter(|p| owner.owns(p["metadata"]["uid"].as_str().expect("uid")))
        .map(|p| p["metadata"]["name"].as_str().expect("name").to_string())
        .collect();
    ks.wait_for(Duration::from_secs(10), || {
        exported_pods(&ks.scrape()) == want
    })
    .expect("ownership stays exact");
}

#[test]
fn range_shards_without_server_side_filtering() {
    range_shards_union_is_unsharded(false, "watch-list");
    range_shards_union_is_unsharded(false, "list");
}

#[test]
fn autosharding_follows_the_statefulset_without_partial_scrapes() {
    autosharding(Strategy::Jump);
}

#[test]
fn range_autosharding_follows_the_statefulset_without_partial_scrapes() {
    autosharding(Strategy::Range);
}

fn autosharding(strategy: Strategy) {
    let fake = FakeApiServer::start(FakeOptions::default());
    let sts = fake.create(
        "statefulsets",
        json!({"metadata": {"name": "ks", "namespace": "monitoring"},
               "spec": {"replicas": 2, "serviceName": "ks", "selector": {"matchLabels": {"app": "ks"}}, "template": {}}}),
    );
    fake.create(
        "pods",
        json!({"metadata": {"name": "ks-1", "namespace": "monitoring",
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ks",
                                                 "uid": sts["metadata"]["uid"], "controller": true}]},
               "spec": {"containers": [{"name": "c", "image": "x"}]}}),
    );
    add_pods(&fake, 40);
    let all: BTreeSet<String> = fake
        .list("pods")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().expect("name").to_string())
        .collect();
    let mine: BTreeSet<String> = fake
        .list("pods")
        .iter()
        .filter(|p| {
            Shard::new(1, 2, strategy)
                .expect("sharded")
                .owns(p["metadata"]["uid"].as_str().expect("uid"))
        })
        .map(|p| p["metadata"]["name"].as_str().expect("name").to_string())
        .collect();
    let dir = tmpdir(&format!("auto-{}", strategy.name()));
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods",
            "--pod=ks-1",
            "--pod-namespace=monitoring",
            &format!("--shard-strategy={}", strategy.name()),
        ],
    );
    ks.wait_ready();
    assert_eq!(exported_pods(&ks.scrape()), mine);
    assert!(ks.telemetry().contains("kube_state_metrics_total_shards 2"));

    // scale the StatefulSet to 3: this pod becomes shard 1 of 3
    let mut sts2 = fake
        .get("statefulsets", Some("monitoring"), "ks")
        .expect("sts");
    sts2["spec"]["replicas"] = json!(3);
    fake.update("statefulsets", sts2);
    let want3: BTreeSet<String> = fake
        .list("pods")
        .iter()
        .filter(|p| {
            Shard::new(1, 3, strategy)
                .expect("sharded")
                .owns(p["metadata"]["uid"].as_str().expect("uid"))
        })
        .map(|p| p["metadata"]["name"].as_str().expect("name").to_string())
        .collect();
    // every scrape during the reshard shows one complete ownership, never a mix or a gap
    let mut seen_new = false;
    for _ in 0..400 {
        let got = exported_pods(&ks.scrape());
        assert!(
            got == mine || got == want3,
            "partial scrape during reshard: {} pods",
            got.len()
        );
        if got == want3 {
            seen_new = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(seen_new, "reshard never completed: {}", ks.logs());
    assert!(ks.telemetry().contains("kube_state_metrics_total_shards 3"));
    assert!(ks.logs().contains("reshard complete"));
    assert!(all.len() > want3.len());
}
