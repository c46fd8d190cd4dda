//! `ringlb.replicas.docker`: where the Docker Engine is and what the
//! replica containers look like, validated up front so that a typo fails at
//! `ringlb -t`, not at the first `/add`.

use std::path::PathBuf;

use super::file::DockerFile;
use super::settings::{bad, Invalid};

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

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
pub const DEFAULT_IMAGE: &str = "ringlb-backend:latest";
pub const DEFAULT_NETWORK: &str = "ringlb-net";
pub const DEFAULT_OWNER: &str = "ringlb";

/// Docker's rule for container and network names (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
fn docker_name(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub(super) fn docker_settings(d: DockerFile) -> Result<DockerSettings, Invalid> {
    let socket = PathBuf::from(d.socket.unwrap_or_else(|| DEFAULT_SOCKET.to_string()));
    if !socket.is_absolute() {
        return Err(bad(
            "replicas.docker.socket",
            format!("must be an absolute path, got {:?}", socket.display()),
        ));
    }
    let image = d.image.unwrap_or_else(|| DEFAULT_IMAGE.to_string());
    if image.is_empty() || image.len() > 255 || !image.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "replicas.docker.image",
            format!("must be an image reference like name:tag, got {image:?}"),
        ));
    }
    let network = d.network.unwrap_or_else(|| DEFAULT_NETWORK.to_string());
    if !docker_name(&network) || network.len() > 128 {
        return Err(bad(
            "replicas.docker.network",
            format!("must be a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*), got {network:?}"),
        ));
    }
    if matches!(network.as_str(), "bridge" | "host" | "none") {
        return Err(bad(
            "replicas.docker.network",
            format!("must be a user-defined network (aliases and DNS do not work on {network:?})"),
        ));
    }
    let name_prefix = d.name_prefix.unwrap_or_default();
    if !name_prefix.is_empty() && (!docker_name(&name_prefix) || name_prefix.len() > 64) {
        return Err(bad(
            "replicas.docker.name_prefix",
            format!(
                "must be empty or up to 64 of [a-zA-Z0-9_.-], starting with a letter or digit; got {name_prefix:?}"
            ),
        ));
    }
    let port = match d.port.unwrap_or(5000) {
        0 => return Err(bad("replicas.docker.port", "must be 1..=65535, got 0")),
        p => p,
    };
    let owner = d.owner.unwrap_or_else(|| DEFAULT_OWNER.to_string());
    if !docker_name(&owner) || owner.len() > 128 {
        return Err(bad(
            "replicas.docker.owner",
            format!("must be 1 to 128 of [a-zA-Z0-9_.-], starting with a letter or digit; got {owner:?}"),
        ));
    }
    Ok(DockerSettings {
        socket,
        image,
        network,
        name_prefix,
        port,
        owner,
    })
}
