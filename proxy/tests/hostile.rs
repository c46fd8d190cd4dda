//! Hostile and broken clients: slow headers, idle and greedy connections,
//! oversized headers, pipelining and request-smuggling shapes. No client
//! may hold ringlb up for the others, and each gets a clear answer or a
//! closed connection, never a replica's 5xx.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::fake::{Behaviour, FakeReplica};
use common::{wait_for, Ringlb};
use serde_json::Value;

const RING: &str = "  ring:\n    vnodes: 64\n";

/// Writes `request` and reads until the peer closes or `quiet` passes with
/// nothing new; the bytes received and whether the peer closed.
fn exchange(addr: SocketAddr, request: &[u8], quiet: Duration) -> (String, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    read_all(&mut s, quiet)
}

fn read_all(s: &mut TcpStream, quiet: Duration) -> (String, bool) {
    s.set_read_timeout(Some(quiet)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false
            }
            Err(_) => break true,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// A connection that made one request and is kept alive, idle.
fn kept_alive(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /home HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    s
}

/// The status codes of the HTTP responses in `text`, in order.
fn statuses(text: &str) -> Vec<u16> {
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| text[i + 9..i + 12].parse().ok())
        .collect()
}

/// The JSON bodies in `text` (each response's body is one JSON object).
fn bodies(text: &str) -> Vec<Value> {
    text.split("HTTP/1.1 ")
        .filter_map(|r| r.split_once("\r\n\r\n").map(|(_, b)| b))
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect()
}

#[test]
fn trickling_headers_are_cut_off_while_a_normal_client_is_served() {
    let lb = Ringlb::start(&format!("{RING}  clients:\n    header_timeout_ms: 2000\n"));
    let addr = lb.proxy_addr();
    // 1,000 connections that send a header one byte every 200 ms.
    let opened = Instant::now();
    let mut slow: Vec<(TcpStream, Option<Duration>)> = (0..1000)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_nonblocking(true).unwrap();
            (s, None)
        })
        .collect();
    let connected = opened.elapsed();
    let normal = {
        let url = lb.url("/home");
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut latencies = Vec::new();
            let until = Instant::now() + Duration::from_secs(4);
            while Instant::now() < until {
                let began = Instant::now();
                let r = client.get(&url).send().map(|r| r.status().as_u16());
                latencies.push((began.elapsed(), r.ok()));
                std::thread::sleep(Duration::from_millis(5));
            }
            latencies
        })
    };
    let header = b"GET /home HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut round = 0usize;
    while slow.iter().any(|(_, c)| c.is_none()) && opened.elapsed() < Duration::from_secs(10) {
        for (s, closed) in slow.iter_mut().filter(|(_, c)| c.is_none()) {
            let byte = header.get(round).copied().unwrap_or(b'x');
            let mut probe = [0u8; 1];
            let gone = match s.read(&mut probe) {
                Ok(_) => true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => s.write(&[byte]).is_err(),
                Err(_) => true,
            };
            if gone {
                *closed = Some(opened.elapsed());
            }
        }
        round += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let latest = slow
        .iter()
        .map(|(_, c)| c.unwrap_or(Duration::MAX))
        .max()
        .unwrap();
    // Every one is cut off within the header timeout plus 2 s (from the
    // moment the last of them connected).
    assert!(
        latest <= connected + Duration::from_secs(4),
        "a trickling connection lasted {latest:?} (all connected after {connected:?})"
    );
    let earliest = slow.iter().filter_map(|(_, c)| *c).min().unwrap();
    let timed_out = common::scrape::value(
        &lb.metrics(),
        "ringlb_client_connections_shed_total",
        &[("reason", "header_timeout")],
    );
    assert!(timed_out.is_some_and(|n| n >= 1000.0), "{timed_out:?}");
    assert!(
        earliest >= Duration::from_millis(1500),
        "cut off after {earliest:?}: too early"
    );
    let mut results = normal.join().unwrap();
    assert!(
        results.len() > 100,
        "only {} normal requests",
        results.len()
    );
    let failed: Vec<_> = results.iter().filter(|(_, s)| *s != Some(200)).collect();
    assert!(failed.is_empty(), "{failed:?}");
    results.sort_by_key(|(l, _)| *l);
    let p99 = results[results.len() * 99 / 100].0;
    assert!(p99 < Duration::from_millis(50), "normal client p99 {p99:?}");
    eprintln!(
        "1,000 trickling connections closed by {latest:?}; normal client: {} requests, p99 {p99:?}",
        results.len()
    );
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let lb = Ringlb::start(&format!(
        "{RING}  clients:\n    header_timeout_ms: 500\n    idle_timeout_ms: 1000\n"
    ));
    let get = b"GET /home HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut s = TcpStream::connect(lb.proxy_addr()).unwrap();
    s.write_all(get).unwrap();
    let (first, closed) = read_all(&mut s, Duration::from_millis(300));
    assert_eq!((statuses(&first), closed), (vec![200], false));
    // Within the idle timeout the connection serves the next request.
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(get).unwrap();
    let (second, _) = read_all(&mut s, Duration::from_millis(300));
    assert_eq!(statuses(&second), [200]);
    // Then silence: closed after idle + header (1.5 s), well before 3 s.
    let began = Instant::now();
    let (rest, closed) = read_all(&mut s, Duration::from_secs(3));
    assert!(closed && rest.is_empty(), "{rest:?}");
    let after = began.elapsed();
    assert!(
        after >= Duration::from_millis(1000) && after < Duration::from_millis(2800),
        "closed after {after:?}"
    );
    // The admin listener keeps the same deadlines.
    let mut a = TcpStream::connect(lb.admin_addr()).unwrap();
    a.write_all(b"GET /rep HTTP/1.1\r\nHost: x\r\n").unwrap();
    let began = Instant::now();
    let (_, closed) = read_all(&mut a, Duration::from_secs(3));
    assert!(closed && began.elapsed() < Duration::from_millis(2000));
}

