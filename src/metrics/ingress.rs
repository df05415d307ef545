//! Ingress families, in kube-state-metrics' order (`internal/store/ingress.go`).

use crate::metrics::common::{annotations, created, labels, resource_version};
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::ResourceDef;
use k8s_openapi::api::networking::v1::Ingress;

pub static INGRESS: ResourceDef<Ingress> = ResourceDef {
    name: "ingresses",
    identity: ingress_identity,
    families: FAMILIES,
};

fn ingress_identity(o: &Ingress) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("ingress", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<Ingress>] = &[
    Family::stable("kube_ingress_info", "Information about ingress.", info),
    Family::experimental(
        "kube_ingress_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    Family::stable(
        "kube_ingress_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    Family::stable("kube_ingress_created", "Unix creation timestamp", created),
    Family::experimental(
        "kube_ingress_metadata_resource_version",
        "Resource version representing a specific version of ingress.",
        resource_version,
    ),
    Family::stable(
        "kube_ingress_path",
        "Ingress host, paths and backend service information.",
        path,
    ),
    Family::stable(
        "kube_ingress_tls",
        "Ingress TLS host and secret information.",
        tls,
    ),
];

/// The class: the legacy `kubernetes.io/ingress.class` annotation wins over
/// `spec.ingressClassName`; `_default` when neither is set.
fn info(o: &Ingress, _: &RenderCtx, s: &mut Samples) {
    let annotated = o
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubernetes.io/ingress.class"));
    let class = annotated
        .or_else(|| o.spec.as_ref()?.ingress_class_name.as_ref())
        .map_or("_default", String::as_str);
    s.push(&[("ingressclass", class)], 1.0);
}

/// One series per HTTP path. A service backend gives `service_name`/`service_port` (the
/// port number; a named port reads `0` as in KSM); any other backend the resource's
/// group, kind and name (the TSV's `# variant`).
fn path(o: &Ingress, _: &RenderCtx, s: &mut Samples) {
    let rules = o.spec.as_ref().and_then(|sp| sp.rules.as_deref());
    for rule in rules.unwrap_or(&[]) {
        let Some(http) = rule.http.as_ref() else {
            continue;
        };
        let host = rule.host.as_deref().unwrap_or("");
        for p in &http.paths {
            let path = p.path.as_deref().unwrap_or("");
            let path_type = p.path_type.as_str();
            if let Some(svc) = p.backend.service.as_ref() {
                let port = svc.port.as_ref().and_then(|x| x.number).unwrap_or(0);
                let port = port.to_string();
                s.push(
                    &[
                        ("host", host),
                        ("path", path),
                        ("path_type", path_type),
                        ("service_name", svc.name.as_str()),
                        ("service_port", port.as_str()),
                    ],
                    1.0,
                );
            } else {
                let r = p.backend.resource.as_ref();
                s.push(
                    &[
                        ("host", host),
                        ("path", path),
                        ("path_type", path_type),
                        (
                            "resource_api_group",
                            r.and_then(|r| r.api_group.as_deref()).unwrap_or(""),
                        ),
                        ("resource_kind", r.map_or("", |r| r.kind.as_str())),
                        ("resource_name", r.map_or("", |r| r.name.as_str())),
                    ],
                    1.0,
                );
            }
        }
    }
}

/// One series per TLS host.
fn tls(o: &Ingress, _: &RenderCtx, s: &mut Samples) {
    let entries = o.spec.as_ref().and_then(|sp| sp.tls.as_deref());
    for t in entries.unwrap_or(&[]) {
        let secret = t.secret_name.as_deref().unwrap_or("");
        for host in t.hosts.iter().flatten() {
            s.push(&[("tls_host", host.as_str()), ("secret", secret)], 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check;
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ALL: &[&str] = &[
        "kube_ingress_info",
        "kube_ingress_annotations",
        "kube_ingress_labels",
        "kube_ingress_created",
        "kube_ingress_metadata_resource_version",
        "kube_ingress_path",
        "kube_ingress_tls",
    ];

    fn ingress() -> Ingress {
        obj(r#"{
          "metadata": {
            "name": "ingress4", "namespace": "ns4",
            "creationTimestamp": "2017-07-14T02:40:00Z",
            "resourceVersion": "123456",
            "labels": {"app": "foobar"},
            "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/"}
          },
          "spec": {
            "ingressClassName": "nginx",
            "rules": [
              {"host": "somehost", "http": {"paths": [
                {"path": "/somepath", "pathType": "Prefix",
                 "backend": {"service": {"name": "someservice", "port": {"number": 1234}}}},
                {"path": "/named", "pathType": "Exact",
                 "backend": {"service": {"name": "someservice", "port": {"name": "http"}}}},
                {"path": "/bucket", "pathType": "ImplementationSpecific",
                 "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "static-assets"}}}
              ]}},
              {"host": "somehost2"},
              {"http": {"paths": [
                {"backend": {"resource": {"kind": "Bucket", "name": "b"}}}
              ]}}
            ],
            "tls": [
              {"hosts": ["somehost1", "somehost2"], "secretName": "somesecret"},
              {"hosts": ["somehost3"]}
            ]
          }
        }"#)
    }

    #[test]
    fn every_family_of_an_ingress() {
        let id = r#"namespace="ns4",ingress="ingress4""#;
        assert_eq!(
            render_lines(&INGRESS, &ingress(), allow_all(), ALL),
            vec![
                format!(r#"kube_ingress_info{{{id},ingressclass="nginx"}} 1"#),
                format!(
                    r#"kube_ingress_annotations{{{id},annotation_nginx_ingress_kubernetes_io_rewrite_target="/"}} 1"#
                ),
                format!(r#"kube_ingress_labels{{{id},label_app="foobar"}} 1"#),
                format!("kube_ingress_created{{{id}}} 1.5e+09"),
                format!("kube_ingress_metadata_resource_version{{{id}}} 123456"),
                format!(
                    r#"kube_ingress_path{{{id},host="somehost",path="/somepath",path_type="Prefix",service_name="someservice",service_port="1234"}} 1"#
                ),
                format!(
                    r#"kube_ingress_path{{{id},host="somehost",path="/named",path_type="Exact",service_name="someservice",service_port="0"}} 1"#
                ),
                format!(
                    r#"kube_ingress_path{{{id},host="somehost",path="/bucket",path_type="ImplementationSpecific",resource_api_group="k8s.example.com",resource_kind="StorageBucket",resource_name="static-assets"}} 1"#
                ),
                format!(
                    r#"kube_ingress_path{{{id},host="",path="",path_type="",resource_api_group="",resource_kind="Bucket",resource_name="b"}} 1"#
                ),
                format!(r#"kube_ingress_tls{{{id},tls_host="somehost1",secret="somesecret"}} 1"#),
                format!(r#"kube_ingress_tls{{{id},tls_host="somehost2",secret="somesecret"}} 1"#),
                format!(r#"kube_ingress_tls{{{id},tls_host="somehost3",secret=""}} 1"#),
            ]
        );
    }

    #[test]
    fn ingress_class_precedence() {
        let class = |json: &str| {
            let i: Ingress = obj(json);
            render_lines(&INGRESS, &i, RenderCtx::default(), &["kube_ingress_info"])
        };
        assert_eq!(
            class(r#"{"metadata": {"name": "i", "namespace": "n"}}"#),
            vec![r#"kube_ingress_info{namespace="n",ingress="i",ingressclass="_default"} 1"#]
        );
        assert_eq!(
            class(
                r#"{"metadata": {"name": "i", "namespace": "n", "annotations": {"kubernetes.io/ingress.class": "traefik"}},
                    "spec": {"ingressClassName": "nginx"}}"#
            ),
            vec![r#"kube_ingress_info{namespace="n",ingress="i",ingressclass="traefik"} 1"#]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        catalog_check::check(&INGRESS, &[ingress()]);
    }
}
