//! Upgrades: handing the replica set to a new ringlb process.
//!
//! On SIGQUIT the fleet is frozen first (an admin change in progress
//! finishes, later ones and replacements are refused), so the replica names
//! written for the new process are the final ones. When Pingora's close
//! timeout has passed and the old process stops accepting, the replicas
//! are handed over: containers keep running under the new process, while
//! child processes (which cannot outlive their parent) finish their
//! requests in flight and stop; the new process started its own under the
//! same names before it began to serve.

use std::time::Duration;

use super::drain::Leaving;
use super::{Fleet, Stopping};

/// How long SIGQUIT waits for an admin change in progress (Pingora's new
/// process gives up on the sockets after about 5 s).
const FREEZE_WAIT: Duration = Duration::from_secs(2);

impl Fleet {
    /// Stops all changes and replacements for an upgrade; the replica names
    /// (in order, down ones included: they are wanted) for the new process.
    /// `None` while the initial replicas are still starting: the new process
    /// then starts the configured ones itself.
    pub async fn freeze(&self) -> Option<Vec<String>> {
        // Lets an `/add` or `/rm` in progress finish, but not for longer
        // than the new process waits for the sockets; one still running
        // then is refused when it comes to admit (state.stopping) and
        // undone.
        let _changes = tokio::time::timeout(FREEZE_WAIT, self.changes.lock())
            .await
            .ok();
        let mut state = self.state.lock().await;
        state.stopping = Some(Stopping::Upgrade);
        state
            .initialized
            .then(|| state.replicas.iter().map(|r| r.name.clone()).collect())
    }

    /// The old process's last step in an upgrade that a new process took
    /// over (see [`crate::upgrade::Handover::taken_over`]). The ring stays
    /// as it is: requests still being read on this process's connections go
    /// where they would have gone.
    pub async fn hand_over(&self) {
        let leaving: Vec<Leaving> = {
            let mut state = self.state.lock().await;
            state.stopping = Some(Stopping::Upgrade);
            if self.provisioner.hand_over() {
                log::info!(
                    "{} replica(s) handed over to the new ringlb process, left running",
                    state.replicas.len()
                );
                return;
            }
            state.replicas.iter().map(Leaving::retire).collect()
        };
        self.drain_and_stop(leaving, |name| {
            log::info!("replica {name} stopped (the new ringlb process runs its own)")
        })
        .await;
    }
}
