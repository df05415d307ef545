//! StatefulSet autosharding (`--pod`, `--pod-namespace`), as kube-state-metrics does it:
//! the ordinal comes from this pod's name, the total from its StatefulSet's `spec.replicas`;
//! a change of either arrives on a channel and the resources are resharded without a restart.

use super::error::AppError;
use crate::cli::Options;
use crate::kube::client::{ApiClient, Timeout};
use crate::kube::error::ApiError;
use crate::kube::resources::STATEFULSETS;
use crate::kube::watch::{Consumer, WatchSpec, WatchState, Watcher};
use crate::log::Level;
use crate::log_event;
use crate::shard::Shard;
use crate::telemetry::Telemetry;
use crossbeam_channel::{Receiver, Sender};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A new (ordinal, total) for this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardChange {
    pub ordinal: i32,
    pub total: i32,
}

#[derive(Debug)]
pub enum AutoShardError {
    Api(ApiError),
    Decode { what: String, detail: String },
    NoStatefulSet { pod: String },
    BadOrdinal { pod: String, statefulset: String },
}

impl fmt::Display for AutoShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutoShardError::Api(e) => write!(f, "autosharding: {e}"),
            AutoShardError::Decode { what, detail } => write!(f, "autosharding: malformed {what}: {detail}"),
            AutoShardError::NoStatefulSet { pod } => write!(
                f,
                "autosharding: pod {pod} has no controlling apps/v1 StatefulSet owner; run kubestate as a StatefulSet or drop --pod/--pod-namespace"
            ),
            AutoShardError::BadOrdinal { pod, statefulset } => {
                write!(f, "autosharding: pod name {pod} is not <{statefulset}>-<ordinal>")
            }
        }
    }
}

impl std::error::Error for AutoShardError {}

