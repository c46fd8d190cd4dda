//! Selection: which replica serves a request, between the ring (where a key
//! belongs) and the proxy (which connects). Modelled on Pingora's
//! `BackendSelection`: the ring is immutable and shared; a policy looks at
//! it, at the replicas' requests in flight and at what this request already
//! tried, and picks one replica, leasing it (the lease counts the request
//! in flight until it is dropped, on every way a request ends).
//!
//! Policies, one per file: [`Owner`] (the key's owner, else the next
//! distinct replica clockwise: failover) and [`Bounded`] (consistent
//! hashing with bounded loads: the same walk, skipping replicas that hold
//! more than their share of the requests in flight).

mod bounded;
mod owner;

use std::fmt::Debug;
use std::net::SocketAddr;

pub use bounded::{Bounded, Walk};
pub use owner::Owner;

use crate::inflight::Lease;
use crate::ring::{Member, Ring};

/// Picks a replica for a request.
pub trait Policy: Send + Sync + Debug {
    /// The replica for the request at `slot`, leased, never one of `tried`
    /// (replicas that already failed this request) nor one that is leaving
    /// (it gives no lease). `None`: no replica can take it.
    fn pick<'r>(
        &self,
        ring: &'r Ring,
        slot: u64,
        tried: &[SocketAddr],
    ) -> Option<(&'r Member, Lease)>;
}

/// The policy that config asks for: bounded loads with factor `c` and the
/// given walk, or the plain owner-then-clockwise choice.
pub fn policy(bounded_load: Option<f64>, walk: Walk) -> Box<dyn Policy> {
    match bounded_load {
        Some(c) => Box::new(Bounded::with_walk(c, walk)),
        None => Box::new(Owner),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use crate::ring::{Member, Ring, Strong};

    pub fn addr(i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 10_000 + i as u16))
    }

    /// A ring of `names` at 127.0.0.1:10000.. in order, M = 2^20, K = 64.
    pub fn ring_of(names: &[&str]) -> Ring {
        let members = names
            .iter()
            .enumerate()
            .map(|(i, n)| Member::new(n, addr(i)))
            .collect();
        Ring::build(1 << 20, 64, Arc::new(Strong), members).unwrap()
    }
}
