//! A-1 through a real ringlb with `conf/assignment.yaml` gives exactly the
//! per-replica counts the spec's functions give for the same ids.
//!
//! Three routes to the same numbers: ringlb over the network
//! (`ringlb-load fire` / `a1`), `ringlb-load offline` (which builds the
//! ring with the `ringlb` library, as ringlb itself does), and the spec
//! evaluated from scratch right here, sharing no code with ringlb: a
//! 512-slot array, H and Phi written out, linear probing and a clockwise
//! walk. The first two could agree while both being wrong; the third
//! cannot follow them there. Real processes on free ports, no mocks.

mod common;

use std::collections::BTreeMap;

use common::{conf, json_of, run_load, start_ringlb, TempDir};

type Counts = BTreeMap<String, u64>;

fn counts_of(v: &serde_json::Value) -> Counts {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("counts {v}: {e}"))
}

/// M: ring slots in the assignment.
const M: u64 = 512;
/// K = log2(M): virtual nodes per replica.
const K: u64 = 9;
/// The replicas and the numeric ids Phi takes (their trailing digits).
const REPLICAS: [(&str, u64); 3] = [("Server1", 1), ("Server2", 2), ("Server3", 3)];

/// H(i) = i^2 + 2i + 17 mod M: the slot of request id `i`.
fn h(i: u64) -> u64 {
    (i * i + 2 * i + 17) % M
}

/// Phi(i, j) = i^2 + j^2 + 2j + 25 mod M: the slot of virtual node `j` of
/// replica `i`.
fn phi(i: u64, j: u64) -> u64 {
    (i * i + j * j + 2 * j + 25) % M
}

/// The per-replica counts of `ids` on the spec's ring, from scratch: each
/// replica in order places its K virtual nodes at Phi, moving on to the
/// next free slot when one is taken; a request goes to the first occupied
/// slot at or clockwise after H(id).
fn spec_counts(ids: impl Iterator<Item = u64>) -> Counts {
    let mut slots: Vec<Option<&str>> = vec![None; M as usize];
    for (name, i) in REPLICAS {
        for j in 0..K {
            let mut s = phi(i, j);
            while slots[s as usize].is_some() {
                s = (s + 1) % M;
            }
            slots[s as usize] = Some(name);
        }
    }
    let mut out = Counts::new();
    for id in ids {
        let mut s = h(id);
        let owner = loop {
            if let Some(name) = slots[s as usize] {
                break name;
            }
            s = (s + 1) % M;
        };
        *out.entry(owner.to_string()).or_insert(0) += 1;
    }
    out
}

/// The hand evaluation above assumes what conf/assignment.yaml says; read
/// the file as plain YAML (not through ringlb's config code) to be sure.
fn assert_config_is_the_spec() {
    let path = conf("assignment.yaml");
    let text = std::fs::read_to_string(&path).expect("read assignment.yaml");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("assignment.yaml is YAML");
    let ring = &yaml["ringlb"]["ring"];
    assert_eq!(ring["slots"].as_u64(), Some(M), "{}", path.display());
    assert_eq!(ring["vnodes"].as_u64(), Some(K), "{}", path.display());
    assert_eq!(ring["family"].as_str(), Some("spec"), "{}", path.display());
    let initial: Vec<&str> = yaml["ringlb"]["replicas"]["initial"]
        .as_sequence()
        .expect("replicas.initial")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(initial, REPLICAS.map(|r| r.0), "{}", path.display());
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
    assert_config_is_the_spec();
    let lb = start_ringlb(&conf("assignment.yaml"), 3);
    let url = format!("http://{}/home", lb.proxy);
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
    assert_eq!(
        network,
        spec_counts(100_000..110_000),
        "network vs the spec evaluated from scratch"
    );
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
