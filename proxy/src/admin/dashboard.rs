//! The live dashboard on the admin listener: `GET /dashboard` is one
//! self-contained page (HTML, CSS and script embedded in the binary,
//! nothing fetched from elsewhere) that polls `GET /dashboard/state` once a
//! second and draws the ring as a circle of arcs, one colour per replica,
//! with each replica's state, request rate, mean latency and requests in
//! flight. Its add and remove controls call the admin API itself (`/add`,
//! `/rm`), sending the admin token when one is typed in.

use serde::Serialize;

use super::AdminApi;
use crate::ring::Ring;

/// The page.
pub const PAGE: &str = include_str!("dashboard.html");

/// Points around the circle at which the ring's owner is sampled; runs of
/// the same owner become one arc.
const SAMPLES: u64 = 720;

#[derive(Debug, Serialize)]
struct State {
    replicas: Vec<Row>,
    arcs: Vec<Arc>,
    family: &'static str,
    /// `M`, written for people (`2^63`; a JSON number would lose digits
    /// in the browser).
    slots: String,
    /// Milliseconds since the Unix epoch, for rates between two polls.
    now_ms: u128,
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    address: String,
    state: &'static str,
    in_ring: bool,
    in_flight: usize,
    requests: u64,
    mean_ms: Option<f64>,
    restarts: u32,
}

/// A stretch of the circle, as fractions of a turn, and its owner.
#[derive(Debug, Serialize, PartialEq)]
struct Arc {
    replica: String,
    from: f64,
    to: f64,
}

/// The ring sampled at `SAMPLES` points, runs merged.
fn arcs(ring: &Ring) -> Vec<Arc> {
    let mut out: Vec<Arc> = Vec::new();
    if ring.is_empty() {
        return out;
    }
    for i in 0..SAMPLES {
        let slot = (u128::from(ring.slots()) * u128::from(i) / u128::from(SAMPLES)) as u64;
        let Some(owner) = ring.owner_of_slot(slot) else {
            continue;
        };
        let (from, to) = (i as f64 / SAMPLES as f64, (i + 1) as f64 / SAMPLES as f64);
        match out.last_mut() {
            Some(last) if *last.replica == *owner.name => last.to = to,
            _ => out.push(Arc {
                replica: owner.name.to_string(),
                from,
                to,
            }),
        }
    }
    out
}

/// `GET /dashboard/state`.
pub fn state(api: &AdminApi) -> Vec<u8> {
    let ring = api.fleet.ring().load_full();
    let totals = api.metrics.per_replica();
    let replicas = api
        .fleet
        .views()
        .into_iter()
        .map(|v| {
            let t = totals.get(&v.hostname).copied().unwrap_or_default();
            Row {
                in_ring: ring.member(&v.hostname).is_some(),
                name: v.hostname,
                address: v.address,
                state: v.state,
                in_flight: v.in_flight,
                requests: t.requests,
                mean_ms: (t.timed > 0).then(|| 1000.0 * t.seconds / t.timed as f64),
                restarts: v.restarts,
            }
        })
        .collect();
    let state = State {
        replicas,
        arcs: arcs(&ring),
        family: ring.family().name(),
        slots: if ring.slots().is_power_of_two() && ring.slots() > 1024 {
            format!("2^{}", ring.slots().trailing_zeros())
        } else {
            ring.slots().to_string()
        },
        now_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
    };
    serde_json::to_vec(&state).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Member, Strong};
    use std::sync::Arc as Shared;

    #[test]
    fn arcs_cover_the_circle_once_and_merge_runs() {
        let members = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, n)| Member::new(n, ([127, 0, 0, 1], 9000 + i as u16).into()))
            .collect();
        let ring = Ring::build(1 << 20, 4, Shared::new(Strong), members).unwrap();
        let arcs = arcs(&ring);
        assert_eq!(arcs.first().unwrap().from, 0.0);
        assert_eq!(arcs.last().unwrap().to, 1.0);
        for w in arcs.windows(2) {
            assert_eq!(w[0].to, w[1].from);
            assert_ne!(w[0].replica, w[1].replica, "runs are merged");
        }
        // 3 x 4 virtual nodes: at most 12 arcs (and a split at 0).
        assert!(arcs.len() <= 13, "{}", arcs.len());
        let empty = Ring::empty(1 << 20, 4, Shared::new(Strong));
        assert!(super::arcs(&empty).is_empty());
    }
}
