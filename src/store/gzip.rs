//! The gzip member cache: each resource's `/metrics` output per format as gzip members,
//! bounded in bytes across all resources, rebuilt member by member as objects change, and
//! upgraded off the scrape path.
//!
//! A member is a fixed part of one family: the objects whose [`RenderedObject::key`]
//! (namespace and name first) falls in a key range chosen when the resource is laid out,
//! about [`UNIT_BYTES`] of output. A scrape compares the objects with those the members
//! were built from and recompresses only the members whose lines changed: an update to a
//! pod's status touches the few families that show it, in the one member of each that holds
//! the pod. Under churn that is a small part of the output (64 KiB members of 10k churning
//! pods: 12% of the bytes changed in 15 s, against all of them for one member per
//! resource), and a created or deleted object touches one member per family.
//!
//! Two levels, because a scrape and the bytes it sends want different things: what a
//! scrape finds changed is compressed while Prometheus waits, at the fast level, on several
//! threads; once [`QUIET`] has passed since, one low-priority settler thread recompresses
//! those members at the settled level (a third fewer bytes, no bigger than
//! kube-state-metrics' own gzip) and swaps each in only if no scrape rebuilt it meanwhile.
//! A warm scrape is a pure cache hit.
//!
//! Only (resource, format) pairs a gzip scrape asked for are compressed at all, and a pair
//! not asked for in [`FORGET`] is dropped. Over the byte limit, members are dropped least
//! recently scraped pair first, its last members first; a scrape compresses what is not
//! cached.
//!
//! Lines within a family come in key order here and in store order in a plain scrape: the
//! order of lines within a family carries no meaning in either format.

use super::{RenderedObject, ResourceWriter, CHUNK, PREFETCH_AHEAD};
use crate::exposition::gzip::{MemberEncoder, FAST, SETTLED};
use crate::exposition::negotiate::Format;
use crate::telemetry::gzip::{Eviction, GzipStats};
use parking_lot::Mutex;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// A resource's gzip output: consecutive gzip members, each compressed independently. Sent
/// one after the other they form one valid gzip body (RFC 1952 members; Go's and
/// Prometheus' readers, curl and browsers read them as one stream).
pub type GzipMembers = Arc<Vec<Arc<[u8]>>>;

/// Output bytes (before compression) a member is laid out to hold. Small enough that churn
/// leaves most members untouched, large enough that members in key order compress as well
/// as one stream: at 10k pods, level 5, 13.8 MB in 64 KiB members against 13.7 in 128 KiB
/// and 14.5 MB in 5 MB members in store order (kube-state-metrics: 15.7).
pub(super) const UNIT_BYTES: usize = 64 * 1024;

/// A member that grew past this many times [`UNIT_BYTES`] (a namespace that filled with new
/// pods between two members' keys) has the resource laid out afresh at the next scrape.
const OVERGROWN: usize = 16;

/// At most this many threads compress one resource's changed members (the scrape's own
/// included).
const GZIP_THREADS: usize = 4;

/// How long after a scrape rebuilt members the settler recompresses them: a burst of
/// changes (a rollout, a node going away) is over by then, and the next scrape, 15 s or
/// more later, finds them settled.
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

    /// Drops members until the total is within the limit. First the pairs no scrape asked
    /// for in the last [`RECENT`], least recently scraped first; then, among the pairs the
    /// current scrapes use, the biggest first (so the most resources stay whole, and the
    /// missing part of a big one is compressed on several threads). Within a pair its last
    /// members go first.
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
            let mut evicted = 0;
            let mut i = st.members.len();
            while self.stats.bytes() as usize > self.limit && i > 0 {
                i -= 1;
                if st.members[i].is_some() {
                    st.set_member(i, None);
                    evicted += 1;
                }
            }
            drop(st);
            self.stats.evict(Eviction::Limit, evicted);
            if self.stats.bytes() as usize <= self.limit {
                return;
            }
        }
    }
}

/// Where each family's members begin: fixed from one layout to the next, so that a member
/// holds the same objects from one scrape to the next while they change.
#[derive(Debug)]
struct Layout {
    /// Objects when laid out: twice as many or half and the resource is laid out afresh.
    objects: usize,
    /// Per family, the keys at which its members after the first begin (ascending).
    bounds: Vec<Vec<Box<[u8]>>>,
    /// Per family, the index of its first member; then the number of members.
    first: Vec<usize>,
}

