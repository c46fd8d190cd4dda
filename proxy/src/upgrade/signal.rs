//! Pingora's signal handling with ringlb's step before an upgrade.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch, UnixShutdownSignalWatch};

use super::{write_names, Handover};
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
            let names = self.fleet.freeze().await;
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
