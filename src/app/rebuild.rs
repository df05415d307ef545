//! Reloads, reshards and kubeconfig swaps: a new generation of stores is filled by new
//! watches in the background and put in place only once every one of them has synced, so a
//! scrape sees the old state complete, then the new one complete (kube-state-metrics swaps
//! in empty stores and loses series for minutes on a reshard, its issue #1187). A newer
//! request abandons an unfinished one.
//!
//! What is built and where it goes is a [`Target`]: the application's generations and
//! routes in production, a recorder in the tests below.

use super::autoshard::ShardChange;
use super::error::AppError;
use crate::cli::Options;
use crate::kube::watch::WatchState;
use crate::log::Level;
use crate::log_event;
use crate::shard::Shard;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Builds a generation and installs it.
pub trait Target: Send + Sync + 'static {
    type Built: Send + 'static;
    /// Starts the watches of a new generation; they fill in the background.
    fn build(
        &self,
        opts: &Options,
        shard: Option<Shard>,
    ) -> Result<(Self::Built, Vec<Arc<WatchState>>), AppError>;
    /// Puts a synced generation in place of the running one.
    fn install(&self, built: Self::Built, change: Option<ShardChange>);
}

/// The running configuration a rebuild replaces.
struct Current {
    opts: Options,
    shard: Option<Shard>,
    watches: Vec<Arc<WatchState>>,
}

pub struct Rebuilder<T: Target> {
    target: Arc<T>,
    current: Arc<Mutex<Current>>,
    /// The number of the newest request; an older rebuild still waiting gives up.
    latest: Arc<AtomicU64>,
    /// How often a rebuild checks whether its watches have synced.
    poll: Duration,
}

impl<T: Target> Rebuilder<T> {
    /// `watches` are the running generation's, stopped once a rebuild replaces them.
    pub fn new(
        target: Arc<T>,
        opts: Options,
        shard: Option<Shard>,
        watches: Vec<Arc<WatchState>>,
    ) -> Self {
        Rebuilder {
            target,
            current: Arc::new(Mutex::new(Current {
                opts,
                shard,
                watches,
            })),
            latest: Arc::new(AtomicU64::new(0)),
            poll: Duration::from_millis(50),
        }
    }

    /// The options of the running (last installed) generation.
    pub fn running_options(&self) -> Options {
        self.current.lock().opts.clone()
    }

    pub fn reshard(&self, change: ShardChange) -> std::io::Result<()> {
        log_event!(
            Level::Info,
            "shard change, building new stores",
            shard = change.ordinal,
            total_shards = change.total
        );
        let opts = self.running_options();
        let shard = Shard::new(change.ordinal, change.total, opts.shard_strategy);
        self.rebuild(opts, shard, Some(change))
    }

    pub fn reload(&self, opts: Options) -> std::io::Result<()> {
        log_event!(Level::Info, "reloading configuration, building new stores");
        let shard = self.current.lock().shard;
        self.rebuild(opts, shard, None)
    }

