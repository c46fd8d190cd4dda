//! Issue: self-healing. Real replicas are killed, stopped and resumed under
//! a steady load; clients must not notice.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{children, load, wait_for, Backend, Ringlb};
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

#[test]
fn kill_9_under_load_loses_no_request_and_is_replaced_fast() {
    let lb = Ringlb::start(CONF);
    let (victim_pid, victim) = children(lb.pid()).into_iter().next().expect("a replica");
    let url = lb.url("/home");
    let loader = std::thread::spawn(move || load::run(url, 600, Duration::from_secs(10)));

    std::thread::sleep(Duration::from_secs(3));
    let killed = Instant::now();
    common::signal(victim_pid, libc::SIGKILL);
    let replaced = wait_for("the replacement", Duration::from_secs(5), || {
        replica_view(&lb, &victim)
            .filter(|v| v["restarts"] == 1 && v["state"] == "up")
            .map(|_| killed.elapsed())
    });
    let samples = loader.join().unwrap();

    assert!(failures(&samples).is_empty(), "{:#?}", failures(&samples));
    let rate = samples.len() as f64 / 10.0;
    assert!(rate >= 500.0, "only {rate} req/s");
    assert!(
        replaced <= Duration::from_secs(2),
        "replaced after {replaced:?}"
    );
    // The replacement (same hostname, same ring positions) serves again.
    let after = Duration::from_secs(3) + replaced + Duration::from_millis(100);
    assert!(
        samples
            .iter()
            .any(|s| s.at > after && s.replica.as_deref() == Some(victim.as_str())),
        "no request reached the replacement"
    );
    assert_eq!(lb.replicas().len(), 3);
    assert_eq!(children(lb.pid()).len(), 3);
    eprintln!(
        "kill -9: replaced in {replaced:?}, {} requests, 0 failed",
        samples.len()
    );
}

#[test]
fn a_hung_replica_is_detected_in_time_and_never_holds_a_client() {
    let lb = Ringlb::start(CONF);
    let (victim_pid, victim) = children(lb.pid()).into_iter().next().expect("a replica");
    let url = lb.url("/home");
    let loader = std::thread::spawn(move || load::run(url, 500, Duration::from_secs(6)));

    std::thread::sleep(Duration::from_secs(2));
    let stopped = Instant::now();
    common::signal(victim_pid, libc::SIGSTOP);
    let detected = wait_for(
        "the hung replica to be noticed",
        Duration::from_secs(5),
        || {
            replica_view(&lb, &victim)
                .filter(|v| v["state"] != "up" || v["restarts"] != 0)
                .map(|_| stopped.elapsed())
        },
    );
    let samples = loader.join().unwrap();
    // Whatever happens, the old process must not linger stopped.
    common::signal(victim_pid, libc::SIGCONT);

    // interval x failures + timeout = 950 ms; 100 ms for scheduling.
    assert!(
        detected <= Duration::from_millis(1050),
        "detected after {detected:?}"
    );
    assert!(failures(&samples).is_empty(), "{:#?}", failures(&samples));
    let worst = samples.iter().map(|s| s.latency).max().unwrap();
    // read timeout (1 s) plus one retry on the next replica.
    assert!(
        worst < Duration::from_millis(1500),
        "a client waited {worst:?}"
    );
    wait_for("N back to 3", Duration::from_secs(5), || {
        replica_view(&lb, &victim).filter(|v| v["state"] == "up" && v["restarts"] == 1)
    });
    eprintln!("SIGSTOP: detected in {detected:?}, worst latency {worst:?}");
}

#[test]
fn killing_every_replica_answers_fast_and_the_fleet_rebuilds() {
    let lb = Ringlb::start(CONF);
    let before: BTreeMap<String, u32> = children(lb.pid())
        .into_iter()
        .map(|(p, n)| (n, p))
        .collect();
    assert_eq!(before.len(), 3);
    for pid in before.values() {
        common::signal(*pid, libc::SIGKILL);
    }
    // Every request is answered at once: 200 from a replacement or a JSON
    // error (503: no replica reachable; 502: the replica died under the
    // request), never a hang.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ok = 0;
    while Instant::now() < deadline && ok < 50 {
        let started = Instant::now();
        let r = lb.http.get(lb.url("/home")).send().expect("an answer");
        assert!(
            started.elapsed() < Duration::from_secs(1),
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
        "{CONF}  replicas:\n    provisioner: static\n    initial: ['{addr_a}', '{addr_b}']\n"
    ));
    assert_eq!(lb.home(1).0, 200);
    drop(a);
    drop(b);
    // Connection refused everywhere: a 503 JSON error at once.
    for id in 0..20 {
        let started = Instant::now();
        let (status, body) = lb.home(id);
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "failure");
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    wait_for("both marked down", Duration::from_secs(3), || {
        lb.verbose()["message"]["ring"]
            .as_array()
            .filter(|r| r.is_empty())
            .map(|_| ())
    });
    assert_eq!(lb.home(1).0, 503);
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
    let after = wait_for("a fresh replacement", Duration::from_secs(5), || {
        let now = lb.replicas();
        (!now.contains(&victim) && now.len() == 3).then_some(now)
    });
    assert_eq!(before.iter().filter(|n| after.contains(n)).count(), 2);
    let mut ids: Vec<String> = children(lb.pid()).into_iter().map(|(_, n)| n).collect();
    ids.sort();
    let mut want = after.clone();
    want.sort();
    assert_eq!(ids, want);
}
