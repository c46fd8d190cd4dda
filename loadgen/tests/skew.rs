//! `ringlb-load zipf` end to end, small: ringlb starts its own replicas
//! (named `Server1..` through the lab's launcher script), an open-loop
//! Zipf load runs through every ringlb variant (and HAProxy's, where one is
//! installed), and the figures show the bound at work. Real processes on
//! free ports; everything is stopped by the command itself.

mod common;

use common::{json_of, run_load, TempDir};

fn row<'a>(rows: &'a [serde_json::Value], balancer: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["balancer"] == balancer)
        .unwrap_or_else(|| panic!("no row {balancer:?} in {rows:?}"))
}

#[test]
fn zipf_runs_every_ringlb_variant_and_the_bound_shows() {
    let dir = TempDir::new("zipf");
    let out = run_load(&[
        "zipf",
        "--json",
        "--out",
        dir.0.to_str().expect("utf-8 temp dir"),
        "-n",
        "1500",
        "--replicas",
        "3",
    ]);
    let v = json_of(&out);
    let rows = v.as_array().expect("an array of rows");
    for label in [
        "ringlb plain",
        "ringlb bounded c=1.25",
        "ringlb bounded c=1.5",
        "ringlb bounded c=1.25 clockwise",
        "ringlb bounded c=1.5 clockwise",
        "ringlb bounded c=1.25 jump",
        "ringlb bounded c=1.5 jump",
        "ringlb maglev",
    ] {
        let r = row(rows, label);
        assert_eq!(r["requests"], 1500, "{r}");
        assert_eq!(r["failed"], 0, "{r}");
    }
    let plain = row(rows, "ringlb plain");
    let bounded = row(rows, "ringlb bounded c=1.25");
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k} in {r}"));
    // The hot keys pile onto their owner without a bound...
    assert!(f(plain, "served_busiest_over_mean") > 1.1, "{plain}");
    // ...and not with one (ceil(1.25 x (in flight + 1) / 3) leaves some
    // slack at a few dozen requests in flight).
    assert!(f(bounded, "in_flight_busiest_over_mean") < 1.5, "{bounded}");
    let share = f(bounded, "owner_share");
    assert!((0.5..1.0).contains(&share), "{bounded}");
    let md = std::fs::read_to_string(dir.0.join("zipf.md")).expect("zipf.md");
    assert!(md.contains("open loop"), "{md}");
    let _ = std::fs::remove_dir_all(&dir.0);
}
