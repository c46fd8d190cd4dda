//! Draining: a replica that leaves (`/rm`, a replacement under a fresh
//! name, shutdown) is first taken out of the ring, then stopped only once
//! the requests it was serving have finished, or after
//! `replicas.drain_timeout_ms` if they take longer.
//!
//! The callers retire the replica's [`InFlight`] and publish the ring
//! without it (under the state lock); [`Fleet::drain_and_stop`] does the
//! waiting and stopping, with no lock held.

use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::{Fleet, Ownership, Replica, Stopping};
use crate::inflight::InFlight;
use crate::ring::Ring;

/// A replica on its way out.
pub(super) struct Leaving {
    pub name: String,
    pub generation: u64,
    pub load: Arc<InFlight>,
}

impl Leaving {
    /// Retires `r` (no request may start on it from now on).
    pub fn retire(r: &Replica) -> Leaving {
        r.load.retire();
        Leaving {
            name: r.name.clone(),
            generation: r.generation,
            load: r.load.clone(),
        }
    }
}

impl Fleet {
    /// Waits for each of `leaving` to finish its requests in flight (all at
    /// once, each at most the drain timeout) and stops each as soon as it
    /// is idle. `then` runs after each stop (with the replica's name).
    pub(super) async fn drain_and_stop(&self, leaving: Vec<Leaving>, then: impl Fn(&str)) {
        let limit = self.options.drain_timeout;
        let mut drains = JoinSet::new();
        for l in leaving {
            drains.spawn(async move {
                let began = Instant::now();
                let busy = l.load.count();
                let idle = l.load.drained(limit).await;
                (l, busy, idle, began.elapsed())
            });
        }
        while let Some(done) = drains.join_next().await {
            let Ok((l, busy, idle, took)) = done else {
                continue;
            };
            if idle {
                log::info!(
                    "replica {} drained ({busy} request(s) in flight, {} ms); stopping it",
                    l.name,
                    took.as_millis()
                );
            } else {
                log::warn!(
                    "replica {}: {} request(s) still in flight after the drain timeout ({limit:?}); stopping it anyway",
                    l.name,
                    l.load.count()
                );
            }
            self.provisioner.stop(&l.name, l.generation).await;
            then(&l.name);
        }
    }

    /// `/rm` of replicas an engine owns: their services go at once, so
    /// every other instance stops routing to them within moments (the
    /// engine stops each with SIGTERM, and the replica finishes what it
    /// serves); then this instance waits for its own requests to them (at
    /// most the drain timeout) before it answers.
    pub(super) async fn remove_from_engine(&self, leaving: Vec<Leaving>) {
        for l in &leaving {
            self.provisioner.stop(&l.name, l.generation).await;
            log::info!("replica {} removed", l.name);
        }
        let deadline = Instant::now() + self.options.drain_timeout;
        for l in &leaving {
            l.load
                .drained(deadline.saturating_duration_since(Instant::now()))
                .await;
        }
        let mut state = self.state.lock().await;
        state
            .leaving
            .retain(|n| !leaving.iter().any(|l| l.name == *n));
        drop(state);
        for l in &leaving {
            self.departed(&l.name);
        }
    }

    /// Shutdown: no more changes or replacements, every replica out of the
    /// ring, then drained and stopped (replicas an engine owns are only
    /// drained: they serve the other ringlb instances, and this one's
    /// restart). Requests already on their way to a replica finish there;
    /// one arriving now gets "no replica" (Pingora has stopped accepting
    /// already, so that is a request racing the signal).
    pub async fn shut_down(&self) {
        let leaving: Vec<Leaving> = {
            let mut state = self.state.lock().await;
            state.stopping = Some(Stopping::Shutdown);
            let leaving = state.replicas.iter().map(Leaving::retire).collect();
            let empty = Ring::empty(self.spec.slots, self.spec.vnodes, self.spec.family.clone());
            self.ring.store(Arc::new(empty));
            leaving
        };
        if self.ownership == Ownership::Engine {
            let deadline = Instant::now() + self.options.drain_timeout;
            for l in leaving {
                l.load
                    .drained(deadline.saturating_duration_since(Instant::now()))
                    .await;
            }
            log::info!("replicas left running: the engine owns them");
            return;
        }
        self.drain_and_stop(leaving, |name| log::info!("replica {name} stopped"))
            .await;
    }
}
