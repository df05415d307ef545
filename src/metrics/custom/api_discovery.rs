//! Finds a configured custom resource in the API: its plural and scope, from the group
//! version's discovery document (`GET /apis/<group>/<version>`). A type the server does not
//! serve (yet) is reported as such so the caller can retry while everything else runs.

use super::config::Gvk;
use crate::kube::client::{ApiClient, Timeout};
use crate::kube::error::ApiError;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub plural: String,
    pub namespaced: bool,
}

#[derive(Debug)]
pub enum DiscoveryError {
    /// The group version is unknown (404) or does not list the kind/plural: the CRD is not
    /// installed or not served in this version.
    NotServed {
        path: String,
    },
    Api(ApiError),
    Decode {
        path: String,
        reason: String,
    },
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::NotServed { path } => {
                write!(f, "not served by the API server (GET {path})")
            }
            DiscoveryError::Api(e) => write!(f, "{e}"),
            DiscoveryError::Decode { path, reason } => {
                write!(f, "discovery document {path}: {reason}")
            }
        }
    }
}

impl std::error::Error for DiscoveryError {}

#[derive(Deserialize)]
struct ResourceList {
    #[serde(default)]
    resources: Vec<ResourceEntry>,
}

#[derive(Deserialize)]
struct ResourceEntry {
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    namespaced: bool,
}

pub fn group_version_path(gvk: &Gvk) -> String {
    if gvk.group.is_empty() {
        format!("/api/{}", gvk.version)
    } else {
        format!("/apis/{}/{}", gvk.group, gvk.version)
    }
}

/// Picks the entry for `gvk` (or for `plural` when the config names it) from a discovery
/// document; subresources (`widgets/status`) never match.
pub fn pick(
    body: &[u8],
    path: &str,
    gvk: &Gvk,
    plural: Option<&str>,
) -> Result<Discovered, DiscoveryError> {
    let list: ResourceList = serde_json::from_slice(body).map_err(|e| DiscoveryError::Decode {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    list.resources
        .into_iter()
        .filter(|r| !r.name.contains('/'))
        .find(|r| match plural {
            Some(p) => r.name == p,
            None => r.kind == gvk.kind,
        })
        .map(|r| Discovered {
            plural: r.name,
            namespaced: r.namespaced,
        })
        .ok_or_else(|| DiscoveryError::NotServed {
            path: path.to_string(),
        })
}

pub fn discover(
    client: &ApiClient,
    gvk: &Gvk,
    plural: Option<&str>,
) -> Result<Discovered, DiscoveryError> {
    let path = group_version_path(gvk);
    let resp = match client.get(&path, Timeout::Total(Duration::from_secs(30))) {
        Ok(r) => r,
        Err(e) if e.code() == Some(404) => return Err(DiscoveryError::NotServed { path }),
        Err(e) => return Err(DiscoveryError::Api(e)),
    };
    let body = resp
        .read_to_vec(16 * 1024 * 1024)
        .map_err(|e| DiscoveryError::Decode {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    pick(&body, &path, gvk, plural)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[u8] = br#"{"kind":"APIResourceList","groupVersion":"example.io/v1","resources":[
        {"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget"},
        {"name":"widgets/status","namespaced":true,"kind":"Widget"},
        {"name":"gadgets","namespaced":false,"kind":"Gadget"}]}"#;

    fn gvk(kind: &str) -> Gvk {
        Gvk {
            group: "example.io".into(),
            version: "v1".into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn finds_plural_and_scope_by_kind_or_plural() {
        let p = "/apis/example.io/v1";
        assert_eq!(
            pick(DOC, p, &gvk("Widget"), None).unwrap(),
            Discovered {
                plural: "widgets".into(),
                namespaced: true
            }
        );
        assert_eq!(
            pick(DOC, p, &gvk("Whatever"), Some("gadgets")).unwrap(),
            Discovered {
                plural: "gadgets".into(),
                namespaced: false
            }
        );
        assert!(matches!(
            pick(DOC, p, &gvk("Nope"), None),
            Err(DiscoveryError::NotServed { .. })
        ));
        assert_eq!(
            group_version_path(&Gvk {
                group: String::new(),
                version: "v1".into(),
                kind: "Pod".into()
            }),
            "/api/v1"
        );
    }
}