#[test]
fn blank_lines_alone_do_not_pass_for_a_header() {
    // The parser skips blank lines before a request line, so "\r\n\r\n"
    // is not a header: it must not switch the deadlines off, on a new
    // connection or between kept-alive requests.
    let lb = Ringlb::start(&format!(
        "{RING}  clients:\n    header_timeout_ms: 500\n    idle_timeout_ms: 1000\n"
    ));
    // Sends the blank lines and expects the connection closed, unanswered,
    // within `limit`.
    let closed_within = |mut s: TcpStream, limit: Duration| {
        s.write_all(b"\r\n\r\n").unwrap();
        let began = Instant::now();
        let (got, closed) = read_all(&mut s, limit + Duration::from_secs(2));
        assert!(closed && got.is_empty(), "{got:?}");
        assert!(
            began.elapsed() < limit,
            "closed after {:?}",
            began.elapsed()
        );
    };
    // The header deadline: 0.5 s (and some slack for the timer).
    closed_within(
        TcpStream::connect(lb.proxy_addr()).unwrap(),
        Duration::from_millis(2500),
    );
    // idle + header = 1.5 s.
    closed_within(kept_alive(lb.proxy_addr()), Duration::from_millis(3000));
}

#[test]
fn a_flood_of_connections_is_refused_cleanly_while_admin_and_heartbeats_carry_on() {
    let lb = Ringlb::start(&format!(
        "{RING}  clients:\n    max_connections: 200\n    header_timeout_ms: 30000\n"
    ));
    let addr = lb.proxy_addr();
    // One client holds every connection the proxy allows, idle after one
    // request each (so each was surely admitted before the probes below:
    // a probe admitted first would leave a flood connection refused).
    let flood: Vec<TcpStream> = (0..200).map(|_| kept_alive(addr)).collect();
    // Beyond the limit: a clear 503 at once.
    wait_for("the limit to be reached", Duration::from_secs(5), || {
        let (text, closed) = exchange(
            addr,
            b"GET /home HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(3),
        );
        (statuses(&text) == [503] && closed).then_some(text)
    });
    for _ in 0..20 {
        let began = Instant::now();
        let (text, closed) = exchange(
            addr,
            b"GET /home HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(3),
        );
        assert!(
            began.elapsed() < Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
        assert!(closed, "{text}");
        assert_eq!(statuses(&text), [503], "{text}");
        assert_eq!(
            bodies(&text)[0]["message"],
            "<Error> too many connections, try again later"
        );
    }
    // The admin API answers and heartbeats go on (1 s = 4 rounds).
    let began = Instant::now();
    assert_eq!(lb.replicas().len(), 3);
    assert!(began.elapsed() < Duration::from_secs(1));
    std::thread::sleep(Duration::from_secs(1));
    for d in lb.verbose()["message"]["details"].as_array().unwrap() {
        assert_eq!(d["state"], "up", "{d}");
        assert!(d["last_heartbeat_ms"].as_u64().unwrap() < 1000, "{d}");
    }
    let shed = common::scrape::value(
        &lb.metrics(),
        "ringlb_client_connections_shed_total",
        &[("reason", "limit")],
    );
    assert!(shed.is_some_and(|n| n >= 21.0), "{shed:?}");
    assert_eq!(
        common::scrape::value(&lb.metrics(), "ringlb_client_connections", &[]),
        Some(200.0)
    );
    assert!(
        lb.log().contains("proxy: refusing connections (Full)"),
        "{}",
        lb.log()
    );
    // The flood lets go: normal service within 1 s.
    drop(flood);
    let released = Instant::now();
    wait_for("service to come back", Duration::from_secs(1), || {
        (lb.home(1).0 == 200).then_some(())
    });
    eprintln!(
        "served again {:?} after the flood let go",
        released.elapsed()
    );
}

#[test]
fn the_per_client_limit_refuses_only_the_greedy_address() {
    let lb = Ringlb::start(&format!("{RING}  clients:\n    max_per_client: 5\n"));
    let addr = lb.proxy_addr();
    // Five kept-alive connections, each admitted (it got an answer).
    let mut held: Vec<TcpStream> = (0..5).map(|_| kept_alive(addr)).collect();
    let (text, closed) = wait_for("the 6th to be refused", Duration::from_secs(5), || {
        let r = exchange(
            addr,
            b"GET /home HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(3),
        );
        (statuses(&r.0) == [503]).then_some(r)
    });
    assert!(closed);
    assert_eq!(
        bodies(&text)[0]["message"],
        "<Error> too many connections from this address"
    );
    // The admin listener has its own gate.
    assert_eq!(lb.replicas().len(), 3);
    held.pop();
    wait_for("a place to free up", Duration::from_secs(5), || {
        let (t, _) = exchange(
            addr,
            b"GET /home HTTP/1.1
Host: x
Connection: close

",
            Duration::from_millis(500),
        );
        (statuses(&t) == [200]).then_some(())
    });
}

#[test]
fn oversized_headers_get_a_431_on_both_listeners() {
    let lb = Ringlb::start(RING);
    let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
    let big = format!("X-Big: {}\r\n", "a".repeat(17_000));
    for addr in [lb.proxy_addr(), lb.admin_addr()] {
        let path = if addr == lb.proxy_addr() {
            "/home"
        } else {
            "/rep"
        };
        for (extra, fields, what) in [
            (many.as_str(), 101, "101 fields"),
            (big.as_str(), 2, "17 kB"),
        ] {
            let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
            let (text, closed) = exchange(addr, request.as_bytes(), Duration::from_secs(3));
            assert_eq!(statuses(&text), [431], "{addr} {what}: {text}");
            assert!(closed, "{addr} {what}");
            let message = bodies(&text)[0]["message"].as_str().unwrap().to_string();
            assert!(
                message.starts_with(&format!(
                    "<Error> request header too large: {fields} fields, "
                )) && message.ends_with("(at most 100 fields, 16384 bytes)"),
                "{message}"
            );
        }
        // Just inside the limits: served.
        let fine: String = (0..98).map(|i| format!("X-{i}: y\r\n")).collect();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{fine}\r\n");
        let (text, _) = exchange(addr, request.as_bytes(), Duration::from_millis(500));
        assert_eq!(statuses(&text), [200], "{addr}: {text}");
    }
    // Past Pingora's own ceiling (256 fields) Pingora answers a plain 400
    // before ringlb sees the request (the README says so).
    let many: String = (0..300).map(|i| format!("X-{i}: y\r\n")).collect();
    let (text, closed) = exchange(
        lb.proxy_addr(),
        format!("GET /home HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
        Duration::from_secs(3),
    );
    assert_eq!((statuses(&text), closed), (vec![400], true));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let lb = Ringlb::start(RING);
    let ids: Vec<u64> = (0..100).map(|i| 100_000 + i * 7_919).collect();
    let owners: Vec<String> = ids.iter().map(|id| lb.owner(*id)).collect();
    let mut pipeline = String::new();
    for id in &ids {
        pipeline.push_str(&format!(
            "GET /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {id}\r\n\r\n"
        ));
    }
    let (text, _) = exchange(
        lb.proxy_addr(),
        pipeline.as_bytes(),
        Duration::from_millis(1500),
    );
    assert_eq!(statuses(&text), vec![200; 100]);
    let served: Vec<String> = bodies(&text).iter().map(common::served_by).collect();
    assert_eq!(served, owners, "answers out of order");
    // A POST with a body, then a GET, in one write; and on the admin port.
    let (text, _) = exchange(
        lb.proxy_addr(),
        b"PUT /home HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /home HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_millis(1000),
    );
    assert_eq!(statuses(&text).len(), 2, "{text}");
    assert_eq!(statuses(&text)[1], 200, "{text}");
    // Pipelined requests carrying the text ringlb looks for in Pingora's
    // settings (`clients/guarded.rs`, `holds_pipelined_bytes`) still count
    // as held bytes: all three answered, none left waiting for the socket.
    let tricky =
        "GET /home HTTP/1.1\r\nHost: x\r\nX-Note: pipelined_prefix: None\r\n\r\n".repeat(3);
    let (text, _) = exchange(
        lb.proxy_addr(),
        tricky.as_bytes(),
        Duration::from_millis(1000),
    );
    assert_eq!(statuses(&text), vec![200; 3], "{text}");
    let (text, _) = exchange(
        lb.admin_addr(),
        "GET /rep HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10).as_bytes(),
        Duration::from_millis(1000),
    );
    assert_eq!(statuses(&text), vec![200; 10]);
}

/// A pipelined stream cut at random points and at request ends: each
/// piece is its own write, so a read may end mid-header, hold whole
/// requests, a header and the next one's start, or come while a request is
/// at the replica. Every request is answered,
/// in order, whatever the cuts (ringlb decides after each request whether
/// Pingora kept bytes of the next one: `clients/counted.rs`).
#[test]
fn a_pipelined_stream_cut_anywhere_is_answered_in_order() {
    use rand::{Rng, SeedableRng};
    let lb = Ringlb::start(RING);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5_1ced);
    for round in 0..4 {
        let ids: Vec<u64> = (0..24)
            .map(|i| 200_000 + round * 1_000 + i * 7_919)
            .collect();
        let mut stream = Vec::new();
        // Where each request ends: half the cuts fall there, so a write
        // may hold whole requests and nothing more.
        let mut ends = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let request = if i % 5 == 3 {
                format!("PUT /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {id}\r\nContent-Length: 3\r\n\r\nabc")
            } else {
                format!("GET /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {id}\r\n\r\n")
            };
            stream.extend_from_slice(request.as_bytes());
            ends.push(stream.len());
        }
        let mut s = TcpStream::connect(lb.proxy_addr()).unwrap();
        s.set_nodelay(true).unwrap();
        let mut sent = 0;
        while sent < stream.len() {
            let to = if rng.random_bool(0.5) {
                let next = ends.iter().position(|&e| e > sent).expect("an end");
                ends[(next + rng.random_range(0..3)).min(ends.len() - 1)]
            } else {
                sent + rng.random_range(1..=(stream.len() - sent).min(120))
            };
            s.write_all(&stream[sent..to]).unwrap();
            sent = to;
            std::thread::sleep(Duration::from_millis(rng.random_range(0..3)));
        }
        let (text, _) = read_all(&mut s, Duration::from_millis(1500));
        assert_eq!(statuses(&text).len(), ids.len(), "round {round}: {text}");
        // In order: each GET from its key's owner, each PUT refused by the
        // replica (it serves only GET on /home).
        let answers = bodies(&text);
        assert_eq!(answers.len(), ids.len(), "round {round}: {text}");
        for (i, (id, body)) in ids.iter().zip(&answers).enumerate() {
            if i % 5 == 3 {
                assert_eq!(
                    body["status"], "failure",
                    "round {round}, request {i}: {body}"
                );
            } else {
                assert_eq!(
                    common::served_by(body),
                    lb.owner(*id),
                    "round {round}, request {i}"
                );
            }
        }
    }
}

