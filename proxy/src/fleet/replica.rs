//! One replica as the fleet tracks it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::inflight::InFlight;

/// Where a replica is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Answering heartbeats; in the ring.
    Up,
    /// A request to it just failed; still in the ring, probed at once.
    Suspect,
    /// Failed; out of the ring, waiting for its replacement.
    Down,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Up => "up",
            ReplicaState::Suspect => "suspect",
            ReplicaState::Down => "down",
        }
    }

    /// Whether requests may go to it.
    pub fn in_ring(self) -> bool {
        matches!(self, ReplicaState::Up | ReplicaState::Suspect)
    }
}

#[derive(Debug, Clone)]
pub struct Replica {
    pub name: String,
    pub addr: SocketAddr,
    pub generation: u64,
    pub state: ReplicaState,
    /// Consecutive failed heartbeats.
    pub failures: u32,
    pub last_heartbeat: Option<Instant>,
    /// How many times it has been replaced.
    pub restarts: u32,
    /// Earliest time of the next replacement attempt (back-off).
    pub retry_at: Option<Instant>,
    /// A replacement is being started.
    pub replacing: bool,
    /// Its requests in flight (shared with its ring member).
    pub load: Arc<InFlight>,
}

impl Replica {
    pub fn new(name: String, addr: SocketAddr, generation: u64) -> Self {
        Replica {
            name,
            addr,
            generation,
            state: ReplicaState::Up,
            failures: 0,
            last_heartbeat: Some(Instant::now()),
            restarts: 0,
            retry_at: None,
            replacing: false,
            load: InFlight::new(),
        }
    }
}

/// A replica as `/rep?verbose=1` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicaView {
    pub hostname: String,
    pub address: String,
    pub state: &'static str,
    /// Milliseconds since the last successful heartbeat.
    pub last_heartbeat_ms: Option<u64>,
    pub consecutive_failures: u32,
    pub restarts: u32,
    /// Requests it is serving now.
    pub in_flight: usize,
}

impl From<&Replica> for ReplicaView {
    fn from(r: &Replica) -> Self {
        ReplicaView {
            hostname: r.name.clone(),
            address: r.addr.to_string(),
            state: r.state.as_str(),
            last_heartbeat_ms: r.last_heartbeat.map(|t| t.elapsed().as_millis() as u64),
            consecutive_failures: r.failures,
            restarts: r.restarts,
            in_flight: r.load.count(),
        }
    }
}
