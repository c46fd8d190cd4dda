//! The ring itself: virtual-node placement with linear probing, and an O(1)
//! slot -> replica lookup.
//!
//! Placement is canonical: members are sorted by name and their virtual nodes
//! placed in that order (`j = 0..K` per member), each at the family's slot or,
//! if taken, the next free slot clockwise. The same member set therefore
//! always yields the same ring, whatever order it was assembled in.
//!
//! Lookup: the occupied slots are kept sorted (`points`) and a bucket table
//! maps each of `B` equal ranges of the slot space to the first point at or
//! after the range's start. `B = M` for small rings (every lookup is one
//! table read) and `B >= 4 x points` for large ones (a lookup reads the table
//! and, on average, steps over fewer than one point). Nothing is allocated or
//! locked on lookup.

use std::net::SocketAddr;
use std::sync::Arc;

use super::family::{HashFamily, RequestKey};
use crate::inflight::InFlight;

/// A replica as the ring sees it: a name (ring position) and an address,
/// plus its requests in flight (shared with the fleet's record of it, so
/// the proxy counts a request without looking anything up).
#[derive(Debug, Clone)]
pub struct Member {
    pub name: Arc<str>,
    pub addr: SocketAddr,
    pub load: Arc<InFlight>,
}

impl Member {
    /// A member with a counter of its own.
    pub fn new(name: &str, addr: SocketAddr) -> Self {
        Member::with_load(addr, InFlight::new(name))
    }

    /// A member counting its requests in `load` (which names it).
    pub fn with_load(addr: SocketAddr, load: Arc<InFlight>) -> Self {
        Member {
            name: load.name().clone(),
            addr,
            load,
        }
    }
}

/// Members are equal when they sit at the same place: same name, same
/// address (the counter is state, not identity).
impl PartialEq for Member {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.addr == other.addr
    }
}

impl Eq for Member {}

/// Why a ring cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RingError {
    #[error(
        "ring capacity exceeded: {replicas} replicas x {vnodes} virtual nodes > {slots} slots"
    )]
    Capacity {
        replicas: usize,
        vnodes: u32,
        slots: u64,
    },
    #[error("ring geometry invalid: {0}")]
    Geometry(&'static str),
    #[error("duplicate replica name {0:?}")]
    Duplicate(String),
}

/// An occupied slot and the member that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    slot: u64,
    owner: u32,
}

/// Largest bucket table for a ring whose slots are not all indexed.
const MIN_BUCKETS: u64 = 1024;
/// Rings up to this many slots get one bucket per slot.
const EXACT_SLOTS: u64 = 1 << 16;

/// An immutable consistent-hash ring.
#[derive(Debug)]
pub struct Ring {
    slots: u64,
    vnodes: u32,
    family: Arc<dyn HashFamily>,
    members: Vec<Member>,
    points: Vec<Point>,
    buckets: Vec<u32>,
    /// `floor(2^64 * buckets / slots)` when there are fewer buckets than
    /// slots: a slot's bucket is then one multiplication, never a 128-bit
    /// division (see [`Ring::bucket_of`]).
    bucket_scale: Option<u64>,
}

impl Ring {
    /// An empty ring (no replicas): every lookup answers `None`.
    pub fn empty(slots: u64, vnodes: u32, family: Arc<dyn HashFamily>) -> Ring {
        Ring {
            slots: slots.max(1),
            vnodes,
            family,
            members: Vec::new(),
            points: Vec::new(),
            buckets: Vec::new(),
            bucket_scale: None,
        }
    }

