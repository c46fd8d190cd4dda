//! ringlb's metrics, in Prometheus text format on the admin listener's
//! `/metrics` (never on the proxy port).
//!
//! One [`Metrics`] with its own registry is shared by the proxy (one count
//! per request, from `ProxyHttp::logging`, which runs once on every exit
//! path), the fleet (ring, replica states, heartbeats, replacements: all
//! through its one state-change funnel) and the admin API (calls by
//! endpoint and status). Series of a replica that leaves are removed, so a
//! fleet that churns through generated names does not grow the scrape
//! forever. Label values are bounded: replica names (at most
//! `replicas.max` at a time), fixed status classes and reasons.
//!
//! It uses `prometheus` 0.14, the version `pingora-prometheus` uses: a
//! second version in the tree would keep its own registries apart.

mod connections;
mod families;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use prometheus::{Encoder, Histogram, IntCounter, Registry, TextEncoder};

pub use connections::ConnectionLease;
use families::Families;

use crate::fleet::ReplicaState;

/// Status classes of the `class` label; `none` when no response was sent
/// (the client left first).
const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"];

/// Why a request was tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A pooled connection the replica had closed: same replica, fresh one.
    StaleConnection,
    /// The connect was refused or failed: next replica.
    Connect,
    /// The replica reset or closed mid-request: next replica.
    Reset,
    /// The replica did not answer in time: next replica.
    Timeout,
}

impl Retry {
    fn as_str(self) -> &'static str {
        match self {
            Retry::StaleConnection => "stale_connection",
            Retry::Connect => "connect",
            Retry::Reset => "reset",
            Retry::Timeout => "timeout",
        }
    }

    /// Whether the next attempt goes to another replica.
    pub fn is_failover(self) -> bool {
        self != Retry::StaleConnection
    }
}

/// Where an admin call came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Admin,
    Proxy,
}

impl Listener {
    pub fn as_str(self) -> &'static str {
        match self {
            Listener::Admin => "admin",
            Listener::Proxy => "proxy",
        }
    }
}

/// All of ringlb's metrics and the registry that serves them.
/// One replica's request totals (see [`Metrics::per_replica`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ReplicaTotals {
    /// Requests answered (any status).
    pub requests: u64,
    /// Sum and count of their durations, in seconds.
    pub seconds: f64,
    pub timed: u64,
}

pub struct Metrics {
    registry: Registry,
    f: Families,
    /// How many times series were forgotten ([`ReplicaSeries`] handles
    /// from before are stale).
    forgets: AtomicU64,
}

fn class(status: Option<u16>) -> &'static str {
    CLASSES[class_index(status)]
}

fn class_index(status: Option<u16>) -> usize {
    match status {
        Some(100..=199) => 0,
        Some(200..=299) => 1,
        Some(300..=399) => 2,
        Some(400..=499) => 3,
        Some(500..=599) => 4,
        _ => 5,
    }
}

/// One replica's request series, found in the registry once (on the
/// replica's first request of each status class) and kept with the
/// replica ([`crate::inflight::InFlight`]), so the request path neither
/// hashes label values nor takes the families' locks. After any
/// [`Metrics::forget`] the handles are found again: a name can be back in
/// the fleet (re-added while its predecessor drained) and must not count
/// into series that were removed.
#[derive(Debug)]
pub struct ReplicaSeries {
    replica: Arc<str>,
    handles: ArcSwapOption<Handles>,
}

/// The handles, valid while no series was forgotten since `generation`.
#[derive(Debug, Default)]
struct Handles {
    generation: u64,
    requests: [OnceLock<IntCounter>; CLASSES.len()],
    duration: OnceLock<Histogram>,
}

impl ReplicaSeries {
    pub fn new(replica: Arc<str>) -> ReplicaSeries {
        ReplicaSeries {
            replica,
            handles: ArcSwapOption::empty(),
        }
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let f = Families::register(&registry);
        Metrics {
            registry,
            f,
            forgets: AtomicU64::new(0),
        }
    }

