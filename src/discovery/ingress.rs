//! The ingress role: one target per rule × path, addressed by host only (no port, no
//! scheme), the scheme given as a label from the TLS hosts.

use super::{
    add_families, add_namespace_metadata, meta, name_of, ns_of, LabelSet, Lookups, TargetGroup,
};
use k8s_openapi::api::networking::v1::Ingress;

pub fn ingress_source(ns: &str, name: &str) -> String {
    format!("ingress/{ns}/{name}")
}

/// Prometheus's `matchesHostnamePattern`: exact, or `*.rest` against a host with the same
/// number of dot-separated parts whose parts after the first equal `rest`'s.
fn matches_host(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p.len() == h.len() && p[0] == "*" && p[1..] == h[1..]
}

/// The ingress role for one ingress.
pub fn ingress_group(ing: &Ingress, l: &Lookups) -> TargetGroup {
    let ns = ns_of(&ing.metadata);
    let name = name_of(&ing.metadata);
    let mut tg = TargetGroup::empty(ingress_source(ns, name));
    tg.labels.insert(meta("namespace"), ns.to_string());
    tg.labels.insert(meta("ingress_name"), name.to_string());
    add_families(&mut tg.labels, "ingress", &ing.metadata);
    let Some(spec) = ing.spec.as_ref() else {
        add_namespace_metadata(&mut tg.labels, l, ns);
        return tg;
    };
    if let Some(c) = &spec.ingress_class_name {
        tg.labels.insert(meta("ingress_class_name"), c.clone());
    }
    add_namespace_metadata(&mut tg.labels, l, ns);
    let tls_hosts: Vec<&str> = spec
        .tls
        .iter()
        .flatten()
        .flat_map(|t| t.hosts.iter().flatten())
        .map(String::as_str)
        .collect();
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.clone().unwrap_or_default();
        let scheme = if tls_hosts.iter().any(|p| matches_host(p, &host)) {
            "https"
        } else {
            "http"
        };
        let paths: Vec<String> = match &rule.http {
            None => vec!["/".into()],
            Some(h) => h
                .paths
                .iter()
                .map(|p| match p.path.as_deref() {
                    None | Some("") => "/".to_string(),
                    Some(s) => s.to_string(),
                })
                .collect(),
        };
        for path in paths {
            let mut t = LabelSet::new();
            t.insert("__address__".into(), host.clone());
            t.insert(meta("ingress_scheme"), scheme.into());
            t.insert(meta("ingress_host"), host.clone());
            t.insert(meta("ingress_path"), path);
            tg.targets.push(t);
        }
    }
    tg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::testutil::{assert_group, job, obj, tg};
    use crate::discovery::{Role, World};
    use serde_json::json;

    /// Prometheus's `makeIngress` fixture.
    fn ingress(tls: serde_json::Value) -> Ingress {
        obj(json!({
            "metadata": {"name": "testingress", "namespace": "default",
                         "labels": {"test/label": "testvalue"},
                         "annotations": {"test/annotation": "testannotationvalue"}},
            "spec": {
                "ingressClassName": "testclass",
                "tls": [{"hosts": tls}],
                "rules": [
                    {"host": "example.com", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {}},
                        {"path": "/foo", "pathType": "Prefix", "backend": {}}]}},
                    {"host": "test.example.com", "http": {"paths": []}},
                    {"http": {"paths": [{"pathType": "Prefix", "backend": {}}]}}
                ]
            }
        }))
    }

    fn want(schemes: [&'static str; 3]) -> TargetGroup {
        let t = |addr: &'static str, scheme: &'static str, path: &'static str| {
            vec![
                ("__address__", addr),
                ("ingress_scheme", scheme),
                ("ingress_host", addr),
                ("ingress_path", path),
            ]
        };
        let (a, b, c) = (
            t("example.com", schemes[0], "/"),
            t("example.com", schemes[1], "/foo"),
            t("", schemes[2], "/"),
        );
        tg(
            "ingress/default/testingress",
            &[
                ("ingress_name", "testingress"),
                ("namespace", "default"),
                ("ingress_label_test_label", "testvalue"),
                ("ingress_labelpresent_test_label", "true"),
                ("ingress_annotation_test_annotation", "testannotationvalue"),
                ("ingress_annotationpresent_test_annotation", "true"),
                ("ingress_class_name", "testclass"),
            ],
            &[&a, &b, &c],
        )
    }

    fn group(i: &Ingress) -> TargetGroup {
        let w = World::default();
        let j = job(Role::Ingress);
        ingress_group(i, &Lookups::new(&w, &j))
    }

    #[test]
    fn add_no_tls() {
        assert_group(
            &group(&ingress(json!(null))),
            &want(["http", "http", "http"]),
        );
    }

    #[test]
    fn add_tls_and_mixed() {
        assert_group(
            &group(&ingress(json!(["example.com", "test.example.com"]))),
            &want(["https", "https", "http"]),
        );
        assert_group(
            &group(&ingress(json!(["example.com"]))),
            &want(["https", "https", "http"]),
        );
        assert_group(
            &group(&ingress(json!(["*.com"]))),
            &want(["https", "https", "http"]),
        );
    }

    #[test]
    fn wildcard_matching() {
        assert!(matches_host("*.example.com", "a.example.com"));
        assert!(!matches_host("*.example.com", "a.b.example.com"));
        assert!(!matches_host("*.example.com", "example.com"));
        assert!(!matches_host("a.example.com", "b.example.com"));
    }

    #[test]
    fn rule_without_http_is_root() {
        let i: Ingress = obj(json!({"metadata": {"name": "i", "namespace": "n"},
            "spec": {"rules": [{"host": "h"}]}}));
        let g = group(&i);
        assert_eq!(g.targets.len(), 1);
        assert_eq!(g.targets[0]["__meta_kubernetes_ingress_path"], "/");
        assert!(!g
            .labels
            .contains_key("__meta_kubernetes_ingress_class_name"));
    }
}
