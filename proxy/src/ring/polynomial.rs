//! The `polynomial` family: quadratic hash functions with configurable
//! coefficients, the shape the assignment uses.
//!
//! `H(i) = a*i^2 + b*i + c` and `Phi(i, j) = d*i^2 + e*i + f*j^2 + g*j + h`,
//! all mod `M`. With `H = [1, 2, 17]` and `Phi = [1, 0, 1, 2, 25]` this is
//! exactly the assignment's pair (see [`super::spec`]). Arithmetic is done in
//! `u128` after reducing every operand mod `M`, so any `M` up to `2^63` and any
//! coefficients (negative ones included) are exact.

use super::family::{bytes_to_id, replica_number, HashFamily, RequestKey};

/// Coefficients of `H` and `Phi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polynomial {
    /// `[a, b, c]` of `H(i) = a*i^2 + b*i + c`.
    pub request: [i64; 3],
    /// `[d, e, f, g, h]` of `Phi(i, j) = d*i^2 + e*i + f*j^2 + g*j + h`.
    pub vnode: [i64; 5],
}

impl Polynomial {
    /// Evaluates `H(i) mod m`.
    pub fn h(&self, i: u64, m: u64) -> u64 {
        let [a, b, c] = self.request;
        let i = reduce_u(i, m);
        add(
            add(
                mul(reduce(a, m), mul(i, i, m), m),
                mul(reduce(b, m), i, m),
                m,
            ),
            reduce(c, m),
            m,
        )
    }

    /// Evaluates `Phi(i, j) mod m`.
    pub fn phi(&self, i: u64, j: u64, m: u64) -> u64 {
        let [d, e, f, g, h] = self.vnode;
        let i = reduce_u(i, m);
        let j = reduce_u(j, m);
        let mut acc = mul(reduce(d, m), mul(i, i, m), m);
        acc = add(acc, mul(reduce(e, m), i, m), m);
        acc = add(acc, mul(reduce(f, m), mul(j, j, m), m), m);
        acc = add(acc, mul(reduce(g, m), j, m), m);
        add(acc, reduce(h, m), m)
    }
}

impl HashFamily for Polynomial {
    fn name(&self) -> &'static str {
        "polynomial"
    }

    fn request_slot(&self, key: RequestKey<'_>, slots: u64) -> u64 {
        let i = match key {
            RequestKey::Id(i) => i,
            RequestKey::Bytes(b) => bytes_to_id(b),
        };
        self.h(i, slots)
    }

    fn vnode_slot(&self, replica: &str, j: u32, slots: u64) -> u64 {
        self.phi(replica_number(replica), u64::from(j), slots)
    }
}

fn reduce(x: i64, m: u64) -> u64 {
    (i128::from(x).rem_euclid(i128::from(m))) as u64
}

fn reduce_u(x: u64, m: u64) -> u64 {
    x % m
}

fn mul(a: u64, b: u64, m: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(m)) as u64
}

fn add(a: u64, b: u64, m: u64) -> u64 {
    ((u128::from(a) + u128::from(b)) % u128::from(m)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_evaluation_for_small_values() {
        let p = Polynomial {
            request: [3, -5, 7],
            vnode: [2, 1, -1, 4, 9],
        };
        let m = 512u64;
        for i in 0..200i64 {
            let want = (3 * i * i - 5 * i + 7).rem_euclid(m as i64) as u64;
            assert_eq!(p.h(i as u64, m), want);
            for j in 0..9i64 {
                let want = (2 * i * i + i - j * j + 4 * j + 9).rem_euclid(m as i64) as u64;
                assert_eq!(p.phi(i as u64, j as u64, m), want);
            }
        }
    }

    #[test]
    fn huge_operands_do_not_overflow() {
        let p = Polynomial {
            request: [i64::MAX, i64::MIN, i64::MAX],
            vnode: [i64::MAX; 5],
        };
        let m = 1u64 << 63;
        assert!(p.h(u64::MAX, m) < m);
        assert!(p.phi(u64::MAX, u64::MAX, m) < m);
    }
}
