//! The Kubernetes resources kubestate knows how to reach: group, version, plural, scope.

/// Where a resource lives in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiResource {
    /// Empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// The client-go type name kube-state-metrics puts in the `resource` label of its
    /// list/watch counters (`*v1.Pod`), kept so existing alerts keep matching.
    pub go_type: &'static str,
}

impl ApiResource {
    /// `/api/v1/pods`, `/apis/apps/v1/namespaces/ns/deployments`, ...
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let mut p = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        if let (true, Some(ns)) = (self.namespaced, namespace) {
            p.push_str("/namespaces/");
            p.push_str(ns);
        }
        p.push('/');
        p.push_str(self.plural);
        p
    }
}

pub const PODS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "pods",
    kind: "Pod",
    namespaced: true,
    go_type: "*v1.Pod",
};
pub const NODES: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "nodes",
    kind: "Node",
    namespaced: false,
    go_type: "*v1.Node",
};
pub const NAMESPACES: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
    go_type: "*v1.Namespace",
};
pub const DEPLOYMENTS: ApiResource = ApiResource {
    group: "apps",
    version: "v1",
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
    go_type: "*v1.Deployment",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_group_and_scope() {
        assert_eq!(PODS.collection_path(None), "/api/v1/pods");
        assert_eq!(
            PODS.collection_path(Some("kube-system")),
            "/api/v1/namespaces/kube-system/pods"
        );
        assert_eq!(NODES.collection_path(Some("ignored")), "/api/v1/nodes");
        assert_eq!(
            DEPLOYMENTS.collection_path(Some("a")),
            "/apis/apps/v1/namespaces/a/deployments"
        );
    }
}
