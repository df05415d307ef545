//! One health gate per API server, shared by every list/watch thread of that server.
//!
//! When the server stops answering (connection refused, streams cut, 5xx, 429), backing off
//! thread by thread costs twice: each resource keeps retrying on its own (load on a server
//! that is already failing grows with the number of resources), and each thread's backoff is
//! at its own point in its curve when the server comes back, so the last resource recovers
//! many seconds after the first. Here the first failure opens an outage; from then on one
//! request at a time (the *probe*, made by whichever waiting thread's turn it is) goes to the
//! server on a schedule with backoff and jitter, and every other thread waits. The first
//! answer ends the outage and wakes them all at once.
//!
//! What counts as an answer is the server speaking, not the resource succeeding: a 403 on
//! one resource or a 404 for an API the cluster lacks says the server is up, so it never
//! holds other resources back (their own per-thread backoff handles them).
//!
//! The schedule (see [`Schedule`]): the first probe after about 1 s, then one every ~2 s
//! while the outage is young (most outages are restarts and fail-overs that end within
//! seconds: one small request every 2 s is far less than client-go's per-reflector retries
//! and finds the server back within ~2 s), then doubling to client-go's reflector cap of
//! 30 s. Outages less than 2 minutes apart (client-go's backoff reset) continue the same
//! series, so a server that flaps, or one resource that keeps failing with a 5xx while the
//! rest of the server is fine, is not probed quickly again and again. `Retry-After` (seconds)
//! is honoured as a minimum before the next probe, capped at a minute; with or without it a
//! probe never follows the previous one sooner than the schedule allows, so a 429 cannot
//! become a tight loop.
//!
//! The decisions live in [`GateState`], a plain state machine over instants given to it, so
//! they are tested without sleeping; [`HealthGate`] adds the lock, the condition variable
//! and the clock.

use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When probes go out during an outage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Before the first probe of a new series of outages.
    pub first: Duration,
    /// Between probes while the series is younger than `fast_for`.
    pub fast: Duration,
    pub fast_for: Duration,
    /// Longest step once the series is older; steps double up to it (client-go's
    /// reflector: 800 ms doubling to 30 s).
    pub cap: Duration,
    /// Each delay is its step times a random factor in `[1 - jitter, 1 + jitter)`, so the
    /// instances of a fleet do not probe in step.
    pub jitter: f64,
    /// Healthy for this long ends a series: the next outage starts at `first` again
    /// (client-go resets its backoff after 2 minutes without one).
    pub reset_after: Duration,
    /// Longest `Retry-After` obeyed; a larger one is a misconfiguration, not a reason to
    /// stop looking for an hour.
    pub retry_after_cap: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            first: Duration::from_secs(1),
            fast: Duration::from_secs(2),
            fast_for: Duration::from_secs(30),
            cap: Duration::from_secs(30),
            jitter: 0.2,
            reset_after: Duration::from_secs(120),
            retry_after_cap: Duration::from_secs(60),
        }
    }
}

/// What a thread that wants to send a request should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The server is healthy: send.
    Go,
    /// An outage, and this thread makes the next probe: send.
    Probe,
    /// An outage; no probe is due before this instant.
    WaitUntil(Instant),
    /// An outage; another thread's probe is in flight.
    WaitForProbe,
}

/// An outage that just began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Began {
    /// Until the first probe.
    pub probe_in: Duration,
    /// Outages in this series so far, this one included.
    pub in_series: u32,
}

/// An outage that just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub lasted: Duration,
    /// Probes sent during it (the successful one included).
    pub probes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Healthy,
    Outage { next_probe: Instant, probing: bool },
}

/// Outages close together, sharing one backoff curve.
#[derive(Debug, Clone, Copy)]
struct Series {
    started: Instant,
    step: Duration,
    outages: u32,
}

/// The gate's decisions, with time passed in.
#[derive(Debug)]
pub struct GateState {
    schedule: Schedule,
    phase: Phase,
    series: Option<Series>,
    /// When the last outage ended.
    recovered_at: Option<Instant>,
    outage_started: Instant,
    probes: u64,
    /// Outages begun so far: an admission remembers the one it was issued in, so an answer
    /// to a request sent before the outage began cannot end it.
    epoch: u64,
    rng: u64,
}

