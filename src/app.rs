//! Start-up: options → filters → API client → one watch per resource (and namespace) feeding
//! its store → the two HTTP listeners.

use crate::cli::Options;
use crate::discovery::manager::{Discovery, Resource as SdResource, SdObject, SdOptions};
use crate::kube::client::ApiClient;
use crate::kube::config::{ClusterConfig, ConfigError, ConfigOptions};
use crate::kube::object::KubeObject;
use crate::kube::resources::{self, ApiResource};
use crate::kube::watch::{Consumer, InitialSync, WatchSpec, WatchState, Watcher};
use crate::log::Level;
use crate::log_event;
use crate::metrics::consumer::MetricsConsumer;
use crate::metrics::family::RenderCtx;
use crate::metrics::filter::{Allowlist, FilterError, MetricFilter};
use crate::metrics::*;
use crate::server::routes::{MainRoutes, TelemetryRoutes};
use crate::server::telemetry::Telemetry;
use crate::server::{listen_addr, serve, ServerError};
use crate::shard::auto::{ShardChange, StatefulSetConsumer};
use crate::shard::Shard;
use crate::signals::Control;
use crate::store::{ResourceWriter, Store};
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub enum AppError {
    AutoShard(crate::shard::auto::AutoShardError),
    Filter(FilterError),
    SdConfig(crate::discovery::config::ConfigError),
    Config(ConfigError),
    Server(ServerError),
    WebConfig(crate::server::tls::WebConfigError),
    CustomResources(crate::metrics::custom::LoadError),
    Spawn {
        resource: String,
        source: std::io::Error,
    },
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Filter(e) => write!(f, "{e}"),
            AppError::AutoShard(e) => write!(f, "{e}"),
            AppError::SdConfig(e) => write!(f, "--sd-config: {e}"),
            AppError::Config(e) => write!(f, "API server configuration: {e}"),
            AppError::Server(e) => write!(f, "{e}"),
            AppError::WebConfig(e) => write!(f, "{e}"),
            AppError::CustomResources(e) => write!(f, "{e}"),
            AppError::Spawn { resource, source } => {
                write!(f, "cannot start the watch thread for {resource}: {source}")
            }
        }
    }
}

impl std::error::Error for AppError {}

impl AppError {
    /// Usage errors exit 2 (as flag errors do); runtime ones 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Filter(_) | AppError::SdConfig(_) | AppError::WebConfig(_) => 2,
            AppError::CustomResources(e) if !e.is_missing_file() => 2,
            _ => 1,
        }
    }
}

/// What each resource's start function needs.
pub struct StartCtx {
    pub client: Arc<ApiClient>,
    pub filter: MetricFilter,
    pub labels: Allowlist,
    pub annotations: Allowlist,
    pub namespaces: Vec<String>,
    pub namespace_denylist: Vec<String>,
    pub use_apiserver_cache: bool,
    pub initial_sync: InitialSync,
    pub watch_list_idle: std::time::Duration,
    pub telemetry: Arc<Telemetry>,
    /// This instance's share; replaced on an autosharding change.
    pub shard: parking_lot::RwLock<Option<Shard>>,
    /// `--pod`/`--pod-namespace` given: shards may change at run time.
    pub autosharding: bool,
    /// `spec.nodeName=<node>` (`--node`) or `spec.nodeName=` (`--track-unscheduled-pods`).
    pub pod_node_selector: Option<String>,
    /// Service discovery, when `--sd-config` is given.
    pub sd: Option<Arc<Discovery>>,
    /// Discovery resources already fed by a metrics watch.
    pub sd_served: parking_lot::Mutex<std::collections::BTreeSet<SdResource>>,
    /// Receives on SIGHUP: the custom resource config file is checked at once.
    pub crs_wake: crossbeam_channel::Receiver<()>,
}

/// A started resource: its writer and the readiness of each of its watches.
pub struct Started {
    pub writer: ResourceWriter,
    pub watches: Vec<(String, Arc<WatchState>)>,
}

