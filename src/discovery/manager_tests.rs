//! Manager: consumers fed watch sequences produce the right snapshots; coalescing; file_sd.

use super::config::parse;
use super::manager::{Discovery, JobStatus, ManagerState, Msg, SdOptions, Snapshots, Update};
use super::testutil::{job, obj, tg};
use super::Role;
use crate::kube::watch::Consumer;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use parking_lot::RwLock;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pod(name: &str, ip: &str, labels: serde_json::Value) -> Pod {
    obj(
        json!({"metadata": {"name": name, "namespace": "ns", "labels": labels},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
        "status": {"podIP": ip}}),
    )
}

fn wait_for(sd: &Discovery, job: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = None;
    while Instant::now() < deadline {
        got = sd
            .render_job(job)
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        if got.as_deref() == Some(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("job {job}: got {got:?}, want {want}");
}

fn addrs(sd: &Discovery, job: &str) -> Vec<String> {
    let b = sd.render_job(job).unwrap_or_default();
    let v: Vec<serde_json::Value> = serde_json::from_slice(&b).unwrap_or_default();
    v.iter()
        .map(|e| e["targets"][0].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn consumers_upsert_delete_relist_and_joins() {
    let cfg = parse(
        "- {name: pods, role: pod, selectors: [{role: pod, label: app=web}]}\n- {name: eps, role: endpoints}\n",
        Path::new("t"),
        || Err("none".into()),
    )
    .unwrap();
    let (sd, _h) = Discovery::start(
        cfg,
        SdOptions {
            interval: Duration::from_millis(1),
            file_dir: None,
            ..SdOptions::default()
        },
    )
    .unwrap();
    let mut pods = sd.consumer::<Pod>();
    let mut svcs = sd.consumer::<Service>();
    let mut eps = sd.consumer::<Endpoints>();
    assert_eq!(sd.job_status("pods"), JobStatus::Pending);
    assert_eq!(sd.job_status("nope"), JobStatus::Unknown);

    pods.relist_begin();
    pods.relist_item(&pod("a", "10.0.0.1", json!({"app": "web"})));
    pods.relist_item(&pod("b", "10.0.0.2", json!({"app": "db"})));
    pods.relist_commit();
    // Published only once every resource a job reads has synced.
    wait_for(
        &sd,
        "pods",
        r#"[{"targets":["10.0.0.1:80"],"labels":{"__meta_kubernetes_namespace":"ns","__meta_kubernetes_pod_container_id":"","__meta_kubernetes_pod_container_image":"","__meta_kubernetes_pod_container_init":"false","__meta_kubernetes_pod_container_name":"c","__meta_kubernetes_pod_container_port_name":"","__meta_kubernetes_pod_container_port_number":"80","__meta_kubernetes_pod_container_port_protocol":"","__meta_kubernetes_pod_host_ip":"","__meta_kubernetes_pod_ip":"10.0.0.1","__meta_kubernetes_pod_label_app":"web","__meta_kubernetes_pod_labelpresent_app":"true","__meta_kubernetes_pod_name":"a","__meta_kubernetes_pod_node_name":"","__meta_kubernetes_pod_phase":"","__meta_kubernetes_pod_ready":"unknown","__meta_kubernetes_pod_uid":""}}]"#,
    );
    assert_eq!(sd.job_status("eps"), JobStatus::Pending);

    // Label change moves b into the job; deleting a removes it.
    pods.upsert(&pod("b", "10.0.0.2", json!({"app": "web"})));
    pods.delete(&pod("a", "10.0.0.1", json!({})));
    let deadline = Instant::now() + Duration::from_secs(5);
    while addrs(&sd, "pods") != ["10.0.0.2:80"] && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(addrs(&sd, "pods"), ["10.0.0.2:80"]);

    svcs.relist_begin();
    svcs.relist_commit();
    eps.relist_begin();
    eps.relist_item(&obj::<Endpoints>(json!({"metadata": {"name": "e", "namespace": "ns"},
        "subsets": [{"addresses": [{"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "name": "b", "namespace": "ns"}}],
                     "ports": [{"port": 80}]}]})));
    eps.relist_commit();
    wait_for_addrs(&sd, "eps", &["10.0.0.2:80"]);
    // A service of the same name appearing rebuilds the endpoints group with its labels.
    svcs.upsert(&obj(json!({"metadata": {"name": "e", "namespace": "ns"}})));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let b = String::from_utf8(sd.render_job("eps").unwrap_or_default()).unwrap_or_default();
        if b.contains("__meta_kubernetes_service_name\":\"e\"") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service labels never joined: {b}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // A relist without b: the pod group vanishes, and the endpoints target loses its pod labels.
    pods.relist_begin();
    pods.relist_commit();
    wait_for(&sd, "pods", "[]");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let b = String::from_utf8(sd.render_job("eps").unwrap_or_default()).unwrap_or_default();
        if !b.contains("pod_name") && b.contains("10.0.0.2:80") {
            break;
        }
        assert!(Instant::now() < deadline, "pod labels not dropped: {b}");
        std::thread::sleep(Duration::from_millis(5));
    }

    // An aborted relist removes nothing.
    eps.relist_begin();
    eps.relist_abort();
    assert_eq!(addrs(&sd, "eps"), ["10.0.0.2:80"]);
}

fn wait_for_addrs(sd: &Discovery, job: &str, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while addrs(sd, job) != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(addrs(sd, job), want);
}

fn update(source: &str, addr: &str) -> Msg {
    Msg::Updates(vec![Update {
        job: 0,
        source: source.into(),
        group: Some(tg(source, &[], &[&[("__address__", addr)]])),
    }])
}

fn state(dir: Option<&Path>) -> (ManagerState, Snapshots) {
    let snaps = Arc::new(RwLock::new(HashMap::new()));
    let mut j = job(Role::Ingress);
    j.name = "web".into();
    let st = ManagerState::new(
        &[j],
        SdOptions {
            interval: Duration::from_secs(5),
            file_dir: dir.map(Path::to_path_buf),
            ..SdOptions::default()
        },
        snaps.clone(),
    );
    (st, snaps)
}

fn snap(s: &Snapshots) -> String {
    s.read()
        .get("web")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

#[test]
fn coalescing_first_set_immediately_then_once_per_interval() {
    let (mut st, snaps) = state(None);
    let t0 = Instant::now();
    st.handle(update("ingress/a/x", "h1"));
    assert_eq!(st.tick(t0), None, "nothing before sync");
    assert_eq!(st.publications("web"), 0);
    st.handle(Msg::Synced(super::manager::Resource::Ingresses));
    st.tick(t0);
    assert_eq!(st.publications("web"), 1);
    assert_eq!(snap(&snaps), r#"[{"targets":["h1"],"labels":{}}]"#);

    st.handle(update("ingress/a/x", "h2"));
    let next = st.tick(t0 + Duration::from_secs(1));
    assert_eq!(next, Some(t0 + Duration::from_secs(5)));
    st.handle(update("ingress/a/y", "h3"));
    st.tick(t0 + Duration::from_secs(2));
    assert_eq!(st.publications("web"), 1, "held back within the interval");
    st.tick(t0 + Duration::from_secs(5));
    assert_eq!(st.publications("web"), 2);
    assert_eq!(
        snap(&snaps),
        r#"[{"targets":["h2"],"labels":{}},{"targets":["h3"],"labels":{}}]"#
    );
    // An update that changes nothing does not republish; a removal does.
    st.handle(update("ingress/a/y", "h3"));
    assert_eq!(st.tick(t0 + Duration::from_secs(20)), None);
    assert_eq!(st.publications("web"), 2);
    st.handle(Msg::Updates(vec![Update {
        job: 0,
        source: "ingress/a/x".into(),
        group: None,
    }]));
    st.tick(t0 + Duration::from_secs(21));
    assert_eq!(snap(&snaps), r#"[{"targets":["h3"],"labels":{}}]"#);
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-sd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn file_sd_atomic_and_only_on_change() {
    use std::os::unix::fs::MetadataExt;
    let dir = tmpdir("files");
    let (mut st, _snaps) = state(Some(&dir));
    let t0 = Instant::now();
    st.handle(Msg::Synced(super::manager::Resource::Ingresses));
    st.handle(update("ingress/a/x", "h1"));
    st.tick(t0);
    let f = dir.join("web.json");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        r#"[{"targets":["h1"],"labels":{}}]"#
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["web.json"], "no temp file left");
    let ino = std::fs::metadata(&f).unwrap().ino();
    // Same content republished (remove then re-add within one interval): no rewrite.
    st.handle(Msg::Updates(vec![Update {
        job: 0,
        source: "ingress/a/x".into(),
        group: None,
    }]));
    st.handle(update("ingress/a/x", "h1"));
    st.tick(t0 + Duration::from_secs(10));
    assert_eq!(
        std::fs::metadata(&f).unwrap().ino(),
        ino,
        "unchanged content not rewritten"
    );
    st.handle(update("ingress/a/x", "h2"));
    st.tick(t0 + Duration::from_secs(20));
    assert_ne!(std::fs::metadata(&f).unwrap().ino(), ino);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        r#"[{"targets":["h2"],"labels":{}}]"#
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn file_sd_write_error_keeps_state_and_retries() {
    let dir = tmpdir("err");
    let missing = dir.join("not-there");
    let (mut st, snaps) = state(Some(&missing));
    let t0 = Instant::now();
    st.handle(Msg::Synced(super::manager::Resource::Ingresses));
    st.handle(update("ingress/a/x", "h1"));
    let next = st.tick(t0);
    assert_eq!(next, Some(t0 + Duration::from_secs(5)), "retry scheduled");
    assert_eq!(
        snap(&snaps),
        r#"[{"targets":["h1"],"labels":{}}]"#,
        "in-memory state kept"
    );
    std::fs::create_dir_all(&missing).unwrap();
    st.tick(t0 + Duration::from_secs(1));
    assert!(
        !missing.join("web.json").exists(),
        "not retried before its time"
    );
    st.tick(t0 + Duration::from_secs(5));
    assert_eq!(
        std::fs::read_to_string(missing.join("web.json")).unwrap(),
        r#"[{"targets":["h1"],"labels":{}}]"#
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until `job`'s published body contains `needle` (or no longer does).
fn wait_contains(sd: &Discovery, job: &str, needle: &str, present: bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let b = String::from_utf8(sd.render_job(job).unwrap_or_default()).unwrap_or_default();
        if b.contains(needle) == present && !b.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "job {job}: {needle} present={present} expected in {b}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn workload_side_caches_gate_publication_and_rebuild_owned_pods() {
    use super::manager::Resource;
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::api::batch::v1::Job as BatchJob;
    let cfg = parse(
        "- {name: deploy, role: pod, attach_metadata: {deployment: true}}\n\
         - {name: cron, role: pod, attach_metadata: {cronjob: true}}\n\
         - {name: plain, role: pod, attach_metadata: {job: true}}\n",
        Path::new("t"),
        || Err("none".into()),
    )
    .unwrap();
    let (sd, _h) = Discovery::start(
        cfg,
        SdOptions {
            interval: Duration::from_millis(1),
            file_dir: None,
            ..SdOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        sd.resources().into_iter().collect::<Vec<_>>(),
        [Resource::Pods, Resource::ReplicaSets, Resource::Jobs]
    );
    let mut pods = sd.consumer::<Pod>();
    let mut rss = sd.consumer::<ReplicaSet>();
    let mut jobs = sd.consumer::<BatchJob>();
    let owned = |name: &str, ip: &str, kind: &str, owner: &str| -> Pod {
        obj(json!({"metadata": {"name": name, "namespace": "ns",
            "ownerReferences": [{"apiVersion": "v1", "kind": kind, "name": owner, "uid": "u", "controller": true}]},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
            "status": {"podIP": ip}}))
    };
    pods.relist_begin();
    pods.relist_item(&owned("web", "10.0.0.1", "ReplicaSet", "web-rs"));
    pods.relist_item(&owned("backup", "10.0.0.2", "Job", "backup-1"));
    pods.relist_commit();
    wait_contains(
        &sd,
        "plain",
        "\"__meta_kubernetes_pod_job_name\":\"backup-1\"",
        true,
    );
    assert_eq!(
        sd.job_status("deploy"),
        JobStatus::Pending,
        "waits for replicasets"
    );
    assert_eq!(sd.job_status("cron"), JobStatus::Pending, "waits for jobs");
    rss.relist_begin();
    rss.relist_commit();
    jobs.relist_begin();
    jobs.relist_commit();
    wait_contains(&sd, "deploy", "10.0.0.1:80", true);
    wait_contains(&sd, "cron", "10.0.0.2:80", true);
    let deployment = "\"__meta_kubernetes_pod_deployment_name\":\"web\"";
    let cronjob = "\"__meta_kubernetes_pod_cronjob_name\":\"backup\"";
    wait_contains(&sd, "deploy", deployment, false);

    // Owners arriving after their pods re-emit those pods.
    rss.upsert(&obj(json!({"metadata": {"name": "web-rs", "namespace": "ns",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}]}})));
    jobs.upsert(&obj(json!({"metadata": {"name": "backup-1", "namespace": "ns",
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "uid": "c", "controller": true}]}})));
    wait_contains(&sd, "deploy", deployment, true);
    wait_contains(&sd, "cron", cronjob, true);
    let cron = String::from_utf8(sd.render_job("cron").unwrap_or_default()).unwrap_or_default();
    assert!(!cron.contains("pod_job_name"), "job not attached: {cron}");
    let plain = String::from_utf8(sd.render_job("plain").unwrap_or_default()).unwrap_or_default();
    assert!(
        !plain.contains("deployment_name") && !plain.contains("cronjob_name"),
        "{plain}"
    );

    // A relist without the ReplicaSet drops it, and the label with it.
    rss.relist_begin();
    rss.relist_commit();
    wait_contains(&sd, "deploy", deployment, false);
    wait_contains(&sd, "cron", cronjob, true);
}
