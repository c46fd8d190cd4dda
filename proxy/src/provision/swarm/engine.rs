//! The Swarm calls the provisioner makes, through `bollard` (typed models,
//! one maintained client) with one exception: the task list. bollard's
//! `Task` model (bollard-stubs 1.53.1-rc.29.3.1, `models.rs`, `pub struct
//! Task` at lines 8536-8609) has no `NetworksAttachments` field, so
//! the overlay address of each task, which the Engine does send, would be
//! dropped on decoding; tasks are read as JSON through the small client the
//! docker provisioner already has (`docker::api`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ConfigSpec, EventMessage, LocalNodeState, NetworkAttachmentConfig, ServiceSpec,
    ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec, TaskSpecContainerSpec,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::query_parameters::{EventsOptionsBuilder, ListServicesOptionsBuilder};
use bollard::{ClientVersion, Docker};
use futures_util::stream::{BoxStream, StreamExt};
use http::Method;
use serde_json::Value;

use super::SwarmSettings;
use crate::provision::docker::api;
use crate::provision::Started;

/// Every service ringlb creates carries `ringlb.owner=<owner>` (the set
/// the instances share) and the replica's hostname; its containers carry
/// them too (container events are filtered on them).
pub const OWNER_LABEL: &str = "ringlb.owner";
pub const REPLICA_LABEL: &str = "ringlb.replica";

/// The oldest Engine API ringlb supports (Docker 20.10). bollard 0.21.1
/// builds `/v1.41<path>` and then `url.join(path)` (its `uri.rs`, line
/// 44), which drops the version, so the daemon answers at its own version;
/// pinned anyway, so that a fixed bollard asks for one 20.10 speaks.
const API_1_41: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// How long a replica's task gets to stop on SIGTERM, and how soon Swarm
/// restarts one that failed.
const STOP_GRACE: Duration = Duration::from_secs(5);
const RESTART_DELAY: Duration = Duration::from_millis(100);

/// A stream of Engine events.
pub type Events = BoxStream<'static, Result<EventMessage, BollardError>>;

/// An Engine call that failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The name is in use (HTTP 409).
    #[error("already exists")]
    Conflict,
    #[error("{0}")]
    Failed(String),
}

impl From<BollardError> for CallError {
    fn from(e: BollardError) -> Self {
        match e {
            BollardError::DockerResponseServerError {
                status_code: 409, ..
            } => CallError::Conflict,
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => CallError::Failed(format!("Docker Engine {status_code}: {message}")),
            e => CallError::Failed(format!("Docker Engine: {e}")),
        }
    }
}

/// A replica service and, if it has one, its running task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    /// The service's ID: a service re-created under the same name has
    /// another.
    pub id: String,
    pub running: Option<Started>,
}

/// The marker config's data ("seeded", base64, as the API wants it).
const SEEDED: &str = "c2VlZGVk";

/// The Engine at one socket, seen as a swarm.
#[derive(Clone)]
pub struct Swarm {
    docker: Docker,
    raw: api::Engine,
    settings: SwarmSettings,
    /// The overlay network's ID (tasks name networks by ID).
    network_id: String,
}

