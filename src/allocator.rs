//! glibc malloc tuned for this process's shape, set first thing in `main`: a few dozen
//! long-lived threads (one per watched resource, the HTTP workers) that each allocate a
//! little, plus large transient buffers (LIST pages, a scrape's 5 MB gzip units) next to
//! long-lived cached ones (rendered objects, gzip members).
//!
//! glibc's defaults fit neither: it gives each thread that allocates its own arena (up to
//! 8 per core), each keeping its freed fragments resident; and its dynamic mmap threshold
//! climbs to the size of the largest buffer freed so far, after which every later buffer up
//! to that size is carved from the heap and leaves holes behind when it goes. `bench/idle_rss.sh`
//! measures what each setting buys (bench/results/idle-rss.md).
//!
//! `GLIBC_TUNABLES` with any `glibc.malloc.*` setting replaces all of this (glibc applies it
//! itself). `KUBESTATE_MALLOC=off` leaves glibc's defaults (for measuring); `KUBESTATE_MALLOC_STATS=S`
//! logs glibc's own view of the heap every S seconds; both are for measuring, not an interface.

use crate::log::Level;
use crate::log_event;

/// Arenas at most. Two keep two CPUs' worth of threads from queueing on one lock during an
/// initial sync; every arena beyond that only adds a heap of freed fragments per thread.
pub const ARENA_MAX: i32 = 2;

/// Blocks at least this large are mapped on their own and unmapped when freed. Fixed, so
/// glibc's threshold no longer rises to the size of the last big buffer freed (a 5 MB gzip
/// unit's member, a LIST page) and such buffers stop leaving holes in the heaps: at 10k pods
/// with gzip scrapes through a minute of churn, 87 MiB resident instead of 163. At 1 MiB the
/// 272 KiB scrape and gzip scratch buffers and the encoders' state came from the heaps: 94
/// MiB there and 21.3 MiB idle instead of 18.8, for about 7% less CPU in that churn window
/// (bench/results/idle-rss.md).
pub const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Free memory at the top of a heap beyond this goes back to the kernel at once. Fixed
/// (setting it stops glibc from doubling it with the mmap threshold).
pub const TRIM_THRESHOLD: i32 = 1024 * 1024;

/// One `mallopt` call and what glibc answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub value: i32,
    pub applied: bool,
}

/// `KUBESTATE_MALLOC`: `off` keeps glibc's defaults and never trims, `no-trim` tunes but
/// never trims; anything else (or unset) does both.
fn env_mode() -> String {
    std::env::var("KUBESTATE_MALLOC").unwrap_or_default()
}

/// Applies the tuning unless `KUBESTATE_MALLOC=off` or the operator tunes glibc's malloc
/// through `GLIBC_TUNABLES` (theirs wins); returns what was set. Call before any other
/// thread starts: glibc reads these when it creates arenas and places blocks.
pub fn tune_from_env() -> Vec<Setting> {
    let operator = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."));
    if env_mode() == "off" || operator {
        return Vec::new();
    }
    tune()
}

