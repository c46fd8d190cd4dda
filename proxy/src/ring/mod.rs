//! The consistent-hash ring: `M` slots, `K` virtual nodes per replica, linear
//! probing on collision, and a request going to the first occupied slot
//! clockwise from its own.
//!
//! A [`Ring`] is immutable: the fleet builds a new one on every membership
//! change and swaps it in atomically, and the proxy reads the current one per
//! request without taking a lock. How keys and virtual nodes map to slots is
//! a [`HashFamily`], chosen once from config.

mod family;
mod maglev;
mod polynomial;
mod spec;
mod strong;
mod table;

use std::sync::Arc;

pub use family::{replica_number, HashFamily, RequestKey};
pub use maglev::{is_prime, Maglev, DEFAULT_TABLE as MAGLEV_TABLE};
pub use polynomial::Polynomial;
pub use spec::Spec;
pub use strong::Strong;
pub use table::{Member, Ring, RingError};

/// The hash families that config can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyKind {
    /// XXH3-64 (the default).
    Strong,
    /// The assignment's `H` and `Phi`.
    Spec,
    /// User-given coefficients for `H` and `Phi`.
    Polynomial(Polynomial),
    /// Maglev's lookup table (`slots` prime).
    Maglev,
}

impl FamilyKind {
    /// Instantiates the family.
    pub fn build(&self) -> Arc<dyn HashFamily> {
        match self {
            FamilyKind::Strong => Arc::new(Strong),
            FamilyKind::Spec => Arc::new(Spec::new()),
            FamilyKind::Polynomial(p) => Arc::new(p.clone()),
            FamilyKind::Maglev => Arc::new(Maglev),
        }
    }
}

/// Ring geometry and family: everything needed to build a ring from members.
#[derive(Debug, Clone)]
pub struct RingSpec {
    /// `M`, the number of slots.
    pub slots: u64,
    /// `K`, virtual nodes per replica.
    pub vnodes: u32,
    /// How keys and virtual nodes are placed.
    pub family: Arc<dyn HashFamily>,
}

impl RingSpec {
    /// Builds the ring for `members` (in any order).
    pub fn build(&self, members: Vec<Member>) -> Result<Ring, RingError> {
        Ring::build(self.slots, self.vnodes, self.family.clone(), members)
    }

    /// The largest replica count this geometry can hold (`M / K`).
    pub fn capacity(&self) -> u64 {
        self.slots / u64::from(self.vnodes.max(1))
    }
}

#[cfg(test)]
mod tests;
