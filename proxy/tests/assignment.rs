//! Issue: with `conf/assignment.yaml`, the ring reproduces the assignment
//! exactly. The expected distribution is computed here from scratch: a
//! 512-slot array, the spec's H and Phi written out, linear probing, and a
//! clockwise walk, with no code shared with the ring.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use ringlb::config::Settings;
use ringlb::ring::{Member, RequestKey, RingSpec};

fn naive_counts(m: u64, k: u64, replicas: &[(&str, u64)]) -> BTreeMap<String, u64> {
    let mut slots: Vec<Option<&str>> = vec![None; m as usize];
    for (name, i) in replicas {
        for j in 0..k {
            let mut s = (i * i + j * j + 2 * j + 25) % m;
            while slots[s as usize].is_some() {
                s = (s + 1) % m;
            }
            slots[s as usize] = Some(name);
        }
    }
    let mut counts = BTreeMap::new();
    for id in 100_000u64..=999_999 {
        let mut s = (id * id + 2 * id + 17) % m;
        let owner = loop {
            if let Some(n) = slots[s as usize] {
                break n;
            }
            s = (s + 1) % m;
        };
        *counts.entry(owner.to_string()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn assignment_config_matches_the_spec_functions_exactly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/assignment.yaml");
    let settings = Settings::load(&path).unwrap();
    let spec = RingSpec {
        slots: settings.ring.slots,
        vnodes: settings.ring.vnodes,
        family: settings.ring.family.build(),
    };
    let members: Vec<Member> = settings
        .replicas
        .initial
        .iter()
        .enumerate()
        .map(|(i, n)| Member::new(n, SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16))))
        .collect();
    let ring = spec.build(members).unwrap();
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for id in 100_000u64..=999_999 {
        let owner = ring.lookup(RequestKey::Id(id)).unwrap();
        *got.entry(owner.name.to_string()).or_insert(0) += 1;
    }
    let want = naive_counts(512, 9, &[("Server1", 1), ("Server2", 2), ("Server3", 3)]);
    assert_eq!(got, want);
    // The skew the assignment reports: one replica takes about 84%.
    let top = *got.values().max().unwrap() as f64 / 900_000.0;
    assert!(top > 0.8, "{got:?}");
    eprintln!("ids 100000..999999 over the assignment ring: {got:?}");
}
