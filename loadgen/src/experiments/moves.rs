//! How many keys move when the membership changes, per family.
//!
//! A consistent hash should move only the keys that must move: adding a
//! replica to N should move about 1/(N+1) of the keys, all of them to the
//! new replica; removing one of N should move its own 1/N and nothing else.
//! Moves between replicas that stayed ("collateral") are what linear
//! probing on a small ring can cause. The same ids are sent before and after
//! each change and compared id by id; the offline ring predicts the same.

use serde::Serialize;

use crate::chart::{Bars, Figure, Panel};
use crate::cli::FamiliesArgs;
use crate::offline::{self, RingModel};
use crate::setup::server_names;
use crate::stats::Moves;

use super::markdown::{image, pct, table};
use super::sweep::{self, Sweep};
use super::{Lab, LabError};

/// One family's two changes, measured and predicted.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyMoves {
    pub family: String,
    pub add: Change,
    pub remove: Change,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// e.g. "add Server4 to N = 3".
    pub what: String,
    pub network: Moves,
    pub offline: Moves,
}

pub async fn command(args: FamiliesArgs) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let results = run(&lab, &args.families, &[]).await?;
    lab.save(&figure(&results), "moves")?;
    lab.publish("moves", &section(&results), &results)
}

/// N = 3, then Server4 added, then Server2 removed from the N = 3 ring.
/// Steps already measured with the same ids in `prior` sweeps (A-2 has N = 3
/// and N = 4) are reused rather than sent again.
pub async fn run(
    lab: &Lab,
    families: &[String],
    prior: &[Sweep],
) -> Result<Vec<FamilyMoves>, LabError> {
    let base = server_names(3);
    let grown = server_names(4);
    let shrunk = vec!["Server1".to_string(), "Server3".to_string()];
    let mut out = Vec::new();
    for f in families {
        let setup = lab.setup(f)?;
        let model = RingModel::new(&setup.settings()?);
        let earlier = prior.iter().find(|s| s.family == setup.label);
        let reused = |m: &[String]| {
            earlier
                .and_then(|s| s.steps.iter().find(|st| st.members == m))
                .map(|st| st.owners.clone())
        };
        let (b, g, s) = match (reused(&base), reused(&grown)) {
            (Some(b), Some(g)) => {
                let sweep = sweep::run(lab, &setup, std::slice::from_ref(&shrunk)).await?;
                (b, g, sweep.steps[0].owners.clone())
            }
            _ => {
                let sweep =
                    sweep::run(lab, &setup, &[base.clone(), grown.clone(), shrunk.clone()]).await?;
                let [b, g, s] = [0, 1, 2].map(|i| sweep.steps[i].owners.clone());
                (b, g, s)
            }
        };
        let ids = lab.plan.keys().into_iter().flatten();
        let weights = model.slots_of(ids);
        let ring = |m: &[String]| {
            model
                .ring(m)
                .map_err(|e| LabError::Other(format!("offline ring: {e}")))
        };
        let (rb, rg, rs) = (ring(&base)?, ring(&grown)?, ring(&shrunk)?);
        out.push(FamilyMoves {
            family: setup.label.clone(),
            add: Change {
                what: "add Server4 to N = 3".into(),
                network: Moves::between(&b, &g, "Server4", 0.25),
                offline: offline::moves(&rb, &rg, &weights, "Server4", 0.25),
            },
            remove: Change {
                what: "remove Server2 from N = 3".into(),
                network: Moves::between(&b, &s, "Server2", 1.0 / 3.0),
                offline: offline::moves(&rb, &rs, &weights, "Server2", 1.0 / 3.0),
            },
        });
    }
    Ok(out)
}

/// Keys moved when growing N -> N+1 in an A-2 sweep (same ids each step).
pub fn growth(sweep: &Sweep) -> Vec<(usize, Moves)> {
    sweep
        .steps
        .windows(2)
        .filter(|w| w[1].members.len() == w[0].members.len() + 1)
        .filter_map(|w| {
            let added = w[1].members.iter().find(|m| !w[0].members.contains(m))?;
            let n = w[0].members.len();
            Some((
                n,
                Moves::between(&w[0].owners, &w[1].owners, added, 1.0 / (n as f64 + 1.0)),
            ))
        })
        .collect()
}

pub fn figure(results: &[FamilyMoves]) -> Figure {
    let top = results
        .iter()
        .flat_map(|r| {
            [
                r.add.network.share,
                r.remove.network.share,
                r.remove.network.ideal,
            ]
        })
        .fold(0.0, f64::max);
    let panels = results
        .iter()
        .map(|r| {
            Panel::Bars(Bars {
                title: format!("{}: keys moved", r.family),
                x_label: String::new(),
                y_label: "share of keys".into(),
                bars: vec![
                    ("add: moved".into(), r.add.network.share),
                    ("ideal 1/4".into(), r.add.network.ideal),
                    ("remove: moved".into(), r.remove.network.share),
                    ("ideal 1/3".into(), r.remove.network.ideal),
                ],
                colors: vec![0, 7, 1, 7],
                y_max: Some(top * 1.2),
                reference: None,
                percent: true,
            })
        })
        .collect();
    Figure {
        title: Some("Keys moved by adding Server4 / removing Server2 (N = 3)".into()),
        cols: results.len().max(1),
        size: (520 * results.len().max(1) as u32, 520),
        panels,
    }
}

pub fn table_of(results: &[FamilyMoves]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .flat_map(|r| {
            [&r.add, &r.remove].map(|c| {
                vec![
                    r.family.clone(),
                    c.what.clone(),
                    pct(c.network.share),
                    pct(c.offline.share),
                    pct(c.network.ideal),
                    pct(c.network.collateral as f64 / c.network.keys.max(1) as f64),
                ]
            })
        })
        .collect();
    table(
        &[
            "family",
            "change",
            "moved (network)",
            "moved (offline)",
            "ideal",
            "collateral",
        ],
        &rows,
    )
}

pub fn section(results: &[FamilyMoves]) -> String {
    format!(
        "The same ids were sent at N = 3, after adding Server4, and after removing Server2 \
         (from the N = 3 ring); a key moved if a different replica answered it. \
         \"Collateral\" moves are between replicas present both before and after: \
         an ideal consistent hash has none. With no collateral moves, \"moved\" is exactly the share \
         the added replica takes or the removed one had, so a distance from the ideal is a balance \
         problem (the replica's share was not 1/N), not extra movement.\n\n{}\n{}",
        image("moves", "keys moved per family"),
        table_of(results)
    )
}
