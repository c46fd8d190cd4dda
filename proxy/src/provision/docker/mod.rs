//! The `docker` provisioner: replicas as containers, as in the assignment's
//! deployment (the load balancer starts and stops them itself).
//!
//! Replica `name` runs as container `<prefix><name>` from the configured
//! image on a user-defined network, with `SERVER_ID=<name>` and network
//! alias `<name>`; ringlb reaches it by its IP on that network (taken from
//! inspect), so the request path needs no DNS. Every container carries the
//! label `ringlb.owner=<owner>`: that is how ringlb finds what it made, to
//! report exits (Engine events) and to stop everything at shutdown.
//!
//! Containers outlive ringlb when it is upgraded (they are handed over) or
//! killed. At start-up ringlb therefore surveys what carries its label: a
//! running container is adopted, not replaced, when the fleet asks for its
//! name (same container, same address, no restart); whatever is not
//! running, and what the fleet did not ask for once the initial replicas
//! are up, is removed.
//!
//! All Engine calls run on one dedicated thread with its own small tokio
//! runtime, which also follows the event stream: the provisioner works the
//! same whether it is called from Pingora's runtimes or, at shutdown, from
//! `main` after they are gone.

pub(super) mod api;
mod containers;
mod settings;
mod watch;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use async_trait::async_trait;
use http::StatusCode;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use super::names::check_hostname;
use super::{Exited, Provisioner, StartError, Started};
use api::Engine;
pub use settings::DockerSettings;

/// How to run replica containers.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    pub settings: DockerSettings,
    /// Bound on each create/start call.
    pub start_timeout: Duration,
    /// Grace between SIGTERM and SIGKILL when stopping a container.
    pub stop_timeout: Duration,
}

/// Whether `name` can be a replica hostname *and*, with `prefix`, a Docker
/// container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
pub fn check_container_name(prefix: &str, name: &str) -> Result<(), String> {
    check_hostname(name)?;
    let full = format!("{prefix}{name}");
    if full.len() < 2 || !full.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "invalid hostname {name:?}: container name {full:?} must start with a letter or digit and have at least 2 characters"
        ));
    }
    Ok(())
}

/// A container this provisioner made and has not been asked to stop.
struct Tracked {
    id: String,
    generation: u64,
    /// `start` succeeded (before that, "not running" is expected).
    started: bool,
    /// Its exit was reported; it stays until `stop` removes it.
    exited: bool,
}

/// State shared by the trait methods and the event watcher.
struct Shared {
    engine: Engine,
    settings: DockerSettings,
    tracked: Mutex<HashMap<String, Tracked>>,
    exits: mpsc::UnboundedSender<Exited>,
    /// Set by `stop_all_blocking` and `hand_over`: no new containers after
    /// it.
    closed: AtomicBool,
    /// Running containers found at start-up, by replica name, not yet
    /// adopted.
    found: Mutex<HashMap<String, String>>,
    /// The replicas belong to a new ringlb process now: stop nothing.
    handed_over: AtomicBool,
}

