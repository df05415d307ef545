//! A small HTTP/1.1 server built for hostile networks.
//!
//! Design: one acceptor thread (`<name>/accept`) owns the listener and every connection that
//! is *not* being answered: fresh ones, slow ones still sending their header, and keep-alive
//! ones waiting for their next request. It polls them all with `poll(2)` (non-blocking
//! sockets, TLS handshakes driven there too) and hands a connection to the fixed pool of
//! workers (`<name>/<i>`) only once a complete request header sits in its buffer. So idle and
//! slowloris connections cost a buffer, never a thread, and a real scraper always finds a
//! worker. Deadlines: the header must be complete within the read-header timeout of the first
//! byte (or of accept), keep-alive connections are closed after the idle timeout, and a worker
//! gives up on a client that does not read its response after the write timeout. The number of
//! open connections is bounded; at the bound the connection parked longest is closed to make
//! room. Only GET and HEAD exist here; request bodies are never read (the connection is closed
//! after answering such a request).

use crate::log::Level;
use crate::log_event;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Larger request headers get 431 (Go's default is 1 MiB; a scraper sends well under 1 KiB).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longer request targets get 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Pipelined requests answered in one worker turn before the connection goes back to the
/// acceptor, so one client cannot keep a worker forever.
const MAX_PIPELINED: usize = 16;
/// How often the acceptor wakes without events, to enforce deadlines and notice shutdown.
const TICK: Duration = Duration::from_millis(100);
/// Connections accepted per wake-up, so accepting cannot starve reading.
const ACCEPT_BATCH: usize = 256;
/// Bytes read and discarded before closing, so the close is a FIN and the client gets to
/// read the error response instead of a reset.
const LINGER_DRAIN: usize = 256 * 1024;

/// Timeouts and bounds, with kube-state-metrics' flag defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub read_header_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            read_header_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(300),
            max_connections: 1024,
        }
    }
}

impl Limits {
    /// The time a request header may take: the read timeout bounds the whole request, and we
    /// never read bodies, so the shorter of the two.
    fn header_time(&self) -> Duration {
        self.read_header_timeout.min(self.read_timeout)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other,
}

/// A parsed request as handlers see it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub peer: SocketAddr,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }
}

/// Admission control in front of the handler, in two steps so that an expensive check
/// (bcrypt, a round trip to the API server) never holds a worker: `admit` runs on the worker
/// and decides from what is cheap to know (headers, caches); only when it cannot decide does
/// the request go to the server's few verifier threads, through a bounded queue. While it
/// waits there its connection holds no worker, and a request whose credentials are already
/// known never queues behind it.
pub trait Gate: Send + Sync + 'static {
    /// Decides without blocking, or asks for [`Gate::verify`].
    fn admit(&self, req: &Request) -> Admission;
    /// The expensive decision, on a verifier thread: `Pass` or `Refuse`.
    fn verify(&self, req: &Request) -> Admission;
    /// The answer when the verifier queue is full (429 with `Retry-After`).
    fn busy(&self) -> Response;
}

/// What a [`Gate`] decided.
#[derive(Debug)]
pub enum Admission {
    /// On to the handler.
    Pass,
    /// Answered with this instead.
    Refuse(Response),
    /// Needs the expensive check.
    Verify,
}

/// Verifier threads per server: bcrypt is CPU work and review calls wait on the network; two
/// keep one slow review from holding every check, and leave the cores to the scrapes.
pub const VERIFIERS: usize = 2;
/// Requests waiting for a verifier; beyond this they are answered 429 at once.
pub const VERIFY_QUEUE: usize = 16;

/// Writes a streamed body. Runs on the worker thread after the header was sent; every
/// `write_all` becomes one chunk on the wire, so callers write in large buffers.
pub type StreamFn = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + Send>;

/// A response body: complete bytes (sent with `Content-Length`), or a stream for bodies too
/// large to hold (sent with `Transfer-Encoding: chunked`, or for HTTP/1.0 clients delimited by
/// closing the connection).
pub enum Body {
    Bytes(Vec<u8>),
    Stream(StreamFn),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A response; the server adds `Content-Length` (or `Transfer-Encoding`) and `Connection`.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Bytes(body),
        }
    }

    /// A response whose body `write` produces while it is being sent.
    pub fn stream(
        status: u16,
        content_type: &str,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()> + Send + 'static,
    ) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Stream(Box::new(write)),
        }
    }

    /// The body when it is complete bytes (tests, small responses).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Bytes(b) => Some(b),
            Body::Stream(_) => None,
        }
    }

    pub fn text(status: u16, body: &str) -> Response {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }

    pub fn with_header(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[derive(Debug)]
pub enum HttpError {
    Bind { addr: String, source: io::Error },
    Spawn(io::Error),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            HttpError::Spawn(e) => write!(f, "cannot start HTTP thread: {e}"),
        }
    }
}

impl std::error::Error for HttpError {}

// ---------------------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------------------

/// End (exclusive) of the header block: after the first empty line. Leading empty lines
/// (allowed before a request line) are part of the block.
pub fn header_end(buf: &[u8]) -> Option<usize> {
    HeaderScan::default().find(buf)
}

/// Finds the end of a header block that arrives in pieces, resuming where the previous call
/// stopped: a header trickling in byte by byte costs one pass over its bytes, not one pass per
/// read. Valid while the buffer only grows; [`HeaderScan::reset`] after consuming from it.
#[derive(Debug, Default, Clone, Copy)]
pub struct HeaderScan {
    /// Bytes already looked at.
    pos: usize,
    line_start: usize,
    seen_content: bool,
    found: Option<usize>,
}

impl HeaderScan {
    /// [`header_end`] of `buf`, looking only at the bytes added since the last call.
    pub fn find(&mut self, buf: &[u8]) -> Option<usize> {
        if self.found.is_some() {
            return self.found;
        }
        while let Some(off) = buf
            .get(self.pos..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            let i = self.pos + off;
            let line = &buf[self.line_start..i];
            let empty = line.is_empty() || line == b"\r";
            self.pos = i + 1;
            self.line_start = i + 1;
            if empty && self.seen_content {
                self.found = Some(i + 1);
                return self.found;
            }
            self.seen_content |= !empty;
        }
        self.pos = buf.len();
        None
    }

    /// Starts over, for a buffer whose front was consumed.
    pub fn reset(&mut self) {
        *self = HeaderScan::default();
    }
}

/// A request the server answers itself (status, message), then closes.
#[derive(Debug, PartialEq, Eq)]
pub struct Reject {
    pub status: u16,
    pub message: &'static str,
}