/// The field selector that hides denylisted namespaces, for namespaced resources only
/// (cluster-scoped lists ignore it, as in kube-state-metrics).
pub fn denylist_selector(denylist: &[String]) -> Option<String> {
    if denylist.is_empty() {
        return None;
    }
    Some(
        denylist
            .iter()
            .map(|ns| format!("metadata.namespace!={ns}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Namespace denylist (namespaced resources) AND the node selector (pods only), as one
/// server-side field selector.
fn field_selector(api: ApiResource, ctx: &StartCtx) -> Option<String> {
    let mut parts = Vec::new();
    if api.namespaced {
        parts.extend(denylist_selector(&ctx.namespace_denylist));
    }
    if api == resources::PODS {
        parts.extend(ctx.pod_node_selector.clone());
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// Starts the watches of one resource: one store and thread per namespace when
/// `--namespaces` restricts a namespaced resource, one in total otherwise.
pub fn start_resource<T: KubeObject>(
    def: &'static ResourceDef<T>,
    api: ApiResource,
    ctx: &StartCtx,
) -> Result<Started, AppError> {
    start_resource_with(def, api, ctx, Vec::new())
}

/// Whether discovery can ride on the metrics watch of `api`: only a cluster-wide, unsharded,
/// unfiltered watch sees every object discovery needs.
fn sd_can_share(api: ApiResource, ctx: &StartCtx) -> bool {
    !ctx.autosharding
        && ctx.shard.read().is_none()
        && field_selector(api, ctx).is_none()
        && (!api.namespaced || ctx.namespaces.is_empty())
}

/// Starts a metrics resource that discovery may also need; one watch then feeds both.
fn start_with_sd<T: SdObject>(
    def: &'static ResourceDef<T>,
    api: ApiResource,
    ctx: &StartCtx,
    resource: SdResource,
) -> Result<Started, AppError> {
    let mut extra: Vec<Box<dyn Consumer<T>>> = Vec::new();
    if let Some(sd) = &ctx.sd {
        if sd.resources().contains(&resource) && sd_can_share(api, ctx) {
            extra.push(Box::new(sd.consumer::<T>()));
            ctx.sd_served.lock().insert(resource);
        }
    }
    start_resource_with(def, api, ctx, extra)
}

/// A watch that feeds only discovery (the resource is not exported as metrics, or its
/// metrics watch is sharded or restricted).
fn start_sd_only<T: SdObject>(
    sd: &Arc<Discovery>,
    resource: SdResource,
    ctx: &StartCtx,
) -> Result<(String, Arc<WatchState>), AppError> {
    let spec = WatchSpec {
        resource: resource.api(),
        namespace: None,
        field_selector: None,
        use_apiserver_cache: ctx.use_apiserver_cache,
        page_size: 500,
        initial_sync: ctx.initial_sync,
        watch_list_idle: ctx.watch_list_idle,
        shard: None,
    };
    let label = format!("{}(sd)", spec.label());
    let state = WatchState::new();
    let consumers: Vec<Box<dyn Consumer<T>>> = vec![Box::new(sd.consumer::<T>())];
    Watcher::new(
        ctx.client.clone(),
        spec,
        consumers,
        state.clone(),
        ctx.telemetry.clone(),
    )
    .spawn()
    .map_err(|source| AppError::Spawn {
        resource: label.clone(),
        source,
    })?;
    Ok((label, state))
}

fn start_sd_resource(
    sd: &Arc<Discovery>,
    r: SdResource,
    ctx: &StartCtx,
) -> Result<(String, Arc<WatchState>), AppError> {
    match r {
        SdResource::Nodes => start_sd_only::<Node>(sd, r, ctx),
        SdResource::Namespaces => start_sd_only::<Namespace>(sd, r, ctx),
        SdResource::Pods => start_sd_only::<Pod>(sd, r, ctx),
        SdResource::Services => start_sd_only::<Service>(sd, r, ctx),
        SdResource::Endpoints => start_sd_only::<Endpoints>(sd, r, ctx),
        SdResource::EndpointSlices => start_sd_only::<EndpointSlice>(sd, r, ctx),
        SdResource::Ingresses => start_sd_only::<Ingress>(sd, r, ctx),
        SdResource::ReplicaSets => start_sd_only::<ReplicaSet>(sd, r, ctx),
        SdResource::Jobs => start_sd_only::<Job>(sd, r, ctx),
    }
}

fn start_resource_with<T: KubeObject>(
    def: &'static ResourceDef<T>,
    api: ApiResource,
    ctx: &StartCtx,
    mut extra: Vec<Box<dyn Consumer<T>>>,
) -> Result<Started, AppError> {
    let render_ctx = RenderCtx {
        labels: ctx.labels.for_resource(def.name),
        annotations: ctx.annotations.for_resource(def.name),
    };
    let renderer = Arc::new(Renderer::new(def, &ctx.filter, render_ctx));
    let scopes: Vec<Option<String>> = if api.namespaced && !ctx.namespaces.is_empty() {
        ctx.namespaces.iter().cloned().map(Some).collect()
    } else {
        vec![None]
    };
    let mut stores = Vec::new();
    let mut watches = Vec::new();
    for ns in scopes {
        let store = Arc::new(Store::new());
        let spec = WatchSpec {
            resource: api,
            namespace: ns,
            field_selector: field_selector(api, ctx),
            use_apiserver_cache: ctx.use_apiserver_cache,
            page_size: 500,
            initial_sync: ctx.initial_sync,
            watch_list_idle: ctx.watch_list_idle,
            shard: *ctx.shard.read(),
        };
        let state = WatchState::new();
        let mut consumers: Vec<Box<dyn Consumer<T>>> = vec![Box::new(MetricsConsumer::new(
            renderer.clone(),
            store.clone(),
        ))];
        // only one scope exists when discovery shares the watch (see sd_can_share)
        consumers.append(&mut extra);
        let label = spec.label();
        Watcher::new(
            ctx.client.clone(),
            spec,
            consumers,
            state.clone(),
            ctx.telemetry.clone(),
        )
        .spawn()
        .map_err(|source| AppError::Spawn {
            resource: label.clone(),
            source,
        })?;
        stores.push(store);
        watches.push((label, state));
    }
    Ok(Started {
        writer: ResourceWriter::new(def.name, renderer.headers(), stores),
        watches,
    })
}

/// Starts the resource named on the command line.
fn start_named(name: &str, ctx: &StartCtx) -> Option<Result<Started, AppError>> {
    Some(match name {
        "pods" => start_with_sd(&pod::POD, resources::PODS, ctx, SdResource::Pods),
        "nodes" => start_with_sd(&node::NODE, resources::NODES, ctx, SdResource::Nodes),
        "namespaces" => start_with_sd(
            &namespace::NAMESPACE,
            resources::NAMESPACES,
            ctx,
            SdResource::Namespaces,
        ),
        "deployments" => start_resource(&deployment::DEPLOYMENT, resources::DEPLOYMENTS, ctx),
        "certificatesigningrequests" => start_resource(
            &certificatesigningrequest::CERTIFICATESIGNINGREQUEST,
            resources::CERTIFICATESIGNINGREQUESTS,
            ctx,
        ),
        "clusterrolebindings" => start_resource(
            &clusterrolebinding::CLUSTERROLEBINDING,
            resources::CLUSTERROLEBINDINGS,
            ctx,
        ),
        "clusterroles" => start_resource(&clusterrole::CLUSTERROLE, resources::CLUSTERROLES, ctx),
        "configmaps" => start_resource(&configmap::CONFIGMAP, resources::CONFIGMAPS, ctx),
        "cronjobs" => start_resource(&cronjob::CRONJOB, resources::CRONJOBS, ctx),
        "daemonsets" => start_resource(&daemonset::DAEMONSET, resources::DAEMONSETS, ctx),
        "endpoints" => start_with_sd(
            &endpoint::ENDPOINT,
            resources::ENDPOINTS,
            ctx,
            SdResource::Endpoints,
        ),
        "endpointslices" => start_with_sd(
            &endpointslice::ENDPOINTSLICE,
            resources::ENDPOINTSLICES,
            ctx,
            SdResource::EndpointSlices,
        ),
        "horizontalpodautoscalers" => start_resource(
            &horizontalpodautoscaler::HORIZONTALPODAUTOSCALER,
            resources::HORIZONTALPODAUTOSCALERS,
            ctx,
        ),
        "ingressclasses" => {
            start_resource(&ingressclass::INGRESSCLASS, resources::INGRESSCLASSES, ctx)
        }
        "ingresses" => start_with_sd(
            &ingress::INGRESS,
            resources::INGRESSES,
            ctx,
            SdResource::Ingresses,
        ),
        "jobs" => start_with_sd(&job::JOB, resources::JOBS, ctx, SdResource::Jobs),
        "leases" => start_resource(&lease::LEASE, resources::LEASES, ctx),
        "limitranges" => start_resource(&limitrange::LIMITRANGE, resources::LIMITRANGES, ctx),
        "mutatingadmissionpolicies" => start_resource(
            &mutatingadmissionpolicy::MUTATINGADMISSIONPOLICY,
            resources::MUTATINGADMISSIONPOLICIES,
            ctx,
        ),
        "mutatingadmissionpolicybindings" => start_resource(
            &mutatingadmissionpolicybinding::MUTATINGADMISSIONPOLICYBINDING,
            resources::MUTATINGADMISSIONPOLICYBINDINGS,
            ctx,
        ),
        "mutatingwebhookconfigurations" => start_resource(
            &mutatingwebhookconfiguration::MUTATINGWEBHOOKCONFIGURATION,
            resources::MUTATINGWEBHOOKCONFIGURATIONS,
            ctx,
        ),
        "networkpolicies" => start_resource(
            &networkpolicy::NETWORKPOLICY,
            resources::NETWORKPOLICIES,
            ctx,
        ),
        "persistentvolumeclaims" => start_resource(
            &persistentvolumeclaim::PERSISTENTVOLUMECLAIM,
            resources::PERSISTENTVOLUMECLAIMS,
            ctx,
        ),
        "persistentvolumes" => start_resource(
            &persistentvolume::PERSISTENTVOLUME,
            resources::PERSISTENTVOLUMES,
            ctx,
        ),
        "poddisruptionbudgets" => start_resource(
            &poddisruptionbudget::PODDISRUPTIONBUDGET,
            resources::PODDISRUPTIONBUDGETS,
            ctx,
        ),
        "replicasets" => start_with_sd(
            &replicaset::REPLICASET,
            resources::REPLICASETS,
            ctx,
            SdResource::ReplicaSets,
        ),
        "replicationcontrollers" => start_resource(
            &replicationcontroller::REPLICATIONCONTROLLER,
            resources::REPLICATIONCONTROLLERS,
            ctx,
        ),
        "resourcequotas" => start_resource(
            &resourcequota::RESOURCEQUOTA,
            resources::RESOURCEQUOTAS,
            ctx,
        ),
        "rolebindings" => start_resource(&rolebinding::ROLEBINDING, resources::ROLEBINDINGS, ctx),
        "roles" => start_resource(&role::ROLE, resources::ROLES, ctx),
        "secrets" => start_resource(&secret::SECRET, resources::SECRETS, ctx),
        "serviceaccounts" => start_resource(
            &serviceaccount::SERVICEACCOUNT,
            resources::SERVICEACCOUNTS,
            ctx,
        ),
        "services" => start_with_sd(
            &service::SERVICE,
            resources::SERVICES,
            ctx,
            SdResource::Services,
        ),
        "statefulsets" => start_resource(&statefulset::STATEFULSET, resources::STATEFULSETS, ctx),
        "storageclasses" => {
            start_resource(&storageclass::STORAGECLASS, resources::STORAGECLASSES, ctx)
        }
        "validatingadmissionpolicies" => start_resource(
            &validatingadmissionpolicy::VALIDATINGADMISSIONPOLICY,
            resources::VALIDATINGADMISSIONPOLICIES,
            ctx,
        ),
        "validatingadmissionpolicybindings" => start_resource(
            &validatingadmissionpolicybinding::VALIDATINGADMISSIONPOLICYBINDING,
            resources::VALIDATINGADMISSIONPOLICYBINDINGS,
            ctx,
        ),
        "validatingwebhookconfigurations" => start_resource(
            &validatingwebhookconfiguration::VALIDATINGWEBHOOKCONFIGURATION,
            resources::VALIDATINGWEBHOOKCONFIGURATIONS,
            ctx,
        ),
        "volumeattachments" => start_resource(
            &volumeattachment::VOLUMEATTACHMENT,
            resources::VOLUMEATTACHMENTS,
            ctx,
        ),
        _ => return None,
    })
}

fn known_resource(name: &str) -> bool {
    crate::cli::KSM_RESOURCES.contains(&name)
}

/// Runs kubestate; returns only on a start-up error.
/// Checks what can be checked before connecting: filters, allowlists, the discovery config.
/// A start-up error here exits 2; on reload it keeps the running configuration.
fn validate(opts: &Options) -> Result<(MetricFilter, Allowlist, Allowlist), AppError> {
    let filter = MetricFilter::new(
        &opts.metric_allowlist,
        &opts.metric_denylist,
        &opts.metric_opt_in_list,
    )
    .map_err(AppError::Filter)?;
    let labels = Allowlist::parse(
        "metric-labels-allowlist",
        &opts.metric_labels_allowlist,
        &known_resource,
    )
    .map_err(AppError::Filter)?;
    let annotations = Allowlist::parse(
        "metric-annotations-allowlist",
        &opts.metric_annotations_allowlist,
        &known_resource,
    )
    .map_err(AppError::Filter)?;
    if let Some(path) = &opts.sd_config {
        crate::discovery::config::load(std::path::Path::new(path)).map_err(AppError::SdConfig)?;
    }
    Ok((filter, labels, annotations))
}

/// What lives as long as the process: the API client and the self-metrics.
#[derive(Clone)]
struct Base {
    client: Arc<ApiClient>,
    telemetry: Arc<Telemetry>,
    crs_wake: (
        crossbeam_channel::Sender<()>,
        crossbeam_channel::Receiver<()>,
    ),
}

/// Everything a reload or a reshard replaces as one piece: the built-in resources' writers,
/// their watches and the discovery jobs.
struct Generation {
    ctx: Arc<StartCtx>,
    writers: Vec<ResourceWriter>,
    readiness: Readiness,
    sd: Option<Arc<Discovery>>,
}

fn start_generation(
    base: &Base,
    opts: &Options,
    shard: Option<Shard>,
) -> Result<Generation, AppError> {
    let (filter, labels, annotations) = validate(opts)?;
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
                Discovery::start(cfg, sd_opts).map_err(|source| AppError::Spawn {
                    resource: "sd/manager".into(),
                    source,
                })?;
            Some(sd)
        }
        None => None,
    };
    let ctx = Arc::new(StartCtx {
        client: base.client.clone(),
        filter,
        labels,
        annotations,
        namespaces: opts.namespaces.clone(),
        namespace_denylist: opts.namespaces_denylist.clone(),
        use_apiserver_cache: opts.use_apiserver_cache,
        initial_sync: opts.initial_sync,
        watch_list_idle: std::time::Duration::from_millis(opts.watch_list_idle_ms),
        telemetry: base.telemetry.clone(),
        shard: parking_lot::RwLock::new(shard),
        autosharding: opts.pod.is_some() && opts.pod_namespace.is_some(),
        pod_node_selector: match (&opts.node, opts.track_unscheduled_pods) {
            (Some(node), _) => Some(format!("spec.nodeName={node}")),
            (None, true) => Some("spec.nodeName=".to_string()),
            (None, false) => None,
        },
        sd: sd.clone(),
        sd_served: Default::default(),
        crs_wake: base.crs_wake.1.clone(),
    });
    let (writers, mut readiness) = start_builtin(&ctx, opts)?;
    if let Some(sd) = &sd {
        let served = ctx.sd_served.lock().clone();
        for r in sd.resources().into_iter().filter(|r| !served.contains(r)) {
            readiness.push(start_sd_resource(sd, r, &ctx)?);
        }
    }
    Ok(Generation {
        ctx,
        writers,
        readiness,
        sd,
    })
}

/// Runs kubestate until SIGTERM/SIGINT; `argv` is re-parsed (with the `--config` file) on
/// SIGHUP or when that file changes.
pub fn run(
    opts: Options,
    argv: Vec<String>,
    (control_tx, control): (
        crossbeam_channel::Sender<Control>,
        crossbeam_channel::Receiver<Control>,
    ),
) -> Result<(), AppError> {
    crate::log::set_level(opts.log_level);
    validate(&opts)?;
    let crs_config = load_custom_resources(&opts)?;
    let web = match &opts.tls_config {
        Some(path) => {
            crate::server::tls::load(std::path::Path::new(path)).map_err(AppError::WebConfig)?
        }
        None => Default::default(),
    };
    let cluster_opts = ConfigOptions {
        kubeconfig: opts.kubeconfig.as_ref().map(Into::into),
        context: opts.context.clone(),
        apiserver: opts.apiserver.clone(),
    };
    let cluster = ClusterConfig::load(&cluster_opts).map_err(AppError::Config)?;
    log_event!(
        Level::Info,
        "using API server",
        server = cluster.server,
        source = cluster.source
    );
    let base = Base {
        client: Arc::new(ApiClient::new(cluster).map_err(AppError::Config)?),
        telemetry: Arc::new(Telemetry::new()),
        crs_wake: crossbeam_channel::bounded(1),
    };
    let telemetry = base.telemetry.clone();
    telemetry.set_shards(opts.shard as i64, opts.total_shards as i64);
    let (shard, shard_changes) = start_autosharding(&base, &opts)?;
    let first = start_generation(&base, &opts, shard)?;
    let (custom, crs) = start_custom_resources(&first.ctx, &opts, crs_config)?;
    let main_routes = Arc::new(MainRoutes {
        writers: crate::store::WriterSet::new(first.writers),
        gzip: opts.enable_gzip_encoding,
        telemetry: telemetry.clone(),
        readiness: first.readiness,
        sd: parking_lot::RwLock::new(first.sd),
        custom,
    });
    let endpoint = endpoint(&opts, web, &base.client);
    let tel_routes = Arc::new(TelemetryRoutes {
        telemetry,
        guard: endpoint.guard.clone(),
    });
    let watches: Vec<Arc<WatchState>> = main_routes
        .readiness
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    let main_server = serve(
        "http",
        &listen_addr(&opts.host, opts.port),
        opts.http_workers,
        &endpoint,
        {
            let routes = main_routes.clone();
            move |r: &crate::server::Request| routes.handle(r)
        },
    )
    .map_err(AppError::Server)?;
    let tel_server = serve(
        "telemetry",
        &listen_addr(&opts.telemetry_host, opts.telemetry_port),
        2,
        &endpoint,
        move |r: &crate::server::Request| tel_routes.handle(r),
    )
    .map_err(AppError::Server)?;
    let notifier = crate::systemd::Notifier::from_env().map(Arc::new);
    if let Some(n) = &notifier {
        spawn_systemd_notifier(n.clone(), watches.clone()).map_err(|source| AppError::Spawn {
            resource: "systemd".into(),
            source,
        })?;
    }
    let watched = [
        (
            "config-watch",
            "config file changed, reloading",
            opts.config_file.iter().map(Into::into).collect(),
            Control::Reload,
        ),
        (
            "kubeconfig-watch",
            "kubeconfig file changed",
            ClusterConfig::files(&cluster_opts),
            Control::KubeconfigChanged,
        ),
    ];
    for (name, what, paths, msg) in watched {
        if !paths.is_empty() {
            watch_files(name, what, paths, msg, control_tx.clone()).map_err(|source| {
                AppError::Spawn {
                    resource: name.into(),
                    source,
                }
            })?;
        }
    }
    let rebuilder = Rebuilder {
        base,
        routes: main_routes.clone(),
        current: Arc::new(parking_lot::Mutex::new(Current {
            opts: opts.clone(),
            shard,
            watches,
        })),
        latest: Arc::new(std::sync::atomic::AtomicU64::new(0)),
    };
    let never = crossbeam_channel::never();
    let shard_rx = shard_changes.as_ref().unwrap_or(&never);
    loop {
        let msg = crossbeam_channel::select! {
            recv(control) -> m => m,
            recv(shard_rx) -> change => {
                if let Ok(change) = change {
                    rebuilder.reshard(change);
                }
                continue;
            }
        };
        match msg {
            Ok(Control::Shutdown { signal }) => {
                log_event!(Level::Info, "shutting down", signal = signal);
                if let Some(n) = &notifier {
                    let _ = n.notify("STOPPING=1");
                }
                // in-flight scrapes finish; the whole stop stays within 5 s
                main_server.shutdown(std::time::Duration::from_secs(4));
                tel_server.shutdown(std::time::Duration::from_millis(500));
                if let Some(sd) = main_routes.sd.read().clone() {
                    sd.flush(std::time::Duration::from_millis(400));
                }
                return Ok(());
            }
            Ok(Control::Reload) => match Options::parse(argv.clone())
                .map_err(|e| e.to_string())
                .and_then(|o| validate(&o).map(|_| o).map_err(|e| e.to_string()))
            {
                Ok(new) => {
                    let running = rebuilder.current.lock().opts.clone();
                    if new.port != running.port
                        || new.host != running.host
                        || new.telemetry_port != running.telemetry_port
                        || new.tls_config != running.tls_config
                        || new.kubeconfig != running.kubeconfig
                    {
                        log_event!(Level::Warn, "reload: listen addresses, --tls-config and --kubeconfig change only on restart; applying the rest");
                    }
                    crate::log::set_level(new.log_level);
                    let _ = rebuilder.base.crs_wake.0.try_send(());
                    rebuilder.reload(new);
                }
                Err(e) => log_event!(
                    Level::Error,
                    "reload failed, keeping the running configuration",
                    err = e
                ),
            },
            Ok(Control::KubeconfigChanged) => {
                match ClusterConfig::load(&cluster_opts).and_then(ApiClient::new) {
                    Ok(next) => {
                        log_event!(
                            Level::Info,
                            "kubeconfig changed, reconnecting and rebuilding the stores",
                            server = next.server()
                        );
                        rebuilder.base.client.replace(next);
                        if let Some(crs) = &crs {
                            crs.restart();
                        }
                        let running = rebuilder.current.lock().opts.clone();
                        rebuilder.reload(running);
                    }
                    Err(e) => log_event!(
                        Level::Error,
                        "kubeconfig changed but cannot be used, keeping the running connection",
                        err = e
                    ),
                }
            }
            Err(_) => loop {
                std::thread::park();
            },
        }
    }
}

/// Logs `what` and sends `msg` on the control channel whenever one of `paths` changes
/// (modification time, size or existence), polled every 2 s on a thread named `name`: the `--config` file
/// (a reload) and the kubeconfig files in use (kube-state-metrics restarts its whole run on
/// such a write; here the connection is swapped and new stores are built before the old
/// ones go).
fn watch_files(
    name: &str,
    what: &'static str,
    paths: Vec<std::path::PathBuf>,
    msg: Control,
    tx: crossbeam_channel::Sender<Control>,
) -> std::io::Result<()> {
    let stamps = |ps: &[std::path::PathBuf]| -> Vec<_> {
        ps.iter()
            .map(|p| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| (m.modified().ok(), m.len()))
            })
            .collect()
    };
    let files = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let mut last = stamps(&paths);
            loop {
                std::thread::sleep(std::time::Duration::from_secs(2));
                let now = stamps(&paths);
                if now != last {
                    last = now;
                    log_event!(Level::Info, what, file = files);
                    if tx.send(msg).is_err() {
                        return;
                    }
                }
            }
        })?;
    Ok(())
}

