//! The one table of built-in resources. Adding a resource is its own file under `metrics/`
//! (families and `ResourceDef`) plus one entry here: `--resources` (its defaults, validation
//! and `--help`), `kubestate rbac`, watch start-up, service discovery's sharing of watches
//! and the catalog checks all read this table, as kube-state-metrics reads its one
//! `availableStores` map.

use super::family::FamilyDef;
use super::start::{start_resource, BuiltinCtx, SpawnError, Started};
use super::*;
use crate::kube::object::KubeObject;
use crate::kube::resources::{self, ApiResource};
use crate::kube::watch::Consumer;
use std::any::Any;

/// Whether a resource is watched when `--resources` is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enabled {
    ByDefault,
    /// kube-state-metrics exports it only when `--resources` names it.
    OptIn,
}
use Enabled::*;

/// Whether a Prometheus service discovery role reads the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdUse {
    /// Discovery may ride on the metrics watch instead of opening its own.
    Reads,
    Unused,
}

/// One built-in resource.
pub struct Builtin {
    /// As `--resources` spells it (always the API plural).
    pub name: &'static str,
    pub api: ApiResource,
    pub enabled: Enabled,
    pub discovery: SdUse,
    def: &'static dyn BuiltinDef,
}

/// A resource's `ResourceDef` with its object type erased, so one table can hold them all.
trait BuiltinDef: Sync {
    fn families(&self) -> Vec<FamilyDef>;
    fn start(
        &'static self,
        api: ApiResource,
        ctx: &BuiltinCtx,
        shared: Option<Box<dyn Any + Send>>,
    ) -> Result<Started, SpawnError>;
    fn accepts(&self, shared: &(dyn Any + Send)) -> bool;
}

impl<T: KubeObject> BuiltinDef for ResourceDef<T> {
    fn families(&self) -> Vec<FamilyDef> {
        self.families.iter().map(|f| f.def).collect()
    }

    fn start(
        &'static self,
        api: ApiResource,
        ctx: &BuiltinCtx,
        shared: Option<Box<dyn Any + Send>>,
    ) -> Result<Started, SpawnError> {
        let extra = shared.and_then(|s| s.downcast::<Box<dyn Consumer<T>>>().ok());
        let is_shared = extra.is_some();
        let mut started = start_resource(self, api, ctx, extra.map(|c| *c))?;
        started.shared = is_shared;
        Ok(started)
    }

    fn accepts(&self, shared: &(dyn Any + Send)) -> bool {
        shared.is::<Box<dyn Consumer<T>>>()
    }
}

const fn builtin<T: KubeObject>(
    def: &'static ResourceDef<T>,
    enabled: Enabled,
    discovery: SdUse,
    api: ApiResource,
) -> Builtin {
    Builtin {
        name: def.name,
        api,
        enabled,
        discovery,
        def,
    }
}