impl Layout {
    /// Cuts each family of `objs` (in key order) into members of about [`UNIT_BYTES`],
    /// never between two objects of the same key.
    fn new(objs: &[Arc<RenderedObject>], w: &ResourceWriter) -> Layout {
        let families = w.headers.len();
        let mut bounds = Vec::with_capacity(families);
        let mut first = Vec::with_capacity(families + 1);
        let mut at = 0;
        for (f, h) in w.headers.iter().enumerate() {
            first.push(at);
            let name_len = h.name.len();
            let mut cuts: Vec<Box<[u8]>> = Vec::new();
            let mut acc = 0;
            for (i, o) in objs.iter().enumerate() {
                acc += o.family_len(f, name_len);
                if acc < UNIT_BYTES {
                    continue;
                }
                if let Some(next) = objs.get(i + 1) {
                    if next.key() > o.key() {
                        cuts.push(next.key().into());
                        acc = 0;
                    }
                }
            }
            at += cuts.len() + 1;
            bounds.push(cuts);
        }
        first.push(at);
        Layout {
            objects: objs.len(),
            bounds,
            first,
        }
    }

    fn units(&self) -> usize {
        self.first.last().copied().unwrap_or(0)
    }

    /// Whether `objects` objects of `families` families still fit this layout (the layout
    /// of an empty resource, without members, fits none).
    fn fits(&self, objects: usize, families: usize) -> bool {
        self.objects > 0
            && self.bounds.len() == families
            && objects <= self.objects * 2
            && objects * 2 >= self.objects
    }

    /// The member of family `f` an object of `key` is written in.
    fn unit_of(&self, f: usize, key: &[u8]) -> usize {
        self.first[f] + self.bounds[f].partition_point(|b| &**b <= key)
    }

    /// Member `u`'s family, whether it is the family's first, and its objects in `objs`.
    fn span(&self, u: usize, objs: &[Arc<RenderedObject>]) -> (usize, bool, Range<usize>) {
        let f = self.first.partition_point(|&s| s <= u) - 1;
        let k = u - self.first[f];
        let cuts = &self.bounds[f];
        let lo = match k {
            0 => 0,
            _ => objs.partition_point(|o| o.key() < &*cuts[k - 1]),
        };
        let hi = match cuts.get(k) {
            None => objs.len(),
            Some(b) => objs.partition_point(|o| o.key() < &**b),
        };
        (f, k == 0, lo..hi.max(lo))
    }

