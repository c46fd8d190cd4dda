//! The few numbers every experiment reports: latency percentiles, how even
//! a load is, and how many keys a membership change moved.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `samples` (all zero when empty).
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let sum: Duration = samples.iter().sum();
        Latency {
            p50_ms: ms(percentile(&samples, 50.0)),
            p90_ms: ms(percentile(&samples, 90.0)),
            p99_ms: ms(percentile(&samples, 99.0)),
            max_ms: ms(samples[samples.len() - 1]),
            mean_ms: ms(sum) / samples.len() as f64,
        }
    }
}

/// Nearest-rank percentile `q` (0..=100) of sorted, non-empty `sorted`.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// How evenly requests spread over replicas.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Balance {
    pub replicas: usize,
    pub total: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    /// The replica with the most requests.
    pub busiest: String,
    /// `max / mean`: 1.0 is perfect, `N` is everything on one replica.
    pub busiest_over_mean: f64,
    /// `max / total`.
    pub busiest_share: f64,
}

impl Balance {
    /// `counts` must list every replica, idle ones with 0.
    pub fn of(counts: &BTreeMap<String, u64>) -> Balance {
        let total: u64 = counts.values().sum();
        let n = counts.len().max(1);
        let mean = total as f64 / n as f64;
        let (busiest, max) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(k, v)| (k.clone(), *v))
            .unwrap_or_default();
        Balance {
            replicas: counts.len(),
            total,
            min: counts.values().copied().min().unwrap_or(0),
            max,
            mean,
            busiest,
            busiest_over_mean: if mean > 0.0 { max as f64 / mean } else { 0.0 },
            busiest_share: if total > 0 {
                max as f64 / total as f64
            } else {
                0.0
            },
        }
    }
}

/// Keys that changed replica between two memberships.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Moves {
    /// Keys compared (those answered in both runs).
    pub keys: u64,
    pub moved: u64,
    /// `moved / keys`.
    pub share: f64,
    /// The least a consistent hash can move: `1/(N+1)` when one replica is
    /// added to N, `1/N` when one of N is removed.
    pub ideal: f64,
    /// Moves that had to happen: to the added replica, or off the removed one.
    pub necessary: u64,
    /// Moves between replicas that were in both memberships.
    pub collateral: u64,
}

impl Moves {
    /// Compares owners key by key. `changed` is the replica added or removed.
    pub fn between(
        before: &[Option<String>],
        after: &[Option<String>],
        changed: &str,
        ideal: f64,
    ) -> Moves {
        let mut m = Moves {
            keys: 0,
            moved: 0,
            share: 0.0,
            ideal,
            necessary: 0,
            collateral: 0,
        };
        for (a, b) in before.iter().zip(after) {
            let (Some(a), Some(b)) = (a, b) else { continue };
            m.keys += 1;
            if a != b {
                m.moved += 1;
                if a == changed || b == changed {
                    m.necessary += 1;
                } else {
                    m.collateral += 1;
                }
            }
        }
        if m.keys > 0 {
            m.share = m.moved as f64 / m.keys as f64;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|x| Duration::from_millis(*x)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latency::of(ms(&[5, 1, 4, 2, 3, 6, 7, 8, 9, 10]));
        assert_eq!(l.p50_ms, 5.0);
        assert_eq!(l.p90_ms, 9.0);
        assert_eq!(l.p99_ms, 10.0);
        assert_eq!(l.max_ms, 10.0);
        assert_eq!(l.mean_ms, 5.5);
        assert_eq!(Latency::of(Vec::new()), Latency::default());
    }

    #[test]
    fn balance_counts_idle_replicas() {
        let counts: BTreeMap<String, u64> = [("a", 8437), ("b", 469), ("c", 1094), ("d", 0)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let b = Balance::of(&counts);
        assert_eq!((b.min, b.max, b.total), (0, 8437, 10_000));
        assert_eq!(b.busiest, "a");
        assert!((b.busiest_over_mean - 3.3748).abs() < 1e-9);
        assert!((b.busiest_share - 0.8437).abs() < 1e-9);
    }

    #[test]
    fn moves_split_necessary_and_collateral() {
        let s = |v: &str| Some(v.to_string());
        let before = [s("a"), s("b"), s("a"), s("b"), None];
        let after = [s("a"), s("c"), s("b"), s("b"), s("c")];
        let m = Moves::between(&before, &after, "c", 1.0 / 3.0);
        assert_eq!((m.keys, m.moved, m.necessary, m.collateral), (4, 2, 1, 1));
        assert_eq!(m.share, 0.5);
    }
}
