//! The command line: `fire` for one load run against a running balancer,
//! one subcommand per analysis experiment (each starts the ringlb it needs),
//! and `offline` for the same numbers from the ring alone.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::keys::IdRange;

/// Load generator and analysis runner for ringlb.
///
/// `fire` loads a balancer that is already running. The experiments (a1,
/// a2, a3, a4, moves, all) each start their own ringlb on free loopback
/// ports (binaries next to this executable unless --ringlb is given), run,
/// stop it, and write charts (SVG + PNG) and markdown into --out.
/// `offline` computes per-replica counts and key movement from the ring
/// alone, with no network.
#[derive(Debug, Parser)]
#[command(name = "ringlb-load", version, about, long_about)]
#[command(after_help = "\
Examples:
  ringlb-load fire --url http://127.0.0.1:5000/home --requests 10000
  ringlb-load a1 --out out                # A-1 with the assignment's hash
  ringlb-load all --out docs              # regenerate docs/analysis.md
  ringlb-load offline --ids 100000..=999999")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send requests to a running balancer; report requests per replica,
    /// req/s, latency percentiles and errors.
    Fire(FireArgs),
    /// 10,000 requests on N = 3; bar chart of requests per replica.
    A1(SweepArgs),
    /// N = 2..6, 10,000 requests each; load per replica with its spread.
    A2(SweepArgs),
    /// exercise every endpoint, then kill -9 a replica under steady
    /// load; timeline of requests per second per replica.
    A3(A3Args),
    /// A-4: A-1 and A-2 for several hash families, side by side.
    A4(FamiliesArgs),
    /// Share of keys that move when a replica is added or removed, per
    /// family, against the ideal 1/(N+1) and 1/N.
    Moves(FamiliesArgs),
    /// Zipf-distributed keys (a few hot ones) through ringlb plain, bounded
    /// (c = 1.25, 1.5), Maglev, and HAProxy with and without
    /// hash-balance-factor 125, over the same replicas.
    Zipf(SkewArgs),
    /// One slow replica, through the same balancers as `zipf`.
    Slow(SkewArgs),
    /// Zipf keys before and after a replica is added: keys moved, p99 and
    /// owner share for ringlb plain, bounded (c = 1.25) and Maglev.
    Churn(SkewArgs),
    /// Every experiment and the offline tables, into OUT/analysis.md with
    /// charts in OUT/img/.
    All(AllArgs),
    /// Per-replica counts, balance and key movement from the ring alone (no
    /// processes, no network), over any id range.
    Offline(OfflineArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SkewArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Replicas (ringlb-backend processes started for the run).
    #[arg(long, default_value_t = 4)]
    pub replicas: usize,
    /// How long every replica takes to answer /home, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub delay_ms: u64,
    /// `slow`: how long Server1 takes instead.
    #[arg(long, default_value_t = 100)]
    pub slow_ms: u64,
    /// Requests each replica serves at once; more queue (a server of
    /// limited capacity, where an overloaded replica gets slower).
    #[arg(long, default_value_t = 16)]
    pub workers: usize,
    /// `zipf`: distinct keys.
    #[arg(long, default_value_t = 1_000)]
    pub universe: usize,
    /// `zipf`: the exponent s.
    #[arg(long, default_value_t = 1.1)]
    pub s: f64,
    /// The haproxy binary (default: haproxy on PATH; without one its rows
    /// are left out).
    #[arg(long, value_name = "PATH")]
    pub haproxy: Option<PathBuf>,
    /// Offered load as a fraction of the replicas' nominal capacity
    /// (replicas x workers / delay), sent at a steady rate whatever the
    /// balancer does (open loop, at most --concurrency in flight). 0 sends
    /// as fast as --concurrency allows (closed loop: every replica stays
    /// saturated, so each serves about 1/N whatever the balancer does).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.6, value_parser = utilisation)]
    pub utilisation: f64,
}

