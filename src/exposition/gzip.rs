//! gzip for /metrics responses. A response is a concatenation of gzip members, one per
//! family and key range of a resource's objects, each cached until its lines change (see
//! `store::gzip`; RFC 1952 allows several members; Go's and Prometheus' readers, curl and
//! browsers all read them as one stream).

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

/// The scrape path's level: a scrape that finds a resource changed compresses it while the
/// client waits, and there the CPU matters more than the bytes (level 2 takes 1.8x the time
/// of level 1 for 28% fewer bytes; `bench/results/gzip-levels.md`).
pub const FAST: u32 = 1;

/// The level members are recompressed at off the scrape path, once their lines have settled:
/// the bytes every later scrape sends. Chosen in `bench/results/gzip-levels.md`.
pub const SETTLED: u32 = 5;

/// An encoder for one gzip member written in pieces (a resource streamed in chunks), so the
/// uncompressed output is never held whole.
pub fn encoder(level: u32) -> GzEncoder<Vec<u8>> {
    GzEncoder::new(Vec::new(), Compression::new(level))
}

/// One gzip member holding `body`, at the scrape path's level.
pub fn compress(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(body.len() / 6 + 64),
        Compression::new(FAST),
    );
    enc.write_all(body)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn concatenated_members_read_back_as_one_body() {
        let a = b"kube_pod_info{namespace=\"a\"} 1\n".repeat(1000);
        let b = b"kube_node_info{node=\"n\"} 1\n".repeat(10);
        let mut z = compress(&a).unwrap();
        assert!(z.len() < a.len() / 10);
        z.extend(compress(&b).unwrap());
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, [a, b].concat());
    }
}
