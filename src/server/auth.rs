//! Who may read the endpoints: basic-auth users from the web config (bcrypt hashes, as
//! exporter-toolkit), and `--auth-filter`, which asks the API server — a TokenReview for the
//! bearer token, then a SubjectAccessReview for `get` on the path — as kube-state-metrics does
//! with controller-runtime's filter. Both cache positive answers keyed by a SHA-256 of the
//! credentials, so bcrypt's deliberate slowness and the API round trips are paid once per
//! scraper and TTL, not per scrape.

use super::http::{Request, Response};
use crate::kube::client::ApiClient;
use crate::log::Level;
use crate::log_event;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a successful basic-auth verification is trusted without bcrypt.
const BASIC_TTL: Duration = Duration::from_secs(300);
/// How long an allowed token is trusted without asking the API server again.
const ALLOW_TTL: Duration = Duration::from_secs(60);
/// Denials are cached briefly so a flood of bad tokens cannot flood the API server.
const DENY_TTL: Duration = Duration::from_secs(10);
/// Cache entries kept at most (all dropped when full: a cache miss only costs time).
const CACHE_MAX: usize = 4096;
/// One review request may take this long.
const REVIEW_TIMEOUT: Duration = Duration::from_secs(10);

type Key = [u8; 32];

fn key(parts: &[&[u8]]) -> Key {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(&(p.len() as u64).to_le_bytes());
        ctx.update(p);
    }
    let mut k = [0u8; 32];
    k.copy_from_slice(ctx.finish().as_ref());
    k
}

struct Cache<V: Copy> {
    map: Mutex<HashMap<Key, (Instant, V)>>,
}

impl<V: Copy> Cache<V> {
    fn new() -> Self {
        Cache {
            map: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, k: &Key) -> Option<V> {
        let m = self.map.lock();
        m.get(k)
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, v)| *v)
    }

    fn put(&self, k: Key, v: V, ttl: Duration) {
        let mut m = self.map.lock();
        if m.len() >= CACHE_MAX {
            m.clear();
        }
        m.insert(k, (Instant::now() + ttl, v));
    }
}

/// `basic_auth_users`: user → bcrypt hash.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    verified: Cache<()>,
    /// Verified in place of a missing user's hash, so that an unknown user name costs as much
    /// bcrypt work as a wrong password and response times do not reveal which users exist.
    decoy: std::sync::OnceLock<String>,
}

impl BasicAuth {
    pub fn new(users: BTreeMap<String, String>) -> Self {
        BasicAuth {
            users,
            verified: Cache::new(),
            decoy: std::sync::OnceLock::new(),
        }
    }

    /// The bcrypt cost of the configured hashes (`$2y$10$…` → 10), so the decoy costs the same.
    fn cost(&self) -> u32 {
        self.users
            .values()
            .find_map(|h| h.split('$').nth(2).and_then(|c| c.parse().ok()))
            .filter(|c| (4..=31).contains(c))
            .unwrap_or(bcrypt::DEFAULT_COST)
    }

    fn decoy(&self) -> &str {
        self.decoy.get_or_init(|| {
            // Only fails for a cost outside 4..=31, which `cost` rules out.
            bcrypt::hash("kubestate-decoy", self.cost()).unwrap_or_default()
        })
    }

    /// True when the `Authorization: Basic …` header names a user whose password matches.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        let Some((user, pass)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let Some(hash) = self.users.get(&user) else {
            let _ = bcrypt::verify(pass.as_bytes(), self.decoy());
            return false;
        };
        let k = key(&[user.as_bytes(), pass.as_bytes(), hash.as_bytes()]);
        if self.verified.get(&k).is_some() {
            return true;
        }
        let ok = bcrypt::verify(pass.as_bytes(), hash).unwrap_or(false);
        if ok {
            self.verified.put(k, (), BASIC_TTL);
        }
        ok
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// The outcome of the auth filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No token, or the TokenReview did not authenticate it: 401.
    Unauthenticated,
    /// Authenticated, but the SubjectAccessReview denied it: 403.
    Forbidden,
}

