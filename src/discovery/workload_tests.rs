//! attach_metadata `deployment`, `job` and `cronjob`: Prometheus's pod_test.go cases
//! (WithDeployment, WithJob, WithCronJob and their *Update variants) re-expressed as object
//! JSON in and exact groups out, the same labels merged by the endpoints roles, and the
//! rebuilds a ReplicaSet or Job change triggers.

use super::endpoints::endpoints_group;
use super::endpointslice::endpointslice_group;
use super::manager::{Core, Dirty, SdObject};
use super::pod::pod_group;
use super::testutil::{assert_group, job, obj, tg};
use super::{Lookups, Role, World};
use crate::discovery::config::Job;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job as BatchJob;
use k8s_openapi::api::core::v1::{Endpoints, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{json, Value};

fn owner(kind: &str, name: &str) -> Value {
    json!([{"apiVersion": "v1", "kind": kind, "name": name, "uid": format!("{name}-uid"), "controller": true}])
}

/// Prometheus's `makeReplicaSet`: controlled by `deployment` (any other controller kind when
/// `kind` says so).
fn replicaset(name: &str, kind: &str, deployment: &str, labels: Value) -> ReplicaSet {
    obj(
        json!({"metadata": {"name": name, "namespace": "default", "uid": "rs123",
        "labels": labels, "ownerReferences": owner(kind, deployment)}}),
    )
}

/// Prometheus's `makeJob`: controlled by `cronjob` when it is not empty.
fn batch_job(name: &str, cronjob: &str, labels: Value) -> BatchJob {
    let mut j = json!({"metadata": {"name": name, "namespace": "default", "uid": "job123", "labels": labels}});
    if !cronjob.is_empty() {
        j["metadata"]["ownerReferences"] = owner("CronJob", cronjob);
    }
    obj(j)
}

/// Prometheus's `makeReplicaSetOwnedPod` / `makeJobOwnedPod`.
fn owned_pod(kind: &str, owner_name: &str) -> Pod {
    obj(json!({
        "metadata": {"name": "testpod", "namespace": "default", "uid": "pod123",
            "ownerReferences": owner(kind, owner_name)},
        "spec": {"nodeName": "testnode", "containers": [
            {"name": "testcontainer", "image": "testcontainer:latest",
             "ports": [{"name": "testport", "protocol": "TCP", "containerPort": 9000}]}]},
        "status": {"podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "testcontainer", "containerID": "docker://a1b2c3d4e5f6",
                "image": "", "imageID": "", "ready": true, "restartCount": 0}]}
    }))
}

const TARGET: &[(&str, &str)] = &[
    ("__address__", "1.2.3.4:9000"),
    ("pod_container_name", "testcontainer"),
    ("pod_container_image", "testcontainer:latest"),
    ("pod_container_port_name", "testport"),
    ("pod_container_port_number", "9000"),
    ("pod_container_port_protocol", "TCP"),
    ("pod_container_init", "false"),
    ("pod_container_id", "docker://a1b2c3d4e5f6"),
];

/// The expected `pod/default/testpod` group: the common labels, the controller, `extra`.
fn expected(kind: &str, controller: &str, extra: &[(&str, &str)]) -> super::TargetGroup {
    let mut labels = vec![
        ("pod_name", "testpod"),
        ("namespace", "default"),
        ("pod_node_name", "testnode"),
        ("pod_ip", "1.2.3.4"),
        ("pod_host_ip", "2.3.4.5"),
        ("pod_ready", "true"),
        ("pod_phase", "Running"),
        ("pod_uid", "pod123"),
        ("pod_controller_kind", kind),
        ("pod_controller_name", controller),
    ];
    labels.extend_from_slice(extra);
    tg("pod/default/testpod", &labels, &[TARGET])
}

fn attaching(deployment: bool, job_: bool, cronjob: bool) -> Job {
    let mut j = job(Role::Pod);
    j.attach.deployment = deployment;
    j.attach.job = job_;
    j.attach.cronjob = cronjob;
    j
}

