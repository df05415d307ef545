//! `kubestate rbac`: the minimal RBAC objects for the current flags, so a security review
//! sees exactly what kubestate will read and nothing more. The manifests under `deploy/` are
//! this output (`tests/deploy_manifests.rs` fails when they are stale).

use crate::cli::Options;
use crate::metrics::builtin;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Name of the generated ClusterRole and Role (and of the manifests' ServiceAccount).
pub const NAME: &str = "kubestate";

#[derive(Debug)]
pub enum RbacError {
    /// The `--sd-config` file cannot be read: its roles decide which resources are watched.
    SdConfig { path: String, detail: String },
    /// The custom resource state configuration cannot be loaded.
    CustomResources { detail: String },
}

impl fmt::Display for RbacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RbacError::SdConfig { path, detail } => {
                write!(f, "rbac: --sd-config {path}: {detail}")
            }
            RbacError::CustomResources { detail } => {
                write!(f, "rbac: custom resource state config: {detail}")
            }
        }
    }
}

impl std::error::Error for RbacError {}

/// Autosharding's reads in its pod's namespace: `get` on its own pod and on the StatefulSet
/// owning it, and a name-restricted watch of that StatefulSet (`src/shard/auto.rs`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ShardAccess {
    namespace: String,
    /// From `--pod` (`<statefulset>-<ordinal>`); `None` when the name is not known yet (e.g.
    /// `$(POD_NAME)`), and the Role then covers every StatefulSet of the namespace.
    statefulset: Option<String>,
}

/// What a set of flags makes kubestate do against the API server. Several workloads sharing
/// one ServiceAccount (the per-node variant) merge theirs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Access {
    /// (group, plural) listed and watched; plural `*` stands for every resource of a group
    /// (custom resource state entries whose plural is only known from the cluster).
    watch: BTreeSet<(String, String)>,
    /// (group, plural) created: the reviews of `--auth-filter`.
    create: BTreeSet<(String, String)>,
    shard: BTreeSet<ShardAccess>,
}

impl Access {
    pub fn for_options(opts: &Options) -> Result<Access, RbacError> {
        let mut a = Access::default();
        if !opts.custom_resource_state_only {
            for r in opts
                .resources
                .iter()
                .filter_map(|r| builtin::by_name(r).map(|b| b.api))
            {
                a.watch.insert((r.group.to_string(), r.plural.to_string()));
            }
        }
        if let Some(path) = &opts.sd_config {
            let cfg = crate::discovery::config::load(std::path::Path::new(path)).map_err(|e| {
                RbacError::SdConfig {
                    path: path.clone(),
                    detail: e.to_string(),
                }
            })?;
            for job in &cfg.jobs {
                for r in crate::discovery::manager::job_resources(job) {
                    let api = r.api();
                    a.watch
                        .insert((api.group.to_string(), api.plural.to_string()));
                }
            }
        }
        a.add_custom_resources(opts)?;
        if opts.auth_filter {
            a.create
                .insert(("authentication.k8s.io".into(), "tokenreviews".into()));
            a.create
                .insert(("authorization.k8s.io".into(), "subjectaccessreviews".into()));
        }
        if let (Some(pod), Some(namespace)) = (&opts.pod, &opts.pod_namespace) {
            a.shard.insert(ShardAccess {
                namespace: namespace.clone(),
                statefulset: statefulset_of(pod),
            });
        }
        a.fold_wildcards();
        Ok(a)
    }

    fn add_custom_resources(&mut self, opts: &Options) -> Result<(), RbacError> {
        let Some(source) = crate::metrics::custom::Source::from_options(
            opts.custom_resource_state_config.as_deref(),
            opts.custom_resource_state_config_file.as_deref(),
        ) else {
            return Ok(());
        };
        let crs = match crate::metrics::custom::load(&source) {
            Ok((crs, _)) => crs,
            // kubestate starts without them, so it needs nothing for them.
            Err(e)
                if e.is_missing_file()
                    && opts.continue_without_custom_resource_state_config_file =>
            {
                return Ok(())
            }
            Err(e) => {
                return Err(RbacError::CustomResources {
                    detail: e.to_string(),
                })
            }
        };
        for r in crs {
            let plural = match (&r.plural, r.gvk.is_wildcard()) {
                (Some(p), false) => p.clone(),
                _ => "*".to_string(),
            };
            if r.gvk.is_wildcard() {
                let crds = crate::metrics::custom::crd::CRDS;
                self.watch
                    .insert((crds.group.to_string(), crds.plural.to_string()));
            }
            self.watch.insert((r.gvk.group.clone(), plural));
        }
        Ok(())
    }

