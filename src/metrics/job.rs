//! Job families, in kube-state-metrics' order (`internal/store/job.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::batch::v1::Job;

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

static FAMILIES: &[Family<Job>] = &[];