    /// Marks in `dirty` the members whose lines differ between `old` and `new` (both in key
    /// order): per object added, removed or replaced, the member of each family whose lines
    /// for it are not the same. An object replaced by an equal one marks nothing.
    fn mark_changed(
        &self,
        old: &[Arc<RenderedObject>],
        new: &[Arc<RenderedObject>],
        dirty: &mut [bool],
    ) {
        let families = self.bounds.len();
        let mut mark = |o: &RenderedObject, before: Option<&RenderedObject>| {
            for f in 0..families {
                let differs = match before {
                    None => o.has_family(f),
                    Some(b) => !o.family_eq(b, f),
                };
                if differs {
                    dirty[self.unit_of(f, o.key())] = true;
                }
            }
        };
        let (mut i, mut j) = (0, 0);
        loop {
            match (old.get(i), new.get(j)) {
                (Some(a), Some(b)) => match a.key().cmp(b.key()) {
                    std::cmp::Ordering::Less => {
                        mark(a, None);
                        i += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        mark(b, None);
                        j += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        if !Arc::ptr_eq(a, b) {
                            mark(b, Some(a));
                        }
                        i += 1;
                        j += 1;
                    }
                },
                (Some(a), None) => {
                    mark(a, None);
                    i += 1;
                }
                (None, Some(b)) => {
                    mark(b, None);
                    j += 1;
                }
                (None, None) => return,
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
    /// The writer generation `known` was taken at.
    generation: u64,
    /// `known`, `layout` and `members` describe the resource (false: never built, or
    /// forgotten).
    built: bool,
    layout: Option<Arc<Layout>>,
    /// The objects, in key order, the members were last checked against.
    known: Arc<Vec<Arc<RenderedObject>>>,
    /// Per member of `layout`; `None` where evicted.
    members: Vec<Option<Arc<[u8]>>>,
    /// Per member: bumped whenever a scrape rebuilds it, so the settler files its work only
    /// over the member it started from.
    versions: Vec<u64>,
    /// Per member: built at the fast level by a scrape and not settled since.
    pending: Vec<bool>,
    /// When a scrape last rebuilt members the settler has not settled yet.
    rebuilt_at: Option<Instant>,
    /// A member outgrew its layout: lay the resource out afresh at the next scrape.
    relayout: bool,
    bytes: usize,
    /// Where `bytes` is counted (the attached cache's stats).
    stats: Option<Arc<GzipStats>>,
    /// The last gzip scrape of this pair; `None` never (or not since it was forgotten).
    last_request: Option<Instant>,
}

impl SlotState {
    /// Puts `m` in member `i`'s place, moving the difference in bytes into the totals.
    fn set_member(&mut self, i: usize, m: Option<Arc<[u8]>>) {
        let len = |m: &Option<Arc<[u8]>>| m.as_ref().map_or(0, |m| m.len());
        let delta = len(&m) as i64 - len(&self.members[i]) as i64;
        self.members[i] = m;
        self.bytes = (self.bytes as i64 + delta) as usize;
        if let Some(s) = &self.stats {
            s.add_bytes(delta);
        }
    }

    /// Recomputes `bytes` and moves the difference into the cache's total.
    fn recount(&mut self) {
        let bytes = self.members.iter().flatten().map(|m| m.len()).sum();
        if let Some(s) = &self.stats {
            s.add_bytes(bytes as i64 - self.bytes as i64);
        }
        self.bytes = bytes;
    }

    /// Every member, when nothing changed since they were checked and none was evicted.
    fn complete(&self, generation: u64) -> Option<Vec<Arc<[u8]>>> {
        if !self.built || self.generation != generation {
            return None;
        }
        self.members.iter().cloned().collect()
    }

    /// Files what a scrape built from `known` at `generation` in `layout`: the members in
    /// `rebuilt` are new (fast level, for the settler); the others are the ones it found
    /// cached, which the settler may have upgraded meanwhile (kept) or the limit evicted
    /// (put back).
    fn install(
        &mut self,
        generation: u64,
        layout: Arc<Layout>,
        known: Vec<Arc<RenderedObject>>,
        members: &[Arc<[u8]>],
        rebuilt: &[usize],
        now: Instant,
    ) {
        let same = self.built
            && self
                .layout
                .as_ref()
                .is_some_and(|l| Arc::ptr_eq(l, &layout));
        if same {
            for &u in rebuilt {
                self.versions[u] += 1;
                self.pending[u] = true;
                self.members[u] = Some(members[u].clone());
            }
            for (have, m) in self.members.iter_mut().zip(members) {
                if have.is_none() {
                    *have = Some(m.clone());
                }
            }
        } else {
            let units = members.len();
            let versions = self.versions.iter().max().map_or(0, |v| v + 1);
            self.versions = vec![versions; units];
            self.pending = vec![false; units];
            for &u in rebuilt {
                self.pending[u] = true;
            }
            self.members = members.iter().cloned().map(Some).collect();
        }
        if !rebuilt.is_empty() {
            self.rebuilt_at = Some(now);
        }
        self.generation = generation;
        self.layout = Some(layout);
        self.known = Arc::new(known);
        self.built = true;
        self.recount();
    }

    /// Forgets everything; the number of members dropped.
    fn clear(&mut self) -> u64 {
        let n = self.members.iter().flatten().count() as u64;
        self.members.clear();
        self.versions.clear();
        self.pending.clear();
        self.known = Arc::default();
        self.layout = None;
        self.built = false;
        self.rebuilt_at = None;
        self.relayout = false;
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
    /// Held while changed members are rebuilt on the scrape path, so concurrent scrapes of
    /// a changed resource compress it once: the second waits and then finds the first one's
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
    /// Nothing to do (never scraped, nothing rebuilt since the last settling, or not quiet
    /// yet).
    Idle,
    /// Recompressed members at the settled level and swapped them in.
    Settled,
    /// Recompressed, but a scrape rebuilt every one of those members meanwhile: thrown away.
    Outdated,
    /// Not scraped with gzip for [`FORGET`]: dropped.
    Forgotten,
}

/// One compressed member and what went into it.
struct Built {
    member: Arc<[u8]>,
    /// Uncompressed bytes and objects: a member far over [`UNIT_BYTES`] calls for a new
    /// layout.
    input: usize,
    objects: usize,
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

    /// This resource's output as gzip members: from the cache when no store changed (no
    /// members at all while every store is empty); otherwise the members whose lines
    /// changed (or that were evicted) are compressed here at the fast level and the rest
    /// come from the cache. The generation is read before the snapshot is taken, so
    /// members are never older than the generation they are filed under.
    pub fn gzip_members(&self, format: Format) -> std::io::Result<GzipMembers> {
        let cache = self.gzip_cache();
        let slot = &self.gzip.slots[slot_index(format)];
        let generation = self.generation();
        {
            let mut st = slot.state.lock();
            st.last_request = Some(Instant::now());
            if let Some(m) = st.complete(generation) {
                cache.stats.hit();
                return Ok(Arc::new(m));
            }
        }
        let _rebuilding = self.gzip.rebuild.lock();
        // another scrape may have rebuilt them while this one waited
        let generation = self.generation();
        let (layout, known, mut have, relayout) = {
            let st = slot.state.lock();
            if let Some(m) = st.complete(generation) {
                cache.stats.hit();
                return Ok(Arc::new(m));
            }
            let layout = st.layout.clone().filter(|_| st.built);
            (layout, st.known.clone(), st.members.clone(), st.relayout)
        };
        cache.stats.miss();
        let objs = self.keyed_snapshot();
        let families = self.headers.len();
        let layout = match layout.filter(|l| !relayout && l.fits(objs.len(), families)) {
            Some(l) if !objs.is_empty() => {
                let mut dirty = vec![false; l.units()];
                l.mark_changed(&known, &objs, &mut dirty);
                for (m, d) in have.iter_mut().zip(dirty) {
                    if d {
                        *m = None;
                    }
                }
                l
            }
            _ => {
                // no lines at all while every store is empty: no layout, no members
                let l = Arc::new(if objs.is_empty() {
                    Layout {
                        objects: 0,
                        bounds: vec![Vec::new(); families],
                        first: vec![0; families + 1],
                    }
                } else {
                    Layout::new(&objs, self)
                });
                have = vec![None; l.units()];
                l
            }
        };
        let rebuilt: Vec<usize> = (0..layout.units()).filter(|&u| have[u].is_none()).collect();
        let (members, overgrown) = self.compress(&objs, &layout, format, have, &rebuilt)?;
        let mut st = slot.state.lock();
        st.install(generation, layout, objs, &members, &rebuilt, Instant::now());
        st.relayout = overgrown;
        drop(st);
        cache.enforce();
        Ok(Arc::new(members))
    }

    /// The settler's step for this writer at `now`: per format, once `quiet` has passed
    /// since a scrape rebuilt members, recompresses those members at the settled level on
    /// this thread and swaps each in if no scrape rebuilt it meanwhile.
    pub fn settle(&self, now: Instant, quiet: Duration) -> std::io::Result<[Settle; 2]> {
        let mut done = [Settle::Idle; 2];
        let Some(cache) = self.gzip.cache.get() else {
            return Ok(done);
        };
        let mut scratch = Vec::new();
        let mut enc = None;
        for format in [Format::Text, Format::OpenMetrics] {
            let slot = &self.gzip.slots[slot_index(format)];
            let (layout, known, todo) = {
                let mut st = slot.state.lock();
                let Some(last) = st.last_request else {
                    continue;
                };
                if now.saturating_duration_since(last) >= FORGET {
                    st.last_request = None;
                    let n = st.clear();
                    cache.stats.evict(Eviction::Idle, n);
                    done[slot_index(format)] = Settle::Forgotten;
                    continue;
                }
                let Some(at) = st.rebuilt_at else {
                    continue;
                };
                if now.saturating_duration_since(at) < quiet {
                    continue;
                }
                let Some(layout) = st.layout.clone() else {
                    continue;
                };
                let todo: Vec<(usize, u64)> = (0..st.members.len())
                    .filter(|&u| st.pending[u] && st.members[u].is_some())
                    .map(|u| (u, st.versions[u]))
                    .collect();
                (layout, st.known.clone(), todo)
            };
            if scratch.capacity() == 0 {
                scratch.reserve(CHUNK + 16 * 1024);
            }
            let (mut settled, mut outdated) = (0, 0);
            for (u, version) in todo {
                let enc = enc.get_or_insert_with(|| MemberEncoder::new(SETTLED));
                let built = self.compress_unit(&known, &layout, u, format, enc, &mut scratch)?;
                let mut st = slot.state.lock();
                let current = st.layout.as_ref().is_some_and(|l| Arc::ptr_eq(l, &layout))
                    && st.versions.get(u) == Some(&version)
                    && st.members[u].is_some();
                if current {
                    st.set_member(u, Some(built.member));
                    st.pending[u] = false;
                    settled += 1;
                } else {
                    outdated += 1;
                }
            }
            {
                let mut st = slot.state.lock();
                if !st.pending.iter().any(|&p| p) {
                    st.rebuilt_at = None;
                }
            }
            done[slot_index(format)] = if settled > 0 {
                cache.stats.settle();
                cache.enforce();
                Settle::Settled
            } else if outdated > 0 {
                Settle::Outdated
            } else {
                Settle::Idle
            };
        }
        Ok(done)
    }

    /// Member `u` of `layout` over `objs` (in key order) as one gzip member from `enc`; no
    /// bytes at all for a member without lines.
    fn compress_unit(
        &self,
        objs: &[Arc<RenderedObject>],
        layout: &Layout,
        u: usize,
        format: Format,
        enc: &mut MemberEncoder,
        scratch: &mut Vec<u8>,
    ) -> std::io::Result<Built> {
        let (f, first, range) = layout.span(u, objs);
        let header = &self.headers[f];
        let part = &objs[range];
        if first {
            scratch.extend_from_slice(header.get(format));
        }
        let name = header.name.as_bytes();
        let mut begun = false;
        let mut input = 0;
        let mut flush = |scratch: &mut Vec<u8>, begun: &mut bool| -> std::io::Result<()> {
            input += scratch.len();
            if !std::mem::replace(begun, true) {
                enc.begin();
            }
            enc.write(scratch)?;
            scratch.clear();
            Ok(())
        };
        for (j, obj) in part.iter().enumerate() {
            if let Some(o) = part.get(j + 2 * PREFETCH_AHEAD) {
                o.prefetch_tables(f);
            }
            if let Some(o) = part.get(j + PREFETCH_AHEAD) {
                o.prefetch_segment(f);
            }
            obj.write_family(f, name, scratch);
            if scratch.len() >= CHUNK {
                flush(scratch, &mut begun)?;
            }
        }
        if !scratch.is_empty() {
            flush(scratch, &mut begun)?;
        }
        let member = if begun {
            enc.finish()?
        } else {
            Arc::from(Vec::new())
        };
        Ok(Built {
            member,
            input,
            objects: part.len(),
        })
    }

    /// Compresses the members `todo` of `layout` over `objs` at the fast level, the others
    /// coming from `have`; whether one of them outgrew the layout. Members are handed out to
    /// up to [`GZIP_THREADS`] threads, no more than the CPUs this process may run on (this
    /// one and short-lived helpers named `gzip/<resource>`); each streams its member's lines
    /// through its own [`CHUNK`] buffer into the encoder, so beyond the compressed members
    /// memory stays one buffer and one encoder per thread.
    fn compress(
        &self,
        objs: &[Arc<RenderedObject>],
        layout: &Layout,
        format: Format,
        have: Vec<Option<Arc<[u8]>>>,
        todo: &[usize],
    ) -> std::io::Result<(Vec<Arc<[u8]>>, bool)> {
        let next = AtomicUsize::new(0);
        let done = Mutex::new((have, false));
        let work = || -> std::io::Result<()> {
            let mut scratch = Vec::with_capacity(CHUNK + 16 * 1024);
            let mut enc = MemberEncoder::new(FAST);
            loop {
                let Some(&u) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok(());
                };
                let built = self.compress_unit(objs, layout, u, format, &mut enc, &mut scratch)?;
                let overgrown = built.input > OVERGROWN * UNIT_BYTES && built.objects > OVERGROWN;
                let mut d = done.lock();
                d.0[u] = Some(built.member);
                d.1 |= overgrown;
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
        let (members, overgrown) = done.into_inner();
        let members = members
            .into_iter()
            .map(|m| m.expect("every member was cached or compressed"))
            .collect();
        Ok((members, overgrown))
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
    use super::super::tests::{assert_same_exposition, big_obj, big_store, gunzip, scrape};
    use super::*;

    fn cache(limit: usize) -> Arc<GzipCache> {
        GzipCache::new(limit, Default::default())
    }

    /// A writer of `objects` objects counting against `cache`.
    fn attached(
        objects: usize,
        cache: &Arc<GzipCache>,
    ) -> (Arc<super::super::Store>, ResourceWriter) {
        let (s, w) = big_store(objects);
        w.attach_gzip_cache(cache);
        (s, w)
    }

    /// Objects for several members per family in families `a`, `b` and `d`.
    const MANY: usize = 12_000;

    fn size(m: &GzipMembers) -> usize {
        m.iter().map(|m| m.len()).sum()
    }

    /// How many members of `b` are not the very members of `a`.
    fn rebuilt(a: &GzipMembers, b: &GzipMembers) -> usize {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b.iter())
            .filter(|(x, y)| !Arc::ptr_eq(x, y))
            .count()
    }

    #[test]
    fn a_change_rebuilds_only_the_members_whose_lines_changed() {
        let (s, w) = big_store(MANY);
        let first = w.gzip_members(Format::Text).unwrap();
        assert!(first.len() > 10, "{} members", first.len());
        assert_same_exposition(&gunzip(&first), &scrape(&w));
        // an object's new version changes its `a` and `d` lines: one member of each
        s.upsert("u5000", big_obj(5000, 1));
        let second = w.gzip_members(Format::Text).unwrap();
        assert_eq!(rebuilt(&first, &second), 2);
        assert_same_exposition(&gunzip(&second), &scrape(&w));
        // replaced by an equal object: nothing to rebuild
        s.upsert("u5000", big_obj(5000, 1));
        let third = w.gzip_members(Format::Text).unwrap();
        assert_eq!(rebuilt(&second, &third), 0);
        // a deleted object: one member per family it had lines in (a, b, d)
        s.delete("u7");
        let fourth = w.gzip_members(Format::Text).unwrap();
        assert_eq!(rebuilt(&third, &fourth), 3);
        let plain = scrape(&w);
        assert!(!plain.contains("{o=\"7\""));
        assert_same_exposition(&gunzip(&fourth), &plain);
        // churn all over: still the plain body
        for i in (0..MANY).step_by(7) {
            s.upsert(&format!("u{i}"), big_obj(i, 2));
        }
        s.upsert("new", big_obj(MANY + 1, 0));
        assert_same_exposition(&gunzip(&w.gzip_members(Format::Text).unwrap()), &scrape(&w));
    }

    #[test]
    fn members_hold_about_a_unit_each_and_a_resource_that_doubles_is_laid_out_afresh() {
        let (s, w) = big_store(MANY);
        let members = w.gzip_members(Format::Text).unwrap();
        let layout = w.gzip.slots[0].state.lock().layout.clone().unwrap();
        let plain = scrape(&w).len();
        // every family gets a first member (with its header), the rest about UNIT_BYTES each
        assert!(members.len() >= 5 && members.len() <= 5 + plain / UNIT_BYTES + 1);
        assert!(members.len() >= plain / UNIT_BYTES);
        for i in MANY..MANY * 2 + 1 {
            s.upsert(&format!("u{i}"), big_obj(i, 0));
        }
        let grown = w.gzip_members(Format::Text).unwrap();
        let relaid = w.gzip.slots[0].state.lock().layout.clone().unwrap();
        assert!(!Arc::ptr_eq(&layout, &relaid));
        assert!(grown.len() > members.len());
        assert_same_exposition(&gunzip(&grown), &scrape(&w));
    }

    #[test]
    fn a_member_that_outgrows_its_layout_is_laid_out_afresh_at_the_next_scrape() {
        let (s, w) = big_store(1000);
        w.gzip_members(Format::Text).unwrap();
        let layout = w.gzip.slots[0].state.lock().layout.clone().unwrap();
        // objects sorting between two existing keys, well under twice as many: all in the
        // same member of each family
        for i in 0..800 {
            let seg = format!(",pad=\"{}\"}} 0\n", "x".repeat(2000)).into_bytes();
            let len = seg.len() as u32;
            let o =
                RenderedObject::compact(format!("o=\"5x{i:04}\"").into_bytes(), seg, vec![len; 5]);
            s.upsert(&format!("x{i}"), o);
        }
        w.gzip_members(Format::Text).unwrap();
        let st = w.gzip.slots[0].state.lock();
        assert!(Arc::ptr_eq(&layout, st.layout.as_ref().unwrap()));
        assert!(st.relayout, "the overgrown member was noticed");
        drop(st);
        s.upsert("u1", big_obj(1, 1));
        let m = w.gzip_members(Format::Text).unwrap();
        assert!(!Arc::ptr_eq(
            &layout,
            w.gzip.slots[0].state.lock().layout.as_ref().unwrap()
        ));
        assert_same_exposition(&gunzip(&m), &scrape(&w));
    }

    #[test]
    fn the_settler_upgrades_only_after_quiet_and_the_result_decodes_to_the_plain_body() {
        let c = cache(usize::MAX);
        let (s, w) = attached(MANY, &c);
        let fast = w.gzip_members(Format::Text).unwrap();
        let t0 = Instant::now();
        let q = Duration::from_secs(1);
        assert_eq!(w.settle(t0, q).unwrap(), [Settle::Idle; 2]);
        assert_eq!(w.settle(t0 + q / 2, q).unwrap(), [Settle::Idle; 2]);
        // quiet for a full second after the scrape: text (scraped) settles, OpenMetrics
        // (never asked) not
        let done = w.settle(t0 + q * 2, q).unwrap();
        assert_eq!(done, [Settle::Settled, Settle::Idle]);
        assert_eq!(c.stats().counts().2, 1);
        let (hits, misses) = (c.stats().counts().0, c.stats().counts().1);
        let settled = w.gzip_members(Format::Text).unwrap();
        assert_eq!(c.stats().counts().0, hits + 1, "a warm scrape is a hit");
        assert_eq!(c.stats().counts().1, misses);
        assert_eq!(
            rebuilt(&fast, &settled),
            fast.len(),
            "every member upgraded"
        );
        assert_same_exposition(&gunzip(&settled), &scrape(&w));
        assert!(
            size(&settled) < size(&fast),
            "{} vs {}",
            size(&settled),
            size(&fast)
        );
        assert_eq!(c.stats().bytes() as usize, size(&settled));
        // settled once: nothing more until a scrape rebuilds something
        assert_eq!(w.settle(t0 + q * 5, q).unwrap(), [Settle::Idle; 2]);
        assert!(w.gzip.slots[1].state.lock().members.is_empty());
        // a change: the scrape rebuilds two members at the fast level and keeps the
        // settled rest; the settler then upgrades those two
        s.upsert("u42", big_obj(42, 1));
        let after = w.gzip_members(Format::Text).unwrap();
        assert_eq!(rebuilt(&settled, &after), 2);
        let t1 = Instant::now();
        assert_eq!(w.settle(t1 + q / 2, q).unwrap()[0], Settle::Idle);
        assert_eq!(w.settle(t1 + q * 2, q).unwrap()[0], Settle::Settled);
        let resettled = w.gzip_members(Format::Text).unwrap();
        assert_eq!(rebuilt(&after, &resettled), 2);
        assert_same_exposition(&gunzip(&resettled), &scrape(&w));
    }

    #[test]
    fn at_most_one_settling_per_scrape() {
        let c = cache(usize::MAX);
        let (s, w) = attached(100, &c);
        w.gzip_members(Format::Text).unwrap();
        let t0 = Instant::now();
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap()[0], Settle::Settled);
        s.upsert("u1", big_obj(1, 1));
        // changed, but no scrape since: left for the next scrape to compress
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap()[0], Settle::Idle);
        let misses = c.stats().counts().1;
        assert_same_exposition(&gunzip(&w.gzip_members(Format::Text).unwrap()), &scrape(&w));
        assert_eq!(c.stats().counts().1, misses + 1);
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap()[0], Settle::Settled);
        assert_eq!(w.settle(t0, Duration::ZERO).unwrap()[0], Settle::Idle);
    }

    /// The settler racing with scrapes and updates: whatever it files is the member it
    /// started from, and the final state decodes to the plain body.
    #[test]
    fn settling_under_concurrent_updates_files_only_current_members() {
        let c = cache(usize::MAX);
        let (s, w) = attached(MANY, &c);
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
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    w.gzip_members(Format::Text).unwrap();
                }
            });
            for _ in 0..20 {
                w.gzip_members(Format::Text).unwrap();
                outcomes.push(w.settle(Instant::now(), Duration::ZERO).unwrap()[0]);
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert!(outcomes.contains(&Settle::Settled), "{outcomes:?}");
        let body = gunzip(&w.gzip_members(Format::Text).unwrap());
        assert_same_exposition(&body, &scrape(&w));
        w.settle(Instant::now(), Duration::ZERO).unwrap();
        let body = gunzip(&w.gzip_members(Format::Text).unwrap());
        assert_same_exposition(&body, &scrape(&w));
    }