/// The running configuration a rebuild replaces.
struct Current {
    opts: Options,
    shard: Option<Shard>,
    watches: Vec<Arc<WatchState>>,
}

/// Applies shard changes and reloads: a new generation of stores is filled by new watches in
/// the background and put in place only once every one of them has synced, so a scrape sees
/// the old state complete, then the new one complete (kube-state-metrics swaps in empty stores
/// and loses series for minutes on a reshard, its issue #1187). A newer request abandons an
/// unfinished one.
struct Rebuilder {
    base: Base,
    routes: Arc<MainRoutes>,
    current: Arc<parking_lot::Mutex<Current>>,
    latest: Arc<std::sync::atomic::AtomicU64>,
}

impl Rebuilder {
    fn reshard(&self, change: ShardChange) {
        log_event!(
            Level::Info,
            "shard change, building new stores",
            shard = change.ordinal,
            total_shards = change.total
        );
        let opts = self.current.lock().opts.clone();
        self.rebuild(opts, Shard::new(change.ordinal, change.total), Some(change));
    }

    fn reload(&self, opts: Options) {
        log_event!(Level::Info, "reloading configuration, building new stores");
        let shard = self.current.lock().shard;
        self.rebuild(opts, shard, None);
    }

    fn rebuild(&self, opts: Options, shard: Option<Shard>, change: Option<ShardChange>) {
        use std::sync::atomic::Ordering;
        let generation = self.latest.fetch_add(1, Ordering::AcqRel) + 1;
        let (base, routes, current, latest) = (
            self.base.clone(),
            self.routes.clone(),
            self.current.clone(),
            self.latest.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("rebuild".into())
            .spawn(move || {
                let next = match start_generation(&base, &opts, shard) {
                    Ok(g) => g,
                    Err(e) => {
                        log_event!(
                            Level::Error,
                            "rebuild failed, keeping the running configuration",
                            err = e
                        );
                        return;
                    }
                };
                let new_watches: Vec<Arc<WatchState>> =
                    next.readiness.into_iter().map(|(_, s)| s).collect();
                loop {
                    if latest.load(Ordering::Acquire) != generation {
                        new_watches.iter().for_each(|w| w.stop());
                        return;
                    }
                    if new_watches.iter().all(|w| w.is_synced()) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                routes.writers.replace(next.writers);
                *routes.sd.write() = next.sd;
                if let Some(c) = change {
                    base.telemetry.set_shards(c.ordinal as i64, c.total as i64);
                }
                let old = {
                    let mut cur = current.lock();
                    cur.opts = opts;
                    cur.shard = shard;
                    std::mem::replace(&mut cur.watches, new_watches)
                };
                old.iter().for_each(|w| w.stop());
                match change {
                    Some(c) => log_event!(
                        Level::Info,
                        "reshard complete",
                        shard = c.ordinal,
                        total_shards = c.total
                    ),
                    None => log_event!(Level::Info, "reload complete"),
                }
            });
        if let Err(e) = spawned {
            log_event!(Level::Error, "cannot start rebuild thread", err = e);
        }
    }
}

/// Named watches whose sync /readyz waits for.
type Readiness = Vec<(String, Arc<WatchState>)>;

/// Starts every built-in resource `--resources` names with the context's current shard.
fn start_builtin(
    ctx: &StartCtx,
    opts: &Options,
) -> Result<(Vec<ResourceWriter>, Readiness), AppError> {
    let mut writers = Vec::new();
    let mut readiness = Vec::new();
    for name in opts
        .resources
        .iter()
        .filter(|_| !opts.custom_resource_state_only)
    {
        if let Some(started) = start_named(name, ctx) {
            let started = started?;
            writers.push(started.writer);
            readiness.extend(started.watches);
        }
    }
    Ok((writers, readiness))
}

/// With `--pod`/`--pod-namespace`: finds this pod's StatefulSet, takes the shard from it
/// and watches it; changes arrive on the returned channel.
fn start_autosharding(
    ctx: &Base,
    opts: &Options,
) -> Result<
    (
        Option<Shard>,
        Option<crossbeam_channel::Receiver<ShardChange>>,
    ),
    AppError,
> {
    let (Some(pod), Some(ns)) = (&opts.pod, &opts.pod_namespace) else {
        return Ok((Shard::new(opts.shard, opts.total_shards), None));
    };
    let (sts, current) =
        crate::shard::auto::discover(&ctx.client, ns, pod).map_err(AppError::AutoShard)?;
    ctx.telemetry
        .set_shards(current.ordinal as i64, current.total as i64);
    log_event!(
        Level::Info,
        "autosharding",
        statefulset = sts,
        shard = current.ordinal,
        total_shards = current.total
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    let spec = WatchSpec {
        resource: resources::STATEFULSETS,
        namespace: Some(ns.clone()),
        field_selector: Some(format!("metadata.name={sts}")),
        use_apiserver_cache: opts.use_apiserver_cache,
        page_size: 500,
        initial_sync: opts.initial_sync,
        watch_list_idle: std::time::Duration::from_millis(opts.watch_list_idle_ms),
        shard: None,
    };
    let consumers: Vec<Box<dyn Consumer<StatefulSet>>> = vec![Box::new(StatefulSetConsumer::new(
        pod.clone(),
        sts,
        current,
        tx,
    ))];
    Watcher::new(
        ctx.client.clone(),
        spec,
        consumers,
        WatchState::new(),
        ctx.telemetry.clone(),
    )
    .spawn()
    .map_err(|source| AppError::Spawn {
        resource: "statefulsets(autosharding)".into(),
        source,
    })?;
    Ok((Shard::new(current.ordinal, current.total), Some(rx)))
}

/// Timeouts, TLS and access control shared by both ports.
fn endpoint(
    opts: &Options,
    web: crate::server::tls::WebConfig,
    client: &Arc<ApiClient>,
) -> crate::server::Endpoint {
    use crate::server::auth::{AuthFilter, BasicAuth, Guard};
    crate::server::Endpoint {
        limits: crate::server::Limits {
            read_header_timeout: opts.server_read_header_timeout,
            read_timeout: opts.server_read_timeout,
            write_timeout: opts.server_write_timeout,
            idle_timeout: opts.server_idle_timeout,
            max_connections: opts.server_max_connections,
        },
        tls: web.tls,
        guard: Arc::new(Guard::new(
            (!web.users.is_empty()).then(|| BasicAuth::new(web.users)),
            opts.auth_filter.then(|| AuthFilter::new(client.clone())),
            web.headers,
        )),
    }
}

/// `READY=1` once every watch has synced, then `WATCHDOG=1` every half watchdog period for
/// as long as every watch thread is alive (a dead loop lets systemd restart us).
fn spawn_systemd_notifier(
    n: Arc<crate::systemd::Notifier>,
    watches: Vec<Arc<WatchState>>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("systemd".into())
        .spawn(move || {
            while !watches.iter().all(|w| w.is_synced()) {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            if let Err(e) = n.notify("READY=1") {
                log_event!(Level::Warn, "sd_notify failed", err = e);
            }
            let Some(every) = crate::systemd::watchdog_interval() else {
                return;
            };
            loop {
                if watches.iter().all(|w| w.is_alive()) {
                    let _ = n.notify("WATCHDOG=1");
                } else {
                    log_event!(
                        Level::Error,
                        "a watch loop has died; withholding watchdog keep-alives"
                    );
                }
                std::thread::sleep(every);
            }
        })?;
    Ok(())
}

/// A loaded custom resource state config: the source, its resources, and the bytes read
/// (`None` when the file is missing and `--continue-without-…` lets us wait for it).
type CrsConfig = (
    crate::metrics::custom::Source,
    Vec<crate::metrics::custom::config::CompiledResource>,
    Option<Vec<u8>>,
);

/// Reads and validates the CRS config before anything connects: an invalid one stops
/// start-up (exit 2) naming resource, metric and path; a missing file exits 1 unless
/// `--continue-without-custom-resource-state-config-file`.
fn load_custom_resources(opts: &Options) -> Result<Option<CrsConfig>, AppError> {
    use crate::metrics::custom::{load, Source};
    let Some(source) = Source::from_options(
        opts.custom_resource_state_config.as_deref(),
        opts.custom_resource_state_config_file.as_deref(),
    ) else {
        return Ok(None);
    };
    match load(&source) {
        Ok((resources, bytes)) => Ok(Some((source, resources, Some(bytes)))),
        Err(e)
            if e.is_missing_file() && opts.continue_without_custom_resource_state_config_file =>
        {
            log_event!(
                Level::Warn,
                "custom resource state config missing, waiting for it",
                err = e
            );
            Ok(Some((source, Vec::new(), None)))
        }
        Err(e) => Err(AppError::CustomResources(e)),
    }
}

/// Starts the configured custom resources and, for a config file, the thread that reloads
/// it. Returns the swappable writer list the main routes merge into every scrape, and the
/// running custom resources if any are configured.
fn start_custom_resources(
    ctx: &StartCtx,
    opts: &Options,
    config: Option<CrsConfig>,
) -> Result<
    (
        crate::metrics::custom::CustomWriters,
        Option<Arc<crate::metrics::custom::CustomResources>>,
    ),
    AppError,
> {
    use crate::metrics::custom::{watch_file, CrsCtx, CustomResources, CustomWriters, Source};
    let writers = CustomWriters::default();
    let Some((source, resources, bytes)) = config else {
        return Ok((writers, None));
    };
    let crs = CustomResources::new(
        CrsCtx {
            client: ctx.client.clone(),
            filter: ctx.filter.clone(),
            namespaces: ctx.namespaces.clone(),
            denylist_selector: denylist_selector(&ctx.namespace_denylist),
            use_apiserver_cache: ctx.use_apiserver_cache,
            initial_sync: ctx.initial_sync,
            watch_list_idle: ctx.watch_list_idle,
            telemetry: ctx.telemetry.clone(),
            shard: *ctx.shard.read(),
        },
        writers.clone(),
    );
    if bytes.is_some() {
        ctx.telemetry.crs.reload(&source.name(), true);
    }
    crs.apply(resources);
    if let Source::File(path) = source {
        let every = std::time::Duration::from_millis(opts.custom_resource_state_poll_ms);
        watch_file(crs.clone(), path, bytes, every, ctx.crs_wake.clone()).map_err(|source| {
            AppError::Spawn {
                resource: "crs-config-watch".into(),
                source,
            }
        })?;
    }
    Ok((writers, Some(crs)))
}