#[test]
fn with_deployment() {
    let mut w = World::default();
    w.insert_replicaset(&replicaset(
        "testdeployment-rs-abc",
        "Deployment",
        "testdeployment",
        json!({}),
    ));
    let pod = owned_pod("ReplicaSet", "testdeployment-rs-abc");
    assert_group(
        &pod_group(&pod, &Lookups::new(&w, &attaching(true, false, false))),
        &expected(
            "ReplicaSet",
            "testdeployment-rs-abc",
            &[("pod_deployment_name", "testdeployment")],
        ),
    );
    // Not attached, ReplicaSet unknown, or controlled by something else: no label.
    let none = expected("ReplicaSet", "testdeployment-rs-abc", &[]);
    assert_group(
        &pod_group(&pod, &Lookups::new(&w, &attaching(false, true, true))),
        &none,
    );
    let deployment = attaching(true, false, false);
    assert_group(
        &pod_group(&pod, &Lookups::new(&World::default(), &deployment)),
        &none,
    );
    let mut rollout = World::default();
    rollout.insert_replicaset(&replicaset(
        "testdeployment-rs-abc",
        "Rollout",
        "testdeployment",
        json!({}),
    ));
    assert_group(
        &pod_group(&pod, &Lookups::new(&rollout, &deployment)),
        &none,
    );
    // Same name in another namespace is another ReplicaSet.
    let mut other_ns = World::default();
    other_ns.insert_replicaset(&obj(json!({"metadata": {"name": "testdeployment-rs-abc",
        "namespace": "other", "ownerReferences": owner("Deployment", "testdeployment")}})));
    assert_group(
        &pod_group(&pod, &Lookups::new(&other_ns, &deployment)),
        &none,
    );
}

#[test]
fn with_job_needs_no_lookup() {
    let pod = owned_pod("Job", "testjob");
    assert_group(
        &pod_group(
            &pod,
            &Lookups::new(&World::default(), &attaching(false, true, false)),
        ),
        &expected("Job", "testjob", &[("pod_job_name", "testjob")]),
    );
    let mut w = World::default();
    w.insert_job(&batch_job("testjob", "", json!({})));
    assert_group(
        &pod_group(&pod, &Lookups::new(&w, &attaching(false, true, false))),
        &expected("Job", "testjob", &[("pod_job_name", "testjob")]),
    );
    // A pod not controlled by a Job gets no job name.
    assert_group(
        &pod_group(
            &owned_pod("ReplicaSet", "testjob"),
            &Lookups::new(&w, &attaching(false, true, false)),
        ),
        &expected("ReplicaSet", "testjob", &[]),
    );
}

#[test]
fn with_cronjob_but_only_job_attached() {
    let mut w = World::default();
    w.insert_job(&batch_job("testcronjob-job-abc", "testcronjob", json!({})));
    let pod = owned_pod("Job", "testcronjob-job-abc");
    assert_group(
        &pod_group(&pod, &Lookups::new(&w, &attaching(false, true, false))),
        &expected(
            "Job",
            "testcronjob-job-abc",
            &[("pod_job_name", "testcronjob-job-abc")],
        ),
    );
    // Both attached: both labels.
    assert_group(
        &pod_group(&pod, &Lookups::new(&w, &attaching(false, true, true))),
        &expected(
            "Job",
            "testcronjob-job-abc",
            &[
                ("pod_job_name", "testcronjob-job-abc"),
                ("pod_cronjob_name", "testcronjob"),
            ],
        ),
    );
    // A Job without a CronJob controller: no cronjob name.
    let mut w = World::default();
    w.insert_job(&batch_job("testcronjob-job-abc", "", json!({})));
    assert_group(
        &pod_group(&pod, &Lookups::new(&w, &attaching(false, false, true))),
        &expected("Job", "testcronjob-job-abc", &[]),
    );
}

/// A core holding `pod` and `owner` (a ReplicaSet or Job), fed in that order.
fn core_with<T: SdObject>(pod: &Pod, owner: &T) -> Core {
    let mut core = Core::default();
    let mut d = Dirty::default();
    <Pod as SdObject>::upsert(&mut core, pod, &mut d);
    T::upsert(&mut core, owner, &mut d);
    core
}

fn group(core: &Core, j: &Job) -> super::TargetGroup {
    core.group(j, Role::Pod, "default/testpod")
        .expect("pods always have a group")
}

/// The owner's own labels change: nothing is rebuilt and the pod's group is the same.
fn assert_owner_update_is_stable<T: SdObject>(
    pod: &Pod,
    before: &T,
    after: &T,
    j: &Job,
    want: &super::TargetGroup,
) {
    let mut core = core_with(pod, before);
    assert_group(&group(&core, j), want);
    let mut d = Dirty::default();
    T::upsert(&mut core, after, &mut d);
    assert!(d.is_empty(), "a label change rebuilds nothing: {d:?}");
    assert_group(&group(&core, j), want);
}

