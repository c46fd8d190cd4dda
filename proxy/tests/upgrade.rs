//! Zero-downtime upgrade with local replica processes, Pingora's standard
//! procedure as an operator runs it: `ringlb -c <conf> -u` beside the
//! running process, then SIGQUIT to the old one, under steady load.
//!
//! The new process gets a changed config (the access log on) and must
//! serve the *live* replica set (which an `/add` made differ from the
//! config) with replicas of its own under the same names before the old
//! process lets go; no request may fail and every key keeps its replica.
//! The old process exits by itself and leaves no replica behind.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{children, is_alive, load, scrape, wait_for, Ringlb};

const NAMES: [&str; 4] = ["Server1", "Server2", "Server3", "Server4"];

fn section(extra: &str) -> String {
    format!(
        "  health:\n    interval_ms: 100\n  replicas:\n    initial: [\"Server1\", \"Server2\", \"Server3\"]\n{extra}"
    )
}

fn served(lb: &Ringlb) -> f64 {
    scrape::samples(&lb.metrics(), "ringlb_requests_total")
        .iter()
        .map(|s| s.value)
        .sum()
}

#[test]
fn upgrade_under_load_loses_no_request_and_keeps_every_key_on_its_replica() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pingora = format!("upgrade_sock: {}/upgrade.sock", dir.path().display());
    let mut old = Ringlb::start_with(&section(""), &pingora);
    // The live set differs from the config: the handover must carry it.
    let (status, body) = old.change(
        reqwest::Method::POST,
        "/add",
        r#"{"n": 1, "hostnames": ["Server4"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let ids: Vec<u64> = (200_000..200_300).collect();
    let before: BTreeMap<u64, String> = ids.iter().map(|&id| (id, old.owner(id))).collect();
    let old_pid = old.pid();
    let old_replicas = children(old_pid);

    let url = old.url("/home");
    let load = std::thread::spawn(move || load::run(url, 400, Duration::from_secs(12)));
    // Under load before the upgrade starts.
    wait_for("load to reach ringlb", Duration::from_secs(10), || {
        (served(&old) >= 300.0).then_some(())
    });

    let mut new = old.upgrade_to(
        &section("  access_log:\n    enabled: true\n    path: stdout\n"),
        &pingora,
    );
    // The new process has its own replicas under the same names while the
    // old one still runs (it keeps accepting for Pingora's 5 s close
    // timeout).
    let new_replicas: Vec<String> = children(new.pid()).into_iter().map(|c| c.1).collect();
    assert_eq!(new_replicas, NAMES, "{}", new.log());
    assert!(
        is_alive(old_pid) && old.inner.exit_status().is_none(),
        "the old process let go before the new one's replicas were up"
    );

    let stopped = old.inner.wait_exit(Duration::from_secs(30));
    assert!(stopped.by_itself, "the old process did not exit by itself");
    assert!(
        stopped.status.is_some_and(|s| s.success()),
        "{stopped:?}\n{}",
        old.log()
    );
    assert!(
        old.log()
            .contains("upgrade: handing 4 replica(s) to the new process"),
        "{}",
        old.log()
    );
    for (pid, name) in &old_replicas {
        wait_for(
            &format!("the old process's replica {name} to stop"),
            Duration::from_secs(10),
            || (!is_alive(*pid)).then_some(()),
        );
    }

    let samples = load.join().expect("load thread");
    let failed: Vec<_> = samples.iter().filter(|s| s.status != 200).collect();
    eprintln!(
        "{} requests during the upgrade, {} failed; the old process exited {:?} after SIGQUIT's follow-up",
        samples.len(),
        failed.len(),
        stopped.after
    );
    assert!(
        samples.len() > 2_000,
        "only {} requests were sent",
        samples.len()
    );
    assert!(
        failed.is_empty(),
        "failed requests: {:?}",
        &failed[..failed.len().min(5)]
    );

    // The new process serves the same set and the same ring, with its new
    // config (the access log) in force.
    assert_eq!(new.replicas(), NAMES);
    assert!(served(&new) > 0.0, "the new process served nothing");
    for (id, owner) in &before {
        assert_eq!(&new.owner(*id), owner, "id {id} moved");
    }
    assert!(
        new.log().contains("method=GET path=/home status=200"),
        "the new config's access log is not on:\n{}",
        new.log()
    );
    new.stop(libc::SIGTERM);
}
