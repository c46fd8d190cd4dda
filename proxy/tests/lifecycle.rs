//! ringlb's own life cycle as the README promises it: SIGTERM lets requests
//! in flight finish within `grace_period_seconds` before it stops, and at
//! start it raises its open-file soft limit to the hard limit, warning when
//! that is low.

mod common;

use std::time::{Duration, Instant};

use common::fake::{Behaviour, FakeReplica};
use common::{bin, Ringlb};
use ringlb_harness::Launch;

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let slow = FakeReplica::start("slow", Behaviour::SlowHome(Duration::from_millis(1500)));
    let yaml = format!(
        "version: 1\nthreads: 2\ngrace_period_seconds: 3\ngraceful_shutdown_timeout_seconds: 2\nringlb:\n  replicas:\n    provisioner: static\n    initial: ['{}']\n",
        slow.addr
    );
    let mut lb = Ringlb::launch(Launch::new(bin("ringlb"), yaml));
    let url = lb.url("/home");
    let client = std::thread::spawn(move || {
        let r = reqwest::blocking::get(url).expect("an answer");
        (
            r.status().as_u16(),
            r.text().unwrap_or_default(),
            Instant::now(),
        )
    });
    // The replica has the request: it is in flight. Now SIGTERM.
    let line = slow.next_arrival(Duration::from_secs(10));
    assert!(line.starts_with("GET /home"), "{line}");
    let signalled = Instant::now();
    let stopped = lb.stop_within(libc::SIGTERM, Duration::from_secs(15));
    let (status, body, answered) = client.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        r#"{"message": "Hello from Server: slow", "status": "successful"}"#
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
