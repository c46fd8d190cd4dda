//! Issue: admin API and self-managed replicas, against the real binaries.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{children, wait_for, Backend, Ringlb};
use reqwest::Method;
use serde_json::Value;

const RING: &str = "  ring:\n    slots: 9223372036854775808\n    vnodes: 256\n    family: strong\n";

fn curl(cmdline: &str, port: u16) -> Value {
    let line = cmdline.replace("localhost:5000", &format!("localhost:{port}"));
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{line} -sS"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{line}: not JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

fn running_ids(lb: &Ringlb) -> Vec<String> {
    let mut ids: Vec<String> = children(lb.pid()).into_iter().map(|(_, id)| id).collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn ring_members(lb: &Ringlb) -> Vec<String> {
    sorted(
        lb.verbose()["message"]["ring"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
    )
}

#[test]
fn seed_readme_curls_work_verbatim() {
    let lb = Ringlb::start(RING);
    // Copied from the seed README, port substituted.
    let add = curl(
        r#"curl -X POST -H "Content-Type: application/json" -d '{"n": 3, "hostnames": ["Server0", "Server1", "Server2"]}' http://localhost:5000/add"#,
        lb.port,
    );
    assert_eq!(add["status"], "successful");
    assert_eq!(add["message"]["N"], 6);
    let rm = curl(
        r#"curl -X DELETE -H "Content-Type: application/json" -d '{"n": 2, "hostnames": ["Server0", "Server1"]}' http://localhost:5000/rm"#,
        lb.port,
    );
    assert_eq!(rm["message"]["N"], 4);
    let get = curl("curl http://localhost:5000/get", lb.port);
    assert_eq!(get["message"]["N"], 4);
    let names: Vec<String> = get["message"]["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Server2".to_string()));
    assert!(!names.contains(&"Server0".to_string()) && !names.contains(&"Server1".to_string()));
    assert_eq!(curl("curl http://localhost:5000/rep", lb.port), get);
    let home = curl("curl http://localhost:5000/home", lb.port);
    assert_eq!(home["status"], "successful");

    // /home reaches the new replica, never the removed ones.
    let mut seen = BTreeSet::new();
    for id in 0..400u64 {
        let (status, body) = lb.home(id);
        assert_eq!(status, 200);
        seen.insert(
            body["message"]
                .as_str()
                .unwrap()
                .trim_start_matches("Hello from Server: ")
                .to_string(),
        );
    }
    assert!(seen.contains("Server2"), "{seen:?}");
    assert!(
        !seen.contains("Server0") && !seen.contains("Server1"),
        "{seen:?}"
    );
    assert_eq!(sorted(names.clone()), running_ids(&lb));
    assert_eq!(sorted(names), ring_members(&lb));
}

#[test]
fn generated_names_and_random_removal() {
    let lb = Ringlb::start(RING);
    let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 2, "hostnames": ["S5"]}"#);
    assert_eq!(s, 200, "{v}");
    let names = lb.replicas();
    assert_eq!(names.len(), 5);
    assert!(names.contains(&"S5".to_string()));
    let (s, v) = lb.change(Method::DELETE, "/rm", r#"{"n": 3, "hostnames": ["S5"]}"#);
    assert_eq!(s, 200, "{v}");
    let left = lb.replicas();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&"S5".to_string()));
    assert_eq!(sorted(left), running_ids(&lb));
}

