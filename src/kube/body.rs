//! Response bodies from the API server, gzip-decoded when the server compressed them and
//! counted as they arrive, before decoding.
//!
//! The API server compresses a LIST response over 128 KiB and, from Kubernetes 1.37
//! (`WatchListCompression`), a WatchList stream for a client that sends `Accept-Encoding:
//! gzip`; a plain WATCH stays uncompressed. A compressed stream is a series of gzip members,
//! one per flush (the server closes its writer whenever its event queue runs empty), so
//! every event is complete at the end of a member and decoding never waits for bytes the
//! server has not sent yet.
//!
//! ureq is built without its `gzip` feature (it would bring a second deflate backend), so
//! it hands a `Content-Encoding: gzip` body through untouched and it is decoded here, with
//! flate2 on zlib-rs like the `/metrics` responses.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use ureq::http::{HeaderMap, Response, StatusCode};
use ureq::Body;

/// How the body of a response is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// From `Content-Encoding`; anything but gzip is taken as is (the server only ever
    /// offers gzip, and only when asked).
    pub fn of(headers: &HeaderMap) -> Encoding {
        let gzip = headers
            .get_all("Content-Encoding")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case("gzip"));
        if gzip {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
        }
    }
}

/// Called after every read of a body with the bytes received from the connection and the
/// bytes handed on after decoding since the previous call (equal for an identity body).
pub type OnRead = Box<dyn FnMut(u64, u64) + Send>;

/// A response from [`super::client::ApiClient::get`]: its body can only be read through
/// [`ApiResponse::into_reader`] or [`ApiResponse::read_to_vec`], so no caller parses gzip
/// bytes as JSON by mistake.
pub struct ApiResponse {
    resp: Response<Body>,
}

impl std::fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiResponse")
            .field("status", &self.resp.status())
            .field("encoding", &self.encoding())
            .finish()
    }
}

impl ApiResponse {
    pub fn new(resp: Response<Body>) -> Self {
        ApiResponse { resp }
    }

    pub fn status(&self) -> StatusCode {
        self.resp.status()
    }

    pub fn headers(&self) -> &HeaderMap {
        self.resp.headers()
    }

    pub fn encoding(&self) -> Encoding {
        Encoding::of(self.resp.headers())
    }

    /// The decoded body as a stream.
    pub fn into_reader(self, on_read: Option<OnRead>) -> ApiBody {
        let encoding = self.encoding();
        ApiBody::new(self.resp.into_body().into_reader(), encoding, on_read)
    }

    /// The whole decoded body; more than `limit` decoded bytes is an error (a small
    /// compressed body can inflate to gigabytes).
    pub fn read_to_vec(self, limit: u64) -> io::Result<Vec<u8>> {
        read_limited(self.into_reader(None), limit)
    }
}

/// Reads all of `r`, failing past `limit` bytes.
fn read_limited<R: Read>(r: R, limit: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("response body larger than {limit} bytes"),
        ));
    }
    Ok(out)
}

/// A response body, decoded.
pub struct ApiBody {
    inner: Inner,
    /// Bytes received from the connection, shared with the counting reader under the
    /// decoder.
    wire: Arc<AtomicU64>,
    reported: u64,
    on_read: Option<OnRead>,
}

enum Inner {
    Identity(Counting<Box<dyn Read + Send>>),
    Gzip(Box<MultiGzDecoder<Counting<Box<dyn Read + Send>>>>),
}

impl ApiBody {
    /// `raw` as received; decoded according to `encoding`.
    pub fn new<R: Read + Send + 'static>(
        raw: R,
        encoding: Encoding,
        on_read: Option<OnRead>,
    ) -> ApiBody {
        let wire = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: Box::new(raw) as Box<dyn Read + Send>,
            count: wire.clone(),
            failed: false,
        };
        let inner = match encoding {
            Encoding::Identity => Inner::Identity(counting),
            Encoding::Gzip => Inner::Gzip(Box::new(MultiGzDecoder::new(counting))),
        };
        ApiBody {
            inner,
            wire,
            reported: 0,
            on_read,
        }
    }

    /// Bytes received from the connection so far.
    pub fn wire_bytes(&self) -> u64 {
        self.wire.load(Ordering::Relaxed)
    }
}

