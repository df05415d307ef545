//! Where a Kubernetes resource lives in the API (group, version, plural, scope), and the
//! coordinates of the resources more than one part reads (service discovery, autosharding).
//! The built-in resources' own coordinates are in `metrics::builtin`'s table.

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
pub const ENDPOINTS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "endpoints",
    kind: "Endpoints",
    namespaced: true,
    go_type: "*v1.Endpoints",
};

pub const ENDPOINTSLICES: ApiResource = ApiResource {
    group: "discovery.k8s.io",
    version: "v1",
    plural: "endpointslices",
    kind: "EndpointSlice",
    namespaced: true,
    go_type: "*v1.EndpointSlice",
};

pub const INGRESSES: ApiResource = ApiResource {
    group: "networking.k8s.io",
    version: "v1",
    plural: "ingresses",
    kind: "Ingress",
    namespaced: true,
    go_type: "*v1.Ingress",
};

pub const JOBS: ApiResource = ApiResource {
    group: "batch",
    version: "v1",
    plural: "jobs",
    kind: "Job",
    namespaced: true,
    go_type: "*v1.Job",
};

pub const REPLICASETS: ApiResource = ApiResource {
    group: "apps",
    version: "v1",
    plural: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
    go_type: "*v1.ReplicaSet",
};

pub const SERVICES: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "services",
    kind: "Service",
    namespaced: true,
    go_type: "*v1.Service",
};

pub const STATEFULSETS: ApiResource = ApiResource {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
    go_type: "*v1.StatefulSet",
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
            STATEFULSETS.collection_path(Some("a")),
            "/apis/apps/v1/namespaces/a/statefulsets"
        );
    }
}
