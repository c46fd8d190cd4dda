//! The `swarm` provisioner: each replica is one Docker Swarm service (one
//! task, restarted by Swarm when it stops) on an attachable overlay
//! network, and Swarm, not ringlb, owns the replica set.
//!
//! Several ringlb instances (one per node, all on the overlay) follow the
//! same services: the ones labelled `ringlb.owner=<owner>`. Each lists them
//! with their running tasks' overlay addresses, again on every service or
//! replica-container event and at least every [`RESYNC`] as a backstop,
//! and publishes the members ([`Discovery`]); the fleet does the rest.
//! `/add` creates services and `/rm` removes them: the service name is the
//! lock, so when two instances add the same hostname at once Swarm accepts
//! one and answers 409 to the other ([`StartError::Taken`]). Nothing here
//! removes a replica at ringlb's own start or stop.
//!
//! The initial replicas are created once per deployment: the instance that
//! creates the Swarm config `ringlb-seeded-<owner>` first does it; every
//! other start, also a restart after every replica was removed, takes the
//! set as it finds it.
//!
//! Engine calls run on one dedicated thread with its own small runtime, as
//! in the docker provisioner: it works the same from Pingora's runtimes and
//! from `main` after they are gone.

mod engine;
mod settings;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::{FutureExt, StreamExt};
use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch, Notify};

pub use settings::{check_service_name, SwarmSettings};

use super::{Discovery, Found, Members, Provisioner, StartError, Started, Timeouts};
use engine::{CallError, Events, Swarm};

/// The backstop: members are listed at least this often, events or not.
pub const RESYNC: Duration = Duration::from_secs(2);
/// After an event, the list is polled this often for [`SETTLE`]: a task
/// becomes "running" in the manager's view a little after its container
/// started, and no event says so.
const HURRY: Duration = Duration::from_millis(100);
const SETTLE: Duration = Duration::from_secs(5);
/// Pause before subscribing to events again after the stream ended.
const RESUBSCRIBE: Duration = Duration::from_millis(500);

pub struct SwarmProvisioner {
    swarm: Swarm,
    settings: SwarmSettings,
    timeouts: Timeouts,
    runtime: Handle,
    members: watch::Receiver<Members>,
    /// Asks the follower to list the members now.
    resync: Arc<Notify>,
    /// Replica name -> the ID of its service, as last listed or created:
    /// `stop` removes that service only, never a newer one by that name.
    ids: Arc<Mutex<HashMap<String, String>>>,
    gateways: Vec<IpAddr>,
    /// Dropping it ends the Engine thread.
    _shutdown: oneshot::Sender<()>,
}

impl SwarmProvisioner {
    /// Connects, checks the swarm, network and image, lists the current
    /// members and starts following them. Blocks until done; call it
    /// before serving.
    pub fn new(settings: SwarmSettings, timeouts: Timeouts) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the swarm runtime: {e}"))?;
        let handle = runtime.handle().clone();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let resync = Arc::new(Notify::new());
        let follower_resync = resync.clone();
        let ids = Arc::new(Mutex::new(HashMap::new()));
        let follower_ids = ids.clone();
        let thread_settings = settings.clone();
        std::thread::Builder::new()
            .name("ringlb-swarm".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let connected = match Swarm::connect(&thread_settings).await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let swarm = connected.0.clone();
                    let first = match swarm.list().await {
                        Ok(listed) => listed,
                        Err(e) => {
                            let _ = ready_tx
                                .send(Err(format!("cannot list the replica services: {e}")));
                            return;
                        }
                    };
                    let (tx, rx) = watch::channel(snapshot(first, &follower_ids));
                    let _ = ready_tx.send(Ok((connected, rx)));
                    tokio::select! {
                        _ = follow(&swarm, &tx, &follower_resync, &follower_ids) => {}
                        _ = shutdown_rx => {}
                    }
                })
            })
            .map_err(|e| format!("cannot start the swarm thread: {e}"))?;
        let ((swarm, gateways), members) = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => return Err(format!("swarm provisioner: {e}")),
            Err(_) => return Err("swarm provisioner: its thread died".to_string()),
        };
        Ok(SwarmProvisioner {
            swarm,
            settings,
            timeouts,
            runtime: handle,
            members,
            resync,
            ids,
            gateways,
            _shutdown: shutdown_tx,
        })
    }

    /// Runs `job` on the Engine thread.
    async fn on_engine<T: Send + 'static>(
        &self,
        job: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        self.runtime.spawn(job).await.ok()
    }
}

