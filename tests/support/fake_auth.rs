//! TokenReview and SubjectAccessReview for the fake API server, so `--auth-filter` can be
//! tested: tokens map to users, and only listed users may `get` non-resource paths.

use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct FakeAuth {
    /// token → username
    pub tokens: HashMap<String, String>,
    /// users allowed `get` on any non-resource path
    pub allowed: HashSet<String>,
    /// answer every review with 500 (the API "down" for reviews)
    pub down: bool,
    /// reviews answered, for cache assertions
    pub reviews: usize,
    /// how long each review takes to answer
    pub delay: std::time::Duration,
}

impl FakeAuth {
    /// Answers `POST path` with `body`; None when the path is not a review.
    pub fn handle(&mut self, path: &str, body: &[u8]) -> Option<(u16, Value)> {
        let review = match path {
            "/apis/authentication.k8s.io/v1/tokenreviews" => true,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews" => false,
            _ => return None,
        };
        if self.down {
            return Some((
                500,
                json!({"kind": "Status", "code": 500, "message": "down"}),
            ));
        }
        self.reviews += 1;
        let Ok(mut obj) = serde_json::from_slice::<Value>(body) else {
            return Some((
                400,
                json!({"kind": "Status", "code": 400, "message": "bad json"}),
            ));
        };
        if review {
            let token = obj["spec"]["token"].as_str().unwrap_or("");
            obj["status"] = match self.tokens.get(token) {
                Some(user) => json!({"authenticated": true,
                    "user": {"username": user, "uid": format!("uid-{user}"), "groups": ["system:authenticated"]}}),
                None => json!({"authenticated": false, "error": "invalid token"}),
            };
        } else {
            let user = obj["spec"]["user"].as_str().unwrap_or("");
            let verb_ok = obj["spec"]["nonResourceAttributes"]["verb"] == "get";
            obj["status"] = json!({"allowed": verb_ok && self.allowed.contains(user)});
        }
        Some((201, obj))
    }
}
