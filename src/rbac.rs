//! `kubestate rbac`: the minimal ClusterRole for the current flags, so a security review
//! sees exactly what kubestate will read and nothing more.

use crate::cli::Options;
use crate::metrics::builtin;
use std::collections::BTreeMap;

/// The (group, plural) pairs the options make kubestate list and watch. `*` stands for every
/// resource of a group: custom resource state entries whose plural is only known from the
/// cluster (a wildcard version or kind, or no `resourcePlural`).
fn watched(opts: &Options) -> Vec<(String, String)> {
    let named = opts
        .resources
        .iter()
        .filter(|_| !opts.custom_resource_state_only)
        .filter_map(|r| builtin::by_name(r));
    let mut out: Vec<(String, String)> = named
        .map(|b| (b.api.group.to_string(), b.api.plural.to_string()))
        .collect();
    if let Some(path) = &opts.sd_config {
        if let Ok(cfg) = crate::discovery::config::load(std::path::Path::new(path)) {
            let mut needed = std::collections::BTreeSet::new();
            for job in &cfg.jobs {
                needed.extend(crate::discovery::manager::job_resources(job));
            }
            out.extend(needed.into_iter().map(|r| {
                let a = r.api();
                (a.group.to_string(), a.plural.to_string())
            }));
        }
    }
    let source = crate::metrics::custom::Source::from_options(
        opts.custom_resource_state_config.as_deref(),
        opts.custom_resource_state_config_file.as_deref(),
    );
    if let Some(Ok((crs, _))) = source.map(|s| crate::metrics::custom::load(&s)) {
        for r in crs {
            let plural = match (&r.plural, r.gvk.is_wildcard()) {
                (Some(p), false) => p.clone(),
                _ => "*".to_string(),
            };
            if r.gvk.is_wildcard() {
                let crds = crate::metrics::custom::crd::CRDS;
                out.push((crds.group.to_string(), crds.plural.to_string()));
            }
            out.push((r.gvk.group.clone(), plural));
        }
    }
    out.sort();
    out.dedup();
    // A group-wide `*` covers that group's named plurals.
    let wide: Vec<String> = out
        .iter()
        .filter(|(_, p)| p == "*")
        .map(|(g, _)| g.clone())
        .collect();
    out.retain(|(g, p)| p == "*" || !wide.contains(g));
    out
}

/// The ClusterRole (and nothing else) as YAML.
pub fn cluster_role(opts: &Options) -> String {
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (group, plural) in watched(opts) {
        let p = if plural == "*" {
            "\"*\"".to_string()
        } else {
            plural
        };
        by_group.entry(group).or_default().push(p);
    }
    let mut y = String::from(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: kubestate\nrules:\n",
    );
    for (group, plurals) in by_group {
        y.push_str(&format!(
            "- apiGroups: [\"{group}\"]\n  resources: [{}]\n  verbs: [list, watch]\n",
            plurals.join(", ")
        ));
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Options {
        Options::parse(args.iter().map(|s| s.to_string())).unwrap()
    }

    #[test]
    fn pods_and_deployments() {
        assert_eq!(
            cluster_role(&opts(&["--resources=pods,deployments,nodes"])),
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: kubestate\nrules:\n\
             - apiGroups: [\"\"]\n  resources: [nodes, pods]\n  verbs: [list, watch]\n\
             - apiGroups: [\"apps\"]\n  resources: [deployments]\n  verbs: [list, watch]\n"
        );
    }

    #[test]
    fn defaults_cover_every_default_resource_and_sd_adds_its_own() {
        let y = cluster_role(&opts(&[]));
        for g in [
            "\"\"",
            "\"apps\"",
            "\"batch\"",
            "\"autoscaling\"",
            "\"policy\"",
            "\"networking.k8s.io\"",
            "\"storage.k8s.io\"",
            "\"coordination.k8s.io\"",
            "\"certificates.k8s.io\"",
            "\"admissionregistration.k8s.io\"",
            "\"discovery.k8s.io\"",
        ] {
            assert!(
                y.contains(&format!("apiGroups: [{g}]")),
                "{g} missing in\n{y}"
            );
        }
        assert!(
            !y.contains("endpoints,") && !y.contains(" endpoints]"),
            "endpoints is not a default resource:\n{y}"
        );
        let dir = std::env::temp_dir().join(format!("kubestate-rbac-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("sd.yaml");
        std::fs::write(&f, "- name: eps\n  role: endpoints\n").unwrap();
        let y = cluster_role(&opts(&[
            "--resources=nodes",
            &format!("--sd-config={}", f.display()),
        ]));
        assert!(
            y.contains("endpoints") && y.contains("pods") && y.contains("services"),
            "{y}"
        );
    }

    #[test]
    fn attach_metadata_deployment_and_cronjob_add_replicasets_and_jobs() {
        let dir =
            std::env::temp_dir().join(format!("kubestate-rbac-attach-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("sd.yaml");
        let role = |sd: &str| {
            std::fs::write(&f, sd).unwrap();
            cluster_role(&opts(&[
                "--resources=nodes",
                &format!("--sd-config={}", f.display()),
            ]))
        };
        assert_eq!(
            role("- {name: p, role: pod, attach_metadata: {deployment: true, cronjob: true}}\n"),
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: kubestate\nrules:\n\
             - apiGroups: [\"\"]\n  resources: [nodes, pods]\n  verbs: [list, watch]\n\
             - apiGroups: [\"apps\"]\n  resources: [replicasets]\n  verbs: [list, watch]\n\
             - apiGroups: [\"batch\"]\n  resources: [jobs]\n  verbs: [list, watch]\n"
        );
        // job: true reads the pod's owner reference only; roles without pod labels ignore it all.
        let y = role(
            "- {name: p, role: pod, attach_metadata: {job: true}}\n\
             - {name: s, role: service, attach_metadata: {deployment: true, cronjob: true}}\n",
        );
        assert!(!y.contains("replicasets") && !y.contains("jobs"), "{y}");
        let y = role("- {name: e, role: endpointslice, attach_metadata: {deployment: true}}\n");
        assert!(y.contains("replicasets") && !y.contains("jobs"), "{y}");
    }

    #[test]
    fn custom_resources_add_their_groups_and_wildcards_the_crds() {
        let cfg = "spec:\n  resources:\n  - groupVersionKind: {group: a.io, version: v1, kind: A}\n    resourcePlural: as\n  - groupVersionKind: {group: b.io, version: v1, kind: B}\n  - groupVersionKind: {group: c.io, version: \"*\", kind: \"*\"}\n  - groupVersionKind: {group: c.io, version: v1, kind: C}\n    resourcePlural: cs\n";
        let y = cluster_role(&opts(&[
            "--resources=pods",
            "--custom-resource-state-only",
            &format!("--custom-resource-state-config={cfg}"),
        ]));
        assert_eq!(
            y,
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: kubestate\nrules:\n\
             - apiGroups: [\"a.io\"]\n  resources: [as]\n  verbs: [list, watch]\n\
             - apiGroups: [\"apiextensions.k8s.io\"]\n  resources: [customresourcedefinitions]\n  verbs: [list, watch]\n\
             - apiGroups: [\"b.io\"]\n  resources: [\"*\"]\n  verbs: [list, watch]\n\
             - apiGroups: [\"c.io\"]\n  resources: [\"*\"]\n  verbs: [list, watch]\n"
        );
    }
}