    /// Places every member's virtual nodes and precomputes the lookup table.
    pub fn build(
        slots: u64,
        vnodes: u32,
        family: Arc<dyn HashFamily>,
        mut members: Vec<Member>,
    ) -> Result<Ring, RingError> {
        if slots == 0 || slots > 1 << 63 {
            return Err(RingError::Geometry("slots must be in 1..=2^63"));
        }
        if vnodes == 0 {
            return Err(RingError::Geometry("vnodes must be at least 1"));
        }
        let total = (members.len() as u128) * u128::from(vnodes);
        if total > u128::from(slots) || total > u128::from(u32::MAX) {
            return Err(RingError::Capacity {
                replicas: members.len(),
                vnodes,
                slots,
            });
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = members.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(RingError::Duplicate(w[0].name.to_string()));
        }

        let names: Vec<Arc<str>> = members.iter().map(|m| m.name.clone()).collect();
        let points = match family.table(&names, slots) {
            Some(owners) => owners
                .into_iter()
                .enumerate()
                .map(|(slot, owner)| Point {
                    slot: slot as u64,
                    owner,
                })
                .collect(),
            None => Self::probe(&*family, slots, vnodes, &members, total as usize),
        };

        let mut ring = Ring {
            slots,
            vnodes,
            family,
            members,
            points,
            buckets: Vec::new(),
            bucket_scale: None,
        };
        ring.buckets = ring.bucket_table();
        let b = ring.buckets.len() as u64;
        if b < ring.slots {
            ring.bucket_scale = Some(((u128::from(b) << 64) / u128::from(ring.slots)) as u64);
        }
        Ok(ring)
    }

    /// Virtual nodes placed by `family`, moved clockwise to the next free
    /// slot on collision, sorted by slot.
    fn probe(
        family: &dyn HashFamily,
        slots: u64,
        vnodes: u32,
        members: &[Member],
        total: usize,
    ) -> Vec<Point> {
        let mut taken = Occupancy::new(slots, total);
        let mut points = Vec::with_capacity(total);
        for (owner, m) in members.iter().enumerate() {
            for j in 0..vnodes {
                let mut slot = family.vnode_slot(&m.name, j, slots);
                // Linear probing: the capacity check above guarantees a free slot.
                while !taken.insert(slot) {
                    slot = if slot + 1 == slots { 0 } else { slot + 1 };
                }
                points.push(Point {
                    slot,
                    owner: owner as u32,
                });
            }
        }
        points.sort_unstable_by_key(|p| p.slot);
        points
    }

    fn bucket_count(&self) -> u64 {
        if self.slots <= EXACT_SLOTS {
            self.slots
        } else {
            let want = (self.points.len() as u64 * 4).next_power_of_two();
            want.clamp(MIN_BUCKETS, self.slots)
        }
    }

    /// The bucket of `slot`, or one before it: `slot * scale / 2^64` never
    /// exceeds `slot * B / M`, and a bucket's entry points at or before
    /// every slot of the buckets after it, so the scan in
    /// [`Ring::point_at_or_after`] still ends at the right point.
    #[inline]
    fn bucket_of(&self, slot: u64) -> usize {
        match self.bucket_scale {
            Some(scale) => ((u128::from(slot) * u128::from(scale)) >> 64) as usize,
            // One bucket per slot.
            None => slot as usize,
        }
    }

    fn bucket_table(&self) -> Vec<u32> {
        if self.points.is_empty() {
            return Vec::new();
        }
        let b = self.bucket_count();
        let mut table = Vec::with_capacity(b as usize);
        let mut i = 0usize;
        for k in 0..b {
            // First slot of bucket k: ceil(k * M / B).
            let start = ((u128::from(k) * u128::from(self.slots)).div_ceil(u128::from(b))) as u64;
            while i < self.points.len() && self.points[i].slot < start {
                i += 1;
            }
            table.push(i as u32);
        }
        table
    }

    /// Index into `points` of the first occupied slot at or after `slot`,
    /// wrapping around.
    #[inline]
    fn point_at_or_after(&self, slot: u64) -> usize {
        let mut i = self.buckets[self.bucket_of(slot)] as usize;
        while i < self.points.len() && self.points[i].slot < slot {
            i += 1;
        }
        if i == self.points.len() {
            0
        } else {
            i
        }
    }

    /// `slot` on the ring; a family's slots already are (no division then).
    #[inline]
    fn wrap(&self, slot: u64) -> u64 {
        if slot < self.slots {
            slot
        } else {
            slot % self.slots
        }
    }

    /// The slot of a request key.
    #[inline]
    pub fn slot_of(&self, key: RequestKey<'_>) -> u64 {
        self.family.request_slot(key, self.slots)
    }

