//! A seeded fuzz run against the real ringlb: 10,000 generated cases by
//! default (raw HTTP on the proxy port, JSON bodies and methods on the
//! admin API), with ringlb's invariants checked after every case:
//!
//! - ringlb answers (the admin `/rep` within 2 s);
//! - no answer is a 5xx other than 502/503/504, and with every replica
//!   healthy not even those;
//! - after every case that could change the fleet, the replica list, the
//!   ring's members and the running replica processes are the same set.
//!
//! `RINGLB_FUZZ_SEED` and `RINGLB_FUZZ_CASES` change the run; a failure
//! names the seed, the case number and the bytes sent, and
//! `RINGLB_FUZZ_ONLY=<case>` replays one case.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{children, wait_for, Ringlb};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringlb_harness::http;

const DEFAULT_SEED: u64 = 0x005E_ED0F_F022;
const DEFAULT_CASES: u64 = 10_000;

/// Short client deadlines so an incomplete request costs little; a small
/// replica cap bounds what a valid `/add` can start.
/// Bounded loads on: the fuzzer also checks that the policy's leases are
/// all given back (see the end of the test).
const CONF: &str = "  ring:\n    vnodes: 64\n    bounded_load: 1.25\n  replicas:\n    max: 8\n  clients:\n    header_timeout_ms: 1000\n    body_timeout_ms: 500\n    idle_timeout_ms: 1000\n";

/// One generated case: where it goes and the bytes it sends.
struct Case {
    admin_port: bool,
    bytes: Vec<u8>,
    /// It may change the fleet (a request line naming /add or /rm).
    changes: bool,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn ten_thousand_generated_cases_keep_every_invariant() {
    let seed = env_u64("RINGLB_FUZZ_SEED", DEFAULT_SEED);
    let cases = env_u64("RINGLB_FUZZ_CASES", DEFAULT_CASES);
    let only = std::env::var("RINGLB_FUZZ_ONLY")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let lb = Ringlb::start(CONF);
    let began = Instant::now();
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let mut silent = 0u64;
    for i in (0..cases).filter(|i| only.is_none_or(|o| o == *i)) {
        let mut rng = StdRng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let case = if rng.random_bool(0.3) {
            admin_case(&mut rng)
        } else {
            http_case(&mut rng)
        };
        let addr = if case.admin_port {
            lb.admin_addr()
        } else {
            lb.proxy_addr()
        };
        let fail = |why: String| -> ! {
            panic!(
                "fuzz case {i} (seed {seed:#x}; replay: RINGLB_FUZZ_SEED={seed} RINGLB_FUZZ_ONLY={i}) to {}: {why}\nsent: {:?}",
                if case.admin_port { "admin" } else { "proxy" },
                String::from_utf8_lossy(&case.bytes)
            )
        };
        let answer = send(addr, &case.bytes, case.changes);
        let codes = status_codes(&answer);
        if codes.is_empty() {
            silent += 1;
        }
        for code in &codes {
            *statuses.entry(*code).or_default() += 1;
            if (500..600).contains(code) {
                fail(format!(
                    "answered {code} with every replica healthy:\n{}",
                    String::from_utf8_lossy(&answer)
                ));
            }
        }
        if let Err(e) = http::get(lb.admin_addr(), "/rep", Duration::from_secs(2)) {
            fail(format!(
                "ringlb no longer answers /rep: {e}\nlog:\n{}",
                lb.log()
            ));
        }
        if case.changes || i % 500 == 0 {
            if let Err(why) = consistent(&lb) {
                fail(why);
            }
        }
    }
    assert!(common::is_alive(lb.pid()), "ringlb exited:\n{}", lb.log());
    eprintln!(
        "fuzz: {cases} cases (seed {seed:#x}) in {:?}; answers by status {statuses:?}; {silent} closed without an answer",
        began.elapsed()
    );
    // Every request's lease on its replica is given back, however it
    // ended (answered, refused, cut off by the client): nothing stays
    // counted in flight once the connections are gone.
    wait_for(
        "every replica's requests in flight back to 0",
        Duration::from_secs(10),
        || {
            let busy: f64 =
                common::scrape::samples(&lb.metrics(), "ringlb_replica_requests_in_flight")
                    .iter()
                    .map(|s| s.value)
                    .sum();
            (busy == 0.0).then_some(())
        },
    );
    if only.is_none() {
        // The generator reaches every kind of answer it is meant to.
        for code in [200, 400, 404, 405, 431] {
            assert!(statuses.contains_key(&code), "no {code} among {statuses:?}");
        }
    }
}

/// Replica list == ring members == running replica processes, allowing a
/// change cut short by the fuzzer's hang-up 5 s to finish or roll back.
fn consistent(lb: &Ringlb) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut listed = lb.replicas();
        listed.sort();
        let ring = lb.ring_members();
        let running: Vec<String> = children(lb.pid()).into_iter().map(|(_, n)| n).collect();
        if listed == ring && ring == running {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the fleet disagrees with itself: listed {listed:?}, ring {ring:?}, running {running:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `bytes` and reads what comes back. A complete request is answered
/// in milliseconds; past a short quiet the fuzzer half-closes (ringlb then
/// closes too), so an incomplete request costs little. Fleet changes get
/// longer: starting a replica takes a while.
fn send(addr: SocketAddr, bytes: &[u8], changes: bool) -> Vec<u8> {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return Vec::new();
    };
    let _ = s.write_all(bytes);
    let quiet = if changes {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(60)
    };
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    let mut half_closed = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    let _ = s.set_read_timeout(Some(quiet));
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if !changes && one_complete_response(&out) {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if half_closed || Instant::now() > deadline {
                    break;
                }
                let _ = s.shutdown(Shutdown::Write);
                half_closed = true;
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            }
            Err(_) => break,
        }
    }
    out
}

