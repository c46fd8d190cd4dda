//! The Engine calls the provisioner makes, typed: create, start, inspect,
//! stop, remove and list containers, and the start-up checks.
//!
//! Every container carries three labels: `ringlb.owner` (which ringlb made
//! it: the filter for listing, events and stale clean-up), `ringlb.name`
//! (its replica hostname) and `ringlb.generation`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::api::{encode, Engine, EngineError};
use super::DockerSettings;

pub const OWNER_LABEL: &str = "ringlb.owner";
pub const NAME_LABEL: &str = "ringlb.name";
pub const GENERATION_LABEL: &str = "ringlb.generation";

/// Limit for quick calls (inspect, list, remove).
const QUICK: Duration = Duration::from_secs(30);

/// A container as `/containers/json` lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub running: bool,
}

/// The gateways of a network as `/networks/{id}` describes it
/// (`IPAM.Config[].Gateway`).
pub fn gateways(network: &Value) -> Vec<IpAddr> {
    network
        .pointer("/IPAM/Config")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("Gateway")?.as_str()?.parse().ok())
        .collect()
}

/// The `filters` query value selecting this owner's containers.
pub fn owner_filter(owner: &str, extra: Value) -> String {
    let mut filters = json!({ "label": [format!("{OWNER_LABEL}={owner}")] });
    if let (Some(map), Value::Object(more)) = (filters.as_object_mut(), extra) {
        map.extend(more);
    }
    encode(&filters.to_string())
}

impl Engine {
    /// Is the Engine there and does it speak our API version?
    pub async fn ping(&self) -> Result<(), EngineError> {
        self.call(Method::GET, "/_ping", None, Duration::from_secs(5))
            .await
            .map(|_| ())
    }

    /// Start-up checks with messages that say how to fix them. Answers
    /// the network's gateways: a client on the Docker host reaches a
    /// published port from there.
    pub async fn check(&self, s: &DockerSettings) -> Result<Vec<IpAddr>, String> {
        self.ping().await.map_err(|e| e.to_string())?;
        let missing = |e: &EngineError| e.status() == Some(StatusCode::NOT_FOUND);
        let network = match self
            .call(
                Method::GET,
                &format!("/networks/{}", s.network),
                None,
                QUICK,
            )
            .await
        {
            Err(e) if missing(&e) => {
                return Err(format!(
                    "docker network {:?} does not exist (create it: docker network create {})",
                    s.network, s.network
                ))
            }
            Err(e) => return Err(e.to_string()),
            Ok(network) => network,
        };
        match self
            .call(
                Method::GET,
                &format!("/images/{}/json", s.image),
                None,
                QUICK,
            )
            .await
        {
            Err(e) if missing(&e) => Err(format!(
                "docker image {:?} does not exist (build it: make compose)",
                s.image
            )),
            Err(e) => Err(e.to_string()),
            Ok(_) => Ok(gateways(&network)),
        }
    }

    /// This owner's containers, running or not.
    pub async fn list(&self, owner: &str) -> Result<Vec<Listed>, EngineError> {
        let path = format!(
            "/containers/json?all=1&filters={}",
            owner_filter(owner, json!({}))
        );
        let value = self.call(Method::GET, &path, None, QUICK).await?;
        let items = value.as_array().cloned().unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|c| {
                Some(Listed {
                    id: c.get("Id")?.as_str()?.to_string(),
                    name: c
                        .pointer(&format!("/Labels/{NAME_LABEL}"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    running: c.get("State").and_then(Value::as_str) == Some("running"),
                })
            })
            .collect())
    }

