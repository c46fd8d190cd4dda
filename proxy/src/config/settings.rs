//! The validated configuration and the rules that produce it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::docker::{docker_settings, swarm_settings};
use super::file::RinglbFile;
use super::operations::{self, AccessLogTarget, AccessSettings};
use super::token::AdminToken;
use crate::clients::ClientSettings;
use crate::fleet::{HealthSettings, ReplacementName};
use crate::provision::{ProcessSettings, ProvisionerSettings};
use crate::ring::{is_prime, FamilyKind, Polynomial, MAGLEV_TABLE};
use crate::select::Walk;

/// Everything ringlb reads from its config, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the proxy listens (the seed's port 5000).
    pub listen: SocketAddr,
    pub admin: AdminSettings,
    pub ring: RingSettings,
    pub key: KeySource,
    /// Paths the replicas serve; anything else gets the spec's 400.
    pub routes: Vec<String>,
    pub upstream: UpstreamSettings,
    pub replicas: ReplicaSettings,
    pub health: HealthSettings,
    pub clients: ClientSettings,
    /// Where access log lines go; `None`: no access log (the default).
    pub access_log: Option<AccessLogTarget>,
    /// Which of Pingora's keys ringlb gives a default the file sets itself
    /// ([`super::PingoraKeys::apply`]).
    pub pingora: super::PingoraKeys,
}

#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// The admin API's own listener.
    pub listen: SocketAddr,
    /// Also answer `/add`, `/rm`, `/rep`, `/get` on the proxy port.
    pub on_proxy_port: bool,
    /// Largest accepted request body (413 beyond).
    pub max_body_bytes: usize,
    /// Who may change the fleet.
    pub access: AccessSettings,
    /// The admin token, from `RINGLB_ADMIN_TOKEN` or `access.token_file`
    /// (filled in by [`super::Settings::load`]).
    pub token: Option<AdminToken>,
}

#[derive(Debug, Clone)]
pub struct RingSettings {
    pub slots: u64,
    pub vnodes: u32,
    pub family: FamilyKind,
    /// Consistent hashing with bounded loads: a replica holds at most
    /// `ceil(c x (in flight + 1) / N)` requests (`None`: no bound).
    pub bounded_load: Option<f64>,
    /// Where a request goes when its owner is full.
    pub bounded_walk: Walk,
}

/// Where a request's hash key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A request header (lower-cased name).
    Header(String),
    /// A query-string parameter.
    Query(String),
    /// A cookie.
    Cookie(String),
    /// The client's IP address.
    ClientIp,
    /// The request path.
    Path,
    /// No key: every request draws a random 6-digit id, as the spec does.
    Random,
}

#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub idle_timeout: Duration,
    /// Failed connects (and resets of idempotent requests) retried on the
    /// next replica clockwise.
    pub connect_retries: u32,
    /// Retry an idempotent request on the next replica when it fails after
    /// connecting (reset: within `connect_retries`; timeout: once) and
    /// nothing was sent to the client yet.
    pub retry_after_connect: bool,
    /// Speak HTTP/2 without TLS to the replicas (h2c, prior knowledge),
    /// with up to this many requests multiplexed on one connection; `None`:
    /// HTTP/1.1 with keep-alive (the default).
    pub http2_streams: Option<usize>,
    /// Keep each worker thread's pooled replica connections to itself
    /// (see `proxy::worker`).
    pub pool_per_thread: bool,
}

#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    pub provisioner: ProvisionerSettings,
    /// Replicas started at boot.
    pub initial: Vec<String>,
    /// Upper bound on N (admin `/add` beyond it is refused).
    pub max: u32,
    /// How long a new replica may take to answer its first heartbeat.
    pub start_timeout: Duration,
    /// How long a stopping replica gets after SIGTERM before SIGKILL.
    pub stop_timeout: Duration,
    /// How long a leaving replica's requests in flight may take to finish
    /// before it is stopped anyway.
    pub drain_timeout: Duration,
}