    /// Builds on a thread of its own; returns once that thread is started.
    fn rebuild(
        &self,
        opts: Options,
        shard: Option<Shard>,
        change: Option<ShardChange>,
    ) -> std::io::Result<()> {
        let generation = self.latest.fetch_add(1, Ordering::AcqRel) + 1;
        let (target, current, latest, poll) = (
            self.target.clone(),
            self.current.clone(),
            self.latest.clone(),
            self.poll,
        );
        std::thread::Builder::new()
            .name("rebuild".into())
            .spawn(move || {
                let (next, new_watches) = match target.build(&opts, shard) {
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
                loop {
                    if latest.load(Ordering::Acquire) != generation {
                        new_watches.iter().for_each(|w| w.stop());
                        return;
                    }
                    if new_watches.iter().all(|w| w.is_synced()) {
                        break;
                    }
                    std::thread::sleep(poll);
                }
                target.install(next, change);
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
            })
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// One build: the options' port, the shard, the new watches.
    type Build = (u16, Option<Shard>, Vec<Arc<WatchState>>);

    /// Builds generations whose watches the test syncs by hand, and records installs.
    #[derive(Default)]
    struct Recorder {
        /// (options' port, shard, watches) of every build, in order.
        built: Mutex<Vec<Build>>,
        /// (options' port, change) of every install, in order.
        installed: Mutex<Vec<(u16, Option<ShardChange>)>>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl Target for Recorder {
        type Built = u16;
        fn build(
            &self,
            opts: &Options,
            shard: Option<Shard>,
        ) -> Result<(u16, Vec<Arc<WatchState>>), AppError> {
            if self.fail.load(Ordering::Relaxed) {
                return Err(AppError::spawn("test")(std::io::Error::other("no")));
            }
            let watches = vec![WatchState::new(), WatchState::new()];
            self.built.lock().push((opts.port, shard, watches.clone()));
            Ok((opts.port, watches))
        }
        fn install(&self, port: u16, change: Option<ShardChange>) {
            self.installed.lock().push((port, change));
        }
    }

    fn opts(port: u16) -> Options {
        Options::parse([format!("--port={port}")]).unwrap()
    }

    fn rebuilder(running: &[Arc<WatchState>]) -> (Arc<Recorder>, Rebuilder<Recorder>) {
        let target = Arc::new(Recorder::default());
        let mut r = Rebuilder::new(target.clone(), opts(1), None, running.to_vec());
        r.poll = Duration::from_millis(5);
        (target, r)
    }

    fn wait_until(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn sync_all(ws: &[Arc<WatchState>]) {
        ws.iter().for_each(|w| w.mark_synced());
    }

    #[test]
    fn reload_installs_only_once_every_new_watch_has_synced_then_stops_the_old() {
        let old = vec![WatchState::new()];
        let (t, r) = rebuilder(&old);
        r.reload(opts(2)).unwrap();
        wait_until("the build", || t.built.lock().len() == 1);
        let new = t.built.lock()[0].2.clone();
        new[0].mark_synced();
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            t.installed.lock().is_empty(),
            "half-synced must not be installed"
        );
        assert!(!old[0].is_stopped());
        assert_eq!(r.running_options().port, 1);
        new[1].mark_synced();
        wait_until("the install", || t.installed.lock().len() == 1);
        assert_eq!(t.installed.lock()[0], (2, None));
        wait_until("old watches stopped", || old[0].is_stopped());
        assert_eq!(r.running_options().port, 2);
        assert!(new.iter().all(|w| !w.is_stopped()));
    }

    #[test]
    fn a_newer_request_abandons_an_unfinished_rebuild() {
        let old = vec![WatchState::new()];
        let (t, r) = rebuilder(&old);
        r.reload(opts(2)).unwrap();
        wait_until("the first build", || t.built.lock().len() == 1);
        r.reload(opts(3)).unwrap();
        wait_until("the second build", || t.built.lock().len() == 2);
        let first = t.built.lock()[0].2.clone();
        let second = t.built.lock()[1].2.clone();
        wait_until("the abandoned watches stopped", || {
            first.iter().all(|w| w.is_stopped())
        });
        // syncing the abandoned generation late changes nothing
        sync_all(&first);
        sync_all(&second);
        wait_until("the install", || t.installed.lock().len() == 1);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(*t.installed.lock(), vec![(3, None)]);
        assert!(old[0].is_stopped());
        assert!(second.iter().all(|w| !w.is_stopped()));
        assert_eq!(r.running_options().port, 3);
    }

    #[test]
    fn a_failed_build_keeps_the_running_configuration() {
        let old = vec![WatchState::new()];
        let (t, r) = rebuilder(&old);
        t.fail.store(true, Ordering::Relaxed);
        r.reload(opts(2)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(t.installed.lock().is_empty());
        assert!(!old[0].is_stopped());
        assert_eq!(r.running_options().port, 1);
    }

    #[test]
    fn reshard_builds_with_the_new_shard_and_reports_the_change() {
        let (t, r) = rebuilder(&[]);
        let change = ShardChange {
            ordinal: 1,
            total: 3,
        };
        r.reshard(change).unwrap();
        wait_until("the build", || t.built.lock().len() == 1);
        let (port, shard, ws) = t.built.lock()[0].clone();
        assert_eq!((port, shard), (1, Some(Shard::jump(1, 3))));
        sync_all(&ws);
        wait_until("the install", || t.installed.lock().len() == 1);
        assert_eq!(t.installed.lock()[0], (1, Some(change)));
        // a later reload keeps the shard the reshard installed
        r.reload(opts(4)).unwrap();
        wait_until("the second build", || t.built.lock().len() == 2);
        assert_eq!(t.built.lock()[1].1, Some(Shard::jump(1, 3)));
    }
}
