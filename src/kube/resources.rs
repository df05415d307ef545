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

pub const CERTIFICATESIGNINGREQUESTS: ApiResource = ApiResource {
    group: "certificates.k8s.io",
    version: "v1",
    plural: "certificatesigningrequests",
    kind: "CertificateSigningRequest",
    namespaced: false,
    go_type: "*v1.CertificateSigningRequest",
};

pub const CLUSTERROLEBINDINGS: ApiResource = ApiResource {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
    go_type: "*v1.ClusterRoleBinding",
};

pub const CLUSTERROLES: ApiResource = ApiResource {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterroles",
    kind: "ClusterRole",
    namespaced: false,
    go_type: "*v1.ClusterRole",
};

pub const CONFIGMAPS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "configmaps",
    kind: "ConfigMap",
    namespaced: true,
    go_type: "*v1.ConfigMap",
};

pub const CRONJOBS: ApiResource = ApiResource {
    group: "batch",
    version: "v1",
    plural: "cronjobs",
    kind: "CronJob",
    namespaced: true,
    go_type: "*v1.CronJob",
};

pub const DAEMONSETS: ApiResource = ApiResource {
    group: "apps",
    version: "v1",
    plural: "daemonsets",
    kind: "DaemonSet",
    namespaced: true,
    go_type: "*v1.DaemonSet",
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

pub const HORIZONTALPODAUTOSCALERS: ApiResource = ApiResource {
    group: "autoscaling",
    version: "v2",
    plural: "horizontalpodautoscalers",
    kind: "HorizontalPodAutoscaler",
    namespaced: true,
    go_type: "*v2.HorizontalPodAutoscaler",
};

pub const INGRESSCLASSES: ApiResource = ApiResource {
    group: "networking.k8s.io",
    version: "v1",
    plural: "ingressclasses",
    kind: "IngressClass",
    namespaced: false,
    go_type: "*v1.IngressClass",
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

pub const LEASES: ApiResource = ApiResource {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    kind: "Lease",
    namespaced: true,
    go_type: "*v1.Lease",
};

pub const LIMITRANGES: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "limitranges",
    kind: "LimitRange",
    namespaced: true,
    go_type: "*v1.LimitRange",
};

pub const MUTATINGADMISSIONPOLICIES: ApiResource = ApiResource {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "mutatingadmissionpolicies",
    kind: "MutatingAdmissionPolicy",
    namespaced: false,
    go_type: "*v1.MutatingAdmissionPolicy",
};

pub const MUTATINGADMISSIONPOLICYBINDINGS: ApiResource = ApiResource {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "mutatingadmissionpolicybindings",
    kind: "MutatingAdmissionPolicyBinding",
    namespaced: false,
    go_type: "*v1.MutatingAdmissionPolicyBinding",
};

pub const MUTATINGWEBHOOKCONFIGURATIONS: ApiResource = ApiResource {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "mutatingwebhookconfigurations",
    kind: "MutatingWebhookConfiguration",
    namespaced: false,
    go_type: "*v1.MutatingWebhookConfiguration",
};

pub const NETWORKPOLICIES: ApiResource = ApiResource {
    group: "networking.k8s.io",
    version: "v1",
    plural: "networkpolicies",
    kind: "NetworkPolicy",
    namespaced: true,
    go_type: "*v1.NetworkPolicy",
};

pub const PERSISTENTVOLUMECLAIMS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "persistentvolumeclaims",
    kind: "PersistentVolumeClaim",
    namespaced: true,
    go_type: "*v1.PersistentVolumeClaim",
};

pub const PERSISTENTVOLUMES: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "persistentvolumes",
    kind: "PersistentVolume",
    namespaced: false,
    go_type: "*v1.PersistentVolume",
};

pub const PODDISRUPTIONBUDGETS: ApiResource = ApiResource {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
    go_type: "*v1.PodDisruptionBudget",
};

