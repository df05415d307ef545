//! The gzip member cache: each resource's `/metrics` output per format as gzip members,
//! bounded in bytes across all resources, and upgraded off the scrape path.
//!
//! Two levels, because a scrape and the bytes it sends want different things: a scrape that
//! finds a resource changed compresses it while Prometheus waits, at the fast level, on
//! several threads, as before; once the resource has been unchanged for [`QUIET`], one
//! low-priority settler thread recompresses it at the settled level (a third fewer bytes
//! than the fast level, no bigger than kube-state-metrics' own gzip) and swaps the members in
//! only if the resource is still at the generation they were built from. A warm scrape is a
//! pure cache hit; a scrape during churn pays what it paid before; after churn stops the
//! settler has the next scrape's members ready.
//!
//! Only (resource, format) pairs a gzip scrape asked for are compressed at all, and a pair
//! not asked for in [`FORGET`] is dropped. Over the byte limit, members are dropped least
//! recently scraped pair first, its last members first; a scrape compresses what is not
//! cached (members are cut at fixed visit ranges of one snapshot, so a cached prefix and
//! freshly compressed rest are one valid body).

use super::{RenderedObject, ResourceWriter, CHUNK};
use crate::exposition::gzip::{encoder, FAST, SETTLED};
use crate::exposition::negotiate::Format;
use crate::telemetry::gzip::{Eviction, GzipStats};
use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// A pair's members by unit; `None` where not built or dropped.
type Partial = Vec<Option<Arc<[u8]>>>;

/// A resource's gzip output: consecutive gzip members, each compressed independently so a
/// stale resource can be recompressed on several cores. Sent one after the other they form one
/// valid gzip body (RFC 1952 members; Go's and Prometheus' readers, curl and browsers read them
/// as one stream).
pub type GzipMembers = Arc<Vec<Arc<[u8]>>>;

/// (family, object) visits per gzip member: about 5 MB of pod output, so a member is large
/// enough that its header, its empty starting window and its encoder set-up cost nothing
/// measurable (5, 20 or 1,000 MB members differ by < 0.1% in size), a big resource still splits into enough members to keep
/// every core busy, and the cache can keep part of a resource too big to keep whole.
pub(super) const GZIP_UNIT: usize = 32 * 1024;

/// At most this many threads compress one stale resource (the scrape's own included).
const GZIP_THREADS: usize = 4;

/// How long a resource must stay unchanged before the settler recompresses it: long enough
/// that a burst of changes (a rollout, a node going away) is over, short enough that the next
/// scrape, 15 s or more later, finds the settled members.
pub const QUIET: Duration = Duration::from_secs(1);

/// A pair no gzip scrape asked for in this long is dropped from the cache and no longer
/// settled (a Prometheus that stopped sending `Accept-Encoding: gzip`, a one-off curl).
pub const FORGET: Duration = Duration::from_secs(600);

/// Pairs scraped this recently count as in use by the current scrapes when the cache must
/// drop members (Prometheus scrapes every 15 s or more; one scrape takes under a second at
/// 10k pods).
const RECENT: Duration = Duration::from_secs(5);

/// How often the settler looks at every resource.
pub const SETTLE_POLL: Duration = Duration::from_millis(250);

/// All resources' cached members: the byte limit, the self-metrics, and every slot so the
/// limit can be enforced across resources.
pub struct GzipCache {
    limit: usize,
    stats: Arc<GzipStats>,
    slots: Mutex<Vec<Weak<Slot>>>,
}

impl GzipCache {
    /// A cache holding at most `limit` bytes of members, reporting to `stats`.
    pub fn new(limit: usize, stats: Arc<GzipStats>) -> Arc<Self> {
        stats.enable(limit as u64);
        Arc::new(GzipCache {
            limit,
            stats,
            slots: Mutex::new(Vec::new()),
        })
    }

    /// The cache of writers no server attached one to (tests, tools): unbounded, unreported.
    fn detached() -> Arc<Self> {
        Arc::new(GzipCache {
            limit: usize::MAX,
            stats: Default::default(),
            slots: Mutex::new(Vec::new()),
        })
    }

    pub fn stats(&self) -> &GzipStats {
        &self.stats
    }

