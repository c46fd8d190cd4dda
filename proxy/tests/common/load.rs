//! A paced load generator for failover tests: up to `rate` requests per
//! second for `duration`, each with a random 6-digit `X-Request-Id`,
//! recording every outcome with its start time and latency.
//!
//! The pace is a ceiling, not a promise: a worker whose requests are slow
//! falls behind and sends fewer, and nothing is sent after `duration`, so
//! the number of samples is the rate actually achieved. A worker that
//! panics fails the run instead of vanishing from the results.

use std::time::{Duration, Instant};

/// One request's outcome.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the request started, since the load began.
    pub at: Duration,
    pub latency: Duration,
    /// HTTP status, or 0 for a transport error.
    pub status: u16,
    /// The replica named in the body (`Hello from Server: <name>`), if any.
    pub replica: Option<String>,
    pub body: String,
}

/// Runs the load on its own runtime; blocks until done.
pub fn run(url: String, rate: u32, duration: Duration) -> Vec<Sample> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let workers = 32u32;
        let gap = Duration::from_secs_f64(f64::from(workers) / f64::from(rate));
        let begin = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..workers {
            let client = client.clone();
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                let mut next = begin + gap.mul_f64(f64::from(w) / f64::from(workers));
                let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ (u64::from(w) << 32 | 1);
                let end = begin + duration;
                while next < end {
                    tokio::time::sleep_until(next.into()).await;
                    if Instant::now() >= end {
                        break;
                    }
                    // Behind schedule: skip the missed slots, never burst.
                    next = (next + gap).max(Instant::now());
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let id = 100_000 + x % 900_000;
                    let started = Instant::now();
                    let at = started - begin;
                    let result = client
                        .get(&url)
                        .header("X-Request-Id", id.to_string())
                        .send()
                        .await;
                    let (status, body) = match result {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            (s, r.text().await.unwrap_or_default())
                        }
                        Err(e) => (0, e.to_string()),
                    };
                    let replica = body
                        .split("Hello from Server: ")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .map(str::to_string);
                    out.push(Sample {
                        at,
                        latency: started.elapsed(),
                        status,
                        replica,
                        body,
                    });
                }
                out
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("a load worker panicked"));
        }
        all.sort_by_key(|s| s.at);
        all
    })
}