impl Swarm {
    /// Connects and checks what every later call relies on: this node is
    /// a swarm manager, the network is an attachable overlay, the image is
    /// here. Returns the engine and the addresses a client on this host
    /// arrives from through a published port (`docker_gwbridge`'s gateway).
    pub async fn connect(settings: &SwarmSettings) -> Result<(Swarm, Vec<IpAddr>), String> {
        let socket = settings.socket.display().to_string();
        let docker = Docker::connect_with_unix(&socket, 10, &API_1_41)
            .map_err(|e| format!("cannot use the Docker Engine at {socket}: {e}"))?;
        let info = docker
            .info()
            .await
            .map_err(|e| format!("the Docker Engine at {socket} does not answer: {e}"))?;
        let swarm = info.swarm.unwrap_or_default();
        if swarm.local_node_state != Some(LocalNodeState::ACTIVE) {
            return Err(format!(
                "this Docker Engine is not in a swarm (docker swarm init, or make swarm); state {:?}",
                swarm.local_node_state
            ));
        }
        if swarm.control_available != Some(true) {
            return Err("this node is not a swarm manager: ringlb needs a manager's Engine API to manage services".to_string());
        }
        let network = docker
            .inspect_network(&settings.network, None)
            .await
            .map_err(|e| format!("replicas.swarm.network {:?}: {e}", settings.network))?;
        if network.driver.as_deref() != Some("overlay") || network.attachable != Some(true) {
            return Err(format!(
                "replicas.swarm.network {:?} must be an attachable overlay network (docker network create -d overlay --attachable ...), got driver {:?}",
                settings.network, network.driver
            ));
        }
        let network_id = network.id.unwrap_or_default();
        if let Err(e) = docker.inspect_image(&settings.image).await {
            // On more nodes the image comes from a registry; here it must exist.
            log::warn!(
                "replica image {:?} is not on this node ({e}); every node that runs a replica must be able to pull it",
                settings.image
            );
        }
        let gateways = match docker.inspect_network("docker_gwbridge", None).await {
            Ok(n) => n
                .ipam
                .and_then(|i| i.config)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.gateway?.parse().ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        let engine = Swarm {
            docker,
            raw: api::Engine::new(&settings.socket),
            settings: settings.clone(),
            network_id,
        };
        Ok((engine, gateways))
    }

    fn service_name(&self, name: &str) -> String {
        format!("{}{name}", self.settings.name_prefix)
    }

    fn labels(&self, name: &str) -> HashMap<String, String> {
        HashMap::from([
            (OWNER_LABEL.to_string(), self.settings.owner.clone()),
            (REPLICA_LABEL.to_string(), name.to_string()),
        ])
    }

    /// Creates replica `name`'s service: one task, restarted whenever it
    /// stops, on the overlay network with its hostname as alias. Its ID.
    pub async fn create(&self, name: &str) -> Result<String, CallError> {
        let labels = self.labels(name);
        let spec = ServiceSpec {
            name: Some(self.service_name(name)),
            labels: Some(labels.clone()),
            mode: Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
                ..Default::default()
            }),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(self.settings.image.clone()),
                    env: Some(vec![format!("SERVER_ID={name}")]),
                    labels: Some(labels),
                    hostname: Some(name.to_string()),
                    stop_grace_period: Some(STOP_GRACE.as_nanos() as i64),
                    ..Default::default()
                }),
                restart_policy: Some(TaskSpecRestartPolicy {
                    condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
                    delay: Some(RESTART_DELAY.as_nanos() as i64),
                    ..Default::default()
                }),
                networks: Some(vec![NetworkAttachmentConfig {
                    target: Some(self.settings.network.clone()),
                    aliases: Some(vec![name.to_string()]),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self.docker.create_service(spec, None).await?;
        Ok(created.id.unwrap_or_default())
    }

    /// Claims the deployment's first start: creates the Swarm config
    /// `ringlb-seeded-<owner>`, which only one caller can (409 for the
    /// rest, also on every later start). True for the one that did.
    pub async fn claim_seeding(&self) -> Result<bool, CallError> {
        let spec = ConfigSpec {
            name: Some(format!("ringlb-seeded-{}", self.settings.owner)),
            labels: Some(HashMap::from([(
                OWNER_LABEL.to_string(),
                self.settings.owner.clone(),
            )])),
            data: Some(SEEDED.to_string()),
            ..Default::default()
        };
        match self.docker.create_config(spec).await {
            Ok(_) => Ok(true),
            Err(e) => match CallError::from(e) {
                CallError::Conflict => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Removes the replica service with ID `id` (Swarm stops its task with
    /// SIGTERM; the replica finishes what it serves); a service that is
    /// already gone is not an error.
    pub async fn remove_id(&self, id: &str) -> Result<(), CallError> {
        match self.docker.delete_service(id).await {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes replica `name`'s service, whichever it is now.
    pub async fn remove(&self, name: &str) -> Result<(), CallError> {
        match self.docker.delete_service(&self.service_name(name)).await {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every replica service with this deployment's owner label, sorted by
    /// hostname, each with its running task's overlay address.
    pub async fn list(&self) -> Result<Vec<Listed>, CallError> {
        let owner = format!("{OWNER_LABEL}={}", self.settings.owner);
        let filters = HashMap::from([("label", vec![owner.clone()])]);
        let services = self
            .docker
            .list_services(Some(
                ListServicesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        let mut by_id: HashMap<String, String> = HashMap::new();
        for s in services {
            let (Some(id), Some(spec)) = (s.id, s.spec) else {
                continue;
            };
            let Some(name) = spec.labels.and_then(|mut l| l.remove(REPLICA_LABEL)) else {
                continue;
            };
            by_id.insert(id, name);
        }
        let tasks = self.running_tasks(&owner).await?;
        let mut listed: Vec<Listed> = by_id
            .iter()
            .map(|(id, name)| Listed {
                name: name.clone(),
                id: id.clone(),
                running: tasks.get(id).copied(),
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// Service ID -> its running task (the most recently changed, by the
    /// task's version index, should Swarm briefly run two), from the raw
    /// task list (see the module docs).
    async fn running_tasks(&self, owner: &str) -> Result<HashMap<String, Started>, CallError> {
        let filters = serde_json::json!({
            "label": [owner],
            "desired-state": ["running"],
        });
        let path = format!("/tasks?filters={}", api::encode(&filters.to_string()));
        let value = self
            .raw
            .call(Method::GET, &path, None, Duration::from_secs(10))
            .await
            .map_err(|e| CallError::Failed(e.to_string()))?;
        let mut found: HashMap<String, (u64, Started)> = HashMap::new();
        for task in value.as_array().into_iter().flatten() {
            let Some((service, updated, started)) = self.running(task) else {
                continue;
            };
            let newer = found.get(&service).is_none_or(|(t, _)| *t < updated);
            if newer {
                found.insert(service, (updated, started));
            }
        }
        Ok(found.into_iter().map(|(k, (_, s))| (k, s)).collect())
    }

    /// A running task's service ID, version index and address on our
    /// overlay.
    fn running(&self, task: &Value) -> Option<(String, u64, Started)> {
        let str_at = |path: &str| task.pointer(path).and_then(Value::as_str);
        if str_at("/Status/State") != Some("running") {
            return None;
        }
        let attachment = task
            .get("NetworksAttachments")?
            .as_array()?
            .iter()
            .find(|a| a.pointer("/Network/ID").and_then(Value::as_str) == Some(&self.network_id))?;
        let cidr = attachment.pointer("/Addresses/0").and_then(Value::as_str)?;
        let ip: IpAddr = cidr.split('/').next()?.parse().ok()?;
        let id = str_at("/ID")?;
        Some((
            str_at("/ServiceID")?.to_string(),
            task.pointer("/Version/Index")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            Started {
                addr: SocketAddr::new(ip, self.settings.port),
                generation: xxhash_rust::xxh3::xxh3_64(id.as_bytes()),
            },
        ))
    }

    /// Service events (any service: they carry no labels, so a label
    /// filter would drop them all). Ends on an error; subscribe again.
    pub fn service_events(&self) -> Events {
        let filters = HashMap::from([("type", vec!["service".to_string()])]);
        self.docker
            .events(Some(
                EventsOptionsBuilder::default().filters(&filters).build(),
            ))
            .boxed()
    }

    /// Events of this deployment's replica containers on this node (start,
    /// die, ...). Ends on an error; subscribe again.
    pub fn container_events(&self) -> Events {
        let filters = HashMap::from([
            ("type", vec!["container".to_string()]),
            (
                "label",
                vec![format!("{OWNER_LABEL}={}", self.settings.owner)],
            ),
        ]);
        self.docker
            .events(Some(
                EventsOptionsBuilder::default().filters(&filters).build(),
            ))
            .boxed()
    }
}
