//! ringlb's own life cycle as the README promises it: SIGTERM lets requests
//! in flight finish within `grace_period_seconds` before it stops, and at
//! start it raises its open-file soft limit to the hard limit, warning when
//! that is low.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::fake::{Behaviour, FakeReplica};
use common::{bin, Ringlb};
use ringlb_harness::Launch;

/// Sends one request for `/home` on `s` and reads its answer.
fn get_home(s: &mut TcpStream) -> String {
    s.write_all(b"GET /home HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.ends_with(b"}") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the answer: {answer:?}");
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// How long until the server closes `s` (which must get no more bytes).
fn closed_after(s: &mut TcpStream, since: Instant) -> Duration {
    let mut buf = [0u8; 64];
    assert_eq!(
        s.read(&mut buf).map_err(|e| e.kind()),
        Ok(0),
        "bytes, not a close"
    );
    since.elapsed()
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let slow = FakeReplica::start("slow", Behaviour::SlowHome(Duration::from_millis(1500)));
    let yaml = format!(
        "version: 1\nthreads: 2\ngrace_period_seconds: 3\ngraceful_shutdown_timeout_seconds: 2\nringlb:\n  replicas:\n    provisioner: static\n    initial: ['{}']\n",
        slow.addr
    );
    let mut lb = Ringlb::launch(Launch::new(bin("ringlb"), yaml));
    // A kept-alive connection, idle when the signal comes.
    let mut idle = TcpStream::connect(lb.proxy_addr()).unwrap();
    assert!(get_home(&mut idle).starts_with("HTTP/1.1 200"));
    slow.next_arrival(Duration::from_secs(1));
    let mut busy = TcpStream::connect(lb.proxy_addr()).unwrap();
    let client = std::thread::spawn(move || {
        let answer = get_home(&mut busy);
        let answered = Instant::now();
        (answer, answered, closed_after(&mut busy, answered))
    });
    // The replica has the request: it is in flight. Now SIGTERM.
    let line = slow.next_arrival(Duration::from_secs(10));
    assert!(line.starts_with("GET /home"), "{line}");
    let signalled = Instant::now();
    let closer = std::thread::spawn(move || closed_after(&mut idle, signalled));
    let stopped = lb.stop_within(libc::SIGTERM, Duration::from_secs(15));
    // Both kept-alive connections are closed when they are idle, at the
    // signal or after the answer, not when the process exits after its
    // 3 s grace period.
    let idle_closed = closer.join().unwrap();
    assert!(
        idle_closed < Duration::from_secs(1),
        "the idle kept-alive connection closed {idle_closed:?} after SIGTERM"
    );
    let (answer, answered, busy_closed) = client.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.ends_with(r#"{"message": "Hello from Server: slow", "status": "successful"}"#),
        "{answer}"
    );
    assert!(
        busy_closed < Duration::from_secs(1),
        "the connection of the request in flight closed {busy_closed:?} after its answer"
    );
    assert!(
        stopped.by_itself,
        "ringlb did not exit by itself: {stopped:?}"
    );
    assert_eq!(stopped.status.and_then(|s| s.code()), Some(0));
    // It answered (after ~1.5 s) before it exited (grace period 3 s).
    let exited = signalled + stopped.after;
    assert!(answered < exited, "exited before the answer");
    assert!(
        stopped.after < Duration::from_secs(3 + 2 + 4),
        "{stopped:?}"
    );
}

/// ringlb started through `sh` with its limits set first (`exec` keeps the
/// pid, so the harness still watches ringlb itself).
fn start_with_limits(soft: u64, hard: u64) -> Ringlb {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("limited-ringlb");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nulimit -Sn {soft} && ulimit -Hn {hard} || exit 9\nexec '{}' \"$@\"\n",
            bin("ringlb").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let lb = Ringlb::launch(Launch::new(&wrapper, common::config("", "")));
    drop(dir);
    lb
}

/// (soft, hard) open-file limits of a running process.
fn nofile(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut n = line
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok());
    (n.next().unwrap(), n.next().unwrap())
}

#[test]
fn the_open_file_limit_is_raised_and_a_low_one_is_warned_about() {
    let lb = start_with_limits(512, 4096);
    assert_eq!(nofile(lb.pid()), (4096, 4096));
    assert!(
        lb.log().contains("open-file limit is 4096 (hard limit 4096): fewer than 16384 concurrent connections can be served"),
        "{}",
        lb.log()
    );
    drop(lb);

    // The hard limit this test runs under (it cannot raise it).
    let (_, hard) = nofile(std::process::id());
    let lb = start_with_limits(1024, hard);
    assert_eq!(nofile(lb.pid()), (hard, hard));
    if hard >= 16_384 {
        assert!(
            lb.log()
                .contains(&format!("open-file limit {hard} (was 1024)")),
            "{}",
            lb.log()
        );
        assert!(!lb.log().contains("fewer than"));
    } else {
        assert!(lb.log().contains("fewer than 16384"), "{}", lb.log());
    }
}

#[test]
fn a_taken_port_makes_the_harness_start_ringlb_on_fresh_ones() {
    // Another process holds the proxy port ringlb is first given: Pingora
    // would retry it for 30 s; the harness moves to fresh ports instead.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = squatter.local_addr().unwrap();
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut launch = Launch::new(bin("ringlb"), common::config("", ""));
    launch.first_ports = Some((taken, admin));
    let began = Instant::now();
    let lb = Ringlb::launch(launch);
    assert_ne!(lb.proxy_addr(), taken);
    assert_eq!(lb.home(1).0, 200);
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "{:?}",
        began.elapsed()
    );
}

#[test]
fn sigint_exits_at_once_with_many_threads() {
    // Pingora's own fast shutdown stops each thread's runtime at once; an
    // accept loop whose listener sat in a runtime stopped first spun on its
    // error and never let its thread stop (about one start in four hung
    // with 8 threads here). ringlb's fast shutdown stops the replicas and exits.
    for round in 0..16 {
        let mut lb = Ringlb::start_with("  ring:\n    vnodes: 64\n", "threads: 8");
        let pids: Vec<u32> = common::children(lb.pid())
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(pids.len(), 3, "round {round}");
        let stopped = lb.stop_within(libc::SIGINT, Duration::from_secs(10));
        let log = lb.log();
        let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join("\n");
        assert!(
            stopped.by_itself,
            "round {round}: no exit within 10 s; log ends:\n{tail}"
        );
        assert_eq!(
            stopped.status.and_then(|s| s.code()),
            Some(0),
            "round {round}"
        );
        assert!(
            pids.iter().all(|p| !common::is_alive(*p)),
            "round {round}: replicas left running"
        );
    }
}
