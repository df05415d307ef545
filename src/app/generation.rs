//! A generation: everything a reload or a reshard replaces as one piece — the built-in
//! resources' writers, their watches and the discovery jobs — started from the built-in
//! resource table for one set of options and one shard.

use super::error::AppError;
use crate::cli::Options;
use crate::discovery::manager::{Discovery, Resource as SdResource, SdOptions};
use crate::kube::client::ApiClient;
use crate::kube::watch::{WatchMetrics, WatchOptions, WatchState};
use crate::metrics::builtin::{self, Builtin, SdUse};
use crate::metrics::filter::{Allowlist, MetricFilter};
use crate::metrics::start::{BuiltinCtx, WatchCtx};
use crate::shard::Shard;
use crate::store::ResourceWriter;
use crate::telemetry::Telemetry;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What lives as long as the process: the API client and the self-metrics.
#[derive(Clone)]
pub struct Base {
    pub client: Arc<ApiClient>,
    pub telemetry: Arc<Telemetry>,
}

/// Named watches whose sync /readyz waits for.
pub type Readiness = Vec<(String, Arc<WatchState>)>;

/// The stores, watches and discovery jobs of one configuration.
pub struct StoreGeneration {
    pub ctx: BuiltinCtx,
    pub writers: Vec<ResourceWriter>,
    pub readiness: Readiness,
    pub sd: Option<Arc<Discovery>>,
}

impl StoreGeneration {
    pub fn watches(&self) -> Vec<Arc<WatchState>> {
        self.readiness.iter().map(|(_, s)| s.clone()).collect()
    }
}

/// The options every watch shares.
pub fn watch_options(opts: &Options) -> WatchOptions {
    WatchOptions {
        use_apiserver_cache: opts.use_apiserver_cache,
        initial_sync: opts.initial_sync,
        watch_list_idle: std::time::Duration::from_millis(opts.watch_list_idle_ms),
    }
}

/// Checks what can be checked before connecting: filters, allowlists, the discovery config.
/// A start-up error here exits 2; on reload it keeps the running configuration.
pub fn validate(opts: &Options) -> Result<(MetricFilter, Allowlist, Allowlist), AppError> {
    let filter = MetricFilter::new(
        &opts.metric_allowlist,
        &opts.metric_denylist,
        &opts.metric_opt_in_list,
    )
    .map_err(AppError::Filter)?;
    let known = |name: &str| builtin::by_name(name).is_some();
    let labels = Allowlist::parse(
        "metric-labels-allowlist",
        &opts.metric_labels_allowlist,
        &known,
    )
    .map_err(AppError::Filter)?;
    let annotations = Allowlist::parse(
        "metric-annotations-allowlist",
        &opts.metric_annotations_allowlist,
        &known,
    )
    .map_err(AppError::Filter)?;
    if let Some(path) = &opts.sd_config {
        crate::discovery::config::load(std::path::Path::new(path)).map_err(AppError::SdConfig)?;
    }
    Ok((filter, labels, annotations))
}

/// The contexts the options give: watch options, filters, namespaces and node selection.
pub fn builtin_ctx(
    base: &Base,
    opts: &Options,
    shard: Option<Shard>,
) -> Result<BuiltinCtx, AppError> {
    let (filter, labels, annotations) = validate(opts)?;
    let reporter: Arc<dyn WatchMetrics> = base.telemetry.clone();
    Ok(BuiltinCtx {
        watch: WatchCtx {
            client: base.client.clone(),
            options: watch_options(opts),
            reporter,
            filter,
            namespaces: opts.namespaces.clone(),
            namespace_denylist: opts.namespaces_denylist.clone(),
            shard,
            object_limit: opts.object_limit,
        },
        labels,
        annotations,
        pod_node_selector: match (&opts.node, opts.track_unscheduled_pods) {
            (Some(node), _) => Some(format!("spec.nodeName={node}")),
            (None, true) => Some("spec.nodeName=".to_string()),
            (None, false) => None,
        },
    })
}

/// Whether discovery can ride on the metrics watch of `b`: only a cluster-wide, unsharded,
/// unfiltered watch sees every object discovery needs.
fn sd_can_share(b: &Builtin, ctx: &BuiltinCtx, autosharding: bool) -> bool {
    !autosharding
        && ctx.watch.shard.is_none()
        && ctx.field_selector(b.api).is_none()
        && (!b.api.namespaced || ctx.watch.namespaces.is_empty())
}

