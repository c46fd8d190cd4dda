//! A-1 through a real ringlb with `conf/assignment.yaml` gives exactly the
//! per-replica counts the ring computes offline for the same ids.
//!
//! Three independent routes to the same numbers: ringlb over the network
//! (`ringlb-load fire` / `a1`), `ringlb-load offline`, and the `ringlb`
//! library called right here. Real processes on free ports, no mocks.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::{conf, json_of, run_load, Ringlb, TempDir};
use ringlb::config::Settings;
use ringlb::ring::{Member, RequestKey, RingSpec};

type Counts = BTreeMap<String, u64>;

fn counts_of(v: &serde_json::Value) -> Counts {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("counts {v}: {e}"))
}

/// Counts straight from `ringlb::ring` for the config's initial replicas.
fn library_counts(ids: impl Iterator<Item = u64>) -> Counts {
    let settings = Settings::load(&conf("assignment.yaml")).expect("assignment.yaml is valid");
    let spec = RingSpec {
        slots: settings.ring.slots,
        vnodes: settings.ring.vnodes,
        family: settings.ring.family.build(),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let ring = spec
        .build(
            settings
                .replicas
                .initial
                .iter()
                .map(|n| Member::new(n, addr))
                .collect(),
        )
        .expect("ring");
    let mut out = Counts::new();
    for id in ids {
        let m = ring.lookup(RequestKey::Id(id)).expect("non-empty ring");
        *out.entry(m.name.to_string()).or_insert(0) += 1;
    }
    out
}

/// `ringlb-load offline` for the assignment config at N = 3.
fn offline_counts(selection: &[&str]) -> Counts {
    let config = conf("assignment.yaml");
    let mut args = vec![
        "offline",
        "--families",
        "",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--ns",
        "3..=3",
        "--json",
    ];
    args.extend_from_slice(selection);
    let v = json_of(&run_load(&args));
    counts_of(&v[0]["per_n"][0]["counts"])
}

#[test]
fn fire_with_an_id_range_gives_the_offline_counts() {
    let lb = Ringlb::start(&conf("assignment.yaml"), 3);
    let url = format!("http://127.0.0.1:{}/home", lb.proxy);
    let report = json_of(&run_load(&[
        "fire",
        "--url",
        &url,
        "--ids",
        "100000..110000",
        "--concurrency",
        "64",
        "--json",
    ]));
    drop(lb);

    assert_eq!(report["requests"], 10_000);
    assert_eq!(report["ok"], 10_000, "all answered: {report}");
    assert_eq!(report["errors"]["non_2xx"], serde_json::json!({}));
    assert_eq!(report["errors"]["connection"], serde_json::json!({}));
    let network = counts_of(&report["per_replica"]);
    let library = library_counts(100_000..110_000);
    assert_eq!(network, library, "network vs ringlb::ring");
    assert_eq!(
        network,
        offline_counts(&["--ids", "100000..110000"]),
        "network vs offline"
    );
    // The spec's skew, not a fluke of the comparison.
    let busiest = network.values().max().copied().unwrap_or(0);
    assert!(busiest > 7_000, "spec family should be skewed: {network:?}");
}

#[test]
fn a1_experiment_matches_offline_and_writes_its_chart() {
    let out = TempDir::new("a1");
    let config = conf("assignment.yaml");
    let conf_dir = conf("");
    let v = json_of(&run_load(&[
        "a1",
        "--conf-dir",
        conf_dir.to_str().expect("utf-8 path"),
        "--config",
        config.to_str().expect("utf-8 path"),
        "--requests",
        "10000",
        "--seed",
        "7",
        "--out",
        out.0.to_str().expect("utf-8 path"),
        "--json",
    ]));
    let step = &v["steps"][0];
    assert_eq!(
        step["members"],
        serde_json::json!(["Server1", "Server2", "Server3"])
    );
    assert_eq!(step["matches_offline"], true, "id-by-id: {step}");
    let network = counts_of(&step["counts"]);
    assert_eq!(network.values().sum::<u64>(), 10_000);
    assert_eq!(network, counts_of(&step["offline"]));
    assert_eq!(
        network,
        offline_counts(&["--requests", "10000", "--seed", "7"]),
        "a1 vs ringlb-load offline with the same seed"
    );

    let md = std::fs::read_to_string(out.0.join("a1.md")).expect("a1.md written");
    assert!(md.contains("img/a1-assignment.png"), "{md}");
    for ext in ["png", "svg"] {
        let p = out.0.join(format!("img/a1-assignment.{ext}"));
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(bytes.len() > 1000, "{} is tiny", p.display());
    }
    let svg = std::fs::read_to_string(out.0.join("img/a1-assignment.svg")).expect("svg");
    assert!(
        svg.contains("Server1") && svg.contains("requests"),
        "labels in the SVG"
    );
}
