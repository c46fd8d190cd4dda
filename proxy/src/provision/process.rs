//! The `process` provisioner: replicas as `ringlb-backend` child processes.
//!
//! Each replica is started with `SERVER_ID=<hostname>` on `<bind>:0`; it
//! binds a free port and announces the address on its first stdout line, so
//! there is no port race. Children live in their own process group (a
//! Ctrl-C on the terminal reaches ringlb only, which then stops them in
//! order) and get `PR_SET_PDEATHSIG = SIGKILL`, so none outlives ringlb, not
//! even after `kill -9`.
//!
//! The parent-death signal fires when the *thread* that forked the child
//! exits, so every fork happens on one dedicated thread that lives as long as
//! the provisioner. That thread runs a small tokio runtime which also waits
//! on every child: an exit is reported at once (no heartbeat needed).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use super::names::check_hostname;
use super::{Exited, Provisioner, StartError, Started};

/// The `process` provisioner's settings, as config validated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// `ringlb-backend`; `None`: the one next to the ringlb binary.
    pub binary: Option<PathBuf>,
    /// The address replicas bind (each on a free port).
    pub bind: IpAddr,
    /// Worker threads per replica.
    pub threads: u32,
}

/// How to run replicas.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    pub binary: PathBuf,
    pub bind: IpAddr,
    pub threads: u32,
    pub start_timeout: Duration,
    pub stop_timeout: Duration,
}

enum Request {
    Start {
        name: String,
        reply: oneshot::Sender<Result<Started, StartError>>,
    },
    Stop {
        name: String,
        generation: u64,
        reply: oneshot::Sender<()>,
    },
    StopAll {
        reply: std::sync::mpsc::Sender<()>,
    },
}

/// A running child, as the reaper thread tracks it.
struct Running {
    generation: u64,
    stop: oneshot::Sender<oneshot::Sender<()>>,
}

pub struct ProcessProvisioner {
    requests: mpsc::UnboundedSender<Request>,
    running: Arc<Mutex<HashMap<String, u32>>>,
}

impl ProcessProvisioner {
    /// Starts the reaper thread (it forks and waits on every child). Exits of children that were not asked
    /// to stop are sent to `exits`.
    pub fn new(
        options: ProcessOptions,
        exits: mpsc::UnboundedSender<Exited>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let running = Arc::new(Mutex::new(HashMap::new()));
        let shared = running.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("ringlb-replicas".into())
            .spawn(move || runtime.block_on(supervise(options, rx, exits, shared)))?;
        Ok(ProcessProvisioner {
            requests: tx,
            running,
        })
    }

    /// `ringlb-backend` next to the running executable.
    pub fn default_binary() -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        let candidate = exe.parent()?.join("ringlb-backend");
        candidate.is_file().then_some(candidate)
    }
}

#[async_trait]
impl Provisioner for ProcessProvisioner {
    fn kind(&self) -> &'static str {
        "process"
    }

    fn check_name(&self, name: &str) -> Result<(), String> {
        check_hostname(name)
    }

    fn generates_names(&self) -> bool {
        true
    }

    async fn start(&self, name: &str) -> Result<Started, StartError> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(Request::Start {
                name: name.to_string(),
                reply,
            })
            .map_err(|_| StartError::ReaperGone)?;
        rx.await.map_err(|_| StartError::ReaperGone)?
    }

    async fn stop(&self, name: &str, generation: u64) {
        let (reply, rx) = oneshot::channel();
        if self
            .requests
            .send(Request::Stop {
                name: name.to_string(),
                generation,
                reply,
            })
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    fn running(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn stop_all_blocking(&self) {
        let (reply, rx) = std::sync::mpsc::channel();
        if self.requests.send(Request::StopAll { reply }).is_ok() {
            let _ = rx.recv();
        }
    }
}

/// The reaper thread's loop: forks, waits, stops.
async fn supervise(
    options: ProcessOptions,
    mut requests: mpsc::UnboundedReceiver<Request>,
    exits: mpsc::UnboundedSender<Exited>,
    pids: Arc<Mutex<HashMap<String, u32>>>,
) {
    let mut children: HashMap<String, Running> = HashMap::new();
    let mut generation = 0u64;
    let (gone_tx, mut gone_rx) = mpsc::unbounded_channel::<(String, u64)>();
    loop {
        tokio::select! {
            Some((name, generation)) = gone_rx.recv() => {
                // A child ended (asked or not): forget it if it is still the current one.
                if children.get(&name).is_some_and(|c| c.generation == generation) {
                    children.remove(&name);
                    pids.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
                }
            }
            request = requests.recv() => match request {
                Some(Request::Start { name, reply }) => {
                    if children.contains_key(&name) {
                        let _ = reply.send(Err(StartError::AlreadyRunning(name)));
                        continue;
                    }
                    generation += 1;
                    match spawn(&options, &name) {
                        Ok(child) => {
                            let pid = child.id().unwrap_or(0);
                            let (stop_tx, stop_rx) = oneshot::channel();
                            children.insert(name.clone(), Running { generation, stop: stop_tx });
                            pids.lock().unwrap_or_else(|p| p.into_inner()).insert(name.clone(), pid);
                            tokio::spawn(watch(
                                child,
                                name,
                                generation,
                                options.start_timeout,
                                options.stop_timeout,
                                reply,
                                stop_rx,
                                exits.clone(),
                                gone_tx.clone(),
                            ));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(StartError::Spawn { binary: options.binary.clone(), source: e }));
                        }
                    }
                }
                Some(Request::Stop { name, generation, reply }) => {
                    match children.remove(&name) {
                        Some(child) if child.generation == generation => {
                            pids.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
                            // An Err means it is already exiting: nothing to wait for.
                            let _ = child.stop.send(reply);
                        }
                        Some(newer) => {
                            children.insert(name, newer);
                            let _ = reply.send(());
                        }
                        None => {
                            let _ = reply.send(());
                        }
                    }
                }
                Some(Request::StopAll { reply }) => {
                    let mut waits = Vec::new();
                    for (name, child) in children.drain() {
                        pids.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
                        let (done, rx) = oneshot::channel();
                        if child.stop.send(done).is_ok() {
                            waits.push(rx);
                        }
                    }
                    for w in waits {
                        let _ = w.await;
                    }
                    let _ = reply.send(());
                }
                None => break,
            }
        }
    }
    // The provisioner is gone: take every child down with us.
    for (_, child) in children.drain() {
        let (done, rx) = oneshot::channel();
        if child.stop.send(done).is_ok() {
            let _ = rx.await;
        }
    }
}

