//! Custom resource state: the config is read and validated before anything connects, then
//! its resources are started on the first generation's watch context and the file (if any)
//! is watched for changes.

use super::error::AppError;
use crate::cli::Options;
use crate::log::Level;
use crate::log_event;
use crate::metrics::custom::config::CompiledResource;
use crate::metrics::custom::{load, watch_file, CustomResources, CustomWriters, Source};
use crate::metrics::start::WatchCtx;
use crate::telemetry::Telemetry;
use std::sync::Arc;

/// A loaded custom resource state config: the source, its resources, and the bytes read
/// (`None` when the file is missing and `--continue-without-…` lets us wait for it).
pub struct CrsConfig {
    source: Source,
    resources: Vec<CompiledResource>,
    bytes: Option<Vec<u8>>,
}

/// Reads and validates the CRS config before anything connects: an invalid one stops
/// start-up (exit 2) naming resource, metric and path; a missing file exits 1 unless
/// `--continue-without-custom-resource-state-config-file`.
pub fn load_custom_resources(opts: &Options) -> Result<Option<CrsConfig>, AppError> {
    let Some(source) = Source::from_options(
        opts.custom_resource_state_config.as_deref(),
        opts.custom_resource_state_config_file.as_deref(),
    ) else {
        return Ok(None);
    };
    match load(&source) {
        Ok((resources, bytes)) => Ok(Some(CrsConfig {
            source,
            resources,
            bytes: Some(bytes),
        })),
        Err(e)
            if e.is_missing_file() && opts.continue_without_custom_resource_state_config_file =>
        {
            log_event!(
                Level::Warn,
                "custom resource state config missing, waiting for it",
                err = e
            );
            Ok(Some(CrsConfig {
                source,
                resources: Vec::new(),
                bytes: None,
            }))
        }
        Err(e) => Err(AppError::CustomResources(e)),
    }
}

/// Starts the configured custom resources and, for a config file, the thread that reloads
/// it (at once when `wake` receives: SIGHUP). Returns the swappable writer list the main
/// routes merge into every scrape, and the running custom resources if any are configured.
pub fn start_custom_resources(
    ctx: &WatchCtx,
    telemetry: &Arc<Telemetry>,
    opts: &Options,
    config: Option<CrsConfig>,
    wake: crossbeam_channel::Receiver<()>,
) -> Result<(CustomWriters, Option<Arc<CustomResources>>), AppError> {
    let writers = CustomWriters::default();
    let Some(CrsConfig {
        source,
        resources,
        bytes,
    }) = config
    else {
        return Ok((writers, None));
    };
    let crs = CustomResources::new(ctx.clone(), telemetry.clone(), writers.clone());
    if bytes.is_some() {
        telemetry.crs.reload(&source.name(), true);
    }
    crs.apply(resources);
    if let Source::File(path) = source {
        let every = std::time::Duration::from_millis(opts.custom_resource_state_poll_ms);
        watch_file(crs.clone(), path, bytes, every, wake)
            .map_err(AppError::spawn("crs-config-watch"))?;
    }
    Ok((writers, Some(crs)))
}
