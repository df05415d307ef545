//! Start-up and the life of the process: options → filters → API client → one generation
//! of watches (from the built-in resource table) feeding their stores → the two HTTP
//! listeners; then the signal loop, which reloads, reshards and swaps the kubeconfig by
//! building a new generation beside the running one.
//!
//! One file per job: `generation` (what a configuration starts), `rebuild` (replacing it
//! without a gap), `autoshard` (the StatefulSet watch behind `--pod`), `custom` (custom
//! resource state), `systemd` (sd_notify), `error` (the start-up error and exit code).

pub mod autoshard;
pub mod custom;
pub mod error;
pub mod generation;
pub mod rebuild;
pub mod systemd;

pub use error::AppError;

use crate::cli::Options;
use crate::discovery::manager::Discovery;
use crate::file_stamp::FileStamp;
use crate::kube::client::ApiClient;
use crate::kube::config::{ClusterConfig, ConfigOptions};
use crate::kube::error::ConnectError;
use crate::kube::watch::{WatchMetrics, WatchState};
use crate::log::Level;
use crate::log_event;
use crate::server::routes::{MainRoutes, TelemetryRoutes};
use crate::server::{listen_addr, serve};
use crate::signals::Control;
use crate::telemetry::Telemetry;
use autoshard::ShardChange;
use generation::{start_generation, validate, Base};
use rebuild::Rebuilder;
use std::sync::Arc;

/// The watch loops report into the telemetry registry; neither knows the other, so the
/// adapter lives where both are wired.
impl WatchMetrics for Telemetry {
    fn list(&self, resource: &'static str, ok: bool) {
        Telemetry::list(self, resource, ok)
    }
    fn watch(&self, resource: &'static str, ok: bool) {
        Telemetry::watch(self, resource, ok)
    }
    fn initial_sync(&self, watch: &str, mode: &'static str, seconds: f64, objects: usize) {
        Telemetry::initial_sync(self, watch, mode, seconds, objects)
    }
    fn track_decoding(&self, resource: &'static str) {
        Telemetry::track_decoding(self, resource)
    }
    fn watch_decode_error(&self, resource: &'static str) {
        Telemetry::watch_decode_error(self, resource)
    }
    fn object_skipped(&self, resource: &'static str) {
        Telemetry::object_skipped(self, resource)
    }
    fn shard_server_filtered(&self, watch: &str, applied: bool) {
        Telemetry::set_shard_server_filtered(self, watch, applied)
    }
    fn list_objects(&self, resource: &'static str, limit: u64, kept: u64) {
        Telemetry::list_objects(self, resource, limit, kept)
    }
    fn received_bytes(&self, resource: &'static str, wire: u64, decoded: u64) {
        Telemetry::received_bytes(self, resource, wire, decoded)
    }
}

/// The rebuilder's target in production: generations started from the options, installed
/// into the main routes.
struct Generations {
    base: Base,
    routes: Arc<MainRoutes>,
}

impl rebuild::Target for Generations {
    type Built = (Vec<crate::store::ResourceWriter>, Option<Arc<Discovery>>);

    fn build(
        &self,
        opts: &Options,
        shard: Option<crate::shard::Shard>,
    ) -> Result<(Self::Built, Vec<Arc<WatchState>>), AppError> {
        let g = start_generation(&self.base, opts, shard)?;
        let watches = g.watches();
        Ok(((g.writers, g.sd), watches))
    }