#[test]
fn with_deployment_update() {
    let pod = owned_pod("ReplicaSet", "testdeployment-rs-abc");
    assert_owner_update_is_stable(
        &pod,
        &replicaset(
            "testdeployment-rs-abc",
            "Deployment",
            "testdeployment",
            json!({"version": "v1"}),
        ),
        &replicaset(
            "testdeployment-rs-abc",
            "Deployment",
            "testdeployment",
            json!({"version": "v2", "env": "prod"}),
        ),
        &attaching(true, false, false),
        &expected(
            "ReplicaSet",
            "testdeployment-rs-abc",
            &[("pod_deployment_name", "testdeployment")],
        ),
    );
}

#[test]
fn with_job_update() {
    let pod = owned_pod("Job", "testjob");
    assert_owner_update_is_stable(
        &pod,
        &batch_job("testjob", "", json!({"batch": "v1"})),
        &batch_job("testjob", "", json!({"batch": "v2", "priority": "high"})),
        &attaching(false, true, false),
        &expected("Job", "testjob", &[("pod_job_name", "testjob")]),
    );
}

#[test]
fn with_cronjob_update_cronjob_alone_yields_only_cronjob_name() {
    let pod = owned_pod("Job", "testcronjob-job-abc");
    assert_owner_update_is_stable(
        &pod,
        &batch_job(
            "testcronjob-job-abc",
            "testcronjob",
            json!({"schedule": "hourly"}),
        ),
        &batch_job(
            "testcronjob-job-abc",
            "testcronjob",
            json!({"schedule": "daily", "retention": "7d"}),
        ),
        &attaching(false, false, true),
        &expected(
            "Job",
            "testcronjob-job-abc",
            &[("pod_cronjob_name", "testcronjob")],
        ),
    );
}

fn endpoints_to_testpod() -> Endpoints {
    obj(json!({
        "metadata": {"name": "testendpoints", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "1.2.3.4", "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
                     "ports": [{"name": "other", "port": 9999, "protocol": "TCP"}]}]
    }))
}

