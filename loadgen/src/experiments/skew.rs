//! Balance beyond uniform keys: `zipf` (a few hot keys) and `slow` (one slow
//! replica), each run through several balancers over identical replicas:
//! ringlb with the plain ring, with bounded loads (c = 1.25 and 1.5, each
//! with the least-loaded walk, which is the default, the clockwise walk and
//! the random jump), with Maglev, and HAProxy with `hash-type consistent`,
//! without and with `hash-balance-factor 125`.
//!
//! Per balancer:
//! * **served busiest/mean**: requests answered by the busiest replica over
//!   the mean.
//! * **in flight busiest/mean**: each replica's time-averaged requests in
//!   flight, by Little's law the sum of its requests' latencies over the
//!   run. The same client-side estimate is used for every balancer, so
//!   ringlb and HAProxy are measured alike.
//! * **p99**: client latency.
//! * **owner share**: requests served by the replica that the same
//!   balancer's unbounded variant chose for the key, i.e. cache affinity.
//!   For the unbounded rows this is 100% by definition.
//!
//! The replicas are `ringlb-backend` processes answering `/home` after
//! `--delay-ms`, with `--workers` answers at a time (more queue): servers
//! of limited capacity, so an overloaded replica gets slower, as real ones
//! do. ringlb starts its own, named `Server1..` (see [`Launcher`]); HAProxy
//! gets the same kind started here. Everything is stopped at the end.
//!
//! The load is open loop by default: a steady rate at `--utilisation` of
//! the replicas' nominal capacity, the situation bounded loads are for (a
//! hot replica overloaded while the others have room). With
//! `--utilisation 0` it is closed loop at `--concurrency`, where every
//! replica is saturated and serves about 1/N whatever the balancer does,
//! so no balancer can keep more at the owner than the placement allows.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http::{HeaderName, Uri};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use ringlb_harness::Backend;
use serde::Serialize;

use super::markdown::table;
use super::{Lab, LabError};
use crate::chart::{Bars, Figure, Panel};
use crate::cli::SkewArgs;
use crate::cluster::Cluster;
use crate::fire::{fire, Load, Outcome, Run};
use crate::stats::percentile;

/// One balancer's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub balancer: String,
    pub requests: usize,
    pub failed: usize,
    pub served_busiest_over_mean: f64,
    pub in_flight_busiest_over_mean: f64,
    pub p99_ms: f64,
    pub owner_share: Option<f64>,
    /// The most requests this run could have served at their key's owner,
    /// given how many each replica served: `sum_i min(o_i, s_i) / total`,
    /// where `o_i` counts the requests whose key replica `i` owns (the
    /// unbounded mapping) and `s_i` those it served. A replica that served
    /// fewer requests than it owns must have sent the rest elsewhere (in a
    /// saturated, closed-loop run each serves about what its workers can,
    /// whatever `c` allows). The gap between this and the owner share is
    /// what the choice of *which* requests to move lost.
    pub owner_ceiling: Option<f64>,
}

/// The ringlb balancers, in report order: (label, lines of the `ring:`
/// section). "bounded" alone is the default walk (least loaded).
const RINGLB_ROWS: [(&str, &str); 8] = [
    ("ringlb plain", ""),
    ("ringlb bounded c=1.25", "    bounded_load: 1.25\n"),
    ("ringlb bounded c=1.5", "    bounded_load: 1.5\n"),
    (
        "ringlb bounded c=1.25 clockwise",
        "    bounded_load: 1.25\n    bounded_walk: clockwise\n",
    ),
    (
        "ringlb bounded c=1.5 clockwise",
        "    bounded_load: 1.5\n    bounded_walk: clockwise\n",
    ),
    (
        "ringlb bounded c=1.25 jump",
        "    bounded_load: 1.25\n    bounded_walk: jump\n",
    ),
    (
        "ringlb bounded c=1.5 jump",
        "    bounded_load: 1.5\n    bounded_walk: jump\n",
    ),
    ("ringlb maglev", "    family: maglev\n"),
];

/// The rows `churn` runs: plain, bounded (default walk) and Maglev.
const CHURN_ROWS: [&str; 3] = ["ringlb plain", "ringlb bounded c=1.25", "ringlb maglev"];