    /// A group-wide `*` covers that group's named plurals.
    fn fold_wildcards(&mut self) {
        let wide: BTreeSet<String> = self
            .watch
            .iter()
            .filter(|(_, p)| p == "*")
            .map(|(g, _)| g.clone())
            .collect();
        self.watch.retain(|(g, p)| p == "*" || !wide.contains(g));
    }

    pub fn merge(&mut self, other: Access) {
        self.watch.extend(other.watch);
        self.create.extend(other.create);
        self.shard.extend(other.shard);
        self.fold_wildcards();
    }

    fn watches(&self, group: &str, plural: &str) -> bool {
        self.watch
            .iter()
            .any(|(g, p)| g == group && (p == plural || p == "*"))
    }

    /// The ClusterRole, then one Role per autosharding namespace, as multi-document YAML.
    pub fn to_yaml(&self) -> String {
        let mut y = header("ClusterRole", None);
        let mut by_group: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (group, plural) in &self.watch {
            by_group.entry(group).or_default().push(plural);
        }
        for (group, plurals) in by_group {
            rule(&mut y, group, &plurals, None, &["list", "watch"]);
        }
        for (group, plural) in &self.create {
            rule(&mut y, group, &[plural.as_str()], None, &["create"]);
        }
        let mut by_ns: BTreeMap<&str, Vec<&ShardAccess>> = BTreeMap::new();
        for s in &self.shard {
            by_ns.entry(&s.namespace).or_default().push(s);
        }
        for (ns, accesses) in by_ns {
            y.push_str("---\n");
            y.push_str(&header("Role", Some(ns)));
            rule(&mut y, "", &["pods"], None, &["get"]);
            // The StatefulSet watch is name-restricted (a metadata.name field selector), which
            // resourceNames can authorise; the ClusterRole may already cover it.
            let names: Option<Vec<&str>> =
                accesses.iter().map(|s| s.statefulset.as_deref()).collect();
            let verbs: &[&str] = if self.watches("apps", "statefulsets") {
                &["get"]
            } else {
                &["get", "list", "watch"]
            };
            rule(&mut y, "apps", &["statefulsets"], names.as_deref(), verbs);
        }
        y
    }
}