/// The ordinal of `pod` in StatefulSet `statefulset` (`web-3` → 3).
pub fn ordinal(pod: &str, statefulset: &str) -> Option<i32> {
    pod.strip_prefix(statefulset)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// `spec.replicas`, 1 when unset (the API default).
pub fn total(sts: &StatefulSet) -> i32 {
    sts.spec.replicas.unwrap_or(1).max(1)
}

fn get<T: serde::de::DeserializeOwned>(
    client: &ApiClient,
    path: &str,
    what: &str,
) -> Result<T, AutoShardError> {
    let resp = client
        .get(path, Timeout::Total(Duration::from_secs(30)))
        .map_err(AutoShardError::Api)?;
    let body = resp
        .read_to_vec(16 << 20)
        .map_err(|e| AutoShardError::Decode {
            what: what.into(),
            detail: e.to_string(),
        })?;
    serde_json::from_slice(&body).map_err(|e| AutoShardError::Decode {
        what: what.into(),
        detail: e.to_string(),
    })
}

/// Finds this pod's StatefulSet and the current (ordinal, total).
pub fn discover(
    client: &ApiClient,
    namespace: &str,
    pod: &str,
) -> Result<(String, ShardChange), AutoShardError> {
    let p: Pod = get(
        client,
        &format!("/api/v1/namespaces/{namespace}/pods/{pod}"),
        "pod",
    )?;
    let owner = p
        .metadata
        .owner_references
        .unwrap_or_default()
        .into_iter()
        .find(|o| {
            o.kind == "StatefulSet" && o.api_version == "apps/v1" && o.controller == Some(true)
        })
        .ok_or_else(|| AutoShardError::NoStatefulSet {
            pod: pod.to_string(),
        })?;
    let sts: StatefulSet = get(
        client,
        &format!(
            "/apis/apps/v1/namespaces/{namespace}/statefulsets/{}",
            owner.name
        ),
        "statefulset",
    )?;
    let ordinal = ordinal(pod, &owner.name).ok_or_else(|| AutoShardError::BadOrdinal {
        pod: pod.to_string(),
        statefulset: owner.name.clone(),
    })?;
    Ok((
        owner.name,
        ShardChange {
            ordinal,
            total: total(&sts),
        },
    ))
}

/// Watches the one StatefulSet and reports changes of the total.
pub struct StatefulSetConsumer {
    pod: String,
    statefulset: String,
    current: ShardChange,
    tx: Sender<ShardChange>,
}

impl StatefulSetConsumer {
    pub fn new(
        pod: String,
        statefulset: String,
        current: ShardChange,
        tx: Sender<ShardChange>,
    ) -> Self {
        StatefulSetConsumer {
            pod,
            statefulset,
            current,
            tx,
        }
    }

    fn seen(&mut self, sts: &StatefulSet) {
        if sts.metadata.name.as_deref() != Some(self.statefulset.as_str()) {
            return;
        }
        let Some(ordinal) = ordinal(&self.pod, &self.statefulset) else {
            return;
        };
        let next = ShardChange {
            ordinal,
            total: total(sts),
        };
        if next != self.current {
            self.current = next;
            let _ = self.tx.send(next);
        }
    }
}

impl Consumer<StatefulSet> for StatefulSetConsumer {
    fn upsert(&mut self, obj: &StatefulSet) {
        self.seen(obj);
    }
    fn delete(&mut self, _obj: &StatefulSet) {}
    fn relist_begin(&mut self) {}
    fn relist_item(&mut self, obj: &StatefulSet) {
        self.seen(obj);
    }
    fn relist_commit(&mut self) {}
    fn relist_abort(&mut self) {}
}

/// With `--pod`/`--pod-namespace`: finds this pod's StatefulSet, takes the shard from it
/// and watches it; changes arrive on the returned channel. Without them: the static
/// `--shard`/`--total-shards` and no channel.
pub fn start(
    client: &Arc<ApiClient>,
    telemetry: &Arc<Telemetry>,
    opts: &Options,
) -> Result<(Option<Shard>, Option<Receiver<ShardChange>>), AppError> {
    let (Some(pod), Some(ns)) = (&opts.pod, &opts.pod_namespace) else {
        return Ok((
            Shard::new(opts.shard, opts.total_shards, opts.shard_strategy),
            None,
        ));
    };
    let (sts, current) = discover(client, ns, pod).map_err(AppError::AutoShard)?;
    telemetry.set_shards(current.ordinal as i64, current.total as i64);
    log_event!(
        Level::Info,
        "autosharding",
        statefulset = sts,
        shard = current.ordinal,
        total_shards = current.total
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    let spec = WatchSpec::new(STATEFULSETS, &super::generation::watch_options(opts))
        .in_namespace(Some(ns.clone()))
        .with_field_selector(Some(format!("metadata.name={sts}")));
    let consumers: Vec<Box<dyn Consumer<StatefulSet>>> = vec![Box::new(StatefulSetConsumer::new(
        pod.clone(),
        sts,
        current,
        tx,
    ))];
    Watcher::new(
        client.clone(),
        spec,
        consumers,
        WatchState::new(),
        telemetry.clone(),
    )
    .spawn()
    .map_err(AppError::spawn("statefulsets(autosharding)"))?;
    Ok((
        Shard::new(current.ordinal, current.total, opts.shard_strategy),
        Some(rx),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(name: &str, replicas: Option<i32>) -> StatefulSet {
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "spec": {"replicas": replicas, "selector": {}, "template": {}, "serviceName": ""}})).unwrap()
    }

    #[test]
    fn ordinals_and_totals() {
        assert_eq!(ordinal("kubestate-3", "kubestate"), Some(3));
        assert_eq!(ordinal("kubestate-shard-0", "kubestate-shard"), Some(0));
        assert_eq!(ordinal("other-3", "kubestate"), None);
        assert_eq!(ordinal("kubestate-x", "kubestate"), None);
        assert_eq!(total(&sts("a", Some(4))), 4);
        assert_eq!(total(&sts("a", None)), 1);
    }

    #[test]
    fn only_changes_are_sent() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut c = StatefulSetConsumer::new(
            "ks-1".into(),
            "ks".into(),
            ShardChange {
                ordinal: 1,
                total: 2,
            },
            tx,
        );
        c.upsert(&sts("ks", Some(2)));
        assert!(rx.try_recv().is_err());
        c.upsert(&sts("other", Some(5)));
        assert!(rx.try_recv().is_err());
        c.upsert(&sts("ks", Some(3)));
        assert_eq!(
            rx.try_recv().unwrap(),
            ShardChange {
                ordinal: 1,
                total: 3
            }
        );
        c.relist_item(&sts("ks", Some(3)));
        assert!(rx.try_recv().is_err());
    }
}
