//! The metric families, their names, help texts and labels, in one place:
//! what a scrape shows is read here, top to bottom.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Request durations, in seconds: sub-millisecond (a pooled keep-alive
/// request on loopback) up to the default read timeout and beyond.
const BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub(super) struct Families {
    pub requests: IntCounterVec,
    pub unrouted: IntCounterVec,
    pub duration: HistogramVec,
    pub connect_failures: IntCounterVec,
    pub retries: IntCounterVec,
    pub failovers: IntCounterVec,
    pub replicas: IntGauge,
    pub ring_members: IntGauge,
    pub ring_member: IntGaugeVec,
    pub state: IntGaugeVec,
    pub state_changes: IntCounterVec,
    pub heartbeat_failures: IntCounterVec,
    pub replacements: IntCounterVec,
    pub in_flight: IntGaugeVec,
    pub admin: IntCounterVec,
    pub connections: IntGauge,
    pub clients_shed: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid gauge");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

impl Families {
    /// Registers every family in `r`. The names and labels are constants,
    /// so a failure here is a programming error found by the unit tests.
    pub fn register(r: &Registry) -> Families {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "ringlb_request_duration_seconds",
                "Time from a proxied request's header to its end, by the replica that served it.",
            )
            .buckets(BUCKETS.to_vec()),
            &["replica"],
        )
        .expect("valid histogram");
        r.register(Box::new(duration.clone()))
            .expect("registered once");
        Families {
            requests: counter(
                r,
                "ringlb_requests_total",
                "Proxied requests by replica (the last one tried) and status class (none: no response was sent).",
                &["replica", "class"],
            ),
            unrouted: counter(
                r,
                "ringlb_unrouted_requests_total",
                "Requests on the proxy port answered by ringlb itself (admin paths, unknown paths, no replica), by status class.",
                &["class"],
            ),
            duration,
            connect_failures: counter(
                r,
                "ringlb_connect_failures_total",
                "Failed connects to a replica.",
                &["replica"],
            ),
            retries: counter(
                r,
                "ringlb_retries_total",
                "Requests tried again, by reason (stale_connection: same replica; connect, reset, timeout: next replica).",
                &["reason"],
            ),
            failovers: counter(
                r,
                "ringlb_failovers_total",
                "Requests moved away from a replica to the next one clockwise.",
                &["replica"],
            ),
            replicas: gauge(r, "ringlb_replicas", "Replicas in the fleet (N), up or not."),
            ring_members: gauge(r, "ringlb_ring_members", "Replicas the ring routes to."),
            ring_member: gauge_vec(
                r,
                "ringlb_ring_member",
                "1 when the replica is in the ring, 0 when it is out (down).",
                &["replica"],
            ),
            state: gauge_vec(
                r,
                "ringlb_replica_state",
                "1 for the replica's current state (up, suspect, down), 0 for the others.",
                &["replica", "state"],
            ),
            state_changes: counter(
                r,
                "ringlb_replica_state_changes_total",
                "Replica state changes, by the state entered.",
                &["state"],
            ),
            heartbeat_failures: counter(
                r,
                "ringlb_heartbeat_failures_total",
                "Failed heartbeats, by replica.",
                &["replica"],
            ),
            replacements: counter(
                r,
                "ringlb_replacements_total",
                "Replacements of failed replicas, by result (ok, failed).",
                &["result"],
            ),
            in_flight: gauge_vec(
                r,
                "ringlb_replica_requests_in_flight",
                "Requests a replica is serving now (a leaving replica is stopped when this is 0).",
                &["replica"],
            ),
            admin: counter(
                r,
                "ringlb_admin_requests_total",
                "Admin API calls by listener (admin, proxy), endpoint and HTTP status.",
                &["listener", "endpoint", "status"],
            ),
            connections: gauge(
                r,
                "ringlb_client_connections",
                "Open client connections on the proxy port (admitted by the connection limit).",
            ),
            clients_shed: counter(
                r,
                "ringlb_client_connections_shed_total",
                "Client connections on the proxy port refused (limit: max_connections, per_client: max_per_client) or closed for taking too long (header_timeout, idle_timeout).",
                &["reason"],
            ),
        }
    }
}