/// A second request sent while the first is still at the replica (the case
/// Pingora reports as "Sent data after end of body").
fn second_request_in_flight(pipelining: bool) -> (String, bool, String) {
    let slow = FakeReplica::start("slow", Behaviour::SlowHome(Duration::from_millis(300)));
    let lb = Ringlb::start(&format!(
        "{RING}  clients:\n    pipelining: {pipelining}\n  replicas:\n    provisioner: static\n    initial: ['{}']\n",
        slow.addr
    ));
    let mut s = TcpStream::connect(lb.proxy_addr()).unwrap();
    s.write_all(b"GET /home HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    slow.next_arrival(Duration::from_secs(5));
    s.write_all(b"GET /home HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (text, closed) = read_all(&mut s, Duration::from_secs(2));
    (text, closed, lb.log())
}

#[test]
fn a_request_pipelined_behind_one_in_flight_is_answered_in_order() {
    let (text, _, _) = second_request_in_flight(true);
    assert_eq!(statuses(&text), [200, 200], "{text}");
}

#[test]
fn without_pipelining_a_pipelining_client_is_closed_never_told_the_replicas_are_down() {
    // Pingora (pipelining off) fails the request in flight when the next
    // arrives: the client's doing, so the connection is closed, without a
    // 503 blaming the replicas and without suspecting one.
    let (text, closed, log) = second_request_in_flight(false);
    assert!(statuses(&text).iter().all(|s| *s == 200), "{text}");
    assert!(closed, "{text}");
    assert!(!log.contains("suspect"), "{log}");
    // All in one write: the first is answered, then the connection closes.
    let lb = Ringlb::start(&format!("{RING}  clients:\n    pipelining: false\n"));
    for depth in [2, 10, 100] {
        let pipeline = "GET /home HTTP/1.1\r\nHost: x\r\n\r\n".repeat(depth);
        let (text, closed) = exchange(lb.proxy_addr(), pipeline.as_bytes(), Duration::from_secs(3));
        let got = statuses(&text);
        assert!(
            !got.is_empty() && got.iter().all(|s| *s == 200),
            "depth {depth}: {got:?}"
        );
        assert!(closed, "depth {depth}: left open with requests unanswered");
    }
}

#[test]
fn smuggling_shapes_are_refused_or_answered_once() {
    let lb = Ringlb::start(RING);
    // Content-Length and Transfer-Encoding together: the chunked framing
    // wins, the bytes after it are not a second request.
    let (text, closed) = exchange(
        lb.proxy_addr(),
        b"PUT /home HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /home HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(2),
    );
    assert!(statuses(&text).len() <= 1, "smuggled: {text}");
    assert!(closed, "{text}");
    // Two different Content-Lengths: a 400 and a close.
    let (text, closed) = exchange(
        lb.proxy_addr(),
        b"PUT /home HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        Duration::from_secs(2),
    );
    assert_eq!((statuses(&text), closed), (vec![400], true));
    // A slow body on the proxy port: the client's timeout, a 408, never a
    // replica's 504 (the replica here answers only after 3 s).
    drop(lb);
    let slow = FakeReplica::start("slow", Behaviour::SlowHome(Duration::from_secs(3)));
    let lb = Ringlb::start(&format!(
        "{RING}  clients:\n    body_timeout_ms: 500\n  replicas:\n    provisioner: static\n    initial: ['{}']\n",
        slow.addr
    ));
    let (text, _) = exchange(
        lb.proxy_addr(),
        b"PUT /home HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        Duration::from_secs(3),
    );
    assert_eq!(statuses(&text), [408], "{text}");
    assert_eq!(
        bodies(&text)[0]["message"],
        "<Error> timed out reading the request"
    );
    assert!(!lb.log().contains("suspect"), "{}", lb.log());
}
