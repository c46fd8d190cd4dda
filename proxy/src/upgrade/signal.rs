//! Pingora's signal handling with ringlb's step before an upgrade.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch, UnixShutdownSignalWatch};

use super::{remove_names, write_names, Handover};

/// How long SIGQUIT waits for the fleet before Pingora sends the sockets.
const FREEZE_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);
use crate::fleet::Fleet;

/// SIGQUIT, SIGTERM and SIGINT as Pingora reads them; on SIGQUIT the fleet
/// is frozen and its names written before Pingora sends the sockets (the
/// new process reads them only after it has the sockets).
pub struct UpgradeSignal {
    pub fleet: Arc<Fleet>,
    pub handover: Arc<Handover>,
    pub file: PathBuf,
}

#[async_trait]
impl ShutdownSignalWatch for UpgradeSignal {
    async fn recv(&self) -> ShutdownSignal {
        let signal = UnixShutdownSignalWatch.recv().await;
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