#[derive(Debug, Args)]
pub struct FireArgs {
    /// Where to send the requests.
    #[arg(long, default_value = "http://127.0.0.1:5000/home")]
    pub url: String,
    /// How many requests (ignored with --ids).
    #[arg(long, short = 'n', default_value_t = 10_000)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, short = 'c', default_value_t = 64)]
    pub concurrency: usize,
    /// The header that carries the request key.
    #[arg(long, default_value = "X-Request-Id")]
    pub header_name: String,
    /// Send no key header (ringlb then draws a random id per request).
    #[arg(long)]
    pub no_key: bool,
    /// Send exactly these ids, one request each, in order: FROM..TO or
    /// FROM..=TO.
    #[arg(long, value_name = "FROM..TO")]
    pub ids: Option<IdRange>,
    /// Seed for the random 6-digit ids (default: random, and printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Per-request deadline in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// What every experiment shares.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// Folder for the markdown; charts go to OUT/img/.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Requests per measurement (ignored with --ids).
    #[arg(long, short = 'n', default_value_t = 10_000)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, short = 'c', default_value_t = 64)]
    pub concurrency: usize,
    /// Seed for the random 6-digit ids (the same seed, the same ids).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Send exactly these ids instead of random ones: FROM..TO or FROM..=TO.
    #[arg(long, value_name = "FROM..TO")]
    pub ids: Option<IdRange>,
    /// The ringlb binary (default: next to this executable).
    #[arg(long, value_name = "PATH")]
    pub ringlb: Option<PathBuf>,
    /// The replica binary (default: ringlb-backend next to ringlb).
    #[arg(long, value_name = "PATH")]
    pub backend: Option<PathBuf>,
    /// Where conf/assignment.yaml and conf/ringlb.yaml are (default: ./conf,
    /// else the workspace's conf/ next to target/).
    #[arg(long, value_name = "DIR")]
    pub conf_dir: Option<PathBuf>,
    /// Coefficients of the modified polynomial family `poly`:
    /// "a,b,c;d,e,f,g,h" for H(i) = a i^2 + b i + c and
    /// Phi(i, j) = d i^2 + e i + f j^2 + g j + h (mod M).
    #[arg(long, value_name = "COEFFS")]
    pub poly: Option<String>,
    /// Print the results as JSON on stdout (files are still written).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Hash family: spec (the assignment's), poly (modified polynomial) or
    /// strong (the default).
    #[arg(long, default_value = "spec")]
    pub family: String,
    /// Use this config's ring instead of a named family.
    #[arg(long, value_name = "PATH", conflicts_with = "family")]
    pub config: Option<PathBuf>,
    /// Replica counts (a2 only; a1 is N = 3).
    #[arg(long, value_name = "FROM..=TO", default_value = "2..=6")]
    pub ns: IdRange,
}

#[derive(Debug, Args)]
pub struct FamiliesArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Families to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "spec,poly,strong")]
    pub families: Vec<String>,
    /// Replica counts for the A-2 part of A-4.
    #[arg(long, value_name = "FROM..=TO", default_value = "2..=6")]
    pub ns: IdRange,
}

#[derive(Debug, Args, Clone)]
pub struct A3Args {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Hash family for the failure run.
    #[arg(long, default_value = "strong")]
    pub family: String,
    /// Steady load in requests per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Length of the steady load in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// When to kill the replica, in seconds from the start of the load.
    #[arg(long, default_value_t = 3.5)]
    pub kill_at: f64,
    /// The replica to kill.
    #[arg(long, default_value = "Server2")]
    pub victim: String,
    /// Keep the dead replica's hostname for its replacement (default: a
    /// fresh name, as the assignment describes).
    #[arg(long)]
    pub same_name: bool,
    /// Timeline bin width in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub bin_ms: u64,
}

#[derive(Debug, Args)]
pub struct AllArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Families to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "spec,poly,strong")]
    pub families: Vec<String>,
}

#[derive(Debug, Args)]
pub struct OfflineArgs {
    /// Families to compute, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "spec,poly,strong")]
    pub families: Vec<String>,
    /// Also (or instead, with --families "") compute for these configs.
    #[arg(long, value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// Ids to route (default: all 6-digit ids, 100000..=999999).
    #[arg(long, value_name = "FROM..TO")]
    pub ids: Option<IdRange>,
    /// Route this many random 6-digit ids from --seed instead of a range
    /// (the list a network run with the same flags sends).
    #[arg(long, short = 'n', conflicts_with = "ids")]
    pub requests: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Replica counts.
    #[arg(long, value_name = "FROM..=TO", default_value = "2..=6")]
    pub ns: IdRange,
    /// Where conf/ is (see `a1 --help`).
    #[arg(long, value_name = "DIR")]
    pub conf_dir: Option<PathBuf>,
    /// Coefficients of `poly` (see `a1 --help`).
    #[arg(long, value_name = "COEFFS")]
    pub poly: Option<String>,
    /// Also write OUT/offline.md and charts in OUT/img/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `--utilisation`: a fraction of capacity, 0 (closed loop) up to 10.
fn utilisation(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|u| (0.0..=10.0).contains(u))
        .ok_or_else(|| format!("must be a number from 0 (closed loop) to 10, got {s:?}"))
}
