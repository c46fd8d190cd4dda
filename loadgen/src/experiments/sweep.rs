//! The measurement under and the movement experiment: one
//! ringlb, a sequence of memberships, the same ids sent at each.
//!
//! Sending the same ids at every step is what makes steps comparable key by
//! key (which keys moved), and each step is checked against the offline
//! ring for the same members and ids.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::{Lab, LabError};
use crate::offline::{owners, RingModel};
use crate::report::FireReport;
use crate::setup::Setup;
use crate::stats::Balance;

/// One membership and what the same ids did on it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub members: Vec<String>,
    pub report: FireReport,
    /// 2xx answers per replica over the network, every member listed.
    pub counts: BTreeMap<String, u64>,
    /// What the ring predicts for the same ids.
    pub offline: BTreeMap<String, u64>,
    /// Every id answered by the replica the ring predicts.
    pub matches_offline: bool,
    pub balance: Balance,
    /// The replica that answered each id, in sending order.
    #[serde(skip)]
    pub owners: Vec<Option<String>>,
}

/// A family measured over a sequence of memberships.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub family: String,
    pub about: String,
    pub keys: String,
    pub steps: Vec<Step>,
    pub seconds: f64,
}

impl Sweep {
    /// The step with `n` replicas, if measured.
    pub fn at(&self, n: usize) -> Option<&Step> {
        self.steps.iter().find(|s| s.members.len() == n)
    }
}

/// Starts ringlb with the first membership, then for each membership sets
/// it through the admin API and fires the planned ids.
pub async fn run(lab: &Lab, setup: &Setup, memberships: &[Vec<String>]) -> Result<Sweep, LabError> {
    let started = Instant::now();
    let first = memberships
        .first()
        .ok_or_else(|| LabError::Other("no membership to measure".into()))?;
    let model = RingModel::new(&setup.settings()?);
    let keys = lab.plan.keys();
    let cluster = lab.start(setup, first.len(), false).await?;
    let mut steps = Vec::new();
    for members in memberships {
        cluster.set_members(members).await?;
        eprintln!(
            "{}: N = {} ({}), {}",
            setup.label,
            members.len(),
            members.join(", "),
            lab.plan.describe()
        );
        let run = lab.fire(&cluster, &keys).await;
        let report = FireReport::new(
            &run,
            &cluster.proxy_uri("/home").to_string(),
            lab.plan.describe(),
            lab.concurrency,
        );
        let ring = model
            .ring(members)
            .map_err(|e| LabError::Other(format!("offline ring: {e}")))?;
        let predicted = owners(&ring, &keys);
        let observed: Vec<Option<String>> = run
            .samples
            .iter()
            .map(|s| match &s.outcome {
                crate::fire::Outcome::Served(r) => r.clone(),
                _ => None,
            })
            .collect();
        let counts = with_all(members, &report.per_replica);
        let offline = with_all(members, &tally(&predicted));
        let matches_offline = observed == predicted;
        steps.push(Step {
            members: members.clone(),
            balance: Balance::of(&counts),
            report,
            counts,
            offline,
            matches_offline,
            owners: observed,
        });
    }
    cluster.stop().await;
    Ok(Sweep {
        family: setup.label.clone(),
        about: setup.about.clone(),
        keys: lab.plan.describe(),
        steps,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn tally(owners: &[Option<String>]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for o in owners.iter().flatten() {
        *out.entry(o.clone()).or_insert(0) += 1;
    }
    out
}

/// `counts` with every member present (0 for idle ones).
fn with_all(members: &[String], counts: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = members.iter().map(|m| (m.clone(), 0)).collect();
    for (k, v) in counts {
        *out.entry(k.clone()).or_insert(0) += v;
    }
    out
}
