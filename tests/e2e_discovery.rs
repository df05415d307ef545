//! Service discovery through the real binary: http_sd JSON at /sd/<job>, file_sd files, and
//! one watch shared with metrics (or a separate one when the metrics watch is sharded).

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::fake_apiserver::{FakeApiServer, FakeOptions};
use support::kubestate::Kubestate;

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kubestate-sd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn cluster() -> FakeApiServer {
    let fake = FakeApiServer::start(FakeOptions::default());
    fake.create(
        "namespaces",
        json!({"metadata": {"name": "shop", "labels": {"team": "a"}}}),
    );
    fake.create(
        "nodes",
        json!({"metadata": {"name": "n1", "labels": {"zone": "z1"}},
               "status": {"addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
                          "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}),
    );
    for (name, ip) in [("web-a", "10.1.0.1"), ("web-b", "10.1.0.2")] {
        fake.create(
            "pods",
            json!({"metadata": {"name": name, "namespace": "shop", "labels": {"app": "web"}},
                   "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx",
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]},
                   "status": {"phase": "Running", "podIP": ip, "hostIP": "192.168.1.10",
                              "conditions": [{"type": "Ready", "status": "True"}]}}),
        );
    }
    fake
}

fn sd_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("sd.yaml");
    std::fs::write(
        &path,
        "- name: web-pods\n  role: pod\n  namespaces: {names: [shop]}\n  selectors:\n    - {role: pod, label: app=web}\n  attach_metadata: {node: true}\n- name: nodes\n  role: node\n",
    )
    .expect("write sd config");
    path
}

