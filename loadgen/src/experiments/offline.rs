//! `ringlb-load offline`: the counts and key movement computed from
//! the ring alone, for any id range and any family or config.
//!
//! No process is started and nothing is sent; it is the prediction the
//! network experiments are checked against, and it can cover every 6-digit
//! id instead of a 10,000-request sample.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::chart::{self, Figure};
use crate::cli::OfflineArgs;
use crate::keys::{random_ids, IdRange, SIX_DIGITS};
use crate::offline::{counts, moves, RingModel, SlotWeights};
use crate::setup::{parse_poly, server_names, Setup, DEFAULT_POLY};
use crate::stats::{Balance, Moves};

use super::markdown::{pct, table};
use super::{find_conf_dir, LabError};

/// One family over one id set.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyOffline {
    pub family: String,
    pub about: String,
    pub slots: u64,
    pub vnodes: u32,
    pub ids: String,
    pub keys: u64,
    /// Distinct request slots the ids reach.
    pub distinct_slots: usize,
    pub per_n: Vec<NRow>,
}

/// One N.
#[derive(Debug, Clone, Serialize)]
pub struct NRow {
    pub n: usize,
    pub counts: BTreeMap<String, u64>,
    pub balance: Balance,
    /// Adding Server(N+1).
    pub add: Moves,
    /// Removing each of the N replicas in turn: the mean and the largest
    /// share moved, and the mean collateral share; the ideal is 1/N.
    pub remove_mean: f64,
    pub remove_max: f64,
    pub remove_collateral_mean: f64,
}

/// Which ids to route.
#[derive(Debug, Clone)]
pub enum Ids {
    Range(IdRange),
    List { ids: Vec<u64>, about: String },
}

impl Ids {
    fn describe(&self) -> String {
        match self {
            Ids::Range(r) => format!("all {} ids {r}", r.len()),
            Ids::List { about, .. } => about.clone(),
        }
    }

    fn weights(&self, model: &RingModel) -> SlotWeights {
        match self {
            Ids::Range(r) => model.slots_of(r.iter()),
            Ids::List { ids, .. } => model.slots_of(ids.iter().copied()),
        }
    }
}

pub fn compute(setup: &Setup, ids: &Ids, ns: IdRange) -> Result<FamilyOffline, LabError> {
    let settings = setup.settings()?;
    let model = RingModel::new(&settings);
    let weights = ids.weights(&model);
    let ring = |names: &[String]| {
        model
            .ring(names)
            .map_err(|e| LabError::Other(format!("{}: {e}", setup.label)))
    };
    let mut per_n = Vec::new();
    for n in ns.iter() {
        let n = n as usize;
        let names = server_names(n);
        let base = ring(&names)?;
        let c = counts(&base, &weights);
        let grown = ring(&server_names(n + 1))?;
        let added = format!("Server{}", n + 1);
        let add = moves(&base, &grown, &weights, &added, 1.0 / (n as f64 + 1.0));
        let mut removes = Vec::new();
        if n > 1 {
            for gone in &names {
                let rest: Vec<String> = names.iter().filter(|x| *x != gone).cloned().collect();
                removes.push(moves(&base, &ring(&rest)?, &weights, gone, 1.0 / n as f64));
            }
        }
        let k = removes.len().max(1) as f64;
        per_n.push(NRow {
            n,
            balance: Balance::of(&c),
            counts: c,
            add,
            remove_mean: removes.iter().map(|m| m.share).sum::<f64>() / k,
            remove_max: removes.iter().map(|m| m.share).fold(0.0, f64::max),
            remove_collateral_mean: removes
                .iter()
                .map(|m| m.collateral as f64 / m.keys.max(1) as f64)
                .sum::<f64>()
                / k,
        });
    }
    Ok(FamilyOffline {
        family: setup.label.clone(),
        about: setup.about.clone(),
        slots: settings.ring.slots,
        vnodes: settings.ring.vnodes,
        ids: ids.describe(),
        keys: weights.keys(),
        distinct_slots: weights.distinct(),
        per_n,
    })
}

