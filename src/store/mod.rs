//! The metric store: per object (by UID) the rendered lines of every enabled family. A scrape
//! walks families in order and copies bytes; nothing is rendered at scrape time.
//!
//! Objects are held behind `Arc`s so a scrape can take a consistent snapshot of a resource
//! (one pointer per object) under the read locks and then copy bytes with the locks released:
//! a slow client never blocks the watch threads that update the stores.

pub mod gzip;

pub use gzip::{GzipCache, GzipMembers};

use crate::exposition::negotiate::Format;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One object's lines: all families back to back, `ends[i]` is where family `i` stops.
/// Compact objects (`identity` set) hold each line without its leading `name{identity`:
/// the family name comes from the writer and the identity is kept once per object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedObject {
    identity: Option<Box<[u8]>>,
    bytes: Box<[u8]>,
    ends: Box<[u32]>,
}

impl RenderedObject {
    /// Whole lines (custom resources, tests).
    pub fn new(bytes: Vec<u8>, ends: Vec<u32>) -> Self {
        RenderedObject {
            identity: None,
            bytes: bytes.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// Lines written by `metrics::family::Samples::compact` with this identity.
    pub fn compact(identity: Vec<u8>, bytes: Vec<u8>, ends: Vec<u32>) -> Self {
        RenderedObject {
            identity: Some(identity.into_boxed_slice()),
            bytes: bytes.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// Bytes held for this object (for memory accounting and benchmarks).
    pub fn held_bytes(&self) -> usize {
        self.bytes.len()
            + self.identity.as_ref().map(|i| i.len()).unwrap_or(0)
            + self.ends.len() * 4
    }

    /// What the gzip cache orders objects by: the identity labels (namespace and name
    /// first) or, for an object stored as whole lines, its lines. Objects in this order
    /// compress better than in any other tried (neighbours share namespace, name prefix and
    /// labels), and an object keeps its place when it changes.
    pub(crate) fn key(&self) -> &[u8] {
        match &self.identity {
            Some(id) if !id.is_empty() => id,
            _ => &self.bytes,
        }
    }

    /// Whether family `i` writes any line.
    pub(crate) fn has_family(&self, i: usize) -> bool {
        !self.segment(i).is_empty()
    }

    /// Whether family `i` writes the same lines for both.
    pub(crate) fn family_eq(&self, other: &RenderedObject, i: usize) -> bool {
        let seg = self.segment(i);
        seg == other.segment(i) && (seg.is_empty() || self.identity == other.identity)
    }

    /// The bytes [`RenderedObject::write_family`] writes for family `i` named `name_len`
    /// bytes.
    pub(crate) fn family_len(&self, i: usize, name_len: usize) -> usize {
        let seg = self.segment(i);
        match &self.identity {
            None => seg.len(),
            Some(id) => {
                let lines = seg.iter().filter(|&&b| b == b'\n').count();
                let prefix = name_len + if id.is_empty() { 0 } else { 1 + id.len() };
                seg.len() + lines * prefix
            }
        }
    }

    /// The stored bytes of family `i` (index among the enabled families).
    fn segment(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends.get(i).map(|&e| e as usize).unwrap_or(start);
        &self.bytes[start..end]
    }

    /// Asks the CPU to start loading what [`RenderedObject::write_family`] will read for
    /// family `i`, a few objects ahead of the scrape. The object header itself must already
    /// be cached (it was touched by [`RenderedObject::prefetch_tables`] earlier).
    #[inline]
    fn prefetch_segment(&self, i: usize) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        prefetch(self.bytes.as_ptr().wrapping_add(start));
        prefetch(self.bytes.as_ptr().wrapping_add(start + 64));
    }

    /// The first stage of the prefetch: the family offsets and the identity.
    #[inline]
    fn prefetch_tables(&self, i: usize) {
        prefetch(self.ends.as_ptr().wrapping_add(i.saturating_sub(1)) as *const u8);
        if let Some(id) = &self.identity {
            prefetch(id.as_ptr());
        }
    }

    /// Appends family `i`'s lines in exposition form. This is the scrape's inner loop: the
    /// room for the whole segment is reserved once, `name{identity` is assembled once per
    /// object and family and then copied per line, and lines are found a word at a time.
    pub fn write_family(&self, i: usize, name: &[u8], out: &mut Vec<u8>) {
        let seg = self.segment(i);
        let Some(identity) = &self.identity else {
            out.extend_from_slice(seg);
            return;
        };
        if seg.is_empty() {
            return;
        }
        let plen = name.len()
            + if identity.is_empty() {
                0
            } else {
                1 + identity.len()
            };
        out.reserve(seg.len() + plen);
        // the first line's `name{identity` is written out once and copied from there
        let start = out.len();
        out.extend_from_slice(name);
        if !identity.is_empty() {
            out.push(b'{');
            out.extend_from_slice(identity);
        }
        let mut rest = seg;
        loop {
            let end = find_newline(rest).map(|p| p + 1).unwrap_or(rest.len());
            out.extend_from_slice(&rest[..end]);
            rest = &rest[end..];
            if rest.is_empty() {
                return;
            }
            out.extend_from_within(start..start + plen);
        }
    }
}

/// A hint that `p` will be read soon; never faults, whatever `p` is.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults and has no effect on program state,
    // even for an address that is not mapped.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Objects ahead of the one being written whose tables (two stages ahead) and segment (one
/// stage ahead) are prefetched.
const PREFETCH_AHEAD: usize = 4;

/// Position of the first `\n`, eight bytes at a time: a byte of `w ^ 0x0a0a..` is zero
/// where `w` holds a newline, and the lowest such byte is flagged exactly by
/// `(x - 0x0101..) & !x & 0x8080..`. Not `memchr`: segment lines are short (often `} 1\n`,
/// the family name and identity being stored once), and there memchr's set-up costs more
/// than it saves: 35% more instructions on 3-30 byte lines (24% fewer on 40-120 byte ones).
fn find_newline(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w) ^ NL;
        let z = x.wrapping_sub(LO) & !x & HI;
        if z != 0 {
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| base + p)
}

pub type ObjectMap = HashMap<Box<str>, Arc<RenderedObject>>;

/// Bytes a scrape copies into its buffer before handing them on (to the socket or to the
/// gzip encoder): large enough that a write is one big syscall, small enough to stay in
/// cache and to make a scrape's memory independent of the output size.
pub const CHUNK: usize = 256 * 1024;

/// The rendered objects of one resource in one namespace (or cluster-wide).
#[derive(Default, Debug)]
pub struct Store {
    objects: RwLock<ObjectMap>,
    /// Bumped on every change, so cached renderings (gzip members) know they are stale.
    generation: AtomicU64,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an object (update = add, as kube-state-metrics does).
    pub fn upsert(&self, uid: &str, obj: RenderedObject) {
        let mut m = self.objects.write();
        self.generation.fetch_add(1, Ordering::Release);
        match m.get_mut(uid) {
            Some(slot) => *slot = Arc::new(obj),
            None => {
                m.insert(uid.into(), Arc::new(obj));
            }
        }
    }

    pub fn delete(&self, uid: &str) {
        let mut m = self.objects.write();
        self.generation.fetch_add(1, Ordering::Release);
        m.remove(uid);
    }

    /// Swaps in the result of a full relist in one step, so a scrape sees either the old or
    /// the new content, never a half-filled store, and objects deleted while the watch was
    /// down disappear.
    pub fn replace(&self, objects: ObjectMap) {
        let mut m = self.objects.write();
        self.generation.fetch_add(1, Ordering::Release);
        let old = std::mem::replace(&mut *m, objects);
        drop(m);
        drop(old); // freed outside the lock
    }

    /// Changes so far; equal values mean equal content.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.objects.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.read().is_empty()
    }
}

/// A family's header in each exposition format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyHeaders {
    /// The family name samples are written with.
    pub name: Box<str>,
    pub text: Vec<u8>,
    pub openmetrics: Vec<u8>,
}