impl GateState {
    pub fn new(schedule: Schedule, seed: u64) -> Self {
        GateState {
            schedule,
            phase: Phase::Healthy,
            series: None,
            recovered_at: None,
            outage_started: Instant::now(),
            probes: 0,
            epoch: 0,
            rng: seed | 1,
        }
    }

    pub fn in_outage(&self) -> bool {
        matches!(self.phase, Phase::Outage { .. })
    }

    /// The outage count, to stamp an admission with.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn admit(&mut self, now: Instant) -> Decision {
        match &mut self.phase {
            Phase::Healthy => Decision::Go,
            Phase::Outage { probing: true, .. } => Decision::WaitForProbe,
            Phase::Outage {
                next_probe,
                probing,
            } => {
                if now >= *next_probe {
                    *probing = true;
                    self.probes += 1;
                    Decision::Probe
                } else {
                    Decision::WaitUntil(*next_probe)
                }
            }
        }
    }

    /// The server answered (any status that is not an outage). `admitted_in` is the epoch
    /// of the request's admission, `None` for evidence without one (a watch stream that the
    /// server ended properly).
    pub fn answered(&mut self, now: Instant, admitted_in: Option<u64>) -> Option<Recovered> {
        if !self.in_outage() || admitted_in.is_some_and(|e| e != self.epoch) {
            return None;
        }
        self.phase = Phase::Healthy;
        self.recovered_at = Some(now);
        Some(Recovered {
            lasted: now.saturating_duration_since(self.outage_started),
            probes: self.probes,
        })
    }

    /// A request failed in a way that says the server is not serving. `probe` when it was
    /// the outage's probe. Returns the outage it began, if it began one.
    pub fn failed(
        &mut self,
        now: Instant,
        probe: bool,
        retry_after: Option<Duration>,
    ) -> Option<Began> {
        let floor = retry_after.map(|d| d.min(self.schedule.retry_after_cap));
        match self.phase {
            Phase::Healthy => {
                let continues = self.series.is_some()
                    && self.recovered_at.is_some_and(|r| {
                        now.saturating_duration_since(r) < self.schedule.reset_after
                    });
                let series = match (continues, self.series) {
                    (true, Some(mut s)) => {
                        s.step = self.next_step(&s, now);
                        s.outages += 1;
                        s
                    }
                    _ => Series {
                        started: now,
                        step: self.schedule.first,
                        outages: 1,
                    },
                };
                self.series = Some(series);
                let delay = self.jittered(series.step).max(floor.unwrap_or_default());
                self.phase = Phase::Outage {
                    next_probe: now + delay,
                    probing: false,
                };
                self.epoch += 1;
                self.outage_started = now;
                self.probes = 0;
                Some(Began {
                    probe_in: delay,
                    in_series: series.outages,
                })
            }
            Phase::Outage { next_probe, .. } if !probe => {
                // a request sent before the outage began, or a stream cut: the schedule
                // stands, but a server's Retry-After still pushes the next probe back
                if let Some(f) = floor {
                    self.phase = Phase::Outage {
                        next_probe: next_probe.max(now + f),
                        probing: matches!(self.phase, Phase::Outage { probing: true, .. }),
                    };
                }
                None
            }
            Phase::Outage { .. } => {
                let mut s = self.series.expect("an outage always belongs to a series");
                s.step = self.next_step(&s, now);
                self.series = Some(s);
                let delay = self.jittered(s.step).max(floor.unwrap_or_default());
                self.phase = Phase::Outage {
                    next_probe: now + delay,
                    probing: false,
                };
                None
            }
        }
    }

    /// A probe admission ended without a verdict (its thread was told to stop): the next
    /// waiting thread takes over at once.
    pub fn release(&mut self, probe: bool) {
        if let (true, Phase::Outage { next_probe, .. }) = (probe, self.phase) {
            self.phase = Phase::Outage {
                next_probe,
                probing: false,
            };
        }
    }

    /// Forgets everything (another server, or new credentials: old failures say nothing).
    pub fn reset(&mut self) {
        self.phase = Phase::Healthy;
        self.series = None;
        self.recovered_at = None;
    }

    fn next_step(&self, s: &Series, now: Instant) -> Duration {
        let sc = &self.schedule;
        if now.saturating_duration_since(s.started) < sc.fast_for {
            sc.fast
        } else {
            (s.step.max(sc.fast) * 2).min(sc.cap)
        }
    }

    fn jittered(&mut self, step: Duration) -> Duration {
        // xorshift64: jitter needs spread, not cryptographic quality
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        step.mul_f64(1.0 - self.schedule.jitter + 2.0 * self.schedule.jitter * unit)
    }
}