fn get_json(ks: &Kubestate, path: &str) -> (u16, Value) {
    let (status, headers, body) = ks.get(path, &[("Accept-Encoding", "gzip")]);
    if status == 200 {
        assert!(headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/json"));
        assert!(
            !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-encoding")),
            "http_sd is never gzipped"
        );
    }
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn targets(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["targets"][0].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn http_sd_and_file_sd_follow_the_cluster() {
    let fake = cluster();
    let dir = tmpdir("basic");
    let files = dir.join("files");
    std::fs::create_dir_all(&files).expect("files dir");
    let cfg = sd_config(&dir);
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods,nodes",
            &format!("--sd-config={}", cfg.display()),
            &format!("--sd-file-dir={}", files.display()),
            "--sd-update-interval=200ms",
            "--enable-gzip-encoding",
        ],
    );
    ks.wait_ready();
    let mut pods = Value::Null;
    ks.wait_for(Duration::from_secs(10), || {
        let (s, v) = get_json(&ks, "/sd/web-pods");
        pods = v;
        s == 200 && targets(&pods).len() == 2
    })
    .unwrap_or_else(|| panic!("pod targets: {pods}\n{}", ks.logs()));
    let mut t = targets(&pods);
    t.sort();
    assert_eq!(t, vec!["10.1.0.1:8080", "10.1.0.2:8080"]);
    let first = &pods.as_array().expect("array")[0]["labels"];
    assert_eq!(first["__meta_kubernetes_namespace"], "shop");
    assert_eq!(first["__meta_kubernetes_pod_label_app"], "web");
    assert_eq!(first["__meta_kubernetes_pod_labelpresent_app"], "true");
    assert_eq!(first["__meta_kubernetes_pod_container_port_name"], "http");
    assert_eq!(first["__meta_kubernetes_pod_ready"], "true");
    assert_eq!(
        first["__meta_kubernetes_node_label_zone"], "z1",
        "attach_metadata.node"
    );
    // each job is published once its own resources have synced
    let mut nodes = Value::Null;
    ks.wait_for(Duration::from_secs(10), || {
        let (s, v) = get_json(&ks, "/sd/nodes");
        nodes = v;
        s == 200
    })
    .unwrap_or_else(|| panic!("nodes job never ready: {}", ks.logs()));
    assert_eq!(targets(&nodes), vec!["192.168.1.10:10250"]);
    assert_eq!(get_json(&ks, "/sd/nope").0, 404);

    // file_sd has the same content
    let file = files.join("web-pods.json");
    ks.wait_for(Duration::from_secs(5), || file.exists())
        .expect("file_sd written");
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read file_sd")).expect("json");
    assert_eq!(on_disk, pods);

    // a deleted pod leaves both outputs
    fake.delete("pods", Some("shop"), "web-a");
    ks.wait_for(Duration::from_secs(5), || {
        targets(&get_json(&ks, "/sd/web-pods").1) == vec!["10.1.0.2:8080"]
    })
    .unwrap_or_else(|| panic!("delete not seen: {}", ks.logs()));
    ks.wait_for(Duration::from_secs(5), || {
        let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap_or_default())
            .unwrap_or(Value::Null);
        targets(&v) == vec!["10.1.0.2:8080"]
    })
    .expect("file_sd updated");
    assert!(
        std::fs::read_dir(&files).expect("dir").all(|e| {
            let n = e.expect("entry").file_name().to_string_lossy().into_owned();
            n.ends_with(".json") && !n.starts_with('.')
        }),
        "no temporary files left behind"
    );

    // one watch per resource feeds metrics and discovery
    let pod_watches = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/pods?") && r.contains("watch=true"))
        .count();
    assert!(
        pod_watches <= 2,
        "metrics and discovery should share the pods watch: {pod_watches}"
    );

    // self-metrics on the telemetry port: one target left in the job, files written, events
    let tel = ks.telemetry();
    assert!(
        tel.contains("kubestate_sd_targets{job=\"web-pods\"} 1\n"),
        "{tel}"
    );
    assert!(
        tel.contains("kubestate_sd_target_groups{job=\"nodes\"} "),
        "{tel}"
    );
    assert!(
        tel.lines().any(
            |l| l.starts_with("kubestate_sd_file_writes_total{job=\"web-pods\"} ")
                && !l.ends_with(" 0")
        ),
        "{tel}"
    );
    assert!(tel.contains("kubestate_sd_file_write_failures_total{job=\"web-pods\"} 0\n"));
    assert!(
        tel.lines().any(|l| l
            .starts_with("kubestate_sd_kubernetes_events_total{role=\"pods\",event=\"delete\"} ")
            && !l.ends_with(" 0")),
        "{tel}"
    );
    assert!(tel.contains("kubestate_sd_kubernetes_events_total{role=\"pods\",event=\"add\"} "));
}

#[test]
fn sharded_metrics_still_discover_every_pod() {
    let fake = cluster();
    let dir = tmpdir("sharded");
    let cfg = sd_config(&dir);
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods",
            "--shard=0",
            "--total-shards=7",
            &format!("--sd-config={}", cfg.display()),
            "--sd-update-interval=200ms",
        ],
    );
    ks.wait_ready();
    ks.wait_for(Duration::from_secs(10), || {
        targets(&get_json(&ks, "/sd/web-pods").1).len() == 2
    })
    .unwrap_or_else(|| panic!("discovery must see all pods: {}", ks.logs()));
}