impl FamilyHeaders {
    fn get(&self, format: Format) -> &[u8] {
        match format {
            Format::Text => &self.text,
            Format::OpenMetrics => &self.openmetrics,
        }
    }
}

/// Writes one resource's families: the stores (one per namespace) walked family by family.
pub struct ResourceWriter {
    pub resource: &'static str,
    headers: Vec<FamilyHeaders>,
    stores: Vec<Arc<Store>>,
    /// Per format: the gzip members of this resource's output (see [`gzip`]).
    gzip: gzip::WriterGzip,
}

impl ResourceWriter {
    pub fn new(
        resource: &'static str,
        headers: Vec<FamilyHeaders>,
        stores: Vec<Arc<Store>>,
    ) -> Self {
        ResourceWriter {
            resource,
            headers,
            stores,
            gzip: Default::default(),
        }
    }

    /// Sum of the stores' generations: changes whenever any store changes.
    fn generation(&self) -> u64 {
        self.stores
            .iter()
            .map(|s| s.generation())
            .fold(0u64, |a, g| a.wrapping_add(g))
    }

    pub fn stores(&self) -> &[Arc<Store>] {
        &self.stores
    }

    /// The objects of every store, in store order and by address within a store, taken under all the read locks at once so
    /// the families of one scrape come from one consistent state. The locks are released on
    /// return: copying the bytes out happens without them.
    fn snapshot(&self) -> Vec<Arc<RenderedObject>> {
        let guards: Vec<_> = self.stores.iter().map(|s| s.objects.read()).collect();
        let mut objs = Vec::with_capacity(guards.iter().map(|g| g.len()).sum());
        let mut ranges = Vec::with_capacity(guards.len());
        for g in &guards {
            let start = objs.len();
            objs.extend(g.values().cloned());
            ranges.push(start..objs.len());
        }
        drop(guards);
        // A scrape visits every object once per family; in map order that is a random walk
        // over the whole store per family (at 100k pods, 280 MB: a cache and TLB miss at
        // nearly every object). In address order the walk goes one way through memory, where
        // an object's allocations sit next to each other and next to the objects rendered
        // just before and after it, so the hardware prefetchers keep up. The order of lines
        // within a store carries no meaning (kube-state-metrics' is map order too); stores
        // keep their order, as kube-state-metrics writes a family store by store.
        for r in ranges {
            objs[r].sort_unstable_by_key(|o| Arc::as_ptr(o) as usize);
        }
        objs
    }

