//! The fleet: the single owner of the replica set.
//!
//! It holds the desired replicas, asks the provisioner to start and stop
//! them, admits a replica to the ring only after its first heartbeat, and
//! publishes a new immutable ring on every change. Admin calls are
//! serialized end to end and each is all-or-nothing; the state itself sits
//! behind a second lock that is only held briefly (never while a replica
//! starts or stops), so health verdicts and replacements go on during a
//! slow `/add`.

mod change;
mod drain;
mod error;
mod handover;
pub mod names;
mod replica;
mod supervise;
mod transition;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::Mutex;

pub use error::{ChangeError, Refusal, Stopping};
pub use replica::{Replica, ReplicaState, ReplicaView};

use crate::config::HealthSettings;
use crate::metrics::Metrics;
use crate::provision::Provisioner;
use crate::ring::{Member, Ring, RingSpec};

/// The ring as the proxy sees it: swapped atomically, read without locks.
pub type SharedRing = Arc<ArcSwap<Ring>>;

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

struct State {
    replicas: Vec<Replica>,
    /// Names an `/add` in progress has reserved (not yet admitted).
    pending: Vec<String>,
    /// Set once, at shutdown or at an upgrade: no changes or replacements
    /// from then on.
    stopping: Option<Stopping>,
    /// The initial replicas have all answered or been marked down.
    initialized: bool,
}

pub struct Fleet {
    /// The replica set; held briefly, never while replicas start or stop
    /// for an admin call.
    state: Mutex<State>,
    /// Serializes admin changes (`/add`, `/rm`) end to end.
    changes: Mutex<()>,
    /// A copy of the replica list, refreshed on every change, so that
    /// `/rep` answers at once even while an `/add` holds the lock.
    roster: ArcSwap<Vec<Replica>>,
    ring: SharedRing,
    spec: RingSpec,
    provisioner: Arc<dyn Provisioner>,
    options: FleetOptions,
    metrics: Arc<Metrics>,
}

impl Fleet {
    pub fn new(
        spec: RingSpec,
        provisioner: Arc<dyn Provisioner>,
        options: FleetOptions,
        metrics: Arc<Metrics>,
    ) -> Self {
        let empty = Ring::empty(spec.slots, spec.vnodes, spec.family.clone());
        Fleet {
            state: Mutex::new(State {
                replicas: Vec::new(),
                pending: Vec::new(),
                stopping: None,
                initialized: false,
            }),
            changes: Mutex::new(()),
            roster: ArcSwap::from_pointee(Vec::new()),
            ring: Arc::new(ArcSwap::from_pointee(empty)),
            spec,
            provisioner,
            options,
            metrics,
        }
    }

    /// The ring handle to give the proxy.
    pub fn ring(&self) -> SharedRing {
        self.ring.clone()
    }

    pub fn provisioner(&self) -> &Arc<dyn Provisioner> {
        &self.provisioner
    }

    /// Replica names, in the order they were added.
    pub fn names(&self) -> Vec<String> {
        self.roster.load().iter().map(|r| r.name.clone()).collect()
    }

    /// Replica details for `/rep?verbose=1`.
    pub fn views(&self) -> Vec<ReplicaView> {
        self.roster.load().iter().map(ReplicaView::from).collect()
    }

    /// Requests in flight per replica, for the metrics scrape.
    pub fn in_flight(&self) -> Vec<(String, usize)> {
        self.roster
            .load()
            .iter()
            .map(|r| (r.name.clone(), r.load.count()))
            .collect()
    }

    /// Refreshes the roster after a change that leaves the ring as it is.
    fn note(&self, replicas: &[Replica]) {
        self.roster.store(Arc::new(replicas.to_vec()));
    }

    /// Rebuilds the ring from the replicas that may take requests.
    fn publish(&self, replicas: &[Replica]) {
        self.note(replicas);
        let members: Vec<Member> = replicas
            .iter()
            .filter(|r| r.state.in_ring())
            .map(|r| Member::with_load(&r.name, r.addr, r.load.clone()))
            .collect();
        let listed: Vec<(&str, bool)> = replicas
            .iter()
            .map(|r| (r.name.as_str(), r.state.in_ring()))
            .collect();
        self.metrics.fleet(&listed);
        match self.spec.build(members) {
            Ok(ring) => self.ring.store(Arc::new(ring)),
            // Admission checks capacity first, so this is a bug, not input.
            Err(e) => log::error!("ring not rebuilt: {e}"),
        }
    }

    /// Starts `name` and waits for its first heartbeat; on failure nothing
    /// stays running.
    async fn launch(
        provisioner: Arc<dyn Provisioner>,
        name: String,
        timeout: Duration,
        probe_timeout: Duration,
    ) -> Result<Replica, (String, String)> {
        let started = match provisioner.start(&name).await {
            Ok(s) => s,
            Err(e) => return Err((name, e.to_string())),
        };
        match wait_ready(started.addr, timeout, probe_timeout).await {
            Ok(()) => Ok(Replica::new(name, started.addr, started.generation)),
            Err(e) => {
                provisioner.stop(&name, started.generation).await;
                Err((name, e))
            }
        }
    }
}

/// Polls `/heartbeat` until it answers (readiness), up to `timeout`.
async fn wait_ready(addr: SocketAddr, timeout: Duration, probe: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    let mut pause = Duration::from_millis(2);
    while Instant::now() < deadline {
        match crate::health::heartbeat(addr, probe.min(timeout)).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    Err(format!(
        "did not answer /heartbeat on {addr} within {timeout:?} ({last})"
    ))
}