/// Each bad request: (method, path, body, status, message fragment).
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
        "malformed JSON",
    ),
    ("POST", "/add", "not json", 400, "malformed JSON"),
    ("POST", "/add", "", 400, "must be a JSON object"),
    ("POST", "/add", r#"{"n": "1"}"#, 400, "must be an integer"),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": "A1"}"#,
        400,
        "must be a list",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": [7]}"#,
        400,
        "must hold strings",
    ),
    ("POST", "/add", r#"{"n": -2}"#, 400, "must not be negative"),
    ("POST", "/add", r#"{"n": 0}"#, 400, "at least 1"),
    (
        "POST",
        "/add",
        r#"{"n": 1000000000}"#,
        400,
        "at most 64 are allowed",
    ),
    ("POST", "/add", r#"{"n": 1e30}"#, 400, "must be an integer"),
    (
        "POST",
        "/add",
        r#"{"n": 18446744073709551615}"#,
        400,
        "at most 64 are allowed",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 18446744073709551614, "hostnames": ["Z1"]}"#,
        400,
        "at most 64 are allowed",
    ),
    ("DELETE", "/rm", r#"{"n": 4}"#, 400, "only 3 exist"),
    (
        "DELETE",
        "/rm",
        r#"{"n": 1, "hostnames": ["nobody"]}"#,
        404,
        "no replica named",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 2, "hostnames": ["B1", "B1"]}"#,
        400,
        "listed twice",
    ),
    (
        "DELETE",
        "/rm",
        r#"{"n": 2, "hostnames": ["replica1", "replica1"]}"#,
        400,
        "listed twice",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["replica2"]}"#,
        409,
        "already exists",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["bad name"]}"#,
        400,
        "invalid hostname",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": ["a/b"]}"#,
        400,
        "invalid hostname",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "hostnames": [""]}"#,
        400,
        "invalid hostname",
    ),
    (
        "POST",
        "/add",
        r#"{"n": 1, "extra": true}"#,
        400,
        "unknown field",
    ),
    ("GET", "/add", "", 405, "not allowed"),
    ("POST", "/rep", "", 405, "not allowed"),
    ("PUT", "/rm", "{}", 405, "not allowed"),
];

fn check_bad_requests(lb: &Ringlb, base: &dyn Fn(&str) -> String) {
    let before = lb.replicas();
    let procs = running_ids(lb);
    let mut cases: Vec<(String, String, String, u16, String)> = BAD
        .iter()
        .map(|(m, p, b, s, f)| {
            (
                m.to_string(),
                p.to_string(),
                b.to_string(),
                *s,
                f.to_string(),
            )
        })
        .collect();
    let long = "x".repeat(64);
    cases.push((
        "POST".into(),
        "/add".into(),
        format!(r#"{{"n": 1, "hostnames": ["{long}"]}}"#),
        400,
        "invalid hostname".into(),
    ));
    let huge = format!(r#"{{"n": 1, "hostnames": ["{}"]}}"#, "y".repeat(70_000));
    cases.push((
        "POST".into(),
        "/add".into(),
        huge,
        413,
        "larger than 65536".into(),
    ));
    for (method, path, body, status, fragment) in cases {
        let r = lb
            .http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), base(&path))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {path} {body:.80}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["status"], "failure", "{method} {path}");
        let msg = v["message"].as_str().unwrap();
        assert!(msg.contains(&fragment), "{method} {path} {body:.80}: {msg}");
        assert!(msg.starts_with("<Error> "), "{msg}");
        assert_eq!(
            lb.replicas(),
            before,
            "{method} {path} changed the replicas"
        );
    }
    assert_eq!(running_ids(lb), procs);
}

#[test]
fn every_bad_request_gets_a_json_error_and_changes_nothing() {
    let lb = Ringlb::start(RING);
    check_bad_requests(&lb, &|p| lb.admin(p));
    // Unknown admin path on the admin port.
    let r = lb.http.get(lb.admin("/nope")).send().unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().unwrap()["status"], "failure");
}

#[test]
fn bad_requests_on_the_proxy_port_too() {
    let lb = Ringlb::start(RING);
    check_bad_requests(&lb, &|p| lb.url(p));
}

#[test]
fn ring_capacity_is_a_clear_error() {
    // 40 slots / 9 virtual nodes: room for 4 replicas.
    let lb = Ringlb::start("  ring:\n    slots: 40\n    vnodes: 9\n    family: spec\n");
    let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 2}"#);
    assert_eq!(s, 400);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("ring capacity exceeded"),
        "{v}"
    );
    assert_eq!(lb.replicas().len(), 3);
    let (s, _) = lb.change(Method::POST, "/add", r#"{"n": 1}"#);
    assert_eq!(s, 200);
}

