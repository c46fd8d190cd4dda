//! Discovery: how the current replicas are *found*, as opposed to how they
//! are started ([`super::Provisioner`]).
//!
//! Where ringlb starts its replicas itself (processes, containers) it knows
//! them already and needs no discovery. Where an engine owns the replica set
//! (Docker Swarm services; on paper, a Kubernetes Deployment's endpoints),
//! the engine is the source of truth and several ringlb instances watch it:
//! each reports the same members, so each builds the same ring. The fleet
//! then only observes (heartbeats decide who is in the ring) and turns
//! `/add` and `/rm` into engine calls.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::Started;

/// One replica as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its hostname (the name the ring hashes).
    pub name: String,
    /// Its running instance (address and generation, e.g. a hash of the
    /// Swarm task ID); `None` while it has none, for example between a
    /// crash and the engine's restart.
    pub running: Option<Started>,
}

/// A snapshot of the members, sorted by name.
pub type Members = Arc<Vec<Found>>;

/// Yields the current members and every change to them.
#[async_trait]
pub trait Discovery: Send + Sync {
    /// The members now; a new snapshot is sent on every change (and after
    /// each periodic resync that found one).
    fn members(&self) -> watch::Receiver<Members>;

    /// Creates the `initial` replicas if this deployment never had any:
    /// once per deployment, by whichever instance starts first. Every
    /// later start (another instance, a restart, also after an `/rm` of
    /// every replica) takes the set as it finds it. Whether this call
    /// created them (then members are on their way).
    async fn seed(&self, initial: &[String]) -> bool;
}