pub(super) type Invalid = (String, String);

pub(super) fn bad(key: &str, message: impl Into<String>) -> Invalid {
    (format!("ringlb.{key}"), message.into())
}

fn addr(key: &str, value: Option<String>, default: &str) -> Result<SocketAddr, Invalid> {
    let v = value.unwrap_or_else(|| default.to_string());
    v.parse()
        .map_err(|_| bad(key, format!("must be ip:port, got {v:?}")))
}

fn millis(key: &str, value: Option<u64>, default: u64, min: u64) -> Result<Duration, Invalid> {
    let v = value.unwrap_or(default);
    if v < min || v > 3_600_000 {
        return Err(bad(key, format!("must be {min}..=3600000 ms, got {v}")));
    }
    Ok(Duration::from_millis(v))
}

pub(super) const DEFAULT_SLOTS: u64 = 1 << 63;
pub(super) const DEFAULT_VNODES: u32 = 2048;
/// Requests multiplexed on one h2c connection to a replica by default.
const DEFAULT_H2_STREAMS: usize = 100;
/// Maglev: the table holds at least this many entries per replica.
const MAGLEV_ENTRIES_PER_REPLICA: u32 = 100;
/// Maglev tables above this are memory (about 20 bytes an entry with the
/// lookup index, rebuilt on every membership change), not balance.
const MAX_MAGLEV_TABLE: u64 = 1_000_003;

