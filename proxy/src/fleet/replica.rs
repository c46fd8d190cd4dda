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
    /// Found by an engine's discovery, not running or not answering
    /// heartbeats yet; out of the ring until it does.
    Joining,
    /// Failed (or never started); out of the ring. Where ringlb owns the
    /// replicas it is replaced: not before `retry_at` (back-off after a
    /// failed attempt), and not while `replacing` (an attempt is under way).
    Down {
        retry_at: Option<Instant>,
        replacing: bool,
    },
}

impl ReplicaState {
    /// Down, to be replaced at once.
    pub const DOWN: ReplicaState = ReplicaState::Down {
        retry_at: None,
        replacing: false,
    };

    /// Every state's name, for the metrics (`ringlb_replica_state`).
    pub const NAMES: [&'static str; 4] = ["up", "suspect", "joining", "down"];

    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Up => "up",
            ReplicaState::Suspect => "suspect",
            ReplicaState::Joining => "joining",
            ReplicaState::Down { .. } => "down",
        }
    }

    /// Whether requests may go to it.
    pub fn in_ring(self) -> bool {
        matches!(self, ReplicaState::Up | ReplicaState::Suspect)
    }

    pub fn is_down(self) -> bool {
        matches!(self, ReplicaState::Down { .. })
    }
}

#[derive(Debug, Clone)]
pub struct Replica {
    pub name: String,
    /// Where it listens; `None` for a replica that never started.
    pub addr: Option<SocketAddr>,
    pub generation: u64,
    pub state: ReplicaState,
    /// Consecutive failed heartbeats.
    pub failures: u32,
    pub last_heartbeat: Option<Instant>,
    /// How many times it has been replaced.
    pub restarts: u32,
    /// Its requests in flight (shared with its ring member).
    pub load: Arc<InFlight>,
}

impl Replica {
    /// A replica that just answered its first heartbeat.
    pub fn up(name: String, addr: SocketAddr, generation: u64) -> Self {
        Replica {
            load: InFlight::new(&name),
            name,
            addr: Some(addr),
            generation,
            state: ReplicaState::Up,
            failures: 0,
            last_heartbeat: Some(Instant::now()),
            restarts: 0,
        }
    }

    /// A replica that could not be started: down, with no address.
    pub fn never_started(name: String) -> Self {
        Replica {
            load: InFlight::new(&name),
            name,
            addr: None,
            generation: 0,
            state: ReplicaState::DOWN,
            failures: 0,
            last_heartbeat: None,
            restarts: 0,
        }
    }

    /// A replica an engine reports, not yet probed (or not yet running).
    pub fn found(name: String, addr: Option<SocketAddr>, generation: u64) -> Self {
        Replica {
            state: ReplicaState::Joining,
            addr,
            generation,
            ..Replica::never_started(name)
        }
    }
}

/// A replica as `/rep?verbose=1` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicaView {
    pub hostname: String,
    /// Empty for a replica that never started.
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
            address: r.addr.map(|a| a.to_string()).unwrap_or_default(),
            state: r.state.as_str(),
            last_heartbeat_ms: r.last_heartbeat.map(|t| t.elapsed().as_millis() as u64),
            consecutive_failures: r.failures,
            restarts: r.restarts,
            in_flight: r.load.count(),
        }
    }
}