    /// The objects of every store in [`RenderedObject::key`] order, taken like
    /// [`ResourceWriter::snapshot`]: the gzip cache's view, in which an object stays in
    /// the same member while it changes.
    fn keyed_snapshot(&self) -> Vec<Arc<RenderedObject>> {
        let guards: Vec<_> = self.stores.iter().map(|s| s.objects.read()).collect();
        let mut objs: Vec<Arc<RenderedObject>> =
            Vec::with_capacity(guards.iter().map(|g| g.len()).sum());
        for g in &guards {
            objs.extend(g.values().cloned());
        }
        drop(guards);
        objs.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        objs
    }

    /// Streams this resource's exposition through `buf`: lines are appended to `buf`, and
    /// whenever it holds at least `limit` bytes they are written to `out` and `buf` is
    /// cleared. What remains below `limit` is left in `buf` for the caller (so small
    /// resources share one write). No store lock is held while `out` is written to.
    ///
    /// No `# HELP`/`# TYPE` at all while every store is empty (kube-state-metrics'
    /// `hasMetrics`); otherwise every enabled family gets its header even with no samples.
    pub fn write_chunked(
        &self,
        format: Format,
        buf: &mut Vec<u8>,
        limit: usize,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let objs = self.snapshot();
        let total = objs.len() * self.headers.len();
        self.write_range(&objs, 0..total, format, buf, limit, out)
    }

