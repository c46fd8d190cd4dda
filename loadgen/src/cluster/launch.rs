//! Starting ringlb, waiting until it serves, and stopping it for certain.
//!
//! Readiness is observed, never assumed after a sleep: the admin `/rep` must
//! list the expected number of replicas and one `/home` through the proxy
//! must succeed. The child runs in its own process group (a Ctrl-C reaches
//! only this tool, which then stops ringlb in order) and gets SIGTERM if this
//! process dies first, as a backstop to the [`Drop`] guard for the cases a
//! destructor cannot cover (`panic = "abort"`, SIGKILL). The parent-death
//! signal is tied to the forking thread, so start clusters from the task
//! that drives the experiment (the main thread), not a spawned one.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use http::Uri;

use super::{ports, Binaries, ClusterError};
use crate::client::HttpClient;

/// How long ringlb may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// ringlb's own graceful shutdown is at most a few seconds; past this the
/// guard kills it.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(25);

/// A running ringlb; stopped when dropped.
pub struct Cluster {
    child: Child,
    pub proxy: SocketAddr,
    pub admin: SocketAddr,
    pub(super) client: HttpClient,
    workdir: PathBuf,
    log: PathBuf,
}

static STARTED: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    /// Writes `yaml` to a fresh work directory, starts ringlb on two free
    /// ports and waits until `replicas` replicas serve.
    pub async fn start(
        bins: &Binaries,
        yaml: &str,
        replicas: usize,
    ) -> Result<Cluster, ClusterError> {
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let workdir = std::env::temp_dir().join(format!("ringlb-load-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&workdir)
            .map_err(|e| ClusterError::io(format!("create {}", workdir.display()), e))?;
        let config = workdir.join("ringlb.yaml");
        std::fs::write(&config, yaml)
            .map_err(|e| ClusterError::io(format!("write {}", config.display()), e))?;
        let log = workdir.join("ringlb.log");
        let out = File::create(&log)
            .map_err(|e| ClusterError::io(format!("create {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| ClusterError::io("duplicate log handle", e))?;
        let (proxy, admin) =
            ports::two_free_ports().map_err(|e| ClusterError::io("find free ports", e))?;

        let mut cmd = Command::new(&bins.ringlb);
        cmd.arg("-c")
            .arg(&config)
            .arg("--listen")
            .arg(proxy.to_string())
            .arg("--admin-listen")
            .arg(admin.to_string())
            .current_dir(&workdir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpgid(0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| ClusterError::io(format!("start {}", bins.ringlb.display()), e))?;
        let mut cluster = Cluster {
            child,
            proxy,
            admin,
            client: HttpClient::new(4, Duration::from_secs(30)),
            workdir,
            log,
        };
        cluster.wait_ready(replicas).await?;
        Ok(cluster)
    }

    async fn wait_ready(&mut self, replicas: usize) -> Result<(), ClusterError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let probe = HttpClient::new(1, Duration::from_secs(1));
        loop {
            let last;
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ClusterError::Exited {
                    status: status.to_string(),
                    log: self.log_tail(),
                });
            }
            match self.listing_with(&probe).await {
                Ok(names) if names.len() == replicas => {
                    match probe.get(&self.proxy_uri("/home")).await {
                        Ok(r) if r.status.is_success() => return Ok(()),
                        Ok(r) => last = format!("/home answered {}", r.status),
                        Err(e) => last = format!("/home: {e}"),
                    }
                }
                Ok(names) => last = format!("{} of {replicas} replicas up", names.len()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() > deadline {
                return Err(ClusterError::NotReady {
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
        self.child.id()
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
        tail(&self.log, 4096)
    }

    /// Stops ringlb (SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]) and waits.
    pub async fn stop(mut self) {
        signal(&self.child, libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        // Drop kills it if it is still there and removes the work directory.
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            signal(&self.child, libc::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: signalling our own, not yet reaped, child.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn uri(addr: SocketAddr, path: &str) -> Uri {
    // An ip:port and a path starting with '/' always form a valid URI; the
    // fallback only keeps this infallible.
    format!("http://{addr}{path}")
        .parse()
        .unwrap_or_else(|_| Uri::from_static("http://127.0.0.1/"))
}

fn tail(path: &PathBuf, bytes: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