const fn reject(status: u16, message: &'static str) -> Reject {
    Reject { status, message }
}

/// A parsed request head.
#[derive(Debug)]
pub struct Head {
    pub method: Method,
    pub method_name: String,
    pub target: String,
    pub http10: bool,
    pub headers: Vec<(String, String)>,
    /// The client wants the connection kept open after this response.
    pub keep_alive: bool,
    /// A body follows that we will not read: the connection must close after answering.
    pub has_body: bool,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The origin-form (`/path?query`) of a request target. RFC 9112 3.2.2: a server must accept
/// the absolute-form (`http://host:8080/metrics`) too, which is what a client talking to a
/// proxy sends; its path is what we route on (an empty path is `/`). Userinfo and an empty
/// host make the URI invalid (RFC 9110 4.2.1, 4.2.4); other forms (`*`, authority) are not
/// for GET and HEAD. None when the target is none of these.
fn origin_form(target: &str) -> Option<String> {
    if target.starts_with('/') {
        return Some(target.to_string());
    }
    let (scheme, rest) = target.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']'))
        .map_or(authority, |(h, _)| h);
    if host.is_empty() || authority.contains(['@', '#']) || path.contains('#') {
        return None;
    }
    Some(if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    })
}

/// Parses a complete header block (as delimited by [`header_end`]).
pub fn parse_head(block: &[u8]) -> Result<Head, Reject> {
    if block.len() > MAX_HEADER_BYTES {
        return Err(reject(431, "request header fields too large\n"));
    }
    let text = std::str::from_utf8(block).map_err(|_| reject(400, "malformed request\n"))?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let request_line = lines.next().ok_or(reject(400, "malformed request\n"))?;
    let mut parts = request_line.split(' ');
    let (Some(method_name), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(reject(400, "malformed request line\n"));
    };
    if !is_token(method_name) || method_name.len() > 32 {
        return Err(reject(400, "malformed method\n"));
    }
    if target.len() > MAX_URI_BYTES {
        return Err(reject(414, "request URI too long\n"));
    }
    if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(reject(400, "malformed request target\n"));
    }
    let target = origin_form(target).ok_or(reject(400, "malformed request target\n"))?;
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        v if v.starts_with("HTTP/") => return Err(reject(505, "HTTP version not supported\n")),
        _ => return Err(reject(400, "malformed HTTP version\n")),
    };
    let mut headers = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            return Err(reject(400, "obsolete header line folding\n"));
        }
        let (k, v) = line
            .split_once(':')
            .ok_or(reject(400, "malformed header line\n"))?;
        if !is_token(k) {
            return Err(reject(400, "malformed header name\n"));
        }
        // RFC 9110 5.5: field values are visible characters, SP and HTAB; a bare CR, NUL or
        // other control character is an attempt at smuggling or a broken client
        if v.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Err(reject(400, "control character in header value\n"));
        }
        headers.push((k.to_string(), v.trim_matches([' ', '\t']).to_string()));
    }
    fn values<'a>(
        headers: &'a [(String, String)],
        name: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    let get = |name: &'static str| values(&headers, name);
    if !http10 && get("host").count() != 1 {
        return Err(reject(400, "missing or repeated Host header\n"));
    }
    let mut has_body = get("transfer-encoding").next().is_some();
    for v in get("content-length") {
        let n: u64 = v.parse().map_err(|_| reject(400, "bad Content-Length\n"))?;
        has_body |= n > 0;
    }
    let connection: Vec<&str> = get("connection").collect();
    let keep_alive = if http10 {
        connection.iter().any(|v| has_token(v, "keep-alive"))
    } else {
        !connection.iter().any(|v| has_token(v, "close"))
    };
    let method = match method_name {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    Ok(Head {
        method,
        method_name: method_name.to_string(),
        target,
        http10,
        headers,
        keep_alive,
        has_body,
    })
}

// ---------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------

/// Decrements the open-connection count when the connection is dropped (closed).
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for (the rest of) a request header, until `deadline`.
    Header { deadline: Instant },
    /// Keep-alive, nothing received yet, closed at `deadline`.
    Idle { deadline: Instant },
}

