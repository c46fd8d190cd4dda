//! Property and example tests for the ring.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;

const BIG: u64 = 1 << 63;

fn members(names: &[String]) -> Vec<Member> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| Member::new(n, SocketAddr::from(([127, 0, 0, 1], 10_000 + i as u16))))
        .collect()
}

fn strong(slots: u64, vnodes: u32, names: &[String]) -> Ring {
    Ring::build(slots, vnodes, Arc::new(Strong), members(names)).unwrap()
}

fn owner(ring: &Ring, slot: u64) -> String {
    ring.owner_of_slot(slot).unwrap().name.to_string()
}

/// Slots to probe: every slot of a small ring, or pseudo-random slots plus
/// every occupied slot and its neighbours for a large one.
fn probe_slots(a: &Ring, b: &Ring, seed: u64) -> Vec<u64> {
    let m = a.slots();
    if m <= 4096 {
        return (0..m).collect();
    }
    let mut out: Vec<u64> = Vec::new();
    for r in [a, b] {
        for (s, _) in r.placements() {
            out.extend([s, s.wrapping_sub(1) % m, (s + 1) % m]);
        }
    }
    let mut x = seed | 1;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(x % m);
    }
    out
}

fn name_set() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set("[A-Za-z][A-Za-z0-9_.-]{0,12}", 1..8)
        .prop_map(|s| s.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn same_set_same_ring_in_any_order(names in name_set(), seed in any::<u64>(), small in any::<bool>()) {
        let (m, k) = if small { (512, 9) } else { (BIG, 32) };
        prop_assume!(names.len() as u64 * u64::from(k) <= m);
        let mut shuffled = names.clone();
        // deterministic shuffle from the seed
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        for family in [FamilyKind::Strong, FamilyKind::Spec] {
            let a = Ring::build(m, k, family.build(), members(&names)).unwrap();
            let b = Ring::build(m, k, family.build(), members(&shuffled)).unwrap();
            let pa: Vec<_> = a.placements().collect();
            let pb: Vec<_> = b.placements().collect();
            prop_assert_eq!(pa, pb);
        }
    }

    #[test]
    fn adding_moves_only_keys_to_the_new_replica(names in name_set(), extra in "[a-z]{1,10}[0-9]{0,3}", seed in any::<u64>()) {
        prop_assume!(!names.contains(&extra));
        let before = strong(BIG, 64, &names);
        let mut grown = names.clone();
        grown.push(extra.clone());
        let after = strong(BIG, 64, &grown);
        for s in probe_slots(&before, &after, seed) {
            let (o1, o2) = (owner(&before, s), owner(&after, s));
            prop_assert!(o1 == o2 || o2 == extra, "slot {} moved {} -> {}", s, o1, o2);
        }
    }

    #[test]
    fn removing_moves_only_the_removed_replicas_keys(names in name_set(), pick in any::<prop::sample::Index>(), seed in any::<u64>()) {
        prop_assume!(names.len() >= 2);
        let gone = pick.get(&names).clone();
        let before = strong(BIG, 64, &names);
        let rest: Vec<String> = names.iter().filter(|n| **n != gone).cloned().collect();
        let after = strong(BIG, 64, &rest);
        for s in probe_slots(&before, &after, seed) {
            let (o1, o2) = (owner(&before, s), owner(&after, s));
            prop_assert!(o1 == o2 || o1 == gone, "slot {} moved {} -> {}", s, o1, o2);
        }
    }

    #[test]
    fn lookup_matches_a_linear_scan(names in name_set(), slots in prop_oneof![Just(512u64), Just(70_000u64), Just(BIG)], probes in proptest::collection::vec(any::<u64>(), 200)) {
        let k = 7;
        prop_assume!(names.len() as u64 * k as u64 <= slots);
        let ring = strong(slots, k, &names);
        let pts: Vec<(u64, String)> = ring.placements().map(|(s, n)| (s, n.to_string())).collect();
        prop_assert_eq!(pts.len(), names.len() * k as usize);
        for p in probes {
            let s = p % slots;
            let want = pts.iter().find(|(ps, _)| *ps >= s).unwrap_or(&pts[0]).1.clone();
            prop_assert_eq!(owner(&ring, s), want);
        }
    }

    #[test]
    fn clockwise_visits_every_member_once_owner_first(names in name_set(), slot in any::<u64>()) {
        let ring = strong(BIG, 16, &names);
        let order: Vec<String> = ring.clockwise(slot).map(|m| m.name.to_string()).collect();
        prop_assert_eq!(order.len(), names.len());
        prop_assert_eq!(&order[0], &owner(&ring, slot % BIG));
        let mut sorted = order.clone();
        sorted.sort();
        let mut want = names.clone();
        want.sort();
        prop_assert_eq!(sorted, want);
    }

    #[test]
    fn linear_probing_fills_exactly_when_full(n in 1usize..8) {
        // M = N x K: every slot ends up occupied, the build terminates.
        let names: Vec<String> = (0..n).map(|i| format!("Server{i}")).collect();
        let ring = Ring::build(n as u64 * 9, 9, Spec::new().into_arc(), members(&names)).unwrap();
        prop_assert_eq!(ring.placements().count(), n * 9);
    }
}

