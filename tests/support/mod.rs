//! Shared test support: a fake Kubernetes API server speaking real list/watch,
//! and a deterministic generator of realistic cluster contents.
#![allow(dead_code)]

pub mod cluster_gen;
pub mod exposition;
pub mod fake_apiserver;
pub mod fake_auth;
#[cfg(test)]
pub mod kubestate;
