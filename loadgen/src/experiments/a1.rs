//! 10,000 requests on N = 3, requests per replica as a bar chart.

use crate::chart::{Bars, Figure, Panel};
use crate::cli::SweepArgs;
use crate::setup::{server_names, Setup};

use super::markdown::{check, image, pct, table};
use super::sweep::{self, Step, Sweep};
use super::{Lab, LabError};

/// The family (or config) a1/a2 were asked for.
pub fn chosen(lab: &Lab, args: &SweepArgs) -> Result<Setup, LabError> {
    match &args.config {
        Some(path) => Ok(Setup::config(path)),
        None => lab.setup(&args.family),
    }
}

pub async fn command(args: SweepArgs) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let setup = chosen(&lab, &args)?;
    let sweep = sweep::run(&lab, &setup, &[server_names(3)]).await?;
    let stem = format!("a1-{}", sweep.family);
    lab.save(&Figure::single(Panel::Bars(panel(&sweep, None)?)), &stem)?;
    lab.publish("a1", &section(&sweep, &stem)?, &sweep)
}

fn step3(sweep: &Sweep) -> Result<&Step, LabError> {
    sweep
        .at(3)
        .ok_or_else(|| LabError::Other("no N = 3 measurement".into()))
}

/// The bar chart of the N = 3 step; `y_max` aligns panels side by side.
pub fn panel(sweep: &Sweep, y_max: Option<f64>) -> Result<Bars, LabError> {
    let s = step3(sweep)?;
    let total: u64 = s.counts.values().sum();
    Ok(Bars {
        title: format!("A-1 {}: {} requests, N = 3", sweep.family, total),
        x_label: "replica".into(),
        y_label: "requests".into(),
        bars: s
            .counts
            .iter()
            .map(|(k, v)| (k.clone(), *v as f64))
            .collect(),
        colors: Vec::new(),
        y_max,
        reference: Some((total as f64 / 3.0, "even share (total / 3)".into())),
        percent: false,
    })
}

/// The markdown section: chart, per-replica table, run summary.
pub fn section(sweep: &Sweep, stem: &str) -> Result<String, LabError> {
    let s = step3(sweep)?;
    let total: u64 = s.counts.values().sum::<u64>().max(1);
    let rows: Vec<Vec<String>> = s
        .counts
        .iter()
        .map(|(name, n)| {
            vec![
                name.clone(),
                n.to_string(),
                s.offline.get(name).copied().unwrap_or(0).to_string(),
                pct(*n as f64 / total as f64),
            ]
        })
        .collect();
    let r = &s.report;
    Ok(format!(
        "Family **{}** ({}); {}.\n\n{}\n{}\n\
         Busiest replica **{}** with **{}** of requests, busiest/mean **{:.3}**. \
         Network counts equal the offline ring's for every id: {}. \
         {:.0} req/s at concurrency {}; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         errors: {} non-2xx, {} connection.\n",
        sweep.family,
        sweep.about,
        sweep.keys,
        image(stem, "A-1 requests per replica"),
        table(&["replica", "requests (network)", "requests (offline ring)", "share"], &rows),
        s.balance.busiest,
        pct(s.balance.busiest_share),
        s.balance.busiest_over_mean,
        check(s.matches_offline),
        r.requests_per_s,
        r.concurrency,
        r.latency.p50_ms,
        r.latency.p90_ms,
        r.latency.p99_ms,
        r.latency.max_ms,
        r.errors.non_2xx_total(),
        r.errors.connection_total(),
    ))
}
