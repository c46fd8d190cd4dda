//! A-3 end to end, shortened: every endpoint answers as the spec says, and a
//! replica killed with SIGKILL under a steady load is replaced and serves
//! again without a single client request failing.
//!
//! Every number checked here is measured by `ringlb-load a3` (its JSON
//! report), and every check could fail: a request that failed, a load that
//! stalled, a replacement that came late or took no traffic.

mod common;

use common::{conf, json_of, run_load, TempDir};

/// Steady load (requests/s), its length and the kill time (s).
const RATE: f64 = 400.0;
const DURATION: f64 = 4.0;
const KILL_AT: f64 = 1.0;
/// ringlb sees its child process exit and starts a replacement within tens
/// of milliseconds (missed heartbeats, 3 x 250 ms, are only the fallback
/// for a replica that hangs); 2 s allows for a loaded machine.
const REPLACED_WITHIN: f64 = 2.0;

#[test]
fn killed_replica_is_replaced_under_load() {
    let out = TempDir::new("a3");
    let conf_dir = conf("");
    let (rate, duration, kill_at) = (RATE.to_string(), DURATION.to_string(), KILL_AT.to_string());
    let v = json_of(&run_load(&[
        "a3",
        "--conf-dir",
        conf_dir.to_str().expect("utf-8 path"),
        "--rate",
        &rate,
        "--duration",
        &duration,
        "--kill-at",
        &kill_at,
        "--out",
        out.0.to_str().expect("utf-8 path"),
        "--json",
    ]));
    for p in v["probes"].as_array().expect("probes") {
        assert_eq!(p["ok"], true, "endpoint check failed: {p}");
    }

    // Not one request failed: none answered non-2xx, none lost, and every
    // 2xx named the replica that served it.
    let r = &v["report"];
    let errors = &r["errors"];
    let num = |v: &serde_json::Value, what: &str| {
        v.as_f64()
            .unwrap_or_else(|| panic!("{what} missing from the a3 report: {r}"))
    };
    assert_eq!(
        num(&r["failed"], "failed"),
        0.0,
        "requests failed: {errors}"
    );
    assert_eq!(
        r["ok"], r["requests"],
        "not every request got a 2xx: {errors}"
    );
    assert_eq!(num(&r["unidentified"], "unidentified"), 0.0, "{r}");

    // The load ran at the asked rate: the 2xx answers per second of the
    // measured wall time are close to it. A stall during the failover (a
    // request waiting out a timeout) stretches the run and fails this.
    let ok = num(&r["ok"], "ok");
    let elapsed = num(&r["elapsed_s"], "elapsed_s");
    assert!(
        ok / elapsed >= 0.9 * RATE,
        "served {ok} in {elapsed:.2} s = {:.0}/s, asked for {RATE}/s",
        ok / elapsed
    );

    // The kill came when asked; the replacement (a fresh name and process)
    // was listed in /rep soon after, and took its share of the traffic
    // right after being listed.
    let ev = &v["events"];
    let killed = num(&ev["killed_at_s"], "killed_at_s");
    assert!(
        killed - KILL_AT < 0.5,
        "kill at {killed:.3} s, asked for {KILL_AT} s: {ev}"
    );
    let replacement = ev["replacement"]
        .as_str()
        .unwrap_or_else(|| panic!("no replacement process appeared: {ev}"));
    assert_ne!(ev["replacement"], ev["victim"], "fresh name expected: {ev}");
    assert_ne!(ev["replacement_pid"], ev["victim_pid"], "{ev}");
    let listed = num(&ev["listed_at_s"], "listed_at_s (replacement in /rep)");
    assert!(
        listed - killed < REPLACED_WITHIN,
        "replacement listed {:.0} ms after the kill: {ev}",
        1000.0 * (listed - killed)
    );
    // /rep is polled every few ms, so a request can be served just before
    // the poll sees the listing: 50 ms of slack on that side.
    let served = num(&ev["first_served_at_s"], "first_served_at_s");
    assert!(
        served > listed - 0.05 && served - listed < 0.5,
        "replacement first served {:.0} ms after it was listed: {ev}",
        1000.0 * (served - listed)
    );
    // Three replicas share the keys about evenly ("strong" family): after
    // it was listed the replacement should get about a third of the load.
    let share = RATE * (DURATION - listed) / 3.0;
    let got = num(&r["per_replica"][replacement], "replacement's count");
    assert!(
        got >= 0.5 * share,
        "{replacement} served {got}, about {share:.0} expected: {}",
        r["per_replica"]
    );

    assert!(out.0.join("img/a3.png").is_file() && out.0.join("a3.md").is_file());
}
