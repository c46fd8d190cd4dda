//! The supervisor: a Pingora background service that starts the initial
//! replicas, then probes heartbeats on an interval, reacts at once to
//! replica exits and to failures the proxy reports, and replaces replicas
//! that are down.
//!
//! It reports ready only after the initial replicas answered (so the proxy,
//! which depends on it, never serves from an empty ring at start-up). On
//! SIGTERM it stops all replacement, takes every replica out of the ring,
//! waits for their requests in flight (at most `replicas.drain_timeout_ms`,
//! and no longer than Pingora's grace period, which ends this service) and
//! stops them; `main` stops whatever is left once Pingora is done. After
//! SIGQUIT (an upgrade) it hands them over instead ([`crate::upgrade`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora_core::services::ServiceReadyNotifier;
use tokio::sync::{mpsc, Mutex};

use crate::fleet::Fleet;
use crate::provision::Exited;
use crate::upgrade::Handover;

/// Channels into the supervisor.
pub struct Supervisor {
    fleet: Arc<Fleet>,
    initial: Vec<String>,
    interval: Duration,
    exits: Mutex<Option<mpsc::UnboundedReceiver<Exited>>>,
    suspects: Mutex<Option<mpsc::Receiver<Arc<str>>>>,
    /// Set on SIGQUIT: at the end, hand the replicas over, do not stop
    /// them.
    handover: Arc<Handover>,
}

impl Supervisor {
    pub fn new(
        fleet: Arc<Fleet>,
        initial: Vec<String>,
        interval: Duration,
        exits: mpsc::UnboundedReceiver<Exited>,
        suspects: mpsc::Receiver<Arc<str>>,
        handover: Arc<Handover>,
    ) -> Self {
        Supervisor {
            fleet,
            initial,
            interval,
            exits: Mutex::new(Some(exits)),
            suspects: Mutex::new(Some(suspects)),
            handover,
        }
    }
}

#[async_trait]
impl BackgroundService for Supervisor {
    async fn start_with_ready_notifier(
        &self,
        mut shutdown: ShutdownWatch,
        ready: ServiceReadyNotifier,
    ) {
        let (Some(mut exits), Some(mut suspects)) = (
            self.exits.lock().await.take(),
            self.suspects.lock().await.take(),
        ) else {
            log::error!("supervisor started twice");
            ready.notify_ready();
            return;
        };
        self.fleet.start_initial(&self.initial).await;
        ready.notify_ready();
        log::info!("replicas ready: {}", self.fleet.names().join(", "));

        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(exit) = exits.recv() => {
                    if self.fleet.on_exit(&exit).await {
                        self.fleet.reconcile().await;
                    }
                }
                Some(name) = suspects.recv() => {
                    if self.fleet.on_suspect(&name).await && self.fleet.probe(Some(&name)).await {
                        self.fleet.reconcile().await;
                    }
                }
                _ = tick.tick() => {
                    self.fleet.probe(None).await;
                    self.fleet.reconcile().await;
                }
            }
        }
        if self.handover.taken_over() {
            log::info!("supervisor stopping: handing the replicas over");
            self.fleet.hand_over().await;
        } else {
            log::info!("supervisor stopping: draining and stopping the replicas");
            self.fleet.shut_down().await;
        }
        log::info!("supervisor stopped");
    }
}
