//! Who may read the endpoints: basic-auth users from the web config (bcrypt hashes, as
//! exporter-toolkit), and `--auth-filter`, which asks the API server — a TokenReview for the
//! bearer token, then a SubjectAccessReview for `get` on the path — as kube-state-metrics does
//! with controller-runtime's filter.
//!
//! Both checks are slow on purpose or by nature (bcrypt; an API round trip), so [`Guard`] is
//! an HTTP [`Gate`]: a request is decided on the worker when its answer is cached, and
//! otherwise goes to the server's bounded verifier pool. The caches are bounded and keyed by
//! an HMAC under a per-process random key, so no password or token sits in memory as a key.
//! bcrypt results are kept positive and negative, as exporter-toolkit does (a repeated wrong
//! password costs one bcrypt); review results for kube-rbac-proxy's TTLs: TokenReviews two
//! minutes either way, SubjectAccessReviews five minutes allowed and thirty seconds denied.

use super::http::{Admission, Gate, Request, Response};
use crate::kube::client::ApiClient;
use crate::log::Level;
use crate::log_event;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// TokenReview results, authenticated or not (kube-rbac-proxy's delegating authenticator).
const TOKEN_TTL: Duration = Duration::from_secs(120);
/// An allowed SubjectAccessReview (kube-rbac-proxy's `AllowCacheTTL`).
const ALLOW_TTL: Duration = Duration::from_secs(300);
/// A denied SubjectAccessReview (kube-rbac-proxy's `DenyCacheTTL`).
const DENY_TTL: Duration = Duration::from_secs(30);
/// Credentials that passed bcrypt; only someone who knows a password can add one.
const GOOD_MAX: usize = 256;
/// Everything else: wrong passwords, tokens and their review results.
const CACHE_MAX: usize = 4096;
/// One review request may take this long.
const REVIEW_TIMEOUT: Duration = Duration::from_secs(10);

/// A keyed hash of credentials.
type Tag = [u8; 32];

/// HMAC-SHA256 under a key drawn at start-up: cache keys say nothing about the credentials
/// outside this process, and cannot be precomputed to collide.
struct Keyer(ring::hmac::Key);

impl Keyer {
    fn new() -> Keyer {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng).unwrap_or_else(|_| {
            // no OS randomness: still keyed, by what the hasher seeds itself with
            use std::hash::{BuildHasher, Hasher};
            let mut seed = Vec::with_capacity(40);
            for i in 0..4u64 {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u64(i);
                seed.extend_from_slice(&h.finish().to_le_bytes());
            }
            seed.extend_from_slice(&std::process::id().to_le_bytes());
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &seed)
        });
        Keyer(key)
    }

    /// Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    fn tag(&self, parts: &[&[u8]]) -> Tag {
        let mut ctx = ring::hmac::Context::with_key(&self.0);
        for p in parts {
            ctx.update(&(p.len() as u64).to_le_bytes());
            ctx.update(p);
        }
        let mut t = [0u8; 32];
        t.copy_from_slice(ctx.sign().as_ref());
        t
    }
}

/// A bounded map from credential tags to results. Indexed by the first eight bytes of the
/// tag; the whole tag is compared in constant time. At the bound, expired entries go first,
/// then the one closest to expiry (or any, without expiry): a miss only costs time.
struct Cache<V: Clone> {
    map: Mutex<HashMap<u64, Entry<V>>>,
    max: usize,
}

struct Entry<V> {
    tag: Tag,
    /// None: kept until evicted.
    until: Option<Instant>,
    value: V,
}

impl<V: Clone> Cache<V> {
    fn new(max: usize) -> Self {
        Cache {
            map: Mutex::new(HashMap::new()),
            max,
        }
    }

