//! Issue: core routing. Real `ringlb` in front of real replicas.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use std::sync::Arc;

use common::{bin, served_by, Backend, Ringlb};
use ringlb::ring::{Member, RequestKey, RingSpec, Strong};

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
fn over_h2c_every_key_goes_where_it_goes_over_http1() {
    // The same replicas' names, so the same ring: only the upstream
    // protocol differs (ringlb-backend speaks both).
    let h1 = Ringlb::start(DEFAULT_RING);
    let h2 = Ringlb::start(&format!("{DEFAULT_RING}  upstream:\n    http2: true\n"));
    for id in (100_000..100_200u64).step_by(3) {
        assert_eq!(h2.owner(id), h1.owner(id), "id {id}");
    }
    // Concurrent requests share h2 connections (multiplexed streams).
    let url = h2.url("/home");
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                (0..20)
                    .map(|j| {
                        client
                            .get(&url)
                            .header("X-Request-Id", (200_000 + i * 100 + j).to_string())
                            .send()
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0)
                    })
                    .filter(|s| *s != 200)
                    .count()
            })
        })
        .collect();
    let failed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(failed, 0);
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
        a.addr(),
        b.addr()
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

/// The replica ringlb should pick for `key`, from the ring built by the
/// library from the same members and geometry (placement depends on names
/// only, so the addresses are placeholders).
fn expected_owner(members: &[String], key: &[u8]) -> String {
    let spec = RingSpec {
        slots: 1 << 63,
        vnodes: 2048,
        family: Arc::new(Strong),
    };
    let placeholder: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let ring = spec
        .build(
            members
                .iter()
                .map(|n| Member::new(n, placeholder))
                .collect(),
        )
        .unwrap();
    ring.lookup(RequestKey::parse(key))
        .unwrap()
        .name
        .to_string()
}

/// (url path and query, extra headers) -> the replica that answered.
fn served(lb: &Ringlb, path: &str, headers: &[(&str, String)]) -> String {
    let mut req = lb.http.get(lb.url(path));
    for (n, v) in headers {
        req = req.header(*n, v);
    }
    let r = req.send().unwrap();
    assert_eq!(r.status(), 200, "{path} {headers:?}");
    served_by(&r.json().unwrap())
}

/// For each configured key source: the configured value decides the
/// replica (exactly the ring's owner of that key, whatever the other
/// candidates say), and different values spread over the replicas.
#[test]
fn the_configured_key_and_only_it_decides_the_replica() {
    type Request = Box<dyn Fn(&str, &str) -> (String, Vec<(&'static str, String)>)>;
    // (key config, how a request carries key `k` with noise `z` elsewhere)
    let cases: Vec<(&str, Request)> = vec![
        (
            "    source: header\n    name: X-Key\n",
            Box::new(|k, z| {
                (
                    format!("/home?id={z}"),
                    vec![
                        ("X-Key", k.to_string()),
                        ("X-Request-Id", z.to_string()),
                        ("Cookie", format!("sid={z}")),
                    ],
                )
            }),
        ),
        (
            "    source: query\n    name: id\n",
            Box::new(|k, z| {
                (
                    format!("/home?x={z}&id={k}&idx={z}"),
                    vec![
                        ("X-Request-Id", z.to_string()),
                        ("Cookie", format!("id2={z}; sid={z}")),
                    ],
                )
            }),
        ),
        (
            "    source: cookie\n    name: sid\n",
            Box::new(|k, z| {
                (
                    format!("/home?sid={z}"),
                    vec![
                        ("Cookie", format!("a={z}; sid={k}; sidx={z}")),
                        ("X-Request-Id", z.to_string()),
                    ],
                )
            }),
        ),
    ];
    for (key, request) in cases {
        let lb = Ringlb::start(&format!("{DEFAULT_RING}  key:\n{key}"));
        let members = lb.replicas();
        let mut reached = std::collections::BTreeSet::new();
        for k in 0..40u64 {
            let value = format!("user-{k}");
            let want = expected_owner(&members, value.as_bytes());
            for noise in ["1", "777777", "zz"] {
                let (path, headers) = request(&value, noise);
                assert_eq!(
                    served(&lb, &path, &headers),
                    want,
                    "{key}: key {value}, noise {noise}"
                );
            }
            reached.insert(want);
        }
        assert_eq!(
            reached.len(),
            members.len(),
            "{key}: 40 keys reached {reached:?}"
        );
    }
}

#[test]
fn path_and_client_ip_keys_route_to_their_owner() {
    let lb = Ringlb::start(&format!("{DEFAULT_RING}  key:\n    source: path\n"));
    let want = expected_owner(&lb.replicas(), b"/home");
    for z in 0..20 {
        let headers = [("X-Request-Id", z.to_string())];
        assert_eq!(served(&lb, &format!("/home?id={z}"), &headers), want);
    }
    drop(lb);
    let lb = Ringlb::start(&format!("{DEFAULT_RING}  key:\n    source: client_ip\n"));
    let want = expected_owner(&lb.replicas(), &[127, 0, 0, 1]);
    for z in 0..20 {
        let headers = [("X-Request-Id", z.to_string())];
        assert_eq!(served(&lb, &format!("/home?id={z}"), &headers), want);
    }
}

/// `random`, and a missing key for the other sources, draw a random id per
/// request: identical requests spread over the replicas.
#[test]
fn random_keys_and_missing_keys_spread() {
    for key in [
        "    source: random\n",
        "    source: header\n    name: X-Key\n",
        "    source: query\n    name: id\n",
        "    source: cookie\n    name: sid\n",
    ] {
        let lb = Ringlb::start(&format!("{DEFAULT_RING}  key:\n{key}"));
        let headers = [("X-Request-Id", "123456".to_string())];
        let reached: std::collections::BTreeSet<String> = (0..60)
            .map(|_| served(&lb, "/home?x=1", &headers))
            .collect();
        assert_eq!(
            reached.len(),
            3,
            "{key}: identical requests reached {reached:?}"
        );
    }
}

#[test]
fn a_numeric_request_id_is_the_id_i() {
    let lb = Ringlb::start(DEFAULT_RING);
    let members = lb.replicas();
    for id in [100_000u64, 123_456, 999_999] {
        // The header's digits are the request id, not bytes to hash.
        let want = expected_owner(&members, id.to_string().as_bytes());
        assert_eq!(lb.owner(id), want);
    }
}

#[test]
fn routes_decide_which_paths_reach_a_replica() {
    let lb = Ringlb::start(&format!("{DEFAULT_RING}  routes: [\"/home\"]\n"));
    assert_eq!(lb.home(1).0, 200);
    // /heartbeat is a replica route by default; here it is not.
    let r = lb.http.get(lb.url("/heartbeat")).send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.text().unwrap(),
        r#"{"message": "<Error> '/heartbeat' endpoint does not exist in server replicas", "status": "failure"}"#
    );
}

#[test]
fn admin_paths_leave_the_proxy_port_when_on_proxy_port_is_false() {
    let lb = Ringlb::start(&format!(
        "{DEFAULT_RING}  admin:\n    on_proxy_port: false\n"
    ));
    for (method, path) in [
        ("GET", "/rep"),
        ("GET", "/get"),
        ("POST", "/add"),
        ("DELETE", "/rm"),
    ] {
        let r = lb
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                lb.url(path),
            )
            .body(r#"{"n": 1}"#)
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "{method} {path}");
        assert_eq!(
            r.text().unwrap(),
            format!(
                r#"{{"message": "<Error> '{path}' endpoint does not exist in server replicas", "status": "failure"}}"#
            )
        );
    }
    assert_eq!(lb.replicas().len(), 3, "the admin port still answers");
}