struct Conn {
    sock: TcpStream,
    tls: Option<Box<rustls::ServerConnection>>,
    /// Plaintext received and not yet consumed.
    buf: Vec<u8>,
    /// How far `buf` was searched for the end of the header.
    scan: HeaderScan,
    /// A request parsed and sent to the verifiers, answered first when the connection is back.
    pending: Option<Pending>,
    /// A request on this connection passed the gate: its next ones take the workers' priority
    /// lane, ahead of connections that never showed good credentials.
    trusted: bool,
    peer: SocketAddr,
    phase: Phase,
    /// When it was last handed to the acceptor: the longest parked is evicted first.
    parked_at: Instant,
    _count: Counted,
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Conn {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Reads what is available without blocking (decrypting TLS, answering handshakes).
    /// Returns true at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        let mut tmp = [0u8; 4096];
        let Conn { sock, tls, buf, .. } = self;
        let Some(tls) = tls else {
            for _ in 0..64 {
                if buf.len() > MAX_HEADER_BYTES {
                    return Ok(false);
                }
                match sock.read(&mut tmp) {
                    Ok(0) => return Ok(true),
                    Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    Err(e) if would_block(&e) => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(false);
        };
        let mut eof = false;
        for _ in 0..64 {
            if buf.len() > MAX_HEADER_BYTES {
                break;
            }
            match tls.read_tls(sock) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {
                    if let Err(e) = tls.process_new_packets() {
                        // sends the alert, if any
                        let _ = tls.write_tls(sock);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                    for _ in 0..64 {
                        match tls.reader().read(&mut tmp) {
                            Ok(0) => {
                                eof = true;
                                break;
                            }
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                            Err(e) if would_block(&e) => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) if would_block(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        for _ in 0..16 {
            if !tls.wants_write() {
                break;
            }
            match tls.write_tls(sock) {
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(eof)
    }

    /// TLS output is pending (handshake), so the acceptor also waits for writability.
    fn wants_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Writes all of `data` by `deadline` (each wait is bounded by it).
    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        let fd = self.fd();
        let Conn { sock, tls, .. } = self;
        let mut off = 0;
        match tls {
            None => {
                while off < data.len() {
                    match sock.write(&data[off..]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => off += n,
                        Err(e) if would_block(&e) => wait_fd(fd, libc::POLLOUT, deadline)?,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Some(tls) => loop {
                if off < data.len() {
                    off += tls.writer().write(&data[off..])?;
                }
                if !tls.wants_write() {
                    if off >= data.len() {
                        break;
                    }
                    continue;
                }
                match tls.write_tls(sock) {
                    Ok(_) => {}
                    Err(e) if would_block(&e) => wait_fd(fd, libc::POLLOUT, deadline)?,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            },
        }
        Ok(())
    }

    /// Writes `parts` back to back by `deadline`: one `writev` per round on plain sockets, so
    /// a chunk's size line, data and terminator leave in one syscall (and one segment run).
    fn write_parts(&mut self, parts: &[&[u8]], deadline: Instant) -> io::Result<()> {
        if self.tls.is_some() {
            // rustls buffers and frames the plaintext itself
            for p in parts {
                self.write_all(p, deadline)?;
            }
            return Ok(());
        }
        let fd = self.fd();
        let mut slices: Vec<io::IoSlice<'_>> = parts.iter().map(|p| io::IoSlice::new(p)).collect();
        let mut bufs = &mut slices[..];
        io::IoSlice::advance_slices(&mut bufs, 0);
        while !bufs.is_empty() {
            match self.sock.write_vectored(bufs) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => io::IoSlice::advance_slices(&mut bufs, n),
                Err(e) if would_block(&e) => wait_fd(fd, libc::POLLOUT, deadline)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Best-effort polite close without blocking: TLS close_notify, FIN, then read and drop
    /// what the client already sent so the kernel does not answer with a reset.
    fn close(mut self) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
            let _ = tls.write_tls(&mut self.sock);
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
        let mut tmp = [0u8; 4096];
        let mut drained = 0;
        while drained < LINGER_DRAIN {
            match self.sock.read(&mut tmp) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}

/// Waits until `fd` is ready for `events` or `deadline` passes (then `TimedOut`).
fn wait_fd(fd: RawFd, events: i16, deadline: Instant) -> io::Result<()> {
    let now = Instant::now();
    if now >= deadline {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "write timeout"));
    }
    let ms = (deadline - now).as_millis().clamp(1, 60_000) as i32;
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&mut p, 1, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// The body of a streamed response on the wire: each `write_all` is one chunk (HTTP/1.1),
/// or raw bytes ended by closing the connection (HTTP/1.0). Every write is bounded by the
/// response's one deadline, so the write timeout covers the whole body as before.
struct BodyWriter<'a> {
    conn: &'a mut Conn,
    deadline: Instant,
    chunked: bool,
}

impl Write for BodyWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            // an empty chunk would end the body
            return Ok(());
        }
        if !self.chunked {
            return self.conn.write_all(data, self.deadline);
        }
        let mut size = [0u8; 18];
        let n = {
            let mut w = &mut size[..];
            write!(w, "{:x}\r\n", data.len())?;
            18 - w.len()
        };
        self.conn
            .write_parts(&[&size[..n], data, b"\r\n"], self.deadline)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends a streamed body; the connection must be closed when this fails, the body being
/// incomplete (a panic in `write` counts as a failure).
fn send_stream(c: &mut Conn, write: StreamFn, chunked: bool, deadline: Instant) -> io::Result<()> {
    let mut w = BodyWriter {
        conn: c,
        deadline,
        chunked,
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(&mut w)))
        .map_err(|_| io::Error::other("response body writer panicked"))??;
    if chunked {
        c.write_all(b"0\r\n\r\n", deadline)?;
    }
    Ok(())
}

/// Serialises the status line and headers. A streamed body has no length: it is chunked for
/// HTTP/1.1, and for HTTP/1.0 the caller closes the connection after it (`close` set).
fn head_bytes(resp: &Response, close: bool, http10: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    match &resp.body {
        Body::Bytes(b) => {
            let _ = write!(out, "Content-Length: {}\r\n", b.len());
        }
        Body::Stream(_) if !http10 => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Body::Stream(_) => {}
    }
    for (k, v) in &resp.headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

struct Shared {
    limits: Limits,
    gate: Option<Arc<dyn Gate>>,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: AtomicBool,
    open: Arc<AtomicUsize>,
    name: String,
}

/// A running listener, its acceptor and workers.
pub struct Server {
    shared: Arc<Shared>,
    wake: UnixStream,
    threads: Vec<std::thread::JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl Server {
    /// Connections currently open (parked or being answered).
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::Acquire)
    }

    /// Stops accepting and closes parked connections at once; requests already read are
    /// answered (with `Connection: close`). Waits at most `grace` for the workers.
    pub fn shutdown(self, grace: Duration) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = (&self.wake).write(&[1]);
        let deadline = Instant::now() + grace;
        for t in &self.threads {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        log_event!(
            Level::Info,
            "stopped listening",
            server = self.shared.name,
            addr = self.addr
        );
    }
}

/// Binds `addr` and serves it: an acceptor thread `<name>/accept` and `workers` threads
/// `<name>/<i>` calling `handler` for each request.
pub fn serve<H>(
    name: &str,
    addr: &str,
    workers: usize,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: H,
) -> Result<Server, HttpError>
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    serve_gated(name, addr, workers, limits, tls, None, handler)
}

/// [`serve`] with a [`Gate`] in front of `handler`, and its [`VERIFIERS`] threads
/// `<name>/verify<i>`.
pub fn serve_gated<H>(
    name: &str,
    addr: &str,
    workers: usize,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    gate: Option<Arc<dyn Gate>>,
    handler: H,
) -> Result<Server, HttpError>
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let bind_err = |source| HttpError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    let bound = listener.local_addr().map_err(bind_err)?;
    let (wake_rx, wake_tx) = UnixStream::pair().map_err(HttpError::Spawn)?;
    wake_rx.set_nonblocking(true).map_err(HttpError::Spawn)?;
    wake_tx.set_nonblocking(true).map_err(HttpError::Spawn)?;
    let shared = Arc::new(Shared {
        limits: Limits {
            max_connections: limits.max_connections.max(1),
            ..limits
        },
        tls,
        gate: gate.clone(),
        stop: AtomicBool::new(false),
        open: Arc::new(AtomicUsize::new(0)),
        name: name.to_string(),
    });
    // Every queued connection is also counted as open, so the queue can never be full.
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Conn>(shared.limits.max_connections);
    let (trusted_tx, trusted_rx) =
        crossbeam_channel::bounded::<Conn>(shared.limits.max_connections);
    let (back_tx, back_rx) = crossbeam_channel::unbounded::<Conn>();
    let handler = Arc::new(handler);
    let mut threads = Vec::new();
    let verify_tx = match gate {
        Some(gate) => {
            let (tx, rx) = crossbeam_channel::bounded::<Conn>(VERIFY_QUEUE);
            for i in 0..VERIFIERS {
                let v = Verifier {
                    shared: shared.clone(),
                    gate: gate.clone(),
                    queue: rx.clone(),
                    work: work_tx.clone(),
                };
                let t = std::thread::Builder::new()
                    .name(format!("{name}/verify{i}"))
                    .spawn(move || v.run())
                    .map_err(HttpError::Spawn)?;
                threads.push(t);
            }
            Some(tx)
        }
        None => None,
    };
    for i in 0..workers.max(1) {
        let w = Worker {
            shared: shared.clone(),
            work: work_rx.clone(),
            trusted: trusted_rx.clone(),
            back: back_tx.clone(),
            verify: verify_tx.clone(),
            wake: wake_tx.try_clone().map_err(HttpError::Spawn)?,
        };
        let handler = handler.clone();
        let t = std::thread::Builder::new()
            .name(format!("{name}/{i}"))
            .spawn(move || w.run(&*handler))
            .map_err(HttpError::Spawn)?;
        threads.push(t);
    }
    drop(back_tx);
    let acceptor = Acceptor {
        shared: shared.clone(),
        listener,
        wake: wake_rx,
        work: work_tx,
        trusted: trusted_tx,
        back: back_rx,
        parked: Vec::new(),
    };
    let t = std::thread::Builder::new()
        .name(format!("{name}/accept"))
        .spawn(move || acceptor.run())
        .map_err(HttpError::Spawn)?;
    threads.push(t);
    log_event!(
        Level::Info,
        "listening",
        server = name,
        addr = bound,
        tls = shared.tls.is_some()
    );
    Ok(Server {
        shared,
        wake: wake_tx,
        threads,
        addr: bound,
    })
}

struct Acceptor {
    shared: Arc<Shared>,
    listener: TcpListener,
    wake: UnixStream,
    work: Sender<Conn>,
    /// The priority lane, for trusted connections.
    trusted: Sender<Conn>,
    back: Receiver<Conn>,
    parked: Vec<Conn>,
}

/// What the acceptor does with a connection after reading from it.
enum Verdict {
    Keep,
    Dispatch,
    Close,
}

impl Acceptor {
    fn run(mut self) {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        while !self.shared.stop.load(Ordering::Acquire) {
            let now = Instant::now();
            while let Ok(mut c) = self.back.try_recv() {
                c.parked_at = now;
                match self.classify(&mut c, false) {
                    Verdict::Keep => self.parked.push(c),
                    Verdict::Dispatch => self.dispatch(c),
                    Verdict::Close => c.close(),
                }
            }
            self.expire(now);
            fds.clear();
            for fd in [self.listener.as_raw_fd(), self.wake.as_raw_fd()] {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            for c in &self.parked {
                let mut events = libc::POLLIN;
                if c.wants_write() {
                    events |= libc::POLLOUT;
                }
                fds.push(libc::pollfd {
                    fd: c.fd(),
                    events,
                    revents: 0,
                });
            }
            // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()` pollfds.
            let rc = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    TICK.as_millis() as i32,
                )
            };
            if rc <= 0 {
                continue;
            }
            if fds[1].revents != 0 {
                let mut tmp = [0u8; 64];
                while matches!((&self.wake).read(&mut tmp), Ok(n) if n > 0) {}
            }
            // parked connections first (descending, so swap_remove keeps lower indices valid)
            for i in (0..self.parked.len()).rev() {
                if fds[i + 2].revents == 0 {
                    continue;
                }
                let mut c = self.parked.swap_remove(i);
                match self.classify(&mut c, true) {
                    Verdict::Keep => self.parked.push(c),
                    Verdict::Dispatch => self.dispatch(c),
                    Verdict::Close => c.close(),
                }
            }
            if fds[0].revents != 0 {
                self.accept_batch();
            }
        }
        // Dropping the listener, the parked connections and the work sender: workers answer
        // what is queued, then see the channel closed and exit.
        let n = self.parked.len();
        self.parked.clear();
        log_event!(
            Level::Debug,
            "acceptor stopped",
            server = self.shared.name,
            closed_idle = n
        );
    }

    fn expire(&mut self, now: Instant) {
        let name = &self.shared.name;
        let mut i = 0;
        while i < self.parked.len() {
            let (deadline, what) = match self.parked[i].phase {
                Phase::Header { deadline } => (deadline, "read header timeout"),
                Phase::Idle { deadline } => (deadline, "idle timeout"),
            };
            if now >= deadline {
                let c = self.parked.swap_remove(i);
                log_event!(
                    Level::Debug,
                    "closing connection",
                    server = name,
                    peer = c.peer,
                    reason = what
                );
                c.close();
            } else {
                i += 1;
            }
        }
    }

    fn classify(&self, c: &mut Conn, read: bool) -> Verdict {
        if read {
            match c.fill() {
                Ok(false) => {}
                Ok(true) | Err(_) => {
                    // a complete pipelined request may precede the end of stream
                    return if c.scan.find(&c.buf).is_some() {
                        Verdict::Dispatch
                    } else {
                        Verdict::Close
                    };
                }
            }
        }
        if c.scan.find(&c.buf).is_some() {
            return Verdict::Dispatch;
        }
        if c.buf.len() > MAX_HEADER_BYTES {
            let resp = Response::text(431, "request header fields too large\n");
            let deadline = Instant::now() + Duration::from_millis(100);
            let _ = c.write_all(&head_bytes(&resp, true, false), deadline);
            if let Some(body) = resp.bytes() {
                let _ = c.write_all(body, deadline);
            }
            return Verdict::Close;
        }
        if let Phase::Idle { .. } = c.phase {
            if !c.buf.is_empty() {
                c.phase = Phase::Header {
                    deadline: Instant::now() + self.shared.limits.header_time(),
                };
            }
        }
        Verdict::Keep
    }

    fn dispatch(&mut self, c: Conn) {
        let lane = if c.trusted { &self.trusted } else { &self.work };
        if let Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) = lane.try_send(c) {
            c.close();
        }
    }

    fn accept_batch(&mut self) {
        for _ in 0..ACCEPT_BATCH {
            let (sock, peer) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) if would_block(&e) => return,
                Err(e) => {
                    // EMFILE and friends: back off one tick rather than spin
                    log_event!(
                        Level::Warn,
                        "accept failed",
                        server = self.shared.name,
                        err = e
                    );
                    std::thread::sleep(TICK);
                    return;
                }
            };
            let open = self.shared.open.load(Ordering::Acquire);
            if open >= self.shared.limits.max_connections && !self.evict_oldest() {
                // every connection is being answered: refuse this one
                drop(sock);
                continue;
            }
            if sock.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = sock.set_nodelay(true);
            let tls = match &self.shared.tls {
                Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
                    Ok(t) => Some(Box::new(t)),
                    Err(e) => {
                        log_event!(Level::Warn, "TLS setup failed", err = e);
                        continue;
                    }
                },
                None => None,
            };
            self.shared.open.fetch_add(1, Ordering::AcqRel);
            let now = Instant::now();
            self.parked.push(Conn {
                sock,
                tls,
                buf: Vec::new(),
                scan: HeaderScan::default(),
                pending: None,
                trusted: false,
                peer,
                phase: Phase::Header {
                    deadline: now + self.shared.limits.header_time(),
                },
                parked_at: now,
                _count: Counted(self.shared.open.clone()),
            });
        }
    }

    /// Closes the connection parked longest; false when none is parked.
    fn evict_oldest(&mut self) -> bool {
        let Some((i, _)) = self
            .parked
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.parked_at)
        else {
            return false;
        };
        let c = self.parked.swap_remove(i);
        log_event!(
            Level::Debug,
            "closing connection",
            server = self.shared.name,
            peer = c.peer,
            reason = "connection limit"
        );
        c.close();
        true
    }
}

/// What the worker needs to answer a parsed request on its connection.
#[derive(Debug, Clone, Copy)]
struct Framing {
    /// `Connection: close` and close after the response.
    close: bool,
    head_only: bool,
    http10: bool,
}

/// A request waiting for (or back from) the verifier pool.
struct Pending {
    req: Request,
    framing: Framing,
    /// The verifier's decision; None while queued.
    verdict: Option<Admission>,
}

struct Worker {
    shared: Arc<Shared>,
    work: Receiver<Conn>,
    /// Served first: connections whose credentials passed (only with a gate).
    trusted: Receiver<Conn>,
    back: Sender<Conn>,
    /// The verifier queue; None without a gate.
    verify: Option<Sender<Conn>>,
    wake: UnixStream,
}

impl Worker {
    /// The next connection to answer, trusted ones first; None once the acceptor and the
    /// verifiers are gone and both queues are drained.
    fn next(&self) -> Option<Conn> {
        if let Ok(c) = self.trusted.try_recv() {
            return Some(c);
        }
        crossbeam_channel::select_biased! {
            recv(self.trusted) -> c => match c {
                Ok(c) => Some(c),
                // the acceptor stopped: what the verifiers still hand back
                Err(_) => self.work.recv().ok(),
            },
            recv(self.work) -> c => match c {
                Ok(c) => Some(c),
                // the acceptor stopped: drain what is left of the priority lane
                Err(_) => self.trusted.try_recv().ok(),
            },
        }
    }

    fn run<H: Fn(&Request) -> Response>(self, handler: &H) {
        while let Some(c) = self.next() {
            let Some(mut c) = self.answer(c, handler) else {
                continue;
            };
            c.phase = Phase::Idle {
                deadline: Instant::now() + self.shared.limits.idle_timeout,
            };
            if let Err(e) = self.back.send(c) {
                e.into_inner().close();
            } else {
                let _ = (&self.wake).write(&[1]);
            }
        }
    }

    /// Answers the complete requests in the buffer. Returns the connection when it stays
    /// open; None when it was closed or handed to the verifier pool.
    fn answer<H: Fn(&Request) -> Response>(&self, mut c: Conn, handler: &H) -> Option<Conn> {
        if let Some(p) = c.pending.take() {
            let resp = match p.verdict {
                Some(Admission::Pass) => {
                    c.trusted = true;
                    self.call(handler, &p.req)
                }
                Some(Admission::Refuse(resp)) => resp,
                // a verifier always decides; be safe rather than let it through
                Some(Admission::Verify) | None => Response::text(500, "internal server error\n"),
            };
            if !self.respond(&mut c, resp, p.framing) {
                c.close();
                return None;
            }
        }
        for _ in 0..MAX_PIPELINED {
            let Some(end) = c.scan.find(&c.buf) else {
                if self.shared.stop.load(Ordering::Acquire) {
                    c.close();
                    return None;
                }
                return Some(c);
            };
            let parsed = parse_head(&c.buf[..end]);
            c.buf.drain(..end);
            c.scan.reset();
            let stopping = self.shared.stop.load(Ordering::Acquire);
            let (resp, framing) = match parsed {
                Ok(head) => {
                    let framing = Framing {
                        close: !head.keep_alive || head.has_body || stopping,
                        head_only: head.method == Method::Head,
                        http10: head.http10,
                    };
                    let req = Request {
                        method: head.method,
                        target: head.target,
                        headers: head.headers,
                        peer: c.peer,
                    };
                    let admission = match (&self.shared.gate, head.method) {
                        (_, Method::Other) => Admission::Refuse(
                            Response::text(405, "method not allowed\n")
                                .with_header("Allow", "GET, HEAD"),
                        ),
                        (Some(gate), _) => gate.admit(&req),
                        (None, _) => Admission::Pass,
                    };
                    let resp = match admission {
                        Admission::Pass => {
                            c.trusted |= self.shared.gate.is_some();
                            self.call(handler, &req)
                        }
                        Admission::Refuse(resp) => resp,
                        Admission::Verify => {
                            c.pending = Some(Pending {
                                req,
                                framing,
                                verdict: None,
                            });
                            match self.hand_to_verifiers(c) {
                                None => return None,
                                Some(back) => c = back,
                            }
                            c.pending = None;
                            self.busy()
                        }
                    };
                    (resp, framing)
                }
                Err(r) => (
                    Response::text(r.status, r.message),
                    Framing {
                        close: true,
                        head_only: false,
                        http10: false,
                    },
                ),
            };
            if !self.respond(&mut c, resp, framing) {
                c.close();
                return None;
            }
        }
        Some(c)
    }

    /// Queues a connection whose request needs the expensive check; gives it back when the
    /// queue is full, so it is answered at once rather than wait without bound.
    fn hand_to_verifiers(&self, c: Conn) -> Option<Conn> {
        match &self.verify {
            Some(tx) => match tx.try_send(c) {
                Ok(()) => None,
                Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) => Some(c),
            },
            None => Some(c),
        }
    }

    /// 429 with `Retry-After`: the verifier queue is full.
    fn busy(&self) -> Response {
        match &self.shared.gate {
            Some(g) => g.busy(),
            None => Response::text(429, "too many requests\n").with_header("Retry-After", "1"),
        }
    }

    fn call<H: Fn(&Request) -> Response>(&self, handler: &H, req: &Request) -> Response {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(req))).unwrap_or_else(
            |_| {
                log_event!(
                    Level::Error,
                    "request handler panicked",
                    server = self.shared.name,
                    path = req.path()
                );
                Response::text(500, "internal server error\n")
            },
        )
    }

