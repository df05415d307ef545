//! kubestate: Kubernetes object-state metrics (kube-state-metrics compatible) and Prometheus
//! Kubernetes service discovery, from one set of watches.

pub mod allocator;
pub mod app;
pub mod cli;
pub mod config_file;
pub mod discovery;
pub mod exposition;
pub mod file_stamp;
pub mod kube;
pub mod log;
pub mod metrics;
pub mod rbac;
pub mod server;
pub mod shard;
pub mod signals;
pub mod store;
pub mod telemetry;