#[test]
fn a_replica_that_cannot_start_leaves_nothing_behind() {
    // A "backend" that exits at once: /add must fail and start nothing.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-backend");
    std::fs::write(&fake, "#!/bin/sh\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let lb = Ringlb::start(&format!(
        "{RING}  replicas:\n    binary: '{}'\n    initial: []\n    start_timeout_ms: 2000\n",
        fake.display()
    ));
    let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 2}"#);
    assert_eq!(s, 503, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("nothing was added"),
        "{v}"
    );
    assert!(lb.replicas().is_empty());
    assert!(running_ids(&lb).is_empty());
    // With no replicas, requests get a 503 JSON error at once.
    let (s, v) = lb.home(1);
    assert_eq!(s, 503);
    assert_eq!(v["status"], "failure");
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
            s
        }));
    }
    let ok = threads
        .into_iter()
        .filter(|_| true)
        .map(|t| t.join().unwrap())
        .filter(|s| *s == 200)
        .count();
    assert!(ok >= 25, "only {ok} changes succeeded");
    let names = sorted(lb.replicas());
    assert_eq!(names, ring_members(&lb));
    assert_eq!(names, running_ids(&lb));
}

#[test]
fn no_replica_outlives_ringlb() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGKILL] {
        let mut lb = Ringlb::start(RING);
        let pids: Vec<u32> = children(lb.pid()).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pids.len(), 3);
        lb.stop(sig);
        wait_for("replicas to exit", Duration::from_secs(5), || {
            pids.iter().all(|p| !common::is_alive(*p)).then_some(())
        });
    }
}

#[test]
fn static_provisioner_registers_and_unregisters() {
    let a = Backend::start("one");
    let b = Backend::start("two");
    let lb = Ringlb::start(&format!(
        "{RING}  replicas:\n    provisioner: static\n    initial: ['{}']\n",
        a.addr
    ));
    let (s, v) = lb.change(
        Method::POST,
        "/add",
        &format!(r#"{{"n": 1, "hostnames": ["{}"]}}"#, b.addr),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = lb.change(Method::POST, "/add", r#"{"n": 1}"#);
    assert_eq!(s, 400, "{v}");
    let (s, v) = lb.change(
        Method::POST,
        "/add",
        r#"{"n": 1, "hostnames": ["nocolon"]}"#,
    );
    assert_eq!(s, 400, "{v}");
    let mut seen = BTreeSet::new();
    for id in 0..100 {
        seen.insert(lb.home(id).1["message"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 2);
    let (s, _) = lb.change(
        Method::DELETE,
        "/rm",
        &format!(r#"{{"n": 1, "hostnames": ["{}"]}}"#, a.addr),
    );
    assert_eq!(s, 200);
    for id in 0..50 {
        assert_eq!(lb.home(id).1["message"], "Hello from Server: two");
    }
}

#[test]
fn rep_answers_at_once_while_an_add_is_in_progress() {
    // A "backend" that takes two seconds to fail: /add holds the fleet for
    // that long, /rep must not wait for it.
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("slow-backend");
    std::fs::write(&slow, "#!/bin/sh\nsleep 2\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let lb = Arc::new(Ringlb::start(&format!(
        "{RING}  replicas:\n    binary: '{}'\n    initial: []\n    start_timeout_ms: 5000\n",
        slow.display()
    )));
    let adder = {
        let lb = lb.clone();
        std::thread::spawn(move || lb.change(Method::POST, "/add", r#"{"n": 1}"#))
    };
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    assert!(lb.replicas().is_empty());
    let waited = started.elapsed();
    let (status, _) = adder.join().unwrap();
    assert_eq!(status, 503);
    assert!(
        waited < Duration::from_millis(500),
        "/rep waited {waited:?}"
    );
}
