//! Sending a planned list of requests with bounded concurrency.
//!
//! `concurrency` workers pull the next request index from a shared counter
//! until the list is exhausted, so at most that many requests are in flight
//! and the total is exactly the list's length. With a pace, request `i` is
//! not sent before `start + i * pace / total`: a steady load whose rate does
//! not depend on how fast the balancer answers, which is what a failure
//! timeline needs.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Method, Uri};
use indicatif::{ProgressBar, ProgressStyle};

use crate::client::{HttpClient, Transport};
use crate::reply::replica_of;

/// What to send.
#[derive(Debug, Clone)]
pub struct Load {
    pub uri: Uri,
    /// The key header; `None` sends no key at all.
    pub header: Option<HeaderName>,
    /// One entry per request; `None` sends that request without a key.
    pub keys: Vec<Option<u64>>,
    pub concurrency: usize,
    /// Spread the requests evenly over this long instead of sending them as
    /// fast as possible.
    pub pace: Option<Duration>,
    /// Show a progress bar (only ever drawn when stderr is a terminal).
    pub progress: bool,
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx; the replica that answered, if the body said so.
    Served(Option<String>),
    /// A response with a non-2xx status.
    Status(u16),
    /// No response.
    Transport(Transport),
}

/// One request's record.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was sent, from the start of the run.
    pub sent: Duration,
    pub latency: Duration,
    pub outcome: Outcome,
}

/// Every request's record, in sending order, and the run's wall time.
#[derive(Debug, Clone)]
pub struct Run {
    pub samples: Vec<Sample>,
    pub elapsed: Duration,
}

/// Sends every request of `load` and records how each went.
pub async fn fire(client: &HttpClient, load: &Load) -> Run {
    let total = load.keys.len();
    let bar = progress_bar(load.progress, total as u64);
    let next = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(load.keys.clone());
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..load.concurrency.clamp(1, total.max(1)) {
        let worker = Worker {
            client: client.clone(),
            uri: load.uri.clone(),
            header: load.header.clone(),
            keys: keys.clone(),
            next: next.clone(),
            pace: load.pace,
            start,
            bar: bar.clone(),
        };
        workers.push(tokio::spawn(worker.run()));
    }
    let mut indexed = Vec::with_capacity(total);
    for w in workers {
        // A worker only ends by running out of work; a panic there is a bug.
        if let Ok(mut part) = w.await {
            indexed.append(&mut part);
        }
    }
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    indexed.sort_by_key(|(i, _)| *i);
    Run {
        samples: indexed.into_iter().map(|(_, s)| s).collect(),
        elapsed,
    }
}

struct Worker {
    client: HttpClient,
    uri: Uri,
    header: Option<HeaderName>,
    keys: Arc<Vec<Option<u64>>>,
    next: Arc<AtomicUsize>,
    pace: Option<Duration>,
    start: Instant,
    bar: ProgressBar,
}

impl Worker {
    async fn run(self) -> Vec<(usize, Sample)> {
        let total = self.keys.len();
        let mut out = Vec::new();
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= total {
                return out;
            }
            if let Some(pace) = self.pace {
                let due = self.start + pace.mul_f64(i as f64 / total as f64);
                tokio::time::sleep_until(due.into()).await;
            }
            let key = self.keys[i];
            let header = match (&self.header, key) {
                (Some(name), Some(k)) => Some((name, HeaderValue::from(k))),
                _ => None,
            };
            let sent = Instant::now();
            let result = self.client.send(Method::GET, &self.uri, header, None).await;
            let latency = sent.elapsed();
            let outcome = match result {
                Ok(r) if r.status.is_success() => Outcome::Served(replica_of(&r.body)),
                Ok(r) => Outcome::Status(r.status.as_u16()),
                Err(e) => Outcome::Transport(e),
            };
            out.push((
                i,
                Sample {
                    sent: sent - self.start,
                    latency,
                    outcome,
                },
            ));
            self.bar.inc(1);
        }
    }
}

fn progress_bar(wanted: bool, total: u64) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} requests, {per_sec} ({eta})")
    {
        bar.set_style(style);
    }
    bar
}
