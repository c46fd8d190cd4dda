//! The `strong` family, the default: 64-bit XXH3 for requests and virtual
//! nodes.
//!
//! A request id `i` is hashed as its 8 little-endian bytes, any other key as
//! its bytes; virtual node `j` of replica `name` is hashed as the seed's
//! virtual-node name `<name>_VN<j>`. With a large `M` (the default config uses
//! `2^63`) slot collisions are so rare that linear probing practically never
//! moves a virtual node, which is what keeps key movement minimal when the
//! membership changes.

use std::io::Write;

use xxhash_rust::xxh3::xxh3_64;

use super::family::{HashFamily, RequestKey};

/// XXH3-64 of the key, mod `M`.
#[derive(Debug, Clone, Default)]
pub struct Strong;

impl HashFamily for Strong {
    fn name(&self) -> &'static str {
        "strong"
    }

    fn request_slot(&self, key: RequestKey<'_>, slots: u64) -> u64 {
        let h = match key {
            RequestKey::Id(i) => xxh3_64(&i.to_le_bytes()),
            RequestKey::Bytes(b) => xxh3_64(b),
        };
        h % slots
    }

    fn vnode_slot(&self, replica: &str, j: u32, slots: u64) -> u64 {
        // Hostnames are at most 63 bytes; `_VN` + a u32 fits in 13 more.
        let mut buf = [0u8; 96];
        let len = {
            let mut w = &mut buf[..];
            let before = w.len();
            if write!(w, "{replica}_VN{j}").is_err() {
                return xxh3_64(format!("{replica}_VN{j}").as_bytes()) % slots;
            }
            before - w.len()
        };
        xxh3_64(&buf[..len]) % slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnode_names_follow_the_seed() {
        let s = Strong;
        let m = 1u64 << 63;
        assert_eq!(s.vnode_slot("Server0", 1, m), xxh3_64(b"Server0_VN1") % m);
        let long = "x".repeat(200);
        assert_eq!(
            s.vnode_slot(&long, 7, m),
            xxh3_64(format!("{long}_VN7").as_bytes()) % m
        );
    }
}