/// Every built-in resource, sorted by name.
pub static BUILTIN: &[Builtin] = &[
    builtin(
        &certificatesigningrequest::CERTIFICATESIGNINGREQUEST,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "certificates.k8s.io",
            version: "v1",
            plural: "certificatesigningrequests",
            kind: "CertificateSigningRequest",
            namespaced: false,
            go_type: "*v1.CertificateSigningRequest",
        },
    ),
    builtin(
        &clusterrolebinding::CLUSTERROLEBINDING,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "clusterrolebindings",
            kind: "ClusterRoleBinding",
            namespaced: false,
            go_type: "*v1.ClusterRoleBinding",
        },
    ),
    builtin(
        &clusterrole::CLUSTERROLE,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "clusterroles",
            kind: "ClusterRole",
            namespaced: false,
            go_type: "*v1.ClusterRole",
        },
    ),
    builtin(
        &configmap::CONFIGMAP,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "configmaps",
            kind: "ConfigMap",
            namespaced: true,
            go_type: "*v1.ConfigMap",
        },
    ),
    builtin(
        &cronjob::CRONJOB,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "batch",
            version: "v1",
            plural: "cronjobs",
            kind: "CronJob",
            namespaced: true,
            go_type: "*v1.CronJob",
        },
    ),
    builtin(
        &daemonset::DAEMONSET,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "apps",
            version: "v1",
            plural: "daemonsets",
            kind: "DaemonSet",
            namespaced: true,
            go_type: "*v1.DaemonSet",
        },
    ),
    builtin(
        &deployment::DEPLOYMENT,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "apps",
            version: "v1",
            plural: "deployments",
            kind: "Deployment",
            namespaced: true,
            go_type: "*v1.Deployment",
        },
    ),
    builtin(
        &endpoint::ENDPOINT,
        OptIn,
        SdUse::Reads,
        resources::ENDPOINTS,
    ),
    builtin(
        &endpointslice::ENDPOINTSLICE,
        ByDefault,
        SdUse::Reads,
        resources::ENDPOINTSLICES,
    ),
    builtin(
        &horizontalpodautoscaler::HORIZONTALPODAUTOSCALER,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "autoscaling",
            version: "v2",
            plural: "horizontalpodautoscalers",
            kind: "HorizontalPodAutoscaler",
            namespaced: true,
            go_type: "*v2.HorizontalPodAutoscaler",
        },
    ),
    builtin(
        &ingressclass::INGRESSCLASS,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "networking.k8s.io",
            version: "v1",
            plural: "ingressclasses",
            kind: "IngressClass",
            namespaced: false,
            go_type: "*v1.IngressClass",
        },
    ),
    builtin(
        &ingress::INGRESS,
        ByDefault,
        SdUse::Reads,
        resources::INGRESSES,
    ),
    builtin(&job::JOB, ByDefault, SdUse::Reads, resources::JOBS),
    builtin(
        &lease::LEASE,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "coordination.k8s.io",
            version: "v1",
            plural: "leases",
            kind: "Lease",
            namespaced: true,
            go_type: "*v1.Lease",
        },
    ),
    builtin(
        &limitrange::LIMITRANGE,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "limitranges",
            kind: "LimitRange",
            namespaced: true,
            go_type: "*v1.LimitRange",
        },
    ),
    builtin(
        &mutatingadmissionpolicy::MUTATINGADMISSIONPOLICY,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "mutatingadmissionpolicies",
            kind: "MutatingAdmissionPolicy",
            namespaced: false,
            go_type: "*v1.MutatingAdmissionPolicy",
        },
    ),
    builtin(
        &mutatingadmissionpolicybinding::MUTATINGADMISSIONPOLICYBINDING,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "mutatingadmissionpolicybindings",
            kind: "MutatingAdmissionPolicyBinding",
            namespaced: false,
            go_type: "*v1.MutatingAdmissionPolicyBinding",
        },
    ),
    builtin(
        &mutatingwebhookconfiguration::MUTATINGWEBHOOKCONFIGURATION,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "mutatingwebhookconfigurations",
            kind: "MutatingWebhookConfiguration",
            namespaced: false,
            go_type: "*v1.MutatingWebhookConfiguration",
        },
    ),
    builtin(
        &namespace::NAMESPACE,
        ByDefault,
        SdUse::Reads,
        resources::NAMESPACES,
    ),
    builtin(
        &networkpolicy::NETWORKPOLICY,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "networking.k8s.io",
            version: "v1",
            plural: "networkpolicies",
            kind: "NetworkPolicy",
            namespaced: true,
            go_type: "*v1.NetworkPolicy",
        },
    ),
    builtin(&node::NODE, ByDefault, SdUse::Reads, resources::NODES),
    builtin(
        &persistentvolumeclaim::PERSISTENTVOLUMECLAIM,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "persistentvolumeclaims",
            kind: "PersistentVolumeClaim",
            namespaced: true,
            go_type: "*v1.PersistentVolumeClaim",
        },
    ),
    builtin(
        &persistentvolume::PERSISTENTVOLUME,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "persistentvolumes",
            kind: "PersistentVolume",
            namespaced: false,
            go_type: "*v1.PersistentVolume",
        },
    ),
    builtin(
        &poddisruptionbudget::PODDISRUPTIONBUDGET,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "policy",
            version: "v1",
            plural: "poddisruptionbudgets",
            kind: "PodDisruptionBudget",
            namespaced: true,
            go_type: "*v1.PodDisruptionBudget",
        },
    ),
    builtin(&pod::POD, ByDefault, SdUse::Reads, resources::PODS),
    builtin(
        &replicaset::REPLICASET,
        ByDefault,
        SdUse::Reads,
        resources::REPLICASETS,
    ),
    builtin(
        &replicationcontroller::REPLICATIONCONTROLLER,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "replicationcontrollers",
            kind: "ReplicationController",
            namespaced: true,
            go_type: "*v1.ReplicationController",
        },
    ),
    builtin(
        &resourcequota::RESOURCEQUOTA,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "resourcequotas",
            kind: "ResourceQuota",
            namespaced: true,
            go_type: "*v1.ResourceQuota",
        },
    ),
    builtin(
        &rolebinding::ROLEBINDING,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "rolebindings",
            kind: "RoleBinding",
            namespaced: true,
            go_type: "*v1.RoleBinding",
        },
    ),
    builtin(
        &role::ROLE,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            plural: "roles",
            kind: "Role",
            namespaced: true,
            go_type: "*v1.Role",
        },
    ),
    builtin(
        &secret::SECRET,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "secrets",
            kind: "Secret",
            namespaced: true,
            go_type: "*v1.Secret",
        },
    ),
    builtin(
        &serviceaccount::SERVICEACCOUNT,
        OptIn,
        SdUse::Unused,
        ApiResource {
            group: "",
            version: "v1",
            plural: "serviceaccounts",
            kind: "ServiceAccount",
            namespaced: true,
            go_type: "*v1.ServiceAccount",
        },
    ),
    builtin(
        &service::SERVICE,
        ByDefault,
        SdUse::Reads,
        resources::SERVICES,
    ),
    builtin(
        &statefulset::STATEFULSET,
        ByDefault,
        SdUse::Unused,
        resources::STATEFULSETS,
    ),
    builtin(
        &storageclass::STORAGECLASS,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "storage.k8s.io",
            version: "v1",
            plural: "storageclasses",
            kind: "StorageClass",
            namespaced: false,
            go_type: "*v1.StorageClass",
        },
    ),
    builtin(
        &validatingadmissionpolicy::VALIDATINGADMISSIONPOLICY,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "validatingadmissionpolicies",
            kind: "ValidatingAdmissionPolicy",
            namespaced: false,
            go_type: "*v1.ValidatingAdmissionPolicy",
        },
    ),
    builtin(
        &validatingadmissionpolicybinding::VALIDATINGADMISSIONPOLICYBINDING,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "validatingadmissionpolicybindings",
            kind: "ValidatingAdmissionPolicyBinding",
            namespaced: false,
            go_type: "*v1.ValidatingAdmissionPolicyBinding",
        },
    ),
    builtin(
        &validatingwebhookconfiguration::VALIDATINGWEBHOOKCONFIGURATION,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "admissionregistration.k8s.io",
            version: "v1",
            plural: "validatingwebhookconfigurations",
            kind: "ValidatingWebhookConfiguration",
            namespaced: false,
            go_type: "*v1.ValidatingWebhookConfiguration",
        },
    ),
    builtin(
        &volumeattachment::VOLUMEATTACHMENT,
        ByDefault,
        SdUse::Unused,
        ApiResource {
            group: "storage.k8s.io",
            version: "v1",
            plural: "volumeattachments",
            kind: "VolumeAttachment",
            namespaced: false,
            go_type: "*v1.VolumeAttachment",
        },
    ),
];

