//! A running `ringlb`: its own folder (config, log), its two addresses, and
//! a guard that stops it.
//!
//! Start-up is observed, never assumed after a sleep: the admin `/rep` must
//! answer (listing the expected number of replicas, when given) and the
//! proxy port must answer HTTP (a connection alone could be a squatter's:
//! Pingora keeps retrying a taken port, so ringlb is up but not there).
//! The child gets its own process group (a Ctrl-C in a terminal reaches
//! only the test, which then stops ringlb in order) and SIGTERM if the thread that started it dies first, a backstop for the
//! cases a destructor cannot cover. Dropping the guard sends SIGTERM, waits,
//! then SIGKILLs; a panicking test prints ringlb's log first.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::http;

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `ringlb` executable.
    pub binary: PathBuf,
    /// The whole YAML config file.
    pub config: String,
    /// Extra environment (`RUST_LOG` defaults to `info`).
    pub env: Vec<(String, String)>,
    /// Wait until `/rep` lists this many replicas (`None`: any number).
    pub replicas: Option<usize>,
    /// How long start-up may take.
    pub ready_within: Duration,
    /// Ports for the first try (proxy, admin); free ones when `None`.
    pub first_ports: Option<(SocketAddr, SocketAddr)>,
    /// The address both listeners bind (loopback unless a test needs
    /// clients that are not on loopback).
    pub ip: IpAddr,
}

impl Launch {
    pub fn new(binary: impl Into<PathBuf>, config: impl Into<String>) -> Launch {
        Launch {
            binary: binary.into(),
            config: config.into(),
            env: Vec::new(),
            replicas: None,
            ready_within: Duration::from_secs(30),
            first_ports: None,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

/// Why ringlb did not come up.
#[derive(Debug)]
pub enum LaunchError {
    Io(String, std::io::Error),
    Exited {
        status: String,
        log: String,
    },
    NotReady {
        last: String,
        log: String,
    },
    /// Another process holds one of the ports (Pingora retries a taken
    /// port for 30 s; the harness tries fresh ports instead).
    PortTaken {
        log: String,
    },
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::Io(what, e) => write!(f, "{what}: {e}"),
            LaunchError::Exited { status, log } => {
                write!(
                    f,
                    "ringlb exited during start-up ({status}); its log:\n{log}"
                )
            }
            LaunchError::NotReady { last, log } => {
                write!(f, "ringlb not ready in time ({last}); its log:\n{log}")
            }
            LaunchError::PortTaken { log } => {
                write!(f, "ringlb's ports kept being taken; its last log:\n{log}")
            }
        }
    }
}

impl std::error::Error for LaunchError {}

/// How a stop went.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// ringlb exited on its own within the limit (not killed by the guard).
    pub by_itself: bool,
    /// From the signal to the exit.
    pub after: Duration,
    pub status: Option<ExitStatus>,
}

/// A running ringlb; stopped on drop.
pub struct Ringlb {
    child: Option<Child>,
    pub proxy: SocketAddr,
    pub admin: SocketAddr,
    dir: tempfile::TempDir,
}

/// The harness's readiness request on the proxy port: not a route and not
/// an admin path, so ringlb answers it itself (a 400) without touching a
/// replica; access-log and metrics tests can tell it from their own.
pub const READY_PATH: &str = "/ringlb-harness-ready";

/// What ringlb logs once its replicas answered and it serves.
const UPGRADED_READY: &str = "replicas ready:";

/// Tries on fresh ports when another process took one first.
const PORT_TRIES: usize = 5;
/// The drop guard's patience before SIGKILL.
const DROP_STOP_LIMIT: Duration = Duration::from_secs(15);

impl Ringlb {
    /// Starts ringlb as `launch` says and waits until it serves.
    pub fn launch(launch: &Launch) -> Result<Ringlb, LaunchError> {
        let mut ports = launch.first_ports;
        for _ in 1..PORT_TRIES {
            match Self::launch_once(launch, ports.take()) {
                Err(LaunchError::PortTaken { .. }) => continue,
                other => return other,
            }
        }
        Self::launch_once(launch, None)
    }

    /// As [`Ringlb::launch`]; panics with ringlb's log on failure.
    pub fn start(launch: &Launch) -> Ringlb {
        Self::launch(launch).unwrap_or_else(|e| panic!("{e}"))
    }

    fn launch_once(
        launch: &Launch,
        ports: Option<(SocketAddr, SocketAddr)>,
    ) -> Result<Ringlb, LaunchError> {
        let (proxy, admin) = match ports {
            Some(p) => p,
            None => two_free_ports(launch.ip)
                .map_err(|e| LaunchError::Io("find free ports".into(), e))?,
        };
        let mut lb = Self::spawn(launch, proxy, admin, &[])?;
        lb.wait_ready(launch)?;
        Ok(lb)
    }

