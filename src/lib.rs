//! kubestate: Kubernetes object-state metrics (kube-state-metrics compatible) and Prometheus
//! Kubernetes service discovery, from one set of watches.

pub mod exposition;
pub mod kube;
pub mod metrics;
pub mod store;