    /// Creates (does not start) replica `hostname`; its container id.
    pub async fn create(
        &self,
        s: &DockerSettings,
        hostname: &str,
        generation: u64,
        limit: Duration,
    ) -> Result<String, EngineError> {
        let body = json!({
            "Image": s.image,
            "Env": [format!("SERVER_ID={hostname}"), format!("PORT={}", s.port)],
            "Labels": {
                OWNER_LABEL: s.owner,
                NAME_LABEL: hostname,
                GENERATION_LABEL: generation.to_string(),
            },
            "StopSignal": "SIGTERM",
            "HostConfig": {
                "NetworkMode": s.network,
                "RestartPolicy": { "Name": "no" },
            },
            "NetworkingConfig": {
                "EndpointsConfig": { s.network.clone(): { "Aliases": [hostname] } }
            },
        });
        let path = format!(
            "/containers/create?name={}",
            encode(&format!("{}{hostname}", s.name_prefix))
        );
        let created = self.call(Method::POST, &path, Some(&body), limit).await?;
        created
            .get("Id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| EngineError::Http {
                method: Method::POST,
                path,
                message: format!("no Id in the answer: {created}"),
            })
    }

    /// The owner label of the container called `name`, if one exists.
    pub async fn owner_of(&self, name: &str) -> Result<Option<(String, String)>, EngineError> {
        match self
            .call(
                Method::GET,
                &format!("/containers/{name}/json"),
                None,
                QUICK,
            )
            .await
        {
            Ok(v) => {
                let id = v.get("Id").and_then(Value::as_str).unwrap_or_default();
                let owner = v
                    .pointer(&format!("/Config/Labels/{OWNER_LABEL}"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Ok(Some((id.to_string(), owner.to_string())))
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn start(&self, id: &str, limit: Duration) -> Result<(), EngineError> {
        self.call(
            Method::POST,
            &format!("/containers/{id}/start"),
            None,
            limit,
        )
        .await
        .map(|_| ())
    }

    /// Where a started container listens on `network`, or why it does not.
    pub async fn address(&self, id: &str, s: &DockerSettings) -> Result<SocketAddr, String> {
        let v = self
            .call(Method::GET, &format!("/containers/{id}/json"), None, QUICK)
            .await
            .map_err(|e| e.to_string())?;
        if v.pointer("/State/Running").and_then(Value::as_bool) != Some(true) {
            let code = v.pointer("/State/ExitCode").cloned().unwrap_or(Value::Null);
            let error = v.pointer("/State/Error").cloned().unwrap_or(Value::Null);
            return Err(format!(
                "container exited at once (exit code {code}, error {error})"
            ));
        }
        let endpoint = v
            .pointer("/NetworkSettings/Networks")
            .and_then(|n| n.get(&s.network))
            .ok_or_else(|| format!("container is not on network {:?}", s.network))?;
        let ip = ["IPAddress", "GlobalIPv6Address"]
            .iter()
            .filter_map(|k| endpoint.get(*k).and_then(Value::as_str))
            .find_map(|a| a.parse::<IpAddr>().ok())
            .ok_or_else(|| format!("container has no IP address on {:?}", s.network))?;
        Ok(SocketAddr::new(ip, s.port))
    }

    /// SIGTERM, SIGKILL after `grace` (whole seconds, rounded up); a
    /// container that is already stopped or gone is fine.
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), EngineError> {
        let secs = grace.as_millis().div_ceil(1000);
        let limit = Duration::from_secs(secs as u64) + QUICK;
        match self
            .call(
                Method::POST,
                &format!("/containers/{id}/stop?t={secs}"),
                None,
                limit,
            )
            .await
        {
            Err(e)
                if matches!(
                    e.status(),
                    Some(StatusCode::NOT_MODIFIED | StatusCode::NOT_FOUND)
                ) =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Removes a container (killing it if it still runs); gone is fine.
    pub async fn remove(&self, id: &str) -> Result<(), EngineError> {
        match self
            .call(
                Method::DELETE,
                &format!("/containers/{id}?force=1&v=1"),
                None,
                QUICK,
            )
            .await
        {
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Stops then removes, logging (not returning) failures: used where
    /// nothing better can be done (stop, shutdown, clean-up).
    pub async fn retire(&self, id: &str, grace: Duration) {
        if let Err(e) = self.stop(id, grace).await {
            log::warn!("{e}");
        }
        if let Err(e) = self.remove(id).await {
            log::error!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_come_from_the_ipam_config() {
        let network = json!({
            "Name": "ringlb-net",
            "IPAM": { "Config": [
                { "Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1" },
                { "Subnet": "fd00::/64", "Gateway": "fd00::1" },
                { "Subnet": "10.9.0.0/16" }
            ] }
        });
        assert_eq!(
            gateways(&network),
            [
                "172.18.0.1".parse::<IpAddr>().unwrap(),
                "fd00::1".parse().unwrap()
            ]
        );
        assert!(gateways(&json!({ "IPAM": { "Config": null } })).is_empty());
        assert!(gateways(&json!({})).is_empty());
    }
}