    /// Starts ringlb in a folder of its own, without waiting for it.
    fn spawn(
        launch: &Launch,
        proxy: SocketAddr,
        admin: SocketAddr,
        extra_args: &[&str],
    ) -> Result<Ringlb, LaunchError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |e| LaunchError::Io(what, e)
        };
        let dir = tempfile::Builder::new()
            .prefix("ringlb-")
            .tempdir()
            .map_err(io("create a work folder"))?;
        let config = dir.path().join("ringlb.yaml");
        std::fs::write(&config, &launch.config).map_err(io("write the config"))?;
        let log = File::create(dir.path().join("ringlb.log")).map_err(io("create the log"))?;
        let log2 = log.try_clone().map_err(io("duplicate the log"))?;
        let mut cmd = Command::new(&launch.binary);
        cmd.arg("-c")
            .arg(&config)
            .arg("--listen")
            .arg(proxy.to_string())
            .arg("--admin-listen")
            .arg(admin.to_string())
            .args(extra_args)
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
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
            .map_err(io(&format!("start {}", launch.binary.display())))?;
        Ok(Ringlb {
            child: Some(child),
            proxy,
            admin,
            dir,
        })
    }

    /// Pingora's graceful upgrade, as an operator runs it: starts
    /// `ringlb -u` with `launch` (whose config must name the same
    /// `upgrade_sock` as this one's) on this one's addresses, sends this
    /// one SIGQUIT, and returns the new process once it logged that its
    /// replicas are ready (both serve the same ports for a while, so an
    /// HTTP answer would not say which). This process then exits by itself;
    /// [`Ringlb::wait_exit`] waits for that.
    pub fn upgrade(&mut self, launch: &Launch) -> Result<Ringlb, LaunchError> {
        let mut next = Self::spawn(launch, self.proxy, self.admin, &["-u"])?;
        crate::signal(self.pid(), libc::SIGQUIT);
        let deadline = Instant::now() + launch.ready_within;
        loop {
            if let Some(status) = next.exit_status() {
                return Err(LaunchError::Exited {
                    status: status.to_string(),
                    log: next.log(),
                });
            }
            if next.log().contains(UPGRADED_READY) {
                return Ok(next);
            }
            if Instant::now() > deadline {
                return Err(LaunchError::NotReady {
                    last: format!("no {UPGRADED_READY:?} in its log"),
                    log: next.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits up to `limit` for ringlb to exit by itself (after an upgrade);
    /// kills it after that.
    pub fn wait_exit(&mut self, limit: Duration) -> Stopped {
        self.stop(0, limit)
    }

    fn wait_ready(&mut self, launch: &Launch) -> Result<(), LaunchError> {
        let deadline = Instant::now() + launch.ready_within;
        let want = launch.replicas.map(|n| format!("\"N\": {n},"));
        loop {
            if let Some(status) = self.exit_status() {
                return Err(LaunchError::Exited {
                    status: status.to_string(),
                    log: self.log(),
                });
            }
            let log = self.log();
            if log.contains("is in use, will try again") || log.contains("Address already in use") {
                // The guard kills this one on the way out.
                self.stop(libc::SIGKILL, Duration::from_secs(5));
                return Err(LaunchError::PortTaken { log });
            }
            let last = match http::get(self.admin, "/rep", Duration::from_secs(2)) {
                Ok(r) if r.status == 200 => {
                    if want.as_ref().is_some_and(|w| !r.text().contains(w)) {
                        format!("/rep: {}", r.text())
                    } else {
                        // An HTTP answer, not just an accepted connection: a
                        // process squatting the port could accept too.
                        match http::get(self.proxy, READY_PATH, Duration::from_secs(2)) {
                            Ok(_) if !self.log().contains("is in use") => return Ok(()),
                            Ok(_) => "the proxy port is taken".to_string(),
                            Err(e) => format!("the proxy port: {e}"),
                        }
                    }
                }
                Ok(r) => format!("/rep answered {}", r.status),
                Err(e) => format!("/rep: {e}"),
            };
            if Instant::now() > deadline {
                return Err(LaunchError::NotReady {
                    last,
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// ringlb's pid (the parent of its replica processes); 0 once stopped.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The exit status, if ringlb has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Its work folder (config, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything ringlb has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ringlb.log")).unwrap_or_default()
    }

    /// Sends `sig` and waits up to `limit` for ringlb to exit; kills it
    /// after that. Says whether it exited by itself, and when.
    pub fn stop(&mut self, sig: i32, limit: Duration) -> Stopped {
        let Some(mut child) = self.child.take() else {
            return Stopped {
                by_itself: true,
                after: Duration::ZERO,
                status: None,
            };
        };
        let began = Instant::now();
        crate::signal(child.id(), sig);
        let status = crate::try_wait_for(limit, || child.try_wait().ok().flatten());
        let after = began.elapsed();
        match status {
            Some(status) => Stopped {
                by_itself: true,
                after,
                status: Some(status),
            },
            None => {
                let _ = child.kill();
                Stopped {
                    by_itself: false,
                    after,
                    status: child.wait().ok(),
                }
            }
        }
    }
}

impl Drop for Ringlb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- ringlb log ({}) ---\n{}",
                self.dir.path().display(),
                self.log()
            );
        }
        self.stop(libc::SIGTERM, DROP_STOP_LIMIT);
    }
}

/// Two distinct ports that were free a moment ago (both held until both
/// are known, so they never coincide).
fn two_free_ports(ip: IpAddr) -> std::io::Result<(SocketAddr, SocketAddr)> {
    let a = TcpListener::bind((ip, 0))?;
    let b = TcpListener::bind((ip, 0))?;
    Ok((a.local_addr()?, b.local_addr()?))
}