    /// [`ResourceWriter::write_chunked`] for part of the output: the (family, object)
    /// visits `range` of the family-major order (visit `f * objs.len() + i` writes family
    /// `f` of object `i`; a family's header goes with its object 0).
    fn write_range(
        &self,
        objs: &[Arc<RenderedObject>],
        range: std::ops::Range<usize>,
        format: Format,
        buf: &mut Vec<u8>,
        limit: usize,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let n = objs.len();
        if n == 0 || range.is_empty() {
            return Ok(());
        }
        for f in range.start / n..range.end.div_ceil(n) {
            let first = range.start.saturating_sub(f * n);
            let last = (range.end - f * n).min(n);
            let header = &self.headers[f];
            if first == 0 {
                buf.extend_from_slice(header.get(format));
            }
            let name = header.name.as_bytes();
            for (j, obj) in objs[first..last].iter().enumerate() {
                if let Some(o) = objs.get(first + j + 2 * PREFETCH_AHEAD) {
                    o.prefetch_tables(f);
                }
                if let Some(o) = objs.get(first + j + PREFETCH_AHEAD) {
                    o.prefetch_segment(f);
                }
                obj.write_family(f, name, buf);
                if buf.len() >= limit {
                    out.write_all(buf)?;
                    buf.clear();
                }
            }
        }
        Ok(())
    }

    /// Appends this resource's whole exposition to `out` (tests, tools; scrapes stream with
    /// [`ResourceWriter::write_chunked`]).
    pub fn write(&self, out: &mut Vec<u8>, format: Format) {
        // `usize::MAX`: never flushed, so the sink is never written to
        let _ = self.write_chunked(format, out, usize::MAX, &mut std::io::sink());
    }
}

/// The built-in resources' writers, swapped whole when a reshard's new stores have synced.
#[derive(Default)]
pub struct WriterSet {
    writers: RwLock<Arc<Vec<ResourceWriter>>>,
}

impl WriterSet {
    pub fn new(mut writers: Vec<ResourceWriter>) -> Self {
        writers.sort_by_key(|w| w.resource);
        WriterSet {
            writers: RwLock::new(Arc::new(writers)),
        }
    }

    /// The current writers; a scrape holds this snapshot for its whole duration.
    pub fn snapshot(&self) -> Arc<Vec<ResourceWriter>> {
        self.writers.read().clone()
    }

    /// Puts new writers in place; scrapes already running finish with the old ones.
    pub fn replace(&self, mut writers: Vec<ResourceWriter>) -> Arc<Vec<ResourceWriter>> {
        writers.sort_by_key(|w| w.resource);
        std::mem::replace(&mut *self.writers.write(), Arc::new(writers))
    }
}

#[cfg(test)]
mod tests {
    use super::gzip::UNIT_BYTES;
    use super::*;

    fn obj(lines: &[&str]) -> RenderedObject {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for l in lines {
            bytes.extend_from_slice(l.as_bytes());
            ends.push(bytes.len() as u32);
        }
        RenderedObject::new(bytes, ends)
    }

    fn hdr(s: &str) -> FamilyHeaders {
        FamilyHeaders {
            name: "".into(),
            text: s.as_bytes().to_vec(),
            openmetrics: s.as_bytes().to_vec(),
        }
    }

