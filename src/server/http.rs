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
    let mut seen_content = false;
    let mut line_start = 0;
    for i in memchr::memchr_iter(b'\n', buf) {
        let line = &buf[line_start..i];
        let empty = line.is_empty() || line == b"\r";
        if empty && seen_content {
            return Some(i + 1);
        }
        seen_content |= !empty;
        line_start = i + 1;
    }
    None
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
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(reject(400, "malformed request target\n"));
    }
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
        headers.push((k.to_string(), v.trim().to_string()));
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
        target: target.to_string(),
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
        stop: AtomicBool::new(false),
        open: Arc::new(AtomicUsize::new(0)),
        name: name.to_string(),
    });
    // Every queued connection is also counted as open, so the queue can never be full.
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Conn>(shared.limits.max_connections);
    let (back_tx, back_rx) = crossbeam_channel::unbounded::<Conn>();
    let handler = Arc::new(handler);
    let mut threads = Vec::new();
    for i in 0..workers.max(1) {
        let w = Worker {
            shared: shared.clone(),
            work: work_rx.clone(),
            back: back_tx.clone(),
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
                    return if header_end(&c.buf).is_some() {
                        Verdict::Dispatch
                    } else {
                        Verdict::Close
                    };
                }
            }
        }
        if header_end(&c.buf).is_some() {
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
        if let Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) = self.work.try_send(c) {
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

struct Worker {
    shared: Arc<Shared>,
    work: Receiver<Conn>,
    back: Sender<Conn>,
    wake: UnixStream,
}

impl Worker {
    fn run<H: Fn(&Request) -> Response>(self, handler: &H) {
        while let Ok(mut c) = self.work.recv() {
            if self.answer(&mut c, handler) {
                c.phase = Phase::Idle {
                    deadline: Instant::now() + self.shared.limits.idle_timeout,
                };
                if let Err(e) = self.back.send(c) {
                    e.into_inner().close();
                } else {
                    let _ = (&self.wake).write(&[1]);
                }
            } else {
                c.close();
            }
        }
    }

    /// Answers the complete requests in the buffer; true to keep the connection open.
    fn answer<H: Fn(&Request) -> Response>(&self, c: &mut Conn, handler: &H) -> bool {
        for _ in 0..MAX_PIPELINED {
            let Some(end) = header_end(&c.buf) else {
                return !self.shared.stop.load(Ordering::Acquire);
            };
            let parsed = parse_head(&c.buf[..end]);
            c.buf.drain(..end);
            let stopping = self.shared.stop.load(Ordering::Acquire);
            let (resp, head_only, close, http10) = match parsed {
                Ok(head) => {
                    let close = !head.keep_alive || head.has_body || stopping;
                    let req = Request {
                        method: head.method,
                        target: head.target,
                        headers: head.headers,
                        peer: c.peer,
                    };
                    let resp = if head.method == Method::Other {
                        Response::text(405, "method not allowed\n")
                            .with_header("Allow", "GET, HEAD")
                    } else {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&req)))
                            .unwrap_or_else(|_| {
                                log_event!(
                                    Level::Error,
                                    "request handler panicked",
                                    server = self.shared.name,
                                    path = req.path()
                                );
                                Response::text(500, "internal server error\n")
                            })
                    };
                    (resp, head.method == Method::Head, close, head.http10)
                }
                Err(r) => (Response::text(r.status, r.message), false, true, false),
            };
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
            if close {
                return false;
            }
        }
        true
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
