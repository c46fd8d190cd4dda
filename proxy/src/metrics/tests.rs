//! The scrape's contents: what each call adds, and that a replica's
//! series go when it leaves.

use std::time::Duration;

use super::*;

fn series(name: &str) -> ReplicaSeries {
    ReplicaSeries::new(std::sync::Arc::from(name))
}

fn scrape(m: &Metrics) -> String {
    String::from_utf8(m.render()).unwrap()
}

#[test]
fn requests_count_by_replica_and_class() {
    let m = Metrics::new();
    let (r1, r2) = (series("r1"), series("r2"));
    m.served(&r1, Some(200), Duration::from_millis(2));
    m.served(&r1, Some(200), Duration::from_millis(3));
    m.served(&r2, Some(503), Duration::from_millis(1));
    m.served(&r2, None, Duration::from_millis(1));
    m.unrouted(Some(400));
    let s = scrape(&m);
    for line in [
        r#"ringlb_requests_total{class="2xx",replica="r1"} 2"#,
        r#"ringlb_requests_total{class="5xx",replica="r2"} 1"#,
        r#"ringlb_requests_total{class="none",replica="r2"} 1"#,
        r#"ringlb_unrouted_requests_total{class="4xx"} 1"#,
        r#"ringlb_request_duration_seconds_count{replica="r1"} 2"#,
        r#"ringlb_request_duration_seconds_bucket{replica="r1",le="0.0025"} 1"#,
    ] {
        assert!(s.contains(line), "{line} missing in:\n{s}");
    }
}

#[test]
fn fleet_state_retries_and_admin() {
    let m = Metrics::new();
    m.fleet(&[("r1", true), ("r2", false)]);
    m.replica_state("r2", ReplicaState::DOWN, true);
    m.heartbeat_failure("r2");
    m.replacement(true);
    m.retry(Retry::Connect, "r2");
    m.retry(Retry::StaleConnection, "r1");
    m.connect_failure("r2");
    m.admin_call(Listener::Proxy, "/add", 401);
    m.admin_call(Listener::Admin, "/nope", 404);
    m.in_flight(&[("r1".to_string(), 3)]);
    let s = scrape(&m);
    for line in [
        "ringlb_replicas 2",
        "ringlb_ring_members 1",
        r#"ringlb_ring_member{replica="r2"} 0"#,
        r#"ringlb_replica_state{replica="r2",state="down"} 1"#,
        r#"ringlb_replica_state{replica="r2",state="up"} 0"#,
        r#"ringlb_replica_state_changes_total{state="down"} 1"#,
        r#"ringlb_heartbeat_failures_total{replica="r2"} 1"#,
        r#"ringlb_replacements_total{result="ok"} 1"#,
        r#"ringlb_retries_total{reason="connect"} 1"#,
        r#"ringlb_retries_total{reason="stale_connection"} 1"#,
        r#"ringlb_failovers_total{replica="r2"} 1"#,
        r#"ringlb_connect_failures_total{replica="r2"} 1"#,
        r#"ringlb_admin_requests_total{endpoint="/add",listener="proxy",status="401"} 1"#,
        r#"ringlb_admin_requests_total{endpoint="other",listener="admin",status="404"} 1"#,
        r#"ringlb_replica_requests_in_flight{replica="r1"} 3"#,
    ] {
        assert!(s.contains(line), "{line} missing in:\n{s}");
    }
    assert!(!s.contains(r#"failovers_total{replica="r1"}"#), "{s}");
}

#[test]
fn a_replica_that_leaves_leaves_no_series() {
    let m = Metrics::new();
    let gone = series("gone");
    m.served(&gone, Some(200), Duration::from_millis(1));
    m.fleet(&[("gone", true), ("kept", true)]);
    m.replica_state("gone", ReplicaState::Up, true);
    m.heartbeat_failure("gone");
    m.connect_failure("gone");
    m.retry(Retry::Reset, "gone");
    m.in_flight(&[("gone".to_string(), 0)]);
    m.forget("gone");
    let s = scrape(&m);
    assert!(!s.contains("\"gone\""), "{s}");
    assert!(s.contains(r#"ringlb_ring_member{replica="kept"} 1"#), "{s}");
}

#[test]
fn a_name_back_in_the_fleet_counts_into_live_series() {
    // Re-added while its predecessor drained: the predecessor's departure
    // forgets the name's series, and the new replica's requests must show.
    let m = Metrics::new();
    let back = series("x");
    m.served(&back, Some(200), Duration::from_millis(1));
    m.forget("x");
    m.served(&back, Some(200), Duration::from_millis(1));
    let s = scrape(&m);
    assert!(
        s.contains(r#"ringlb_requests_total{class="2xx",replica="x"} 1"#),
        "{s}"
    );
    assert!(
        s.contains(r#"ringlb_request_duration_seconds_count{replica="x"} 1"#),
        "{s}"
    );
}

#[test]
fn connection_leases_count_until_the_last_clone_goes() {
    let m = Metrics::new();
    let a = m.connection_opened();
    let a2 = a.clone();
    let b = m.connection_opened();
    assert!(scrape(&m).contains("ringlb_client_connections 2"));
    drop(a);
    assert!(scrape(&m).contains("ringlb_client_connections 2"));
    drop(a2);
    drop(b);
    assert!(scrape(&m).contains("ringlb_client_connections 0"));
}
