//! Health verdicts and replacement: the fleet's side of supervision.
//!
//! A replica leaves the ring when it exits (the provisioner reports it at
//! once), when it fails `failures` heartbeats in a row, or when the proxy
//! saw a connection to it fail and the immediate re-probe fails too. A
//! replica that is down is replaced: by default under the same hostname (its
//! ring positions, and so its keys, come back), or under a fresh random one.
//! Under the same name the old replica is stopped first (the name is its
//! until then); under a fresh one its successor starts while it drains.
//!
//! Where an engine owns the replicas nothing is replaced here: the engine
//! restarts what fails, and a replica out of the ring (down, or joining)
//! is probed like the others and comes back on its first good heartbeat.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::drain::Leaving;
use super::transition::Change;
use super::{Fleet, Ownership, ReplacementName, ReplicaState};
use crate::provision::{names, Exited};

/// Longest pause between attempts to replace a replica that will not start.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Fleet {
    /// Replicas to probe: everything in the ring; for an engine-managed
    /// set, also what is out of it but has an address (it may come back).
    async fn probe_targets(&self, only: Option<&str>) -> Vec<(String, SocketAddr, u64)> {
        let state = self.state.lock().await;
        let observed = self.ownership == Ownership::Engine;
        state
            .replicas
            .iter()
            .filter(|r| (observed || r.state.in_ring()) && only.is_none_or(|n| n == r.name))
            .filter_map(|r| Some((r.name.clone(), r.addr?, r.generation)))
            .collect()
    }

    /// Probes every replica in the ring (or only `only`) concurrently and
    /// applies the verdicts. Returns whether any replica went down.
    pub async fn probe(&self, only: Option<&str>) -> bool {
        let targets = self.probe_targets(only).await;
        if targets.is_empty() {
            return false;
        }
        let timeout = self.options.health.timeout;
        let mut probes = JoinSet::new();
        for (name, addr, generation) in targets {
            let probe = self.probe.clone();
            probes.spawn(async move {
                let verdict = probe.check(addr, timeout).await;
                (name, generation, verdict)
            });
        }
        let mut results = Vec::new();
        while let Some(done) = probes.join_next().await {
            if let Ok(r) = done {
                results.push(r);
            }
        }
        let mut state = self.state.lock().await;
        let threshold = self.options.health.failures;
        let mut changed = false;
        for (name, generation, verdict) in results {
            let Some(r) = state
                .replicas
                .iter_mut()
                .find(|r| r.name == name && r.generation == generation)
            else {
                continue; // removed or replaced meanwhile
            };
            match (verdict, r.state.in_ring()) {
                (Ok(()), true) => {
                    if r.state == ReplicaState::Suspect {
                        changed |= self.transition(r, Change::Recovered);
                    }
                    r.failures = 0;
                    r.last_heartbeat = Some(Instant::now());
                }
                (Err(e), true) => {
                    r.failures += 1;
                    self.metrics.heartbeat_failure(&name);
                    if r.state == ReplicaState::Suspect || r.failures >= threshold {
                        changed |= self.transition(r, Change::HeartbeatsFailed { last: &e });
                    }
                }
                // Out of the ring (only probed for an engine-managed set):
                // the first good heartbeat brings it in.
                (Ok(()), false) => {
                    r.failures = 0;
                    r.last_heartbeat = Some(Instant::now());
                    changed |= self.transition(r, Change::Answered);
                }
                (Err(_), false) => {}
            }
        }
        if changed {
            self.publish(&state.replicas);
        } else {
            self.note(&state.replicas);
        }
        changed
    }

    /// A replica process exited on its own: out of the ring at once.
    pub async fn on_exit(&self, exit: &Exited) -> bool {
        let mut state = self.state.lock().await;
        let Some(r) = state
            .replicas
            .iter_mut()
            .find(|r| r.name == exit.name && r.generation == exit.generation)
        else {
            return false;
        };
        if !r.state.in_ring() {
            return false;
        }
        self.transition(r, Change::Exited);
        self.publish(&state.replicas);
        true
    }

    /// The proxy could not reach `name`: mark it suspect. Returns whether it
    /// should be probed now (it was up).
    pub async fn on_suspect(&self, name: &str) -> bool {
        let mut state = self.state.lock().await;
        match state.replicas.iter_mut().find(|r| r.name == name) {
            Some(r) if r.state == ReplicaState::Up => {
                self.transition(r, Change::Suspected);
                self.note(&state.replicas);
                true
            }
            _ => false,
        }
    }

    /// Starts a replacement for every down replica whose back-off has
    /// passed. Each replacement runs as its own task: a replica that takes
    /// its whole start timeout to fail holds up neither the health loop nor
    /// admin calls.
    pub async fn reconcile(self: &Arc<Self>) {
        if self.ownership == Ownership::Engine {
            return; // the engine restarts what fails
        }
        let due: Vec<(Leaving, bool, u32)> = {
            let mut state = self.state.lock().await;
            if state.stopping.is_some() {
                return;
            }
            let now = Instant::now();
            state
                .replicas
                .iter_mut()
                .filter(|r| match r.state {
                    ReplicaState::Down {
                        retry_at,
                        replacing,
                    } => !replacing && retry_at.is_none_or(|t| t <= now),
                    _ => false,
                })
                .map(|r| {
                    r.state = ReplicaState::Down {
                        retry_at: None,
                        replacing: true,
                    };
                    // Handed to a drain only once, on the first attempt.
                    let first = !r.load.is_retired();
                    (Leaving::retire(r), first, r.restarts)
                })
                .collect()
        };
        for (old, first, restarts) in due {
            let fleet = self.clone();
            tokio::spawn(async move { fleet.replace(old, first, restarts).await });
        }
    }

    /// Replaces one down replica; admitted only if it is still wanted.
    /// Under a fresh name the old replica drains and stops on its own
    /// (`first`: not already handed to a drain by an earlier attempt) while
    /// its successor starts and is admitted as soon as it is ready.
    async fn replace(self: Arc<Self>, old: Leaving, first: bool, restarts: u32) {
        let (old_name, old_generation) = (old.name.clone(), old.generation);
        let name = match self.options.health.replacement {
            ReplacementName::Same => old_name.clone(),
            ReplacementName::Fresh => {
                let state = self.state.lock().await;
                let taken = |s: &str| {
                    state.replicas.iter().any(|r| r.name == s)
                        || state.pending.iter().any(|p| p == s)
                };
                names::generate(&taken).unwrap_or_else(|| old_name.clone())
            }
        };
        log::info!("replica {old_name} replacing as {name}");
        let began = Instant::now();
        let launch = self.launcher().launch(name.clone());
        if name == old_name {
            self.provisioner.stop(&old_name, old_generation).await;
        } else if first {
            let (fleet, gone) = (self.clone(), old_name.clone());
            tokio::spawn(async move {
                fleet.drain_and_stop(vec![old], |_| {}).await;
                // Its last requests may have counted after it was replaced.
                fleet.forget_if_gone(&gone).await;
            });
        }
        let launched = launch.await;
        let mut state = self.state.lock().await;
        let slot = state.replicas.iter().position(|r| {
            r.name == old_name && r.generation == old_generation && r.state.is_down()
        });
        match (slot, launched) {
            (Some(i), Ok(mut fresh)) if state.stopping.is_none() => {
                fresh.restarts = restarts + 1;
                self.joined(
                    &fresh,
                    format_args!(
                        " (replaced {old_name} in {} ms)",
                        began.elapsed().as_millis()
                    ),
                );
                self.metrics.replacement(true);
                state.replicas[i] = fresh;
                if name != old_name {
                    self.departed(&old_name);
                }
                self.publish(&state.replicas);
            }
            (_, Ok(fresh)) => {
                // Removed (or shutting down) while the replacement started.
                drop(state);
                self.provisioner.stop(&fresh.name, fresh.generation).await;
            }
            (Some(i), Err(u)) => {
                self.metrics.replacement(false);
                let r = &mut state.replicas[i];
                r.restarts += 1;
                let pause = (self.options.health.interval * r.restarts.min(16)).min(MAX_BACKOFF);
                r.state = ReplicaState::Down {
                    retry_at: Some(Instant::now() + pause),
                    replacing: false,
                };
                log::error!(
                    "replica {name} could not be replaced: {}; next try in {pause:?}",
                    u.why
                );
                self.note(&state.replicas);
            }
            (None, Err(_)) => {}
        }
    }
}