    #[test]
    fn eviction_keeps_the_total_under_the_limit_least_recently_scraped_first() {
        let probe = cache(usize::MAX);
        let (_s, p) = attached(MANY, &probe);
        p.gzip_members(Format::Text).unwrap();
        let one = probe.stats().bytes() as usize;
        // room for about one and a half resources
        let c = cache(one + one / 2);
        let (_s1, a) = attached(MANY, &c);
        let (_s2, b) = attached(MANY, &c);
        a.gzip_members(Format::Text).unwrap();
        // `a` was last scraped before the current scrapes
        a.gzip.slots[0].state.lock().last_request = Some(Instant::now() - RECENT * 2);
        b.gzip_members(Format::Text).unwrap();
        assert!(c.stats().bytes() as usize <= one + one / 2);
        assert!(c.stats().counts().3 > 0, "evictions counted");
        let held = |w: &ResourceWriter| {
            w.gzip.slots[0]
                .state
                .lock()
                .members
                .iter()
                .map(Option::is_some)
                .collect::<Vec<_>>()
        };
        // `a` was scraped longest ago: it lost members from its end, `b` kept all of its own
        assert!(held(&b).iter().all(|&h| h));
        let ha = held(&a);
        assert!(ha[0] && !ha[ha.len() - 1], "{ha:?}");
        // a scrape of `a` still sends its whole body: the cached members plus the rest
        let misses = c.stats().counts().1;
        assert_same_exposition(&gunzip(&a.gzip_members(Format::Text).unwrap()), &scrape(&a));
        assert_eq!(c.stats().counts().1, misses + 1);
        assert!(c.stats().bytes() as usize <= one + one / 2);
        // a limit of 0 caches nothing and still answers
        let none = cache(0);
        let (_s3, z) = attached(MANY, &none);
        assert_same_exposition(&gunzip(&z.gzip_members(Format::Text).unwrap()), &scrape(&z));
        assert_eq!(none.stats().bytes(), 0);
        assert_eq!(
            z.settle(Instant::now(), Duration::ZERO).unwrap(),
            [Settle::Idle; 2]
        );
    }