/// How often a waiting thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// The shared gate of one API server (one per [`super::client::ApiClient`]).
#[derive(Debug)]
pub struct HealthGate {
    state: Mutex<GateState>,
    wake: Condvar,
}

impl HealthGate {
    pub fn new(schedule: Schedule) -> Arc<Self> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ u64::from(std::process::id()) << 32;
        Arc::new(HealthGate {
            state: Mutex::new(GateState::new(schedule, seed)),
            wake: Condvar::new(),
        })
    }

    /// Blocks while an outage is on and it is not this thread's turn to probe. `None` once
    /// `stopped()` holds.
    pub fn admit(self: &Arc<Self>, stopped: &dyn Fn() -> bool) -> Option<Admission> {
        let mut st = self.state.lock();
        loop {
            if stopped() {
                return None;
            }
            let now = Instant::now();
            let probe = match st.admit(now) {
                Decision::Go => false,
                Decision::Probe => true,
                Decision::WaitUntil(t) => {
                    let d = t.saturating_duration_since(now).min(STOP_POLL);
                    self.wake.wait_for(&mut st, d);
                    continue;
                }
                Decision::WaitForProbe => {
                    self.wake.wait_for(&mut st, STOP_POLL);
                    continue;
                }
            };
            return Some(Admission {
                gate: self.clone(),
                probe,
                epoch: st.epoch(),
                settled: false,
            });
        }
    }

    /// The server spoke without a request of ours to show for it (a watch the server ended
    /// properly): it is up.
    pub fn server_answered(&self) -> Option<Recovered> {
        self.settle_answered(None)
    }

    /// A failure seen outside a request (a watch stream cut midway).
    pub fn server_failed(&self, retry_after: Option<Duration>) -> Option<Began> {
        self.state.lock().failed(Instant::now(), false, retry_after)
    }

    pub fn in_outage(&self) -> bool {
        self.state.lock().in_outage()
    }

    pub fn reset(&self) {
        self.state.lock().reset();
        self.wake.notify_all();
    }

    fn settle_answered(&self, epoch: Option<u64>) -> Option<Recovered> {
        let r = self.state.lock().answered(Instant::now(), epoch);
        if r.is_some() {
            self.wake.notify_all();
        }
        r
    }
}

/// Leave to send one request; say how it went with [`Admission::answered`] or
/// [`Admission::failed`]. Dropped without either, a probe hands its turn on.
#[derive(Debug)]
pub struct Admission {
    gate: Arc<HealthGate>,
    probe: bool,
    epoch: u64,
    settled: bool,
}

impl Admission {
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    pub fn answered(mut self) -> Option<Recovered> {
        self.settled = true;
        self.gate.settle_answered(Some(self.epoch))
    }