/// The members in `listed`; their service IDs go to `ids`.
fn snapshot(listed: Vec<engine::Listed>, ids: &Mutex<HashMap<String, String>>) -> Members {
    {
        let mut ids = ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.clear();
        ids.extend(listed.iter().map(|l| (l.name.clone(), l.id.clone())));
    }
    Arc::new(
        listed
            .into_iter()
            .map(|l| Found {
                name: l.name,
                running: l.running,
            })
            .collect(),
    )
}

/// Keeps `members` current: a fresh list after every event (a burst of
/// events gives one list) and when asked, then every [`HURRY`] for
/// [`SETTLE`], and otherwise every [`RESYNC`].
async fn follow(
    swarm: &Swarm,
    members: &watch::Sender<Members>,
    resync: &Notify,
    ids: &Mutex<HashMap<String, String>>,
) {
    let mut services = Feed::new(swarm, Swarm::service_events);
    let mut containers = Feed::new(swarm, Swarm::container_events);
    let mut hurry_until = Instant::now();
    loop {
        let pause = if Instant::now() < hurry_until {
            HURRY
        } else {
            RESYNC
        };
        let stirred = tokio::select! {
            _ = services.next() => true,
            _ = containers.next() => true,
            _ = resync.notified() => true,
            _ = tokio::time::sleep(pause) => false,
        };
        if stirred {
            hurry_until = Instant::now() + SETTLE;
        }
        match swarm.list().await {
            Ok(listed) => {
                let next = snapshot(listed, ids);
                members.send_if_modified(|now| {
                    let changed = **now != *next;
                    if changed {
                        *now = next;
                    }
                    changed
                });
            }
            Err(e) => log::warn!("cannot list the replica services: {e}"),
        }
    }
}

/// One event subscription, renewed whenever it ends or fails.
struct Feed<'s> {
    swarm: &'s Swarm,
    subscribe: fn(&Swarm) -> Events,
    events: Events,
}

impl<'s> Feed<'s> {
    fn new(swarm: &'s Swarm, subscribe: fn(&Swarm) -> Events) -> Feed<'s> {
        Feed {
            swarm,
            subscribe,
            events: subscribe(swarm),
        }
    }

    /// Waits for news: an event (and whatever else has already arrived
    /// with it), or a failed or ended stream, which is renewed after a
    /// pause (a list follows either way).
    async fn next(&mut self) {
        match self.events.next().await {
            Some(Ok(_)) => while let Some(Some(Ok(_))) = self.events.next().now_or_never() {},
            failed => {
                if let Some(Err(e)) = failed {
                    log::warn!("swarm events: {e}; subscribing again");
                }
                tokio::time::sleep(RESUBSCRIBE).await;
                self.events = (self.subscribe)(self.swarm);
            }
        }
    }
}

#[async_trait]
impl Provisioner for SwarmProvisioner {
    fn kind(&self) -> &'static str {
        "swarm"
    }

    fn check_name(&self, name: &str) -> Result<(), String> {
        check_service_name(&self.settings.name_prefix, name)
    }

    fn generates_names(&self) -> bool {
        true
    }

    fn local_gateways(&self) -> Vec<IpAddr> {
        self.gateways.clone()
    }

