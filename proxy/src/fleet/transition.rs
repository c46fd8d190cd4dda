//! The one place a replica's state changes: [`Fleet::transition`] logs the
//! change, counts it in the metrics and says whether the ring's membership
//! changed, so that the caller publishes a new ring (which is how the proxy
//! hears of it). Replicas entering and leaving the fleet go through
//! [`Fleet::joined`] and [`Fleet::departed`].

use std::fmt;

use super::{Fleet, Replica, ReplicaState};

/// What happened to a replica.
#[derive(Debug, Clone, Copy)]
pub(super) enum Change<'a> {
    /// A heartbeat answered again while it was suspect.
    Recovered,
    /// A request could not reach it.
    Suspected,
    /// Heartbeats failed (`failures` in a row, or once while suspect).
    HeartbeatsFailed { last: &'a str },
    /// Its process or container exited.
    Exited,
    /// Out of the ring (joining, or down under an engine), it answered a
    /// heartbeat.
    Answered,
    /// The engine reports a new instance (a new task) under its name: out
    /// of the ring until it answers.
    Renewed,
    /// The engine reports no running instance for it.
    Vanished,
}

impl Change<'_> {
    fn target(self) -> ReplicaState {
        match self {
            Change::Recovered | Change::Answered => ReplicaState::Up,
            Change::Suspected => ReplicaState::Suspect,
            Change::Renewed => ReplicaState::Joining,
            Change::HeartbeatsFailed { .. } | Change::Exited | Change::Vanished => {
                ReplicaState::DOWN
            }
        }
    }
}

impl Fleet {
    /// Applies `change` to `r`. Returns whether `r` entered or left the
    /// ring (the caller must then publish).
    pub(super) fn transition(&self, r: &mut Replica, change: Change<'_>) -> bool {
        let name = &r.name;
        match change {
            Change::Recovered => log::info!("replica {name} answers again; no longer suspect"),
            Change::Suspected => {
                log::warn!("replica {name} suspect: a request could not reach it")
            }
            Change::HeartbeatsFailed { last } => log::warn!(
                "replica {name} down: {} failed heartbeat(s), last: {last}",
                r.failures
            ),
            Change::Exited => log::warn!("replica {name} down: its process exited"),
            Change::Answered => log::info!("replica {name} answers; in the ring"),
            Change::Renewed => {
                log::info!("replica {name} has a new instance; waiting for it to answer")
            }
            Change::Vanished => {
                log::warn!("replica {name} down: the engine reports no running instance")
            }
        }
        let was_in_ring = r.state.in_ring();
        r.state = change.target();
        self.metrics.replica_state(&r.name, r.state, true);
        was_in_ring != r.state.in_ring()
    }

    /// `r` joined the fleet (added, started at boot, or replacing one);
    /// `how` ends its log line.
    pub(super) fn joined(&self, r: &Replica, how: fmt::Arguments<'_>) {
        if let (ReplicaState::Up, Some(addr)) = (r.state, r.addr) {
            log::info!("replica {} up on {addr}{how}", r.name);
        }
        self.metrics.replica_state(&r.name, r.state, true);
    }

    /// The replica called `name` left the fleet: its series go.
    pub(super) fn departed(&self, name: &str) {
        self.metrics.forget(name);
    }

    /// As [`Fleet::departed`], unless `name` is (again) in the fleet.
    pub(super) async fn forget_if_gone(&self, name: &str) {
        let state = self.state.lock().await;
        let known = state.replicas.iter().any(|r| r.name == name)
            || state.pending.iter().any(|p| p == name);
        if !known {
            self.departed(name);
        }
    }
}
