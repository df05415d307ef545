//! Job families, in kube-state-metrics' order (`internal/store/job.go`).

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::time::unix_seconds;
use crate::metrics::ResourceDef;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus};

pub static JOB: ResourceDef<Job> = ResourceDef {
    name: "jobs",
    identity: job_identity,
    families: FAMILIES,
};

fn job_identity(o: &Job) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("job_name", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Job>] = &[
    Family::experimental(
        "kube_job_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        common::annotations,
    ),
    Family::stable(
        "kube_job_labels",
        "Kubernetes labels converted to Prometheus labels.",
        common::labels,
    ),
    Family::stable("kube_job_info", "Information about job.", common::info),
    Family::stable("kube_job_created", "Unix creation timestamp", common::created),
    Family::stable(
        "kube_job_spec_parallelism",
        "The maximum desired number of pods the job should run at any given time.",
        |o, _, s| s.value_if(spec(o).and_then(|sp| sp.parallelism).map(f64::from)),
    ),
    Family::stable(
        "kube_job_spec_completions",
        "The desired number of successfully finished pods the job should be run with.",
        |o, _, s| s.value_if(spec(o).and_then(|sp| sp.completions).map(f64::from)),
    ),
    Family::stable(
        "kube_job_spec_active_deadline_seconds",
        "The duration in seconds relative to the startTime that the job may be active before the system tries to terminate it.",
        |o, _, s| s.value_if(spec(o).and_then(|sp| sp.active_deadline_seconds).map(|v| v as f64)),
    ),
    Family::stable(
        "kube_job_status_succeeded",
        "The number of pods which reached Phase Succeeded.",
        |o, _, s| s.value(count(o, |st| st.succeeded)),
    ),
    Family::stable(
        "kube_job_status_failed",
        "The number of pods which reached Phase Failed and the reason for failure.",
        status_failed,
    ),
    Family::stable(
        "kube_job_status_active",
        "The number of actively running pods.",
        |o, _, s| s.value(count(o, |st| st.active)),
    ),
    Family::experimental(
        "kube_job_status_ready",
        "The number of ready pods that belong to this Job.",
        |o, _, s| s.value(count(o, |st| st.ready)),
    ),
    Family::stable(
        "kube_job_complete",
        "The job has completed its execution.",
        condition_statuses::<COMPLETE>,
    ),
    Family::stable(
        "kube_job_failed",
        "The job has failed its execution.",
        condition_statuses::<FAILED>,
    ),
    Family::stable(
        "kube_job_status_start_time",
        "StartTime represents time when the job was acknowledged by the Job Manager.",
        // Only nil is skipped; KSM does not check IsZero here.
        |o, _, s| s.value_if(status(o).and_then(|st| st.start_time.as_ref()).map(unix_seconds)),
    ),
    Family::stable(
        "kube_job_status_completion_time",
        "CompletionTime represents time when the job was completed.",
        |o, _, s| s.value_if(status(o).and_then(|st| st.completion_time.as_ref()).map(unix_seconds)),
    ),
    Family::experimental(
        "kube_job_status_suspended",
        "The number of pods which reached Phase Suspended.",
        |o, _, s| {
            for c in conditions(o).iter().filter(|c| c.type_ == "Suspended") {
                s.value(if c.status == "True" { 1.0 } else { 0.0 });
            }
        },
    ),
    Family::stable(
        "kube_job_owner",
        "Information about the Job's owner.",
        common::owner,
    ),
];

/// The failure reasons KSM breaks `kube_job_status_failed` down by.
const FAILURE_REASONS: [&str; 3] = ["BackoffLimitExceeded", "DeadlineExceeded", "Evicted"];

const COMPLETE: u8 = 0;
const FAILED: u8 = 1;

fn spec(o: &Job) -> Option<&JobSpec> {
    o.spec.as_ref()
}

fn status(o: &Job) -> Option<&JobStatus> {
    o.status.as_ref()
}

fn conditions(o: &Job) -> &[JobCondition] {
    status(o)
        .and_then(|st| st.conditions.as_deref())
        .unwrap_or(&[])
}

/// A status count that Go reads as a plain int32 (or a nil pointer defaulted to 0).
fn count(o: &Job, f: fn(&JobStatus) -> Option<i32>) -> f64 {
    status(o).and_then(f).unwrap_or(0) as f64
}