fn slice_to_testpod() -> EndpointSlice {
    obj(json!({
        "metadata": {"name": "testslice", "namespace": "default"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["1.2.3.4"], "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
        "ports": [{"name": "other", "port": 9999, "protocol": "TCP"}]
    }))
}

#[test]
fn endpoints_roles_merge_the_workload_labels() {
    let mut w = World::default();
    w.insert_pod(&owned_pod("ReplicaSet", "testdeployment-rs-abc"));
    w.insert_replicaset(&replicaset(
        "testdeployment-rs-abc",
        "Deployment",
        "testdeployment",
        json!({}),
    ));
    for role in [Role::Endpoints, Role::EndpointSlice] {
        let mut j = job(role);
        let g = |j: &Job| match role {
            Role::Endpoints => endpoints_group(&endpoints_to_testpod(), &Lookups::new(&w, j)),
            _ => endpointslice_group(&slice_to_testpod(), &Lookups::new(&w, j)),
        };
        // The endpoint target and the extra target for the unmatched container port.
        let got = g(&j);
        assert_eq!(got.targets.len(), 2, "{role}");
        assert!(got
            .targets
            .iter()
            .all(|t| !t.contains_key("__meta_kubernetes_pod_deployment_name")));
        j.attach.deployment = true;
        let got = g(&j);
        for t in &got.targets {
            assert_eq!(
                t["__meta_kubernetes_pod_deployment_name"], "testdeployment",
                "{role}: {t:?}"
            );
            assert_eq!(t["__meta_kubernetes_pod_controller_kind"], "ReplicaSet");
        }
        assert!(!got
            .labels
            .contains_key("__meta_kubernetes_pod_deployment_name"));
    }
}

#[test]
fn owner_changes_rebuild_the_pods_they_control_for_attaching_jobs_only() {
    let pod = owned_pod("ReplicaSet", "testdeployment-rs-abc");
    let mut core = Core::default();
    let mut d = Dirty::default();
    <Pod as SdObject>::upsert(&mut core, &pod, &mut d);
    <Pod as SdObject>::upsert(
        &mut core,
        &obj(
            json!({"metadata": {"name": "unrelated", "namespace": "default",
            "ownerReferences": owner("ReplicaSet", "other-rs")}, "status": {"podIP": "1.1.1.1"}}),
        ),
        &mut d,
    );
    <Endpoints as SdObject>::upsert(&mut core, &endpoints_to_testpod(), &mut d);
    <EndpointSlice as SdObject>::upsert(&mut core, &slice_to_testpod(), &mut d);

    let attach = attaching(true, false, false);
    let plain = job(Role::Pod);
    let mut eps_attach = job(Role::Endpoints);
    eps_attach.attach.deployment = true;
    let mut cron_only = job(Role::EndpointSlice);
    cron_only.attach.cronjob = true;
    let pod_key = (Role::Pod, "default/testpod".to_string());
    let eps_key = (Role::Endpoints, "default/testendpoints".to_string());
    let slice_key = (Role::EndpointSlice, "default/testslice".to_string());

    // The ReplicaSet arrives after its pod: the pod and the endpoints joining it are rebuilt,
    // for jobs attaching deployments only; the unrelated pod is not.
    let rs = replicaset(
        "testdeployment-rs-abc",
        "Deployment",
        "testdeployment",
        json!({}),
    );
    let mut d = Dirty::default();
    <ReplicaSet as SdObject>::upsert(&mut core, &rs, &mut d);
    let keys: Vec<_> = d.keys().cloned().collect();
    assert_eq!(
        keys,
        vec![pod_key.clone(), eps_key.clone(), slice_key.clone()]
    );
    assert!(d.affects(&pod_key, &attach));
    assert!(!d.affects(&pod_key, &plain), "job without attach_metadata");
    assert!(d.affects(&eps_key, &eps_attach));
    assert!(!d.affects(&slice_key, &cron_only), "attaches cronjob only");
    assert_eq!(
        group(&core, &attach).labels["__meta_kubernetes_pod_deployment_name"],
        "testdeployment"
    );

    // A new controller (adoption by another Deployment) rebuilds; deletion rebuilds and
    // drops the label.
    let mut d = Dirty::default();
    <ReplicaSet as SdObject>::upsert(
        &mut core,
        &replicaset("testdeployment-rs-abc", "Deployment", "adopter", json!({})),
        &mut d,
    );
    assert!(d.affects(&pod_key, &attach));
    assert_eq!(
        group(&core, &attach).labels["__meta_kubernetes_pod_deployment_name"],
        "adopter"
    );
    let mut d = Dirty::default();
    <ReplicaSet as SdObject>::remove(&mut core, "default/testdeployment-rs-abc", &mut d);
    assert!(d.affects(&pod_key, &attach));
    assert!(!group(&core, &attach)
        .labels
        .contains_key("__meta_kubernetes_pod_deployment_name"));
    let mut d = Dirty::default();
    <ReplicaSet as SdObject>::remove(&mut core, "default/testdeployment-rs-abc", &mut d);
    assert!(
        d.is_empty(),
        "deleting an unknown ReplicaSet rebuilds nothing"
    );

    // Jobs do the same for attach_metadata.cronjob.
    let job_pod = owned_pod("Job", "testcronjob-job-abc");
    let mut d = Dirty::default();
    <Pod as SdObject>::upsert(&mut core, &job_pod, &mut d);
    let mut d = Dirty::default();
    <BatchJob as SdObject>::upsert(
        &mut core,
        &batch_job("testcronjob-job-abc", "testcronjob", json!({})),
        &mut d,
    );
    let cron = attaching(false, false, true);
    assert!(d.affects(&pod_key, &cron));
    assert!(!d.affects(&pod_key, &attach));
    assert!(d.affects(&slice_key, &cron_only));
    assert_eq!(
        group(&core, &cron).labels["__meta_kubernetes_pod_cronjob_name"],
        "testcronjob"
    );
}

#[test]
fn a_rebuild_for_every_job_is_not_narrowed_by_a_workload_one() {
    let mut d = Dirty::default();
    let k = (Role::Pod, "default/p".to_string());
    d.insert_for(k.clone(), super::manager::Workload::Deployment);
    d.insert(k.clone());
    d.insert_for(k.clone(), super::manager::Workload::CronJob);
    assert!(d.affects(&k, &job(Role::Pod)));
    let mut d = Dirty::default();
    d.insert_for(k.clone(), super::manager::Workload::Deployment);
    d.insert_for(k.clone(), super::manager::Workload::CronJob);
    assert!(d.affects(&k, &job(Role::Pod)), "two gates widen to all");
    assert!(!d.affects(&k, &job(Role::Endpoints)), "other role");
}
