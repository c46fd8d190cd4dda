//! A-3, part two: `kill -9` one replica's process while a steady load runs,
//! and time how ringlb notices and replaces it.
//!
//! The victim is found as ringlb's child process whose environment says
//! `SERVER_ID=<victim>` (`ringlb_harness::replica_processes`, which reads
//! `/proc`), and killed from outside, as a crash would. The
//! timeline is built from when each request completed, per replica that
//! answered it; the replacement shows up as a new replica (fresh name) or
//! as the victim's line resuming (same name).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ringlb_harness::{replica_processes, signal};
use serde::Serialize;

use crate::cluster::Cluster;
use crate::fire::{Outcome, Run};

/// What happened around the kill, in seconds from the start of the load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KillEvents {
    pub victim: String,
    pub victim_pid: u32,
    pub killed_at_s: f64,
    /// A new replica process appeared (and the victim's was gone).
    pub process_replaced_at_s: Option<f64>,
    pub replacement: Option<String>,
    pub replacement_pid: Option<u32>,
    /// `/rep` listed N replicas again, the replacement among them.
    pub listed_at_s: Option<f64>,
    /// The replacement answered its first request.
    pub first_served_at_s: Option<f64>,
}

/// Waits until `at`, kills the victim, and watches the replacement arrive.
pub async fn kill_and_watch(
    cluster: &Cluster,
    victim: &str,
    t0: Instant,
    at: Duration,
) -> Result<KillEvents, String> {
    tokio::time::sleep_until((t0 + at).into()).await;
    let before = replica_processes(cluster.pid());
    let target = before
        .iter()
        .find(|p| p.server_id == victim)
        .ok_or_else(|| format!("no replica process with SERVER_ID={victim} under ringlb"))?;
    if !signal(target.pid, libc::SIGKILL) {
        return Err(format!(
            "kill -9 {}: {}",
            target.pid,
            std::io::Error::last_os_error()
        ));
    }
    let mut ev = KillEvents {
        victim: victim.to_string(),
        victim_pid: target.pid,
        killed_at_s: t0.elapsed().as_secs_f64(),
        ..KillEvents::default()
    };
    let known: BTreeSet<u32> = before.iter().map(|p| p.pid).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && ev.process_replaced_at_s.is_none() {
        let now = replica_processes(cluster.pid());
        let fresh = now.iter().find(|p| !known.contains(&p.pid));
        if let Some(p) = fresh {
            if !now.iter().any(|q| q.pid == target.pid) && now.len() == before.len() {
                ev.process_replaced_at_s = Some(t0.elapsed().as_secs_f64());
                ev.replacement = Some(p.server_id.clone());
                ev.replacement_pid = Some(p.pid);
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    if let Some(name) = &ev.replacement {
        while Instant::now() < deadline {
            if let Ok(list) = cluster.replicas().await {
                if list.len() == before.len() && list.contains(name) {
                    ev.listed_at_s = Some(t0.elapsed().as_secs_f64());
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(ev)
}

/// The first request sent after the kill that the replacement answered.
pub fn first_served(run: &Run, ev: &KillEvents) -> Option<f64> {
    let name = ev.replacement.as_deref()?;
    run.samples
        .iter()
        .filter(|s| s.sent.as_secs_f64() >= ev.killed_at_s)
        .filter(|s| matches!(&s.outcome, Outcome::Served(Some(r)) if r == name))
        .map(|s| (s.sent + s.latency).as_secs_f64())
        .reduce(f64::min)
}

/// Requests per second per replica, and errors, in bins of `bin` by
/// completion time. Every series has a value for every bin; the last,
/// partial bin is left out so the line does not fall at the end.
pub fn timeline(run: &Run, bin: Duration) -> BTreeMap<String, Vec<(f64, f64)>> {
    let w = bin.as_secs_f64().max(1e-3);
    let end = run
        .samples
        .iter()
        .map(|s| (s.sent + s.latency).as_secs_f64())
        .fold(0.0, f64::max);
    let bins = ((end / w).floor() as usize).max(1);
    let mut counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for s in &run.samples {
        let name = match &s.outcome {
            Outcome::Served(Some(r)) => r.clone(),
            Outcome::Served(None) => "unidentified".into(),
            _ => "errors".into(),
        };
        let i = (((s.sent + s.latency).as_secs_f64()) / w) as usize;
        let v = counts.entry(name).or_insert_with(|| vec![0; bins]);
        if let Some(c) = v.get_mut(i) {
            *c += 1;
        }
    }
    counts
        .entry("errors".into())
        .or_insert_with(|| vec![0; bins]);
    counts
        .into_iter()
        .map(|(k, v)| {
            let pts = v
                .iter()
                .enumerate()
                .map(|(i, c)| ((i as f64 + 0.5) * w, *c as f64 / w))
                .collect();
            (k, pts)
        })
        .collect()
}
