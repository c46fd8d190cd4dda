//! The keeper: a Pingora background service that starts the initial
//! replicas, then probes heartbeats on an interval, reacts at once to
//! replica exits, to failures the proxy reports and (for an engine-managed
//! set) to the engine's member changes, and replaces replicas that are down
//! where ringlb owns them.
//!
//! It reports ready only after the initial replicas answered (so the proxy,
//! which depends on it, never serves from an empty ring at start-up). On
//! SIGTERM it stops all replacement, takes every replica out of the ring,
//! waits for their requests in flight (at most `replicas.drain_timeout_ms`,
//! and no longer than Pingora's grace period, which ends this service) and
//! stops them (replicas an engine owns are left running); `main` stops
//! whatever is left once Pingora is done. After SIGQUIT (an upgrade) it
//! hands them over instead ([`crate::upgrade`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora_core::services::ServiceReadyNotifier;
use tokio::sync::{mpsc, watch, Mutex};

use crate::fleet::Fleet;
use crate::provision::{Discovery, Exited, Members};
use crate::upgrade::Handover;

/// What the keeper listens to.
pub struct Inputs {
    /// Replicas that stopped on their own (from the provisioner).
    pub exits: mpsc::UnboundedReceiver<Exited>,
    /// Replicas a request could not reach (from the proxy).
    pub suspects: mpsc::Receiver<Arc<str>>,
    /// Where an engine owns the replica set: its members.
    pub discovery: Option<Arc<dyn Discovery>>,
}

pub struct Keeper {
    fleet: Arc<Fleet>,
    initial: Vec<String>,
    interval: Duration,
    inputs: Mutex<Option<Inputs>>,
    /// Set on SIGQUIT: at the end, hand the replicas over, do not stop
    /// them.
    handover: Arc<Handover>,
}

impl Keeper {
    pub fn new(
        fleet: Arc<Fleet>,
        initial: Vec<String>,
        interval: Duration,
        inputs: Inputs,
        handover: Arc<Handover>,
    ) -> Self {
        Keeper {
            fleet,
            initial,
            interval,
            inputs: Mutex::new(Some(inputs)),
            handover,
        }
    }
}

/// The next member snapshot, or never (no engine, or its watch ended).
async fn next_members(members: &mut Option<watch::Receiver<Members>>) -> Members {
    if let Some(rx) = members {
        if rx.changed().await.is_ok() {
            return rx.borrow_and_update().clone();
        }
    }
    std::future::pending().await
}

#[async_trait]
impl BackgroundService for Keeper {
    async fn start_with_ready_notifier(
        &self,
        mut shutdown: ShutdownWatch,
        ready: ServiceReadyNotifier,
    ) {
        let Some(Inputs {
            mut exits,
            mut suspects,
            discovery,
        }) = self.inputs.lock().await.take()
        else {
            log::error!("health keeper started twice");
            ready.notify_ready();
            return;
        };
        let mut members = match discovery {
            Some(d) => {
                let seeded = d.seed(&self.initial).await;
                let mut rx = d.members();
                self.fleet.start_observed(&mut rx, seeded).await;
                Some(rx)
            }
            None => {
                self.fleet.start_initial(&self.initial).await;
                None
            }
        };
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
                snapshot = next_members(&mut members) => {
                    if self.fleet.observe(&snapshot).await {
                        self.fleet.probe(None).await;
                    }
                }
                _ = tick.tick() => {
                    // A snapshot skipped while an /add or /rm of this
                    // instance held its names is applied now.
                    if let Some(rx) = &members {
                        let latest = rx.borrow().clone();
                        self.fleet.observe(&latest).await;
                    }
                    self.fleet.probe(None).await;
                    self.fleet.reconcile().await;
                }
            }
        }
        if self.handover.taken_over() {
            log::info!("health keeper stopping: handing the replicas over");
            self.fleet.hand_over().await;
        } else {
            log::info!("health keeper stopping: draining and stopping the replicas");
            self.fleet.shut_down().await;
        }
        log::info!("health keeper stopped");
    }
}
