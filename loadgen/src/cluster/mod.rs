//! A ringlb instance started for one experiment, and what can be done to it.
//!
//! Every experiment starts its own ringlb on free loopback ports with a
//! config written for it, drives it through the admin API, and stops it
//! again. [`Cluster`] is the guard that makes the last step unconditional:
//! dropping it (on success, error or panic) sends SIGTERM and waits, and
//! ringlb stops its replica processes itself.

mod admin;
mod binaries;
mod launch;
mod ports;
mod procs;

pub use binaries::Binaries;
pub use launch::Cluster;
pub use procs::{kill_hard, replica_processes};

/// Why a cluster could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0} not found (build it with `cargo build --workspace --bins`, or pass its path)")]
    MissingBinary(String),
    #[error("ringlb exited during start-up ({status}); its log ends with:\n{log}")]
    Exited { status: String, log: String },
    #[error("ringlb not ready after {secs} s ({last}); its log ends with:\n{log}")]
    NotReady {
        secs: u64,
        last: String,
        log: String,
    },
    #[error("admin {call} failed: {message}")]
    Admin { call: String, message: String },
}

impl ClusterError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ClusterError::Io {
            what: what.into(),
            source,
        }
    }
}
