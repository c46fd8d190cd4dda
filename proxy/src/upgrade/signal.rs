//! Pingora's signal handling with ringlb's step before an upgrade, and
//! its own fast shutdown.
//!
//! SIGINT is a fast shutdown: requests in flight are cut, the replicas
//! stopped at once. Pingora's own (`ShutdownType::Quick`) stops every
//! thread's runtime at once, concurrently; with several threads and no work
//! stealing, a service's accept loop can run on one thread while its
//! listener is registered with another's reactor, and when that runtime
//! stops first, `accept` fails at once, every time, and the loop, which
//! pauses only after `EMFILE` (pingora-core 0.9.1 `services/listening.rs`,
//! `run_endpoint`), spins on the error without ever yielding: its own
//! thread never stops, and the process hangs, logging the error in a tight
//! loop. So ringlb does the fast shutdown itself: it stops the replicas and
//! exits, leaving Pingora's runtimes to end with the process.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch, UnixShutdownSignalWatch};

use super::{remove_names, remove_pid, write_names, Handover};
use crate::fleet::Fleet;
use crate::provision::Provisioner;

/// How long SIGQUIT waits for the fleet before Pingora sends the sockets.
const FREEZE_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// SIGQUIT, SIGTERM and SIGINT as Pingora reads them; on SIGQUIT the fleet
/// is frozen and its names written before Pingora sends the sockets (the
/// new process reads them only after it has the sockets).
pub struct UpgradeSignal {
    pub fleet: Arc<Fleet>,
    pub handover: Arc<Handover>,
    pub file: PathBuf,
    /// Stopped on SIGINT, before the process exits.
    pub provisioner: Arc<dyn Provisioner>,
    /// Removed on SIGINT.
    pub pid_file: PathBuf,
}

#[async_trait]
impl ShutdownSignalWatch for UpgradeSignal {
    async fn recv(&self) -> ShutdownSignal {
        let signal = UnixShutdownSignalWatch.recv().await;
        if let ShutdownSignal::FastShutdown = signal {
            log::info!("SIGINT received: stopping the replicas and exiting");
            let provisioner = self.provisioner.clone();
            let _ = tokio::task::spawn_blocking(move || provisioner.stop_all_blocking()).await;
            remove_pid(&self.pid_file);
            std::process::exit(0);
        }
        if let ShutdownSignal::GracefulUpgrade = signal {
            self.handover.begin();
            remove_names(&self.file);
            // Bounded: Pingora's new process waits about 5 s for the sockets.
            let frozen = tokio::time::timeout(FREEZE_LIMIT, self.fleet.freeze()).await;
            let Ok(Some(names)) = frozen else {
                log::warn!(
                    "upgrade: the initial replicas are still starting; the new process starts the configured ones"
                );
                return signal;
            };
            match write_names(&self.file, &names) {
                Ok(()) => log::info!(
                    "upgrade: handing {} replica(s) to the new process ({}): {}",
                    names.len(),
                    self.file.display(),
                    names.join(", ")
                ),
                Err(e) => log::error!(
                    "upgrade: cannot write {}: {e}; the new process starts the configured replicas",
                    self.file.display()
                ),
            }
        }
        signal
    }
}
