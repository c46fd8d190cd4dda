//! `/metrics` against the real binary: a scrape taken after traffic, a
//! replica killed with SIGKILL (and replaced) and an `/add` passes
//! `promtool check metrics`, and its numbers are the test's own: the
//! per-replica request counters are the answers each replica gave. The
//! scrape is on the admin listener only; its errors are JSON like every
//! admin error; open client connections are counted while they are open.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::scrape::{samples, value};
use common::{children, served_by, wait_for, Ringlb};
use reqwest::Method;

const CONF: &str = "  ring:\n    vnodes: 256\n";

/// `promtool check metrics` on `scrape`: (passed, its output).
fn promtool(scrape: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool: {e} (make deps installs it: apt-get install prometheus)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Sends `n` `/home` requests with ids from `first`; adds each answer's
/// replica to `seen`.
fn traffic(lb: &Ringlb, first: u64, n: u64, seen: &mut std::collections::BTreeMap<String, f64>) {
    for id in first..first + n {
        let (status, body) = lb.home(id);
        assert_eq!(status, 200, "{body}");
        *seen.entry(served_by(&body)).or_default() += 1.0;
    }
}

#[test]
fn the_scrape_passes_promtool_after_traffic_a_kill_and_an_add() {
    let lb = Ringlb::start(CONF);
    let mut seen = std::collections::BTreeMap::new();
    traffic(&lb, 100_000, 300, &mut seen);

    // A replica killed outright: out of the ring, replaced under its name.
    let (pid, victim) = children(lb.pid()).into_iter().next().expect("a replica");
    common::signal(pid, libc::SIGKILL);
    wait_for("the replacement", Duration::from_secs(10), || {
        let v = lb.verbose();
        v["message"]["details"]
            .as_array()?
            .iter()
            .find(|d| d["hostname"] == victim.as_str() && d["restarts"] == 1 && d["state"] == "up")
            .map(|_| ())
    });
    let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 1, "hostnames": ["M1"]}"#);
    assert_eq!(s, 200, "{v}");
    traffic(&lb, 200_000, 200, &mut seen);

    let scrape = lb.metrics();
    let (ok, out) = promtool(&scrape);
    assert!(
        ok,
        "promtool check metrics failed:\n{out}\n--- scrape ---\n{scrape}"
    );

    // Every request counted once, on the replica that answered it.
    let counted: std::collections::BTreeMap<String, f64> =
        samples(&scrape, "ringlb_requests_total")
            .into_iter()
            .filter(|s| s.value > 0.0)
            .map(|s| {
                assert_eq!(s.labels["class"], "2xx", "{s:?}");
                (s.labels["replica"].clone(), s.value)
            })
            .collect();
    assert_eq!(counted, seen, "{scrape}");
    assert_eq!(counted.values().sum::<f64>(), 500.0);
    for (name, n) in &seen {
        let hist = value(
            &scrape,
            "ringlb_request_duration_seconds_count",
            &[("replica", name)],
        );
        assert_eq!(hist, Some(*n), "{name}");
    }

    // The fleet as it is now, and what happened to it.
    let one = |name: &str, labels: &[(&str, &str)]| {
        value(&scrape, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in:\n{scrape}"))
    };
    assert_eq!(one("ringlb_replicas", &[]), 4.0);
    assert_eq!(one("ringlb_ring_members", &[]), 4.0);
    assert_eq!(one("ringlb_ring_member", &[("replica", "M1")]), 1.0);
    assert_eq!(
        one(
            "ringlb_replica_state",
            &[("replica", &victim), ("state", "up")]
        ),
        1.0
    );
    assert_eq!(
        one(
            "ringlb_replica_state",
            &[("replica", &victim), ("state", "down")]
        ),
        0.0
    );
    assert_eq!(
        one("ringlb_replica_state_changes_total", &[("state", "down")]),
        1.0
    );
    assert_eq!(one("ringlb_replacements_total", &[("result", "ok")]), 1.0);
    assert_eq!(
        one(
            "ringlb_admin_requests_total",
            &[
                ("listener", "admin"),
                ("endpoint", "/add"),
                ("status", "200")
            ]
        ),
        1.0
    );
    assert_eq!(
        one("ringlb_replica_requests_in_flight", &[("replica", "M1")]),
        0.0
    );
}

#[test]
fn a_removed_replica_leaves_no_series_and_failures_are_counted() {
    let lb = Ringlb::start(CONF);
    for id in 0..30 {
        lb.home(100_000 + id);
    }
    let (s, v) = lb.change(
        Method::DELETE,
        "/rm",
        r#"{"n": 1, "hostnames": ["replica2"]}"#,
    );
    assert_eq!(s, 200, "{v}");
    // A hung replica: heartbeats fail until it is down and replaced.
    let (pid, hung) = children(lb.pid()).into_iter().next().expect("a replica");
    common::signal(pid, libc::SIGSTOP);
    let scrape = wait_for("the hung replica replaced", Duration::from_secs(10), || {
        let s = lb.metrics();
        (value(&s, "ringlb_replacements_total", &[("result", "ok")]) == Some(1.0)).then_some(s)
    });
    common::signal(pid, libc::SIGCONT);
    assert!(!scrape.contains("\"replica2\""), "{scrape}");
    assert!(
        value(
            &scrape,
            "ringlb_heartbeat_failures_total",
            &[("replica", &hung)]
        )
        .is_some_and(|n| n >= 3.0),
        "{scrape}"
    );
    let (ok, out) = promtool(&scrape);
    assert!(ok, "{out}");
}

#[test]
fn metrics_are_on_the_admin_listener_only_and_errors_are_json() {
    let lb = Ringlb::start("  admin:\n    max_body_bytes: 100\n");
    let before = lb.replicas();
    // The harness's readiness request is an unrouted request too.
    let unrouted = |scrape: &str| {
        value(
            scrape,
            "ringlb_unrouted_requests_total",
            &[("class", "4xx")],
        )
    };
    let unrouted_before = unrouted(&lb.metrics()).unwrap_or(0.0);
    // Not on the proxy port: there it is a path the replicas do not serve.
    let r = lb.http.get(lb.url("/metrics")).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.text().unwrap(),
        r#"{"message": "<Error> '/metrics' endpoint does not exist in server replicas", "status": "failure"}"#
    );
    let r = lb.http.post(lb.admin("/metrics")).body("x").send().unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(
        r.text().unwrap(),
        r#"{"message": "<Error> method POST is not allowed on '/metrics'", "status": "failure"}"#
    );
    let r = lb
        .http
        .get(lb.admin("/metrics"))
        .body("x".repeat(101))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(
        r.text().unwrap(),
        r#"{"message": "<Error> request body is larger than 100 bytes", "status": "failure"}"#
    );
    let r = lb.http.head(lb.admin("/metrics")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = lb.http.get(lb.admin("/metrics?format=x")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4");
    let scrape = r.text().unwrap();
    for (status, n) in [("405", 1.0), ("413", 1.0)] {
        let labels = [
            ("listener", "admin"),
            ("endpoint", "/metrics"),
            ("status", status),
        ];
        assert_eq!(
            value(&scrape, "ringlb_admin_requests_total", &labels),
            Some(n)
        );
    }
    assert_eq!(unrouted(&scrape), Some(unrouted_before + 1.0));
    assert_eq!(lb.replicas(), before);
}

#[test]
fn open_client_connections_are_counted_while_open() {
    let lb = Ringlb::start(CONF);
    let connections = || value(&lb.metrics(), "ringlb_client_connections", &[]);
    // The harness's readiness connection closes as the test starts: the
    // gauge drops a moment after the client sees the close.
    wait_for("no connection", Duration::from_secs(5), || {
        (connections() == Some(0.0)).then_some(())
    });
    let mut a = TcpStream::connect(lb.proxy_addr()).unwrap();
    let mut b = TcpStream::connect(lb.proxy_addr()).unwrap();
    for _ in 0..3 {
        assert_eq!(common::keep_alive_home(&mut a, 7), 200);
    }
    assert_eq!(common::keep_alive_home(&mut b, 7), 200);
    assert_eq!(connections(), Some(2.0));
    drop(a);
    wait_for("one connection", Duration::from_secs(5), || {
        (connections() == Some(1.0)).then_some(())
    });
    drop(b);
    wait_for("no connection", Duration::from_secs(5), || {
        (connections() == Some(0.0)).then_some(())
    });
}
