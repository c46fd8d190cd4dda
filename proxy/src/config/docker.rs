//! `ringlb.replicas.docker` and `ringlb.replicas.swarm`: where the Docker
//! Engine is and what the replica containers (or services) look like,
//! validated up front so that a typo fails at `ringlb -t`, not at the first
//! `/add`.

use std::path::PathBuf;

use super::file::DockerFile;
use super::settings::{bad, Invalid};
use crate::provision::{DockerSettings, SwarmSettings};

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
pub const DEFAULT_IMAGE: &str = "ringlb-backend:latest";
pub const DEFAULT_NETWORK: &str = "ringlb-net";
pub const DEFAULT_SWARM_NETWORK: &str = "ringlb-swarm";
pub const DEFAULT_SWARM_OWNER: &str = "ringlb-swarm";
pub const DEFAULT_OWNER: &str = "ringlb";

/// Docker's rule for container and network names (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
fn docker_name(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The `swarm` provisioner's settings: the docker keys, where `network`
/// is an attachable overlay network and names are service names.
pub(super) fn swarm_settings(mut d: DockerFile) -> Result<SwarmSettings, Invalid> {
    d.network = d
        .network
        .or_else(|| Some(DEFAULT_SWARM_NETWORK.to_string()));
    // Not the docker provisioner's default: one of those on the same
    // Engine removes containers with its owner label at start.
    d.owner = d.owner.or_else(|| Some(DEFAULT_SWARM_OWNER.to_string()));
    let s = engine_settings("replicas.swarm", d)?;
    // Service names are stricter than container names: no '_' or '.'.
    if let Some(c) = s
        .name_prefix
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(bad(
            "replicas.swarm.name_prefix",
            format!(
                "must be letters, digits and '-' (a Swarm service name); {c:?} in {:?} is not",
                s.name_prefix
            ),
        ));
    }
    Ok(SwarmSettings {
        socket: s.socket,
        image: s.image,
        network: s.network,
        name_prefix: s.name_prefix,
        port: s.port,
        owner: s.owner,
    })
}

pub(super) fn docker_settings(d: DockerFile) -> Result<DockerSettings, Invalid> {
    engine_settings("replicas.docker", d)
}

fn engine_settings(section: &str, d: DockerFile) -> Result<DockerSettings, Invalid> {
    let key = |k: &str| format!("{section}.{k}");
    let socket = PathBuf::from(d.socket.unwrap_or_else(|| DEFAULT_SOCKET.to_string()));
    if !socket.is_absolute() {
        return Err(bad(
            &key("socket"),
            format!("must be an absolute path, got {:?}", socket.display()),
        ));
    }
    let image = d.image.unwrap_or_else(|| DEFAULT_IMAGE.to_string());
    if image.is_empty() || image.len() > 255 || !image.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            &key("image"),
            format!("must be an image reference like name:tag, got {image:?}"),
        ));
    }
    let network = d.network.unwrap_or_else(|| DEFAULT_NETWORK.to_string());
    if !docker_name(&network) || network.len() > 128 {
        return Err(bad(
            &key("network"),
            format!("must be a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*), got {network:?}"),
        ));
    }
    if matches!(network.as_str(), "bridge" | "host" | "none") {
        return Err(bad(
            &key("network"),
            format!("must be a user-defined network (aliases and DNS do not work on {network:?})"),
        ));
    }
    let name_prefix = d.name_prefix.unwrap_or_default();
    if !name_prefix.is_empty() && (!docker_name(&name_prefix) || name_prefix.len() > 64) {
        return Err(bad(
            &key("name_prefix"),
            format!(
                "must be empty or up to 64 of [a-zA-Z0-9_.-], starting with a letter or digit; got {name_prefix:?}"
            ),
        ));
    }
    let port = match d.port.unwrap_or(5000) {
        0 => return Err(bad(&key("port"), "must be 1..=65535, got 0")),
        p => p,
    };
    let owner = d.owner.unwrap_or_else(|| DEFAULT_OWNER.to_string());
    if !docker_name(&owner) || owner.len() > 128 {
        return Err(bad(
            &key("owner"),
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
