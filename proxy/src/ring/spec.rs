//! The `spec` family: the assignment's own hash functions, kept so its
//! numbers can be reproduced.
//!
//! `H(i) = i^2 + 2i + 17` and `Phi(i, j) = i^2 + j^2 + 2j + 25`, mod `M`.
//! They are badly skewed (over all 6-digit ids `H` reaches 87 of 512 slots),
//! which is why they are not the default.

use super::family::{HashFamily, RequestKey};
use super::polynomial::Polynomial;

/// The assignment's `H` and `Phi`.
#[derive(Debug, Clone)]
pub struct Spec(Polynomial);

impl Spec {
    pub const REQUEST: [i64; 3] = [1, 2, 17];
    pub const VNODE: [i64; 5] = [1, 0, 1, 2, 25];

    pub fn new() -> Self {
        Spec(Polynomial {
            request: Self::REQUEST,
            vnode: Self::VNODE,
        })
    }
}

impl Default for Spec {
    fn default() -> Self {
        Self::new()
    }
}

impl HashFamily for Spec {
    fn name(&self) -> &'static str {
        "spec"
    }

    fn request_slot(&self, key: RequestKey<'_>, slots: u64) -> u64 {
        self.0.request_slot(key, slots)
    }

    fn vnode_slot(&self, replica: &str, j: u32, slots: u64) -> u64 {
        self.0.vnode_slot(replica, j, slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_assignment_formula() {
        let s = Spec::new();
        for i in [0u64, 1, 2, 3, 100_000, 999_999] {
            assert_eq!(
                s.request_slot(RequestKey::Id(i), 512),
                (i * i + 2 * i + 17) % 512
            );
        }
        // Phi(3, 4) = 9 + 16 + 8 + 25 = 58
        assert_eq!(s.vnode_slot("Server3", 4, 512), 58);
    }

    #[test]
    fn h_reaches_only_87_slots_over_six_digit_ids() {
        let s = Spec::new();
        let mut seen = vec![false; 512];
        for i in 100_000u64..1_000_000 {
            seen[s.request_slot(RequestKey::Id(i), 512) as usize] = true;
        }
        assert_eq!(seen.iter().filter(|x| **x).count(), 87);
    }
}