impl Spec {
    fn into_arc(self) -> Arc<dyn HashFamily> {
        Arc::new(self)
    }
}

#[test]
fn capacity_is_a_clear_error() {
    let names: Vec<String> = (0..57).map(|i| format!("S{i}")).collect();
    let err = Ring::build(512, 9, Arc::new(Spec::new()), members(&names)).unwrap_err();
    assert_eq!(
        err,
        RingError::Capacity {
            replicas: 57,
            vnodes: 9,
            slots: 512
        }
    );
    assert!(err
        .to_string()
        .contains("57 replicas x 9 virtual nodes > 512 slots"));
    assert!(Ring::build(512, 9, Arc::new(Spec::new()), members(&names[..56])).is_ok());
}

#[test]
fn bad_geometry_and_duplicates_are_errors() {
    let names = vec!["a".to_string(), "a".to_string()];
    assert!(matches!(
        Ring::build(512, 9, Arc::new(Strong), members(&names)),
        Err(RingError::Duplicate(_))
    ));
    assert!(Ring::build(0, 9, Arc::new(Strong), vec![]).is_err());
    assert!(Ring::build(512, 0, Arc::new(Strong), vec![]).is_err());
}

#[test]
fn empty_ring_has_no_owner() {
    let ring = Ring::empty(512, 9, Arc::new(Strong));
    assert!(ring.owner_of_slot(3).is_none());
    assert_eq!(ring.clockwise(3).count(), 0);
    assert!(ring.member("a").is_none());
}

#[test]
fn members_are_found_by_name() {
    let names: Vec<String> = ["s10", "b", "a", "S2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let ring = strong(BIG, 16, &names);
    for n in &names {
        assert_eq!(&*ring.member(n).expect("found").name, n.as_str());
    }
    assert!(ring.member("c").is_none());
    assert!(ring.member("").is_none());
}

/// Busiest replica over the mean for 10,000 seeded random 6-digit ids.
fn busiest_over_mean(ring: &Ring, seed: u64) -> f64 {
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut x = seed | 1;
    let n = 10_000;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = 100_000 + x % 900_000;
        *counts
            .entry(ring.lookup(RequestKey::Id(id)).unwrap().name.to_string())
            .or_default() += 1;
    }
    let max = *counts.values().max().unwrap() as f64;
    max / (n as f64 / ring.members().len() as f64)
}

/// The shipped default (conf/ringlb.yaml) keeps the busiest replica within
/// 10% of the mean for N = 2..6 under 10,000 random 6-digit ids, for several
/// naming schemes and id seeds.
#[test]
fn default_config_is_balanced_for_two_to_six_replicas() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/ringlb.yaml");
    let settings = crate::config::Settings::load(&path).unwrap();
    let mut worst = (0.0f64, String::new());
    for prefix in ["replica", "Server", "S", "node-"] {
        for n in 2..=6 {
            let names: Vec<String> = (1..=n).map(|i| format!("{prefix}{i}")).collect();
            let ring = Ring::build(
                settings.ring.slots,
                settings.ring.vnodes,
                settings.ring.family.build(),
                members(&names),
            )
            .unwrap();
            for seed in 1..4u64 {
                let r = busiest_over_mean(&ring, seed * 7919);
                if r > worst.0 {
                    worst = (r, format!("{prefix}1..{prefix}{n}, seed {seed}"));
                }
            }
        }
    }
    assert!(
        worst.0 <= 1.10,
        "busiest/mean {:.3} for {}",
        worst.0,
        worst.1
    );
}

#[test]
fn clockwise_yields_each_member_once_beyond_64_members() {
    // The seen-set was one word: past 64 members a walk repeated members,
    // once per virtual node.
    let names: Vec<String> = (0..150).map(|i| format!("r{i}")).collect();
    let ring = strong(BIG, 8, &names);
    for slot in [0u64, 1 << 40, u64::MAX / 3] {
        let order: Vec<String> = ring.clockwise(slot).map(|m| m.name.to_string()).collect();
        assert_eq!(order.len(), 150);
        let mut sorted = order.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 150);
    }
}
