//! What the ring alone predicts, without starting anything.
//!
//! ringlb routes a request by `ring.lookup(key)`; the same library call here,
//! on a ring built from the same config and member names, says where every
//! id goes. Since that is all routing is, these counts must equal what the
//! network run observes for the same ids, exactly, and the integration
//! tests hold the two to that.
//!
//! Keys are reduced to `(slot, how many keys)` once per family: a key's
//! owner depends only on its slot, so each ring is then evaluated per
//! distinct slot (512 of them for the assignment's geometry), which makes
//! sweeping all 900,000 six-digit ids cheap.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use ringlb::config::Settings;
use ringlb::ring::{RequestKey, Ring, RingError, RingSpec};

use crate::stats::Moves;

/// A ring geometry and family, ready to build rings for any member names.
#[derive(Debug, Clone)]
pub struct RingModel {
    spec: RingSpec,
}

impl RingModel {
    pub fn new(settings: &Settings) -> Self {
        RingModel {
            spec: RingSpec {
                slots: settings.ring.slots,
                vnodes: settings.ring.vnodes,
                family: settings.ring.family.build(),
            },
        }
    }

    /// The ring ringlb builds for these replica names (addresses do not
    /// affect placement).
    pub fn ring(&self, names: &[String]) -> Result<Ring, RingError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        self.spec.build(
            names
                .iter()
                .map(|n| ringlb::ring::Member::new(n, addr))
                .collect(),
        )
    }

    /// The slot of every id, with multiplicity.
    pub fn slots_of(&self, ids: impl Iterator<Item = u64>) -> SlotWeights {
        let ring = Ring::empty(self.spec.slots, self.spec.vnodes, self.spec.family.clone());
        let mut w: HashMap<u64, u64> = HashMap::new();
        for id in ids {
            *w.entry(ring.slot_of(RequestKey::Id(id))).or_insert(0) += 1;
        }
        let mut pairs: Vec<(u64, u64)> = w.into_iter().collect();
        pairs.sort_unstable();
        SlotWeights(pairs)
    }
}

/// Distinct request slots and how many keys fall on each.
#[derive(Debug, Clone)]
pub struct SlotWeights(pub Vec<(u64, u64)>);

impl SlotWeights {
    pub fn keys(&self) -> u64 {
        self.0.iter().map(|(_, w)| w).sum()
    }

    /// Distinct slots the keys reach.
    pub fn distinct(&self) -> usize {
        self.0.len()
    }
}

/// Keys per replica on `ring`, every member listed (idle ones with 0).
pub fn counts(ring: &Ring, keys: &SlotWeights) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = ring
        .members()
        .iter()
        .map(|m| (m.name.to_string(), 0))
        .collect();
    for (slot, w) in &keys.0 {
        if let Some(m) = ring.owner_of_slot(*slot) {
            *out.entry(m.name.to_string()).or_insert(0) += w;
        }
    }
    out
}

/// The owner of each id, in order (what a network run records per request).
pub fn owners(ring: &Ring, ids: &[Option<u64>]) -> Vec<Option<String>> {
    ids.iter()
        .map(|id| {
            id.and_then(|i| ring.lookup(RequestKey::Id(i)))
                .map(|m| m.name.to_string())
        })
        .collect()
}

/// Keys that change owner from `before` to `after`; `changed` is the replica
/// added or removed.
pub fn moves(before: &Ring, after: &Ring, keys: &SlotWeights, changed: &str, ideal: f64) -> Moves {
    let mut m = Moves {
        keys: keys.keys(),
        moved: 0,
        share: 0.0,
        ideal,
        necessary: 0,
        collateral: 0,
    };
    for (slot, w) in &keys.0 {
        let (Some(a), Some(b)) = (before.owner_of_slot(*slot), after.owner_of_slot(*slot)) else {
            continue;
        };
        if a.name != b.name {
            m.moved += w;
            if &*a.name == changed || &*b.name == changed {
                m.necessary += w;
            } else {
                m.collateral += w;
            }
        }
    }
    if m.keys > 0 {
        m.share = m.moved as f64 / m.keys as f64;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{server_names, Setup, DEFAULT_POLY};
    use std::path::Path;

    fn model(name: &str) -> RingModel {
        let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf");
        let s = Setup::family(name, &conf, &DEFAULT_POLY).expect("family");
        RingModel::new(&s.settings().expect("settings"))
    }

    #[test]
    fn spec_reaches_87_slots_and_counts_agree_with_lookup() {
        let m = model("spec");
        let keys = m.slots_of(100_000..1_000_000);
        assert_eq!(keys.distinct(), 87);
        let ring = m.ring(&server_names(3)).expect("ring");
        let ids: Vec<Option<u64>> = (100_000..101_000).map(Some).collect();
        let by_lookup = owners(&ring, &ids);
        let by_slots = counts(&ring, &m.slots_of(100_000..101_000));
        for (name, n) in &by_slots {
            let seen = by_lookup
                .iter()
                .filter(|o| o.as_deref() == Some(name))
                .count();
            assert_eq!(seen as u64, *n, "{name}");
        }
    }

    #[test]
    fn adding_a_strong_replica_moves_only_to_it() {
        let m = model("strong");
        let keys = m.slots_of(100_000..200_000);
        let a = m.ring(&server_names(3)).expect("ring");
        let b = m.ring(&server_names(4)).expect("ring");
        let mv = moves(&a, &b, &keys, "Server4", 0.25);
        assert_eq!(mv.collateral, 0);
        assert!((mv.share - 0.25).abs() < 0.03, "{}", mv.share);
    }
}
