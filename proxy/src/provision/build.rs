//! The one place that turns provisioner settings into a running
//! provisioner (and, for an engine-managed set, its discovery), so that
//! nothing above `provision` knows any provisioner's internals.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::docker::{DockerOptions, DockerProvisioner, DockerSettings};
use super::process::{ProcessOptions, ProcessProvisioner, ProcessSettings};
use super::swarm::{SwarmProvisioner, SwarmSettings};
use super::{Discovery, Exited, Provisioner, StaticProvisioner};

/// Which world the replicas live in, and how to run them there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionerSettings {
    /// `ringlb-backend` child processes on this machine.
    Process(ProcessSettings),
    /// Replicas run elsewhere; hostnames are `host:port`.
    Static,
    /// `ringlb-backend` containers on a user-defined Docker network.
    Docker(DockerSettings),
    /// One Docker Swarm service per replica; Swarm owns the set.
    Swarm(SwarmSettings),
}

impl ProvisionerSettings {
    /// Whether `name` is a valid hostname for this provisioner.
    pub fn check_name(&self, name: &str) -> Result<(), String> {
        match self {
            ProvisionerSettings::Process(_) => super::names::check_hostname(name),
            ProvisionerSettings::Static => super::names::check_static_address(name),
            ProvisionerSettings::Docker(d) => {
                super::docker::check_container_name(&d.name_prefix, name)
            }
            ProvisionerSettings::Swarm(s) => super::swarm::check_service_name(&s.name_prefix, name),
        }
    }

    /// Whether replicas are started at boot when none are configured.
    pub fn starts_replicas(&self) -> bool {
        !matches!(self, ProvisionerSettings::Static)
    }
}

/// Bounds on starting and stopping one replica.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub start: Duration,
    pub stop: Duration,
}

/// A provisioner, ready to use.
pub struct Provisioned {
    pub provisioner: Arc<dyn Provisioner>,
    /// Set where an engine owns the replica set: the fleet observes it.
    pub discovery: Option<Arc<dyn Discovery>>,
    /// Replicas that stopped on their own (processes, containers).
    pub exits: mpsc::UnboundedReceiver<Exited>,
}

/// Builds the provisioner `settings` name (it checks what it can reach,
/// for example the Docker Engine, and fails with a clear message).
pub fn build(settings: &ProvisionerSettings, timeouts: Timeouts) -> Result<Provisioned, String> {
    let (exits_tx, exits) = mpsc::unbounded_channel();
    let mut discovery: Option<Arc<dyn Discovery>> = None;
    let provisioner: Arc<dyn Provisioner> = match settings {
        ProvisionerSettings::Static => Arc::new(StaticProvisioner::new()),
        ProvisionerSettings::Docker(docker) => Arc::new(DockerProvisioner::new(
            DockerOptions {
                settings: docker.clone(),
                start_timeout: timeouts.start,
                stop_timeout: timeouts.stop,
            },
            exits_tx,
        )?),
        ProvisionerSettings::Process(process) => {
            let binary = match &process.binary {
                Some(b) => b.clone(),
                None => ProcessProvisioner::default_binary()
                    .ok_or("ringlb-backend not found next to ringlb; set ringlb.replicas.binary")?,
            };
            let options = ProcessOptions {
                binary,
                bind: process.bind,
                threads: process.threads,
                start_timeout: timeouts.start,
                stop_timeout: timeouts.stop,
            };
            Arc::new(
                ProcessProvisioner::new(options, exits_tx)
                    .map_err(|e| format!("cannot start the replica reaper thread: {e}"))?,
            )
        }
        ProvisionerSettings::Swarm(swarm) => {
            let p = Arc::new(SwarmProvisioner::new(swarm.clone(), timeouts)?);
            discovery = Some(p.clone());
            p
        }
    };
    Ok(Provisioned {
        provisioner,
        discovery,
        exits,
    })
}
