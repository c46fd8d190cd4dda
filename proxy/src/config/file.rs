//! The `ringlb:` section of the YAML file, exactly as written.
//!
//! These structs mirror the file and reject unknown keys; [`super::Settings`]
//! turns them into the validated, typed configuration the rest of the program
//! uses. Every field has a default, so a file needs only what it changes.

use serde::Deserialize;

/// The whole file: Pingora's own keys are ignored here (Pingora reads them).
#[derive(Debug, Deserialize)]
pub struct FileRoot {
    #[serde(default)]
    pub ringlb: Option<RinglbFile>,
    /// Which of Pingora's keys that ringlb gives a default the file sets.
    #[serde(flatten)]
    pub pingora: super::pingora::PingoraKeys,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RinglbFile {
    pub listen: Option<String>,
    pub admin: AdminFile,
    pub ring: RingFile,
    pub key: KeyFile,
    pub routes: Option<Vec<String>>,
    pub upstream: UpstreamFile,
    pub replicas: ReplicasFile,
    pub health: HealthFile,
    pub clients: ClientsFile,
    pub access_log: AccessLogFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminFile {
    pub listen: Option<String>,
    pub on_proxy_port: Option<bool>,
    pub max_body_bytes: Option<u64>,
    /// A file holding the admin token (the token itself is never in YAML;
    /// `RINGLB_ADMIN_TOKEN` is the other way to give it).
    pub token_file: Option<String>,
    pub allow_remote_changes: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingFile {
    pub slots: Option<u64>,
    pub vnodes: Option<u32>,
    pub family: Option<String>,
    pub polynomial: Option<PolynomialFile>,
    pub bounded_load: Option<f64>,
    pub bounded_walk: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolynomialFile {
    pub request: [i64; 3],
    pub vnode: [i64; 5],
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyFile {
    pub source: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamFile {
    pub connect_timeout_ms: Option<u64>,
    pub read_timeout_ms: Option<u64>,
    pub write_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub connect_retries: Option<u32>,
    pub retry_after_connect: Option<bool>,
    pub http2: Option<bool>,
    pub http2_streams: Option<u32>,
    pub pool_per_thread: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplicasFile {
    pub provisioner: Option<String>,
    pub initial: Option<Vec<String>>,
    pub max: Option<u32>,
    pub binary: Option<String>,
    pub bind: Option<String>,
    pub start_timeout_ms: Option<u64>,
    pub stop_timeout_ms: Option<u64>,
    pub backend_threads: Option<u32>,
    pub drain_timeout_ms: Option<u64>,
    pub docker: Option<DockerFile>,
    pub swarm: Option<DockerFile>,
}

/// `ringlb.replicas.docker` (only with `provisioner: docker`) and
/// `ringlb.replicas.swarm` (only with `provisioner: swarm`): the same keys.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DockerFile {
    pub socket: Option<String>,
    pub image: Option<String>,
    pub network: Option<String>,
    pub name_prefix: Option<String>,
    pub port: Option<u16>,
    pub owner: Option<String>,
}

/// `ringlb.clients`: limits toward clients.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientsFile {
    pub header_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub body_timeout_ms: Option<u64>,
    pub max_connections: Option<u64>,
    pub max_per_client: Option<u32>,
    pub max_header_bytes: Option<u64>,
    pub max_headers: Option<u64>,
    pub pipelining: Option<bool>,
    pub rehome: Option<bool>,
    pub read_buffer_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthFile {
    pub interval_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub failures: Option<u32>,
    pub replacement_name: Option<String>,
}

/// `ringlb.access_log`: one line per request, off by default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessLogFile {
    pub enabled: Option<bool>,
    /// `stdout` or an absolute file path.
    pub path: Option<String>,
}
