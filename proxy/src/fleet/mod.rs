//! The fleet: the single owner of the replica set.
//!
//! It holds the desired replicas, asks the provisioner to start and stop
//! them, admits a replica to the ring only after its first heartbeat, and
//! publishes a new immutable ring on every change. Admin calls are
//! serialized end to end and each is all-or-nothing; the state itself sits
//! behind a second lock that is only held briefly (never while a replica
//! starts or stops), so health verdicts and replacements go on during a
//! slow `/add`.
//!
//! Where an engine owns the replica set ([`Ownership::Engine`], Docker
//! Swarm), the fleet only observes: it follows the members the engine
//! reports (`observe`), heartbeats decide who is in the ring, `/add` and
//! `/rm` are engine calls, and nothing is replaced, reconciled or stopped
//! behind the engine's back (the engine restarts what fails).
//!
//! The fleet imports nothing from `config` or `health`: it owns its
//! options, and how a replica is probed comes in as a [`Probe`].

mod change;
mod drain;
mod error;
mod handover;
mod observe;
mod options;
mod replica;
mod transition;
mod verdict;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::Mutex;

pub use error::{ChangeError, Refusal, Stopping};
pub use options::{FleetOptions, HealthSettings, Probe, ReplacementName};
pub use replica::{Replica, ReplicaState, ReplicaView};

use crate::metrics::Metrics;
use crate::provision::{Provisioner, StartError};
use crate::ring::{Member, Ring, RingSpec};

/// The ring as the proxy sees it: swapped atomically, read without locks.
pub type SharedRing = Arc<ArcSwap<Ring>>;

/// Who owns the replica set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// ringlb: it starts, replaces and stops its replicas.
    Ringlb,
    /// An engine (Swarm): ringlb observes its members and asks it for
    /// changes; several ringlb instances may share the set.
    Engine,
}

struct State {
    replicas: Vec<Replica>,
    /// Names an `/add` in progress has reserved (not yet admitted).
    pending: Vec<String>,
    /// Names an `/rm` in progress is taking away (no longer listed).
    leaving: Vec<String>,
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
    ownership: Ownership,
    probe: Arc<dyn Probe>,
    options: FleetOptions,
    metrics: Arc<Metrics>,
}

/// What the fleet works with besides its options.
pub struct FleetParts {
    pub spec: RingSpec,
    pub provisioner: Arc<dyn Provisioner>,
    pub ownership: Ownership,
    pub probe: Arc<dyn Probe>,
    pub metrics: Arc<Metrics>,
}

impl Fleet {
    pub fn new(parts: FleetParts, options: FleetOptions) -> Self {
        let FleetParts {
            spec,
            provisioner,
            ownership,
            probe,
            metrics,
        } = parts;
        let empty = Ring::empty(spec.slots, spec.vnodes, spec.family.clone());
        Fleet {
            state: Mutex::new(State {
                replicas: Vec::new(),
                pending: Vec::new(),
                leaving: Vec::new(),
                stopping: None,
                initialized: false,
            }),
            changes: Mutex::new(()),
            roster: ArcSwap::from_pointee(Vec::new()),
            ring: Arc::new(ArcSwap::from_pointee(empty)),
            spec,
            provisioner,
            ownership,
            probe,
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
            .filter_map(|r| Some(Member::with_load(r.addr?, r.load.clone())))
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

    /// What `launch` needs, to run without borrowing the fleet.
    fn launcher(&self) -> Launcher {
        Launcher {
            provisioner: self.provisioner.clone(),
            probe: self.probe.clone(),
            timeout: self.options.start_timeout,
            probe_timeout: self.options.health.timeout,
        }
    }
}

/// Starts replicas and waits for their first heartbeat.
#[derive(Clone)]
struct Launcher {
    provisioner: Arc<dyn Provisioner>,
    probe: Arc<dyn Probe>,
    timeout: Duration,
    probe_timeout: Duration,
}

/// A replica that did not come up.
struct Unlaunched {
    name: String,
    why: String,
    /// The engine refused the name: another ringlb instance has just
    /// created it.
    taken: bool,
}

impl Launcher {
    /// Starts `name` and waits for its first heartbeat; on failure nothing
    /// stays running.
    async fn launch(self, name: String) -> Result<Replica, Unlaunched> {
        let started = match self.provisioner.start(&name).await {
            Ok(s) => s,
            Err(e) => {
                let taken = matches!(e, StartError::Taken(_));
                let why = e.to_string();
                return Err(Unlaunched { name, why, taken });
            }
        };
        match wait_ready(&*self.probe, started.addr, self.timeout, self.probe_timeout).await {
            Ok(()) => Ok(Replica::up(name, started.addr, started.generation)),
            Err(why) => {
                self.provisioner.stop(&name, started.generation).await;
                Err(Unlaunched {
                    name,
                    why,
                    taken: false,
                })
            }
        }
    }
}

/// Polls the probe until it passes (readiness), up to `timeout`.
async fn wait_ready(
    probe: &dyn Probe,
    addr: SocketAddr,
    timeout: Duration,
    each: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    let mut pause = Duration::from_millis(2);
    while Instant::now() < deadline {
        match probe.check(addr, each.min(timeout)).await {
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
