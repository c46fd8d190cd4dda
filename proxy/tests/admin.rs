//! The admin API and self-managed replicas, against the real binaries: the
//! seed's commands, the README's error table message for message on both
//! ports, atomic `/add` (rollback included), consistency under concurrent
//! changes, and no replica outliving ringlb however it stops.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bin, children, wait_for, Backend, Ringlb};
use reqwest::Method;
use serde_json::Value;

const RING: &str = "  ring:\n    slots: 9223372036854775808\n    vnodes: 256\n    family: strong\n";

fn running_ids(lb: &Ringlb) -> Vec<String> {
    children(lb.pid()).into_iter().map(|(_, id)| id).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// An executable shell script in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn generated_names_and_random_removal() {
    let lb = Ringlb::start(RING);
    let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 2, "hostnames": ["S5"]}"#);
    assert_eq!(s, 200, "{v}");
    let names = lb.replicas();
    assert_eq!(names.len(), 5);
    assert!(names.contains(&"S5".to_string()));
    let generated: Vec<&String> = names
        .iter()
        .filter(|n| !["replica1", "replica2", "replica3", "S5"].contains(&n.as_str()))
        .collect();
    assert_eq!(generated.len(), 1, "{names:?}");
    let digits = generated[0]
        .strip_prefix("replica")
        .expect("replica<6 digits>");
    assert!(
        digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{names:?}"
    );
    let (s, v) = lb.change(Method::DELETE, "/rm", r#"{"n": 3, "hostnames": ["S5"]}"#);
    assert_eq!(s, 200, "{v}");
    let left = lb.replicas();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&"S5".to_string()));
    assert_eq!(sorted(left), running_ids(&lb));
}

/// Each bad request: (method, path, body, status, the whole message).
/// A message ending in `...` is compared up to there (serde's own text).
const BAD: &[(&str, &str, &str, u16, &str)] = &[
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["A1", "A2"]}"#,
        400,
        "<Error> Length of hostname list is more than newly added instances",
    ),
    (
        "DELETE",
        "/rm",
        r#"{"n": 1, "hostnames": ["replica1", "replica2"]}"#,
        400,
        "<Error> Length of hostname list is more than removable instances",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["A1"]"#,
        400,
        "<Error> malformed JSON: ...",
    ),
    (
        "POST",
        "/add",
        "not json",
        400,
        "<Error> malformed JSON: ...",
    ),
    (
        "POST",
        "/add",
        "",
        400,
        r#"<Error> request body must be a JSON object like {"n": 1, "hostnames": ["S1"]}"#,
    ),
    (
        "POST",
        "/add",
        "[1]",
        400,
        "<Error> request body must be a JSON object",
    ),
    (
        "POST",
        "/add",
        r#"{"hostnames": ["A1"]}"#,
        400,
        r#"<Error> "n" is required"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": "1"}"#,
        400,
        r#"<Error> "n" must be an integer, got a string"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": "A1"}"#,
        400,
        r#"<Error> "hostnames" must be a list of strings, got a string"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": [7]}"#,
        400,
        r#"<Error> "hostnames" must be a list of strings, found a number in it"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": -2}"#,
        400,
        r#"<Error> "n" must not be negative, got -2"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 0}"#,
        400,
        "<Error> n must be at least 1",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1000000000}"#,
        400,
        "<Error> cannot add 1000000000 replicas: 3 exist and at most 64 are allowed",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1e30}"#,
        400,
        r#"<Error> "n" must be an integer, got 1e+30"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 18446744073709551615}"#,
        400,
        "<Error> cannot add 18446744073709551615 replicas: 3 exist and at most 64 are allowed",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 18446744073709551614, "hostnames": ["Z1"]}"#,
        400,
        "<Error> cannot add 18446744073709551614 replicas: 3 exist and at most 64 are allowed",
    ),
    (
        "DELETE",
        "/rm",
        r#"{"n": 4}"#,
        400,
        "<Error> cannot remove 4 replicas: only 3 exist",
    ),
    (
        "DELETE",
        "/rm",
        r#"{"n": 1, "hostnames": ["nobody"]}"#,
        404,
        r#"<Error> no replica named "nobody""#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 2, "hostnames": ["B1", "B1"]}"#,
        400,
        r#"<Error> hostname "B1" is listed twice"#,
    ),
    (
        "DELETE",
        "/rm",
        r#"{"n": 2, "hostnames": ["replica1", "replica1"]}"#,
        400,
        r#"<Error> hostname "replica1" is listed twice"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["replica2"]}"#,
        409,
        r#"<Error> hostname "replica2" already exists"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["bad name"]}"#,
        400,
        r#"<Error> invalid hostname "bad name": character ' ' is not allowed (an RFC 1123 label: letters, digits and '-')"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["a/b"]}"#,
        400,
        r#"<Error> invalid hostname "a/b": character '/' is not allowed (an RFC 1123 label: letters, digits and '-')"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["-lead"]}"#,
        400,
        r#"<Error> invalid hostname "-lead": must start and end with a letter or digit (RFC 1123)"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["trail-"]}"#,
        400,
        r#"<Error> invalid hostname "trail-": must start and end with a letter or digit (RFC 1123)"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": [""]}"#,
        400,
        r#"<Error> invalid hostname "": must be 1 to 63 characters"#,
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "extra": true}"#,
        400,
        r#"<Error> unknown field "extra"; expected "n" and "hostnames""#,
    ),
    (
        "GET",
        "/add",
        "",
        405,
        "<Error> method GET is not allowed on '/add'",
    ),
    (
        "POST",
        "/rep",
        "",
        405,
        "<Error> method POST is not allowed on '/rep'",
    ),
    (
        "PUT",
        "/rm",
        "{}",
        405,
        "<Error> method PUT is not allowed on '/rm'",
    ),
];