pub async fn zipf(args: SkewArgs) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let keys = zipf_keys(args.lab.requests, args.universe, args.s, args.lab.seed);
    let hottest = share_of_top(&keys, 5);
    let delays = vec![args.delay_ms; args.replicas];
    let offered = Offered::new(args.utilisation, args.workers, &delays);
    let rows = run(&lab, &args, &keys, &delays, offered).await?;
    let intro = format!(
        "{} requests, ids drawn from {} keys with Zipf s = {} (the 5 hottest keys carry {:.1}% of them), \
         {}, {} replicas answering after {} ms with {} workers each (more requests queue).",
        keys.len(),
        args.universe,
        args.s,
        100.0 * hottest,
        offered.describe(lab.concurrency),
        args.replicas,
        args.delay_ms,
        args.workers
    );
    report(&lab, "zipf", "Zipf-distributed keys", &intro, &rows)
}

pub async fn slow(args: SkewArgs) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let mut rng = StdRng::seed_from_u64(args.lab.seed);
    let keys: Vec<u64> = (0..args.lab.requests)
        .map(|_| rng.random_range(100_000..1_000_000))
        .collect();
    let mut delays = vec![args.delay_ms; args.replicas];
    delays[0] = args.slow_ms;
    let offered = Offered::new(args.utilisation, args.workers, &delays);
    let rows = run(&lab, &args, &keys, &delays, offered).await?;
    let intro = format!(
        "{} requests with uniform random 6-digit ids, {}, {} replicas with {} workers each (more requests queue): Server1 answers after {} ms, the others after {} ms.",
        keys.len(),
        offered.describe(lab.concurrency),
        args.replicas,
        args.workers,
        args.slow_ms,
        args.delay_ms
    );
    report(&lab, "slow", "One slow replica", &intro, &rows)
}

/// Membership changes under Zipf keys: each ringlb variant serves the
/// requests with four replicas, a fifth is added (`/add`), and the same
/// requests run again. A key "moved" if the replica that served it most
/// changed; the owner share after the change is against the variant's own
/// mapping before it.
pub async fn churn(args: SkewArgs) -> Result<(), LabError> {
    let lab = Lab::new(&args.lab)?;
    let keys = zipf_keys(args.lab.requests, args.universe, args.s, args.lab.seed);
    let delays = vec![args.delay_ms; args.replicas + 1];
    let offered = Offered::new(args.utilisation, args.workers, &delays[1..]);
    let replicas = Launcher::new(&lab, args.workers, &delays)?;
    let names = replicas.names();
    let (before_set, added) = names.split_at(args.replicas);
    let mut rows = Vec::new();
    for (label, ring) in RINGLB_ROWS
        .into_iter()
        .filter(|(label, _)| CHURN_ROWS.contains(label))
    {
        let cluster = Cluster::start(
            &lab.bins,
            &replicas.ringlb_yaml(args.replicas, ring),
            before_set.len(),
        )
        .await?;
        let before = load(&lab, cluster.proxy_uri("/home"), &keys, offered).await;
        cluster.add(&added[..1]).await?;
        let after = load(&lab, cluster.proxy_uri("/home"), &keys, offered).await;
        cluster.stop().await;
        let (own_before, own_after) = (owners(&keys, &before), owners(&keys, &after));
        let moved = own_before
            .iter()
            .filter(|(k, name)| own_after.get(*k).is_some_and(|n| n != *name))
            .count();
        let mut r = row(label, &keys, &after, names.len(), Some(&own_before));
        // Against the mapping before the change, the ceiling means nothing.
        r.owner_ceiling = None;
        r.balancer = format!(
            "{label}: keys moved {:.1}%",
            100.0 * moved as f64 / own_before.len().max(1) as f64
        );
        rows.push(r);
        eprintln!("{label}: done");
    }
    let intro = format!(
        "{} requests over {} Zipf keys (s = {}) with {} replicas, then the same after `/add` of a {}th; {}, replicas answering after {} ms with {} workers. \
         \"At the key's owner\" is after the change, against the replica that served the key before it; the ideal share of keys to move is 1/{} = {:.1}%.",
        keys.len(),
        args.universe,
        args.s,
        args.replicas,
        args.replicas + 1,
        offered.describe(lab.concurrency),
        args.delay_ms,
        args.workers,
        args.replicas + 1,
        100.0 / (args.replicas + 1) as f64
    );
    lab.publish(
        "churn",
        &section("Membership change under hot keys", &intro, &rows, None),
        &rows,
    )
}

