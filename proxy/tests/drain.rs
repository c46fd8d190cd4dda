//! Draining, against real replica processes: a replica that leaves (`/rm`,
//! a replacement under a fresh name, shutdown) is first out of the ring,
//! then stopped only when the requests it is serving have finished, or
//! when `replicas.drain_timeout_ms` runs out.
//!
//! The replicas are `ringlb-backend --delay-ms`: `/home` answers after a
//! pause, so a request is reliably in flight; `/rep?verbose=1` says on
//! which replica. `replicas.stop_timeout_ms` is short (200 ms): a replica
//! stopped under its request would be killed long before it answered, and
//! the answer would come from another replica (a replay) or not at all.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use common::scrape::value;
use common::{bin, children, served_by, wait_for, Ringlb};
use reqwest::Method;
use ringlb_harness::{logged_at, Launch};
use serde_json::Value;

/// A `replicas.binary` that runs `ringlb-backend --delay-ms <ms>`.
fn slow_backend(dir: &Path, ms: u64) -> String {
    let path = dir.join("slow-backend");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec {} --delay-ms {ms} \"$@\"\n",
            bin("ringlb-backend").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn conf(binary: &str, extra: &str) -> String {
    format!(
        "  ring:\n    vnodes: 256\n  upstream:\n    read_timeout_ms: 10000\n  replicas:\n    binary: {binary}\n    stop_timeout_ms: 200\n{extra}"
    )
}

/// A `/home` sent from a thread: (status, body, when it answered).
fn slow_request(lb: &Ringlb, id: u64) -> JoinHandle<(u16, Value, SystemTime)> {
    let (url, http) = (lb.url("/home"), lb.http.clone());
    std::thread::spawn(move || {
        let r = http
            .get(url)
            .header("X-Request-Id", id.to_string())
            .send()
            .expect("an answer");
        let status = r.status().as_u16();
        let body = r.json().unwrap_or(Value::Null);
        (status, body, SystemTime::now())
    })
}

/// The replica that has a request in flight (from `/rep?verbose=1`).
fn busy_replica(lb: &Ringlb) -> String {
    wait_for("a request in flight", Duration::from_secs(10), || {
        lb.verbose()["message"]["details"]
            .as_array()?
            .iter()
            .find(|d| d["in_flight"] == 1)
            .map(|d| d["hostname"].as_str().unwrap().to_string())
    })
}

/// `/rm` of `name` from a thread: (status, body, how long it took).
fn remove(lb: &Ringlb, name: &str) -> JoinHandle<(u16, Value, Duration)> {
    let (url, http) = (lb.admin("/rm"), lb.http.clone());
    let body = format!(r#"{{"n": 1, "hostnames": ["{name}"]}}"#);
    std::thread::spawn(move || {
        let began = Instant::now();
        let r = http
            .request(Method::DELETE, url)
            .body(body)
            .send()
            .expect("rm");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null), began.elapsed())
    })
}

#[test]
fn a_request_in_flight_when_rm_arrives_completes_on_its_replica() {
    let dir = tempfile::tempdir().unwrap();
    let lb = Ringlb::start(&conf(&slow_backend(dir.path(), 1500), ""));
    let client = slow_request(&lb, 123456);
    let busy = busy_replica(&lb);
    let labels = [("replica", busy.as_str())];
    let in_flight = value(&lb.metrics(), "ringlb_replica_requests_in_flight", &labels);
    assert_eq!(in_flight, Some(1.0));
    let rm = remove(&lb, &busy);
    // Out of the ring at once, while its request still runs.
    wait_for("the ring without it", Duration::from_secs(5), || {
        (!lb.ring_members().contains(&busy)).then_some(())
    });
    assert!(
        !rm.is_finished(),
        "/rm answered before the request finished"
    );
    let (status, body, answered) = client.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        served_by(&body),
        busy,
        "the request was not finished where it started"
    );
    let (status, body, took) = rm.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(took < Duration::from_secs(5), "/rm took {took:?}");
    // Stopped only after the answer: ringlb's own log says when it
    // started to stop it.
    let log = lb.log();
    let stopping = logged_at(
        &log,
        &format!("replica {busy} drained (1 request(s) in flight"),
    )
    .unwrap_or_else(|| panic!("no drain line in:\n{log}"));
    let removed = logged_at(&log, &format!("replica {busy} removed")).expect("removed");
    assert!(stopping <= removed);
    // The client's clock and the log's are the same; the log has ms.
    assert!(
        answered + Duration::from_millis(50) >= stopping,
        "stopping at {stopping:?}, the answer came at {answered:?}"
    );
    assert!(!children(lb.pid()).iter().any(|(_, id)| *id == busy));
}

