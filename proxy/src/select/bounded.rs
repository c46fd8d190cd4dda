//! Consistent hashing with bounded loads (Mirrokni, Thorup and
//! Zadimoghaddam, 2018; HAProxy's `hash-balance-factor`, Envoy's
//! `hash_balance_factor`): a replica may hold at most
//! `ceil(c x (in flight + 1) / N)` requests, counting the new one; a request
//! whose owner is full goes to the replica with the fewest in flight (or,
//! as configured, the next clockwise, or a hashed jump) that is not full.
//!
//! The counts are the replicas' [`crate::inflight::InFlight`] counters,
//! shared with the fleet and outside the immutable ring; a lease taken here
//! is released however the request ends. Summing N counters per request is
//! cheap next to a request (N atomic loads), and it needs no global counter
//! that every request would contend on.
//!
//! The capacity is a target, not a lock: two requests may read the same
//! counts at once and both pick a replica with one place left. The bound
//! holds to within the number of requests being picked at that instant.

use std::net::SocketAddr;

use super::Policy;
use crate::inflight::Lease;
use crate::ring::{Member, Ring};

/// Owner-then-clockwise (or owner-then-jump), skipping replicas at
/// capacity.
#[derive(Debug, Clone, Copy)]
pub struct Bounded {
    factor: f64,
    walk: Walk,
}

/// Where a request goes when its owner is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Walk {
    /// The next replica clockwise that is not full (the paper's rule, and
    /// HAProxy's).
    Clockwise,
    /// A replica picked by hashing the key with the attempt number, so a
    /// hot key's overflow spreads over every replica instead of piling
    /// onto the owner's neighbour (Chen et al., 2019, "random jump"). The
    /// same key jumps to the same places, so it keeps some cache affinity.
    Jump,
    /// The replica with the fewest requests in flight (ties: the first
    /// clockwise). The overflow lands where there is most room, so it
    /// pushes fewer of that replica's own keys away in turn; a hot key's
    /// overflow follows the load rather than staying on one neighbour.
    /// The default: under Zipf keys it kept the most requests at their
    /// key's owner (`docs/analysis.md`).
    #[default]
    Least,
}

/// Jumps tried before falling back to the clockwise walk.
const JUMPS: u64 = 8;

impl Bounded {
    /// `factor` is `c >= 1` (config checks it): 1 spreads load perfectly
    /// evenly and moves the most keys; larger keeps more keys on their
    /// owner.
    pub fn new(factor: f64) -> Bounded {
        Bounded::with_walk(factor, Walk::default())
    }

    pub fn with_walk(factor: f64, walk: Walk) -> Bounded {
        Bounded {
            factor: factor.max(1.0),
            walk,
        }
    }

    /// Requests each replica may hold, counting one more.
    pub fn capacity(&self, in_flight: usize, replicas: usize) -> usize {
        let share = self.factor * (in_flight as f64 + 1.0) / replicas.max(1) as f64;
        share.ceil() as usize
    }
}

