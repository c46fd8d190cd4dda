//! The hash-family seam: how requests and virtual nodes map to slots.
//!
//! A family is two functions over a ring of `M` slots: one places a request
//! key, one places virtual node `j` of a replica. Everything else about the
//! ring (probing, lookup, failover order) is family-independent, so adding a
//! family is one new file and one line in [`super::FamilyKind`].

use std::fmt::Debug;

/// What a request is keyed by.
///
/// A numeric key (the assignment's 6-digit request id) is kept as a number so
/// that the `spec` and `polynomial` families can evaluate `H(i)` on it; any
/// other key arrives as raw bytes and each family hashes it in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKey<'a> {
    /// A numeric request id `i`.
    Id(u64),
    /// Any other key: a header value, cookie, client IP, path, ...
    Bytes(&'a [u8]),
}

impl<'a> RequestKey<'a> {
    /// Classifies raw key bytes: all-ASCII-digit values that fit in a `u64`
    /// become [`RequestKey::Id`], everything else stays bytes.
    pub fn parse(raw: &'a [u8]) -> Self {
        if raw.is_empty() || raw.len() > 19 || !raw.iter().all(u8::is_ascii_digit) {
            return RequestKey::Bytes(raw);
        }
        let mut n: u64 = 0;
        for d in raw {
            n = n * 10 + u64::from(d - b'0');
        }
        RequestKey::Id(n)
    }
}

/// Maps requests and virtual nodes to slots in `0..slots`.
pub trait HashFamily: Send + Sync + Debug {
    /// The family's name as written in config.
    fn name(&self) -> &'static str;

    /// Slot of a request key.
    fn request_slot(&self, key: RequestKey<'_>, slots: u64) -> u64;

    /// Preferred slot of virtual node `j` of the replica called `replica`
    /// (before linear probing).
    fn vnode_slot(&self, replica: &str, j: u32, slots: u64) -> u64;

    /// For a family that fills a lookup table itself instead of placing
    /// virtual nodes (Maglev): the owner, as an index into `names` (sorted),
    /// of every one of the `slots` entries. `None` (the default): virtual
    /// nodes with linear probing.
    fn table(&self, _names: &[std::sync::Arc<str>], _slots: u64) -> Option<Vec<u32>> {
        None
    }
}

/// The numeric replica id `i` that the assignment's `Phi(i, j)` needs.
///
/// Replicas are named, not numbered, so the number is derived from the name,
/// stably across restarts: the decimal digits the name ends with (`Server3` ->
/// 3, `S10` -> 10), or, for a name without trailing digits, a 64-bit hash of
/// the name reduced to six digits.
pub fn replica_number(name: &str) -> u64 {
    let digits = name.bytes().rev().take_while(u8::is_ascii_digit).count();
    let tail = &name[name.len() - digits..];
    match tail.parse::<u64>() {
        Ok(n) if digits > 0 => n,
        _ => xxhash_rust::xxh3::xxh3_64(name.as_bytes()) % 1_000_000,
    }
}

/// The request id `i` for a non-numeric key under the polynomial families: a
/// 64-bit hash of the bytes.
pub fn bytes_to_id(raw: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_keys_are_ids() {
        assert_eq!(RequestKey::parse(b"123456"), RequestKey::Id(123456));
        assert_eq!(RequestKey::parse(b"0"), RequestKey::Id(0));
        assert_eq!(RequestKey::parse(b"12a"), RequestKey::Bytes(b"12a"));
        assert_eq!(RequestKey::parse(b""), RequestKey::Bytes(b""));
        // 20 digits may overflow u64: treated as bytes
        assert_eq!(
            RequestKey::parse(b"99999999999999999999"),
            RequestKey::Bytes(b"99999999999999999999")
        );
    }

    #[test]
    fn replica_numbers_come_from_trailing_digits() {
        assert_eq!(replica_number("Server3"), 3);
        assert_eq!(replica_number("S10"), 10);
        assert_eq!(replica_number("42"), 42);
        let h = replica_number("alpha");
        assert!(h < 1_000_000);
        assert_eq!(h, replica_number("alpha"));
        // digits beyond u64 fall back to the hash, never panic
        assert!(replica_number("x99999999999999999999999") < 1_000_000);
    }
}