    pub(super) fn scrape(w: &ResourceWriter) -> String {
        let mut out = Vec::new();
        w.write(&mut out, Format::Text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn empty_store_writes_no_headers() {
        let s = Arc::new(Store::new());
        let w = ResourceWriter::new("pods", vec![hdr("# A\n"), hdr("# B\n")], vec![s.clone()]);
        assert_eq!(scrape(&w), "");
        s.upsert("u1", obj(&["a 1\n", ""]));
        assert_eq!(scrape(&w), "# A\na 1\n# B\n");
        s.delete("u1");
        assert_eq!(scrape(&w), "");
    }

    #[test]
    fn families_are_grouped_across_objects_and_stores() {
        let s1 = Arc::new(Store::new());
        let s2 = Arc::new(Store::new());
        s1.upsert("u1", obj(&["a{o=\"1\"} 1\n", "b{o=\"1\"} 1\n"]));
        s2.upsert("u2", obj(&["a{o=\"2\"} 1\n", "b{o=\"2\"} 1\n"]));
        let w = ResourceWriter::new("pods", vec![hdr("# A\n"), hdr("# B\n")], vec![s1, s2]);
        assert_eq!(
            scrape(&w),
            "# A\na{o=\"1\"} 1\na{o=\"2\"} 1\n# B\nb{o=\"1\"} 1\nb{o=\"2\"} 1\n"
        );
    }

    #[test]
    fn compact_objects_get_name_and_identity_back() {
        let s = Arc::new(Store::new());
        let id = b"namespace=\"a\",pod=\"p\"".to_vec();
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        bytes.extend_from_slice(b",phase=\"Running\"} 1\n,phase=\"Failed\"} 0\n");
        ends.push(bytes.len() as u32);
        bytes.extend_from_slice(b"} 1.5e+09\n");
        ends.push(bytes.len() as u32);
        s.upsert("u1", RenderedObject::compact(id, bytes, ends));
        let mut a = hdr("# A\n");
        a.name = "kube_pod_status_phase".into();
        let mut b = hdr("# B\n");
        b.name = "kube_pod_created".into();
        let w = ResourceWriter::new("pods", vec![a, b], vec![s]);
        assert_eq!(
            scrape(&w),
            "# A\nkube_pod_status_phase{namespace=\"a\",pod=\"p\",phase=\"Running\"} 1\n\
             kube_pod_status_phase{namespace=\"a\",pod=\"p\",phase=\"Failed\"} 0\n\
             # B\nkube_pod_created{namespace=\"a\",pod=\"p\"} 1.5e+09\n"
        );
    }

    pub(super) fn gunzip(members: &[Arc<[u8]>]) -> String {
        use std::io::Read;
        let body: Vec<u8> = members.iter().flat_map(|m| m.iter().copied()).collect();
        let mut out = String::new();
        flate2::read::MultiGzDecoder::new(&body[..])
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gzip_members_are_cached_until_a_store_changes() {
        let s = Arc::new(Store::new());
        s.upsert("u1", obj(&["a 1\n"]));
        let w = ResourceWriter::new("pods", vec![hdr("# A\n")], vec![s.clone()]);
        let m1 = w.gzip_members(Format::Text).unwrap();
        let m2 = w.gzip_members(Format::Text).unwrap();
        let same = |a: &GzipMembers, b: &GzipMembers| {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| Arc::ptr_eq(x, y))
        };
        assert!(same(&m1, &m2), "unchanged store reuses the members");
        s.upsert("u2", obj(&["b 1\n"]));
        let m3 = w.gzip_members(Format::Text).unwrap();
        assert!(!same(&m1, &m3));
        assert_same_exposition(&gunzip(&m3), &scrape(&w));
        s.delete("u1");
        s.delete("u2");
        assert!(w.gzip_members(Format::Text).unwrap().is_empty());
    }

    /// A store big enough for many members (several compressed in parallel) with families of
    /// very different sizes, some empty for most objects.
    pub(super) fn big_store(objects: usize) -> (Arc<Store>, ResourceWriter) {
        let s = Arc::new(Store::new());
        for i in 0..objects {
            s.upsert(&format!("u{i}"), big_obj(i, 0));
        }
        let headers = ["a", "b", "c", "d", "e"]
            .iter()
            .enumerate()
            .map(|(f, name)| FamilyHeaders {
                name: (*name).into(),
                text: format!("# F{f}\n").into_bytes(),
                openmetrics: format!("# F{f}\n").into_bytes(),
            })
            .collect();
        let w = ResourceWriter::new("pods", headers, vec![s.clone()]);
        (s, w)
    }

    pub(super) fn big_obj(i: usize, version: usize) -> RenderedObject {
        let rare = if i % 97 == 0 { "} 1\n" } else { "" };
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for seg in [
            format!("}} {version}\n"),
            ",x=\"1\"} 1\n,x=\"2\"} 0\n".to_string(),
            String::new(),
            format!("}} {version}\n"),
            rare.to_string(),
        ] {
            bytes.extend_from_slice(seg.as_bytes());
            ends.push(bytes.len() as u32);
        }
        RenderedObject::compact(format!("o=\"{i}\"").into_bytes(), bytes, ends)
    }

    /// Asserts that `got` is `want` up to the order of lines within a family: the same
    /// headers in the same order, each followed by the same lines.
    pub(super) fn assert_same_exposition(got: &str, want: &str) {
        fn families(body: &str) -> Vec<(String, Vec<&str>)> {
            let mut out: Vec<(String, Vec<&str>)> = Vec::new();
            let mut in_header = false;
            for l in body.lines() {
                if l.starts_with('#') {
                    if !in_header {
                        out.push((String::new(), Vec::new()));
                    }
                    in_header = true;
                    let last = out.last_mut().expect("pushed");
                    last.0.push_str(l);
                    last.0.push('\n');
                } else {
                    in_header = false;
                    assert!(!out.is_empty(), "a sample before any header: {l}");
                    out.last_mut().expect("a family").1.push(l);
                }
            }
            for f in &mut out {
                f.1.sort_unstable();
            }
            out
        }
        let (g, w) = (families(got), families(want));
        assert_eq!(g.len(), w.len(), "families");
        for (a, b) in g.iter().zip(&w) {
            assert!(a == b, "family {} differs", b.0);
        }
        assert_eq!(got.len(), want.len());
    }

    #[test]
    fn gzip_members_split_a_big_resource_and_decode_to_the_plain_body() {
        let objects = 3 * UNIT_BYTES / 10 + 123; // family b alone: several members
        let (s, w) = big_store(objects);
        let members = w.gzip_members(Format::Text).unwrap();
        assert!(members.len() > 5, "{}", members.len());
        let plain = scrape(&w);
        assert_same_exposition(&gunzip(&members), &plain);
        // families stay contiguous, each under its one header, in declaration order
        let headers: Vec<&str> = plain.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(headers, ["# F0", "# F1", "# F2", "# F3", "# F4"]);
        assert_eq!(
            plain.lines().count(),
            5 + objects * 4 + objects.div_ceil(97)
        );

        // churn: every object changes, the stale members are rebuilt from the new content
        for i in (0..objects).step_by(3) {
            s.upsert(&format!("u{i}"), big_obj(i, 1));
        }
        s.delete("u1");
        let rebuilt = w.gzip_members(Format::Text).unwrap();
        assert!(!Arc::ptr_eq(&members[0], &rebuilt[0]));
        let plain = scrape(&w);
        assert!(plain.contains("a{o=\"3\"} 1\n") && !plain.contains("{o=\"1\"}"));
        assert_same_exposition(&gunzip(&rebuilt), &plain);
    }

    #[test]
    fn every_split_of_the_visits_writes_the_same_body() {
        let (_s, w) = big_store(7);
        let objs = w.snapshot();
        let total = objs.len() * w.headers.len();
        let whole = scrape(&w);
        for step in 1..=total + 1 {
            let mut out = Vec::new();
            for start in (0..total).step_by(step) {
                let range = start..(start + step).min(total);
                w.write_range(
                    &objs,
                    range,
                    Format::Text,
                    &mut out,
                    usize::MAX,
                    &mut std::io::sink(),
                )
                .unwrap();
            }
            assert_eq!(String::from_utf8(out).unwrap(), whole, "step {step}");
        }
    }

    /// Scrapes racing with updates: every gzip body is the output of one consistent state
    /// (each object's lines all from the same version, though its families land in members
    /// compressed on different threads), never a mix of two.
    #[test]
    fn gzip_under_concurrent_updates_is_never_torn() {
        let objects = UNIT_BYTES / 5;
        let (s, w) = big_store(objects);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut version = 1;
                while !stop.load(Ordering::Relaxed) {
                    // one object per version changes; the store then holds versions 0..=v
                    s.upsert(
                        &format!("u{}", version % objects),
                        big_obj(version % objects, version),
                    );
                    version += 1;
                }
            });
            for _ in 0..5 {
                let body = gunzip(&w.gzip_members(Format::Text).unwrap());
                let families: Vec<&str> = body.lines().filter(|l| l.starts_with('#')).collect();
                assert_eq!(families, ["# F0", "# F1", "# F2", "# F3", "# F4"]);
                let versions = |family: &str| -> HashMap<String, String> {
                    body.lines()
                        .filter_map(|l| l.strip_prefix(family))
                        .map(|l| l.split_once(' ').unwrap())
                        .map(|(id, v)| (id.to_string(), v.to_string()))
                        .collect()
                };
                let a = versions("a{");
                assert_eq!(a.len(), objects);
                assert_eq!(a, versions("d{"), "an object's families from two states");
            }
            stop.store(true, Ordering::Relaxed);
        });
        let body = gunzip(&w.gzip_members(Format::Text).unwrap());
        assert_same_exposition(&body, &scrape(&w));
    }

    #[test]
    fn long_and_empty_identities() {
        let id = format!("k=\"{}\"", "v".repeat(600));
        let o = RenderedObject::compact(
            id.clone().into_bytes(),
            b"} 1\n,a=\"b\"} 2\n".to_vec(),
            vec![14],
        );
        let mut out = Vec::new();
        o.write_family(0, b"m", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("m{{{id}}} 1\nm{{{id},a=\"b\"}} 2\n")
        );
        let o = RenderedObject::compact(Vec::new(), b" 1\n".to_vec(), vec![3]);
        let mut out = Vec::new();
        o.write_family(0, b"m", &mut out);
        assert_eq!(out, b"m 1\n");
    }

    #[test]
    fn find_newline_matches_a_byte_search() {
        let text = b"ab\ncdefghijkl\n\nmnopqrstuvwxyz0123456789\x8a\x0b\n";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let s = &text[start..end];
                assert_eq!(find_newline(s), s.iter().position(|&b| b == b'\n'), "{s:?}");
            }
        }
    }

    #[test]
    fn replace_swaps_whole_content() {
        let s = Store::new();
        s.upsert("gone", obj(&["x 1\n"]));
        let mut m = ObjectMap::new();
        m.insert("new".into(), Arc::new(obj(&["y 1\n"])));
        s.replace(m);
        assert_eq!(s.len(), 1);
        assert!(s.objects.read().contains_key("new"));
    }

    #[test]
    fn chunked_writes_match_the_whole_body_and_stay_bounded() {
        let s = Arc::new(Store::new());
        for i in 0..50 {
            s.upsert(
                &format!("u{i}"),
                obj(&[&format!("a{{o=\"{i}\"}} 1\n"), "b 2\n"]),
            );
        }
        let w = ResourceWriter::new("pods", vec![hdr("# A\n"), hdr("# B\n")], vec![s]);
        let whole = scrape(&w);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut writes = Vec::new();
        struct Log<'a>(&'a mut Vec<u8>, &'a mut Vec<usize>);
        impl Write for Log<'_> {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.extend_from_slice(b);
                self.1.push(b.len());
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        w.write_chunked(Format::Text, &mut buf, 64, &mut Log(&mut out, &mut writes))
            .unwrap();
        out.extend_from_slice(&buf);
        assert_eq!(String::from_utf8(out).unwrap(), whole);
        assert!(writes.len() > 10, "{writes:?}");
        assert!(
            writes.iter().all(|&n| (64..64 + 16).contains(&n)),
            "{writes:?}"
        );
    }
}
