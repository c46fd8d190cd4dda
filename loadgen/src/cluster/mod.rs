//! A ringlb instance started for one experiment, and what can be done to it.
//!
//! Every experiment starts its own ringlb on free loopback ports with a
//! config written for it, drives it through the admin API, and stops it
//! again. Starting, waiting and stopping are not done here but by
//! `ringlb-harness`, the one harness the integration tests use too, so the
//! experiments and the tests start ringlb the same way. [`Cluster`] wraps
//! the harness's guard: dropping it (on success, error or panic) sends
//! SIGTERM and waits, and ringlb stops its replica processes itself.

mod admin;
mod binaries;
mod launch;

pub use binaries::Binaries;
pub use launch::Cluster;

/// Why a cluster could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0} not found (build it with `cargo build --workspace --bins`, or pass its path)")]
    MissingBinary(String),
    /// ringlb did not start, exited, or never listed its replicas.
    #[error(transparent)]
    Launch(#[from] ringlb_harness::LaunchError),
    #[error("ringlb lists its replicas but /home does not answer after {secs} s ({last}); its log ends with:\n{log}")]
    NotServing {
        secs: u64,
        last: String,
        log: String,
    },
    #[error("admin {call} failed: {message}")]
    Admin { call: String, message: String },
}