/// Once `synced` holds (polled from a short-lived thread), hands the free memory of the
/// initial sync back with [`release_free_memory`], unless `KUBESTATE_MALLOC` says not to.
pub fn release_after(synced: impl Fn() -> bool + Send + 'static) {
    if matches!(env_mode().as_str(), "off" | "no-trim") {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(move || {
            while !synced() {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            let released = release_free_memory();
            log_event!(
                Level::Debug,
                "initial sync done, free heap memory handed back",
                released = released
            );
        });
    if let Err(e) = spawned {
        log_event!(Level::Warn, "cannot start malloc-trim thread", err = e);
    }
}

/// Sets [`ARENA_MAX`], [`MMAP_THRESHOLD`] and [`TRIM_THRESHOLD`].
pub fn tune() -> Vec<Setting> {
    [
        ("arena_max", sys::M_ARENA_MAX, ARENA_MAX),
        ("mmap_threshold", sys::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        ("trim_threshold", sys::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    ]
    .into_iter()
    .map(|(name, param, value)| Setting {
        name,
        value,
        applied: sys::mallopt(param, value),
    })
    .collect()
}

/// Hands the free pages inside every arena back to the kernel (not only the top of each
/// heap, which glibc trims by itself): after the initial sync the decode buffers of every
/// LIST are free but scattered between objects the stores keep. Returns whether any memory
/// was released.
/// [`release_free_memory`] unless `KUBESTATE_MALLOC` says not to trim (`off`, `no-trim`).
pub fn release_free_memory_if_tuned() -> bool {
    !matches!(env_mode().as_str(), "off" | "no-trim") && release_free_memory()
}

pub fn release_free_memory() -> bool {
    sys::malloc_trim()
}

/// glibc's own accounting, summed over arenas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Arenas created so far.
    pub arenas: usize,
    /// Bytes the arenas' heaps hold from the kernel (brk and heap mappings).
    pub heap_bytes: u64,
    /// Of those, bytes in blocks in use.
    pub in_use_bytes: u64,
    /// Of those, bytes free inside the heaps (resident or not).
    pub free_bytes: u64,
    /// Blocks mapped on their own, and their bytes.
    pub mmapped_blocks: u64,
    pub mmapped_bytes: u64,
}

/// Glibc's view now; `None` where the allocator is not glibc's.
pub fn stats() -> Option<Stats> {
    sys::stats()
}

/// With `KUBESTATE_MALLOC_STATS=S` set, logs [`stats`] every S seconds from a thread of its
/// own, so a benchmark can set glibc's view beside `/proc/PID/smaps`.
pub fn spawn_stats_logger_from_env() {
    let Some(every) = std::env::var("KUBESTATE_MALLOC_STATS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(std::time::Duration::from_secs_f64)
    else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("malloc-stats".into())
        .spawn(move || loop {
            if let Some(s) = stats() {
                log_event!(
                    Level::Info,
                    "malloc stats",
                    arenas = s.arenas,
                    heap_bytes = s.heap_bytes,
                    in_use_bytes = s.in_use_bytes,
                    free_bytes = s.free_bytes,
                    mmapped_blocks = s.mmapped_blocks,
                    mmapped_bytes = s.mmapped_bytes
                );
            }
            std::thread::sleep(every);
        });
    if let Err(e) = spawned {
        log_event!(Level::Warn, "cannot start malloc stats thread", err = e);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod sys {
    use super::Stats;

    pub use libc::{M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD};

    pub fn mallopt(param: i32, value: i32) -> bool {
        // SAFETY: mallopt takes plain integers and reports an invalid one by returning 0
        unsafe { libc::mallopt(param, value) == 1 }
    }

    pub fn malloc_trim() -> bool {
        // SAFETY: no arguments beyond the pad; glibc locks each arena while it trims
        unsafe { libc::malloc_trim(0) == 1 }
    }

    pub fn stats() -> Option<Stats> {
        // SAFETY: mallinfo2 only reads the arenas under their locks
        let m = unsafe { libc::mallinfo2() };
        Some(Stats {
            arenas: arena_count().unwrap_or(0),
            heap_bytes: m.arena as u64,
            in_use_bytes: m.uordblks as u64,
            free_bytes: m.fordblks as u64,
            mmapped_blocks: m.hblks as u64,
            mmapped_bytes: m.hblkhd as u64,
        })
    }

    /// The `<heap nr=…>` elements of `malloc_info`'s XML, one per arena.
    fn arena_count() -> Option<usize> {
        let mut buf: *mut libc::c_char = std::ptr::null_mut();
        let mut len: libc::size_t = 0;
        // SAFETY: open_memstream writes the buffer pointer and length it allocates; the
        // stream is closed (flushing both) before they are read, and the buffer is freed
        // with libc's free as its contract says
        unsafe {
            let stream = libc::open_memstream(&mut buf, &mut len);
            if stream.is_null() {
                return None;
            }
            let ok = libc::malloc_info(0, stream) == 0;
            libc::fclose(stream);
            if buf.is_null() {
                return None;
            }
            let xml = std::slice::from_raw_parts(buf as *const u8, len);
            let count = ok.then(|| memchr::memmem::find_iter(xml, b"<heap nr=").count());
            libc::free(buf.cast());
            count
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod sys {
    use super::Stats;

    pub const M_ARENA_MAX: i32 = -8;
    pub const M_MMAP_THRESHOLD: i32 = -3;
    pub const M_TRIM_THRESHOLD: i32 = -1;

    pub fn mallopt(_: i32, _: i32) -> bool {
        false
    }
    pub fn malloc_trim() -> bool {
        false
    }
    pub fn stats() -> Option<Stats> {
        None
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn glibc_accepts_every_setting() {
        let set = tune();
        assert_eq!(set.len(), 3);
        for s in &set {
            assert!(s.applied, "mallopt refused {s:?}");
        }
    }

    /// Whether glibc mapped the block at `p` on its own: such a block is rounded up to whole
    /// pages, a heap block only to 16 bytes (`malloc_usable_size` shows the difference).
    fn mapped_on_its_own(p: &[u8]) -> bool {
        // SAFETY: `p` is the whole of a live Vec's malloc'd buffer
        let usable = unsafe { libc::malloc_usable_size(p.as_ptr() as *mut libc::c_void) };
        usable - p.len() > 1024
    }

    #[test]
    fn big_blocks_stay_mapped_after_a_bigger_one_is_freed() {
        assert!(tune().iter().all(|s| s.applied));
        let size = 4 * MMAP_THRESHOLD as usize; // a whole number of pages
        let bigger = vec![1u8; 4 * size];
        assert!(mapped_on_its_own(&bigger));
        // glibc's default raises its threshold to the size freed here, and the next block
        // of `size` would come from a heap
        drop(bigger);
        let block = vec![2u8; size];
        assert!(mapped_on_its_own(&block));
        let small = vec![3u8; MMAP_THRESHOLD as usize / 4];
        assert!(!mapped_on_its_own(&small));
    }

    #[test]
    fn stats_count_at_least_the_main_arena() {
        let s = stats().expect("glibc");
        assert!(s.arenas >= 1, "{s:?}");
        assert!(s.heap_bytes >= s.in_use_bytes, "{s:?}");
    }
}