impl Builtin {
    /// Its families, in kube-state-metrics' order.
    pub fn families(&self) -> Vec<FamilyDef> {
        self.def.families()
    }

    /// Starts its watches (one per namespace when `--namespaces` restricts a namespaced
    /// resource) feeding one writer. `shared` is discovery's consumer for the same objects
    /// (a `Box<dyn Consumer<T>>`); `Started::shared` tells whether it was taken.
    pub fn start(
        &self,
        ctx: &BuiltinCtx,
        shared: Option<Box<dyn Any + Send>>,
    ) -> Result<Started, SpawnError> {
        self.def.start(self.api, ctx, shared)
    }

    /// Whether `shared` is a consumer of the object type this resource's watch decodes.
    pub fn accepts(&self, shared: &(dyn Any + Send)) -> bool {
        self.def.accepts(shared)
    }
}

/// The entry `--resources` names `name`.
pub fn by_name(name: &str) -> Option<&'static Builtin> {
    BUILTIN.iter().find(|b| b.name == name)
}

/// Every resource name, sorted.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|b| b.name).collect()
}

/// What `--resources` defaults to: every resource not opt-in.
pub fn defaults() -> Vec<&'static str> {
    BUILTIN
        .iter()
        .filter(|b| b.enabled == ByDefault)
        .map(|b| b.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_unique_and_the_api_plural() {
        let names = names();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        for b in BUILTIN {
            assert_eq!(b.name, b.api.plural, "{}", b.name);
            assert!(
                b.api.go_type == format!("*{}.{}", b.api.version, b.api.kind),
                "{}: client-go type {}",
                b.name,
                b.api.go_type
            );
        }
    }

    #[test]
    fn kube_state_metrics_opt_in_resources() {
        let opt_in: Vec<&str> = BUILTIN
            .iter()
            .filter(|b| b.enabled == OptIn)
            .map(|b| b.name)
            .collect();
        assert_eq!(
            opt_in,
            [
                "clusterrolebindings",
                "clusterroles",
                "endpoints",
                "ingressclasses",
                "rolebindings",
                "roles",
                "serviceaccounts"
            ]
        );
        assert_eq!(defaults().len(), 32);
    }

    #[test]
    fn every_entry_declares_families() {
        for b in BUILTIN {
            assert!(!b.families().is_empty(), "{} declares no families", b.name);
        }
    }
}
