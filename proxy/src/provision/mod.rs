//! Provisioners: how replicas come into being and go away.
//!
//! The fleet decides *which* replicas should exist; a provisioner makes it so
//! in one particular world: child processes on this machine
//! ([`ProcessProvisioner`]), containers on a Docker network
//! ([`DockerProvisioner`]), addresses that something else runs
//! ([`StaticProvisioner`]), or Docker Swarm services ([`SwarmProvisioner`]),
//! where the engine owns the set and the fleet finds the members through
//! [`Discovery`]. A provisioner only starts and stops; readiness (the first
//! heartbeat) and health are the fleet's business.
//!
//! This module imports nothing from `config`, `fleet` or `health`: each
//! provisioner owns its settings type, and [`build`] is the one factory.

mod build;
mod discovery;
pub mod docker;
mod error;
pub mod names;
pub mod process;
mod statics;
pub mod swarm;

use std::net::{IpAddr, SocketAddr};

use async_trait::async_trait;

pub use build::{build, Provisioned, ProvisionerSettings, Timeouts};
pub use discovery::{Discovery, Found, Members};
pub use docker::{DockerProvisioner, DockerSettings};
pub use error::StartError;
pub use process::{ProcessProvisioner, ProcessSettings};
pub use statics::StaticProvisioner;
pub use swarm::{SwarmProvisioner, SwarmSettings};

/// A replica the provisioner has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Distinguishes successive replicas with the same name, so that news
    /// about an old one (its exit) is never applied to its replacement.
    pub generation: u64,
}

/// A replica that stopped on its own (crashed, was killed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exited {
    pub name: String,
    pub generation: u64,
}

/// Starts and stops replicas.
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Short name for logs and `/rep?verbose=1`.
    fn kind(&self) -> &'static str;

    /// Whether `name` is acceptable as a hostname for this provisioner
    /// (why not, if not; the admin API adds the `<Error>` prefix).
    fn check_name(&self, name: &str) -> Result<(), String>;

    /// Whether `/add` may invent names (a static provisioner cannot: the
    /// name is the address).
    fn generates_names(&self) -> bool;

    /// Addresses that stand for this host when a client reaches ringlb
    /// through them: the gateways of ringlb's Docker network (a `curl` on
    /// the host to a published port arrives from there). None by default.
    fn local_gateways(&self) -> Vec<IpAddr> {
        Vec::new()
    }

    /// Starts replica `name`, or takes over one a previous ringlb left
    /// running under that name (an upgrade, a restart after a crash). It
    /// may not answer requests yet.
    async fn start(&self, name: &str) -> Result<Started, StartError>;

    /// Stops replica `name` of `generation` (gracefully, then forcibly) and
    /// waits for it. A newer replica under the same name is left alone, so a
    /// late stop can never take down its successor; stopping an unknown
    /// name or generation is a no-op.
    async fn stop(&self, name: &str, generation: u64);

    /// After the initial replicas started: removes whatever a previous
    /// ringlb left running that was not taken over (outside the desired
    /// set). Nothing by default.
    async fn remove_unclaimed(&self) {}

    /// An upgrade is done: lets go of every replica without stopping it,
    /// because the new process serves them; [`Provisioner::stop_all_blocking`]
    /// stops nothing after it. False (the default) where replicas cannot
    /// outlive this process and the new one started its own.
    fn hand_over(&self) -> bool {
        false
    }

    /// Names of the replicas currently running, sorted.
    fn running(&self) -> Vec<String>;

    /// Stops every replica; used at shutdown, from any thread, blocking.
    fn stop_all_blocking(&self);
}
