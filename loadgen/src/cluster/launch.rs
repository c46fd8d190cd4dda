//! Starting ringlb for an experiment through `ringlb-harness`, and stopping
//! it for certain.
//!
//! The harness writes the config, picks the ports, starts ringlb in its own
//! process group with a parent-death signal, waits until `/rep` lists the
//! expected number of replicas, and stops ringlb when its guard drops. On
//! top of that an experiment waits for one `/home` through the proxy to
//! succeed, because its first measurement is exactly such a request.
//!
//! The harness is blocking. It is called through
//! [`tokio::task::block_in_place`], not `spawn_blocking`, on purpose: the
//! parent-death signal is tied to the thread that forks ringlb, and a
//! blocking-pool thread exits when idle, which would SIGTERM ringlb in the
//! middle of an experiment. `block_in_place` forks from the calling thread,
//! so start clusters from the task that drives the experiment (`main`'s
//! `block_on`, the main thread), not a spawned one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::Uri;
use ringlb_harness::{Launch, Ringlb};
use tokio::runtime::{Handle, RuntimeFlavor};

use super::{Binaries, ClusterError};
use crate::client::HttpClient;

/// How long ringlb may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// ringlb's own graceful shutdown is at most a few seconds; past this the
/// harness kills it.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(25);

/// A running ringlb; stopped when dropped (by the harness's guard).
pub struct Cluster {
    lb: Ringlb,
    pub proxy: SocketAddr,
    pub admin: SocketAddr,
    pub(super) client: HttpClient,
}

impl Cluster {
    /// Starts ringlb with the config `yaml` on two free ports and waits
    /// until `replicas` replicas are listed and `/home` answers.
    pub async fn start(
        bins: &Binaries,
        yaml: &str,
        replicas: usize,
    ) -> Result<Cluster, ClusterError> {
        let began = Instant::now();
        let mut launch = Launch::new(&bins.ringlb, yaml);
        launch.replicas = Some(replicas);
        launch.ready_within = START_TIMEOUT;
        // The harness sets RUST_LOG=info; a caller's own setting wins, as
        // it did when ringlb inherited this process's environment.
        if let Ok(level) = std::env::var("RUST_LOG") {
            launch.env.push(("RUST_LOG".into(), level));
        }
        let lb = blocking(|| Ringlb::launch(&launch))?;
        let cluster = Cluster {
            proxy: lb.proxy,
            admin: lb.admin,
            lb,
            client: HttpClient::new(4, Duration::from_secs(30)),
        };
        cluster
            .wait_serving(began + START_TIMEOUT)
            .await
            .map(|()| cluster)
    }

    async fn wait_serving(&self, deadline: Instant) -> Result<(), ClusterError> {
        let probe = HttpClient::new(1, Duration::from_secs(1));
        loop {
            let last = match probe.get(&self.proxy_uri("/home")).await {
                Ok(r) if r.status.is_success() => return Ok(()),
                Ok(r) => format!("/home answered {}", r.status),
                Err(e) => format!("/home: {e}"),
            };
            if Instant::now() > deadline {
                return Err(ClusterError::NotServing {
                    secs: START_TIMEOUT.as_secs(),
                    last,
                    log: self.log_tail(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// ringlb's pid (the parent of its replica processes).
    pub fn pid(&self) -> u32 {
        self.lb.pid()
    }

    /// `http://<proxy>/<path>`.
    pub fn proxy_uri(&self, path: &str) -> Uri {
        uri(self.proxy, path)
    }

    /// `http://<admin>/<path>`.
    pub fn admin_uri(&self, path: &str) -> Uri {
        uri(self.admin, path)
    }

    /// The last lines ringlb wrote (for error messages).
    pub fn log_tail(&self) -> String {
        let log = self.lb.log();
        let mut from = log.len().saturating_sub(4096);
        while !log.is_char_boundary(from) {
            from += 1;
        }
        log[from..].to_string()
    }

    /// Stops ringlb (SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]) and waits.
    pub async fn stop(mut self) {
        let lb = &mut self.lb;
        blocking(|| lb.stop(libc::SIGTERM, STOP_TIMEOUT));
        // Dropping the harness's guard removes the work folder.
    }
}

/// Runs blocking harness code from async code without stalling the other
/// tasks of a multi-threaded runtime, on the calling thread (see the
/// module comment); on a current-thread runtime there is no other worker
/// to hand the tasks to, so it simply blocks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn uri(addr: SocketAddr, path: &str) -> Uri {
    // An ip:port and a path starting with '/' always form a valid URI; the
    // fallback only keeps this infallible.
    format!("http://{addr}{path}")
        .parse()
        .unwrap_or_else(|_| Uri::from_static("http://127.0.0.1/"))
}