/// Starts the replicas, runs every balancer over them in turn, stops all.
async fn run(
    lab: &Lab,
    args: &SkewArgs,
    keys: &[u64],
    delays: &[u64],
    offered: Offered,
) -> Result<Vec<Row>, LabError> {
    let launcher = Launcher::new(lab, args.workers, delays)?;
    let mut rows = Vec::new();
    let mut reference: Option<HashMap<u64, String>> = None;
    for (label, ring) in RINGLB_ROWS {
        let yaml = launcher.ringlb_yaml(delays.len(), ring);
        let cluster = Cluster::start(&lab.bins, &yaml, delays.len()).await?;
        let run = load(lab, cluster.proxy_uri("/home"), keys, offered).await;
        cluster.stop().await;
        let own = owners(keys, &run);
        let compare = match label {
            "ringlb plain" => {
                reference = Some(own);
                None
            }
            "ringlb maglev" => None,
            _ => reference.as_ref(),
        };
        rows.push(row(label, keys, &run, delays.len(), compare));
        eprintln!("{label}: done");
    }
    match which_haproxy(&args.haproxy) {
        Some(haproxy) => {
            let replicas = start_replicas(lab, args.workers, delays);
            let addrs: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
            let mut reference = None;
            for (label, factor) in [
                ("HAProxy consistent", None),
                ("HAProxy balance-factor 125", Some(125)),
            ] {
                let ha = HaProxy::start(&haproxy, &addrs, factor)?;
                wait_serving(lab, &ha.uri()).await?;
                let run = load(lab, ha.uri(), keys, offered).await;
                drop(ha);
                let own = owners(keys, &run);
                let compare = if factor.is_none() {
                    reference = Some(own);
                    None
                } else {
                    reference.as_ref()
                };
                rows.push(row(label, keys, &run, addrs.len(), compare));
                eprintln!("{label}: done");
            }
        }
        None => {
            eprintln!("haproxy not found: its rows are left out (install it, or pass --haproxy)")
        }
    }
    Ok(rows)
}

/// `ringlb-backend` (`--backend`, else the one next to ringlb).
fn backend_binary(lab: &Lab) -> PathBuf {
    lab.bins
        .backend
        .clone()
        .unwrap_or_else(|| lab.bins.ringlb.with_file_name("ringlb-backend"))
}

/// The replicas for ringlb's rows, which ringlb starts itself (the
/// `process` provisioner) under the names `Server1..`, as `make run` does.
/// A ring over fixed names places the keys the same way on every run;
/// replicas named by a fresh `host:port` would give another placement each
/// time, and with a few hot keys the placement decides how much of the
/// load one replica owns. A script in front of `ringlb-backend` gives
/// `Server<i+1>` its delay `delays[i]` (the last one for any later name)
/// and `workers`.
struct Launcher {
    dir: tempfile::TempDir,
    replicas: usize,
}

impl Launcher {
    fn new(lab: &Lab, workers: usize, delays: &[u64]) -> Result<Launcher, LabError> {
        let err = |e: std::io::Error| LabError::Other(format!("replica launcher: {e}"));
        let backend = backend_binary(lab);
        let backend = backend
            .to_str()
            .filter(|b| !b.contains('\''))
            .ok_or_else(|| {
                LabError::Other(format!("{} cannot be quoted for sh", backend.display()))
            })?;
        let cases: String = delays
            .iter()
            .enumerate()
            .map(|(i, d)| format!("  Server{}) delay={d} ;;\n", i + 1))
            .collect();
        let last = delays.last().copied().unwrap_or(0);
        let script = format!(
            "#!/bin/sh\ncase \"$SERVER_ID\" in\n{cases}  *) delay={last} ;;\nesac\n\
             exec '{backend}' \"$@\" --delay-ms \"$delay\" --workers {workers}\n"
        );
        let dir = tempfile::tempdir().map_err(err)?;
        let path = dir.path().join("replica.sh");
        std::fs::write(&path, script).map_err(err)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(err)?;
        Ok(Launcher {
            dir,
            replicas: delays.len(),
        })
    }

    /// `Server1..` for every delay given.
    fn names(&self) -> Vec<String> {
        (1..=self.replicas).map(|i| format!("Server{i}")).collect()
    }