    fn register(&self, slot: &Arc<Slot>) {
        let mut slots = self.slots.lock();
        slots.retain(|s| s.strong_count() > 0);
        slots.push(Arc::downgrade(slot));
    }

    /// Bytes the cache may still take, not counting what `slot` holds (which a rebuild of
    /// that slot replaces).
    fn room_beside(&self, held_by_slot: usize) -> usize {
        let others = (self.stats.bytes() as usize).saturating_sub(held_by_slot);
        self.limit.saturating_sub(others)
    }

    /// Drops members until the total is within the limit. First the pairs no scrape asked
    /// for in the last [`RECENT`], least recently scraped first; then, among the pairs the
    /// current scrapes use, the biggest first (so the most resources stay whole, and the
    /// missing part of a big one is compressed on several threads). Within a pair its last
    /// members go first, so what stays cached is a prefix a scrape completes.
    fn enforce(&self) {
        if self.stats.bytes() as usize <= self.limit {
            return;
        }
        let now = Instant::now();
        // (in use by the current scrapes, biggest first among those, least recently scraped)
        type Order = (bool, usize, Option<Instant>);
        let mut slots: Vec<(Arc<Slot>, Order)> = self
            .slots
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .map(|s| {
                let st = s.state.lock();
                let recent = st
                    .last_request
                    .is_some_and(|t| now.saturating_duration_since(t) < RECENT);
                let key = (recent, usize::MAX - st.bytes, st.last_request);
                drop(st);
                (s, key)
            })
            .collect();
        // not recent: by last request alone; recent: biggest first
        for (_, k) in &mut slots {
            if !k.0 {
                k.1 = 0;
            }
        }
        slots.sort_by_key(|(_, k)| *k);
        for (slot, _) in slots {
            let mut st = slot.state.lock();
            while self.stats.bytes() as usize > self.limit {
                let Some(i) = st.members.iter().rposition(Option::is_some) else {
                    break;
                };
                st.members[i] = None;
                st.recount();
                self.stats.evict(Eviction::Limit, 1);
            }
            if self.stats.bytes() as usize <= self.limit {
                return;
            }
        }
    }
}

/// One (resource, format) pair's cached members.
pub(crate) struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// The writer generation `members` were built from.
    generation: u64,
    /// Per unit of [`GZIP_UNIT`] visits; `None` where not built or evicted.
    members: Partial,
    bytes: usize,
    /// Where `bytes` is counted (the attached cache's stats).
    stats: Option<Arc<GzipStats>>,
    /// `members` are the settler's, at `generation`: nothing left for it to do.
    settled: bool,
    /// The last gzip scrape of this pair; `None` never (or not since it was forgotten).
    last_request: Option<Instant>,
    /// A scrape asked for this pair since the settler last tried to recompress it: the
    /// settler makes at most one attempt per scrape, so under steady churn its CPU stays
    /// bounded by the scrape rate.
    requested_since_settle: bool,
    /// The settler's view: the generation it last saw and since when.
    seen: Option<(u64, Instant)>,
}

impl SlotState {
    /// Recomputes `bytes` and moves the difference into the cache's total.
    fn recount(&mut self) {
        let bytes = self.members.iter().flatten().map(|m| m.len()).sum();
        if let Some(s) = &self.stats {
            s.add_bytes(bytes as i64 - self.bytes as i64);
        }
        self.bytes = bytes;
    }

    fn complete(&self, generation: u64) -> Option<Vec<Arc<[u8]>>> {
        if self.generation != generation {
            return None;
        }
        self.members.iter().cloned().collect()
    }

    /// Files members built from `generation`: never over members of a newer generation,
    /// and at the same generation never over the settler's (only into their gaps).
    fn install(&mut self, generation: u64, members: Partial, settled: bool) {
        if generation < self.generation {
            return;
        }
        if generation == self.generation
            && self.settled
            && !settled
            && self.members.len() == members.len()
        {
            for (have, new) in self.members.iter_mut().zip(members) {
                if have.is_none() {
                    *have = new;
                }
            }
        } else {
            self.generation = generation;
            self.members = members;
            self.settled = settled;
        }
        self.recount();
    }