/// Whether `out` holds a whole response with a Content-Length (a keep-alive
/// answer; waiting for the close would cost the quiet timeout).
fn one_complete_response(out: &[u8]) -> bool {
    let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|len| out.len() >= end + 4 + len)
}

/// Status codes of the responses at the start of lines in `answer`.
fn status_codes(answer: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(answer);
    text.match_indices("HTTP/1.")
        .filter(|(i, _)| *i == 0 || text[..*i].ends_with('\n') || text[..*i].ends_with('}'))
        .filter_map(|(i, _)| text.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

fn pick<'a, T: ?Sized>(rng: &mut StdRng, items: &[&'a T]) -> &'a T {
    items[rng.random_range(0..items.len())]
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| rng.random::<u8>()).collect()
}

/// A printable token, sometimes with separators and controls in it.
fn token(rng: &mut StdRng) -> String {
    let alphabet = b"abcXYZ019-_.~:/ ;,=\"'\t%";
    let n = rng.random_range(0..12);
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// Raw HTTP for the proxy port: a plausible request, often mutated.
fn http_case(rng: &mut StdRng) -> Case {
    let method = if rng.random_bool(0.5) {
        "GET"
    } else {
        pick(
            rng,
            &[
                "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "G\0T",
                "get", "BREW",
            ],
        )
    };
    let long_path = format!("/{}", "a".repeat(9000));
    let query = format!("/home?id={}", rng.random::<u32>());
    let path = if rng.random_bool(0.5) {
        "/home"
    } else {
        pick(
            rng,
            &[
                "/home",
                "/home",
                "/home",
                "/heartbeat",
                "/",
                "/rep",
                "/get",
                "/add",
                "/rm",
                query.as_str(),
                "*",
                "http://x/home",
                "/home/../rep",
                "/%00",
                long_path.as_str(),
                "",
                "/home#x",
            ],
        )
    };
    let version = if rng.random_bool(0.85) {
        "HTTP/1.1"
    } else {
        pick(
            rng,
            &[
                "HTTP/1.0",
                "HTTP/2.0",
                "HTTP/9.9",
                "",
                "HTTP/1.1 x",
                "http/1.1",
            ],
        )
    };
    let mut head = format!("{method} {path} {version}\r\n");
    if rng.random_bool(0.9) {
        head.push_str("Host: x\r\n");
    }
    if rng.random_bool(0.7) {
        let id = if rng.random_bool(0.7) {
            rng.random_range(0..2_000_000u64).to_string()
        } else {
            token(rng)
        };
        head.push_str(&format!("X-Request-Id: {id}\r\n"));
    }
    for _ in 0..rng.random_range(0..4) {
        head.push_str(&format!("X-{}: {}\r\n", token(rng), token(rng)));
    }
    if rng.random_bool(0.02) {
        for i in 0..rng.random_range(90..130) {
            head.push_str(&format!("X-Many-{i}: y\r\n"));
        }
    }
    if rng.random_bool(0.02) {
        head.push_str(&format!(
            "X-Big: {}\r\n",
            "b".repeat(rng.random_range(10_000..20_000))
        ));
    }
    let body = random_bytes(rng, 64);
    match rng.random_range(0..12) {
        0 => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        1 => head.push_str(&format!(
            "Content-Length: {}\r\n",
            body.len() + rng.random_range(1..100)
        )),
        2 => head.push_str(&format!(
            "Content-Length: {}\r\nContent-Length: {}\r\n",
            body.len(),
            body.len() + 1
        )),
        3 => head.push_str("Transfer-Encoding: chunked\r\n"),
        4 => head.push_str(&format!(
            "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
            body.len()
        )),
        5 => head.push_str(&format!(
            "Content-Length: {}\r\n",
            pick(rng, &["-1", "abc", "99999999999999999999", "1 2", ""])
        )),
        _ => {}
    }
    if rng.random_bool(0.5) {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if rng.random_bool(0.5) {
        bytes.extend_from_slice(&body);
    }
    if rng.random_bool(0.05) {
        // A pipeline of a few more.
        let copy = bytes.clone();
        for _ in 0..rng.random_range(1..5) {
            bytes.extend_from_slice(&copy);
        }
    }
    if rng.random_bool(0.25) {
        mutate(rng, &mut bytes);
    }
    if rng.random_bool(0.02) {
        bytes = random_bytes(rng, 200);
    }
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let changes =
        first_line.windows(4).any(|w| w == b"/add") || first_line.windows(3).any(|w| w == b"/rm");
    Case {
        admin_port: false,
        bytes,
        changes,
    }
}

/// Byte-level damage: flips, inserts, deletes, truncation, bare LFs.
fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    for _ in 0..rng.random_range(1..4) {
        if bytes.is_empty() {
            return;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..6) {
            0 => bytes[at] = rng.random(),
            1 => bytes.insert(at, rng.random()),
            2 => {
                let end = (at + rng.random_range(1..20)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => bytes.truncate(at),
            4 => {
                let lf: Vec<usize> = bytes
                    .windows(2)
                    .enumerate()
                    .filter(|(_, w)| *w == b"\r\n")
                    .map(|(i, _)| i)
                    .collect();
                if let Some(i) = lf.get(rng.random_range(0..lf.len().max(1))) {
                    bytes.remove(*i);
                }
            }
            _ => bytes.insert(at, 0),
        }
    }
}

/// A JSON value meant to upset `/add` and `/rm`.
fn json_value(rng: &mut StdRng, depth: u32) -> String {
    match rng.random_range(0..if depth > 2 { 7 } else { 9 }) {
        0 => rng.random_range(-3i64..5).to_string(),
        1 => pick(
            rng,
            &[
                "18446744073709551615",
                "1e30",
                "-0",
                "1.5",
                "9007199254740993",
                "0",
            ],
        )
        .to_string(),
        2 => format!("{:?}", token(rng)),
        3 => pick(rng, &["null", "true", "false"]).to_string(),
        4 => {
            let long = "x".repeat(70);
            format!(
                "\"{}\"",
                pick(rng, &["S1", "replica1", "-lead", "a_b", "", long.as_str()])
            )
        }
        5 => format!("\"F{}\"", rng.random_range(0..40)),
        6 => "{}".to_string(),
        7 => {
            let items: Vec<String> = (0..rng.random_range(0..4))
                .map(|_| json_value(rng, depth + 1))
                .collect();
            format!("[{}]", items.join(", "))
        }
        _ => format!("{{\"n\": {}}}", json_value(rng, depth + 1)),
    }
}

/// An admin API call: mostly JSON, on the admin port or the proxy port.
fn admin_case(rng: &mut StdRng) -> Case {
    let method = pick(
        rng,
        &[
            "POST", "POST", "DELETE", "DELETE", "GET", "PUT", "PATCH", "HEAD", "OPTIONS",
        ],
    );
    let path = pick(
        rng,
        &[
            "/add",
            "/add",
            "/rm",
            "/rm",
            "/rep",
            "/get",
            "/rep?verbose=1",
            "/nope",
            "/ADD",
            "/add?n=1",
        ],
    );
    let body = match rng.random_range(0..10) {
        0 => String::new(),
        1 => String::from_utf8_lossy(&random_bytes(rng, 40)).into_owned(),
        2 => json_value(rng, 0),
        3 | 4 => {
            // Often valid, so replicas come and go (bounded by max: 8).
            let n = rng.random_range(1..3);
            let names: Vec<String> = (0..rng.random_range(0..=n))
                .map(|_| format!("\"F{}\"", rng.random_range(0..40)))
                .collect();
            format!("{{\"n\": {n}, \"hostnames\": [{}]}}", names.join(", "))
        }
        _ => {
            let mut fields = Vec::new();
            if rng.random_bool(0.9) {
                fields.push(format!("\"n\": {}", json_value(rng, 1)));
            }
            if rng.random_bool(0.6) {
                fields.push(format!("\"hostnames\": {}", json_value(rng, 1)));
            }
            if rng.random_bool(0.1) {
                fields.push(format!("{:?}: 1", token(rng)));
            }
            format!("{{{}}}", fields.join(", "))
        }
    };
    let bytes = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    Case {
        admin_port: rng.random_bool(0.7),
        changes: path.starts_with("/add") || path.starts_with("/rm"),
        bytes,
    }
}
