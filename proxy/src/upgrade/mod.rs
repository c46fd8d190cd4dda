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

pub use file::{handover_file, pid_file, read_names, remove_pid, write_names, write_pid};
pub use signal::UpgradeSignal;

/// Whether this process is handing over to a new one.
#[derive(Debug, Default)]
pub struct Handover {
    in_progress: AtomicBool,
}

impl Handover {
    pub fn new() -> Handover {
        Handover::default()
    }

    /// From SIGQUIT on: this process is on its way out.
    pub fn in_progress(&self) -> bool {
        self.in_progress.load(Ordering::Relaxed)
    }

    pub(crate) fn begin(&self) {
        self.in_progress.store(true, Ordering::SeqCst);
    }
}