    fn install(&self, (writers, sd): Self::Built, change: Option<ShardChange>) {
        self.routes.writers.replace(writers);
        *self.routes.sd.write() = sd;
        if let Some(c) = change {
            self.base
                .telemetry
                .set_shards(c.ordinal as i64, c.total as i64);
        }
    }
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
    let crs_config = custom::load_custom_resources(&opts)?;
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
        disable_compression: opts.disable_compression,
    };
    let cluster = ClusterConfig::load(&cluster_opts).map_err(|e| AppError::Config(e.into()))?;
    log_event!(
        Level::Info,
        "using API server",
        server = cluster.server,
        source = cluster.source
    );
    let base = Base {
        client: Arc::new(ApiClient::new(cluster).map_err(AppError::Config)?),
        telemetry: Arc::new(Telemetry::new()),
    };
    // SIGHUP checks the custom resource config file at once
    let crs_wake = crossbeam_channel::bounded(1);
    let telemetry = base.telemetry.clone();
    telemetry.set_shards(opts.shard as i64, opts.total_shards as i64);
    let (shard, shard_changes) = autoshard::start(&base.client, &telemetry, &opts)?;
    let first = start_generation(&base, &opts, shard)?;
    let watches = first.watches();
    {
        let watches = watches.clone();
        crate::allocator::release_after(move || watches.iter().all(|w| w.is_synced()));
    }
    let (custom, crs) = custom::start_custom_resources(
        &first.ctx.watch,
        &telemetry,
        &opts,
        crs_config,
        crs_wake.1.clone(),
    )?;
    let main_routes = Arc::new(MainRoutes {
        writers: crate::store::WriterSet::new(first.writers),
        gzip: opts.enable_gzip_encoding.then(|| {
            crate::store::GzipCache::new(opts.gzip_cache_max_bytes, telemetry.gzip.clone())
        }),
        telemetry: telemetry.clone(),
        readiness: first.readiness,
        sd: parking_lot::RwLock::new(first.sd),
        custom,
    });
    if main_routes.gzip.is_some() {
        spawn_gzip_settler(main_routes.clone()).map_err(AppError::spawn("gzip-settler"))?;
    }
    let endpoint = endpoint(&opts, web, &base.client);
    let tel_routes = Arc::new(TelemetryRoutes {
        telemetry,
        main: main_routes.clone(),
        guard: endpoint.guard.clone(),
    });
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
    let notifier = systemd::Notifier::from_env().map(Arc::new);
    if let Some(n) = &notifier {
        systemd::spawn_notifier(n.clone(), watches.clone()).map_err(AppError::spawn("systemd"))?;
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
            watch_files(name, what, paths, msg, control_tx.clone())
                .map_err(AppError::spawn(name))?;
        }
    }
    let rebuilder = Rebuilder::new(
        Arc::new(Generations {
            base: base.clone(),
            routes: main_routes.clone(),
        }),
        opts.clone(),
        shard,
        watches,
    );
    let never = crossbeam_channel::never();
    let shard_rx = shard_changes.as_ref().unwrap_or(&never);
    // the `filename` of the kubeconfig's reload self-metric, as $KUBECONFIG would list it
    let kubeconfig_files = ClusterConfig::files(&cluster_opts)
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    loop {
        let msg = crossbeam_channel::select! {
            recv(control) -> m => m,
            recv(shard_rx) -> change => {
                if let Ok(change) = change {
                    if let Err(e) = rebuilder.reshard(change) {
                        log_event!(Level::Error, "cannot start rebuild thread", err = e);
                    }
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
                    let running = rebuilder.running_options();
                    if new.port != running.port
                        || new.host != running.host
                        || new.telemetry_port != running.telemetry_port
                        || new.tls_config != running.tls_config
                        || new.kubeconfig != running.kubeconfig
                    {
                        log_event!(Level::Warn, "reload: listen addresses, --tls-config and --kubeconfig change only on restart; applying the rest");
                    }
                    crate::log::set_level(new.log_level);
                    let _ = crs_wake.0.try_send(());
                    if let Err(e) = rebuilder.reload(new) {
                        log_event!(Level::Error, "cannot start rebuild thread", err = e);
                    }
                }
                Err(e) => log_event!(
                    Level::Error,
                    "reload failed, keeping the running configuration",
                    err = e
                ),
            },
            Ok(Control::KubeconfigChanged) => {
                match ClusterConfig::load(&cluster_opts)
                    .map_err(ConnectError::from)
                    .and_then(ApiClient::new)
                {
                    Ok(next) => {
                        log_event!(
                            Level::Info,
                            "kubeconfig changed, reconnecting and rebuilding the stores",
                            server = next.server()
                        );
                        base.telemetry
                            .crs
                            .reload_of("kubeconfig", &kubeconfig_files, true);
                        base.client.replace(next);
                        if let Some(crs) = &crs {
                            crs.restart();
                        }
                        if let Err(e) = rebuilder.reload(rebuilder.running_options()) {
                            log_event!(Level::Error, "cannot start rebuild thread", err = e);
                        }
                    }
                    Err(e) => {
                        log_event!(
                            Level::Error,
                            "kubeconfig changed but cannot be used, keeping the running connection",
                            file = kubeconfig_files,
                            err = e
                        );
                        base.telemetry
                            .crs
                            .reload_of("kubeconfig", &kubeconfig_files, false);
                    }
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
    let files = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let mut last = FileStamp::of_all(&paths);
            loop {
                std::thread::sleep(std::time::Duration::from_secs(2));
                let now = FileStamp::of_all(&paths);
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

/// The gzip settler: one thread at a low CPU priority that, every
/// [`crate::store::gzip::SETTLE_POLL`], recompresses at the settled level what scrapes
/// rebuilt (see `store::gzip`), so scrapes send fewer bytes without waiting for it.
///
/// It also hands free heap memory back after gzip scrapes rebuilt or dropped members, at
/// most every [`TRIM_EVERY`]: members are small (about 64 KiB of output each), so they come
/// from malloc's heaps, and when the cache is full (100k pods and the default 64 MiB) every
/// scrape rebuilds and drops thousands of them, leaving free holes resident (100k pods:
/// 672 MiB after a churn window instead of 484 before members were small).
fn spawn_gzip_settler(routes: Arc<MainRoutes>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("gzip-settler".into())
        .spawn(move || {
            crate::store::gzip::lower_thread_priority();
            let mut seen = routes.telemetry.gzip.counts();
            let mut trimmed = std::time::Instant::now();
            loop {
                std::thread::sleep(crate::store::gzip::SETTLE_POLL);
                let now = std::time::Instant::now();
                routes.settle_gzip(now);
                let counts = routes.telemetry.gzip.counts();
                // misses (members rebuilt) or evictions (members dropped) since the last trim
                let churned = (counts.1, counts.3, counts.4) != (seen.1, seen.3, seen.4);
                if churned && now.duration_since(trimmed) >= TRIM_EVERY {
                    seen = counts;
                    trimmed = now;
                    crate::allocator::release_free_memory_if_tuned();
                }
            }
        })
        .map(drop)
}

/// How often the gzip settler may hand free heap memory back (one `malloc_trim`, a few
/// milliseconds at nice 10 over a heap of hundreds of MiB).
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