/// `kubestate-2` → `kubestate`: a StatefulSet names its pods `<name>-<ordinal>`.
fn statefulset_of(pod: &str) -> Option<String> {
    let (name, ordinal) = pod.rsplit_once('-')?;
    let valid = !name.is_empty()
        && !ordinal.is_empty()
        && ordinal.bytes().all(|b| b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    valid.then(|| name.to_string())
}

fn header(kind: &str, namespace: Option<&str>) -> String {
    let mut y = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  labels:\n    \
         app.kubernetes.io/component: exporter\n    app.kubernetes.io/name: {NAME}\n    \
         app.kubernetes.io/version: {}\n  name: {NAME}\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(ns) = namespace {
        y.push_str(&format!("  namespace: {ns}\n"));
    }
    y.push_str("rules:\n");
    y
}

fn rule(y: &mut String, group: &str, plurals: &[&str], names: Option<&[&str]>, verbs: &[&str]) {
    let quote = |s: &&str| {
        if *s == "*" {
            "\"*\"".to_string()
        } else {
            s.to_string()
        }
    };
    let plurals: Vec<String> = plurals.iter().map(quote).collect();
    y.push_str(&format!(
        "- apiGroups: [\"{group}\"]\n  resources: [{}]\n",
        plurals.join(", ")
    ));
    if let Some(names) = names {
        y.push_str(&format!("  resourceNames: [{}]\n", names.join(", ")));
    }
    y.push_str(&format!("  verbs: [{}]\n", verbs.join(", ")));
}

/// What `kubestate rbac [flags]` prints.
pub fn render(opts: &Options) -> Result<String, RbacError> {
    Ok(Access::for_options(opts)?.to_yaml())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Options {
        Options::parse(args.iter().map(|s| s.to_string())).unwrap()
    }

    fn role(args: &[&str]) -> String {
        render(&opts(args)).unwrap()
    }

    fn head(kind: &str, ns: Option<&str>) -> String {
        header(kind, ns)
    }

    #[test]
    fn pods_and_deployments() {
        assert_eq!(
            role(&["--resources=pods,deployments,nodes"]),
            head("ClusterRole", None)
                + "- apiGroups: [\"\"]\n  resources: [nodes, pods]\n  verbs: [list, watch]\n\
                   - apiGroups: [\"apps\"]\n  resources: [deployments]\n  verbs: [list, watch]\n"
        );
        assert!(head("ClusterRole", None).contains("\n  name: kubestate\n"));
        assert!(head("ClusterRole", None).contains("app.kubernetes.io/name: kubestate\n"));
    }

    #[test]
    fn defaults_cover_every_default_resource_and_sd_adds_its_own() {
        let y = role(&[]);
        for r in opts(&[]).resources {
            let api = builtin::by_name(&r).unwrap().api;
            let rule = y
                .split("- apiGroups: ")
                .find(|rule| rule.starts_with(&format!("[\"{}\"]", api.group)))
                .unwrap_or_else(|| panic!("no rule for group {:?} in\n{y}", api.group));
            assert!(
                rule.contains(&format!(" {},", api.plural))
                    || rule.contains(&format!(" {}]", api.plural))
                    || rule.contains(&format!("[{},", api.plural))
                    || rule.contains(&format!("[{}]", api.plural)),
                "{r} missing in\n{y}"
            );
        }
        assert!(
            !y.contains("endpoints,") && !y.contains(" endpoints]"),
            "endpoints is not a default resource:\n{y}"
        );
        assert!(!y.contains("create") && !y.contains("kind: Role\n"), "{y}");
        let dir = std::env::temp_dir().join(format!("kubestate-rbac-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("sd.yaml");
        std::fs::write(&f, "- name: eps\n  role: endpoints\n").unwrap();
        let y = role(&["--resources=nodes", &format!("--sd-config={}", f.display())]);
        assert!(
            y.contains("endpoints") && y.contains("pods") && y.contains("services"),
            "{y}"
        );
    }

    #[test]
    fn an_unreadable_sd_config_is_an_error_not_a_smaller_role() {
        let e = render(&opts(&["--sd-config=/nonexistent/kubestate-sd.yaml"])).unwrap_err();
        assert!(
            matches!(e, RbacError::SdConfig { .. }) && e.to_string().contains("kubestate-sd.yaml"),
            "{e}"
        );
    }

    #[test]
    fn attach_metadata_deployment_and_cronjob_add_replicasets_and_jobs() {
        let dir =
            std::env::temp_dir().join(format!("kubestate-rbac-attach-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("sd.yaml");
        let sd_role = |sd: &str| {
            std::fs::write(&f, sd).unwrap();
            role(&["--resources=nodes", &format!("--sd-config={}", f.display())])
        };
        assert_eq!(
            sd_role("- {name: p, role: pod, attach_metadata: {deployment: true, cronjob: true}}\n"),
            head("ClusterRole", None)
                + "- apiGroups: [\"\"]\n  resources: [nodes, pods]\n  verbs: [list, watch]\n\
                   - apiGroups: [\"apps\"]\n  resources: [replicasets]\n  verbs: [list, watch]\n\
                   - apiGroups: [\"batch\"]\n  resources: [jobs]\n  verbs: [list, watch]\n"
        );
        // job: true reads the pod's owner reference only; roles without pod labels ignore it all.
        let y = sd_role(
            "- {name: p, role: pod, attach_metadata: {job: true}}\n\
             - {name: s, role: service, attach_metadata: {deployment: true, cronjob: true}}\n",
        );
        assert!(!y.contains("replicasets") && !y.contains("jobs"), "{y}");
        let y = sd_role("- {name: e, role: endpointslice, attach_metadata: {deployment: true}}\n");
        assert!(y.contains("replicasets") && !y.contains("jobs"), "{y}");
        let y = sd_role("- {name: s, role: service, attach_metadata: {namespace: true}}\n");
        assert!(
            y.contains("resources: [namespaces, nodes, services]"),
            "{y}"
        );
    }

    #[test]
    fn custom_resources_add_their_groups_and_wildcards_the_crds() {
        let cfg = "spec:\n  resources:\n  - groupVersionKind: {group: a.io, version: v1, kind: A}\n    resourcePlural: as\n  - groupVersionKind: {group: b.io, version: v1, kind: B}\n  - groupVersionKind: {group: c.io, version: \"*\", kind: \"*\"}\n  - groupVersionKind: {group: c.io, version: v1, kind: C}\n    resourcePlural: cs\n";
        let y = role(&[
            "--resources=pods",
            "--custom-resource-state-only",
            &format!("--custom-resource-state-config={cfg}"),
        ]);
        assert_eq!(
            y,
            head("ClusterRole", None)
                + "- apiGroups: [\"a.io\"]\n  resources: [as]\n  verbs: [list, watch]\n\
                   - apiGroups: [\"apiextensions.k8s.io\"]\n  resources: [customresourcedefinitions]\n  verbs: [list, watch]\n\
                   - apiGroups: [\"b.io\"]\n  resources: [\"*\"]\n  verbs: [list, watch]\n\
                   - apiGroups: [\"c.io\"]\n  resources: [\"*\"]\n  verbs: [list, watch]\n"
        );
    }

    #[test]
    fn a_missing_custom_resource_file_is_an_error_unless_kubestate_would_continue() {
        let missing = "--custom-resource-state-config-file=/nonexistent/kubestate-crs.yaml";
        let e = render(&opts(&["--resources=pods", missing])).unwrap_err();
        assert!(matches!(e, RbacError::CustomResources { .. }), "{e}");
        assert_eq!(
            role(&[
                "--resources=pods",
                missing,
                "--continue-without-custom-resource-state-config-file"
            ]),
            role(&["--resources=pods"])
        );
    }

    #[test]
    fn auth_filter_creates_token_and_subject_access_reviews() {
        assert_eq!(
            role(&["--resources=pods", "--auth-filter"]),
            head("ClusterRole", None)
                + "- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [list, watch]\n\
                   - apiGroups: [\"authentication.k8s.io\"]\n  resources: [tokenreviews]\n  verbs: [create]\n\
                   - apiGroups: [\"authorization.k8s.io\"]\n  resources: [subjectaccessreviews]\n  verbs: [create]\n"
        );
    }

    #[test]
    fn autosharding_reads_its_pod_and_statefulset_in_its_namespace() {
        // statefulsets are watched cluster-wide already: the Role adds the two gets.
        let y = role(&[
            "--resources=pods,statefulsets",
            "--pod=kubestate-1",
            "--pod-namespace=monitoring",
        ]);
        let (_, r) = y.split_once("---\n").expect("a Role after the ClusterRole");
        assert_eq!(
            r,
            head("Role", Some("monitoring"))
                + "- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get]\n\
                   - apiGroups: [\"apps\"]\n  resources: [statefulsets]\n  resourceNames: [kubestate]\n  verbs: [get]\n"
        );
        // Without them, the name-restricted watch of its own StatefulSet comes from the Role.
        let y = role(&[
            "--resources=pods",
            "--pod=ks-shard-0",
            "--pod-namespace=monitoring",
        ]);
        assert!(
            y.ends_with(
                "- apiGroups: [\"apps\"]\n  resources: [statefulsets]\n  resourceNames: [ks-shard]\n  verbs: [get, list, watch]\n"
            ),
            "{y}"
        );
        assert!(!y.split("---").next().unwrap().contains("statefulsets"));
        // A pod name that is not <statefulset>-<ordinal> yet (`$(POD_NAME)`): any StatefulSet
        // of the namespace.
        let y = role(&[
            "--resources=pods",
            "--pod=$(POD_NAME)",
            "--pod-namespace=monitoring",
        ]);
        assert!(
            y.ends_with("- apiGroups: [\"apps\"]\n  resources: [statefulsets]\n  verbs: [get, list, watch]\n"),
            "{y}"
        );
        // --pod alone does not autoshard, so needs nothing more.
        assert_eq!(
            role(&["--resources=pods", "--pod=ks-0"]),
            role(&["--resources=pods"])
        );
    }

    #[test]
    fn statefulset_names_from_pod_names() {
        assert_eq!(statefulset_of("kubestate-0").as_deref(), Some("kubestate"));
        assert_eq!(statefulset_of("a-b-12").as_deref(), Some("a-b"));
        assert_eq!(statefulset_of("kubestate"), None);
        assert_eq!(statefulset_of("kubestate-x"), None);
        assert_eq!(statefulset_of("-0"), None);
        assert_eq!(statefulset_of("$(POD_NAME)-0"), None);
    }

    #[test]
    fn workloads_sharing_an_account_merge_their_access() {
        let mut a = Access::for_options(&opts(&["--resources=pods", "--node=n1"])).unwrap();
        a.merge(
            Access::for_options(&opts(&["--resources=nodes,deployments", "--auth-filter"]))
                .unwrap(),
        );
        let mut b = Access::for_options(&opts(&[
            "--resources=pods,nodes,deployments",
            "--auth-filter",
        ]))
        .unwrap();
        b.merge(Access::default());
        assert_eq!(a, b);
        assert_eq!(a.to_yaml(), b.to_yaml());
    }
}