pub fn table_of(results: &[FamilyOffline]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .flat_map(|f| {
            f.per_n.iter().map(move |r| {
                vec![
                    f.family.clone(),
                    r.n.to_string(),
                    f.distinct_slots.to_string(),
                    format!("{:.3}", r.balance.busiest_over_mean),
                    pct(r.balance.busiest_share),
                    r.counts.values().filter(|v| **v == 0).count().to_string(),
                    format!("{} / {}", pct(r.add.share), pct(r.add.ideal)),
                    pct(r.add.collateral as f64 / r.add.keys.max(1) as f64),
                    format!(
                        "{} (max {}) / {}",
                        pct(r.remove_mean),
                        pct(r.remove_max),
                        pct(1.0 / r.n as f64)
                    ),
                    pct(r.remove_collateral_mean),
                ]
            })
        })
        .collect();
    table(
        &[
            "family",
            "N",
            "slots reached",
            "busiest/mean",
            "busiest share",
            "idle replicas",
            "add one: moved / ideal",
            "add: collateral",
            "remove one: moved / ideal",
            "remove: collateral",
        ],
        &rows,
    )
}

pub fn figure(results: &[FamilyOffline]) -> Figure {
    let lines: Vec<(String, Vec<(f64, f64)>)> = results
        .iter()
        .map(|f| {
            let pts = f
                .per_n
                .iter()
                .map(|r| (r.n as f64, r.balance.busiest_over_mean))
                .collect();
            (f.family.clone(), pts)
        })
        .collect();
    let ids = results.first().map(|r| r.ids.as_str()).unwrap_or("");
    super::a4::balance_figure(&format!("offline: busiest / mean vs N ({ids})"), &lines)
}

pub fn section(results: &[FamilyOffline]) -> String {
    let notes: Vec<String> = results
        .iter()
        .map(|f| {
            format!(
                "- **{}** (M = {}, K = {}): the ids reach {} distinct slots.",
                f.family, f.slots, f.vnodes, f.distinct_slots
            )
        })
        .collect();
    format!(
        "Computed with `ringlb::ring` alone over {}; replicas Server1..ServerN. \
         \"Remove one\" is averaged over which replica is removed.\n\n{}\n\n{}",
        results.first().map(|r| r.ids.as_str()).unwrap_or("no ids"),
        notes.join("\n"),
        table_of(results)
    )
}

/// The setups `offline` was asked for.
pub fn setups(args: &OfflineArgs) -> Result<Vec<Setup>, LabError> {
    let poly = match &args.poly {
        Some(p) => parse_poly(p).map_err(LabError::Other)?,
        None => DEFAULT_POLY,
    };
    let mut out = Vec::new();
    let names: Vec<&String> = args.families.iter().filter(|f| !f.is_empty()).collect();
    if !names.is_empty() {
        let conf = find_conf_dir(args.conf_dir.clone())?;
        for f in names {
            out.push(Setup::family(f, &conf, &poly)?);
        }
    }
    out.extend(args.config.iter().map(|p| Setup::config(p)));
    Ok(out)
}

pub fn command(args: OfflineArgs) -> Result<(), LabError> {
    let ids = match (args.ids, args.requests) {
        (Some(r), _) => Ids::Range(r),
        (None, Some(n)) => Ids::List {
            ids: random_ids(n, args.seed),
            about: format!("{n} random 6-digit ids (seed {})", args.seed),
        },
        (None, None) => Ids::Range(SIX_DIGITS),
    };
    let mut results = Vec::new();
    for s in setups(&args)? {
        results.push(compute(&s, &ids, args.ns)?);
    }
    let md = section(&results);
    if let Some(out) = &args.out {
        chart::save(&figure(&results), &out.join("img"), "offline").map_err(LabError::Other)?;
        let path = out.join("offline.md");
        std::fs::write(&path, &md)
            .map_err(|e| LabError::Other(format!("write {}: {e}", path.display())))?;
    }
    if args.json {
        let text =
            serde_json::to_string_pretty(&results).map_err(|e| LabError::Other(e.to_string()))?;
        println!("{text}");
    } else {
        println!("{md}");
    }
    Ok(())
}
