//! Self-healing and failover against real replicas: each detection path
//! (process exit, heartbeats) on its own, timed from ringlb's own log; kills
//! and hangs under a steady load that no client may notice; the failover
//! budget, replay rules and error messages the README promises.
//!
//! Bounds here hold on a loaded 2-core machine (a debug build, other tests
//! beside it): they check the mechanism, with margin. The precise figures
//! come from `bench/failover.py` on a release build.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use common::fake::{Behaviour, FakeReplica};
use common::{children, load, wait_for, Backend, Ringlb};
use ringlb_harness::logged_at;
use serde_json::Value;

/// Default health settings (250 ms x 3 + 200 ms) and a 1 s read timeout.
const CONF: &str = "  ring:\n    slots: 9223372036854775808\n    vnodes: 256\n    family: strong\n  upstream:\n    read_timeout_ms: 1000\n    connect_timeout_ms: 500\n  health:\n    interval_ms: 250\n    timeout_ms: 200\n    failures: 3\n";

fn replica_view(lb: &Ringlb, name: &str) -> Option<Value> {
    lb.verbose()["message"]["details"]
        .as_array()?
        .iter()
        .find(|d| d["hostname"] == name)
        .cloned()
}

fn failures(samples: &[load::Sample]) -> Vec<String> {
    samples
        .iter()
        .filter(|s| !(200..300).contains(&s.status))
        .map(|s| format!("at {:?}: {} {}", s.at, s.status, s.body))
        .collect()
}

/// Time from `since` to the first log line containing `needle`.
fn logged_after(lb: &Ringlb, needle: &str, since: SystemTime) -> Duration {
    let at = wait_for(
        &format!("ringlb to log {needle:?}"),
        Duration::from_secs(10),
        || logged_at(&lb.log(), needle),
    );
    at.duration_since(since).unwrap_or_default()
}

/// Asserts `needles` appear in the log in this order.
/// After a failure under load, nothing stays counted in flight: every
/// request's lease on its replica was given back, whether the request was
/// answered, timed out, or failed over.
fn no_request_left_in_flight(lb: &Ringlb) {
    wait_for("no request left in flight", Duration::from_secs(10), || {
        let busy: f64 = common::scrape::samples(&lb.metrics(), "ringlb_replica_requests_in_flight")
            .iter()
            .map(|s| s.value)
            .sum();
        (busy == 0.0).then_some(())
    });
}

fn assert_in_order(log: &str, needles: &[&str]) {
    let mut from = 0;
    for n in needles {
        let at = log[from..]
            .find(n)
            .unwrap_or_else(|| panic!("{n:?} missing (or out of order) in:\n{log}"));
        from += at + n.len();
    }
}

#[test]
fn a_replica_that_exits_is_out_and_replaced_without_waiting_for_heartbeats() {
    // Heartbeats every 10 s: only the exit path can act in time.
    let lb = Ringlb::start(&CONF.replace("interval_ms: 250", "interval_ms: 10000"));
    let (pid, victim) = children(lb.pid()).into_iter().next().expect("a replica");
    let killed = SystemTime::now();
    common::signal(pid, libc::SIGKILL);
    let down = logged_after(
        &lb,
        &format!("replica {victim} down: its process exited"),
        killed,
    );
    let up = logged_after(&lb, &format!("(replaced {victim} in"), killed);
    let log = lb.log();
    assert_in_order(
        &log,
        &[
            &format!("replica {victim} down: its process exited"),
            &format!("replica {victim} replacing as {victim}"),
            &format!("replica {victim} up on"),
        ],
    );
    assert!(!log.contains("failed heartbeat"), "{log}");
    // The exit is noticed at once (the bench measures ~15 ms to serving);
    // 2 s of margin for a loaded machine, far below the 10 s heartbeat.
    assert!(
        down < Duration::from_secs(2),
        "down logged {down:?} after the kill"
    );
    assert!(
        up < Duration::from_secs(3),
        "replaced {up:?} after the kill"
    );
    assert_eq!(replica_view(&lb, &victim).unwrap()["restarts"], 1);
    eprintln!("exit path: down after {down:?}, serving after {up:?}");
}

