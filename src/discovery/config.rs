//! `--sd-config FILE`: the discovery jobs, validated the way Prometheus validates
//! `kubernetes_sd_configs`, so a config that Prometheus rejects is rejected here too.

use super::selector::{parse_field_selector, parse_label_selector, Selector, SelectorError};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where an in-cluster pod finds its own namespace (`own_namespace: true`).
pub const OWN_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// A Kubernetes SD role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "node" => Role::Node,
            "pod" => Role::Pod,
            "service" => Role::Service,
            "endpoints" => Role::Endpoints,
            "endpointslice" => Role::EndpointSlice,
            "ingress" => Role::Ingress,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Pod => "pod",
            Role::Service => "service",
            Role::Endpoints => "endpoints",
            Role::EndpointSlice => "endpointslice",
            Role::Ingress => "ingress",
        }
    }

    /// Prometheus's table of selector roles each SD role accepts.
    pub fn allowed_selectors(self) -> &'static [Role] {
        match self {
            Role::Pod => &[Role::Pod, Role::Node],
            Role::Service => &[Role::Service],
            Role::Endpoints => &[Role::Endpoints, Role::Service, Role::Pod],
            Role::EndpointSlice => &[Role::EndpointSlice, Role::Service, Role::Pod],
            Role::Node => &[Role::Node],
            Role::Ingress => &[Role::Ingress],
        }
    }

    /// The fields the API server lets a field selector use for this resource; evaluated
    /// locally, so anything else must be refused at load rather than silently never match.
    pub fn selectable_fields(self) -> &'static [&'static str] {
        match self {
            Role::Pod => &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            ],
            Role::Node => &["metadata.name", "spec.unschedulable"],
            Role::Service => &[
                "metadata.name",
                "metadata.namespace",
                "spec.clusterIP",
                "spec.type",
            ],
            Role::Endpoints | Role::EndpointSlice | Role::Ingress => {
                &["metadata.name", "metadata.namespace"]
            }
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which extra metadata a job attaches (Prometheus's `attach_metadata`). `deployment` and
/// `cronjob` make discovery watch ReplicaSets and Jobs respectively; `job` needs no watch, the
/// pod's own owner reference names the Job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachMetadata {
    pub node: bool,
    pub namespace: bool,
    pub deployment: bool,
    pub job: bool,
    pub cronjob: bool,
}

/// One validated discovery job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub name: String,
    pub role: Role,
    /// Empty: every namespace. Ignored by the node role.
    pub namespaces: Vec<String>,
    pub selectors: Vec<(Role, Selector)>,
    pub attach: AttachMetadata,
}

impl Job {
    pub fn selector(&self, role: Role) -> Option<&Selector> {
        self.selectors
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, s)| s)
    }

    /// Whether objects in `ns` belong to this job.
    pub fn in_namespace(&self, ns: &str) -> bool {
        self.role == Role::Node
            || self.namespaces.is_empty()
            || self.namespaces.iter().any(|n| n == ns)
    }
}

/// Every job of an `--sd-config` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdConfig {
    pub jobs: Vec<Job>,
}

/// What is wrong with an `--sd-config` file; each variant names the job and key at fault.
#[derive(Debug)]
pub enum SdConfigError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Yaml {
        path: PathBuf,
        message: String,
    },
    /// Jobs are addressed by index until they have a name.
    EmptyName {
        index: usize,
    },
    /// The name becomes a URL path segment and a file name.
    InvalidName {
        job: String,
    },
    DuplicateName {
        job: String,
    },
    MissingRole {
        job: String,
    },
    UnknownRole {
        job: String,
        key: String,
        role: String,
    },
    SelectorRoleNotAllowed {
        job: String,
        role: Role,
        selector_role: Role,
    },
    DuplicateSelectorRole {
        job: String,
        selector_role: Role,
    },
    Selector {
        job: String,
        key: String,
        expr: String,
        error: SelectorError,
    },
    OwnNamespace {
        job: String,
        reason: String,
    },
}

impl fmt::Display for SdConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdConfigError::Read { path, source } => {
                write!(f, "cannot read SD config {}: {source}", path.display())
            }
            SdConfigError::Yaml { path, message } => {
                write!(f, "invalid SD config {}: {message}", path.display())
            }
            SdConfigError::EmptyName { index } => {
                write!(f, "SD job #{index}: key \"name\" is missing or empty")
            }
            SdConfigError::InvalidName { job } => write!(
                f,
                "SD job {job:?}: key \"name\" may only contain letters, digits, '_', '-' and '.', and must not start with '.'"
            ),
            SdConfigError::DuplicateName { job } => {
                write!(f, "SD job {job:?}: key \"name\" is used by more than one job")
            }
            SdConfigError::MissingRole { job } => write!(f, "SD job {job:?}: key \"role\" is missing"),
            SdConfigError::UnknownRole { job, key, role } => write!(
                f,
                "SD job {job:?}: key {key:?}: unknown role {role:?} (expected node, pod, service, endpoints, endpointslice or ingress)"
            ),
            SdConfigError::SelectorRoleNotAllowed {
                job,
                role,
                selector_role,
            } => {
                let allowed: Vec<&str> = role.allowed_selectors().iter().map(|r| r.as_str()).collect();
                write!(
                    f,
                    "SD job {job:?}: key \"selectors\": {role} role supports only {} selectors, not {selector_role}",
                    allowed.join(", ")
                )
            }
            SdConfigError::DuplicateSelectorRole { job, selector_role } => write!(
                f,
                "SD job {job:?}: key \"selectors\": duplicated selector role {selector_role}"
            ),
            SdConfigError::Selector {
                job,
                key,
                expr,
                error,
            } => write!(f, "SD job {job:?}: key {key:?}: {expr:?}: {error}"),
            SdConfigError::OwnNamespace { job, reason } => write!(
                f,
                "SD job {job:?}: key \"namespaces.own_namespace\": cannot read own namespace: {reason}"
            ),
        }
    }
}