    fn clear(&mut self) -> u64 {
        let n = self.members.iter().flatten().count() as u64;
        self.members.clear();
        self.settled = false;
        self.recount();
        n
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.get_mut().clear();
    }
}

/// A writer's part of the cache: a slot per format and the cache it counts against.
pub(super) struct WriterGzip {
    slots: [Arc<Slot>; 2],
    cache: OnceLock<Arc<GzipCache>>,
    /// Held while stale members are rebuilt on the scrape path, so concurrent scrapes of a
    /// changed resource compress it once: the second waits and then finds the first one's
    /// members.
    rebuild: Mutex<()>,
}

impl Default for WriterGzip {
    fn default() -> Self {
        let slot = || {
            Arc::new(Slot {
                state: Mutex::new(SlotState::default()),
            })
        };
        WriterGzip {
            slots: [slot(), slot()],
            cache: OnceLock::new(),
            rebuild: Mutex::new(()),
        }
    }
}

fn slot_index(format: Format) -> usize {
    match format {
        Format::Text => 0,
        Format::OpenMetrics => 1,
    }
}

/// What [`ResourceWriter::settle`] did for one format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Nothing to do (never scraped, still changing, already settled, or no room).
    Idle,
    /// Recompressed at the settled level and swapped in.
    Settled,
    /// Recompressed, but the resource changed meanwhile: thrown away.
    Outdated,
    /// Not scraped with gzip for [`FORGET`]: dropped.
    Forgotten,
}

impl ResourceWriter {
    /// Makes this writer's members count against `cache` (its limit, its self-metrics).
    /// The first cache attached stays; a writer is attached when a gzip scrape first asks
    /// for it, so a resource no one scrapes with gzip is never registered.
    pub fn attach_gzip_cache(&self, cache: &Arc<GzipCache>) {
        if self.gzip.cache.set(cache.clone()).is_ok() {
            for slot in &self.gzip.slots {
                let mut st = slot.state.lock();
                st.stats = Some(cache.stats.clone());
                let held = st.bytes;
                cache.stats.add_bytes(held as i64);
                drop(st);
                cache.register(slot);
            }
        }
    }

    fn gzip_cache(&self) -> &Arc<GzipCache> {
        self.gzip.cache.get_or_init(GzipCache::detached)
    }

    /// This resource's output as gzip members, from the cache when no store changed (no
    /// members at all while every store is empty); members not cached are compressed here
    /// at the fast level. The generation is read before the snapshot is taken, so members
    /// are never older than the generation they are filed under.
    pub fn gzip_members(&self, format: Format) -> std::io::Result<GzipMembers> {
        let cache = self.gzip_cache();
        let slot = &self.gzip.slots[slot_index(format)];
        let generation = self.generation();
        {
            let mut st = slot.state.lock();
            st.last_request = Some(Instant::now());
            st.requested_since_settle = true;
            if let Some(m) = st.complete(generation) {
                cache.stats.hit();
                return Ok(Arc::new(m));
            }
        }
        let _rebuilding = self.gzip.rebuild.lock();
        // another scrape may have rebuilt them while this one waited
        let generation = self.generation();
        let have = {
            let st = slot.state.lock();
            if let Some(m) = st.complete(generation) {
                cache.stats.hit();
                return Ok(Arc::new(m));
            }
            if st.generation == generation {
                st.members.clone()
            } else {
                Vec::new()
            }
        };
        cache.stats.miss();
        let objs = self.snapshot();
        let members = self.compress(&objs, format, have)?;
        slot.state.lock().install(
            generation,
            members.iter().cloned().map(Some).collect(),
            false,
        );
        cache.enforce();
        Ok(Arc::new(members))
    }

