//! Following an engine's members ([`Ownership::Engine`]): the engine is the
//! source of truth for *which* replicas exist and where they run; the
//! fleet's own heartbeats decide which of them are in the ring.
//!
//! Every instance of ringlb over the same engine sees the same members and
//! builds its ring from the same names (placement is canonical), so all
//! send a key to the same replica; they can disagree only while one has
//! seen a change (or a heartbeat verdict) that another has not yet.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::transition::Change;
use super::{Fleet, Ownership, Replica};
use crate::provision::{Found, Members};

impl Fleet {
    /// Applies a snapshot of the engine's members: new names join (out of
    /// the ring until they answer), names the engine no longer has leave
    /// (drained; nothing to stop, the engine removed them), and a name
    /// with a new instance waits for that instance to answer. Names an
    /// `/add` of this instance has reserved are left to it. Returns
    /// whether anything now needs a probe.
    pub async fn observe(&self, members: &[Found]) -> bool {
        debug_assert_eq!(self.ownership, Ownership::Engine);
        let mut state = self.state.lock().await;
        if state.stopping.is_some() {
            return false;
        }
        let mut ring_changed = false;
        let mut to_probe = false;
        let mut gone = Vec::new();
        state.replicas.retain(|r| {
            let known = members.iter().any(|m| m.name == r.name);
            if !known {
                log::info!("replica {} removed (the engine no longer has it)", r.name);
                ring_changed |= r.state.in_ring();
                r.load.retire();
                gone.push(r.name.clone());
            }
            known
        });
        for m in members {
            if state.pending.contains(&m.name) {
                continue;
            }
            let running = m.running.map(|s| (s.addr, s.generation));
            match state.replicas.iter_mut().find(|r| r.name == m.name) {
                None => {
                    let (addr, generation) = running.unzip();
                    let r = Replica::found(m.name.clone(), addr, generation.unwrap_or(0));
                    log::info!(
                        "replica {} found{}",
                        r.name,
                        addr.map(|a| format!(" on {a}")).unwrap_or_default()
                    );
                    self.joined(&r, format_args!(""));
                    to_probe |= addr.is_some();
                    state.replicas.push(r);
                }
                Some(r) => match running {
                    Some((addr, generation)) if r.generation != generation || r.addr.is_none() => {
                        // A new instance (the engine restarted it): its
                        // requests in flight on the old one finish there.
                        r.addr = Some(addr);
                        r.generation = generation;
                        r.failures = 0;
                        ring_changed |= self.transition(r, Change::Renewed);
                        to_probe = true;
                    }
                    Some(_) => {}
                    None if r.state.in_ring() => {
                        ring_changed |= self.transition(r, Change::Vanished);
                    }
                    None => {}
                },
            }
        }
        // Order does not matter to the ring (placement is canonical); it
        // does to `/rep`, which lists the names as the engine sorts them.
        state
            .replicas
            .sort_by_key(|r| members.iter().position(|m| m.name == r.name));
        if ring_changed {
            self.publish(&state.replicas);
        } else {
            self.note(&state.replicas);
        }
        drop(state);
        // Nothing to stop or drain: the engine stops them (each finishes
        // what it serves on its SIGTERM); only their series go.
        for name in gone {
            self.departed(&name);
        }
        to_probe
    }

    /// Engine-managed start-up. If the engine has no replicas at all (the
    /// first instance of a new deployment) the `initial` ones are created;
    /// an instance that finds any leaves the set as it is, so a restarted
    /// instance never undoes an `/rm`. Then waits, at most the start
    /// timeout, until each member has a running instance that answers.
    pub async fn start_observed(&self, initial: &[String], members: &mut watch::Receiver<Members>) {
        if members.borrow_and_update().is_empty() && !initial.is_empty() {
            log::info!(
                "the engine has no replicas yet: creating {}",
                initial.join(", ")
            );
            for name in initial {
                match self.provisioner.start(name).await {
                    Ok(_) => {}
                    // Another instance, starting at the same time, did.
                    Err(crate::provision::StartError::Taken(_)) => {}
                    Err(e) => log::error!("initial replica {name} not created: {e}"),
                }
            }
        }
        let deadline = Instant::now() + self.options.start_timeout;
        loop {
            let snapshot = members.borrow_and_update().clone();
            self.observe(&snapshot).await;
            self.probe(None).await;
            let all_up = {
                let state = self.state.lock().await;
                !state.replicas.is_empty() && state.replicas.iter().all(|r| r.state.in_ring())
            };
            let now = Instant::now();
            if all_up || now >= deadline {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(wait, members.changed()).await;
        }
        let mut state = self.state.lock().await;
        state.initialized = true;
        let waiting: Vec<&str> = state
            .replicas
            .iter()
            .filter(|r| !r.state.in_ring())
            .map(|r| r.name.as_str())
            .collect();
        if !waiting.is_empty() {
            log::warn!(
                "serving without replica(s) {} (not answering yet)",
                waiting.join(", ")
            );
        }
        self.publish(&state.replicas);
    }
}