    /// Sends `resp`; false when it could not be delivered (the connection must close).
    fn respond(&self, c: &mut Conn, resp: Response, framing: Framing) -> bool {
        let Framing {
            close,
            head_only,
            http10,
        } = framing;
        // a streamed body without chunking is delimited by the close
        let close = close || (http10 && matches!(resp.body, Body::Stream(_)));
        let deadline = Instant::now() + self.shared.limits.write_timeout;
        let mut result = c.write_all(&head_bytes(&resp, close, http10), deadline);
        if result.is_ok() && !head_only && resp.status != 204 && resp.status != 304 {
            result = match resp.body {
                Body::Bytes(b) => c.write_all(&b, deadline),
                Body::Stream(write) => send_stream(c, write, !http10, deadline),
            };
        }
        if let Err(e) = result {
            log_event!(
                Level::Debug,
                "response not delivered",
                server = self.shared.name,
                peer = c.peer,
                err = e
            );
            return false;
        }
        !close
    }
}

/// A verifier thread: runs the gate's expensive check for one queued request at a time and
/// puts the connection, decided, back in the workers' queue.
struct Verifier {
    shared: Arc<Shared>,
    gate: Arc<dyn Gate>,
    queue: Receiver<Conn>,
    work: Sender<Conn>,
}

