//! exercise every endpoint, then show that a crashed replica is
//! replaced quickly while a steady load runs.

mod endpoints;
mod failure;

use std::time::{Duration, Instant};

use plotters::style::RGBColor;
use serde::Serialize;

use crate::chart::{Corner, Figure, Lines, Marker, Panel, Series};
use crate::cli::A3Args;
use crate::fire::{fire, Load};
use crate::keys::random_ids;
use crate::report::FireReport;
use crate::setup::server_names;

pub use endpoints::Probe;
pub use failure::KillEvents;

use super::markdown::{check, image, table};
use super::{Lab, LabError};

/// Everything A-3 measured.
#[derive(Debug, Clone, Serialize)]
pub struct A3 {
    pub family: String,
    pub probes: Vec<Probe>,
    pub rate: u32,
    pub duration_s: f64,
    pub events: KillEvents,
    pub report: FireReport,
    pub bin_ms: u64,
    /// Requests/s per replica (and "errors") per bin: `(bin centre s, rate)`.
    pub timeline: Vec<(String, Vec<(f64, f64)>)>,
    pub seconds: f64,
}

pub async fn command(args: A3Args) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let result = run(&lab, &args).await?;
    lab.save(&figure(&result), "a3")?;
    lab.publish("a3", &section(&result), &result)
}

pub async fn run(lab: &Lab, args: &A3Args) -> Result<A3, LabError> {
    let started = Instant::now();
    let setup = lab.setup(&args.family)?;
    let yaml = setup.yaml(
        &server_names(3),
        lab.bins.backend.as_deref(),
        !args.same_name,
    )?;
    let cluster = crate::cluster::Cluster::start(&lab.bins, &yaml, 3).await?;
    eprintln!("{}: exercising every endpoint", setup.label);
    let probes = endpoints::exercise(&cluster, &lab.client).await;
    cluster.set_members(&server_names(3)).await?;

    let total = (f64::from(args.rate) * args.duration).round() as usize;
    let load = Load {
        uri: cluster.proxy_uri("/home"),
        header: Some(http::HeaderName::from_static("x-request-id")),
        keys: random_ids(total, args.lab.seed)
            .into_iter()
            .map(Some)
            .collect(),
        concurrency: lab.concurrency,
        pace: Some(Duration::from_secs_f64(args.duration)),
        progress: true,
    };
    eprintln!(
        "{}: {} req/s for {} s, kill -9 {} at {} s",
        setup.label, args.rate, args.duration, args.victim, args.kill_at
    );
    let t0 = Instant::now();
    let (run, events) = tokio::join!(
        fire(&lab.client, &load),
        failure::kill_and_watch(
            &cluster,
            &args.victim,
            t0,
            Duration::from_secs_f64(args.kill_at)
        ),
    );
    cluster.stop().await;
    let mut events = events.map_err(LabError::Other)?;
    events.first_served_at_s = failure::first_served(&run, &events);
    let report = FireReport::new(
        &run,
        &load.uri.to_string(),
        format!("{total} random 6-digit ids (seed {}), paced", args.lab.seed),
        lab.concurrency,
    );
    Ok(A3 {
        family: setup.label,
        probes,
        rate: args.rate,
        duration_s: args.duration,
        events,
        report,
        bin_ms: args.bin_ms,
        timeline: failure::timeline(&run, Duration::from_millis(args.bin_ms.max(1)))
            .into_iter()
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

pub fn figure(r: &A3) -> Figure {
    // Replicas take palette colours 0, 1, 2, 4, 5, ...; 3 (red) is for errors.
    let mut next = 0;
    let series = r
        .timeline
        .iter()
        .map(|(name, pts)| {
            let c = if name == "errors" {
                3
            } else {
                next += 1;
                if next > 3 {
                    next
                } else {
                    next - 1
                }
            };
            Series {
                name: name.clone(),
                color: c,
                points: pts.clone(),
            }
        })
        .collect();
    let ev = &r.events;
    let mut markers = vec![Marker {
        label: format!("kill -9 {} ({:.2} s)", ev.victim, ev.killed_at_s),
        at: ev.killed_at_s,
        vertical: true,
        color: RGBColor(0, 0, 0),
    }];
    if let (Some(t), Some(name)) = (ev.listed_at_s, &ev.replacement) {
        markers.push(Marker {
            label: format!("{name} in /rep ({t:.2} s)"),
            at: t,
            vertical: true,
            color: RGBColor(0, 110, 110),
        });
    }
    Figure::single(Panel::Lines(Lines {
        title: format!(
            "A-3 {}: requests/s per replica, {} req/s steady load, {} ms bins",
            r.family, r.rate, r.bin_ms
        ),
        x_label: "time since the load started (s)".into(),
        y_label: "requests per second".into(),
        series,
        markers,
        dots: false,
        y_decimals: 0,
        x_decimals: 1,
        y_from_zero: true,
        legend: Corner::LowerRight,
    }))
}

pub fn section(r: &A3) -> String {
    let rows: Vec<Vec<String>> = r
        .probes
        .iter()
        .map(|p| {
            vec![
                format!("{} {}", p.method, p.path),
                p.port.to_string(),
                if p.body.is_empty() {
                    String::new()
                } else {
                    format!("`{}`", p.body)
                },
                p.expect_status.to_string(),
                p.status.map_or("none".into(), |s| s.to_string()),
                if p.reply.is_empty() {
                    "(empty)".into()
                } else {
                    format!("`{}`", p.reply.replace('|', "\\|"))
                },
                check(p.ok),
            ]
        })
        .collect();
    let ev = &r.events;
    let ms = |t: Option<f64>| {
        t.map_or("not seen".into(), |t| {
            format!("+{:.0} ms", 1000.0 * (t - ev.killed_at_s))
        })
    };
    let events = table(
        &["event", "time after the kill"],
        &[
            vec![
                format!(
                    "kill -9 {} (pid {}) at {:.2} s",
                    ev.victim, ev.victim_pid, ev.killed_at_s
                ),
                "0".into(),
            ],
            vec![
                format!(
                    "replacement process {} (pid {}) running",
                    ev.replacement.clone().unwrap_or_default(),
                    ev.replacement_pid.map_or("?".into(), |p| p.to_string())
                ),
                ms(ev.process_replaced_at_s),
            ],
            vec![
                "`/rep` lists N = 3 with the replacement".into(),
                ms(ev.listed_at_s),
            ],
            vec![
                "first request answered by the replacement".into(),
                ms(ev.first_served_at_s),
            ],
        ],
    );
    let e = &r.report.errors;
    format!(
        "Family **{}**, replicas Server1..Server3.\n\n### Every endpoint\n\n{}\n\
         All answered as the spec says: {}.\n\n### A replica killed under load\n\n\
         {} requests paced at {} req/s over {} s; `kill -9` of {}'s process (found as ringlb's child with \
         `SERVER_ID={}` in `/proc/<pid>/environ`).\n\n{}\n{}\n\
         Errors over the whole run: {} non-2xx, {} connection (of {} requests); {:.0} req/s achieved, \
         latency p99 {:.2} ms, max {:.2} ms.\n",
        r.family,
        table(&["call", "port", "body", "expected", "got", "reply", "ok"], &rows),
        check(r.probes.iter().all(|p| p.ok)),
        r.report.requests,
        r.rate,
        r.duration_s,
        ev.victim,
        ev.victim,
        image("a3", "A-3 timeline"),
        events,
        e.non_2xx_total(),
        e.connection_total(),
        r.report.requests,
        r.report.requests_per_s,
        r.report.latency.p99_ms,
        r.report.latency.max_ms,
    )
}