pub(super) fn validate(f: RinglbFile) -> Result<Settings, Invalid> {
    let listen = addr("listen", f.listen, "0.0.0.0:5000")?;
    let access = operations::access(&f.admin)?;
    let admin = AdminSettings {
        access,
        token: None,
        listen: addr("admin.listen", f.admin.listen, "127.0.0.1:5050")?,
        on_proxy_port: f.admin.on_proxy_port.unwrap_or(true),
        max_body_bytes: match f.admin.max_body_bytes.unwrap_or(64 * 1024) {
            n @ 1..=16_777_216 => n as usize,
            n => {
                return Err(bad(
                    "admin.max_body_bytes",
                    format!("must be 1..=16777216, got {n}"),
                ))
            }
        },
    };

    let maglev = f.ring.family.as_deref() == Some("maglev");
    let slots = f
        .ring
        .slots
        .unwrap_or(if maglev { MAGLEV_TABLE } else { DEFAULT_SLOTS });
    if slots == 0 || slots > 1 << 63 {
        return Err(bad("ring.slots", format!("must be 1..=2^63, got {slots}")));
    }
    let vnodes = match (maglev, f.ring.vnodes) {
        // Maglev has no virtual nodes; 100 makes the capacity check ask for
        // a table of at least 100 entries per replica.
        (true, None) => MAGLEV_ENTRIES_PER_REPLICA,
        (true, Some(_)) => {
            return Err(bad(
                "ring.vnodes",
                "not used by the maglev family (its table has ring.slots entries)",
            ))
        }
        (false, v) => v.unwrap_or(DEFAULT_VNODES),
    };
    if vnodes == 0 || vnodes > 65_536 {
        return Err(bad(
            "ring.vnodes",
            format!("must be 1..=65536, got {vnodes}"),
        ));
    }
    if maglev && (!is_prime(slots) || slots > MAX_MAGLEV_TABLE) {
        return Err(bad(
            "ring.slots",
            format!("the maglev table size must be a prime up to {MAX_MAGLEV_TABLE} (65537 by default), got {slots}"),
        ));
    }
    let family = match (
        f.ring.family.as_deref().unwrap_or("strong"),
        f.ring.polynomial,
    ) {
        ("strong", None) => FamilyKind::Strong,
        ("spec", None) => FamilyKind::Spec,
        ("maglev", None) => FamilyKind::Maglev,
        ("polynomial", Some(p)) => FamilyKind::Polynomial(Polynomial {
            request: p.request,
            vnode: p.vnode,
        }),
        ("polynomial", None) => {
            return Err(bad("ring.polynomial", "required when family is polynomial"))
        }
        ("strong" | "spec" | "maglev", Some(_)) => {
            return Err(bad(
                "ring.polynomial",
                "only allowed when family is polynomial",
            ))
        }
        (other, _) => {
            return Err(bad(
                "ring.family",
                format!("must be one of strong, spec, polynomial, maglev; got {other:?}"),
            ))
        }
    };
    let bounded_load = match f.ring.bounded_load {
        None => None,
        Some(c) if c.is_finite() && (1.0..=100.0).contains(&c) => Some(c),
        Some(c) => {
            return Err(bad(
                "ring.bounded_load",
                format!("must be a factor in 1.0..=100.0 (leave it out for no bound), got {c}"),
            ))
        }
    };
    let bounded_walk = match f.ring.bounded_walk.as_deref() {
        None => Walk::default(),
        Some("clockwise") => Walk::Clockwise,
        Some("jump") => Walk::Jump,
        Some("least") => Walk::Least,
        Some(other) => {
            return Err(bad(
                "ring.bounded_walk",
                format!("must be clockwise, jump or least, got {other:?}"),
            ))
        }
    };
    let ring = RingSettings {
        slots,
        vnodes,
        family,
        bounded_load,
        bounded_walk,
    };

    let key_name = f.key.name;
    let named = |what: &str| -> Result<String, Invalid> {
        match &key_name {
            Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic()) => Ok(n.clone()),
            Some(n) => Err(bad("key.name", format!("invalid {what} name {n:?}"))),
            None => Err(bad(
                "key.name",
                format!("required when key.source is {what}"),
            )),
        }
    };
    let key = match f.key.source.as_deref().unwrap_or("header") {
        "header" => KeySource::Header(
            key_name
                .clone()
                .map_or(Ok("x-request-id".to_string()), |_| named("header"))?
                .to_ascii_lowercase(),
        ),
        "query" => KeySource::Query(named("query")?),
        "cookie" => KeySource::Cookie(named("cookie")?),
        "client_ip" => KeySource::ClientIp,
        "path" => KeySource::Path,
        "random" => KeySource::Random,
        other => {
            return Err(bad(
                "key.source",
                format!(
                    "must be one of header, query, cookie, client_ip, path, random; got {other:?}"
                ),
            ))
        }
    };

    let routes = f
        .routes
        .unwrap_or_else(|| vec!["/home".to_string(), "/heartbeat".to_string()]);
    if let Some(r) = routes.iter().find(|r| !r.starts_with('/')) {
        return Err(bad(
            "routes",
            format!("each route must start with '/', got {r:?}"),
        ));
    }

    let u = f.upstream;
    let upstream = UpstreamSettings {
        connect_timeout: millis("upstream.connect_timeout_ms", u.connect_timeout_ms, 1000, 1)?,
        read_timeout: millis("upstream.read_timeout_ms", u.read_timeout_ms, 5000, 1)?,
        write_timeout: millis("upstream.write_timeout_ms", u.write_timeout_ms, 5000, 1)?,
        idle_timeout: millis("upstream.idle_timeout_ms", u.idle_timeout_ms, 60_000, 1)?,
        connect_retries: match u.connect_retries.unwrap_or(3) {
            n @ 0..=15 => n,
            n => {
                return Err(bad(
                    "upstream.connect_retries",
                    format!("must be 0..=15, got {n}"),
                ))
            }
        },
        retry_after_connect: u.retry_after_connect.unwrap_or(true),
        pool_per_thread: u.pool_per_thread.unwrap_or(true),
        http2_streams: match (u.http2.unwrap_or(false), u.http2_streams) {
            (false, None) => None,
            (false, Some(_)) => {
                return Err(bad(
                    "upstream.http2_streams",
                    "only used with upstream.http2: true",
                ))
            }
            (true, None) => Some(DEFAULT_H2_STREAMS),
            (true, Some(n @ 1..=10_000)) => Some(n as usize),
            (true, Some(n)) => {
                return Err(bad(
                    "upstream.http2_streams",
                    format!("must be 1..=10000, got {n}"),
                ))
            }
        },
    };

    let r = f.replicas;
    let kind = r.provisioner.as_deref().unwrap_or("process");
    if kind != "docker" && r.docker.is_some() {
        return Err(bad(
            "replicas.docker",
            "only allowed when replicas.provisioner is docker",
        ));
    }
    if kind != "swarm" && r.swarm.is_some() {
        return Err(bad(
            "replicas.swarm",
            "only allowed when replicas.provisioner is swarm",
        ));
    }
    let process_only = || {
        if r.binary.is_some() || r.bind.is_some() || r.backend_threads.is_some() {
            return Err(bad(
                "replicas",
                "binary, bind and backend_threads only apply to the process provisioner",
            ));
        }
        Ok(())
    };
    let provisioner = match kind {
        "process" => ProvisionerSettings::Process(ProcessSettings {
            binary: r.binary.clone().map(PathBuf::from),
            bind: match r.bind.as_deref().unwrap_or("127.0.0.1").parse() {
                Ok(ip) => ip,
                Err(_) => return Err(bad("replicas.bind", "must be an IP address")),
            },
            threads: match r.backend_threads.unwrap_or(1) {
                n @ 1..=64 => n,
                n => {
                    return Err(bad(
                        "replicas.backend_threads",
                        format!("must be 1..=64, got {n}"),
                    ))
                }
            },
        }),
        "static" => {
            process_only()?;
            ProvisionerSettings::Static
        }
        "docker" => {
            process_only()?;
            ProvisionerSettings::Docker(docker_settings(r.docker.clone().unwrap_or_default())?)
        }
        "swarm" => {
            process_only()?;
            ProvisionerSettings::Swarm(swarm_settings(r.swarm.clone().unwrap_or_default())?)
        }
        other => {
            return Err(bad(
                "replicas.provisioner",
                format!("must be process, static, docker or swarm, got {other:?}"),
            ))
        }
    };
    let default_initial = match provisioner.starts_replicas() {
        false => Vec::new(),
        true => (1..=3).map(|i| format!("replica{i}")).collect(),
    };
    let initial = r.initial.unwrap_or(default_initial);
    for name in &initial {
        provisioner
            .check_name(name)
            .map_err(|m| bad("replicas.initial", m))?;
    }
    let mut sorted = initial.clone();
    sorted.sort();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad(
            "replicas.initial",
            format!("duplicate hostname {:?}", w[0]),
        ));
    }
    let max = r.max.unwrap_or(64);
    if max == 0 || max > 4096 {
        return Err(bad("replicas.max", format!("must be 1..=4096, got {max}")));
    }
    if initial.len() as u64 > u64::from(max) {
        return Err(bad(
            "replicas.initial",
            format!("more than replicas.max ({max}) replicas"),
        ));
    }
    if initial.len() as u128 * u128::from(vnodes) > u128::from(slots) {
        return Err(bad(
            "replicas.initial",
            format!(
                "ring capacity exceeded: {} replicas x {vnodes} virtual nodes > {slots} slots",
                initial.len()
            ),
        ));
    }
    let replicas = ReplicaSettings {
        provisioner,
        initial,
        max,
        start_timeout: millis("replicas.start_timeout_ms", r.start_timeout_ms, 5000, 10)?,
        stop_timeout: millis("replicas.stop_timeout_ms", r.stop_timeout_ms, 2000, 0)?,
        drain_timeout: millis("replicas.drain_timeout_ms", r.drain_timeout_ms, 10_000, 0)?,
    };

    let h = f.health;
    let health = HealthSettings {
        interval: millis("health.interval_ms", h.interval_ms, 250, 10)?,
        timeout: millis("health.timeout_ms", h.timeout_ms, 200, 1)?,
        failures: match h.failures.unwrap_or(3) {
            n @ 1..=100 => n,
            n => return Err(bad("health.failures", format!("must be 1..=100, got {n}"))),
        },
        replacement: match h.replacement_name.as_deref().unwrap_or("same") {
            "same" => ReplacementName::Same,
            "fresh" => ReplacementName::Fresh,
            other => {
                return Err(bad(
                    "health.replacement_name",
                    format!("must be same or fresh, got {other:?}"),
                ))
            }
        },
    };

    let clients = clients(f.clients)?;
    let access_log = operations::access_log(f.access_log)?;

    Ok(Settings {
        clients,
        access_log,
        listen,
        admin,
        ring,
        key,
        routes,
        upstream,
        replicas,
        health,
        pingora: Default::default(),
    })
}

