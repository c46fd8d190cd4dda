//! What the fleet is told at start: its limits and timings, and how it
//! checks a replica's health. The fleet owns these types; config fills
//! them in.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

/// Limits and timings the fleet works with.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub max_replicas: u32,
    pub start_timeout: Duration,
    /// How long a leaving replica's requests may take before it is
    /// stopped anyway.
    pub drain_timeout: Duration,
    pub health: HealthSettings,
}

#[derive(Debug, Clone)]
pub struct HealthSettings {
    pub interval: Duration,
    pub timeout: Duration,
    /// Consecutive failed heartbeats before a replica is marked down.
    pub failures: u32,
    pub replacement: ReplacementName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacementName {
    /// The replacement keeps the dead replica's hostname (same ring position).
    Same,
    /// The replacement gets a fresh random hostname, as the assignment says.
    Fresh,
}

/// One health check of the replica at `addr`: `Ok` if it is fit to serve,
/// else why not. The fleet decides what a verdict means; `health` says how
/// a replica is asked (its `/heartbeat`).
#[async_trait]
pub trait Probe: Send + Sync {
    async fn check(&self, addr: SocketAddr, timeout: Duration) -> Result<(), String>;
}