    /// ringlb's config: the first `initial` names, with `ring` (lines of
    /// the `ring:` section, or empty).
    fn ringlb_yaml(&self, initial: usize, ring: &str) -> String {
        let names = self.names();
        let ring = if ring.is_empty() {
            String::new()
        } else {
            format!("  ring:\n{ring}")
        };
        format!(
            "version: 1\nthreads: 1\nwork_stealing: false\ngrace_period_seconds: 0\n\
             graceful_shutdown_timeout_seconds: 1\nupstream_keepalive_pool_size: 256\nringlb:\n{ring}\
             \x20 upstream:\n    read_timeout_ms: 10000\n  replicas:\n    provisioner: process\n    binary: '{}'\n    \
             initial: [{}]\n",
            self.dir.path().join("replica.sh").display(),
            names[..initial.min(names.len())].join(", ")
        )
    }
}

/// `Server1..` as `ringlb-backend` processes the lab starts (for HAProxy),
/// answering after `delays[i]` ms with `workers` each.
fn start_replicas(lab: &Lab, workers: usize, delays: &[u64]) -> Vec<Backend> {
    let backend = backend_binary(lab);
    delays
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (delay, workers) = (d.to_string(), workers.to_string());
            let id = format!("Server{}", i + 1);
            Backend::start_with(
                &backend,
                &id,
                &["--delay-ms", &delay, "--workers", &workers],
            )
        })
        .collect()
}

/// How the requests are sent: as fast as the concurrency allows, or at a
/// steady rate that is a fraction of what the replicas can serve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offered {
    /// Closed loop: every replica stays saturated.
    Saturating,
    /// Open loop at this many requests per second.
    Rate(f64),
}

impl Offered {
    /// `utilisation` of the nominal capacity `sum_i workers / delay_i`
    /// (a replica with no delay counts as 1 ms); 0 saturates.
    pub fn new(utilisation: f64, workers: usize, delays: &[u64]) -> Offered {
        let capacity: f64 = delays
            .iter()
            .map(|d| workers as f64 * 1000.0 / (*d).max(1) as f64)
            .sum();
        if utilisation > 0.0 && capacity > 0.0 {
            Offered::Rate(utilisation * capacity)
        } else {
            Offered::Saturating
        }
    }

    /// The spacing that sends `requests` at this rate.
    fn pace(self, requests: usize) -> Option<Duration> {
        match self {
            Offered::Saturating => None,
            Offered::Rate(r) => Some(Duration::from_secs_f64(requests as f64 / r)),
        }
    }

    fn describe(self, concurrency: usize) -> String {
        match self {
            Offered::Saturating => format!("{concurrency} in flight at once (closed loop)"),
            Offered::Rate(r) => format!(
                "sent at a steady {r:.0} requests/s (open loop, at most {concurrency} in flight)"
            ),
        }
    }
}

async fn load(lab: &Lab, uri: Uri, keys: &[u64], offered: Offered) -> Run {
    fire(
        &lab.client,
        &Load {
            uri,
            header: Some(HeaderName::from_static("x-request-id")),
            keys: keys.iter().map(|k| Some(*k)).collect(),
            concurrency: lab.concurrency,
            pace: offered.pace(keys.len()),
            progress: false,
        },
    )
    .await
}

/// Each key's replica: the one that served it most often in `run`.
fn owners(keys: &[u64], run: &Run) -> HashMap<u64, String> {
    let mut tally: HashMap<u64, HashMap<String, usize>> = HashMap::new();
    for (k, s) in keys.iter().zip(&run.samples) {
        if let Outcome::Served(Some(name)) = &s.outcome {
            *tally
                .entry(*k)
                .or_default()
                .entry(name.clone())
                .or_default() += 1;
        }
    }
    tally
        .into_iter()
        .filter_map(|(k, by)| {
            by.into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(name, _)| (k, name))
        })
        .collect()
}

/// See [`Row::owner_ceiling`]: `owner` maps keys to their owner,
/// `served` counts what each replica served.
fn owner_ceiling(keys: &[u64], owner: &HashMap<u64, String>, served: &HashMap<&str, usize>) -> f64 {
    let mut owned: HashMap<&str, usize> = HashMap::new();
    for k in keys {
        if let Some(o) = owner.get(k) {
            *owned.entry(o).or_default() += 1;
        }
    }
    let total: usize = served.values().sum();
    let kept: usize = owned
        .iter()
        .map(|(r, n)| (*n).min(served.get(r).copied().unwrap_or(0)))
        .sum();
    kept as f64 / total.max(1) as f64
}