#[derive(Debug)]
pub enum ReviewError {
    Request { url: String, reason: String },
    Status { url: String, code: u16 },
    Decode { url: String, reason: String },
}

impl fmt::Display for ReviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReviewError::Request { url, reason } => write!(f, "POST {url}: {reason}"),
            ReviewError::Status { url, code } => write!(f, "POST {url}: HTTP {code}"),
            ReviewError::Decode { url, reason } => write!(f, "POST {url}: bad answer: {reason}"),
        }
    }
}

impl std::error::Error for ReviewError {}

/// `--auth-filter`: bearer token → TokenReview → SubjectAccessReview.
pub struct AuthFilter {
    client: Arc<ApiClient>,
    cache: Cache<Decision>,
}

impl AuthFilter {
    pub fn new(client: Arc<ApiClient>) -> Self {
        AuthFilter {
            client,
            cache: Cache::new(),
        }
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, ReviewError> {
        let url = format!("{}{}", self.client.server(), path);
        let request_err = |reason: String| ReviewError::Request {
            url: url.clone(),
            reason,
        };
        let mut req = self
            .client
            .agent()
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(auth) = self
            .client
            .authorization()
            .map_err(|e| request_err(e.to_string()))?
        {
            req = req.header("Authorization", auth);
        }
        let bytes = serde_json::to_vec(body).map_err(|e| request_err(e.to_string()))?;
        let resp = req
            .config()
            .timeout_global(Some(REVIEW_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .send(&bytes[..])
            .map_err(|e| request_err(e.to_string()))?;
        let code = resp.status().as_u16();
        if !(200..300).contains(&code) {
            return Err(ReviewError::Status { url, code });
        }
        let body = resp
            .into_body()
            .into_with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| request_err(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| ReviewError::Decode {
            url,
            reason: e.to_string(),
        })
    }

    /// Decides for the `Authorization` header of a request to `path`.
    pub fn check(&self, authorization: Option<&str>, path: &str) -> Result<Decision, ReviewError> {
        let token = authorization
            .map(str::trim)
            .and_then(|a| a.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Ok(Decision::Unauthenticated);
        };
        let k = key(&[token.as_bytes(), path.as_bytes()]);
        if let Some(d) = self.cache.get(&k) {
            return Ok(d);
        }
        let d = self.review(token, path)?;
        let ttl = if d == Decision::Allow {
            ALLOW_TTL
        } else {
            DENY_TTL
        };
        self.cache.put(k, d, ttl);
        Ok(d)
    }

    fn review(&self, token: &str, path: &str) -> Result<Decision, ReviewError> {
        let tr = self.post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            &json!({
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token},
            }),
        )?;
        let status = &tr["status"];
        if status["authenticated"].as_bool() != Some(true) {
            return Ok(Decision::Unauthenticated);
        }
        let user = &status["user"];
        let sar = self.post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            &json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {
                    "user": user["username"],
                    "uid": user["uid"],
                    "groups": user["groups"],
                    "extra": user["extra"],
                    "nonResourceAttributes": {"path": path, "verb": "get"},
                },
            }),
        )?;
        Ok(if sar["status"]["allowed"].as_bool() == Some(true) {
            Decision::Allow
        } else {
            Decision::Forbidden
        })
    }
}

/// Paths that stay open under `--auth-filter`: probes (kubelet has no token) and the index.
fn open_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/")
}

/// Everything between the server and the routes: basic auth, the auth filter, and the
/// configured extra headers (added to every response, errors included).
#[derive(Default)]
pub struct Guard {
    pub basic: Option<BasicAuth>,
    pub filter: Option<Arc<AuthFilter>>,
    pub headers: Vec<(String, String)>,
}

impl Guard {
    pub fn handle(&self, req: &Request, inner: impl Fn(&Request) -> Response) -> Response {
        let mut resp = self.decide(req).unwrap_or_else(|| inner(req));
        for (k, v) in &self.headers {
            if !resp.has_header(k) {
                resp.headers.push((k.clone(), v.clone()));
            }
        }
        resp
    }