    #[test]
    fn among_pairs_in_use_the_biggest_loses_its_tail_first() {
        let bytes_of = |objects: usize| {
            let probe = cache(usize::MAX);
            let (_s, p) = attached(objects, &probe);
            p.gzip_members(Format::Text).unwrap();
            probe.stats().bytes() as usize
        };
        let limit = bytes_of(MANY) + bytes_of(50) / 2;
        let c = cache(limit);
        let (_s1, small) = attached(50, &c);
        let (_s2, large) = attached(MANY, &c);
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
        assert_same_exposition(
            &gunzip(&large.gzip_members(Format::Text).unwrap()),
            &scrape(&large),
        );
    }

    #[test]
    fn settling_under_a_tight_limit_stays_within_it() {
        let probe = cache(usize::MAX);
        let (_s, p) = attached(MANY, &probe);
        p.gzip_members(Format::Text).unwrap();
        let fast = probe.stats().bytes() as usize;
        let c = cache(fast / 2);
        let (_s, w) = attached(MANY, &c);
        w.gzip_members(Format::Text).unwrap();
        assert!(c.stats().bytes() as usize <= fast / 2);
        assert_eq!(
            w.settle(Instant::now(), Duration::ZERO).unwrap()[0],
            Settle::Settled
        );
        assert!(c.stats().bytes() as usize <= fast / 2);
        assert_same_exposition(&gunzip(&w.gzip_members(Format::Text).unwrap()), &scrape(&w));
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
        let held = w.gzip.slots[1].state.lock().members.len() as u64;
        assert_eq!(held, 5, "a member per family");
        assert_eq!(
            w.settle(Instant::now() + FORGET, Duration::ZERO).unwrap(),
            [Settle::Idle, Settle::Forgotten]
        );
        assert_eq!(c.stats().bytes(), 0);
        assert_eq!(c.stats().counts().4, held);
        // a writer dropped (a reshard) takes its bytes out of the total
        w.gzip_members(Format::Text).unwrap();
        assert!(c.stats().bytes() > 0);
        drop(w);
        assert_eq!(c.stats().bytes(), 0);
    }