#[test]
fn a_hung_replica_is_found_by_heartbeats_alone() {
    // No traffic, so no passive suspicion: heartbeats must find it.
    let lb = Ringlb::start(CONF);
    let (pid, victim) = children(lb.pid()).into_iter().next().expect("a replica");
    let stopped = SystemTime::now();
    common::signal(pid, libc::SIGSTOP);
    let down = logged_after(
        &lb,
        &format!("replica {victim} down: 3 failed heartbeat(s)"),
        stopped,
    );
    common::signal(pid, libc::SIGCONT);
    let log = lb.log();
    assert!(!log.contains("suspect"), "{log}");
    assert!(!log.contains("process exited"), "{log}");
    // interval x failures + timeout = 950 ms at the earliest (a stop just
    // after a heartbeat: up to one interval more); 1 s of slack for a
    // loaded machine. The bench measures ~920 ms.
    assert!(
        down >= Duration::from_millis(650) && down < Duration::from_millis(2200),
        "down logged {down:?} after SIGSTOP"
    );
    wait_for("the replacement", Duration::from_secs(10), || {
        replica_view(&lb, &victim).filter(|v| v["state"] == "up" && v["restarts"] == 1)
    });
    eprintln!("heartbeat path: down after {down:?}");
}

#[test]
fn kill_9_under_load_loses_no_request() {
    let lb = Ringlb::start(CONF);
    let (victim_pid, victim) = children(lb.pid()).into_iter().next().expect("a replica");
    let url = lb.url("/home");
    let loader = std::thread::spawn(move || load::run(url, 600, Duration::from_secs(8)));
    // Two seconds of load before the kill, six after.
    std::thread::sleep(Duration::from_secs(2));
    let killed = SystemTime::now();
    common::signal(victim_pid, libc::SIGKILL);
    let replaced = logged_after(&lb, &format!("(replaced {victim} in"), killed);
    let samples = loader.join().unwrap();

    assert!(failures(&samples).is_empty(), "{:#?}", failures(&samples));
    // The generator stops at 8 s and never catches up in bursts: the count
    // is the rate ringlb sustained.
    let rate = samples.len() as f64 / 8.0;
    assert!(rate >= 400.0, "only {rate} req/s sustained");
    assert!(
        replaced < Duration::from_secs(3),
        "replaced after {replaced:?}"
    );
    let served_after = samples
        .iter()
        .filter(|s| s.replica.as_deref() == Some(victim.as_str()))
        .filter(|s| s.at > Duration::from_secs(2) + replaced + Duration::from_millis(200))
        .count();
    assert!(served_after > 0, "no request reached the replacement");
    assert_eq!(lb.replicas().len(), 3);
    assert_eq!(children(lb.pid()).len(), 3);
    no_request_left_in_flight(&lb);
    eprintln!(
        "kill -9 under load: replaced in {replaced:?}, {} requests, 0 failed",
        samples.len()
    );
}

#[test]
fn a_hung_replica_under_load_never_holds_a_client() {
    let lb = Ringlb::start(CONF);
    let (victim_pid, victim) = children(lb.pid()).into_iter().next().expect("a replica");
    let url = lb.url("/home");
    let loader = std::thread::spawn(move || load::run(url, 400, Duration::from_secs(6)));
    std::thread::sleep(Duration::from_secs(2));
    common::signal(victim_pid, libc::SIGSTOP);
    let samples = loader.join().unwrap();
    common::signal(victim_pid, libc::SIGCONT);
    assert!(failures(&samples).is_empty(), "{:#?}", failures(&samples));
    // A request caught by the hang waits one read timeout (1 s) and is
    // retried once on the next replica; 1 s of slack on a loaded machine.
    let worst = samples.iter().map(|s| s.latency).max().unwrap();
    assert!(
        worst < Duration::from_millis(2500),
        "a client waited {worst:?}"
    );
    wait_for("the replacement", Duration::from_secs(10), || {
        replica_view(&lb, &victim).filter(|v| v["state"] == "up" && v["restarts"] == 1)
    });
    no_request_left_in_flight(&lb);
    eprintln!("SIGSTOP under load: worst latency {worst:?}, 0 failed");
}