    /// The settler's step for this writer at `now`: per format, once the resource has been
    /// unchanged for `quiet` and a scrape asked for it since the last settling, recompresses
    /// it at the settled level on this thread (as much of it as the cache has room for) and
    /// swaps it in if the resource is still at the same generation.
    pub fn settle(&self, now: Instant, quiet: Duration) -> std::io::Result<[Settle; 2]> {
        let mut done = [Settle::Idle; 2];
        let Some(cache) = self.gzip.cache.get() else {
            return Ok(done);
        };
        for format in [Format::Text, Format::OpenMetrics] {
            let slot = &self.gzip.slots[slot_index(format)];
            let generation = self.generation();
            let room = {
                let mut st = slot.state.lock();
                let Some(last) = st.last_request else {
                    continue;
                };
                if now.saturating_duration_since(last) >= FORGET {
                    st.last_request = None;
                    st.seen = None;
                    let n = st.clear();
                    cache.stats.evict(Eviction::Idle, n);
                    done[slot_index(format)] = Settle::Forgotten;
                    continue;
                }
                match st.seen {
                    Some((g, since)) if g == generation => {
                        if now.saturating_duration_since(since) < quiet {
                            continue;
                        }
                    }
                    _ => {
                        st.seen = Some((generation, now));
                        if !quiet.is_zero() {
                            continue;
                        }
                    }
                }
                if (st.settled && st.generation == generation) || !st.requested_since_settle {
                    continue;
                }
                cache.room_beside(st.bytes)
            };
            if room == 0 {
                continue;
            }
            let objs = self.snapshot();
            let built = self.compress_settled(&objs, format, generation, room)?;
            let mut st = slot.state.lock();
            // one attempt per scrape, wasted or not: a resource that changes just slower
            // than the quiet time costs at most one recompression per scrape
            st.requested_since_settle = false;
            let Some(members) = built.filter(|_| self.generation() == generation) else {
                done[slot_index(format)] = Settle::Outdated;
                continue;
            };
            st.install(generation, members, true);
            drop(st);
            cache.stats.settle();
            cache.enforce();
            done[slot_index(format)] = Settle::Settled;
        }
        Ok(done)
    }

    /// The units of `objs` at the settled level, one after another on this thread, while
    /// their bytes fit in `room` (the rest left `None`); `None` as soon as the resource is no
    /// longer at `generation`, so a resource that starts changing again costs at most one
    /// member's work.
    fn compress_settled(
        &self,
        objs: &[Arc<RenderedObject>],
        format: Format,
        generation: u64,
        room: usize,
    ) -> std::io::Result<Option<Partial>> {
        let total = objs.len() * self.headers.len();
        let units = total.div_ceil(GZIP_UNIT);
        let mut scratch = Vec::with_capacity(CHUNK + 16 * 1024);
        let mut members = vec![None; units];
        let mut used = 0;
        for (u, slot) in members.iter_mut().enumerate() {
            let member = self.compress_unit(objs, u, format, SETTLED, &mut scratch)?;
            if self.generation() != generation {
                return Ok(None);
            }
            used += member.len();
            if used > room {
                break;
            }
            *slot = Some(member);
        }
        Ok(Some(members))
    }

    /// Unit `u` (visits `u * GZIP_UNIT..`) of `objs` as one gzip member at `level`.
    fn compress_unit(
        &self,
        objs: &[Arc<RenderedObject>],
        u: usize,
        format: Format,
        level: u32,
        scratch: &mut Vec<u8>,
    ) -> std::io::Result<Arc<[u8]>> {
        let total = objs.len() * self.headers.len();
        let range = u * GZIP_UNIT..((u + 1) * GZIP_UNIT).min(total);
        let mut enc = encoder(level);
        self.write_range(objs, range, format, scratch, CHUNK, &mut enc)?;
        enc.write_all(scratch)?;
        scratch.clear();
        // the cache holds it until the resource changes: without the growth slack
        Ok(Arc::from(enc.finish()?))
    }

