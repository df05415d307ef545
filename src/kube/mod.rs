//! Access to the Kubernetes API server.
pub mod config;
pub mod tls;