#[test]
fn an_invalid_sd_config_refuses_to_start_naming_the_job() {
    let dir = tmpdir("invalid");
    let path = dir.join("bad.yaml");
    std::fs::write(&path, "- name: x\n  role: banana\n").expect("write");
    let (code, stderr) = support::kubestate::run_to_exit(&[
        "--apiserver=http://127.0.0.1:1",
        &format!("--sd-config={}", path.display()),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("banana") && stderr.contains('x'),
        "{stderr}"
    );
}

#[test]
fn sd_jobs_reload_on_sighup_and_a_bad_file_keeps_the_last_good_one() {
    let fake = cluster();
    let dir = tmpdir("reload");
    let cfg = sd_config(&dir);
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods",
            &format!("--sd-config={}", cfg.display()),
            "--sd-update-interval=200ms",
        ],
    );
    ks.wait_ready();
    ks.wait_for(Duration::from_secs(10), || {
        get_json(&ks, "/sd/nodes").0 == 200
    })
    .unwrap_or_else(|| panic!("nodes job: {}", ks.logs()));
    assert_eq!(get_json(&ks, "/sd/all-pods").0, 404);

    std::fs::write(&cfg, "- name: x\n  role: banana\n").expect("write");
    ks.signal("HUP");
    ks.wait_for(Duration::from_secs(10), || {
        ks.logs().contains("reload failed")
    })
    .unwrap_or_else(|| panic!("no reload error: {}", ks.logs()));
    assert!(ks.logs().contains("banana"));
    assert_eq!(
        get_json(&ks, "/sd/nodes").0,
        200,
        "the last good jobs keep being served"
    );

    std::fs::write(&cfg, "- name: all-pods\n  role: pod\n").expect("write");
    ks.signal("HUP");
    ks.wait_for(Duration::from_secs(10), || {
        targets(&get_json(&ks, "/sd/all-pods").1).len() == 2
    })
    .unwrap_or_else(|| panic!("new job not served: {}", ks.logs()));
    assert_eq!(get_json(&ks, "/sd/nodes").0, 404, "removed job is gone");
}

#[test]
fn sigterm_flushes_pending_file_sd_updates() {
    let fake = cluster();
    let dir = tmpdir("flush");
    let files = dir.join("files");
    std::fs::create_dir_all(&files).expect("files dir");
    let cfg = sd_config(&dir);
    // a minute between publications: only the shutdown flush can write the deletion in time
    let mut ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods",
            &format!("--sd-config={}", cfg.display()),
            &format!("--sd-file-dir={}", files.display()),
            "--sd-update-interval=60s",
        ],
    );
    ks.wait_ready();
    let file = files.join("web-pods.json");
    let read = |f: &std::path::Path| -> Vec<String> {
        let v: Value =
            serde_json::from_slice(&std::fs::read(f).unwrap_or_default()).unwrap_or(Value::Null);
        let mut t = targets(&v);
        t.sort();
        t
    };
    ks.wait_for(Duration::from_secs(10), || read(&file).len() == 2)
        .expect("first set written at once");
    fake.delete("pods", Some("shop"), "web-a");
    // the deletion reaches kubestate, but the file is not rewritten before the interval
    ks.wait_for(Duration::from_secs(5), || {
        targets(&get_json(&ks, "/sd/web-pods").1).len() <= 2
    })
    .expect("served");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(read(&file).len(), 2, "coalesced: not yet written");
    ks.signal("TERM");
    let status = ks.wait_exit(Duration::from_secs(5)).expect("exits");
    assert!(status.success());
    assert_eq!(
        read(&file),
        vec!["10.1.0.2:8080"],
        "the pending deletion was flushed on shutdown"
    );
}

/// The label `name` of the group whose target is `addr`, if any.
fn label_of(v: &Value, addr: &str, name: &str) -> Option<String> {
    v.as_array()?
        .iter()
        .find(|e| e["targets"][0] == addr)?
        .get("labels")?
        .get(format!("__meta_kubernetes_{name}"))?
        .as_str()
        .map(str::to_string)
}

