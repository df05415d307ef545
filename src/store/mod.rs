//! The metric store: per object (by UID) the rendered lines of every enabled family. A scrape
//! walks families in order and copies bytes; nothing is rendered at scrape time.
//!
//! Objects are held behind `Arc`s so a scrape can take a consistent snapshot of a resource
//! (one pointer per object) under the read locks and then copy bytes with the locks released:
//! a slow client never blocks the watch threads that update the stores.

use crate::exposition::negotiate::Format;
use parking_lot::{Mutex, RwLock};
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

    /// Lines written by [`crate::metrics::family::Samples::compact`] with this identity.
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

    /// The stored bytes of family `i` (index among the enabled families).
    fn segment(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends.get(i).map(|&e| e as usize).unwrap_or(start);
        &self.bytes[start..end]
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

/// Position of the first `\n`, eight bytes at a time (no memchr dependency): a byte of
/// `w ^ 0x0a0a..` is zero where `w` holds a newline, and the lowest such byte is flagged
/// exactly by `(x - 0x0101..) & !x & 0x8080..`.
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

/// A gzip member and the generation it was built from.
type CachedMember = (u64, Arc<Vec<u8>>);

/// Writes one resource's families: the stores (one per namespace) walked family by family.
pub struct ResourceWriter {
    pub resource: &'static str,
    headers: Vec<FamilyHeaders>,
    stores: Vec<Arc<Store>>,
    /// Per format: the gzip member of this resource's output and the store generations it
    /// was built from. Rebuilt only when a store changed since.
    gzip_cache: Mutex<[Option<CachedMember>; 2]>,
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
            gzip_cache: Mutex::new([None, None]),
        }
    }

    /// Sum of the stores' generations: changes whenever any store changes.
    fn generation(&self) -> u64 {
        self.stores
            .iter()
            .map(|s| s.generation())
            .fold(0u64, |a, g| a.wrapping_add(g))
    }

    /// This resource's output as one gzip member, from the cache when no store changed.
    /// The generation is read before rendering, so a cached member is never older than the
    /// generation it is filed under.
    pub fn gzip_member(
        &self,
        format: Format,
        scratch: &mut Vec<u8>,
    ) -> std::io::Result<Arc<Vec<u8>>> {
        let slot = match format {
            Format::Text => 0,
            Format::OpenMetrics => 1,
        };
        let generation = self.generation();
        if let Some((g, member)) = &self.gzip_cache.lock()[slot] {
            if *g == generation {
                return Ok(member.clone());
            }
        }
        let member = Arc::new(self.compress(format, scratch)?);
        self.gzip_cache.lock()[slot] = Some((generation, member.clone()));
        Ok(member)
    }

    /// Compresses this resource's output into one gzip member, streaming it through
    /// `scratch` in [`CHUNK`]s, so only the compressed member grows with the output. Empty
    /// (no member at all) while every store is empty.
    fn compress(&self, format: Format, scratch: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
        if self.stores.iter().all(|s| s.is_empty()) {
            return Ok(Vec::new());
        }
        scratch.clear();
        let mut enc = crate::exposition::gzip::encoder();
        self.write_chunked(format, scratch, CHUNK, &mut enc)?;
        enc.write_all(scratch)?;
        scratch.clear();
        enc.finish()
    }

    pub fn stores(&self) -> &[Arc<Store>] {
        &self.stores
    }

    /// The objects of every store, in store order, taken under all the read locks at once so
    /// the families of one scrape come from one consistent state. The locks are released on
    /// return: copying the bytes out happens without them.
    fn snapshot(&self) -> Vec<Arc<RenderedObject>> {
        let guards: Vec<_> = self.stores.iter().map(|s| s.objects.read()).collect();
        let mut objs = Vec::with_capacity(guards.iter().map(|g| g.len()).sum());
        for g in &guards {
            objs.extend(g.values().cloned());
        }
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
        if objs.is_empty() {
            return Ok(());
        }
        for (i, header) in self.headers.iter().enumerate() {
            buf.extend_from_slice(header.get(format));
            let name = header.name.as_bytes();
            for obj in &objs {
                obj.write_family(i, name, buf);
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

    fn scrape(w: &ResourceWriter) -> String {
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

    #[test]
    fn gzip_member_is_cached_until_a_store_changes() {
        use std::io::Read;
        let s = Arc::new(Store::new());
        s.upsert("u1", obj(&["a 1\n"]));
        let w = ResourceWriter::new("pods", vec![hdr("# A\n")], vec![s.clone()]);
        let mut scratch = Vec::new();
        let m1 = w.gzip_member(Format::Text, &mut scratch).unwrap();
        let m2 = w.gzip_member(Format::Text, &mut scratch).unwrap();
        assert!(Arc::ptr_eq(&m1, &m2), "unchanged store reuses the member");
        s.upsert("u2", obj(&["b 1\n"]));
        let m3 = w.gzip_member(Format::Text, &mut scratch).unwrap();
        assert!(!Arc::ptr_eq(&m1, &m3));
        let mut out = String::new();
        flate2::read::MultiGzDecoder::new(&m3[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, scrape(&w));
        s.delete("u1");
        s.delete("u2");
        assert!(w
            .gzip_member(Format::Text, &mut scratch)
            .unwrap()
            .is_empty());
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
