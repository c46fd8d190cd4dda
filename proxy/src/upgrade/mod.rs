//! Zero-downtime upgrades and restarts, Pingora's way: start
//! `ringlb -c <conf> -u` beside the running process, then send the running
//! one SIGQUIT.
//!
//! Pingora moves the listening sockets: the old process sends them over
//! `upgrade_sock`, keeps accepting for its close timeout (5 s), then stops
//! accepting and finishes what it has. What Pingora cannot move is the
//! replica set, so ringlb adds three things around it:
//!
//! 1. [`UpgradeSignal`]: on SIGQUIT, before Pingora sends the sockets, the
//!    fleet is frozen and its replica names are written next to the
//!    upgrade socket ([`handover_file`]). The new process reads them once it
//!    has the sockets and starts (processes) or adopts (containers) exactly
//!    that set before it serves, so a key keeps its replica.
//! 2. [`Handover`], the flag the old process's listeners read: from SIGQUIT
//!    on, every response says `Connection: close`, so busy keep-alive
//!    clients reconnect (landing on either process) instead of holding a
//!    connection that Pingora will close under them at the end. (A new
//!    connection's first request is always awaited before it is handed to
//!    Pingora, see [`crate::clients::Guarded`], so one accepted just
//!    before the old process stops is served, not dropped.)
//! 3. At the end the old process hands the replicas over instead of
//!    stopping them ([`crate::fleet::Fleet::hand_over`]).

mod file;
mod signal;

use std::sync::atomic::{AtomicBool, Ordering};

pub use file::{
    handover_file, pid_file, read_names, remove_names, remove_pid, write_names, write_pid,
};
pub use signal::UpgradeSignal;

/// Whether this process is handing over to a new one.
#[derive(Debug)]
pub struct Handover {
    in_progress: AtomicBool,
    /// The pid file next to the upgrade socket: the new process writes its
    /// pid there once it has the sockets.
    pid_file: std::path::PathBuf,
}

impl Handover {
    pub fn new(pid_file: std::path::PathBuf) -> Handover {
        Handover {
            in_progress: AtomicBool::new(false),
            pid_file,
        }
    }

    /// A new process took the sockets: SIGQUIT came, and the pid file now
    /// names another process that is alive. Only then are replicas left
    /// running for it; after a SIGQUIT that nobody answered (no `-u`
    /// process, or one that failed to start) they are stopped as on
    /// SIGTERM.
    pub fn taken_over(&self) -> bool {
        self.in_progress() && file::successor(&self.pid_file).is_some()
    }

    /// From SIGQUIT on: this process is on its way out.
    pub fn in_progress(&self) -> bool {
        self.in_progress.load(Ordering::Relaxed)
    }

    pub(crate) fn begin(&self) {
        self.in_progress.store(true, Ordering::SeqCst);
    }
}