impl Read for ApiBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let res = match &mut self.inner {
            Inner::Identity(r) => r.read(buf),
            Inner::Gzip(r) => r.read(buf).map_err(|e| {
                if r.get_ref().failed || e.kind() == io::ErrorKind::UnexpectedEof {
                    // the connection failed or ended mid-member: a cut stream, as without
                    // compression
                    e
                } else {
                    // the bytes arrived but are not gzip: bad data (not an outage), and
                    // named as such
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("corrupt gzip response body: {e}"),
                    )
                }
            }),
        };
        if let Some(on_read) = &mut self.on_read {
            let wire = self.wire.load(Ordering::Relaxed);
            let decoded = *res.as_ref().unwrap_or(&0) as u64;
            if wire > self.reported || decoded > 0 {
                on_read(wire - self.reported, decoded);
                self.reported = wire;
            }
        }
        res
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    /// The last read failed: an error coming out of the decoder is the connection's.
    failed: bool,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let res = self.inner.read(buf);
        self.failed = res.is_err();
        let n = res?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::{BufRead, BufReader, Write};
    use std::sync::Mutex;
    use std::time::Duration;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A connection: chunks as the server sends them; reading past the last one sent so far
    /// blocks until the next arrives, as a socket does.
    struct Chunks(crossbeam_channel::Receiver<Vec<u8>>, Vec<u8>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1.is_empty() {
                match self.0.recv() {
                    Ok(c) => self.1 = c,
                    Err(_) => return Ok(0),
                }
            }
            let n = self.1.len().min(buf.len());
            buf[..n].copy_from_slice(&self.1[..n]);
            self.1.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn identity_body_passes_through_and_is_counted() {
        let seen = Arc::new(Mutex::new((0u64, 0u64)));
        let s = seen.clone();
        let body = ApiBody::new(
            io::Cursor::new(b"{\"items\":[]}".to_vec()),
            Encoding::Identity,
            Some(Box::new(move |w, d| {
                let mut s = s.lock().unwrap();
                s.0 += w;
                s.1 += d;
            })),
        );
        let out = read_limited(body, 1 << 20).unwrap();
        assert_eq!(out, b"{\"items\":[]}");
        assert_eq!(*seen.lock().unwrap(), (12, 12));
    }

    #[test]
    fn gzip_members_decode_in_order_and_count_wire_bytes() {
        let mut wire = gzip(b"{\"type\":\"ADDED\"}\n");
        wire.extend(gzip(b"{\"type\":\"DELETED\"}\n"));
        let total = wire.len() as u64;
        let seen = Arc::new(Mutex::new((0u64, 0u64)));
        let s = seen.clone();
        let body = ApiBody::new(
            io::Cursor::new(wire),
            Encoding::Gzip,
            Some(Box::new(move |w, d| {
                let mut s = s.lock().unwrap();
                s.0 += w;
                s.1 += d;
            })),
        );
        let out = read_limited(body, 1 << 20).unwrap();
        assert_eq!(out, b"{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}\n");
        assert_eq!(*seen.lock().unwrap(), (total, out.len() as u64));
    }

    /// A watch event at the end of one gzip member reaches the reader while the server has
    /// sent nothing more: decoding does not wait for the next member.
    #[test]
    fn an_event_in_a_member_is_readable_before_the_next_member_arrives() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (got_tx, got) = crossbeam_channel::unbounded();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(ApiBody::new(Chunks(rx, Vec::new()), Encoding::Gzip, None));
            let mut line = String::new();
            while r.read_line(&mut line).unwrap() > 0 {
                got_tx.send(line.clone()).unwrap();
                line.clear();
            }
        });
        tx.send(gzip(b"{\"type\":\"ADDED\",\"n\":1}\n")).unwrap();
        let first = got
            .recv_timeout(Duration::from_secs(10))
            .expect("the first event must be decoded without the next member; the reader is stuck");
        assert_eq!(first, "{\"type\":\"ADDED\",\"n\":1}\n");
        // the second member split across two reads of the connection
        let second = gzip(b"{\"type\":\"MODIFIED\",\"n\":2}\n");
        let (a, b) = second.split_at(second.len() / 2);
        tx.send(a.to_vec()).unwrap();
        assert!(got.recv_timeout(Duration::from_millis(200)).is_err());
        tx.send(b.to_vec()).unwrap();
        assert_eq!(
            got.recv_timeout(Duration::from_secs(10)).unwrap(),
            "{\"type\":\"MODIFIED\",\"n\":2}\n"
        );
        drop(tx);
        reader.join().unwrap();
    }

    #[test]
    fn corrupt_or_truncated_gzip_is_an_error_not_a_panic() {
        let good = gzip(b"{\"type\":\"ADDED\"}\n");
        // not gzip at all
        let err = read_limited(
            ApiBody::new(
                io::Cursor::new(b"{\"items\":[]}".to_vec()),
                Encoding::Gzip,
                None,
            ),
            1 << 20,
        )
        .unwrap_err();
        assert!(err.to_string().contains("corrupt gzip"), "{err}");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // a flipped byte in the compressed data (the CRC check catches what inflate may not)
        let mut bad = good.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x55;
        assert!(read_limited(
            ApiBody::new(io::Cursor::new(bad), Encoding::Gzip, None),
            1 << 20
        )
        .is_err());
        // cut off mid-member
        let cut = good[..good.len() - 5].to_vec();
        let err = read_limited(
            ApiBody::new(io::Cursor::new(cut), Encoding::Gzip, None),
            1 << 20,
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        // the connection failing under the decoder stays the connection's error
        struct Reset;
        impl Read for Reset {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::ErrorKind::ConnectionReset.into())
            }
        }
        let err = read_limited(ApiBody::new(Reset, Encoding::Gzip, None), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }

    #[test]
    fn a_body_past_the_limit_is_refused_after_decoding() {
        let bomb = gzip(&vec![b' '; 1 << 20]);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let err = read_limited(
            ApiBody::new(io::Cursor::new(bomb), Encoding::Gzip, None),
            64 * 1024,
        )
        .unwrap_err();
        assert!(err.to_string().contains("larger than 65536"), "{err}");
    }

    #[test]
    fn content_encoding_header_is_read_case_insensitively() {
        let mut h = HeaderMap::new();
        assert_eq!(Encoding::of(&h), Encoding::Identity);
        h.insert("Content-Encoding", "GZIP".parse().unwrap());
        assert_eq!(Encoding::of(&h), Encoding::Gzip);
        h.insert("Content-Encoding", "identity".parse().unwrap());
        assert_eq!(Encoding::of(&h), Encoding::Identity);
    }
}