    fn index(tag: &Tag) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&tag[..8]);
        u64::from_le_bytes(b)
    }

    fn get(&self, tag: &Tag) -> Option<V> {
        let m = self.map.lock();
        let e = m.get(&Self::index(tag))?;
        let fresh = e.until.is_none_or(|u| Instant::now() < u);
        (fresh && bool::from(e.tag.ct_eq(tag))).then(|| e.value.clone())
    }

    /// Keeps `v` for `ttl` (None: until evicted).
    fn put(&self, tag: Tag, v: V, ttl: Option<Duration>) {
        let now = Instant::now();
        let mut m = self.map.lock();
        if m.len() >= self.max && !m.contains_key(&Self::index(&tag)) {
            m.retain(|_, e| e.until.is_none_or(|u| now < u));
            if m.len() >= self.max {
                let victim = m.iter().min_by_key(|(_, e)| e.until).map(|(k, _)| *k);
                if let Some(k) = victim {
                    m.remove(&k);
                }
            }
        }
        m.insert(
            Self::index(&tag),
            Entry {
                tag,
                until: ttl.map(|t| now + t),
                value: v,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// Counters of the expensive checks, for the telemetry port: how often each ran, how often a
/// cache answered instead, and how many requests found the verifier queue full.
#[derive(Default)]
pub struct AuthStats {
    bcrypt: AtomicU64,
    token_reviews: AtomicU64,
    access_reviews: AtomicU64,
    basic_hits: AtomicU64,
    token_hits: AtomicU64,
    access_hits: AtomicU64,
    busy: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// `basic_auth_users`: user → bcrypt hash.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    keyer: Keyer,
    /// Credentials that passed bcrypt, apart so that wrong ones cannot evict them.
    good: Cache<()>,
    /// Credentials that failed bcrypt (wrong password, or an unknown user).
    bad: Cache<()>,
    /// One bcrypt at a time, as exporter-toolkit: a flood of new wrong passwords costs at most
    /// one core.
    bcrypt: Mutex<()>,
    /// Verified in place of a missing user's hash, so that an unknown user name costs as much
    /// bcrypt work as a wrong password and response times do not reveal which users exist.
    decoy: std::sync::OnceLock<String>,
    stats: Arc<AuthStats>,
}

/// What the caches know about a Basic `Authorization` header.
enum Known {
    Good,
    Bad,
    /// Needs a bcrypt of this password against this hash (None: unknown user, the decoy).
    Unknown {
        tag: Tag,
        pass: String,
        hash: Option<String>,
    },
}

impl BasicAuth {
    pub fn new(users: BTreeMap<String, String>) -> Self {
        BasicAuth {
            users,
            keyer: Keyer::new(),
            good: Cache::new(GOOD_MAX),
            bad: Cache::new(CACHE_MAX),
            bcrypt: Mutex::new(()),
            decoy: std::sync::OnceLock::new(),
            stats: Arc::default(),
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

    fn lookup(&self, authorization: Option<&str>) -> Known {
        let Some((user, pass)) = authorization.and_then(parse_basic) else {
            return Known::Bad;
        };
        let hash = self.users.get(&user).cloned();
        // an unknown user is keyed apart from every real hash
        let tag = self.keyer.tag(&[
            user.as_bytes(),
            hash.as_deref().unwrap_or("").as_bytes(),
            pass.as_bytes(),
        ]);
        if self.good.get(&tag).is_some() {
            bump(&self.stats.basic_hits);
            Known::Good
        } else if self.bad.get(&tag).is_some() {
            bump(&self.stats.basic_hits);
            Known::Bad
        } else {
            Known::Unknown { tag, pass, hash }
        }
    }

    /// From the caches alone: Some(true/false), or None when bcrypt must run.
    fn cached(&self, authorization: Option<&str>) -> Option<bool> {
        match self.lookup(authorization) {
            Known::Good => Some(true),
            Known::Bad => Some(false),
            Known::Unknown { .. } => None,
        }
    }

    /// True when the `Authorization: Basic …` header names a user whose password matches.
    /// Runs bcrypt on a cache miss.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        let (tag, pass, hash) = match self.lookup(authorization) {
            Known::Good => return true,
            Known::Bad => return false,
            Known::Unknown { tag, pass, hash } => (tag, pass, hash),
        };
        let _one = self.bcrypt.lock();
        // a request with the same credentials may have been verified while this one waited
        if self.good.get(&tag).is_some() {
            return true;
        }
        if self.bad.get(&tag).is_some() {
            return false;
        }
        bump(&self.stats.bcrypt);
        let ok = match &hash {
            Some(h) => bcrypt::verify(pass.as_bytes(), h).unwrap_or(false),
            None => {
                let _ = bcrypt::verify(pass.as_bytes(), self.decoy());
                false
            }
        };
        if ok {
            self.good.put(tag, (), None);
        } else {
            self.bad.put(tag, (), None);
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

/// Who a TokenReview said the token belongs to; None: not authenticated.
type Subject = Option<Arc<Value>>;

/// `--auth-filter`: bearer token → TokenReview → SubjectAccessReview.
pub struct AuthFilter {
    client: Arc<ApiClient>,
    keyer: Keyer,
    /// token → subject
    tokens: Cache<Subject>,
    /// (subject, path) → allowed
    access: Cache<bool>,
    stats: Arc<AuthStats>,
}

/// The bearer token of an `Authorization` header.
fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization
        .map(str::trim)
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
}

impl AuthFilter {
    pub fn new(client: Arc<ApiClient>) -> Self {
        AuthFilter {
            client,
            keyer: Keyer::new(),
            tokens: Cache::new(CACHE_MAX),
            access: Cache::new(CACHE_MAX),
            stats: Arc::default(),
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

    /// The SubjectAccessReview cache key: who (as the TokenReview said) and what.
    fn access_tag(&self, user: &Value, path: &str) -> Tag {
        self.keyer
            .tag(&[user.to_string().as_bytes(), path.as_bytes(), b"get"])
    }

    /// From the caches alone; None when a review must be asked.
    fn cached(&self, authorization: Option<&str>, path: &str) -> Option<Decision> {
        let Some(token) = bearer(authorization) else {
            return Some(Decision::Unauthenticated);
        };
        let subject = self.tokens.get(&self.keyer.tag(&[token.as_bytes()]))?;
        bump(&self.stats.token_hits);
        let Some(user) = subject else {
            return Some(Decision::Unauthenticated);
        };
        let allowed = self.access.get(&self.access_tag(&user, path))?;
        bump(&self.stats.access_hits);
        Some(if allowed {
            Decision::Allow
        } else {
            Decision::Forbidden
        })
    }

    /// Decides for the `Authorization` header of a request to `path`, asking the API server
    /// what the caches do not know. Errors are not cached.
    pub fn check(&self, authorization: Option<&str>, path: &str) -> Result<Decision, ReviewError> {
        let Some(token) = bearer(authorization) else {
            return Ok(Decision::Unauthenticated);
        };
        let token_tag = self.keyer.tag(&[token.as_bytes()]);
        let subject = match self.tokens.get(&token_tag) {
            Some(s) => {
                bump(&self.stats.token_hits);
                s
            }
            None => {
                let s = self.token_review(token)?;
                self.tokens.put(token_tag, s.clone(), Some(TOKEN_TTL));
                s
            }
        };
        let Some(user) = subject else {
            return Ok(Decision::Unauthenticated);
        };
        let access_tag = self.access_tag(&user, path);
        let allowed = match self.access.get(&access_tag) {
            Some(a) => {
                bump(&self.stats.access_hits);
                a
            }
            None => {
                let a = self.access_review(&user, path)?;
                let ttl = if a { ALLOW_TTL } else { DENY_TTL };
                self.access.put(access_tag, a, Some(ttl));
                a
            }
        };
        Ok(if allowed {
            Decision::Allow
        } else {
            Decision::Forbidden
        })
    }

    fn token_review(&self, token: &str) -> Result<Subject, ReviewError> {
        bump(&self.stats.token_reviews);
        let tr = self.post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            &json!({
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token},
            }),
        )?;
        let status = &tr["status"];
        Ok((status["authenticated"].as_bool() == Some(true))
            .then(|| Arc::new(status["user"].clone())))
    }

    fn access_review(&self, user: &Value, path: &str) -> Result<bool, ReviewError> {
        bump(&self.stats.access_reviews);
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
        Ok(sar["status"]["allowed"].as_bool() == Some(true))
    }
}

/// Paths that stay open under `--auth-filter`: probes (kubelet has no token) and the index.
fn open_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/")
}

/// Everything between the server and the routes: basic auth, the auth filter, and the
/// configured extra headers (added to every response, errors included). The checks run as the
/// server's [`Gate`]; [`Guard::handle`] adds the headers to what the routes answer.
pub struct Guard {
    basic: Option<BasicAuth>,
    filter: Option<AuthFilter>,
    headers: Vec<(String, String)>,
    stats: Arc<AuthStats>,
}

impl Guard {
    pub fn new(
        basic: Option<BasicAuth>,
        filter: Option<AuthFilter>,
        headers: Vec<(String, String)>,
    ) -> Guard {
        let stats = Arc::<AuthStats>::default();
        let basic = basic.map(|b| BasicAuth {
            stats: stats.clone(),
            ..b
        });
        let filter = filter.map(|f| AuthFilter {
            stats: stats.clone(),
            ..f
        });
        Guard {
            basic,
            filter,
            headers,
            stats,
        }
    }

    /// True when some request needs credentials.
    pub fn checks(&self) -> bool {
        self.basic.is_some() || self.filter.is_some()
    }

    /// `resp` with the configured extra headers.
    fn finish(&self, mut resp: Response) -> Response {
        for (k, v) in &self.headers {
            if !resp.has_header(k) {
                resp.headers.push((k.clone(), v.clone()));
            }
        }
        resp
    }

    /// What the routes answer, with the extra headers (the checks ran before, as the gate).
    pub fn handle(&self, req: &Request, inner: impl Fn(&Request) -> Response) -> Response {
        self.finish(inner(req))
    }

    fn unauthorized(&self, scheme: &str) -> Admission {
        Admission::Refuse(
            self.finish(
                Response::text(401, "Unauthorized\n").with_header("WWW-Authenticate", scheme),
            ),
        )
    }

    fn filtered(&self, decision: Result<Decision, ReviewError>) -> Admission {
        match decision {
            Ok(Decision::Allow) => Admission::Pass,
            Ok(Decision::Unauthenticated) => self.unauthorized("Bearer"),
            Ok(Decision::Forbidden) => {
                Admission::Refuse(self.finish(Response::text(403, "Forbidden\n")))
            }
            Err(e) => {
                log_event!(Level::Warn, "auth filter unavailable", err = e);
                Admission::Refuse(self.finish(Response::text(503, "auth filter unavailable\n")))
            }
        }
    }

    /// Self-metrics of the checks, in the text format; nothing when no check is configured.
    pub fn render_stats(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        if !self.checks() {
            return;
        }
        let s = &*self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut checks = Vec::new();
        let mut hits = Vec::new();
        if self.basic.is_some() {
            checks.push(("bcrypt", get(&s.bcrypt)));
            hits.push(("basic", get(&s.basic_hits)));
        }
        if self.filter.is_some() {
            checks.push(("token_review", get(&s.token_reviews)));
            checks.push(("access_review", get(&s.access_reviews)));
            hits.push(("token_review", get(&s.token_hits)));
            hits.push(("access_review", get(&s.access_hits)));
        }
        let _ = writeln!(
            out,
            "# HELP kubestate_http_auth_checks_total Expensive credential checks run (bcrypt, TokenReview, SubjectAccessReview).\n\
             # TYPE kubestate_http_auth_checks_total counter"
        );
        for (check, n) in checks {
            let _ = writeln!(
                out,
                "kubestate_http_auth_checks_total{{check=\"{check}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP kubestate_http_auth_cache_hits_total Credential checks answered from the cache.\n\
             # TYPE kubestate_http_auth_cache_hits_total counter"
        );
        for (check, n) in hits {
            let _ = writeln!(
                out,
                "kubestate_http_auth_cache_hits_total{{check=\"{check}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP kubestate_http_auth_busy_total Requests answered 429 because the credential verification queue was full.\n\
             # TYPE kubestate_http_auth_busy_total counter\n\
             kubestate_http_auth_busy_total {}",
            get(&s.busy)
        );
    }
}

impl Default for Guard {
    fn default() -> Self {
        Guard::new(None, None, Vec::new())
    }
}

impl Gate for Guard {
    fn admit(&self, req: &Request) -> Admission {
        if let Some(basic) = &self.basic {
            match basic.cached(req.header("Authorization")) {
                Some(true) => {}
                Some(false) => return self.unauthorized("Basic"),
                None => return Admission::Verify,
            }
        }
        let Some(filter) = &self.filter else {
            return Admission::Pass;
        };
        let path = req.path();
        if open_path(path) {
            return Admission::Pass;
        }
        match filter.cached(req.header("Authorization"), path) {
            Some(d) => self.filtered(Ok(d)),
            None => Admission::Verify,
        }
    }

    fn verify(&self, req: &Request) -> Admission {
        if let Some(basic) = &self.basic {
            if !basic.check(req.header("Authorization")) {
                return self.unauthorized("Basic");
            }
        }
        let Some(filter) = &self.filter else {
            return Admission::Pass;
        };
        let path = req.path();
        if open_path(path) {
            return Admission::Pass;
        }
        // with basic auth in front, the bearer token travels in the same header only when
        // basic auth is off; kube-state-metrics has the same constraint
        self.filtered(filter.check(req.header("Authorization"), path))
    }

    fn busy(&self) -> Response {
        bump(&self.stats.busy);
        self.finish(
            Response::text(429, "too many unverified requests, retry later\n")
                .with_header("Retry-After", "1"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::http::Method;

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    fn bcrypts(b: &BasicAuth) -> u64 {
        b.stats.bcrypt.load(Ordering::Relaxed)
    }

    #[test]
    fn basic_auth_caches_good_and_bad_credentials() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let b = BasicAuth::new([("alice".to_string(), hash)].into());
        assert_eq!(b.cached(Some(&basic("alice", "s3cret"))), None);
        assert!(b.check(Some(&basic("alice", "s3cret"))));
        assert_eq!(b.good.len(), 1);
        assert_eq!(b.cached(Some(&basic("alice", "s3cret"))), Some(true));
        assert!(b.check(Some(&basic("alice", "s3cret"))));
        assert_eq!(bcrypts(&b), 1, "a verified password is not bcrypted again");
        // a repeated wrong password costs one bcrypt, then comes from the cache
        for _ in 0..5 {
            assert!(!b.check(Some(&basic("alice", "wrong"))));
        }
        assert_eq!(bcrypts(&b), 2);
        assert_eq!(b.cached(Some(&basic("alice", "wrong"))), Some(false));
        assert!(!b.check(Some(&basic("bob", "s3cret"))));
        assert!(!b.check(Some(&basic("bob", "s3cret"))));
        assert_eq!(bcrypts(&b), 3, "unknown users are cached too");
        // malformed headers never reach bcrypt
        assert_eq!(b.cached(None), Some(false));
        assert_eq!(b.cached(Some("Bearer abc")), Some(false));
        assert_eq!(b.cached(Some("Basic !!!")), Some(false));
        assert_eq!(bcrypts(&b), 3);
        assert_eq!((b.good.len(), b.bad.len()), (1, 2));
    }

    #[test]
    fn wrong_passwords_cannot_evict_verified_ones() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let b = BasicAuth::new([("alice".to_string(), hash)].into());
        assert!(b.check(Some(&basic("alice", "s3cret"))));
        for i in 0..CACHE_MAX + 10 {
            // filling the negative cache directly: a bcrypt each would take minutes
            let tag = b.keyer.tag(&[b"alice", b"x", format!("{i}").as_bytes()]);
            b.bad.put(tag, (), None);
        }
        assert_eq!(b.bad.len(), CACHE_MAX, "bounded");
        assert_eq!(b.cached(Some(&basic("alice", "s3cret"))), Some(true));
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

    fn req(auth: Option<String>) -> Request {
        Request {
            method: Method::Get,
            target: "/metrics".into(),
            headers: auth
                .map(|a| vec![("Authorization".into(), a)])
                .unwrap_or_default(),
            peer: "127.0.0.1:1".parse().unwrap(),
        }
    }

    fn refused(a: Admission) -> Response {
        match a {
            Admission::Refuse(r) => r,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn guard_admits_from_the_cache_and_verifies_the_rest() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let g = Guard::new(
            Some(BasicAuth::new([("u".to_string(), hash)].into())),
            None,
            vec![("X-Frame-Options".into(), "deny".into())],
        );
        let good = req(Some(basic("u", "pw")));
        assert!(matches!(g.admit(&good), Admission::Verify));
        assert!(matches!(g.verify(&good), Admission::Pass));
        assert!(matches!(g.admit(&good), Admission::Pass), "now cached");
        let ok = g.handle(&good, |_| Response::text(200, "x"));
        assert_eq!(ok.status, 200);
        assert!(ok.has_header("X-Frame-Options"));
        // no credentials: refused on the spot, with the challenge and the extra headers
        let denied = refused(g.admit(&req(None)));
        assert_eq!(denied.status, 401);
        assert!(denied.has_header("WWW-Authenticate") && denied.has_header("X-Frame-Options"));
        let wrong = req(Some(basic("u", "nope")));
        assert!(matches!(g.admit(&wrong), Admission::Verify));
        assert_eq!(refused(g.verify(&wrong)).status, 401);
        assert_eq!(refused(g.admit(&wrong)).status, 401, "cached denial");
        let busy = g.busy();
        assert_eq!(busy.status, 429);
        assert!(busy.has_header("Retry-After") && busy.has_header("X-Frame-Options"));
        let mut stats = Vec::new();
        g.render_stats(&mut stats);
        let stats = String::from_utf8(stats).unwrap();
        assert!(
            stats.contains("kubestate_http_auth_checks_total{check=\"bcrypt\"} 2\n"),
            "{stats}"
        );
        assert!(
            stats.contains("kubestate_http_auth_busy_total 1\n"),
            "{stats}"
        );
        let mut none = Vec::new();
        Guard::default().render_stats(&mut none);
        assert!(none.is_empty());
        assert!(matches!(
            Guard::default().admit(&req(None)),
            Admission::Pass
        ));
    }

    #[test]
    fn cache_expires_is_bounded_and_keys_are_keyed() {
        let c: Cache<Decision> = Cache::new(3);
        let k = Keyer::new();
        let t = k.tag(&[b"t"]);
        c.put(t, Decision::Allow, Some(Duration::from_secs(60)));
        assert_eq!(c.get(&t), Some(Decision::Allow));
        c.put(t, Decision::Allow, Some(Duration::ZERO));
        assert_eq!(c.get(&t), None);
        for i in 0..10u8 {
            c.put(
                k.tag(&[&[i]]),
                Decision::Forbidden,
                Some(Duration::from_secs(i.into())),
            );
        }
        assert_eq!(c.len(), 3);
        // the longest-lived entries stayed
        assert_eq!(c.get(&k.tag(&[&[9]])), Some(Decision::Forbidden));
        // a tag differing after the index bytes is not a hit
        let mut other = k.tag(&[&[9]]);
        other[31] ^= 1;
        assert_eq!(c.get(&other), None);
        assert_ne!(k.tag(&[b"ab", b"c"]), k.tag(&[b"a", b"bc"]));
        assert_ne!(
            k.tag(&[b"x"]),
            Keyer::new().tag(&[b"x"]),
            "a key per process"
        );
    }
}
