//! Prometheus text format 0.0.4 / OpenMetrics writing: formatting, negotiation, gzip.

pub mod format;
pub mod gzip;
pub mod negotiate;
pub mod text;
