//! A-3 end to end, shortened: every endpoint answers as the spec says, and a
//! replica killed with SIGKILL under load is replaced and serves again.

mod common;

use common::{conf, json_of, run_load, TempDir};

#[test]
fn killed_replica_is_replaced_under_load() {
    let out = TempDir::new("a3");
    let conf_dir = conf("");
    let v = json_of(&run_load(&[
        "a3",
        "--conf-dir",
        conf_dir.to_str().expect("utf-8 path"),
        "--rate",
        "400",
        "--duration",
        "3",
        "--kill-at",
        "1",
        "--out",
        out.0.to_str().expect("utf-8 path"),
        "--json",
    ]));
    for p in v["probes"].as_array().expect("probes") {
        assert_eq!(p["ok"], true, "endpoint check failed: {p}");
    }
    let ev = &v["events"];
    let killed = ev["killed_at_s"].as_f64().expect("killed");
    let listed = ev["listed_at_s"]
        .as_f64()
        .expect("replacement listed in /rep");
    let served = ev["first_served_at_s"]
        .as_f64()
        .expect("replacement served");
    assert!(
        listed >= killed && listed - killed < 2.0,
        "slow replacement: {ev}"
    );
    assert!(served >= killed, "{ev}");
    assert_ne!(ev["replacement"], ev["victim"], "fresh name expected: {ev}");
    assert_eq!(v["report"]["requests"], 1200);
    assert!(out.0.join("img/a3.png").is_file() && out.0.join("a3.md").is_file());
}
