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
);