#[test]
fn the_drain_timeout_bounds_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let lb = Ringlb::start(&conf(
        &slow_backend(dir.path(), 4000),
        "    drain_timeout_ms: 300\n",
    ));
    let client = slow_request(&lb, 654321);
    let busy = busy_replica(&lb);
    let (status, body, took) = remove(&lb, &busy).join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(3000),
        "/rm took {took:?}"
    );
    let log = lb.log();
    assert!(
        log.contains(&format!(
            "replica {busy}: 1 request(s) still in flight after the drain timeout (300ms); stopping it anyway"
        )),
        "{log}"
    );
    // Whatever became of the cut request, it ends (a replay or an error).
    let _ = client.join();
}

#[test]
fn sigterm_drains_the_replicas_before_it_stops_them() {
    let dir = tempfile::tempdir().unwrap();
    let section = conf(&slow_backend(dir.path(), 1500), "");
    let yaml = format!(
        "version: 1\nthreads: 2\ngrace_period_seconds: 4\ngraceful_shutdown_timeout_seconds: 2\nringlb:\n{section}"
    );
    let mut lb = Ringlb::launch(Launch::new(bin("ringlb"), yaml));
    let client = slow_request(&lb, 123456);
    let busy = busy_replica(&lb);
    let stopped = lb.stop(libc::SIGTERM);
    let (status, body, answered) = client.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(served_by(&body), busy);
    assert_eq!(stopped.status.and_then(|s| s.code()), Some(0));
    let log = lb.log();
    let drained = logged_at(
        &log,
        &format!("replica {busy} drained (1 request(s) in flight"),
    )
    .unwrap_or_else(|| panic!("no drain line in:\n{log}"));
    assert!(answered + Duration::from_millis(50) >= drained);
    for line in ["health keeper stopping", &format!("replica {busy} stopped")] {
        assert!(log.contains(line), "{line} missing:\n{log}");
    }
}

#[test]
fn a_replacement_under_a_fresh_name_starts_while_the_old_one_drains() {
    let dir = tempfile::tempdir().unwrap();
    // A hung replica keeps its request until the read timeout (1.5 s);
    // heartbeats find it long before that.
    let section = format!(
        "  ring:\n    vnodes: 256\n  upstream:\n    read_timeout_ms: 1500\n  replicas:\n    binary: {}\n    stop_timeout_ms: 200\n  health:\n    interval_ms: 100\n    timeout_ms: 100\n    failures: 2\n    replacement_name: fresh\n",
        slow_backend(dir.path(), 1000)
    );
    let lb = Ringlb::start(&section);
    let client = slow_request(&lb, 123456);
    let busy = busy_replica(&lb);
    let (pid, _) = children(lb.pid())
        .into_iter()
        .find(|(_, id)| *id == busy)
        .expect("its process");
    common::signal(pid, libc::SIGSTOP);
    let (status, body, _) = client.join().unwrap();
    common::signal(pid, libc::SIGCONT);
    // Replayed on the next replica after the timeout.
    assert_eq!(status, 200, "{body}");
    assert_ne!(served_by(&body), busy);
    let log = wait_for("the old one stopped", Duration::from_secs(10), || {
        let log = lb.log();
        log.contains(&format!("replica {busy} drained"))
            .then_some(log)
    });
    let down = logged_at(&log, &format!("replica {busy} down")).expect("down");
    let replaced = logged_at(&log, &format!("(replaced {busy} in")).expect("replaced");
    let drained = logged_at(
        &log,
        &format!("replica {busy} drained (1 request(s) in flight"),
    )
    .unwrap_or_else(|| panic!("no drain line in:\n{log}"));
    // The successor did not wait for the drain; the drain waited for the
    // request (the read timeout, 1.5 s after it was sent).
    assert!(down <= replaced && replaced <= drained, "{log}");
    assert!(
        drained.duration_since(down).unwrap_or_default() >= Duration::from_millis(500),
        "{log}"
    );
}