    /// The scrape: every metric in Prometheus text format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8192);
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            log::error!("metrics: cannot encode: {e}");
        }
        out
    }

    /// Per replica: requests served and the total and count of their
    /// durations (for the dashboard), read from the registry as a scrape
    /// would, creating no series.
    pub fn per_replica(&self) -> std::collections::HashMap<String, ReplicaTotals> {
        let mut out = std::collections::HashMap::<String, ReplicaTotals>::new();
        for family in self.registry.gather() {
            let name = family.name();
            if name != "ringlb_requests_total" && name != "ringlb_request_duration_seconds" {
                continue;
            }
            for m in family.get_metric() {
                let Some(replica) = m
                    .get_label()
                    .iter()
                    .find(|l| l.name() == "replica")
                    .map(|l| l.value().to_string())
                else {
                    continue;
                };
                let t = out.entry(replica).or_default();
                if name == "ringlb_requests_total" {
                    t.requests += m.get_counter().get_value() as u64;
                } else {
                    let h = m.get_histogram();
                    t.seconds += h.get_sample_sum();
                    t.timed += h.get_sample_count();
                }
            }
        }
        out
    }

    /// The `Content-Type` of [`Metrics::render`]'s output.
    pub fn content_type(&self) -> &'static str {
        prometheus::TEXT_FORMAT
    }

    /// One finished request that ringlb answered itself (no replica was
    /// tried), with the status sent (if any).
    pub fn unrouted(&self, status: Option<u16>) {
        self.f.unrouted.with_label_values(&[class(status)]).inc();
    }

    /// One finished request whose last replica was `series`'s, with the
    /// status sent (if any) and how long it took from its header to the end.
    pub fn served(&self, series: &ReplicaSeries, status: Option<u16>, took: Duration) {
        let generation = self.forgets.load(Ordering::Acquire);
        let cached = series.handles.load();
        let fresh;
        let h = match cached.as_ref() {
            Some(h) if h.generation == generation => h,
            _ => {
                fresh = Arc::new(Handles {
                    generation,
                    ..Handles::default()
                });
                series.handles.store(Some(fresh.clone()));
                &fresh
            }
        };
        let i = class_index(status);
        h.requests[i]
            .get_or_init(|| {
                self.f
                    .requests
                    .with_label_values(&[&series.replica, CLASSES[i]])
            })
            .inc();
        h.duration
            .get_or_init(|| self.f.duration.with_label_values(&[&series.replica]))
            .observe(took.as_secs_f64());
    }

    /// A connect to `replica` failed.
    pub fn connect_failure(&self, replica: &str) {
        self.f.connect_failures.with_label_values(&[replica]).inc();
    }

    /// A request is tried again; a failover leaves `from`.
    pub fn retry(&self, why: Retry, from: &str) {
        self.f.retries.with_label_values(&[why.as_str()]).inc();
        if why.is_failover() {
            self.f.failovers.with_label_values(&[from]).inc();
        }
    }

    /// The fleet's replicas (by name) and which of them are in the ring.
    pub fn fleet(&self, replicas: &[(&str, bool)]) {
        self.f.replicas.set(replicas.len() as i64);
        let mut members = 0;
        for (name, in_ring) in replicas {
            self.f
                .ring_member
                .with_label_values(&[name])
                .set(i64::from(*in_ring));
            members += i64::from(*in_ring);
        }
        self.f.ring_members.set(members);
    }

    /// `replica` is now in `state` (one series per state, 1 for the
    /// current one); `changed`: it moved there just now.
    pub fn replica_state(&self, replica: &str, state: ReplicaState, changed: bool) {
        for s in ReplicaState::NAMES {
            self.f
                .state
                .with_label_values(&[replica, s])
                .set(i64::from(s == state.as_str()));
        }
        if changed {
            self.f
                .state_changes
                .with_label_values(&[state.as_str()])
                .inc();
        }
    }

    pub fn heartbeat_failure(&self, replica: &str) {
        self.f
            .heartbeat_failures
            .with_label_values(&[replica])
            .inc();
    }

    /// A replacement was started and came up (`ok`) or did not.
    pub fn replacement(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.f.replacements.with_label_values(&[result]).inc();
    }

    /// Requests in flight per replica, as the scrape is taken.
    pub fn in_flight(&self, replicas: &[(String, usize)]) {
        for (name, n) in replicas {
            self.f.in_flight.with_label_values(&[name]).set(*n as i64);
        }
    }

    /// One admin call: where it came in, its endpoint (a known path or
    /// `other`) and the status answered.
    pub fn admin_call(&self, listener: Listener, path: &str, status: u16) {
        let endpoint = match path {
            "/rep" | "/get" | "/add" | "/rm" | "/metrics" => path,
            _ => "other",
        };
        self.f
            .admin
            .with_label_values(&[listener.as_str(), endpoint, &status.to_string()])
            .inc();
    }

    /// A client connection opened on the proxy port: counted until the
    /// returned lease (and every clone of it) is dropped.
    pub fn connection_opened(&self) -> ConnectionLease {
        ConnectionLease::new(self.f.connections.clone())
    }

    /// A client connection refused or closed by the proxy listener's limits
    /// (`limit`, `per_client`, `header_timeout`, `idle_timeout`).
    pub fn client_shed(&self, reason: &'static str) {
        self.f.clients_shed.with_label_values(&[reason]).inc();
    }

    /// Removes every series of a replica that left the fleet.
    pub fn forget(&self, replica: &str) {
        for c in CLASSES {
            let _ = self.f.requests.remove_label_values(&[replica, c]);
        }
        for s in ReplicaState::NAMES {
            let _ = self.f.state.remove_label_values(&[replica, s]);
        }
        let _ = self.f.duration.remove_label_values(&[replica]);
        for vec in [
            &self.f.connect_failures,
            &self.f.failovers,
            &self.f.heartbeat_failures,
        ] {
            let _ = vec.remove_label_values(&[replica]);
        }
        for vec in [&self.f.ring_member, &self.f.in_flight] {
            let _ = vec.remove_label_values(&[replica]);
        }
        // After the removal: a request that sees the new count finds (or
        // makes) the series afresh.
        self.forgets.fetch_add(1, Ordering::AcqRel);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests;
