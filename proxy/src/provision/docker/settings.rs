//! What the `docker` provisioner needs to know, as config validated it.

use std::path::PathBuf;

/// How the `docker` provisioner runs replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerSettings {
    /// The Engine API's unix socket.
    pub socket: PathBuf,
    /// The replica image (`ringlb-backend` in a scratch image).
    pub image: String,
    /// A user-defined network: replicas get their hostname as alias there,
    /// and ringlb reaches them by their IP on it.
    pub network: String,
    /// Container name = prefix + hostname.
    pub name_prefix: String,
    /// The port replicas listen on inside their container.
    pub port: u16,
    /// Value of the `ringlb.owner` label on every container ringlb creates;
    /// containers with it are ringlb's to remove (also stale ones at start).
    pub owner: String,
}
