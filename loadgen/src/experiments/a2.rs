//! N = 2..6 with 10,000 requests each; the mean load per replica and
//! its spread (least and most loaded replica) as N grows.

use crate::chart::{Figure, Panel, Spread};
use crate::cli::SweepArgs;
use crate::keys::IdRange;
use crate::setup::server_names;

use super::markdown::{check, image, pct, table};
use super::sweep::{self, Sweep};
use super::{Lab, LabError};

/// `Server1..ServerN` for every N of the range.
pub fn memberships(ns: IdRange) -> Vec<Vec<String>> {
    ns.iter().map(|n| server_names(n as usize)).collect()
}

pub async fn command(args: SweepArgs) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let setup = super::a1::chosen(&lab, &args)?;
    let sweep = sweep::run(&lab, &setup, &memberships(args.ns)).await?;
    let stem = format!("a2-{}", sweep.family);
    lab.save(&Figure::single(Panel::Spread(panel(&sweep, None))), &stem)?;
    lab.publish("a2", &section(&sweep, &stem), &sweep)
}

pub fn panel(sweep: &Sweep, y_max: Option<f64>) -> Spread {
    Spread {
        title: format!("A-2 {}: requests per replica vs N", sweep.family),
        x_label: "N (replicas)".into(),
        y_label: "requests per replica".into(),
        points: sweep
            .steps
            .iter()
            .map(|s| {
                (
                    s.members.len() as u32,
                    s.counts.values().map(|v| *v as f64).collect(),
                )
            })
            .collect(),
        y_max,
    }
}

/// The per-N table.
pub fn table_of(sweep: &Sweep) -> String {
    let rows: Vec<Vec<String>> = sweep
        .steps
        .iter()
        .map(|s| {
            let b = &s.balance;
            vec![
                s.members.len().to_string(),
                b.min.to_string(),
                format!("{:.0}", b.mean),
                b.max.to_string(),
                format!("{:.3}", b.busiest_over_mean),
                format!("{} ({})", b.busiest, pct(b.busiest_share)),
                s.counts.values().filter(|v| **v == 0).count().to_string(),
                format!("{:.0}", s.report.requests_per_s),
                format!("{:.2}", s.report.latency.p99_ms),
                (s.report.errors.non_2xx_total() + s.report.errors.connection_total()).to_string(),
                check(s.matches_offline),
            ]
        })
        .collect();
    table(
        &[
            "N",
            "min",
            "mean",
            "max",
            "busiest/mean",
            "busiest",
            "idle replicas",
            "req/s",
            "p99 ms",
            "errors",
            "= offline",
        ],
        &rows,
    )
}

pub fn section(sweep: &Sweep, stem: &str) -> String {
    let worst = sweep
        .steps
        .iter()
        .map(|s| s.balance.busiest_over_mean)
        .fold(0.0, f64::max);
    let best = sweep
        .steps
        .iter()
        .map(|s| s.balance.busiest_over_mean)
        .fold(f64::INFINITY, f64::min);
    format!(
        "Family **{}** ({}); {} at every N, the same ids each time.\n\n{}\n{}\n\
         The mean is always requests / N; what scales or not is the spread. \
         Busiest/mean ranges from {:.3} to {:.3} over these N ({}).\n",
        sweep.family,
        sweep.about,
        sweep.keys,
        image(stem, "A-2 load per replica vs N"),
        table_of(sweep),
        best,
        worst,
        verdict(worst),
    )
}

/// One sentence on what a worst busiest/mean means for adding replicas.
pub fn verdict(worst: f64) -> &'static str {
    if worst <= 1.10 {
        "adding replicas divides the load evenly: it scales"
    } else if worst <= 1.5 {
        "adding replicas helps, but the busiest replica stays noticeably above the mean"
    } else {
        "adding replicas barely relieves the busiest one: it does not scale"
    }
}