    /// The member that owns `slot`, or `None` if the ring is empty.
    #[inline]
    pub fn owner_of_slot(&self, slot: u64) -> Option<&Member> {
        if self.points.is_empty() {
            return None;
        }
        let p = self.points[self.point_at_or_after(self.wrap(slot))];
        Some(&self.members[p.owner as usize])
    }

    /// The member a request key goes to.
    #[inline]
    pub fn lookup(&self, key: RequestKey<'_>) -> Option<&Member> {
        self.owner_of_slot(self.slot_of(key))
    }

    /// Members in clockwise order from `slot`, each once: the owner first,
    /// then the failover order.
    pub fn clockwise(&self, slot: u64) -> Clockwise<'_> {
        let start = if self.points.is_empty() {
            0
        } else {
            self.point_at_or_after(self.wrap(slot))
        };
        Clockwise {
            ring: self,
            start,
            step: 0,
            seen: Seen::for_members(self.members.len()),
            yielded: 0,
        }
    }

    /// Members sorted by name.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member called `name` (a binary search: members are sorted).
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members
            .binary_search_by(|m| (*m.name).cmp(name))
            .ok()
            .map(|i| &self.members[i])
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn slots(&self) -> u64 {
        self.slots
    }

    pub fn vnodes(&self) -> u32 {
        self.vnodes
    }

    pub fn family(&self) -> &Arc<dyn HashFamily> {
        &self.family
    }

    /// The occupied slots and their owners' names, in slot order.
    pub fn placements(&self) -> impl Iterator<Item = (u64, &str)> + '_ {
        self.points
            .iter()
            .map(|p| (p.slot, &*self.members[p.owner as usize].name))
    }
}

/// Iterator over distinct members clockwise from a slot.
pub struct Clockwise<'a> {
    ring: &'a Ring,
    start: usize,
    step: usize,
    seen: Seen,
    /// Members yielded so far (the walk ends when all were).
    yielded: usize,
}

/// The members a [`Clockwise`] walk has yielded: one word for up to 64
/// members (no allocation on the request path), a bitmap beyond that.
enum Seen {
    Word(u64),
    Bitmap(Vec<u64>),
}

impl Seen {
    fn for_members(n: usize) -> Seen {
        if n <= 64 {
            Seen::Word(0)
        } else {
            Seen::Bitmap(vec![0; n.div_ceil(64)])
        }
    }

    /// Marks `i`; false if it was marked already.
    #[inline]
    fn insert(&mut self, i: usize) -> bool {
        let (word, bit) = match self {
            Seen::Word(w) => (w, i),
            Seen::Bitmap(words) => (&mut words[i / 64], i % 64),
        };
        let fresh = *word & (1 << bit) == 0;
        *word |= 1 << bit;
        fresh
    }
}

impl<'a> Iterator for Clockwise<'a> {
    type Item = &'a Member;

    fn next(&mut self) -> Option<&'a Member> {
        let n = self.ring.points.len();
        while self.step < n {
            let mut i = self.start + self.step;
            if i >= n {
                i -= n;
            }
            let p = self.ring.points[i];
            self.step += 1;
            let owner = p.owner as usize;
            if self.seen.insert(owner) {
                self.yielded += 1;
                if self.yielded == self.ring.members.len() {
                    // Every member seen: no need to walk the rest.
                    self.step = n;
                }
                return Some(&self.ring.members[owner]);
            }
        }
        None
    }
}

/// Which slots are taken while placing: a bitmap for small rings, a hash set
/// for large ones.
enum Occupancy {
    Bits(Vec<u64>),
    Set(std::collections::HashSet<u64>),
}

impl Occupancy {
    fn new(slots: u64, expected: usize) -> Self {
        if slots <= 1 << 24 {
            Occupancy::Bits(vec![0; slots.div_ceil(64) as usize])
        } else {
            Occupancy::Set(std::collections::HashSet::with_capacity(expected))
        }
    }

    /// Marks `slot` taken; false if it already was.
    fn insert(&mut self, slot: u64) -> bool {
        match self {
            Occupancy::Bits(bits) => {
                let (w, b) = ((slot / 64) as usize, slot % 64);
                let was = bits[w] & (1 << b) != 0;
                bits[w] |= 1 << b;
                !was
            }
            Occupancy::Set(set) => set.insert(slot),
        }
    }
}