impl Policy for Bounded {
    fn pick<'r>(
        &self,
        ring: &'r Ring,
        slot: u64,
        tried: &[SocketAddr],
    ) -> Option<(&'r Member, Lease)> {
        let members = ring.members();
        let in_flight: usize = members.iter().map(|m| m.load.count()).sum();
        let capacity = self.capacity(in_flight, members.len());
        let untried = |m: &&Member| !tried.contains(&m.addr);
        let has_room = |m: &Member| m.load.count() < capacity;
        // Every walk starts at the owner.
        let mut order = ring.clockwise(slot).filter(untried);
        if let Some(owner) = order.next().filter(|m| has_room(m)) {
            if let Some(lease) = owner.load.lease() {
                return Some((owner, lease));
            }
        }
        let overflow = match self.walk {
            // The walk below.
            Walk::Clockwise => None,
            Walk::Jump => (1..=JUMPS).find_map(|attempt| {
                let jumped = xxhash_rust::xxh3::xxh3_64_with_seed(&slot.to_le_bytes(), attempt);
                let m = ring
                    .owner_of_slot(jumped % ring.slots())
                    .filter(|m| has_room(m) && untried(m))?;
                m.load.lease().map(|lease| (m, lease))
            }),
            // min_by_key keeps the first of equals: the first clockwise.
            Walk::Least => order
                .filter(|m| has_room(m) && !m.load.is_retired())
                .min_by_key(|m| m.load.count())
                .and_then(|m| m.load.lease().map(|lease| (m, lease))),
        };
        if overflow.is_some() {
            return overflow;
        }
        let mut fallback = None;
        for m in ring.clockwise(slot).filter(untried) {
            if has_room(m) {
                if let Some(lease) = m.load.lease() {
                    return Some((m, lease));
                }
            } else if fallback.is_none() && !m.load.is_retired() {
                fallback = Some(m);
            }
        }
        // Every untried replica is at capacity (the others failed this
        // request, or the counts moved under us): the first of them.
        fallback.and_then(|m| m.load.lease().map(|lease| (m, lease)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::tests::ring_of;
    use crate::select::Owner;

    #[test]
    fn capacity_is_the_ceiling_of_c_times_the_mean() {
        let b = Bounded::new(1.25);
        assert_eq!(b.capacity(0, 4), 1);
        assert_eq!(b.capacity(3, 4), 2); // 1.25 x 4 / 4
        assert_eq!(b.capacity(99, 4), 32); // 1.25 x 100 / 4 = 31.25
        assert_eq!(Bounded::new(1.0).capacity(7, 4), 2);
        assert_eq!(Bounded::new(0.5).capacity(7, 4), 2, "c is at least 1");
    }

    #[test]
    fn one_hot_key_spreads_to_its_neighbours_within_the_bound() {
        let ring = ring_of(&["a", "b", "c", "d"]);
        let b = Bounded::with_walk(1.25, Walk::Clockwise);
        let mut held = Vec::new();
        for _ in 0..100 {
            held.push(b.pick(&ring, 12_345, &[]).unwrap().1);
        }
        let counts: Vec<usize> = ring.members().iter().map(|m| m.load.count()).collect();
        let busiest = *counts.iter().max().unwrap();
        // ceil(1.25 x 100 / 4) = 32, and every replica got some.
        assert!(busiest <= 32, "{counts:?}");
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        let owner = ring.clockwise(12_345).next().unwrap();
        assert_eq!(owner.load.count(), busiest, "the owner is filled first");
        // Every lease goes back.
        drop(held);
        assert!(ring.members().iter().all(|m| m.load.count() == 0));
    }

    #[test]
    fn jumps_spread_a_hot_keys_overflow_beyond_the_neighbour() {
        let names: Vec<String> = (0..8).map(|i| format!("r{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let ring = ring_of(&refs);
        let b = Bounded::with_walk(1.0, Walk::Jump);
        let held: Vec<Lease> = (0..80)
            .map(|_| b.pick(&ring, 777, &[]).unwrap().1)
            .collect();
        let counts: Vec<usize> = ring.members().iter().map(|m| m.load.count()).collect();
        // ceil(1.0 x 80 / 8) = 10 at most each, and all eight used.
        assert!(counts.iter().all(|&c| c > 0 && c <= 10), "{counts:?}");
        drop(held);
        assert!(ring.members().iter().all(|m| m.load.count() == 0));
        // Light load: the owner, as without a bound.
        let (m, _l) = b.pick(&ring, 777, &[]).unwrap();
        assert_eq!(m.name, ring.clockwise(777).next().unwrap().name);
    }

    #[test]
    fn least_sends_the_overflow_to_the_emptiest_replica() {
        let ring = ring_of(&["a", "b", "c", "d"]);
        let order: Vec<&Member> = ring.clockwise(99).collect();
        let b = Bounded::with_walk(1.0, Walk::Least);
        // The owner's neighbour already holds two requests, the third
        // replica one, the last none.
        let _n: Vec<Lease> = (0..2).map(|_| order[1].load.lease().unwrap()).collect();
        let _t = order[2].load.lease().unwrap();
        // The owner takes requests while it has room: ceil(1.0 x (in
        // flight + 1) / 4).
        let mut held = Vec::new();
        let (m, l) = b.pick(&ring, 99, &[]).unwrap();
        assert_eq!(m.name, order[0].name);
        held.push(l);
        // 4 in flight: capacity 2, the owner holds 1, so it still has room.
        let (m, l) = b.pick(&ring, 99, &[]).unwrap();
        assert_eq!(m.name, order[0].name);
        held.push(l);
        // 5 in flight: capacity 2, owner and neighbour full: the emptiest
        // is the last clockwise, not the next.
        let (m, l) = b.pick(&ring, 99, &[]).unwrap();
        assert_eq!(m.name, order[3].name, "the emptiest, past the neighbour");
        held.push(l);
        drop(held);
        assert_eq!(order[0].load.count(), 0);
        assert_eq!(order[3].load.count(), 0);
    }

    #[test]
    fn under_light_load_it_is_the_plain_ring() {
        let ring = ring_of(&["a", "b", "c"]);
        let b = Bounded::new(1.25);
        for slot in (0..1_000_000u64).step_by(7_919) {
            let (m, _l) = b.pick(&ring, slot, &[]).unwrap();
            let (o, _k) = Owner.pick(&ring, slot, &[]).unwrap();
            assert_eq!(m.name, o.name);
        }
    }

    #[test]
    fn failed_and_leaving_replicas_are_skipped_even_when_all_are_full() {
        let ring = ring_of(&["a", "b"]);
        let b = Bounded::new(1.0);
        let order: Vec<&Member> = ring.clockwise(5).collect();
        // Fill both to capacity.
        let _held: Vec<Lease> = (0..4).map(|_| b.pick(&ring, 5, &[]).unwrap().1).collect();
        let (m, _l) = b.pick(&ring, 5, &[order[0].addr]).unwrap();
        assert_eq!(m.name, order[1].name, "the one not tried, full or not");
        order[1].load.retire();
        assert!(b.pick(&ring, 5, &[order[0].addr]).is_none());
    }
}
