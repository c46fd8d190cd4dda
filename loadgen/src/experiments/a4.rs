//! A-4: A-1 and A-2 for several hash families, side by side on the same
//! axes, plus busiest/mean against N for all of them in one chart.

use plotters::style::RGBColor;

use crate::chart::{Corner, Figure, Lines, Marker, Panel, Series};
use crate::cli::FamiliesArgs;
use crate::keys::IdRange;

use super::markdown::{image, pct, table};
use super::sweep::{self, Sweep};
use super::{a1, a2, Lab, LabError};

pub async fn command(args: FamiliesArgs) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let sweeps = run(&lab, &args.families, args.ns).await?;
    save_figures(&lab, &sweeps)?;
    lab.publish("a4", &section(&sweeps), &sweeps)
}

/// One A-2 sweep per family (its N = 3 step is that family's A-1).
pub async fn run(lab: &Lab, families: &[String], ns: IdRange) -> Result<Vec<Sweep>, LabError> {
    let mut out = Vec::new();
    for f in families {
        let setup = lab.setup(f)?;
        out.push(sweep::run(lab, &setup, &a2::memberships(ns)).await?);
    }
    Ok(out)
}

pub fn save_figures(lab: &Lab, sweeps: &[Sweep]) -> Result<(), LabError> {
    lab.save(&grid(sweeps)?, "a4")?;
    lab.save(&balance(sweeps), "a4-balance")
}

/// Row 1: A-1 bars per family; row 2: A-2 spread per family; shared y axes.
pub fn grid(sweeps: &[Sweep]) -> Result<Figure, LabError> {
    let top = |s: &Sweep, n: Option<usize>| {
        s.steps
            .iter()
            .filter(|st| n.is_none_or(|n| st.members.len() == n))
            .flat_map(|st| st.counts.values().copied())
            .max()
            .unwrap_or(0) as f64
    };
    let a1_max = sweeps.iter().map(|s| top(s, Some(3))).fold(0.0, f64::max) * 1.12;
    let a2_max = sweeps.iter().map(|s| top(s, None)).fold(0.0, f64::max) * 1.45;
    let mut panels = Vec::new();
    for s in sweeps {
        panels.push(Panel::Bars(a1::panel(s, Some(a1_max))?));
    }
    for s in sweeps {
        panels.push(Panel::Spread(a2::panel(s, Some(a2_max))));
    }
    Ok(Figure {
        title: Some("A-4: the same ids under each hash family".into()),
        cols: sweeps.len().max(1),
        size: (560 * sweeps.len().max(1) as u32, 1000),
        panels,
    })
}

/// Busiest/mean against N, one line per family.
pub fn balance(sweeps: &[Sweep]) -> Figure {
    let lines: Vec<(String, Vec<(f64, f64)>)> = sweeps
        .iter()
        .map(|s| {
            let pts = s
                .steps
                .iter()
                .map(|st| (st.members.len() as f64, st.balance.busiest_over_mean))
                .collect();
            (s.family.clone(), pts)
        })
        .collect();
    balance_figure("busiest replica / mean load vs N", &lines)
}

/// Two panels: every family on a scale from 0, and the families that stay
/// within 1.5 zoomed in (a skewed family would flatten them into one line).
pub fn balance_figure(title: &str, lines: &[(String, Vec<(f64, f64)>)]) -> Figure {
    let markers = vec![
        Marker {
            label: "perfect (1.0)".into(),
            at: 1.0,
            vertical: false,
            color: RGBColor(0, 0, 0),
        },
        Marker {
            label: "target <= 1.10".into(),
            at: 1.10,
            vertical: false,
            color: RGBColor(127, 127, 127),
        },
    ];
    let close = |pts: &[(f64, f64)]| pts.iter().all(|p| p.1 <= 1.5);
    let series = |only_close: bool| -> Vec<Series> {
        lines
            .iter()
            .enumerate()
            .filter(|(_, (_, pts))| !only_close || close(pts))
            .map(|(i, (name, pts))| Series {
                name: name.clone(),
                color: i,
                points: pts.clone(),
            })
            .collect()
    };
    let panel = |title: String, series: Vec<Series>, from_zero: bool| {
        Panel::Lines(Lines {
            title,
            x_label: "N (replicas)".into(),
            y_label: "busiest / mean (1 = perfect)".into(),
            series,
            markers: markers.clone(),
            dots: true,
            y_decimals: if from_zero { 1 } else { 2 },
            x_decimals: 0,
            y_from_zero: from_zero,
            legend: Corner::UpperLeft,
        })
    };
    Figure {
        title: Some(title.to_string()),
        panels: vec![
            panel("all families".into(), series(false), true),
            panel("zoom: families within 1.5".into(), series(true), false),
        ],
        cols: 2,
        size: (1400, 560),
    }
}

/// Family x N table of busiest/mean, and each family's A-1 counts.
pub fn summary(sweeps: &[Sweep]) -> String {
    let ns: Vec<usize> = sweeps
        .first()
        .map(|s| s.steps.iter().map(|st| st.members.len()).collect())
        .unwrap_or_default();
    let mut headers: Vec<String> = vec![
        "family".into(),
        "A-1 counts (N = 3)".into(),
        "A-1 busiest".into(),
    ];
    headers.extend(ns.iter().map(|n| format!("busiest/mean N={n}")));
    let rows: Vec<Vec<String>> = sweeps
        .iter()
        .map(|s| {
            let a1 = s.at(3);
            let mut row = vec![
                s.family.clone(),
                a1.map(|st| {
                    st.counts
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
                a1.map(|st| pct(st.balance.busiest_share))
                    .unwrap_or_default(),
            ];
            row.extend(
                s.steps
                    .iter()
                    .map(|st| format!("{:.3}", st.balance.busiest_over_mean)),
            );
            row
        })
        .collect();
    let h: Vec<&str> = headers.iter().map(String::as_str).collect();
    table(&h, &rows)
}

pub fn section(sweeps: &[Sweep]) -> String {
    let families: Vec<String> = sweeps
        .iter()
        .map(|s| format!("- **{}**: {}", s.family, s.about))
        .collect();
    let all_match = sweeps
        .iter()
        .all(|s| s.steps.iter().all(|st| st.matches_offline));
    format!(
        "Families:\n\n{}\n\nEach family got the same ids ({}), at N = 3 (top row, A-1) \
         and at every N (bottom row, A-2); axes are shared so the panels compare directly.\n\n{}\n{}\n{}\n\
         Every run matched the offline ring id for id: {}.\n",
        families.join("\n"),
        sweeps.first().map(|s| s.keys.as_str()).unwrap_or(""),
        image("a4", "A-4 families side by side"),
        image("a4-balance", "busiest/mean vs N per family"),
        summary(sweeps),
        super::markdown::check(all_match),
    )
}
