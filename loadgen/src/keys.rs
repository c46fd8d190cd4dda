//! Which request key each request carries.
//!
//! Keys are decided before the first request is sent, from a seed or an
//! explicit id range, so that a run can be repeated exactly and so that the
//! same list can be fed to the offline ring computation: the network result
//! and the ring's prediction are then comparable id by id.

use std::fmt;
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The assignment's request ids: random 6-digit numbers.
pub const SIX_DIGITS: IdRange = IdRange {
    from: 100_000,
    to: 999_999,
};

/// An inclusive range of request ids, written `FROM..TO` (exclusive end, as
/// in Rust) or `FROM..=TO` (inclusive end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub from: u64,
    /// Last id, inclusive.
    pub to: u64,
}

impl IdRange {
    pub fn len(&self) -> u64 {
        self.to - self.from + 1
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> {
        self.from..=self.to
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.from, self.to)
    }
}

impl FromStr for IdRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected FROM..TO or FROM..=TO (e.g. 100000..110000), got {s:?}");
        let (from, rest) = s.split_once("..").ok_or_else(bad)?;
        let (inclusive, to) = match rest.strip_prefix('=') {
            Some(t) => (true, t),
            None => (false, rest),
        };
        let from: u64 = from.trim().parse().map_err(|_| bad())?;
        let to: u64 = to.trim().parse().map_err(|_| bad())?;
        let last = if inclusive {
            to
        } else {
            to.checked_sub(1).ok_or_else(bad)?
        };
        if last < from {
            return Err(format!("id range {s:?} is empty"));
        }
        Ok(IdRange { from, to: last })
    }
}

/// How keys are chosen for a run.
#[derive(Debug, Clone)]
pub enum KeyPlan {
    /// `count` random 6-digit ids drawn from `seed`.
    Random { count: usize, seed: u64 },
    /// Exactly the ids of the range, in order.
    Range(IdRange),
    /// No key header at all (ringlb then draws its own random id).
    None { count: usize },
}

impl KeyPlan {
    /// Builds the plan from the usual flags: `--ids` wins over `--requests`.
    pub fn from_flags(requests: usize, ids: Option<IdRange>, no_key: bool, seed: u64) -> Self {
        match (ids, no_key) {
            (_, true) => KeyPlan::None { count: requests },
            (Some(r), false) => KeyPlan::Range(r),
            (None, false) => KeyPlan::Random {
                count: requests,
                seed,
            },
        }
    }

    /// The key of every request, in sending order.
    pub fn keys(&self) -> Vec<Option<u64>> {
        match self {
            KeyPlan::Random { count, seed } => {
                random_ids(*count, *seed).into_iter().map(Some).collect()
            }
            KeyPlan::Range(r) => r.iter().map(Some).collect(),
            KeyPlan::None { count } => vec![None; *count],
        }
    }

    /// How the keys were chosen, for reports.
    pub fn describe(&self) -> String {
        match self {
            KeyPlan::Random { count, seed } => {
                format!("{count} random 6-digit ids (seed {seed})")
            }
            KeyPlan::Range(r) => format!("{} ids {r}", r.len()),
            KeyPlan::None { count } => format!("{count} requests without a key"),
        }
    }
}

/// `count` random 6-digit ids from `seed`: the same seed, the same list.
pub fn random_ids(count: usize, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| rng.random_range(SIX_DIGITS.from..=SIX_DIGITS.to))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(
            "10..20".parse::<IdRange>(),
            Ok(IdRange { from: 10, to: 19 })
        );
        assert_eq!(
            "10..=20".parse::<IdRange>(),
            Ok(IdRange { from: 10, to: 20 })
        );
        assert!("20..10".parse::<IdRange>().is_err());
        assert!("5..5".parse::<IdRange>().is_err());
        assert!("0..0".parse::<IdRange>().is_err());
        assert!("abc".parse::<IdRange>().is_err());
        assert_eq!("1..=1".parse::<IdRange>().map(|r| r.len()), Ok(1));
    }

    #[test]
    fn random_ids_are_six_digits_and_repeatable() {
        let a = random_ids(1000, 7);
        assert_eq!(a, random_ids(1000, 7));
        assert_ne!(a, random_ids(1000, 8));
        assert!(a.iter().all(|i| (100_000..=999_999).contains(i)));
    }

    #[test]
    fn ids_flag_wins_over_requests() {
        let plan = KeyPlan::from_flags(5, "1..=3".parse().ok(), false, 0);
        assert_eq!(plan.keys(), vec![Some(1), Some(2), Some(3)]);
        let plan = KeyPlan::from_flags(2, None, true, 0);
        assert_eq!(plan.keys(), vec![None, None]);
    }
}