    /// The refusal, if the request is not let through.
    fn decide(&self, req: &Request) -> Option<Response> {
        if let Some(basic) = &self.basic {
            if !basic.check(req.header("Authorization")) {
                return Some(
                    Response::text(401, "Unauthorized\n").with_header("WWW-Authenticate", "Basic"),
                );
            }
        }
        let filter = self.filter.as_ref()?;
        let path = req.path();
        if open_path(path) {
            return None;
        }
        // with basic auth in front, the bearer token travels in the same header only when
        // basic auth is off; kube-state-metrics has the same constraint
        match filter.check(req.header("Authorization"), path) {
            Ok(Decision::Allow) => None,
            Ok(Decision::Unauthenticated) => Some(
                Response::text(401, "Unauthorized\n").with_header("WWW-Authenticate", "Bearer"),
            ),
            Ok(Decision::Forbidden) => Some(Response::text(403, "Forbidden\n")),
            Err(e) => {
                log_event!(Level::Warn, "auth filter unavailable", err = e);
                Some(Response::text(503, "auth filter unavailable\n"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[test]
    fn basic_auth_checks_and_caches() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let b = BasicAuth::new([("alice".to_string(), hash)].into());
        assert!(b.check(Some(&basic("alice", "s3cret"))));
        assert_eq!(b.verified.map.lock().len(), 1);
        assert!(b.check(Some(&basic("alice", "s3cret"))));
        assert!(!b.check(Some(&basic("alice", "wrong"))));
        assert!(!b.check(Some(&basic("bob", "s3cret"))));
        assert!(!b.check(None));
        assert!(!b.check(Some("Bearer abc")));
        assert!(!b.check(Some("Basic !!!")));
        assert_eq!(b.verified.map.lock().len(), 1, "failures are not cached");
    }

    #[test]
    fn unknown_users_pay_for_a_bcrypt_of_the_configured_cost() {
        let hash = bcrypt::hash("s3cret", 5).unwrap();
        let b = BasicAuth::new([("alice".to_string(), hash)].into());
        assert!(b.decoy.get().is_none());
        assert!(!b.check(Some(&basic("mallory", "s3cret"))));
        let decoy = b
            .decoy
            .get()
            .expect("an unknown user is checked against the decoy");
        assert!(decoy.starts_with("$2") && decoy.split('$').nth(2) == Some("05"));
        // The decoy never lets anyone in, whatever the password.
        assert!(!b.check(Some(&basic("mallory", "kubestate-decoy"))));
        assert!(!b.check(Some(&basic("", ""))));
    }

    #[test]
    fn guard_adds_headers_and_challenges() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let g = Guard {
            basic: Some(BasicAuth::new([("u".to_string(), hash)].into())),
            filter: None,
            headers: vec![("X-Frame-Options".into(), "deny".into())],
        };
        let req = |auth: Option<String>| Request {
            method: super::super::http::Method::Get,
            target: "/metrics".into(),
            headers: auth
                .map(|a| vec![("Authorization".into(), a)])
                .unwrap_or_default(),
            peer: "127.0.0.1:1".parse().unwrap(),
        };
        let ok = g.handle(&req(Some(basic("u", "pw"))), |_| Response::text(200, "x"));
        assert_eq!(ok.status, 200);
        assert!(ok.has_header("X-Frame-Options"));
        let denied = g.handle(&req(None), |_| Response::text(200, "x"));
        assert_eq!(denied.status, 401);
        assert!(denied.has_header("WWW-Authenticate") && denied.has_header("X-Frame-Options"));
    }

    #[test]
    fn cache_expires() {
        let c: Cache<Decision> = Cache::new();
        let k = key(&[b"t"]);
        c.put(k, Decision::Allow, Duration::from_secs(60));
        assert_eq!(c.get(&k), Some(Decision::Allow));
        c.put(k, Decision::Allow, Duration::ZERO);
        assert_eq!(c.get(&k), None);
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
    }
}
