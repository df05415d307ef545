//! Bytes from a client of our HTTP server: the header block is delimited and parsed as the
//! worker does (pipelined requests included), then routed through the access guard and the
//! main port's routes over a store holding one pod. Every answer must be complete, and a
//! gzip answer must decompress to the plain one.
#![no_main]

use flate2::read::MultiGzDecoder;
use kubestate::server::auth::Guard;
use kubestate::server::http::{
    header_end, parse_head, Body, HeaderScan, Method, Request, Response,
};
use kubestate::server::routes::MainRoutes;
use kubestate::telemetry::Telemetry;
use kubestate::store::{ResourceWriter, Store, WriterSet};
use kubestate_fuzz::pod_renderer;
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::sync::{Arc, OnceLock};

const POD: &str = r#"{"metadata":{"name":"web-1","namespace":"shop","uid":"u-1",
"labels":{"app":"web"}},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]},
"status":{"phase":"Running"}}"#;

fn routes() -> &'static (MainRoutes, Guard) {
    static R: OnceLock<(MainRoutes, Guard)> = OnceLock::new();
    R.get_or_init(|| {
        let renderer = pod_renderer();
        let store = Arc::new(Store::new());
        store.upsert(
            "u-1",
            renderer.render(&serde_json::from_str(POD).expect("pod")),
        );
        let writer = ResourceWriter::new("pods", renderer.headers(), vec![store]);
        let telemetry = Arc::new(Telemetry::new());
        let routes = MainRoutes {
            writers: WriterSet::new(vec![writer]),
            gzip: Some(kubestate::store::GzipCache::new(
                64 << 20,
                telemetry.gzip.clone(),
            )),
            telemetry,
            readiness: Vec::new(),
            sd: parking_lot::RwLock::new(None),
            custom: Default::default(),
        };
        (routes, Guard::default())
    })
}

fn body(resp: Response) -> Vec<u8> {
    match resp.body {
        Body::Bytes(b) => b,
        Body::Stream(write) => {
            let mut out = Vec::new();
            write(&mut out).expect("streamed body");
            out
        }
    }
}

fn answer(req: &Request) -> Response {
    let (routes, guard) = routes();
    guard.handle(req, |r| routes.handle(r))
}

/// The incremental scan, fed `buf` in pieces of `step` bytes, finds what one pass finds.
fn scan_in_pieces(buf: &[u8], step: usize) {
    let mut scan = HeaderScan::default();
    let mut end = 0;
    loop {
        end = (end + step).min(buf.len());
        if let Some(found) = scan.find(&buf[..end]) {
            assert_eq!(Some(found), header_end(&buf[..end]));
            assert_eq!(Some(found), header_end(buf));
            return;
        }
        if end == buf.len() {
            assert_eq!(header_end(buf), None);
            return;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for step in [1, 7, 64] {
        scan_in_pieces(data, step);
    }
    let mut buf = data;
    // pipelined requests, as the worker answers them
    for _ in 0..4 {
        let Some(end) = header_end(buf) else {
            return;
        };
        assert!(end <= buf.len());
        let parsed = parse_head(&buf[..end]);
        buf = &buf[end..];
        let Ok(head) = parsed else {
            continue;
        };
        if head.method == Method::Other {
            continue;
        }
        let req = Request {
            method: head.method,
            target: head.target,
            headers: head.headers,
            peer: "127.0.0.1:1".parse().expect("addr"),
        };
        let resp = answer(&req);
        assert!((200..600).contains(&resp.status), "{}", resp.status);
        let gzipped = resp
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "gzip");
        let status = resp.status;
        let bytes = body(resp);
        if gzipped {
            let mut plain_req = req.clone();
            plain_req
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("accept-encoding"));
            let plain = answer(&plain_req);
            assert_eq!(plain.status, status);
            let plain = body(plain);
            let mut unzipped = Vec::new();
            MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut unzipped)
                .expect("gzip body decodes");
            assert_eq!(unzipped, plain);
        }
    }
});