    pub fn failed(mut self, retry_after: Option<Duration>) -> Option<Began> {
        self.settled = true;
        let began = self
            .gate
            .state
            .lock()
            .failed(Instant::now(), self.probe, retry_after);
        // waiters recompute their deadline (a probe's failure sets the next one)
        self.gate.wake.notify_all();
        began
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.settled && self.probe {
            self.gate.state.lock().release(true);
            self.gate.wake.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn state() -> (GateState, Instant) {
        (
            GateState::new(Schedule::default(), 0x9e37_79b9_7f4a_7c15),
            Instant::now(),
        )
    }

    /// Drives an outage of `len` from `t0` in which every probe fails, returning the probe
    /// instants (as offsets from `t0`); the server comes back at `t0 + len`, and the probe
    /// that finds it is the last element.
    fn run_outage(g: &mut GateState, t0: Instant, len: Duration) -> Vec<Duration> {
        assert!(g.failed(t0, false, None).is_some());
        let mut probes = Vec::new();
        let mut now = t0;
        loop {
            match g.admit(now) {
                Decision::WaitUntil(t) => now = t,
                Decision::Probe => {
                    probes.push(now - t0);
                    if now - t0 >= len {
                        assert!(g.answered(now, Some(g.epoch())).is_some());
                        return probes;
                    }
                    g.failed(now, true, None);
                }
                d => panic!("{d:?} with no probe in flight"),
            }
        }
    }

    #[test]
    fn healthy_admits_everyone_and_the_first_failure_schedules_one_probe() {
        let (mut g, t0) = state();
        assert_eq!(g.admit(t0), Decision::Go);
        let began = g.failed(t0, false, None).expect("an outage begins");
        assert_eq!(began.in_series, 1);
        assert!(
            began.probe_in >= secs(0.8) && began.probe_in < secs(1.2),
            "{began:?}"
        );
        // a second thread's failure of the same moment does not begin another
        assert_eq!(g.failed(t0, false, None), None);
        assert_eq!(g.admit(t0), Decision::WaitUntil(t0 + began.probe_in));
        let due = t0 + began.probe_in;
        assert_eq!(g.admit(due), Decision::Probe);
        // exactly one probe at a time
        assert_eq!(g.admit(due), Decision::WaitForProbe);
        assert_eq!(g.admit(due + secs(5.0)), Decision::WaitForProbe);
    }

    #[test]
    fn a_twenty_second_outage_costs_few_probes_and_is_noticed_within_seconds() {
        for seed in 1..200u64 {
            let mut g = GateState::new(Schedule::default(), seed * 7919);
            let t0 = Instant::now();
            let probes = run_outage(&mut g, t0, secs(20.0));
            // every probe but the one that finds the server back fails
            assert!(probes.len() - 1 <= 13, "seed {seed}: {probes:?}");
            let late = *probes.last().unwrap() - secs(20.0);
            assert!(late <= secs(2.4), "seed {seed}: found {late:?} late");
        }
    }

    #[test]
    fn long_outages_back_off_to_the_cap() {
        let (mut g, t0) = state();
        let probes = run_outage(&mut g, t0, secs(600.0));
        let gaps: Vec<Duration> = probes.windows(2).map(|w| w[1] - w[0]).collect();
        let cap = Schedule::default().cap;
        assert!(gaps.iter().all(|&d| d <= cap.mul_f64(1.2)), "{gaps:?}");
        let late: Vec<&Duration> = gaps.iter().rev().take(5).collect();
        assert!(late.iter().all(|&&d| d >= cap.mul_f64(0.8)), "{gaps:?}");
        // at the cap, a ten-minute outage costs ~30 probes, not one per resource per step
        assert!(probes.len() < 45, "{}", probes.len());
    }

    #[test]
    fn the_first_answer_ends_the_outage_for_everyone() {
        let (mut g, t0) = state();
        let began = g.failed(t0, false, None).unwrap();
        let due = t0 + began.probe_in;
        assert_eq!(g.admit(due), Decision::Probe);
        let rec = g
            .answered(due + secs(0.1), Some(g.epoch()))
            .expect("recovered");
        assert_eq!(rec.probes, 1);
        assert_eq!(rec.lasted, began.probe_in + secs(0.1));
        assert_eq!(g.admit(due + secs(0.1)), Decision::Go);
        assert!(!g.in_outage());
    }

    #[test]
    fn an_answer_to_a_request_sent_before_the_outage_does_not_end_it() {
        let (mut g, t0) = state();
        let before = g.epoch();
        g.failed(t0, false, None).unwrap();
        assert_eq!(g.answered(t0 + secs(0.01), Some(before)), None);
        assert!(g.in_outage());
        // a watch the server ended properly is fresh evidence
        assert!(g.answered(t0 + secs(0.02), None).is_some());
    }

    #[test]
    fn retry_after_is_a_floor_and_capped() {
        let (mut g, t0) = state();
        let began = g.failed(t0, false, Some(secs(10.0))).unwrap();
        assert_eq!(began.probe_in, secs(10.0));
        let due = t0 + began.probe_in;
        assert_eq!(g.admit(due), Decision::Probe);
        g.failed(due, true, Some(Duration::from_secs(3600)));
        assert_eq!(
            g.admit(due),
            Decision::WaitUntil(due + Schedule::default().retry_after_cap)
        );
        // a late failure with Retry-After pushes the pending probe back, never forward
        let (mut g, t0) = state();
        let began = g.failed(t0, false, None).unwrap();
        g.failed(t0, false, Some(secs(5.0)));
        assert_eq!(g.admit(t0), Decision::WaitUntil(t0 + secs(5.0)));
        g.failed(t0, false, Some(secs(0.0)));
        assert_eq!(g.admit(t0), Decision::WaitUntil(t0 + secs(5.0)));
        assert!(began.probe_in < secs(5.0));
    }

    #[test]
    fn a_429_with_retry_after_zero_is_not_a_tight_loop() {
        let (mut g, t0) = state();
        g.failed(t0, false, Some(Duration::ZERO));
        let mut now = t0;
        let mut probes = 0;
        while now < t0 + secs(10.0) {
            match g.admit(now) {
                Decision::WaitUntil(t) => now = t,
                Decision::Probe => {
                    probes += 1;
                    g.failed(now, true, Some(Duration::ZERO));
                }
                d => panic!("{d:?}"),
            }
        }
        assert!((4..=7).contains(&probes), "{probes} probes in 10 s");
    }

    #[test]
    fn an_answer_that_is_an_error_of_one_resource_keeps_the_gate_open() {
        // the watch loop reports a 403 or 404 as an answer: nothing changes while healthy,
        // and during an outage it ends it
        let (mut g, t0) = state();
        assert_eq!(g.answered(t0, Some(g.epoch())), None);
        assert_eq!(g.admit(t0), Decision::Go);
        let began = g.failed(t0, false, None).unwrap();
        let due = t0 + began.probe_in;
        assert_eq!(g.admit(due), Decision::Probe);
        assert!(g.answered(due, Some(g.epoch())).is_some());
        assert_eq!(g.admit(due), Decision::Go);
    }

    #[test]
    fn outages_close_together_continue_one_series() {
        let (mut g, t0) = state();
        let probes = run_outage(&mut g, t0, secs(40.0));
        let end = t0 + *probes.last().unwrap();
        // a minute later it fails again: no fresh fast start
        let again = g.failed(end + secs(60.0), false, None).unwrap();
        assert_eq!(again.in_series, 2);
        assert!(again.probe_in >= secs(3.2), "{again:?}");
        // after more than reset_after of health, a new series starts at `first`
        let t1 = end + secs(60.0) + again.probe_in;
        assert_eq!(g.admit(t1), Decision::Probe);
        g.answered(t1, Some(g.epoch())).unwrap();
        let fresh = g.failed(t1 + secs(121.0), false, None).unwrap();
        assert_eq!(fresh.in_series, 1);
        assert!(fresh.probe_in < secs(1.2));
    }

    #[test]
    fn a_probe_given_up_hands_the_turn_on() {
        let (mut g, t0) = state();
        let began = g.failed(t0, false, None).unwrap();
        let due = t0 + began.probe_in;
        assert_eq!(g.admit(due), Decision::Probe);
        g.release(true);
        assert_eq!(g.admit(due), Decision::Probe);
        g.reset();
        assert_eq!(g.admit(due), Decision::Go);
    }

    fn quick() -> Schedule {
        Schedule {
            first: Duration::from_millis(20),
            fast: Duration::from_millis(20),
            fast_for: Duration::from_secs(60),
            cap: Duration::from_millis(40),
            ..Schedule::default()
        }
    }

    #[test]
    fn waiting_threads_all_go_on_the_first_successful_probe() {
        let gate = HealthGate::new(quick());
        let never = || false;
        gate.admit(&never).unwrap().failed(None).expect("began");
        let probes = Arc::new(AtomicUsize::new(0));
        let through = Arc::new(AtomicUsize::new(0));
        let server_up = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (gate, probes, through, up) = (
                    gate.clone(),
                    probes.clone(),
                    through.clone(),
                    server_up.clone(),
                );
                std::thread::spawn(move || loop {
                    let adm = gate.admit(&|| false).unwrap();
                    if adm.is_probe() {
                        probes.fetch_add(1, Ordering::SeqCst);
                    }
                    if up.load(Ordering::SeqCst) {
                        adm.answered();
                        through.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    // only a probe can be admitted during the outage
                    assert!(adm.is_probe());
                    adm.failed(None);
                })
            })
            .collect();
        while probes.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        server_up.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(through.load(Ordering::SeqCst), 4);
        assert!(!gate.in_outage());
    }

    #[test]
    fn a_stopped_thread_leaves_the_wait() {
        let gate = HealthGate::new(Schedule::default());
        assert!(gate.server_failed(None).is_some());
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (gate.clone(), stop.clone());
        let t = std::thread::spawn(move || g.admit(&|| s.load(Ordering::SeqCst)).is_none());
        std::thread::sleep(Duration::from_millis(30));
        stop.store(true, Ordering::SeqCst);
        assert!(t.join().unwrap());
    }
}