fn spawn(options: &ProcessOptions, name: &str) -> std::io::Result<Child> {
    let mut cmd = Command::new(&options.binary);
    cmd.arg("--listen")
        .arg(SocketAddr::new(options.bind, 0).to_string())
        .arg("--threads")
        .arg(options.threads.to_string())
        .arg("--announce")
        .env("SERVER_ID", name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    let parent = std::process::id() as libc::pid_t;
    unsafe {
        cmd.pre_exec(move || {
            libc::setpgid(0, 0);
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Owns one child: reports its address once announced, then waits for it to
/// exit or to be told to stop.
#[allow(clippy::too_many_arguments)]
async fn watch(
    mut child: Child,
    name: String,
    generation: u64,
    start_timeout: Duration,
    stop_timeout: Duration,
    reply: oneshot::Sender<Result<Started, StartError>>,
    mut stop: oneshot::Receiver<oneshot::Sender<()>>,
    exits: mpsc::UnboundedSender<Exited>,
    gone: mpsc::UnboundedSender<(String, u64)>,
) {
    let announced = match child.stdout.take() {
        Some(out) => {
            let mut line = String::new();
            let mut reader = BufReader::new(out);
            match tokio::time::timeout(start_timeout, reader.read_line(&mut line)).await {
                Ok(Ok(n)) if n > 0 => parse_announcement(&line),
                Ok(_) => Err("exited before announcing its address".to_string()),
                Err(_) => Err(format!(
                    "did not announce its address within {start_timeout:?}"
                )),
            }
        }
        None => Err("no stdout pipe".to_string()),
    };
    let pid = child.id();
    match announced {
        Ok(addr) => {
            log::info!("replica {name} started (pid {pid:?}) on {addr}");
            let _ = reply.send(Ok(Started { addr, generation }));
        }
        Err(e) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            let _ = gone.send((name.clone(), generation));
            let _ = reply.send(Err(StartError::NoAnnouncement {
                name: name.clone(),
                why: e,
            }));
            return;
        }
    }
    tokio::select! {
        status = child.wait() => {
            log::warn!("replica {name} (pid {pid:?}) exited: {}", describe(status));
            let _ = gone.send((name.clone(), generation));
            let _ = exits.send(Exited { name, generation });
        }
        asked = &mut stop => {
            terminate(&mut child, pid, stop_timeout).await;
            log::info!("replica {name} (pid {pid:?}) stopped");
            let _ = gone.send((name, generation));
            if let Ok(done) = asked {
                let _ = done.send(());
            }
        }
    }
}

/// SIGTERM, then SIGKILL after `grace`.
async fn terminate(child: &mut Child, pid: Option<u32>, grace: Duration) {
    if let Some(pid) = pid {
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
            // A stopped (SIGSTOP) child must be continued to act on SIGTERM.
            libc::kill(pid as libc::pid_t, libc::SIGCONT);
        }
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

fn parse_announcement(line: &str) -> Result<SocketAddr, String> {
    line.trim()
        .strip_prefix("listening ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("announced {line:?}, expected \"listening <ip:port>\""))
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exit code {c}"),
            (_, Some(sig)) => format!("signal {sig}"),
            _ => "unknown status".to_string(),
        },
        Err(e) => format!("wait failed: {e}"),
    }
}