fn row(
    label: &str,
    keys: &[u64],
    run: &Run,
    replicas: usize,
    owner: Option<&HashMap<u64, String>>,
) -> Row {
    let mut served: HashMap<&str, usize> = HashMap::new();
    let mut busy: HashMap<&str, f64> = HashMap::new();
    let mut latencies = Vec::with_capacity(run.samples.len());
    let (mut failed, mut at_owner, mut ok) = (0, 0, 0);
    for (k, s) in keys.iter().zip(&run.samples) {
        latencies.push(s.latency);
        match &s.outcome {
            Outcome::Served(Some(name)) => {
                ok += 1;
                *served.entry(name).or_default() += 1;
                *busy.entry(name).or_default() += s.latency.as_secs_f64();
                if owner.is_some_and(|o| o.get(k) == Some(name)) {
                    at_owner += 1;
                }
            }
            _ => failed += 1,
        }
    }
    latencies.sort();
    let n = replicas as f64;
    let busiest = |m: &HashMap<&str, f64>| {
        let total: f64 = m.values().sum();
        let top = m.values().cloned().fold(0.0, f64::max);
        if total > 0.0 {
            top / (total / n)
        } else {
            0.0
        }
    };
    let served_f: HashMap<&str, f64> = served.iter().map(|(k, v)| (*k, *v as f64)).collect();
    Row {
        balancer: label.to_string(),
        requests: run.samples.len(),
        failed,
        served_busiest_over_mean: busiest(&served_f),
        in_flight_busiest_over_mean: busiest(&busy),
        p99_ms: percentile(&latencies, 99.0).as_secs_f64() * 1000.0,
        owner_share: owner.map(|_| at_owner as f64 / ok.max(1) as f64),
        owner_ceiling: owner.map(|o| owner_ceiling(keys, o, &served)),
    }
}

/// The chart `img/<stem>.png` and the markdown `<stem>.md`.
fn report(lab: &Lab, stem: &str, title: &str, intro: &str, rows: &[Row]) -> Result<(), LabError> {
    lab.save(&figure(title, rows), stem)?;
    lab.publish(stem, &section(title, intro, rows, Some(stem)), &rows)
}

/// Three panels, one bar per balancer: the busiest replica's load, p99,
/// and the share of requests kept at the key's owner.
fn figure(title: &str, rows: &[Row]) -> Figure {
    let short = |r: &Row| {
        r.balancer
            .replace("ringlb ", "")
            .replace("bounded ", "")
            .replace(" clockwise", " cw")
            .replace("HAProxy balance-factor", "HAProxy bf")
            .replace("HAProxy consistent", "HAProxy")
    };
    let bars = |title: &str, y: &str, value: &dyn Fn(&Row) -> f64, percent: bool| {
        Panel::Bars(Bars {
            title: title.into(),
            x_label: "balancer".into(),
            y_label: y.into(),
            bars: rows.iter().map(|r| (short(r), value(r))).collect(),
            colors: Vec::new(),
            y_max: None,
            reference: None,
            percent,
        })
    };
    Figure {
        title: Some(title.into()),
        panels: vec![
            bars(
                "busiest replica's in-flight load / mean",
                "busiest / mean",
                &|r| r.in_flight_busiest_over_mean,
                false,
            ),
            bars("p99 latency", "ms", &|r| r.p99_ms, false),
            bars(
                "requests at the key's owner",
                "share",
                &|r| r.owner_share.unwrap_or(1.0),
                true,
            ),
        ],
        cols: 1,
        size: (1100, 1200),
    }
}

/// The markdown: title, intro, the chart `img/<stem>.png` if any, table.
fn section(title: &str, intro: &str, rows: &[Row], stem: Option<&str>) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.balancer.clone(),
                format!("{:.2}", r.in_flight_busiest_over_mean),
                format!("{:.2}", r.served_busiest_over_mean),
                format!("{:.1}", r.p99_ms),
                r.owner_share
                    .map_or("(reference)".into(), |s| format!("{:.1}%", 100.0 * s)),
                r.owner_ceiling
                    .map_or("-".into(), |s| format!("{:.1}%", 100.0 * s)),
                format!("{}", r.failed),
            ]
        })
        .collect();
    format!(
        "## {title}\n\n{intro}\n\n{}{}\n",
        stem.map_or(String::new(), |stem| format!(
            "![{title}](img/{stem}.png)\n\n"
        )),
        table(
            &[
                "balancer",
                "in flight busiest/mean",
                "served busiest/mean",
                "p99 ms",
                "at the key's owner",
                "owner ceiling",
                "failed"
            ],
            &body
        )
    )
}

