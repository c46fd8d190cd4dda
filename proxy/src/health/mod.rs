//! Health: the heartbeat probe, and the keeper, the background service that
//! drives the fleet's supervision (probing, replacing, following an
//! engine's members, shutting down).

mod keeper;
mod probe;

pub use keeper::{Inputs, Keeper};
pub use probe::{heartbeat, Heartbeat};
