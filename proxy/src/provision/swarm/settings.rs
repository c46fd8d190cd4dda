//! What the `swarm` provisioner needs to know, as config validated it.

use std::path::PathBuf;

use crate::provision::names::check_hostname;

/// How replicas run as Swarm services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmSettings {
    /// The Engine API's unix socket (a manager node's).
    pub socket: PathBuf,
    /// The replica image. On more than one node it must come from a
    /// registry every node can pull from.
    pub image: String,
    /// An attachable overlay network ringlb's own tasks are on too: replica
    /// tasks get addresses on it (and their hostname as alias).
    pub network: String,
    /// Service name = prefix + hostname.
    pub name_prefix: String,
    /// The port replicas listen on inside their task.
    pub port: u16,
    /// Value of the `ringlb.owner` label on every replica service: the
    /// services with it are the replica set every instance follows.
    pub owner: String,
}

/// Longest Swarm service name.
const MAX_SERVICE_NAME: usize = 63;

/// Whether `name` can be a replica hostname *and*, with `prefix`, a Swarm
/// service name (at most 63 characters of `[a-zA-Z0-9-]`, not starting or
/// ending with `-`).
pub fn check_service_name(prefix: &str, name: &str) -> Result<(), String> {
    check_hostname(name)?;
    let full = format!("{prefix}{name}");
    if full.len() > MAX_SERVICE_NAME
        || full.starts_with('-')
        || !full.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(format!(
            "invalid hostname {name:?}: service name {full:?} must be at most {MAX_SERVICE_NAME} of [a-zA-Z0-9-], starting with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        assert!(check_service_name("", "Server1").is_ok());
        assert!(check_service_name("t1-", "replica2").is_ok());
        assert!(check_service_name("t_1-", "replica2").is_err());
        assert!(check_service_name(&"x".repeat(60), "abcd").is_err());
        assert!(check_service_name("", "bad_name").is_err());
    }
}