/// No failures: one sample without `reason`. Otherwise one sample per known reason for each
/// `Failed` condition (1 for the condition's reason), and, when no condition names a known
/// reason, the failure count under `reason=""`.
fn status_failed(o: &Job, _: &RenderCtx, s: &mut Samples) {
    let failed = count(o, |st| st.failed);
    if failed == 0.0 {
        s.value(0.0);
        return;
    }
    let mut known = false;
    for c in conditions(o).iter().filter(|c| c.type_ == "Failed") {
        let reason = c.reason.as_deref().unwrap_or("");
        for r in FAILURE_REASONS {
            let hit = reason == r;
            known |= hit;
            s.push(&[("reason", r)], if hit { 1.0 } else { 0.0 });
        }
    }
    if !known {
        s.push(&[("reason", "")], failed);
    }
}

/// Three samples (`true`/`false`/`unknown`) for every condition of the given type.
fn condition_statuses<const KIND: u8>(o: &Job, _: &RenderCtx, s: &mut Samples) {
    let want = if KIND == COMPLETE {
        "Complete"
    } else {
        "Failed"
    };
    for c in conditions(o).iter().filter(|c| c.type_ == want) {
        for (k8s, label) in common::CONDITION_STATUSES {
            s.push(&[("condition", label)], common::bool_value(c.status == k8s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{allowlist_ctx, check_catalog, line};
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns1",job_name="RunningJob1""#;

    fn running() -> Job {
        obj(r#"{
          "metadata": {
            "name": "RunningJob1", "namespace": "ns1", "generation": 1,
            "creationTimestamp": "2017-07-30T18:32:27Z",
            "labels": {"app": "example-running-1"},
            "annotations": {"batch.kubernetes.io/job-tracking": ""},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "cj", "uid": "u", "controller": true}]
          },
          "spec": {"activeDeadlineSeconds": 900, "parallelism": 1, "completions": 1, "template": {}},
          "status": {"active": 1, "failed": 0, "succeeded": 0, "ready": 1,
                     "startTime": "2017-07-30T18:33:27Z"}
        }"#)
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn running_job() {
        assert_eq!(
            render_lines(&JOB, &running(), allow_all(), &all_names()),
            vec![
                line(
                    "kube_job_annotations",
                    ID,
                    r#"annotation_batch_kubernetes_io_job_tracking="""#,
                    "1"
                ),
                line(
                    "kube_job_labels",
                    ID,
                    r#"label_app="example-running-1""#,
                    "1"
                ),
                line("kube_job_info", ID, "", "1"),
                line("kube_job_created", ID, "", "1.501439547e+09"),
                line("kube_job_spec_parallelism", ID, "", "1"),
                line("kube_job_spec_completions", ID, "", "1"),
                line("kube_job_spec_active_deadline_seconds", ID, "", "900"),
                line("kube_job_status_succeeded", ID, "", "0"),
                line("kube_job_status_failed", ID, "", "0"),
                line("kube_job_status_active", ID, "", "1"),
                line("kube_job_status_ready", ID, "", "1"),
                line("kube_job_status_start_time", ID, "", "1.501439607e+09"),
                line(
                    "kube_job_owner",
                    ID,
                    r#"owner_kind="CronJob",owner_name="cj",owner_is_controller="true""#,
                    "1"
                ),
            ]
        );
    }

    const FID: &str = r#"namespace="ns1",job_name="FailedJob1""#;

    fn failed(reason: &str) -> Job {
        obj(&format!(
            r#"{{
          "metadata": {{"name": "FailedJob1", "namespace": "ns1"}},
          "spec": {{"template": {{}}}},
          "status": {{
            "failed": 1, "startTime": "2017-07-30T18:33:27Z",
            "completionTime": "2017-07-30T18:43:27Z",
            "conditions": [{{"type": "Failed", "status": "True", "reason": "{reason}"}}]
          }}
        }}"#
        ))
    }

    #[test]
    fn failed_job_with_known_reason() {
        let names = &[
            "kube_job_status_failed",
            "kube_job_complete",
            "kube_job_failed",
            "kube_job_status_completion_time",
        ];
        assert_eq!(
            render_lines(&JOB, &failed("BackoffLimitExceeded"), allow_all(), names),
            vec![
                line(
                    "kube_job_status_failed",
                    FID,
                    r#"reason="BackoffLimitExceeded""#,
                    "1"
                ),
                line(
                    "kube_job_status_failed",
                    FID,
                    r#"reason="DeadlineExceeded""#,
                    "0"
                ),
                line("kube_job_status_failed", FID, r#"reason="Evicted""#, "0"),
                line("kube_job_failed", FID, r#"condition="true""#, "1"),
                line("kube_job_failed", FID, r#"condition="false""#, "0"),
                line("kube_job_failed", FID, r#"condition="unknown""#, "0"),
                line(
                    "kube_job_status_completion_time",
                    FID,
                    "",
                    "1.501440207e+09"
                ),
            ]
        );
    }

    #[test]
    fn failed_job_with_unknown_reason_adds_the_count() {
        assert_eq!(
            render_lines(
                &JOB,
                &failed("PodFailurePolicy"),
                allow_all(),
                &["kube_job_status_failed"]
            ),
            vec![
                line(
                    "kube_job_status_failed",
                    FID,
                    r#"reason="BackoffLimitExceeded""#,
                    "0"
                ),
                line(
                    "kube_job_status_failed",
                    FID,
                    r#"reason="DeadlineExceeded""#,
                    "0"
                ),
                line("kube_job_status_failed", FID, r#"reason="Evicted""#, "0"),
                line("kube_job_status_failed", FID, r#"reason="""#, "1"),
            ]
        );
    }

    #[test]
    fn failures_without_condition_and_conditions_of_every_status() {
        let j: Job = obj(r#"{
          "metadata": {"name": "RunningJob1", "namespace": "ns1"},
          "status": {
            "failed": 3,
            "conditions": [
              {"type": "Complete", "status": "False"},
              {"type": "Failed", "status": "Unknown"},
              {"type": "Suspended", "status": "True"},
              {"type": "Suspended", "status": "False"}
            ]
          }
        }"#);
        let names = &[
            "kube_job_status_failed",
            "kube_job_complete",
            "kube_job_failed",
            "kube_job_status_suspended",
        ];
        assert_eq!(
            render_lines(&JOB, &j, allow_all(), names),
            vec![
                line(
                    "kube_job_status_failed",
                    ID,
                    r#"reason="BackoffLimitExceeded""#,
                    "0"
                ),
                line(
                    "kube_job_status_failed",
                    ID,
                    r#"reason="DeadlineExceeded""#,
                    "0"
                ),
                line("kube_job_status_failed", ID, r#"reason="Evicted""#, "0"),
                line("kube_job_status_failed", ID, r#"reason="""#, "3"),
                line("kube_job_complete", ID, r#"condition="true""#, "0"),
                line("kube_job_complete", ID, r#"condition="false""#, "1"),
                line("kube_job_complete", ID, r#"condition="unknown""#, "0"),
                line("kube_job_failed", ID, r#"condition="true""#, "0"),
                line("kube_job_failed", ID, r#"condition="false""#, "0"),
                line("kube_job_failed", ID, r#"condition="unknown""#, "1"),
                line("kube_job_status_suspended", ID, "", "1"),
                line("kube_job_status_suspended", ID, "", "0"),
            ]
        );
    }

    #[test]
    fn bare_job() {
        let j: Job = obj(r#"{"metadata": {"name": "RunningJob1", "namespace": "ns1"}}"#);
        assert_eq!(
            render_lines(&JOB, &j, RenderCtx::default(), &all_names()),
            vec![
                line("kube_job_info", ID, "", "1"),
                line("kube_job_status_succeeded", ID, "", "0"),
                line("kube_job_status_failed", ID, "", "0"),
                line("kube_job_status_active", ID, "", "0"),
                line("kube_job_status_ready", ID, "", "0"),
                line(
                    "kube_job_owner",
                    ID,
                    r#"owner_kind="",owner_name="",owner_is_controller="""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &["kube_job_annotations", "kube_job_labels"];
        let ctx = allowlist_ctx("jobs", "jobs=[app]");
        assert_eq!(
            render_lines(&JOB, &running(), ctx, names),
            vec![
                line("kube_job_annotations", ID, "", "1"),
                line(
                    "kube_job_labels",
                    ID,
                    r#"label_app="example-running-1""#,
                    "1"
                ),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        let complete: Job = obj(r#"{
          "metadata": {"name": "c", "namespace": "ns1"},
          "status": {"succeeded": 1, "conditions": [
            {"type": "Complete", "status": "True"}, {"type": "Suspended", "status": "False"}]}
        }"#);
        check_catalog(
            "jobs",
            &JOB,
            2,
            &[running(), failed("Evicted"), failed("Other"), complete],
            allow_all,
        );
    }
}