/// Pingora's own ceilings (pingora-core `protocols/http/v1/common.rs`:
/// `MAX_HEADERS` = 256, `MAX_HEADER_SIZE` = 1048575, private constants):
/// beyond them Pingora answers a plain 400 before ringlb sees the request.
const PINGORA_MAX_HEADERS: u64 = 256;
const PINGORA_MAX_HEADER_BYTES: u64 = 1_048_575;

/// `clients.read_buffer_bytes` above this is memory, not speed.
const MAX_READ_BUFFER: u64 = 1 << 20;

fn clients(c: super::file::ClientsFile) -> Result<ClientSettings, Invalid> {
    let d = ClientSettings::default();
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let within = |key: &str, v: Option<u64>, default: u64, max: u64| -> Result<u64, Invalid> {
        match v.unwrap_or(default) {
            n @ 1.. if n <= max => Ok(n),
            n => Err(bad(key, format!("must be 1..={max}, got {n}"))),
        }
    };
    Ok(ClientSettings {
        header_timeout: millis(
            "clients.header_timeout_ms",
            c.header_timeout_ms,
            ms(d.header_timeout),
            100,
        )?,
        idle_timeout: millis(
            "clients.idle_timeout_ms",
            c.idle_timeout_ms,
            ms(d.idle_timeout),
            1000,
        )?,
        body_timeout: millis(
            "clients.body_timeout_ms",
            c.body_timeout_ms,
            ms(d.body_timeout),
            100,
        )?,
        max_connections: match c.max_connections {
            None => None,
            Some(n @ 1..=10_000_000) => Some(n as usize),
            Some(n) => {
                return Err(bad(
                    "clients.max_connections",
                    format!("must be 1..=10000000 (leave it out to derive it from the open-file limit), got {n}"),
                ))
            }
        },
        max_per_client: match c.max_per_client.unwrap_or(0) {
            0 => None,
            n => Some(n),
        },
        max_header_bytes: within(
            "clients.max_header_bytes",
            c.max_header_bytes,
            d.max_header_bytes as u64,
            PINGORA_MAX_HEADER_BYTES,
        )? as usize,
        max_headers: within(
            "clients.max_headers",
            c.max_headers,
            d.max_headers as u64,
            PINGORA_MAX_HEADERS,
        )? as usize,
        pipelining: c.pipelining.unwrap_or(d.pipelining),
        rehome: c.rehome.unwrap_or(d.rehome),
        read_buffer_bytes: match c.read_buffer_bytes {
            None => d.read_buffer_bytes,
            Some(n @ 0..=MAX_READ_BUFFER) => n as usize,
            Some(n) => {
                return Err(bad(
                    "clients.read_buffer_bytes",
                    format!("must be 0..={MAX_READ_BUFFER}, got {n}"),
                ))
            }
        },
    })
}