#[test]
fn workload_owners_created_after_their_pods_attach_deployment_and_cronjob_names() {
    let fake = FakeApiServer::start(FakeOptions::default());
    let owned = |name: &str, ip: &str, kind: &str, owner: &str| {
        json!({"metadata": {"name": name, "namespace": "shop",
                "ownerReferences": [{"apiVersion": "v1", "kind": kind, "name": owner,
                                     "uid": format!("{owner}-uid"), "controller": true}]},
               "spec": {"containers": [{"name": "app", "image": "img",
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]},
               "status": {"phase": "Running", "podIP": ip}})
    };
    fake.create(
        "pods",
        owned("web-7d9f-x1", "10.1.0.1", "ReplicaSet", "web-7d9f"),
    );
    fake.create(
        "pods",
        owned("backup-29-abc", "10.1.0.2", "Job", "backup-29"),
    );
    let dir = tmpdir("workloads");
    let cfg = dir.join("sd.yaml");
    std::fs::write(
        &cfg,
        "- name: pods\n  role: pod\n  attach_metadata: {deployment: true, job: true, cronjob: true}\n\
         - name: plain\n  role: pod\n",
    )
    .expect("write sd config");
    // replicasets share the metrics watch; jobs get a discovery-only one
    let ks = Kubestate::start(
        &fake.write_kubeconfig(&dir),
        &[
            "--resources=pods,replicasets",
            &format!("--sd-config={}", cfg.display()),
            "--sd-update-interval=200ms",
        ],
    );
    ks.wait_ready();
    let mut v = Value::Null;
    ks.wait_for(Duration::from_secs(10), || {
        let (s, body) = get_json(&ks, "/sd/pods");
        v = body;
        s == 200 && targets(&v).len() == 2
    })
    .unwrap_or_else(|| panic!("pod targets: {v}\n{}", ks.logs()));
    assert_eq!(
        label_of(&v, "10.1.0.2:8080", "pod_job_name").as_deref(),
        Some("backup-29"),
        "job names need no lookup"
    );
    assert_eq!(label_of(&v, "10.1.0.1:8080", "pod_deployment_name"), None);
    assert_eq!(label_of(&v, "10.1.0.2:8080", "pod_cronjob_name"), None);

    fake.create(
        "replicasets",
        json!({"metadata": {"name": "web-7d9f", "namespace": "shop",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                     "uid": "web-uid", "controller": true}]}}),
    );
    fake.create(
        "jobs",
        json!({"metadata": {"name": "backup-29", "namespace": "shop",
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup",
                                     "uid": "backup-uid", "controller": true}]}}),
    );
    ks.wait_for(Duration::from_secs(10), || {
        v = get_json(&ks, "/sd/pods").1;
        label_of(&v, "10.1.0.1:8080", "pod_deployment_name").as_deref() == Some("web")
            && label_of(&v, "10.1.0.2:8080", "pod_cronjob_name").as_deref() == Some("backup")
    })
    .unwrap_or_else(|| panic!("owner labels never attached: {v}\n{}", ks.logs()));
    let plain = get_json(&ks, "/sd/plain").1;
    for addr in ["10.1.0.1:8080", "10.1.0.2:8080"] {
        for l in ["pod_deployment_name", "pod_job_name", "pod_cronjob_name"] {
            assert_eq!(
                label_of(&plain, addr, l),
                None,
                "{l} without attach: {plain}"
            );
        }
    }
    let scrape = ks.scrape();
    assert!(
        scrape.contains("replicaset=\"web-7d9f\""),
        "the shared replicasets watch still feeds metrics: {scrape}"
    );

    // deleting the ReplicaSet takes the deployment name away again
    fake.delete("replicasets", Some("shop"), "web-7d9f");
    ks.wait_for(Duration::from_secs(10), || {
        v = get_json(&ks, "/sd/pods").1;
        targets(&v).len() == 2 && label_of(&v, "10.1.0.1:8080", "pod_deployment_name").is_none()
    })
    .unwrap_or_else(|| panic!("deployment name kept after delete: {v}\n{}", ks.logs()));

    // one cluster-wide watch each (a single initial sync: streamed list or LIST); the
    // ReplicaSet one is also the metrics watch
    let reqs = fake.requests();
    let initial_syncs = |prefix: &str| {
        reqs.iter()
            .filter(|r| {
                r.starts_with(prefix)
                    && (!r.contains("watch=true") || r.contains("sendInitialEvents=true"))
            })
            .count()
    };
    assert_eq!(
        initial_syncs("GET /apis/apps/v1/replicasets?"),
        1,
        "{reqs:#?}"
    );
    assert_eq!(initial_syncs("GET /apis/batch/v1/jobs?"), 1, "{reqs:#?}");
}