impl Verifier {
    fn run(self) {
        loop {
            let mut c = match self.queue.recv_timeout(TICK) {
                Ok(c) => c,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if self.shared.stop.load(Ordering::Acquire) {
                        return;
                    }
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            };
            let Some(p) = c.pending.as_mut() else {
                c.close();
                continue;
            };
            let verdict = if self.shared.stop.load(Ordering::Acquire) {
                Admission::Refuse(self.gate.busy())
            } else {
                let gate = &self.gate;
                let req = &p.req;
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gate.verify(req)))
                    .unwrap_or_else(|_| {
                        log_event!(
                            Level::Error,
                            "request verification panicked",
                            server = self.shared.name,
                            path = req.path()
                        );
                        Admission::Refuse(Response::text(500, "internal server error\n"))
                    })
            };
            p.verdict = Some(verdict);
            if let Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) =
                self.work.try_send(c)
            {
                c.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    #[test]
    fn header_end_finds_the_blank_line() {
        assert_eq!(
            header_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest"),
            Some(27)
        );
        assert_eq!(header_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(header_end(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(header_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn parse_head_rules() {
        let h =
            parse_head(b"\r\nGET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\n")
                .unwrap();
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target, "/metrics?x=1");
        assert!(h.keep_alive && !h.has_body && !h.http10);
        let h = parse_head(b"HEAD / HTTP/1.0\r\n\r\n").unwrap();
        assert!(h.http10 && !h.keep_alive);
        let h = parse_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap();
        assert!(h.keep_alive);
        let h = parse_head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").unwrap();
        assert!(!h.keep_alive);
        let h = parse_head(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n").unwrap();
        assert!(h.has_body && h.method == Method::Other);
        let status = |b: &[u8]| parse_head(b).unwrap_err().status;
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(status(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status(b"GET x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"), 400);
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"),
            400
        );
        let long = format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "a".repeat(MAX_URI_BYTES)
        );
        assert_eq!(status(long.as_bytes()), 414);
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEADER_BYTES)
        );
        assert_eq!(status(big.as_bytes()), 431);
    }

    #[test]
    fn header_scan_resumes_where_it_stopped() {
        let full = b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
        let mut scan = HeaderScan::default();
        let mut buf = Vec::new();
        let mut found = None;
        // byte by byte, as a slow client sends it: the same answer as a scan of the whole
        for (i, b) in full.iter().enumerate() {
            buf.push(*b);
            found = scan.find(&buf);
            assert_eq!(found, header_end(&buf), "after {} bytes", i + 1);
            assert!(scan.pos <= buf.len());
            if found.is_some() {
                break;
            }
        }
        assert_eq!(found, Some(29));
        // the scan did not go back: each call looked only at the new byte
        assert_eq!(scan.pos, 29);
        // found stays found as more arrives, until reset
        buf.extend_from_slice(b" HTTP/1.1\r\n");
        assert_eq!(scan.find(&buf), Some(29));
        buf.drain(..29);
        scan.reset();
        assert_eq!(scan.find(&buf), None);
        buf.extend_from_slice(b"Host: x\r\n\r\n");
        assert_eq!(scan.find(&buf), Some(buf.len()));
    }

    #[test]
    fn absolute_form_targets_route_as_their_path() {
        let target = |t: &str| {
            parse_head(format!("GET {t} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
                .map(|h| h.target)
                .map_err(|r| r.status)
        };
        assert_eq!(target("http://host:8080/metrics"), Ok("/metrics".into()));
        assert_eq!(target("HTTP://host/metrics?x=1"), Ok("/metrics?x=1".into()));
        assert_eq!(
            target("https://10.0.0.1:8443/healthz"),
            Ok("/healthz".into())
        );
        assert_eq!(target("http://[::1]:8080/readyz"), Ok("/readyz".into()));
        assert_eq!(target("http://host"), Ok("/".into()));
        assert_eq!(target("http://host?a=b"), Ok("/?a=b".into()));
        assert_eq!(target("/metrics"), Ok("/metrics".into()));
        for bad in [
            "ftp://host/metrics",
            "http:///metrics",
            "http://:8080/metrics",
            "http://user:pw@host/metrics",
            "http://host/metrics#frag",
            "host:8080",
            "*",
            "metrics",
        ] {
            assert_eq!(target(bad), Err(400), "{bad}");
        }
    }

    #[test]
    fn control_characters_in_header_values_are_rejected() {
        let status = |v: &[u8]| {
            let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Test: ".to_vec();
            req.extend_from_slice(v);
            req.extend_from_slice(b"\r\n\r\n");
            parse_head(&req)
                .map(|h| h.headers[1].1.clone())
                .map_err(|r| r.status)
        };
        assert_eq!(status(b"a\tb"), Ok("a\tb".into()), "HTAB is allowed");
        assert_eq!(status(b" \tpadded \t"), Ok("padded".into()));
        assert_eq!(status(b"visible ~!"), Ok("visible ~!".into()));
        for c in (0u8..0x20).filter(|c| *c != b'\t' && *c != b'\n') {
            assert_eq!(status(&[b'a', c, b'b']), Err(400), "byte {c:#04x}");
        }
        assert_eq!(status(b"a\x7fb"), Err(400), "DEL");
        assert_eq!(status(b"bare\rCR"), Err(400));
        assert_eq!(status(b"trailing\x00"), Err(400));
    }

    fn start(limits: Limits) -> Server {
        serve("test", "127.0.0.1:0", 2, limits, None, |req: &Request| {
            if req.path() == "/panic" {
                panic!("handler bug");
            }
            if req.path() == "/stream" {
                return Response::stream(200, "text/plain", |out| {
                    out.write_all(b"ab")?;
                    out.write_all(b"")?;
                    out.write_all(b"cdef")
                });
            }
            Response::text(200, &format!("hello {}", req.path()))
        })
        .unwrap()
    }

    fn read_response(r: &mut impl BufRead) -> (String, Vec<(String, String)>, Vec<u8>) {
        let mut status = String::new();
        r.read_line(&mut status).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap();
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        (status.trim_end().to_string(), headers, body)
    }

    #[test]
    fn keep_alive_pipelining_head_and_errors() {
        let s = start(Limits::default());
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut r = io::BufReader::new(c.try_clone().unwrap());
        let (st, h, b) = read_response(&mut r);
        assert_eq!(st, "HTTP/1.1 200 OK");
        assert_eq!(b, b"hello /a");
        assert!(!h.iter().any(|(k, _)| k == "connection"));
        assert_eq!(read_response(&mut r).2, b"hello /b");
        c.write_all(b"DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (st, h, _) = read_response(&mut r);
        assert_eq!(st, "HTTP/1.1 405 Method Not Allowed");
        assert!(h.contains(&("allow".into(), "GET, HEAD".into())));
        // HEAD: Content-Length of the GET body, no body, then the connection goes on
        c.write_all(b"HEAD /abc HTTP/1.1\r\nHost: x\r\n\r\nGET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut status = String::new();
        r.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut hdr = String::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            if l.trim_end().is_empty() {
                break;
            }
            hdr.push_str(&l);
        }
        assert!(hdr.contains("Content-Length: 10"), "{hdr}");
        let (st, _, _) = read_response(&mut r);
        assert_eq!(st, "HTTP/1.1 500 Internal Server Error");
        s.shutdown(Duration::from_secs(1));
    }

    #[test]
    fn streamed_bodies_are_chunked_or_closed() {
        let s = start(Limits::default());
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // chunked, then HEAD (headers only), then the connection still serves a request
        c.write_all(
            b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap();
        let all = String::from_utf8(all).unwrap();
        let chunked =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n";
        assert_eq!(
            all,
            format!(
                "{chunked}2\r\nab\r\n4\r\ncdef\r\n0\r\n\r\n{chunked}HTTP/1.1 200 OK\r\n\
                 Content-Length: 8\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Connection: close\r\n\r\nhello /a"
            )
        );
        // HTTP/1.0 has no chunking: the body ends with the connection, even if kept alive
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap();
        assert_eq!(
            String::from_utf8(all).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nabcdef"
        );
        s.shutdown(Duration::from_secs(1));
    }

    #[test]
    fn http10_closes_and_oversized_header_gets_431() {
        let s = start(Limits::default());
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET /old HTTP/1.0\r\n\r\n").unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap();
        let all = String::from_utf8(all).unwrap();
        assert!(all.starts_with("HTTP/1.1 200 OK\r\n"), "{all}");
        assert!(all.contains("Connection: close\r\n") && all.ends_with("hello /old"));

        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let big = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n", "a".repeat(20_000));
        c.write_all(big.as_bytes()).unwrap();
        let mut all = Vec::new();
        let _ = c.read_to_end(&mut all);
        assert!(
            String::from_utf8_lossy(&all).starts_with("HTTP/1.1 431 "),
            "{}",
            String::from_utf8_lossy(&all)
        );
        s.shutdown(Duration::from_secs(1));
    }

    #[test]
    fn slow_header_and_idle_connections_are_closed() {
        let s = start(Limits {
            read_header_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(300),
            ..Limits::default()
        });
        let mut slow = TcpStream::connect(s.addr).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        slow.write_all(b"GET / HT").unwrap();
        let started = Instant::now();
        let mut tmp = [0u8; 16];
        assert_eq!(slow.read(&mut tmp).unwrap(), 0, "closed without a response");
        assert!(started.elapsed() < Duration::from_secs(3));

        let mut idle = TcpStream::connect(s.addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut r = io::BufReader::new(idle);
        assert_eq!(read_response(&mut r).2, b"hello /");
        let mut rest = Vec::new();
        assert_eq!(
            r.read_to_end(&mut rest).unwrap(),
            0,
            "idle keep-alive closed"
        );
        s.shutdown(Duration::from_secs(1));
    }

    /// Lets `X-Key: good` through at once, sends `X-Key: slow` to the verifiers, which wait
    /// until `release` and then let it through.
    #[derive(Default)]
    struct SlowGate {
        entered: AtomicUsize,
        released: parking_lot::Mutex<bool>,
        cond: parking_lot::Condvar,
    }

    impl Gate for SlowGate {
        fn admit(&self, req: &Request) -> Admission {
            match req.header("X-Key") {
                Some("good") => Admission::Pass,
                Some("slow") => Admission::Verify,
                _ => Admission::Refuse(Response::text(401, "no\n")),
            }
        }

        fn verify(&self, _req: &Request) -> Admission {
            self.entered.fetch_add(1, Ordering::SeqCst);
            let mut r = self.released.lock();
            while !*r {
                self.cond.wait(&mut r);
            }
            Admission::Pass
        }

        fn busy(&self) -> Response {
            Response::text(429, "busy\n").with_header("Retry-After", "1")
        }
    }

    #[test]
    fn slow_checks_neither_hold_workers_nor_queue_without_bound() {
        let gate = Arc::new(SlowGate::default());
        let s = serve_gated(
            "gated",
            "127.0.0.1:0",
            2,
            Limits::default(),
            None,
            Some(gate.clone() as Arc<dyn Gate>),
            |req: &Request| Response::text(200, &format!("hello {}", req.path())),
        )
        .unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let send = |key: &'static str, path: &'static str| {
            let tx = tx.clone();
            let addr = s.addr;
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                write!(
                    c,
                    "GET {path} HTTP/1.1\r\nHost: x\r\nX-Key: {key}\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut all = Vec::new();
                let _ = c.read_to_end(&mut all);
                let _ = tx.send((key, String::from_utf8_lossy(&all).into_owned()));
            });
        };
        for _ in 0..VERIFIERS {
            send("slow", "/slow");
        }
        let until = Instant::now() + Duration::from_secs(10);
        while gate.entered.load(Ordering::SeqCst) < VERIFIERS && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(gate.entered.load(Ordering::SeqCst), VERIFIERS);
        // every verifier is busy: the queue takes VERIFY_QUEUE more, the rest are refused now
        let extra = 4;
        for _ in 0..VERIFY_QUEUE + extra {
            send("slow", "/slow");
        }
        for _ in 0..extra {
            let (_, resp) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            assert!(resp.starts_with("HTTP/1.1 429 "), "{resp}");
            assert!(resp.contains("Retry-After: 1\r\n"), "{resp}");
        }
        // a request the gate admits at once is answered while the verifiers are stuck
        for _ in 0..3 {
            send("good", "/good");
            let (key, resp) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(key, "good", "{resp}");
            assert!(resp.ends_with("hello /good"), "{resp}");
        }
        *gate.released.lock() = true;
        gate.cond.notify_all();
        for _ in 0..VERIFIERS + VERIFY_QUEUE {
            let (key, resp) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(key, "slow");
            assert!(resp.ends_with("hello /slow"), "{resp}");
        }
        assert_eq!(
            gate.entered.load(Ordering::SeqCst),
            VERIFIERS + VERIFY_QUEUE
        );
        s.shutdown(Duration::from_secs(2));
    }

    #[test]
    fn verified_requests_keep_their_connection_and_pipeline() {
        let gate = Arc::new(SlowGate::default());
        *gate.released.lock() = true;
        let s = serve_gated(
            "gated",
            "127.0.0.1:0",
            1,
            Limits::default(),
            None,
            Some(gate.clone() as Arc<dyn Gate>),
            |req: &Request| Response::text(200, &format!("hello {}", req.path())),
        )
        .unwrap();
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // verified, then admitted at once, then refused, in order on one connection
        c.write_all(
            b"GET /a HTTP/1.1\r\nHost: x\r\nX-Key: slow\r\n\r\n\
              GET /b HTTP/1.1\r\nHost: x\r\nX-Key: good\r\n\r\n\
              GET /c HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
        let mut r = io::BufReader::new(c.try_clone().unwrap());
        assert_eq!(read_response(&mut r).2, b"hello /a");
        assert_eq!(read_response(&mut r).2, b"hello /b");
        let (st, _, _) = read_response(&mut r);
        assert_eq!(st, "HTTP/1.1 401 Unauthorized");
        // still open: a HEAD that needs the verifiers
        c.write_all(b"HEAD /d HTTP/1.1\r\nHost: x\r\nX-Key: slow\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{rest}");
        assert!(rest.ends_with("Connection: close\r\n\r\n"), "{rest}");
        assert_eq!(gate.entered.load(Ordering::SeqCst), 2);
        s.shutdown(Duration::from_secs(1));
    }

    /// Admits `X-Key: good`, refuses the rest, and records the order it saw paths in.
    #[derive(Default)]
    struct OrderGate(parking_lot::Mutex<Vec<String>>);

    impl Gate for OrderGate {
        fn admit(&self, req: &Request) -> Admission {
            self.0.lock().push(req.path().to_string());
            match req.header("X-Key") {
                Some("good") => Admission::Pass,
                _ => Admission::Refuse(Response::text(401, "no\n")),
            }
        }

        fn verify(&self, _req: &Request) -> Admission {
            Admission::Pass
        }

        fn busy(&self) -> Response {
            Response::text(429, "busy\n")
        }
    }

    #[test]
    fn trusted_connections_go_ahead_of_the_others() {
        let gate = Arc::new(OrderGate::default());
        let release = Arc::new((parking_lot::Mutex::new(false), parking_lot::Condvar::new()));
        let r2 = release.clone();
        let s = serve_gated(
            "lanes",
            "127.0.0.1:0",
            1,
            Limits::default(),
            None,
            Some(gate.clone() as Arc<dyn Gate>),
            move |req: &Request| {
                if req.path() == "/block" {
                    let mut done = r2.0.lock();
                    while !*done {
                        r2.1.wait(&mut done);
                    }
                }
                Response::text(200, "ok")
            },
        )
        .unwrap();
        let connect = || {
            let c = TcpStream::connect(s.addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c
        };
        let mut trusted = connect();
        trusted
            .write_all(b"GET /first HTTP/1.1\r\nHost: x\r\nX-Key: good\r\n\r\n")
            .unwrap();
        let mut tr = io::BufReader::new(trusted.try_clone().unwrap());
        assert_eq!(read_response(&mut tr).2, b"ok");
        // the only worker is held; then strangers queue, then the trusted connection asks
        let mut blocker = connect();
        blocker
            .write_all(b"GET /block HTTP/1.1\r\nHost: x\r\nX-Key: good\r\n\r\n")
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while gate.0.lock().len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut strangers: Vec<TcpStream> = (0..3)
            .map(|i| {
                let mut c = connect();
                write!(c, "GET /stranger{i} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                c
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        trusted
            .write_all(b"GET /second HTTP/1.1\r\nHost: x\r\nX-Key: good\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        *release.0.lock() = true;
        release.1.notify_all();
        assert_eq!(read_response(&mut tr).2, b"ok");
        for c in &mut strangers {
            let mut r = io::BufReader::new(c.try_clone().unwrap());
            assert_eq!(read_response(&mut r).0, "HTTP/1.1 401 Unauthorized");
        }
        let order = gate.0.lock().clone();
        assert_eq!(&order[..3], ["/first", "/block", "/second"], "{order:?}");
        assert_eq!(order.len(), 6, "{order:?}");
        s.shutdown(Duration::from_secs(1));
    }

    #[test]
    fn connection_limit_evicts_the_oldest_parked() {
        let s = start(Limits {
            max_connections: 3,
            ..Limits::default()
        });
        let mut idle: Vec<TcpStream> = (0..3)
            .map(|_| TcpStream::connect(s.addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(s.open_connections(), 3);
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap();
        assert!(String::from_utf8_lossy(&all).ends_with("hello /new"));
        // the first idle connection was closed to make room
        idle[0]
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut tmp = [0u8; 4];
        assert_eq!(idle[0].read(&mut tmp).unwrap_or(0), 0);
        s.shutdown(Duration::from_secs(1));
    }
}
