//! The key's owner, else the next distinct replica clockwise: the ring's
//! own failover order, as the assignment describes it.

use std::net::SocketAddr;

use super::Policy;
use crate::inflight::Lease;
use crate::ring::{Member, Ring};

/// Owner first, then clockwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct Owner;

impl Policy for Owner {
    fn pick<'r>(
        &self,
        ring: &'r Ring,
        slot: u64,
        tried: &[SocketAddr],
    ) -> Option<(&'r Member, Lease)> {
        ring.clockwise(slot)
            .filter(|m| !tried.contains(&m.addr))
            .find_map(|m| m.load.lease().map(|lease| (m, lease)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::tests::{addr, ring_of};

    #[test]
    fn the_owner_unless_it_failed_then_clockwise() {
        let ring = ring_of(&["a", "b", "c", "d"]);
        for slot in (0..1_000_000u64).step_by(9_973) {
            let order: Vec<&Member> = ring.clockwise(slot).collect();
            let (first, lease) = Owner.pick(&ring, slot, &[]).unwrap();
            assert_eq!(first.name, order[0].name);
            assert_eq!(first.load.count(), 1);
            drop(lease);
            let (second, _l) = Owner.pick(&ring, slot, &[order[0].addr]).unwrap();
            assert_eq!(second.name, order[1].name);
        }
        let all: Vec<SocketAddr> = (0..4).map(addr).collect();
        assert!(Owner.pick(&ring, 7, &all).is_none());
    }

    #[test]
    fn a_leaving_replica_is_passed_over() {
        let ring = ring_of(&["a", "b", "c"]);
        let owner = ring.clockwise(42).next().unwrap();
        owner.load.retire();
        let (picked, _l) = Owner.pick(&ring, 42, &[]).unwrap();
        assert_ne!(picked.name, owner.name);
        assert_eq!(
            owner.load.count(),
            0,
            "no lease was kept on the leaving one"
        );
    }
}
