//! The one thing the watch engine needs from a decoded object: its metadata.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;

/// A Kubernetes object the engine can list and watch.
pub trait KubeObject: DeserializeOwned + Send + Sync + 'static {
    fn meta(&self) -> &ObjectMeta;

    fn uid(&self) -> &str {
        self.meta().uid.as_deref().unwrap_or("")
    }

    fn resource_version(&self) -> Option<&str> {
        self.meta().resource_version.as_deref()
    }
}

macro_rules! kube_object {
    ($($t:ty),* $(,)?) => {
        $(impl KubeObject for $t {
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
        })*
    };
}

kube_object!(
    k8s_openapi::api::core::v1::Pod,
    k8s_openapi::api::core::v1::Node,
    k8s_openapi::api::core::v1::Namespace,
    k8s_openapi::api::apps::v1::Deployment,
    k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    k8s_openapi::api::rbac::v1::ClusterRoleBinding,
    k8s_openapi::api::rbac::v1::ClusterRole,
    k8s_openapi::api::core::v1::ConfigMap,
    k8s_openapi::api::batch::v1::CronJob,
    k8s_openapi::api::apps::v1::DaemonSet,
    k8s_openapi::api::core::v1::Endpoints,
    k8s_openapi::api::discovery::v1::EndpointSlice,
    k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
    k8s_openapi::api::networking::v1::IngressClass,
    k8s_openapi::api::networking::v1::Ingress,
    k8s_openapi::api::batch::v1::Job,
    k8s_openapi::api::coordination::v1::Lease,
    k8s_openapi::api::core::v1::LimitRange,
    k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration,
    k8s_openapi::api::networking::v1::NetworkPolicy,
    k8s_openapi::api::core::v1::PersistentVolumeClaim,
    k8s_openapi::api::core::v1::PersistentVolume,
    k8s_openapi::api::policy::v1::PodDisruptionBudget,
    k8s_openapi::api::apps::v1::ReplicaSet,
    k8s_openapi::api::core::v1::ReplicationController,
    k8s_openapi::api::core::v1::ResourceQuota,
    k8s_openapi::api::rbac::v1::RoleBinding,
    k8s_openapi::api::rbac::v1::Role,
    crate::kube::secret::SecretMeta,
    k8s_openapi::api::core::v1::ServiceAccount,
    k8s_openapi::api::core::v1::Service,
    k8s_openapi::api::apps::v1::StatefulSet,
    k8s_openapi::api::storage::v1::StorageClass,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
    k8s_openapi::api::storage::v1::VolumeAttachment,
);