pub const REPLICASETS: ApiResource = ApiResource {
    group: "apps",
    version: "v1",
    plural: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
    go_type: "*v1.ReplicaSet",
};

pub const REPLICATIONCONTROLLERS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "replicationcontrollers",
    kind: "ReplicationController",
    namespaced: true,
    go_type: "*v1.ReplicationController",
};

pub const RESOURCEQUOTAS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "resourcequotas",
    kind: "ResourceQuota",
    namespaced: true,
    go_type: "*v1.ResourceQuota",
};

pub const ROLEBINDINGS: ApiResource = ApiResource {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "rolebindings",
    kind: "RoleBinding",
    namespaced: true,
    go_type: "*v1.RoleBinding",
};

pub const ROLES: ApiResource = ApiResource {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "roles",
    kind: "Role",
    namespaced: true,
    go_type: "*v1.Role",
};

pub const SECRETS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "secrets",
    kind: "Secret",
    namespaced: true,
    go_type: "*v1.Secret",
};

pub const SERVICEACCOUNTS: ApiResource = ApiResource {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    go_type: "*v1.ServiceAccount",
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

pub const STORAGECLASSES: ApiResource = ApiResource {
    group: "storage.k8s.io",
    version: "v1",
    plural: "storageclasses",
    kind: "StorageClass",
    namespaced: false,
    go_type: "*v1.StorageClass",
};

pub const VALIDATINGADMISSIONPOLICIES: ApiResource = ApiResource {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "validatingadmissionpolicies",
    kind: "ValidatingAdmissionPolicy",
    namespaced: false,
    go_type: "*v1.ValidatingAdmissionPolicy",
};

pub const VALIDATINGADMISSIONPOLICYBINDINGS: ApiResource = ApiResource {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "validatingadmissionpolicybindings",
    kind: "ValidatingAdmissionPolicyBinding",
    namespaced: false,
    go_type: "*v1.ValidatingAdmissionPolicyBinding",
};

pub const VALIDATINGWEBHOOKCONFIGURATIONS: ApiResource = ApiResource {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "validatingwebhookconfigurations",
    kind: "ValidatingWebhookConfiguration",
    namespaced: false,
    go_type: "*v1.ValidatingWebhookConfiguration",
};

pub const VOLUMEATTACHMENTS: ApiResource = ApiResource {
    group: "storage.k8s.io",
    version: "v1",
    plural: "volumeattachments",
    kind: "VolumeAttachment",
    namespaced: false,
    go_type: "*v1.VolumeAttachment",
};

/// Every resource kubestate can watch.
pub const ALL: &[ApiResource] = &[
    PODS,
    NODES,
    NAMESPACES,
    DEPLOYMENTS,
    CERTIFICATESIGNINGREQUESTS,
    CLUSTERROLEBINDINGS,
    CLUSTERROLES,
    CONFIGMAPS,
    CRONJOBS,
    DAEMONSETS,
    ENDPOINTS,
    ENDPOINTSLICES,
    HORIZONTALPODAUTOSCALERS,
    INGRESSCLASSES,
    INGRESSES,
    JOBS,
    LEASES,
    LIMITRANGES,
    MUTATINGADMISSIONPOLICIES,
    MUTATINGADMISSIONPOLICYBINDINGS,
    MUTATINGWEBHOOKCONFIGURATIONS,
    NETWORKPOLICIES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    PODDISRUPTIONBUDGETS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    RESOURCEQUOTAS,
    ROLEBINDINGS,
    ROLES,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    STATEFULSETS,
    STORAGECLASSES,
    VALIDATINGADMISSIONPOLICIES,
    VALIDATINGADMISSIONPOLICYBINDINGS,
    VALIDATINGWEBHOOKCONFIGURATIONS,
    VOLUMEATTACHMENTS,
];

/// The resource `--resources` names `plural`.
pub fn by_plural(plural: &str) -> Option<ApiResource> {
    ALL.iter().copied().find(|r| r.plural == plural)
}

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