    /// Compresses this resource's output into members of [`GZIP_UNIT`] (family, object)
    /// visits each, all from one snapshot, except the units `have` already holds. Members
    /// are handed out to up to [`GZIP_THREADS`] threads, no more than the CPUs this process
    /// may run on (this one and short-lived helpers named `gzip/<resource>`); each streams
    /// its member's lines through its own [`CHUNK`] buffer into the encoder, so beyond the
    /// compressed members memory stays one buffer and one encoder per thread.
    fn compress(
        &self,
        objs: &[Arc<RenderedObject>],
        format: Format,
        mut have: Partial,
    ) -> std::io::Result<Vec<Arc<[u8]>>> {
        let total = objs.len() * self.headers.len();
        let units = total.div_ceil(GZIP_UNIT);
        if units == 0 {
            return Ok(Vec::new());
        }
        have.resize(units, None);
        let todo: Vec<usize> = (0..units).filter(|&u| have[u].is_none()).collect();
        let next = AtomicUsize::new(0);
        let done = Mutex::new(have);
        let work = || -> std::io::Result<()> {
            let mut scratch = Vec::with_capacity(CHUNK + 16 * 1024);
            loop {
                let Some(&u) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok(());
                };
                let member = self.compress_unit(objs, u, format, FAST, &mut scratch)?;
                done.lock()[u] = Some(member);
            }
        };
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(GZIP_THREADS)
            .min(todo.len());
        std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name(format!("gzip/{}", self.resource))
                        .spawn_scoped(s, work)
                        .ok() // no thread to spare: this one does the work
                })
                .collect();
            let mine = work();
            helpers
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .fold(mine, |a, r| a.and(r))
        })?;
        Ok(done
            .into_inner()
            .into_iter()
            .map(|m| m.expect("every unit below `units` was cached or compressed"))
            .collect())
    }
}