/// `requests` ids from `universe` distinct random 6-digit keys, the k-th
/// most popular drawn with probability proportional to 1 / k^s.
pub fn zipf_keys(requests: usize, universe: usize, s: f64, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids: Vec<u64> = (100_000..1_000_000).step_by(7).collect();
    ids.shuffle(&mut rng);
    ids.truncate(universe.max(1));
    let mut cdf = Vec::with_capacity(ids.len());
    let mut total = 0.0;
    for k in 1..=ids.len() {
        total += 1.0 / (k as f64).powf(s);
        cdf.push(total);
    }
    (0..requests)
        .map(|_| {
            let x = rng.random::<f64>() * total;
            ids[cdf.partition_point(|c| *c < x).min(ids.len() - 1)]
        })
        .collect()
}

fn share_of_top(keys: &[u64], top: usize) -> f64 {
    let mut count: HashMap<u64, usize> = HashMap::new();
    for k in keys {
        *count.entry(*k).or_default() += 1;
    }
    let mut c: Vec<usize> = count.into_values().collect();
    c.sort_unstable_by(|a, b| b.cmp(a));
    c.iter().take(top).sum::<usize>() as f64 / keys.len().max(1) as f64
}

fn which_haproxy(given: &Option<PathBuf>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.clone());
    }
    let out = Command::new("which").arg("haproxy").output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// HAProxy over the same replicas; killed on drop.
struct HaProxy {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl HaProxy {
    fn start(
        binary: &PathBuf,
        addrs: &[SocketAddr],
        factor: Option<u32>,
    ) -> Result<HaProxy, LabError> {
        let err = |e: std::io::Error| LabError::Other(format!("haproxy: {e}"));
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(err)?
            .port();
        let dir = tempfile::tempdir().map_err(err)?;
        let servers: String = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("  server Server{} {a}\n", i + 1))
            .collect();
        let balance = factor.map_or(String::new(), |f| format!("  hash-balance-factor {f}\n"));
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n  nbthread 1\n  maxconn 2000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  \
                 timeout server 30s\n  option http-keep-alive\n  http-reuse always\nfrontend fe\n  bind 127.0.0.1:{port}\n  \
                 default_backend be\nbackend be\n  balance hdr(X-Request-Id)\n  hash-type consistent\n{balance}{servers}"
            ),
        )
        .map_err(err)?;
        let child = Command::new(binary)
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(err)?;
        Ok(HaProxy {
            child,
            port,
            _dir: dir,
        })
    }

    fn uri(&self) -> Uri {
        format!("http://127.0.0.1:{}/home", self.port)
            .parse()
            .expect("a valid uri")
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_serving(lab: &Lab, uri: &Uri) -> Result<(), LabError> {
    for _ in 0..200 {
        if let Ok(r) = lab.client.get(uri).await {
            if r.status.is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(LabError::Other(format!("{uri} did not answer within 5 s")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_ceiling_is_what_the_served_counts_allow() {
        // Keys 1 (6 requests) and 2 (2) owned by A, 3 (2) by B.
        let keys = [1, 1, 1, 1, 1, 1, 2, 2, 3, 3];
        let owner: HashMap<u64, String> = [(1, "A"), (2, "A"), (3, "B")]
            .map(|(k, o)| (k, o.to_string()))
            .into();
        // A served 5 of its 8, B served 5 (at most its own 2 at home).
        let served = HashMap::from([("A", 5), ("B", 5)]);
        assert!((owner_ceiling(&keys, &owner, &served) - 0.7).abs() < 1e-9);
        let served = HashMap::from([("A", 8), ("B", 2)]);
        assert!((owner_ceiling(&keys, &owner, &served) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn zipf_keys_are_skewed_and_repeatable() {
        let a = zipf_keys(20_000, 1_000, 1.1, 7);
        assert_eq!(a, zipf_keys(20_000, 1_000, 1.1, 7));
        let top = share_of_top(&a, 1);
        // 1 / H(1000, 1.1) is about 0.19.
        assert!((0.15..0.25).contains(&top), "{top}");
        assert!(a.iter().all(|k| (100_000..1_000_000).contains(k)));
    }
}