    /// Creates the service and waits (at most the start timeout) for its
    /// task to run; 409 from Swarm is [`StartError::Taken`].
    async fn start(&self, name: &str) -> Result<Started, StartError> {
        let swarm = self.swarm.clone();
        let owned = name.to_string();
        let limit = self.timeouts.start;
        let resync = self.resync.clone();
        let ids = self.ids.clone();
        let job = async move {
            let failed = |why: String| StartError::Engine {
                name: owned.clone(),
                why,
            };
            let id = match swarm.create(&owned).await {
                Ok(id) => id,
                Err(CallError::Conflict) => return Err(StartError::Taken(owned.clone())),
                Err(CallError::Failed(why)) => return Err(failed(why)),
            };
            ids.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(owned.clone(), id.clone());
            resync.notify_one();
            let deadline = Instant::now() + limit;
            loop {
                let listed = swarm.list().await.map_err(|e| failed(e.to_string()))?;
                if let Some(started) = listed.iter().find(|l| l.id == id).and_then(|l| l.running) {
                    log::info!("replica {owned} started: service task on {}", started.addr);
                    return Ok(started);
                }
                if Instant::now() >= deadline {
                    let _ = swarm.remove_id(&id).await;
                    return Err(failed(format!("no running task within {limit:?}")));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        self.on_engine(job)
            .await
            .unwrap_or_else(|| Err(StartError::Closed(name.to_string())))
    }

    /// Removes the service (the whole replica, whatever its task) that
    /// this instance last knew under `name`; a service re-created under
    /// that name since (by anyone) is left alone.
    async fn stop(&self, name: &str, _generation: u64) {
        let swarm = self.swarm.clone();
        let owned = name.to_string();
        let id = self
            .ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned();
        let result = self
            .on_engine(async move {
                match id {
                    Some(id) => swarm.remove_id(&id).await,
                    None => swarm.remove(&owned).await,
                }
            })
            .await;
        match result {
            Some(Ok(())) => log::info!("replica {name} service removed"),
            Some(Err(e)) => log::error!("replica {name}: cannot remove its service: {e}"),
            None => log::error!("replica {name}: the swarm thread is gone"),
        }
        self.resync.notify_one();
    }

    /// Swarm keeps the replicas whatever happens to this instance.
    fn hand_over(&self) -> bool {
        true
    }

    fn running(&self) -> Vec<String> {
        self.members
            .borrow()
            .iter()
            .filter(|m| m.running.is_some())
            .map(|m| m.name.clone())
            .collect()
    }

    /// Leaves every replica running: they are Swarm's, and serve the other
    /// instances.
    fn stop_all_blocking(&self) {}
}

#[async_trait]
impl Discovery for SwarmProvisioner {
    fn members(&self) -> watch::Receiver<Members> {
        self.members.clone()
    }

    /// Once per deployment (see the module docs): creates the services of
    /// `initial`, without waiting for their tasks.
    async fn seed(&self, initial: &[String]) -> bool {
        let swarm = self.swarm.clone();
        let names = initial.to_vec();
        let resync = self.resync.clone();
        let job = async move {
            match swarm.claim_seeding().await {
                Ok(true) => {}
                Ok(false) => {
                    log::info!(
                        "this deployment's replicas were created before: taking the set as it is"
                    );
                    return false;
                }
                Err(e) => {
                    log::error!("cannot tell whether this deployment has started before ({e}); creating no replicas");
                    return false;
                }
            }
            log::info!("a new deployment: creating replicas {}", names.join(", "));
            for name in &names {
                match swarm.create(name).await {
                    Ok(_) | Err(CallError::Conflict) => {}
                    Err(e) => log::error!("initial replica {name} not created: {e}"),
                }
            }
            resync.notify_one();
            !names.is_empty()
        };
        self.on_engine(job).await.unwrap_or_else(|| {
            log::error!("the swarm thread is gone; no initial replicas created");
            false
        })
    }
}