impl Shared {
    fn tracked(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tracked>> {
        self.tracked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reports every tracked container whose id matches `gone` (only those
    /// already started if `started_only`: a sweep sees a container that is
    /// still being started as not running).
    fn exited(&self, gone: impl Fn(&str) -> bool, started_only: bool, why: &str) {
        let mut tracked = self.tracked();
        for (name, t) in tracked.iter_mut() {
            if !t.exited && gone(&t.id) && (t.started || !started_only) {
                t.exited = true;
                log::warn!("replica {name} container {} died: {why}", short(&t.id));
                let _ = self.exits.send(Exited {
                    name: name.clone(),
                    generation: t.generation,
                });
            }
        }
    }

    fn found(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.found.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a previous ringlb left: running containers with a valid name
    /// are kept for adoption, the rest is removed.
    async fn survey(&self) {
        let listed = match self.engine.list(&self.settings.owner).await {
            Ok(listed) => listed,
            Err(e) => {
                log::error!("cannot list containers left by a previous run: {e}");
                return;
            }
        };
        for c in listed {
            let valid = check_container_name(&self.settings.name_prefix, &c.name).is_ok();
            if c.running && valid && !self.found().contains_key(&c.name) {
                log::info!(
                    "found running replica {} (container {}) from a previous run",
                    c.name,
                    short(&c.id)
                );
                self.found().insert(c.name, c.id);
            } else {
                log::warn!(
                    "removing container {} ({}) left by a previous run: {}",
                    c.name,
                    short(&c.id),
                    if c.running {
                        "not a replica name"
                    } else {
                        "not running"
                    }
                );
                if let Err(e) = self.engine.remove(&c.id).await {
                    log::error!("{e}");
                }
            }
        }
    }

    /// Takes over a running container found at start-up.
    async fn adopt(&self, name: &str, id: String, generation: u64) -> Result<Started, StartError> {
        {
            let mut tracked = self.tracked();
            if self.closed.load(Ordering::SeqCst) {
                return Err(StartError::Closed(name.to_string()));
            }
            if tracked.contains_key(name) {
                return Err(StartError::AlreadyRunning(name.to_string()));
            }
            tracked.insert(
                name.to_string(),
                Tracked {
                    id: id.clone(),
                    generation,
                    started: true,
                    exited: false,
                },
            );
        }
        match self.engine.address(&id, &self.settings).await {
            Ok(addr) => {
                log::info!("replica {name} adopted: container {} on {addr}", short(&id));
                Ok(Started { addr, generation })
            }
            Err(why) => {
                self.untrack(name, &id);
                Err(StartError::Engine {
                    name: name.to_string(),
                    why,
                })
            }
        }
    }

    /// Removes the containers found at start-up that nobody adopted.
    async fn remove_unclaimed(&self, grace: Duration) {
        let left: Vec<(String, String)> = self.found().drain().collect();
        for (name, id) in left {
            log::warn!(
                "removing replica {name} (container {}): not in the desired set",
                short(&id)
            );
            self.engine.retire(&id, grace).await;
        }
    }

    async fn start(
        &self,
        name: String,
        generation: u64,
        limit: Duration,
    ) -> Result<Started, StartError> {
        let s = &self.settings;
        if self.tracked().contains_key(&name) {
            return Err(StartError::AlreadyRunning(name));
        }
        let engine_failed = |why: String| StartError::Engine {
            name: name.clone(),
            why,
        };
        let found = self.found().remove(&name);
        if let Some(id) = found {
            match self.adopt(&name, id.clone(), generation).await {
                Ok(started) => return Ok(started),
                Err(e) => {
                    log::warn!(
                        "replica {name}: cannot adopt container {}: {e}; replacing it",
                        short(&id)
                    );
                    self.engine.retire(&id, Duration::ZERO).await;
                }
            }
        }
        let id = match self.engine.create(s, &name, generation, limit).await {
            Ok(id) => id,
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => {
                self.clear_name(&name).await?;
                self.engine
                    .create(s, &name, generation, limit)
                    .await
                    .map_err(|e| engine_failed(e.to_string()))?
            }
            Err(e) => return Err(engine_failed(e.to_string())),
        };
        let admitted = {
            let mut tracked = self.tracked();
            let free = !self.closed.load(Ordering::SeqCst) && !tracked.contains_key(&name);
            if free {
                tracked.insert(
                    name.clone(),
                    Tracked {
                        id: id.clone(),
                        generation,
                        started: false,
                        exited: false,
                    },
                );
            }
            free
        };
        if !admitted {
            let _ = self.engine.remove(&id).await;
            return Err(if self.closed.load(Ordering::SeqCst) {
                StartError::Closed(name)
            } else {
                StartError::AlreadyRunning(name)
            });
        }
        let started = match self.engine.start(&id, limit).await {
            Ok(()) => {
                if let Some(t) = self.tracked().get_mut(&name) {
                    t.started = true;
                }
                self.engine.address(&id, s).await
            }
            Err(e) => Err(e.to_string()),
        };
        match started {
            Ok(addr) => {
                log::info!("replica {name} started: container {} on {addr}", short(&id));
                Ok(Started { addr, generation })
            }
            Err(e) => {
                self.untrack(&name, &id);
                self.engine.retire(&id, Duration::ZERO).await;
                Err(engine_failed(e))
            }
        }
    }

    /// A container already has our name: remove it if it is ours (a stale
    /// one), refuse if it belongs to someone else.
    async fn clear_name(&self, name: &str) -> Result<(), StartError> {
        let full = format!("{}{name}", self.settings.name_prefix);
        let engine_failed = |e: api::EngineError| StartError::Engine {
            name: name.to_string(),
            why: e.to_string(),
        };
        match self.engine.owner_of(&full).await.map_err(engine_failed)? {
            Some((id, owner)) if owner == self.settings.owner => {
                log::warn!("removing stale container {full} ({})", short(&id));
                self.engine.remove(&id).await.map_err(engine_failed)
            }
            Some(_) => Err(StartError::NameTaken(full)),
            None => Ok(()),
        }
    }

    fn untrack(&self, name: &str, id: &str) {
        let mut tracked = self.tracked();
        if tracked.get(name).is_some_and(|t| t.id == id) {
            tracked.remove(name);
        }
    }

    async fn stop(&self, name: &str, generation: u64, grace: Duration) {
        let t = {
            let mut tracked = self.tracked();
            match tracked.get(name) {
                Some(t) if t.generation == generation => tracked.remove(name),
                _ => None,
            }
        };
        let Some(t) = t else {
            return;
        };
        self.engine.retire(&t.id, grace).await;
        log::info!(
            "replica {name} container {} stopped and removed",
            short(&t.id)
        );
    }

    /// Stops every tracked container, then removes anything else with our
    /// label (a start that raced the shutdown, a stale container).
    async fn stop_all(&self, grace: Duration) {
        self.closed.store(true, Ordering::SeqCst);
        if self.handed_over.load(Ordering::SeqCst) {
            return;
        }
        let ids: Vec<String> = self.tracked().drain().map(|(_, t)| t.id).collect();
        let mut stops = tokio::task::JoinSet::new();
        for id in ids {
            let engine = self.engine.clone();
            stops.spawn(async move { engine.retire(&id, grace).await });
        }
        while stops.join_next().await.is_some() {}
        self.remove_owned("left over").await;
    }

    /// Removes every container with our owner label.
    async fn remove_owned(&self, why: &str) {
        match self.engine.list(&self.settings.owner).await {
            Ok(listed) => {
                for c in listed {
                    log::warn!("removing {why} container {} ({})", c.name, short(&c.id));
                    if let Err(e) = self.engine.remove(&c.id).await {
                        log::error!("{e}");
                    }
                }
            }
            Err(e) => log::error!("cannot list containers to remove: {e}"),
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

pub struct DockerProvisioner {
    shared: Arc<Shared>,
    runtime: Handle,
    options: DockerOptions,
    generation: AtomicU64,
    /// The network's gateways (see [`Provisioner::local_gateways`]).
    gateways: Vec<IpAddr>,
    /// Dropping it ends the Engine thread.
    _shutdown: oneshot::Sender<()>,
}

impl DockerProvisioner {
    /// Checks the Engine, network and image, surveys the containers a
    /// previous run left behind, and starts the Engine thread. Blocks until done;
    /// call it before serving.
    pub fn new(
        options: DockerOptions,
        exits: mpsc::UnboundedSender<Exited>,
    ) -> Result<Self, String> {
        let shared = Arc::new(Shared {
            engine: Engine::new(&options.settings.socket),
            settings: options.settings.clone(),
            tracked: Mutex::new(HashMap::new()),
            exits,
            closed: AtomicBool::new(false),
            found: Mutex::new(HashMap::new()),
            handed_over: AtomicBool::new(false),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the docker runtime: {e}"))?;
        let handle = runtime.handle().clone();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("ringlb-docker".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let s = &thread_shared;
                    let checked = s.engine.check(&s.settings).await;
                    let ok = checked.is_ok();
                    if ok {
                        s.survey().await;
                    }
                    let _ = ready_tx.send(checked);
                    if ok {
                        watch::watch(s, shutdown_rx).await;
                    }
                })
            })
            .map_err(|e| format!("cannot start the docker thread: {e}"))?;
        let gateways = match ready_rx.recv() {
            Ok(Ok(gateways)) => gateways,
            Ok(Err(e)) => return Err(format!("docker provisioner: {e}")),
            Err(_) => return Err("docker provisioner: its thread died".to_string()),
        };
        Ok(DockerProvisioner {
            shared,
            runtime: handle,
            options,
            generation: AtomicU64::new(0),
            gateways,
            _shutdown: shutdown_tx,
        })
    }
}

#[async_trait]
impl Provisioner for DockerProvisioner {
    fn kind(&self) -> &'static str {
        "docker"
    }

    fn check_name(&self, name: &str) -> Result<(), String> {
        check_container_name(&self.options.settings.name_prefix, name)
    }

    fn generates_names(&self) -> bool {
        true
    }

    fn local_gateways(&self) -> Vec<IpAddr> {
        self.gateways.clone()
    }

    async fn start(&self, name: &str) -> Result<Started, StartError> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = self.shared.clone();
        let name = name.to_string();
        let limit = self.options.start_timeout.max(Duration::from_secs(10));
        self.runtime
            .spawn({
                let name = name.clone();
                async move { shared.start(name, generation, limit).await }
            })
            .await
            .map_err(|e| StartError::Engine {
                name,
                why: format!("docker thread: {e}"),
            })?
    }

    async fn stop(&self, name: &str, generation: u64) {
        let shared = self.shared.clone();
        let name = name.to_string();
        let grace = self.options.stop_timeout;
        let _ = self
            .runtime
            .spawn(async move { shared.stop(&name, generation, grace).await })
            .await;
    }

    async fn remove_unclaimed(&self) {
        let shared = self.shared.clone();
        let grace = self.options.stop_timeout;
        let _ = self
            .runtime
            .spawn(async move { shared.remove_unclaimed(grace).await })
            .await;
    }

    fn hand_over(&self) -> bool {
        let s = &self.shared;
        s.handed_over.store(true, Ordering::SeqCst);
        s.closed.store(true, Ordering::SeqCst);
        s.tracked().clear();
        true
    }

    fn running(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .shared
            .tracked()
            .iter()
            .filter(|(_, t)| !t.exited)
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    fn stop_all_blocking(&self) {
        let (done_tx, done_rx) = std_mpsc::channel();
        let shared = self.shared.clone();
        let grace = self.options.stop_timeout;
        self.runtime.spawn(async move {
            shared.stop_all(grace).await;
            let _ = done_tx.send(());
        });
        // Bounded: the Engine may hang, ringlb must still exit.
        let limit = grace + Duration::from_secs(60);
        if done_rx.recv_timeout(limit).is_err() {
            log::error!("docker: replicas not all stopped within {limit:?}");
        }
    }
}
