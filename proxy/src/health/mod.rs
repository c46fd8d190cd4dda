//! Health: the heartbeat probe and the background service that drives the
//! fleet's supervision (probing, replacing, shutting down).

mod probe;
mod service;

pub use probe::heartbeat;
pub use service::Supervisor;