#[test]
fn killing_every_replica_answers_fast_and_the_fleet_rebuilds() {
    // A 3 s connect timeout: an answer that waited for one would show.
    let lb = Ringlb::start(&CONF.replace("connect_timeout_ms: 500", "connect_timeout_ms: 3000"));
    let before: BTreeMap<String, u32> = children(lb.pid())
        .into_iter()
        .map(|(p, n)| (n, p))
        .collect();
    assert_eq!(before.len(), 3);
    for pid in before.values() {
        common::signal(*pid, libc::SIGKILL);
    }
    // Every request is answered without waiting: 200 from a replacement or
    // a JSON error (503: no replica; 502: the replica died under the
    // request), never a hang.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ok = 0;
    while Instant::now() < deadline && ok < 50 {
        let started = Instant::now();
        let r = lb.http.get(lb.url("/home")).send().expect("an answer");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        match r.status().as_u16() {
            200 => ok += 1,
            502 | 503 => assert_eq!(r.json::<Value>().unwrap()["status"], "failure"),
            other => panic!("status {other}"),
        }
    }
    assert_eq!(ok, 50, "traffic did not resume");
    let after: BTreeMap<String, u32> = children(lb.pid())
        .into_iter()
        .map(|(p, n)| (n, p))
        .collect();
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert!(after.values().all(|p| !before.values().any(|q| q == p)));
}

#[test]
fn no_replica_at_all_is_a_503_and_recovery_needs_no_restart() {
    let a = Backend::start("one");
    let b = Backend::start("two");
    let (addr_a, addr_b) = (a.addr(), b.addr());
    let lb = Ringlb::start(&format!(
        "{}  replicas:\n    provisioner: static\n    initial: ['{addr_a}', '{addr_b}']\n",
        CONF.replace("connect_timeout_ms: 500", "connect_timeout_ms: 3000")
    ));
    assert_eq!(lb.home(1).0, 200);
    drop(a);
    drop(b);
    // Still in the ring, every connect refused: 503 at once (no wait for
    // the 3 s connect timeout).
    let started = Instant::now();
    let (status, body) = lb.home(1);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["message"], "<Error> no replica could be reached");
    assert!(started.elapsed() < Duration::from_secs(2));
    wait_for("both out of the ring", Duration::from_secs(5), || {
        lb.verbose()["message"]["ring"]
            .as_array()
            .filter(|r| r.is_empty())
            .map(|_| ())
    });
    // An empty ring: the README's message.
    let (status, body) = lb.home(2);
    assert_eq!(status, 503);
    assert_eq!(
        body.to_string(),
        r#"{"message":"<Error> no replica is available","status":"failure"}"#
    );
    // The replicas come back on the same addresses: traffic resumes by itself.
    let _a = Backend::restart_on("one", addr_a);
    let _b = Backend::restart_on("two", addr_b);
    wait_for("traffic to resume", Duration::from_secs(10), || {
        (lb.home(7).0 == 200).then_some(())
    });
}

#[test]
fn fresh_names_replace_dead_replicas_when_configured() {
    let lb = Ringlb::start(&format!("{CONF}    replacement_name: fresh\n"));
    let before = lb.replicas();
    let (pid, victim) = children(lb.pid()).into_iter().next().unwrap();
    common::signal(pid, libc::SIGKILL);
    let after = wait_for("a fresh replacement", Duration::from_secs(10), || {
        let now = lb.replicas();
        (!now.contains(&victim) && now.len() == 3).then_some(now)
    });
    assert_eq!(before.iter().filter(|n| after.contains(n)).count(), 2);
    let mut want = after.clone();
    want.sort();
    let ids: Vec<String> = children(lb.pid()).into_iter().map(|(_, n)| n).collect();
    assert_eq!(ids, want);
}

