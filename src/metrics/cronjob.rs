//! CronJob families, in kube-state-metrics' order (`internal/store/cronjob.go`).

use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;
use k8s_openapi::api::batch::v1::CronJob;

pub static CRONJOB: ResourceDef<CronJob> = ResourceDef {
    name: "cronjobs",
    identity: cronjob_identity,
    families: FAMILIES,
};

fn cronjob_identity(o: &CronJob) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("cronjob", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<CronJob>] = &[];
