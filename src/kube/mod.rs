//! Talking to the API server: configuration, the HTTP agent, errors, the resource table and
//! the list/watch engine.

pub mod body;
pub mod client;
pub mod config;
pub mod dynamic;
pub mod error;
pub mod exec;
pub mod health;
pub mod list;
pub mod object;
pub mod pod_object;
pub mod probe;
pub mod resources;
pub mod secret;
pub mod time;
pub mod tls;
pub mod watch;
