//! gzip for /metrics responses. A response is a concatenation of gzip members, one per
//! family and key range of a resource's objects, each cached until its lines change (see
//! `store::gzip`; RFC 1952 allows several members; Go's and Prometheus' readers, curl and
//! browsers all read them as one stream).

use flate2::write::GzEncoder;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use std::io::Write;
use std::sync::Arc;

/// The scrape path's level: a scrape that finds a resource changed compresses it while the
/// client waits, and there the CPU matters more than the bytes (level 2 takes 1.8x the time
/// of level 1 for 28% fewer bytes; `bench/results/gzip-levels.md`).
pub const FAST: u32 = 1;

/// The level members are recompressed at off the scrape path, once their lines have settled:
/// the bytes every later scrape sends. Chosen in `bench/results/gzip-levels.md`.
pub const SETTLED: u32 = 5;

/// The header of every member: no name, no time stamp, OS unknown (RFC 1952).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// Compresses one gzip member after another, written in pieces (a part of a resource
/// streamed in chunks, so the uncompressed output is never held whole), with one deflate
/// state for all of them: a resource is cut into members of about 64 KiB, and setting up a
/// fresh encoder (some 300 KiB of window and tables, allocated and cleared) for each would
/// cost as much as compressing it.
pub struct MemberEncoder {
    deflate: Compress,
    crc: Crc,
    out: Vec<u8>,
}

impl MemberEncoder {
    pub fn new(level: u32) -> Self {
        MemberEncoder {
            deflate: Compress::new(Compression::new(level), false),
            crc: Crc::new(),
            out: Vec::new(),
        }
    }

    /// Starts a member (dropping whatever an unfinished one held).
    pub fn begin(&mut self) {
        self.deflate.reset();
        self.crc.reset();
        self.out.clear();
        self.out.extend_from_slice(&HEADER);
    }

    /// Compresses `data` into the current member.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.crc.update(data);
        let mut rest = data;
        while !rest.is_empty() {
            self.out.reserve(rest.len() / 2 + 1024);
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(rest, &mut self.out, FlushCompress::None)
                .map_err(std::io::Error::other)?;
            rest = &rest[(self.deflate.total_in() - before) as usize..];
        }
        Ok(())
    }

    /// Ends the member: its bytes, sized to fit (a cache holds them).
    pub fn finish(&mut self) -> std::io::Result<Arc<[u8]>> {
        loop {
            self.out.reserve(1024);
            let status = self
                .deflate
                .compress_vec(&[], &mut self.out, FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            if status == Status::StreamEnd {
                break;
            }
        }
        self.out.extend_from_slice(&self.crc.sum().to_le_bytes());
        self.out.extend_from_slice(&self.crc.amount().to_le_bytes());
        Ok(Arc::from(&self.out[..]))
    }
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

    #[test]
    fn one_encoder_writes_member_after_member_in_pieces() {
        let mut enc = MemberEncoder::new(FAST);
        let bodies = [
            b"kube_pod_info{namespace=\"a\"} 1\n".repeat(5000),
            Vec::new(),
            (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect(),
        ];
        let mut all = Vec::new();
        for body in &bodies {
            enc.begin();
            for piece in body.chunks(7_777) {
                enc.write(piece).unwrap();
            }
            let member = enc.finish().unwrap();
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&member[..])
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(&out, body);
            all.extend_from_slice(&member);
        }
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&all[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, bodies.concat());
    }
}