/// Asserts one answer: status, `"status": "failure"` and the message.
fn assert_failure(what: &str, status: u16, body: &str, want_status: u16, want: &str) {
    assert_eq!(status, want_status, "{what}: {body}");
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: {body}"));
    assert_eq!(v["status"], "failure", "{what}");
    let msg = v["message"].as_str().unwrap_or_default();
    match want.strip_suffix("...") {
        Some(prefix) => assert!(msg.starts_with(prefix), "{what}: {msg}"),
        None => assert_eq!(msg, want, "{what}"),
    }
}

fn check_bad_requests(lb: &Ringlb, base: &dyn Fn(&str) -> String) {
    let before = lb.replicas();
    let procs = running_ids(lb);
    let long = "x".repeat(64);
    let long_body = format!(r#"{{"n": 1, "hostnames": ["{long}"]}}"#);
    let long_msg = format!(r#"<Error> invalid hostname "{long}": must be 1 to 63 characters"#);
    let huge = format!(r#"{{"n": 1, "hostnames": ["{}"]}}"#, "y".repeat(70_000));
    let extra = [
        ("POST", "/add", long_body.as_str(), 400, long_msg.as_str()),
        (
            "POST",
            "/add",
            huge.as_str(),
            413,
            "<Error> request body is larger than 65536 bytes",
        ),
    ];
    for (method, path, body, status, message) in BAD.iter().copied().chain(extra) {
        let r = lb
            .http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), base(path))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let got = r.status().as_u16();
        let what = format!("{method} {path} {body:.80}");
        assert_failure(&what, got, &r.text().unwrap(), status, message);
        assert_eq!(lb.replicas(), before, "{what} changed the replicas");
    }
    assert_eq!(running_ids(lb), procs);
}

#[test]
fn every_bad_request_gets_the_readme_error_and_changes_nothing() {
    let lb = Ringlb::start(RING);
    check_bad_requests(&lb, &|p| lb.admin(p));
    let r = lb.http.get(lb.admin("/nope")).send().unwrap();
    assert_failure(
        "GET /nope on the admin port",
        r.status().as_u16(),
        &r.text().unwrap(),
        404,
        "<Error> '/nope' is not an admin endpoint (/rep, /get, /add, /rm, /metrics)",
    );
}

#[test]
fn bad_requests_on_the_proxy_port_too() {
    let lb = Ringlb::start(RING);
    check_bad_requests(&lb, &|p| lb.url(p));
}

/// Sends `head` and then `body` in parts on a raw connection; the answer.
fn raw_exchange(addr: std::net::SocketAddr, head: &str, parts: &[Vec<u8>]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    for p in parts {
        s.write_all(p).unwrap();
    }
    let mut raw = Vec::new();
    // The server closes after an error; a read error after the answer (a
    // reset) still leaves what arrived in `raw`.
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[test]
fn slow_and_streamed_bodies_get_408_and_413_on_both_ports() {
    let lb = Ringlb::start(RING);
    let before = lb.replicas();
    let ports = [lb.admin_addr(), lb.proxy_addr()];
    // Both ports at once: each waits out the 5 s body timeout.
    let slow: Vec<_> = ports
        .iter()
        .map(|addr| {
            let addr = *addr;
            std::thread::spawn(move || {
                let began = Instant::now();
                let answer = raw_exchange(
                    addr,
                    "POST /add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n",
                    &[br#"{"n": 1"#.to_vec()],
                );
                (answer, began.elapsed())
            })
        })
        .collect();
    for addr in ports {
        // 70,000 bytes in 1,000-byte chunks, no Content-Length.
        let chunk = format!("3e8\r\n{}\r\n", "z".repeat(1000)).into_bytes();
        let mut parts = vec![chunk; 70];
        parts.push(b"0\r\n\r\n".to_vec());
        let (status, body) = raw_exchange(
            addr,
            "POST /add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            &parts,
        );
        assert_failure(
            &format!("chunked 70 kB on {addr}"),
            status,
            &body,
            413,
            "<Error> request body is larger than 65536 bytes",
        );
    }
    for (addr, t) in ports.iter().zip(slow) {
        let ((status, body), took) = t.join().unwrap();
        assert_failure(
            &format!("slow body on {addr}"),
            status,
            &body,
            408,
            "<Error> timed out reading the request body",
        );
        assert!(
            took >= Duration::from_millis(4900) && took < Duration::from_secs(15),
            "{addr}: 408 after {took:?}"
        );
    }
    assert_eq!(lb.replicas(), before);
}

#[test]
fn ring_capacity_is_a_clear_error_on_both_ports() {
    // 40 slots / 9 virtual nodes: room for 4 replicas.
    let lb = Ringlb::start("  ring:\n    slots: 40\n    vnodes: 9\n    family: spec\n");
    for base in [lb.admin(""), lb.url("")] {
        let r = lb
            .http
            .post(format!("{base}/add"))
            .body(r#"{"n": 2}"#)
            .send()
            .unwrap();
        assert_failure(
            &format!("{base}/add n=2"),
            r.status().as_u16(),
            &r.text().unwrap(),
            400,
            "<Error> ring capacity exceeded: 5 replicas x 9 virtual nodes > 40 slots",
        );
        assert_eq!(lb.replicas().len(), 3);
    }
    let (s, _) = lb.change(Method::POST, "/add", r#"{"n": 1}"#);
    assert_eq!(s, 200);
}

#[test]
fn a_replica_that_cannot_start_leaves_nothing_behind_on_both_ports() {
    // A "backend" that exits at once: /add must fail and start nothing.
    let dir = tempfile::tempdir().unwrap();
    let fake = script(dir.path(), "fake-backend", "exit 3");
    let lb = Ringlb::start(&format!(
        "{RING}  replicas:\n    binary: '{}'\n    initial: []\n    start_timeout_ms: 2000\n",
        fake.display()
    ));
    for base in [lb.admin(""), lb.url("")] {
        let r = lb
            .http
            .post(format!("{base}/add"))
            .body(r#"{"n": 2, "hostnames": ["F1", "F2"]}"#)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        assert_failure(
            &format!("{base}/add"),
            status,
            &body,
            503,
            "<Error> could not start replicas, nothing was added: ...",
        );
        assert!(body.contains("F1: ") && body.contains("F2: "), "{body}");
        assert!(lb.replicas().is_empty());
        assert!(running_ids(&lb).is_empty());
    }
    // With no replicas, requests get the README's 503 JSON error at once.
    let r = lb.http.get(lb.url("/home")).send().unwrap();
    assert_failure(
        "/home with no replica",
        r.status().as_u16(),
        &r.text().unwrap(),
        503,
        "<Error> no replica is available",
    );
}

#[test]
fn an_add_that_fails_halfway_stops_the_replicas_it_started() {
    // Replicas named good* start (the real backend); bad* fail at once.
    let dir = tempfile::tempdir().unwrap();
    let wrapper = script(
        dir.path(),
        "mixed-backend",
        &format!(
            "echo \"$SERVER_ID\" >> '{}'\ncase \"$SERVER_ID\" in bad*) exit 3;; esac\nexec '{}' \"$@\"",
            dir.path().join("launched").display(),
            bin("ringlb-backend").display()
        ),
    );
    let lb = Ringlb::start(&format!(
        "{RING}  replicas:\n    binary: '{}'\n    initial: [good0]\n    start_timeout_ms: 3000\n",
        wrapper.display()
    ));
    let (s, v) = lb.change(
        Method::POST,
        "/add",
        r#"{"n": 3, "hostnames": ["good1", "good2", "bad1"]}"#,
    );
    assert_eq!(s, 503, "{v}");
    assert!(v["message"].as_str().unwrap().contains("bad1: "), "{v}");
    assert_eq!(lb.replicas(), ["good0"]);
    // good1 and good2 started and answered; the rollback stops them.
    wait_for(
        "the rollback to stop good1 and good2",
        Duration::from_secs(5),
        || (running_ids(&lb) == ["good0"]).then_some(()),
    );
    let launched = std::fs::read_to_string(dir.path().join("launched")).unwrap();
    let launched: BTreeSet<&str> = launched.lines().collect();
    assert_eq!(
        launched,
        BTreeSet::from(["good0", "good1", "good2", "bad1"]),
        "every replica of the /add was launched"
    );
    assert_eq!(lb.ring_members(), ["good0"]);
}

#[test]
fn fifty_concurrent_changes_end_consistent() {
    let lb = Arc::new(Ringlb::start(RING));
    let mut threads = Vec::new();
    for i in 0..50 {
        let lb = lb.clone();
        threads.push(std::thread::spawn(move || {
            let (method, path, body) = if i % 2 == 0 {
                (
                    Method::POST,
                    "/add",
                    format!(r#"{{"n": 1, "hostnames": ["C{i}"]}}"#),
                )
            } else {
                (Method::DELETE, "/rm", r#"{"n": 1}"#.to_string())
            };
            let (s, v) = lb.change(method, path, &body);
            // /rm may find nothing left to remove; both outcomes are fine,
            // anything else is not.
            assert!(s == 200 || (s == 400 && path == "/rm"), "{path}: {s} {v}");
            (path, s)
        }));
    }
    let outcomes: Vec<(&str, u16)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let added = outcomes.iter().filter(|o| *o == &("/add", 200)).count();
    let removed = outcomes.iter().filter(|o| *o == &("/rm", 200)).count();
    // Every /add must succeed (distinct names, room for 64).
    assert_eq!(added, 25);
    let names = sorted(lb.replicas());
    assert_eq!(names.len(), 3 + added - removed, "{outcomes:?}");
    assert_eq!(names, lb.ring_members());
    assert_eq!(names, running_ids(&lb));
}

#[test]
fn no_replica_outlives_ringlb_however_it_stops() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGKILL] {
        let mut lb = Ringlb::start(RING);
        // A replica added at run time, not only the initial ones.
        let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 1, "hostnames": ["late"]}"#);
        assert_eq!(s, 200, "{v}");
        let pids: Vec<u32> = children(lb.pid()).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pids.len(), 4);
        // `stop` asserts that ringlb exited by itself within 10 s.
        let stopped = lb.stop(sig);
        if sig != libc::SIGKILL {
            // grace_period_seconds: 0, graceful_shutdown_timeout_seconds: 2
            // and stop_timeout 2 s: well inside 8 s on a busy machine.
            assert!(stopped.after < Duration::from_secs(8), "{sig}: {stopped:?}");
            assert_eq!(stopped.status.and_then(|s| s.code()), Some(0), "{sig}");
        }
        wait_for("replicas to exit", Duration::from_secs(5), || {
            pids.iter().all(|p| !common::is_alive(*p)).then_some(())
        });
    }
}

#[test]
fn no_replica_outlives_a_kill_9_during_an_add() {
    // slow* replicas wait 30 s before they start: the /add is under way
    // (one replica up, one starting) when ringlb is killed.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("slow-started");
    let wrapper = script(
        dir.path(),
        "slow-backend",
        &format!(
            "case \"$SERVER_ID\" in slow*) touch '{}'; sleep 30;; esac\nexec '{}' \"$@\"",
            marker.display(),
            bin("ringlb-backend").display()
        ),
    );
    let mut lb = Ringlb::start(&format!(
        "{RING}  replicas:\n    binary: '{}'\n    start_timeout_ms: 40000\n",
        wrapper.display()
    ));
    let admin = lb.admin("/add");
    let adder = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .post(admin)
            .body(r#"{"n": 2, "hostnames": ["quick", "slow1"]}"#)
            .send()
            .map(|r| r.status().as_u16())
    });
    wait_for(
        "the slow replica to be starting",
        Duration::from_secs(10),
        || marker.exists().then_some(()),
    );
    let pids: Vec<u32> = children(lb.pid()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(pids.len(), 5, "3 initial, quick and slow1 starting");
    lb.stop(libc::SIGKILL);
    assert!(
        adder.join().unwrap().is_err(),
        "the /add cannot have answered"
    );
    wait_for("every replica to exit", Duration::from_secs(5), || {
        pids.iter().all(|p| !common::is_alive(*p)).then_some(())
    });
}

#[test]
fn static_provisioner_registers_and_unregisters() {
    let a = Backend::start("one");
    let b = Backend::start("two");
    let lb = Ringlb::start(&format!(
        "{RING}  replicas:\n    provisioner: static\n    initial: ['{}']\n",
        a.addr()
    ));
    let (s, v) = lb.change(
        Method::POST,
        "/add",
        &format!(r#"{{"n": 1, "hostnames": ["{}"]}}"#, b.addr()),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 1}"#);
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["message"],
        "<Error> the static provisioner cannot invent replicas: give a host:port for each of the 1"
    );
    let (s, v) = lb.change(
        Method::POST,
        "/add",
        r#"{"n": 1, "hostnames": ["nocolon"]}"#,
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["message"],
        r#"<Error> invalid static replica "nocolon": expected host:port"#
    );
    let seen: BTreeSet<String> = (0..100).map(|id| lb.owner(id)).collect();
    assert_eq!(seen, BTreeSet::from(["one".into(), "two".into()]));
    let (s, _) = lb.change(
        Method::DELETE,
        "/rm",
        &format!(r#"{{"n": 1, "hostnames": ["{}"]}}"#, a.addr()),
    );
    assert_eq!(s, 200);
    for id in 0..50 {
        assert_eq!(lb.owner(id), "two");
    }
}

#[test]
fn rep_answers_at_once_while_an_add_is_in_progress() {
    // A "backend" that takes two seconds to fail: /add holds the fleet for
    // that long, /rep must not wait for it. The backend leaves a marker
    // when it starts, so the check runs while the /add is surely under way.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let slow = script(
        dir.path(),
        "slow-backend",
        &format!("touch '{}'\nsleep 2\nexit 3", marker.display()),
    );
    let lb = Arc::new(Ringlb::start(&format!(
        "{RING}  replicas:\n    binary: '{}'\n    initial: []\n    start_timeout_ms: 5000\n",
        slow.display()
    )));
    let adder = {
        let lb = lb.clone();
        std::thread::spawn(move || lb.change(Method::POST, "/add", r#"{"n": 1}"#))
    };
    wait_for(
        "the /add to start its replica",
        Duration::from_secs(10),
        || marker.exists().then_some(()),
    );
    let started = Instant::now();
    assert!(lb.replicas().is_empty());
    let waited = started.elapsed();
    // The /add has 2 s left; /rep must not have waited for it.
    assert!(waited < Duration::from_secs(1), "/rep waited {waited:?}");
    assert!(
        !adder.is_finished(),
        "the /add finished before /rep was asked: nothing was tested"
    );
    let (status, _) = adder.join().unwrap();
    assert_eq!(status, 503);
}

#[test]
fn the_dashboard_refuses_bad_requests_and_changes_nothing() {
    let lb = Ringlb::start(RING);
    let before = lb.replicas();
    let http = reqwest::blocking::Client::new();
    // Only GET and HEAD.
    for (method, path) in [
        (Method::POST, "/dashboard"),
        (Method::DELETE, "/dashboard/state"),
    ] {
        let r = http.request(method.clone(), lb.admin(path)).send().unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        let body: Value = r.json().unwrap();
        assert_eq!(
            body["message"],
            format!("<Error> method {method} is not allowed on '{path}'")
        );
    }
    // An oversized body is refused before anything is read into memory.
    let r = http
        .get(lb.admin("/dashboard/state"))
        .body(vec![b'x'; 70_000])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // Not on the proxy port: the spec's 400 for unknown paths.
    let r = http.get(lb.url("/dashboard")).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // The state is well-formed JSON and nothing changed.
    let state: Value = http
        .get(lb.admin("/dashboard/state"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        state["replicas"].as_array().map(Vec::len),
        Some(before.len())
    );
    assert_eq!(lb.replicas(), before);
}