/// Four replicas that reset every request (heartbeats pass, so they stay in
/// the ring); `upstream` settings appended. Returns ringlb and the fakes.
fn resetting_fleet(upstream: &str) -> (Ringlb, Vec<FakeReplica>) {
    let fakes: Vec<FakeReplica> = (0..4)
        .map(|i| FakeReplica::start(&format!("r{i}"), Behaviour::Reset))
        .collect();
    let initial: Vec<String> = fakes.iter().map(|f| format!("'{}'", f.addr)).collect();
    let lb = Ringlb::start(&format!(
        "  ring:\n    vnodes: 256\n  upstream:\n    read_timeout_ms: 1000\n{upstream}  health:\n    interval_ms: 250\n  replicas:\n    provisioner: static\n    initial: [{}]\n",
        initial.join(", ")
    ));
    (lb, fakes)
}

fn attempts(fakes: &[FakeReplica]) -> Vec<usize> {
    fakes.iter().map(FakeReplica::count).collect()
}

#[test]
fn failover_is_bounded_by_connect_retries() {
    for retries in [0u32, 2] {
        let (lb, fakes) = resetting_fleet(&format!("    connect_retries: {retries}\n"));
        let r = lb
            .http
            .get(lb.url("/home"))
            .header("X-Request-Id", "123456")
            .send()
            .unwrap();
        assert_eq!(r.status(), 502, "retries {retries}");
        let body: Value = r.json().unwrap();
        assert_eq!(body["status"], "failure");
        let tried = attempts(&fakes);
        // One attempt, then one more per retry, each on a distinct replica.
        assert_eq!(
            tried.iter().sum::<usize>(),
            1 + retries as usize,
            "{tried:?}"
        );
        assert!(
            tried.iter().all(|n| *n <= 1),
            "a replica was tried twice: {tried:?}"
        );
    }
}

#[test]
fn no_replay_after_connect_when_disabled_and_never_for_a_post() {
    let (lb, fakes) = resetting_fleet("    connect_retries: 3\n    retry_after_connect: false\n");
    let r = lb.http.get(lb.url("/home")).send().unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(attempts(&fakes).iter().sum::<usize>(), 1, "GET replayed");
    drop(lb);
    drop(fakes);

    let (lb, fakes) = resetting_fleet("    connect_retries: 3\n");
    let r = lb.http.post(lb.url("/home")).body("x").send().unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(attempts(&fakes).iter().sum::<usize>(), 1, "POST replayed");
    // An idempotent request is replayed within the budget (the contrast).
    let r = lb.http.get(lb.url("/home")).send().unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(
        attempts(&fakes).iter().sum::<usize>(),
        1 + 4,
        "{:?}",
        attempts(&fakes)
    );
}

#[test]
fn rm_under_load_takes_the_replica_out_of_the_ring_before_stopping_it() {
    let lb = Ringlb::start(CONF);
    let url = lb.url("/home");
    let loader = std::thread::spawn(move || load::run(url, 400, Duration::from_secs(5)));
    std::thread::sleep(Duration::from_secs(2));
    let (s, v) = lb.change(
        reqwest::Method::DELETE,
        "/rm",
        r#"{"n": 1, "hostnames": ["replica2"]}"#,
    );
    assert_eq!(s, 200, "{v}");
    let samples = loader.join().unwrap();
    assert!(failures(&samples).is_empty(), "{:#?}", failures(&samples));
    // Had it stopped while still in the ring, requests would have been
    // refused by it and ringlb would have suspected it.
    let log = lb.log();
    assert!(!log.contains("replica2 suspect"), "{log}");
    assert!(log.contains("replica replica2 removed"), "{log}");
    let last = samples
        .iter()
        .filter(|s| s.replica.as_deref() == Some("replica2"))
        .map(|s| s.at)
        .max();
    assert!(last.is_some(), "replica2 served nothing before the /rm");
    assert_eq!(lb.replicas(), ["replica1", "replica3"]);
}
