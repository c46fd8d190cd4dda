//! What `ringlb-load fire` prints: requests per replica, throughput,
//! latency and errors, as a table for people or JSON for scripts.
//!
//! Non-2xx answers and requests that got no answer at all are counted
//! apart: the first are the balancer's decision (a 400 for an unknown path,
//! a 502 when no replica could serve), the second are lost connections.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::fire::{Outcome, Run};
use crate::stats::{Balance, Latency};

/// The summary of one run.
#[derive(Debug, Clone, Serialize)]
pub struct FireReport {
    pub url: String,
    pub keys: String,
    pub requests: u64,
    pub concurrency: usize,
    pub elapsed_s: f64,
    pub requests_per_s: f64,
    /// 2xx answers.
    pub ok: u64,
    /// Requests that did not end in a 2xx: non-2xx answers plus requests
    /// that got no answer at all (`errors` says which); counted as they
    /// happen, not derived from `requests - ok`.
    pub failed: u64,
    /// 2xx answers per replica id (as each `/home` body named it).
    pub per_replica: BTreeMap<String, u64>,
    /// 2xx answers whose body named no replica.
    pub unidentified: u64,
    pub latency: Latency,
    pub errors: Errors,
}

/// Failed requests, by kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Errors {
    /// Answers with a non-2xx status, by status.
    pub non_2xx: BTreeMap<u16, u64>,
    /// Requests that got no answer, by cause (connect, timeout, closed).
    pub connection: BTreeMap<String, u64>,
}

impl Errors {
    pub fn non_2xx_total(&self) -> u64 {
        self.non_2xx.values().sum()
    }

    pub fn connection_total(&self) -> u64 {
        self.connection.values().sum()
    }
}

impl FireReport {
    pub fn new(run: &Run, url: &str, keys: String, concurrency: usize) -> FireReport {
        let mut per_replica = BTreeMap::new();
        let mut errors = Errors::default();
        let mut unidentified = 0;
        let mut ok = 0;
        let mut failed = 0;
        for s in &run.samples {
            match &s.outcome {
                Outcome::Served(Some(r)) => {
                    ok += 1;
                    *per_replica.entry(r.clone()).or_insert(0) += 1;
                }
                Outcome::Served(None) => {
                    ok += 1;
                    unidentified += 1;
                }
                Outcome::Status(code) => {
                    failed += 1;
                    *errors.non_2xx.entry(*code).or_insert(0) += 1;
                }
                Outcome::Transport(t) => {
                    failed += 1;
                    *errors.connection.entry(t.label().to_string()).or_insert(0) += 1;
                }
            }
        }
        let secs = run.elapsed.as_secs_f64();
        FireReport {
            url: url.to_string(),
            keys,
            requests: run.samples.len() as u64,
            concurrency,
            elapsed_s: secs,
            requests_per_s: if secs > 0.0 {
                run.samples.len() as f64 / secs
            } else {
                0.0
            },
            ok,
            failed,
            per_replica,
            unidentified,
            latency: Latency::of(run.samples.iter().map(|s| s.latency).collect()),
            errors,
        }
    }

    pub fn balance(&self) -> Balance {
        Balance::of(&self.per_replica)
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "target       {}", self.url);
        let _ = writeln!(out, "keys         {}", self.keys);
        let _ = writeln!(
            out,
            "sent         {} requests, concurrency {}, {:.2} s, {:.0} req/s",
            self.requests, self.concurrency, self.elapsed_s, self.requests_per_s
        );
        let _ = writeln!(out);
        let width = self
            .per_replica
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max(7);
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>6}",
            "replica", "requests", "share"
        );
        for (name, n) in &self.per_replica {
            let share = 100.0 * *n as f64 / self.requests.max(1) as f64;
            let _ = writeln!(out, "{name:<width$}  {n:>8}  {share:>5.1}%");
        }
        if self.unidentified > 0 {
            let _ = writeln!(out, "{:<width$}  {:>8}", "(2xx, no id)", self.unidentified);
        }
        if self.per_replica.len() > 1 {
            let b = self.balance();
            let _ = writeln!(
                out,
                "busiest/mean {:.3} ({} has {:.1}%)",
                b.busiest_over_mean,
                b.busiest,
                100.0 * b.busiest_share
            );
        }
        let l = &self.latency;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "latency ms   p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
        );
        let _ = writeln!(
            out,
            "errors       non-2xx {}{}  connection {}{}",
            self.errors.non_2xx_total(),
            breakdown(&self.errors.non_2xx),
            self.errors.connection_total(),
            breakdown(&self.errors.connection),
        );
        out
    }
}

fn breakdown<K: std::fmt::Display>(m: &BTreeMap<K, u64>) -> String {
    if m.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!(" ({})", parts.join(", "))
}
