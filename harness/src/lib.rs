//! One harness for everything that starts ringlb outside ringlb itself: the
//! integration tests of every crate and `ringlb-load`'s experiments.
//!
//! It starts the real `ringlb` (and, for the static provisioner, real
//! `ringlb-backend` replicas) on loopback ports, waits for readiness by
//! polling, keeps each process's log in its own folder, prints that log when
//! a test panics, and stops everything it started on drop, pass or fail.
//!
//! Ports: a replica binds port 0 and announces the address it got, so it
//! never races. ringlb takes its two addresses as flags; the harness picks
//! free ports and, if another process took one in the moment before ringlb
//! bound it, starts ringlb again on new ones ([`Ringlb::launch`]).
//!
//! It is deliberately blocking and small (std, libc, tempfile): a test
//! reads top to bottom, and an async caller wraps a start in
//! `spawn_blocking`.

mod backend;
pub mod http;
pub mod logline;
mod net;
pub mod procs;
mod ringlb;
mod wait;

pub use backend::Backend;
pub use logline::{line_time, logged_at};
pub use net::non_loopback_ipv4;
pub use procs::{children, is_alive, replica_processes, signal, ReplicaProcess};
pub use ringlb::{Launch, LaunchError, Ringlb, Stopped, READY_PATH};
pub use wait::{try_wait_for, wait_for};