    #[test]
    fn a_resource_that_was_empty_gets_its_lines_once_it_has_objects() {
        let s = Arc::new(super::super::Store::new());
        let (_, w) = big_store(0);
        let w = ResourceWriter::new("pods", w.headers.clone(), vec![s.clone()]);
        assert!(w.gzip_members(Format::Text).unwrap().is_empty());
        s.upsert("u1", big_obj(1, 0));
        let m = w.gzip_members(Format::Text).unwrap();
        assert_eq!(m.len(), 5);
        assert_same_exposition(&gunzip(&m), &scrape(&w));
        s.delete("u1");
        assert!(w.gzip_members(Format::Text).unwrap().is_empty());
        for i in 0..3 {
            s.upsert(&format!("u{i}"), big_obj(i, 0));
        }
        assert_same_exposition(&gunzip(&w.gzip_members(Format::Text).unwrap()), &scrape(&w));
    }

    /// Random updates, creates, deletes, relists, settling and a tight byte limit between
    /// scrapes: every gzip body is the plain body of the same moment.
    #[test]
    fn any_sequence_of_changes_scrapes_and_settling_gives_the_plain_body() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let probe = cache(usize::MAX);
        let (_p, pw) = attached(3000, &probe);
        pw.gzip_members(Format::Text).unwrap();
        let limit = probe.stats().bytes() as usize * 2 / 3;
        for limit in [usize::MAX, limit] {
            let c = cache(limit);
            let (s, w) = attached(3000, &c);
            let mut version = 1;
            for round in 0..40 {
                for _ in 0..next(200) {
                    let i = next(4000) as usize;
                    match next(10) {
                        0..=5 => s.upsert(&format!("u{i}"), big_obj(i, version)),
                        6 => s.upsert(&format!("u{i}"), big_obj(i, 0)),
                        _ => s.delete(&format!("u{i}")),
                    }
                    version += 1;
                }
                if next(15) == 0 {
                    // a relist: every object a new allocation, most of them equal
                    let mut m = super::super::ObjectMap::new();
                    for i in 0..next(5000) as usize {
                        m.insert(format!("u{i}").into(), Arc::new(big_obj(i, i % 3)));
                    }
                    s.replace(m);
                }
                let format = if next(4) == 0 {
                    Format::OpenMetrics
                } else {
                    Format::Text
                };
                let body = gunzip(&w.gzip_members(format).unwrap());
                let mut plain = Vec::new();
                w.write(&mut plain, format);
                assert_same_exposition(&body, std::str::from_utf8(&plain).unwrap());
                if next(2) == 0 {
                    w.settle(Instant::now(), Duration::ZERO).unwrap();
                }
                assert!(c.stats().bytes() as usize <= limit, "round {round}");
            }
        }
    }

    #[test]
    fn mark_changed_finds_exactly_the_members_of_changed_lines() {
        let (s, w) = big_store(MANY);
        let before = w.keyed_snapshot();
        let layout = Layout::new(&before, &w);
        s.upsert("u10", big_obj(10, 3));
        s.upsert("u11", big_obj(11, 0)); // equal to what it replaces
        s.delete("u12");
        s.upsert("v", big_obj(MANY + 5, 0));
        let after = w.keyed_snapshot();
        let mut dirty = vec![false; layout.units()];
        layout.mark_changed(&before, &after, &mut dirty);
        let mut want = vec![false; layout.units()];
        let key = |i: usize| big_obj(i, 0).key().to_vec();
        for (i, families) in [(10, &[0, 3][..]), (12, &[0, 1, 3]), (MANY + 5, &[0, 1, 3])] {
            for &f in families {
                want[layout.unit_of(f, &key(i))] = true;
            }
        }
        assert_eq!(dirty, want);
    }
}