/// Lowers the calling thread's CPU priority (nice 10), so the settler's recompression
/// yields to watches and scrapes. Best effort: without it the settler still works.
pub fn lower_thread_priority() {
    // SAFETY: gettid takes no arguments; setpriority only reads its arguments and on Linux
    // PRIO_PROCESS with a thread id affects that thread alone.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{big_obj, big_store, gunzip, scrape};
    use super::*;

    fn cache(limit: usize) -> Arc<GzipCache> {
        GzipCache::new(limit, Default::default())
    }

    /// A writer of `objects` objects (`units` members) counting against `cache`.
    fn attached(
        objects: usize,
        cache: &Arc<GzipCache>,
    ) -> (Arc<super::super::Store>, ResourceWriter) {
        let (s, w) = big_store(objects);
        w.attach_gzip_cache(cache);
        (s, w)
    }

    const TWO_UNITS: usize = 2 * GZIP_UNIT / 5 + 123;

    #[test]
    fn the_settler_upgrades_only_after_quiet_and_the_result_decodes_to_the_plain_body() {
        let c = cache(usize::MAX);
        let (s, w) = attached(TWO_UNITS, &c);
        let fast = w.gzip_members(Format::Text).unwrap();
        assert_eq!(fast.len(), 3);
        let t0 = Instant::now();
        let q = Duration::from_secs(1);
        // first look: the generation is noted, nothing compressed
        assert_eq!(w.settle(t0, q).unwrap(), [Settle::Idle; 2]);
        assert_eq!(w.settle(t0 + q / 2, q).unwrap(), [Settle::Idle; 2]);
        // a change restarts the quiet time
        s.upsert("u5", big_obj(5, 1));
        assert_eq!(w.settle(t0 + q * 3 / 4, q).unwrap(), [Settle::Idle; 2]);
        assert_eq!(w.settle(t0 + q * 3 / 2, q).unwrap(), [Settle::Idle; 2]);
        // quiet for a full second: text (scraped) settles, OpenMetrics (never asked) not
        let done = w.settle(t0 + q * 2, q).unwrap();
        assert_eq!(done, [Settle::Settled, Settle::Idle]);
        assert_eq!(c.stats().counts().2, 1);
        let (hits, misses) = (c.stats().counts().0, c.stats().counts().1);
        let settled = w.gzip_members(Format::Text).unwrap();
        assert_eq!(c.stats().counts().0, hits + 1, "a warm scrape is a hit");
        assert_eq!(c.stats().counts().1, misses);
        assert_eq!(gunzip(&settled), scrape(&w));
        let size = |m: &GzipMembers| m.iter().map(|m| m.len()).sum::<usize>();
        assert!(
            size(&settled) < size(&fast),
            "{} vs {}",
            size(&settled),
            size(&fast)
        );
        assert_eq!(c.stats().bytes() as usize, size(&settled));
        // settled once: nothing more until a change (and a scrape)
        assert_eq!(w.settle(t0 + q * 5, q).unwrap(), [Settle::Idle; 2]);
        // only the text slot was ever compressed
        assert!(w.gzip.slots[1].state.lock().members.is_empty());
    }

    #[test]
    fn at_most_one_settling_per_scrape() {
        let c = cache(usize::MAX);
        let (s, w) = attached(100, &c);
        w.gzip_members(Format::Text).unwrap();
        let t0 = Instant::now();
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap()[0], Settle::Settled);
        s.upsert("u1", big_obj(1, 1));
        // changed, quiet, but no scrape since: left for the next scrape to compress
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap()[0], Settle::Idle);
        let misses = c.stats().counts().1;
        assert_eq!(gunzip(&w.gzip_members(Format::Text).unwrap()), scrape(&w));
        assert_eq!(c.stats().counts().1, misses + 1);
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap()[0], Settle::Settled);
    }

    #[test]
    fn members_of_an_older_generation_are_never_filed_over_newer_ones() {
        let m = |b: u8| Some(Arc::<[u8]>::from(vec![b; 10]));
        let mut st = SlotState::default();
        st.install(5, vec![m(1), m(2)], false);
        st.install(4, vec![m(9), m(9)], true);
        assert_eq!(st.generation, 5);
        assert_eq!(st.members, vec![m(1), m(2)]);
        // the settler's members replace the fast ones of the same generation ...
        st.install(5, vec![m(3), None], true);
        assert!(st.settled);
        // ... and the scrape path only fills their gaps
        st.install(5, vec![m(7), m(8)], false);
        assert_eq!(st.members, vec![m(3), m(8)]);
        assert_eq!(st.bytes, 20);
        st.install(6, vec![m(4)], false);
        assert_eq!((st.generation, st.settled, st.bytes), (6, false, 10));
    }

    /// The settler racing with updates: whatever it files is the body of the generation it
    /// is filed under, and the final state decodes to the plain body.
    #[test]
    fn settling_under_concurrent_updates_files_only_current_members() {
        let c = cache(usize::MAX);
        let (s, w) = attached(TWO_UNITS, &c);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mut outcomes = Vec::new();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut v = 1;
                while !stop.load(Ordering::Relaxed) {
                    s.upsert(&format!("u{}", v % 50), big_obj(v % 50, v));
                    v += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
            });
            for _ in 0..5 {
                w.gzip_members(Format::Text).unwrap();
                outcomes.push(w.settle(Instant::now(), Duration::ZERO).unwrap()[0]);
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert!(outcomes.contains(&Settle::Outdated), "{outcomes:?}");
        let st = w.gzip.slots[0].state.lock();
        assert!(st.generation <= w.generation());
        drop(st);
        w.gzip_members(Format::Text).unwrap();
        assert_eq!(
            w.settle(Instant::now(), Duration::ZERO).unwrap()[0],
            Settle::Settled
        );
        assert_eq!(gunzip(&w.gzip_members(Format::Text).unwrap()), scrape(&w));
    }

    #[test]
    fn eviction_keeps_the_total_under_the_limit_least_recently_scraped_first() {
        // room for about one resource of three members
        let probe = cache(usize::MAX);
        let (_s, p) = attached(TWO_UNITS, &probe);
        p.gzip_members(Format::Text).unwrap();
        let one = probe.stats().bytes() as usize;
        let c = cache(one + one / 2);
        let (_s1, a) = attached(TWO_UNITS, &c);
        let (_s2, b) = attached(TWO_UNITS, &c);
        a.gzip_members(Format::Text).unwrap();
        // `a` was last scraped before the current scrapes
        a.gzip.slots[0].state.lock().last_request = Some(Instant::now() - RECENT * 2);
        b.gzip_members(Format::Text).unwrap();
        assert!(c.stats().bytes() as usize <= one + one / 2);
        assert!(c.stats().counts().3 > 0, "evictions counted");
        // `a` was scraped longest ago: it lost members from its end, `b` kept all of its own
        let held = |w: &ResourceWriter| {
            w.gzip.slots[0]
                .state
                .lock()
                .members
                .iter()
                .map(Option::is_some)
                .collect::<Vec<_>>()
        };
        assert_eq!(held(&b), [true, true, true]);
        let ha = held(&a);
        assert!(ha.iter().any(|h| !h) && (ha[0] || !ha[1]), "{ha:?}");
        // a scrape of `a` still sends its whole body: the cached prefix plus the rest
        let misses = c.stats().counts().1;
        assert_eq!(gunzip(&a.gzip_members(Format::Text).unwrap()), scrape(&a));
        assert_eq!(c.stats().counts().1, misses + 1);
        assert!(c.stats().bytes() as usize <= one + one / 2);
        // a limit of 0 caches nothing and still answers
        let none = cache(0);
        let (_s3, z) = attached(TWO_UNITS, &none);
        assert_eq!(gunzip(&z.gzip_members(Format::Text).unwrap()), scrape(&z));
        assert_eq!(none.stats().bytes(), 0);
        assert_eq!(
            z.settle(Instant::now(), Duration::ZERO).unwrap(),
            [Settle::Idle; 2]
        );
    }

    #[test]
    fn among_pairs_in_use_the_biggest_loses_its_tail_first() {
        let (_s1, small) = big_store(50);
        let (_s2, large) = big_store(TWO_UNITS);
        // what each compresses to (the same snapshot order, so the same bytes as below)
        let size = |w: &ResourceWriter| -> usize {
            let m = w.compress(&w.snapshot(), Format::Text, Vec::new()).unwrap();
            m.iter().map(|m| m.len()).sum()
        };
        let limit = size(&large) + size(&small) / 2;
        let c = cache(limit);
        small.attach_gzip_cache(&c);
        large.attach_gzip_cache(&c);
        // one scrape asks for both, the small one first
        small.gzip_members(Format::Text).unwrap();
        large.gzip_members(Format::Text).unwrap();
        assert!(c.stats().bytes() as usize <= limit);
        let whole = |w: &ResourceWriter| {
            w.gzip.slots[0]
                .state
                .lock()
                .members
                .iter()
                .all(Option::is_some)
        };
        assert!(whole(&small), "the small resource stays whole");
        assert!(!whole(&large));
        assert_eq!(
            gunzip(&large.gzip_members(Format::Text).unwrap()),
            scrape(&large)
        );
    }

    #[test]
    fn the_settler_fits_what_it_builds_into_the_room_left() {
        let probe = cache(usize::MAX);
        let (_s, p) = attached(TWO_UNITS, &probe);
        p.gzip_members(Format::Text).unwrap();
        let fast = probe.stats().bytes() as usize;
        // room for the first member only
        let c = cache(fast / 2);
        let (_s, w) = attached(TWO_UNITS, &c);
        w.gzip_members(Format::Text).unwrap();
        assert_eq!(
            w.settle(Instant::now(), Duration::ZERO).unwrap()[0],
            Settle::Settled
        );
        assert!(c.stats().bytes() as usize <= fast / 2);
        assert_eq!(gunzip(&w.gzip_members(Format::Text).unwrap()), scrape(&w));
    }

    #[test]
    fn untouched_pairs_are_never_compressed_and_forgotten_pairs_are_dropped() {
        let c = cache(usize::MAX);
        let (_s, w) = attached(50, &c);
        let t0 = Instant::now();
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap(), [Settle::Idle; 2]);
        assert_eq!(c.stats().bytes(), 0);
        w.gzip_members(Format::OpenMetrics).unwrap();
        assert!(c.stats().bytes() > 0);
        assert_eq!(
            w.settle(Instant::now(), Duration::ZERO).unwrap(),
            [Settle::Idle, Settle::Settled]
        );
        assert_eq!(
            w.settle(Instant::now() + FORGET, Duration::ZERO).unwrap(),
            [Settle::Idle, Settle::Forgotten]
        );
        assert_eq!(c.stats().bytes(), 0);
        assert_eq!(c.stats().counts().4, 1);
        // a writer dropped (a reshard) takes its bytes out of the total
        w.gzip_members(Format::Text).unwrap();
        assert!(c.stats().bytes() > 0);
        drop(w);
        assert_eq!(c.stats().bytes(), 0);
    }
}