impl std::error::Error for SdConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    #[serde(default)]
    name: String,
    role: Option<String>,
    #[serde(default)]
    namespaces: RawNamespaces,
    #[serde(default)]
    selectors: Vec<RawSelector>,
    #[serde(default)]
    attach_metadata: RawAttach,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNamespaces {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    own_namespace: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    role: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    field: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAttach {
    #[serde(default)]
    node: bool,
    #[serde(default)]
    namespace: bool,
    #[serde(default)]
    job: bool,
    #[serde(default)]
    deployment: bool,
    #[serde(default)]
    cronjob: bool,
}

/// Reads and validates `path`; the own namespace is read from [`OWN_NAMESPACE_FILE`] only if
/// some job asks for it.
pub fn load(path: &Path) -> Result<SdConfig, SdConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| SdConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path, || {
        std::fs::read_to_string(OWN_NAMESPACE_FILE)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("{OWN_NAMESPACE_FILE}: {e}"))
    })
}

fn valid_job_name(n: &str) -> bool {
    !n.starts_with('.')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Validates the YAML `text` (a list of jobs); `path` only labels errors.
pub fn parse(
    text: &str,
    path: &Path,
    own_namespace: impl Fn() -> Result<String, String>,
) -> Result<SdConfig, SdConfigError> {
    let raw: Option<Vec<RawJob>> =
        serde_yaml_ng::from_str(text).map_err(|e| SdConfigError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut jobs: Vec<Job> = Vec::new();
    for (index, r) in raw.unwrap_or_default().into_iter().enumerate() {
        let name = r.name.trim().to_string();
        if name.is_empty() {
            return Err(SdConfigError::EmptyName { index });
        }
        if !valid_job_name(&name) {
            return Err(SdConfigError::InvalidName { job: name });
        }
        if jobs.iter().any(|j| j.name == name) {
            return Err(SdConfigError::DuplicateName { job: name });
        }
        let role_s = r
            .role
            .ok_or_else(|| SdConfigError::MissingRole { job: name.clone() })?;
        let role = Role::parse(&role_s).ok_or_else(|| SdConfigError::UnknownRole {
            job: name.clone(),
            key: "role".into(),
            role: role_s.clone(),
        })?;
        let mut selectors: Vec<(Role, Selector)> = Vec::new();
        for (i, s) in r.selectors.iter().enumerate() {
            let sr = Role::parse(&s.role).ok_or_else(|| SdConfigError::UnknownRole {
                job: name.clone(),
                key: format!("selectors[{i}].role"),
                role: s.role.clone(),
            })?;
            if !role.allowed_selectors().contains(&sr) {
                return Err(SdConfigError::SelectorRoleNotAllowed {
                    job: name,
                    role,
                    selector_role: sr,
                });
            }
            if selectors.iter().any(|(r, _)| *r == sr) {
                return Err(SdConfigError::DuplicateSelectorRole {
                    job: name,
                    selector_role: sr,
                });
            }
            let label =
                parse_label_selector(&s.label).map_err(|error| SdConfigError::Selector {
                    job: name.clone(),
                    key: format!("selectors[{i}].label"),
                    expr: s.label.clone(),
                    error,
                })?;
            let field =
                parse_field_selector(&s.field, sr.selectable_fields()).map_err(|error| {
                    SdConfigError::Selector {
                        job: name.clone(),
                        key: format!("selectors[{i}].field"),
                        expr: s.field.clone(),
                        error,
                    }
                })?;
            selectors.push((sr, Selector { label, field }));
        }
        let a = &r.attach_metadata;
        let mut namespaces = r.namespaces.names.clone();
        if r.namespaces.own_namespace {
            let own = own_namespace().map_err(|reason| SdConfigError::OwnNamespace {
                job: name.clone(),
                reason,
            })?;
            namespaces.push(own);
        }
        namespaces.sort();
        namespaces.dedup();
        jobs.push(Job {
            name,
            role,
            namespaces,
            selectors,
            attach: AttachMetadata {
                node: a.node,
                namespace: a.namespace,
                deployment: a.deployment,
                job: a.job,
                cronjob: a.cronjob,
            },
        });
    }
    Ok(SdConfig { jobs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<SdConfig, SdConfigError> {
        parse(text, Path::new("sd.yaml"), || Ok("own-ns".to_string()))
    }

    fn err(text: &str) -> String {
        match p(text) {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn valid_file() {
        let c = p(r#"
- name: pods
  role: pod
  namespaces: {names: [b, a], own_namespace: true}
  selectors:
    - {role: pod, label: "app=web", field: "spec.nodeName=n1"}
    - {role: node, label: "zone in (a,b)"}
  attach_metadata: {node: true, namespace: true}
- name: nodes
  role: node
"#)
        .unwrap();
        assert_eq!(c.jobs.len(), 2);
        let j = &c.jobs[0];
        assert_eq!(j.role, Role::Pod);
        assert_eq!(j.namespaces, vec!["a", "b", "own-ns"]);
        assert!(j.attach.node && j.attach.namespace && !j.attach.job);
        assert_eq!(j.selector(Role::Pod).unwrap().label.len(), 1);
        assert_eq!(j.selector(Role::Pod).unwrap().field.len(), 1);
        assert!(j.selector(Role::Node).is_some());
        assert!(j.in_namespace("a") && !j.in_namespace("c"));
        assert_eq!(c.jobs[1].role, Role::Node);
        assert!(c.jobs[1].in_namespace("anything"));
        assert_eq!(p("").unwrap().jobs.len(), 0);
    }

    #[test]
    fn error_cases_name_job_and_key() {
        assert_eq!(
            err("- role: pod\n"),
            "SD job #0: key \"name\" is missing or empty"
        );
        assert!(err("- {name: a, role: pod}\n- {name: a, role: node}\n")
            .contains("SD job \"a\": key \"name\" is used by more than one job"));
        assert!(err("- {name: a/b, role: pod}\n").contains("SD job \"a/b\": key \"name\""));
        assert!(err("- {name: a}\n").contains("SD job \"a\": key \"role\" is missing"));
        assert!(err("- {name: a, role: pods}\n")
            .contains("SD job \"a\": key \"role\": unknown role \"pods\""));
        assert!(err("- {name: a, role: pod, selectors: [{role: x}]}\n")
            .contains("SD job \"a\": key \"selectors[0].role\": unknown role \"x\""));
        assert!(err("- {name: a, role: service, selectors: [{role: pod}]}\n").contains(
            "SD job \"a\": key \"selectors\": service role supports only service selectors, not pod"
        ));
        assert!(err(
            "- {name: a, role: endpoints, selectors: [{role: pod}, {role: pod, label: x}]}\n"
        )
        .contains("SD job \"a\": key \"selectors\": duplicated selector role pod"));
        assert!(
            err("- {name: a, role: pod, selectors: [{role: pod, label: \"a in b\"}]}\n")
                .contains("SD job \"a\": key \"selectors[0].label\"")
        );
        assert!(err(
            "- {name: a, role: ingress, selectors: [{role: ingress, field: \"spec.x=1\"}]}\n"
        )
        .contains("SD job \"a\": key \"selectors[0].field\""));
        assert!(
            err("- {name: a, role: pod, attach_metadata: {replicaset: true}}\n")
                .contains("unknown field `replicaset`")
        );
        assert!(err("- {name: a, role: pod, bogus: 1}\n").contains("sd.yaml"));
        let e = parse(
            "- {name: a, role: pod, namespaces: {own_namespace: true}}\n",
            Path::new("x"),
            || Err("no file".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("SD job \"a\": key \"namespaces.own_namespace\""),
            "{e}"
        );
    }

    #[test]
    fn every_attach_metadata_key_is_accepted() {
        let c = p("- {name: a, role: pod, attach_metadata: {deployment: true, cronjob: true}}\n\
             - {name: b, role: endpointslice, attach_metadata: {node: true, namespace: true, deployment: true, job: true, cronjob: true}}\n")
        .unwrap();
        assert_eq!(
            c.jobs[0].attach,
            AttachMetadata {
                deployment: true,
                cronjob: true,
                ..Default::default()
            }
        );
        assert_eq!(
            c.jobs[1].attach,
            AttachMetadata {
                node: true,
                namespace: true,
                deployment: true,
                job: true,
                cronjob: true,
            }
        );
        assert_eq!(
            p("- {name: a, role: pod}\n").unwrap().jobs[0].attach,
            AttachMetadata::default()
        );
    }

    #[test]
    fn allowed_selector_table() {
        for (role, allowed) in [
            (Role::Pod, "pod,node"),
            (Role::Endpoints, "endpoints,service,pod"),
            (Role::EndpointSlice, "endpointslice,service,pod"),
        ] {
            let got: Vec<&str> = role
                .allowed_selectors()
                .iter()
                .map(|r| r.as_str())
                .collect();
            assert_eq!(got.join(","), allowed);
        }
    }
}