#[test]
fn config_check_flag_validates_and_exits() {
    // `ringlb -c <file> -t`: checks the file and exits.
    let check = |file: &std::path::Path| {
        Command::new(bin("ringlb"))
            .arg("-c")
            .arg(file)
            .arg("-t")
            .output()
            .unwrap()
    };
    let ok = check(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conf/ringlb.yaml"
    )));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "ringlb:\n  ring:\n    vnodes: 0\n").unwrap();
    let out = check(&bad);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ringlb.ring.vnodes"), "{err}");
    assert!(err.contains("bad.yaml"), "{err}");
    // Pingora's timer threshold, which ringlb defaults: a value Pingora
    // cannot read stops the start with the file named, as any Pingora key.
    for value in ["abc", "-1", "[1, 2]", "99999999999999999999999"] {
        std::fs::write(
            &bad,
            format!("fast_timeout_to_tokio_threshold_seconds: {value}\n"),
        )
        .unwrap();
        let out = check(&bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        assert!(err.contains("bad.yaml"), "{value}: {err}");
    }
}

#[test]
fn a_client_hanging_up_is_not_a_replica_failure() {
    use common::fake::{Behaviour, FakeReplica};
    use std::io::Write;
    let fakes: Vec<FakeReplica> = (0..3)
        .map(|i| {
            FakeReplica::start(
                &format!("f{i}"),
                Behaviour::SlowHome(Duration::from_secs(2)),
            )
        })
        .collect();
    let initial: Vec<String> = fakes.iter().map(|f| format!("'{}'", f.addr)).collect();
    let lb = Ringlb::start(&format!(
        "{DEFAULT_RING}  replicas:\n    provisioner: static\n    initial: [{}]\n",
        initial.join(", ")
    ));
    // PUT is idempotent: a client that promises a body, sends part of it and
    // resets while ringlb is proxying it must not make ringlb replay the
    // request or suspect a replica.
    for i in 0..20u64 {
        let mut s = std::net::TcpStream::connect(lb.proxy_addr()).unwrap();
        write!(
            s,
            "PUT /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {}\r\nContent-Length: 100000\r\n\r\npartial",
            100_000 + i
        )
        .unwrap();
        // The replica has the request: ringlb is proxying it. Now reset.
        let arrived = common::try_wait_for(Duration::from_secs(5), || {
            fakes
                .iter()
                .find_map(|f| f.arrivals.lock().unwrap().try_recv().ok())
        });
        assert!(
            arrived.is_some_and(|l| l.starts_with("PUT /home")),
            "request {i} never reached a replica"
        );
        common::fake::reset(&s);
        drop(s);
    }
    let total: usize = fakes.iter().map(|f| f.count()).sum();
    // A suspicion reaches the health keeper at once and is logged before its
    // next heartbeat round; wait for two full rounds after the hang-ups.
    let done = std::time::Instant::now();
    common::wait_for(
        "two heartbeat rounds after the hang-ups",
        Duration::from_secs(5),
        || {
            let rounds_after = lb.verbose()["message"]["details"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| {
                    d["last_heartbeat_ms"]
                        .as_u64()
                        .is_some_and(|ms| Duration::from_millis(ms + 300) < done.elapsed())
                });
            rounds_after.then_some(())
        },
    );
    // No replay: each hang-up reached a replica exactly once.
    let total_after: usize = fakes.iter().map(|f| f.count()).sum();
    assert_eq!((total, total_after), (20, 20));
    let log = lb.log();
    assert!(!log.contains("suspect"), "{log}");
    for d in lb.verbose()["message"]["details"].as_array().unwrap() {
        assert_eq!(d["state"], "up", "{d}");
        assert_eq!(d["restarts"], 0, "{d}");
    }
}
