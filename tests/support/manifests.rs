//! The subset of kustomize the deployment kit (`deploy/`) uses — `resources` (files, and
//! directories with their own `kustomization.yaml`) and `namespace` — so its tests and the
//! real control-plane suite read the manifests exactly as `kubectl apply -k` would, without
//! kubectl. Anything else in a kustomization is refused rather than silently skipped.

#![allow(dead_code)]

use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One object of a built kustomization, with the file it came from.
#[derive(Debug, Clone)]
pub struct Object {
    pub source: PathBuf,
    pub value: Value,
}

impl Object {
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }
    pub fn namespace(&self) -> Option<&str> {
        self.value["metadata"]["namespace"].as_str()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Kustomization {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    namespace: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
}

/// Kinds the kit uses: (apiVersion, kind) → (plural, namespaced).
const KINDS: &[(&str, &str, &str, bool)] = &[
    ("v1", "ServiceAccount", "serviceaccounts", true),
    ("v1", "Service", "services", true),
    ("v1", "Pod", "pods", true),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("apps/v1", "DaemonSet", "daemonsets", true),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
];

fn kind_of(v: &Value) -> Result<(&'static str, bool), String> {
    let api_version = v["apiVersion"].as_str().unwrap_or("");
    let kind = v["kind"].as_str().unwrap_or("");
    KINDS
        .iter()
        .find(|(a, k, _, _)| *a == api_version && *k == kind)
        .map(|(_, _, plural, namespaced)| (*plural, *namespaced))
        .ok_or_else(|| format!("unknown kind {api_version} {kind}"))
}

/// The collection an object is created in (`POST` path on the API server).
pub fn collection_path(v: &Value) -> Result<String, String> {
    let (plural, namespaced) = kind_of(v)?;
    let api_version = v["apiVersion"].as_str().unwrap_or("");
    let prefix = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    if namespaced {
        let ns = v["metadata"]["namespace"]
            .as_str()
            .ok_or_else(|| format!("{} {}: no namespace", v["kind"], v["metadata"]["name"]))?;
        Ok(format!("{prefix}/namespaces/{ns}/{plural}"))
    } else {
        Ok(format!("{prefix}/{plural}"))
    }
}

/// Every document of a YAML file, as JSON values (empty documents skipped).
pub fn load_file(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc).map_err(|e| format!("{}: {e}", path.display()))?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// The objects `kubectl kustomize <dir>` would produce (for the subset above).
pub fn build(dir: &Path) -> Result<Vec<Object>, String> {
    let kfile = dir.join("kustomization.yaml");
    let text = std::fs::read_to_string(&kfile).map_err(|e| format!("{}: {e}", kfile.display()))?;
    let k: Kustomization =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", kfile.display()))?;
    let mut objects = Vec::new();
    for r in &k.resources {
        let path = dir.join(r);
        if path.is_dir() {
            objects.extend(build(&path)?);
        } else {
            for value in load_file(&path)? {
                objects.push(Object {
                    source: path.clone(),
                    value,
                });
            }
        }
    }
    if let Some(ns) = &k.namespace {
        for o in &mut objects {
            let (_, namespaced) = kind_of(&o.value)?;
            if namespaced {
                o.value["metadata"]["namespace"] = Value::String(ns.clone());
            }
            if let Some(subjects) = o.value["subjects"].as_array_mut() {
                for s in subjects {
                    if s["kind"] == "ServiceAccount" {
                        s["namespace"] = Value::String(ns.clone());
                    }
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for o in &objects {
        let id = (
            o.kind().to_string(),
            o.namespace().unwrap_or("").to_string(),
            o.name().to_string(),
        );
        if !seen.insert(id.clone()) {
            return Err(format!("{}: duplicate {id:?}", dir.display()));
        }
    }
    Ok(objects)
}

/// The first container's args of a workload, with `$(VAR)` references to downward-API env
/// vars replaced as the kubelet would for a pod named `pod` on node `node`.
pub fn container_args(o: &Object, pod: &str, node: &str) -> Vec<String> {
    let c = &o.value["spec"]["template"]["spec"]["containers"][0];
    let mut vars = Vec::new();
    for e in c["env"].as_array().into_iter().flatten() {
        let value = match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            Some("metadata.name") => pod.to_string(),
            Some("metadata.namespace") => o.namespace().unwrap_or("").to_string(),
            Some("spec.nodeName") => node.to_string(),
            _ => e["value"].as_str().unwrap_or("").to_string(),
        };
        vars.push((e["name"].as_str().unwrap_or("").to_string(), value));
    }
    c["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str())
        .map(|a| {
            let mut a = a.to_string();
            for (name, value) in &vars {
                a = a.replace(&format!("$({name})"), value);
            }
            a
        })
        .collect()
}

/// Workloads (the objects with a pod template).
pub fn workloads(objects: &[Object]) -> Vec<&Object> {
    objects
        .iter()
        .filter(|o| matches!(o.kind(), "Deployment" | "StatefulSet" | "DaemonSet"))
        .collect()
}

/// The name a pod of this workload gets in the tests (a StatefulSet's first ordinal).
pub fn pod_name(o: &Object) -> String {
    match o.kind() {
        "StatefulSet" => format!("{}-0", o.name()),
        _ => format!("{}-5d9f8c-x7k2p", o.name()),
    }
}
