//! Issue: core routing. Real `ringlb` in front of real replicas.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::{bin, Backend, Ringlb};

const DEFAULT_RING: &str =
    "  ring:\n    slots: 9223372036854775808\n    vnodes: 2048\n    family: strong\n";

#[test]
fn home_answers_with_a_replica_identity_and_exact_json() {
    let lb = Ringlb::start(DEFAULT_RING);
    let r = lb
        .http
        .get(lb.url("/home"))
        .header("X-Request-Id", "123456")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().unwrap();
    let names = lb.replicas();
    assert!(
        names.iter().any(|n| body
            == format!(r#"{{"message": "Hello from Server: {n}", "status": "successful"}}"#)),
        "{body}"
    );
}

#[test]
fn unknown_paths_get_the_spec_400_without_a_replica() {
    let lb = Ringlb::start(DEFAULT_RING);
    for path in ["/other", "/", "/home/extra"] {
        let r = lb.http.get(lb.url(path)).send().unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(
            r.text().unwrap(),
            format!(
                r#"{{"message": "<Error> '{path}' endpoint does not exist in server replicas", "status": "failure"}}"#
            )
        );
    }
    // heartbeat is a replica route: proxied, 200, empty
    let r = lb.http.get(lb.url("/heartbeat")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), "");
}

#[test]
fn same_key_same_replica_and_every_replica_reachable() {
    let lb = Ringlb::start(DEFAULT_RING);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for id in 100_000..100_300u64 {
        let (s1, a) = lb.home(id);
        let (s2, b) = lb.home(id);
        assert_eq!((s1, s2), (200, 200));
        assert_eq!(a, b, "id {id} moved between two identical requests");
        *seen
            .entry(a["message"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let mut names = lb.replicas();
    names.sort();
    let mut reached: Vec<String> = seen
        .keys()
        .map(|m| m.trim_start_matches("Hello from Server: ").to_string())
        .collect();
    reached.sort();
    assert_eq!(reached, names);
}

#[test]
fn ten_thousand_random_ids_are_balanced_within_ten_percent() {
    let lb = Ringlb::start(DEFAULT_RING);
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let n = 10_000;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (status, body) = lb.home(100_000 + x % 900_000);
        assert_eq!(status, 200);
        *counts
            .entry(body["message"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(counts.len(), 3);
    let max = *counts.values().max().unwrap() as f64;
    let ratio = max / (n as f64 / 3.0);
    assert!(ratio <= 1.10, "busiest/mean = {ratio:.3}: {counts:?}");
}

#[test]
fn static_replicas_from_config() {
    let a = Backend::start("alpha");
    let b = Backend::start("beta");
    let section = format!(
        "{DEFAULT_RING}  replicas:\n    provisioner: static\n    initial: ['{}', '{}']\n",
        a.addr, b.addr
    );
    let lb = Ringlb::start(&section);
    let mut seen = std::collections::BTreeSet::new();
    for id in 0..100u64 {
        let (status, body) = lb.home(id);
        assert_eq!(status, 200);
        seen.insert(body["message"].as_str().unwrap().to_string());
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["Hello from Server: alpha", "Hello from Server: beta"]
    );
}

#[test]
fn key_sources_query_cookie_and_path() {
    for (key, request) in [
        ("    source: query\n    name: id\n", "/home?id=abc"),
        ("    source: cookie\n    name: sid\n", "/home"),
        ("    source: path\n", "/home"),
    ] {
        let lb = Ringlb::start(&format!("{DEFAULT_RING}  key:\n{key}"));
        let fetch = || {
            lb.http
                .get(lb.url(request))
                .header("Cookie", "x=1; sid=abc")
                .send()
                .unwrap()
                .text()
                .unwrap()
        };
        let first = fetch();
        for _ in 0..20 {
            assert_eq!(first, fetch(), "{key}");
        }
    }
}

#[test]
fn config_check_flag_validates_and_exits() {
    let ok = Command::new(bin("ringlb"))
        .args([
            "-c",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../conf/ringlb.yaml"),
            "-t",
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "ringlb:\n  ring:\n    vnodes: 0\n").unwrap();
    let out = Command::new(bin("ringlb"))
        .arg("-c")
        .arg(&bad)
        .arg("-t")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ringlb.ring.vnodes"), "{err}");
    assert!(err.contains("bad.yaml"), "{err}");
}

#[test]
fn shutdown_is_prompt_on_sigterm() {
    let mut lb = Ringlb::start(DEFAULT_RING);
    let started = std::time::Instant::now();
    lb.stop(libc::SIGTERM);
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn a_client_hanging_up_is_not_a_replica_failure() {
    use std::io::Write;
    let lb = Ringlb::start(DEFAULT_RING);
    // PUT is idempotent: a client that promises a body, sends part of it and
    // resets must not make ringlb replay the request or suspect a replica.
    for i in 0..20 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", lb.port)).unwrap();
        write!(
            s,
            "PUT /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {}\r\nContent-Length: 100000\r\n\r\npartial",
            100_000 + i
        )
        .unwrap();
        // SO_LINGER 0: close with a reset, while ringlb is still proxying.
        socket_linger_zero(&s);
        drop(s);
        std::thread::sleep(Duration::from_millis(50));
    }
    // Give the supervisor time to act on any (wrong) suspicion.
    std::thread::sleep(Duration::from_millis(500));
    let log = lb.log();
    assert!(!log.contains("suspect"), "{log}");
    for d in lb.verbose()["message"]["details"].as_array().unwrap() {
        assert_eq!(d["state"], "up", "{d}");
        assert_eq!(d["restarts"], 0, "{d}");
    }
}

fn socket_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a live socket with a correctly sized struct.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