/// The built-in resources `--resources` names, in its (sorted) order.
fn enabled(opts: &Options) -> Vec<&'static Builtin> {
    if opts.custom_resource_state_only {
        return Vec::new();
    }
    opts.resources
        .iter()
        .filter_map(|name| builtin::by_name(name))
        .collect()
}

/// Starts one generation: discovery (when `--sd-config` is given), every built-in resource
/// `--resources` names (carrying discovery's consumer where they can share a watch), then a
/// discovery-only watch for each resource discovery still needs.
pub fn start_generation(
    base: &Base,
    opts: &Options,
    shard: Option<Shard>,
) -> Result<StoreGeneration, AppError> {
    let ctx = builtin_ctx(base, opts, shard)?;
    let sd = match &opts.sd_config {
        Some(path) => {
            let cfg = crate::discovery::config::load(std::path::Path::new(path))
                .map_err(AppError::SdConfig)?;
            let sd_opts = SdOptions {
                interval: opts.sd_interval,
                file_dir: opts.sd_file_dir.as_ref().map(Into::into),
                stats: base.telemetry.sd.clone(),
            };
            let (sd, _manager) =
                Discovery::start(cfg, sd_opts).map_err(AppError::spawn("sd/manager"))?;
            Some(sd)
        }
        None => None,
    };
    let autosharding = opts.pod.is_some() && opts.pod_namespace.is_some();
    let wanted: BTreeSet<SdResource> = sd.as_ref().map(|s| s.resources()).unwrap_or_default();
    let mut served = BTreeSet::new();
    let mut writers = Vec::new();
    let mut readiness = Vec::new();
    for b in enabled(opts) {
        let sd_resource = SdResource::for_api(b.api)
            .filter(|r| b.discovery == SdUse::Reads && wanted.contains(r));
        let shared = match (&sd, sd_resource) {
            (Some(sd), Some(r)) if sd_can_share(b, &ctx, autosharding) => {
                Some((r, sd.shared_consumer(r)))
            }
            _ => None,
        };
        let (r, consumer) = shared.unzip();
        let started = b.start(&ctx, consumer)?;
        if started.shared {
            served.extend(r);
        }
        writers.push(started.writer);
        readiness.extend(started.watches);
    }
    if let Some(sd) = &sd {
        for r in wanted.difference(&served) {
            let watch = sd
                .spawn_watch(*r, &base.client, &ctx.watch.options, &ctx.watch.reporter)
                .map_err(AppError::spawn(&format!("{}(sd)", r.api().plural)))?;
            readiness.push(watch);
        }
    }
    Ok(StoreGeneration {
        ctx,
        writers,
        readiness,
        sd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table entry marked for discovery is a resource a discovery role reads, and
    /// discovery's consumer is of the object type that entry's watch decodes (a mismatch
    /// would silently give discovery a watch of its own).
    #[test]
    fn discovery_shares_exactly_the_marked_builtin_watches() {
        let dir = std::env::temp_dir().join(format!("kubestate-gen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("sd.yaml");
        std::fs::write(
            &f,
            "- {name: n, role: node}\n- {name: s, role: service}\n\
             - {name: p, role: pod, attach_metadata: {namespace: true, deployment: true, cronjob: true}}\n\
             - {name: e, role: endpoints}\n- {name: es, role: endpointslice}\n- {name: i, role: ingress}\n",
        )
        .unwrap();
        let cfg = crate::discovery::config::load(&f).unwrap();
        let (sd, _) = Discovery::start(cfg, SdOptions::default()).unwrap();
        assert_eq!(sd.resources().len(), SdResource::ALL.len());
        for b in builtin::BUILTIN {
            let r = SdResource::for_api(b.api);
            assert_eq!(b.discovery == SdUse::Reads, r.is_some(), "{}", b.name);
            if let Some(r) = r {
                assert!(b.accepts(&*sd.shared_consumer(r)), "{}", b.name);
            }
        }
        for r in SdResource::ALL {
            assert!(
                builtin::BUILTIN.iter().any(|b| b.api == r.api()),
                "{r:?} has no built-in resource"
            );
        }
    }
}
