//! Why a replica did not start, for every provisioner. The fleet reports
//! it (in an `/add` refusal, in the log) and never looks inside the text.

use std::path::PathBuf;

/// A replica that could not be started (or taken over).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("replica {0} is already running")]
    AlreadyRunning(String),
    /// `stop_all_blocking` or a hand-over came first.
    #[error("replica {0}: ringlb is stopping")]
    Closed(String),
    /// The process provisioner's reaper thread is gone (ringlb is
    /// shutting down).
    #[error("the replica reaper thread has stopped")]
    ReaperGone,
    /// Someone else (another ringlb instance) has just created a replica
    /// under this name: the engine's name is the lock.
    #[error("hostname {0:?} already exists")]
    Taken(String),
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    /// A replica process that did not say where it listens.
    #[error("replica {name} {why}")]
    NoAnnouncement { name: String, why: String },
    #[error("cannot resolve {name}: {source}")]
    Resolve {
        name: String,
        source: std::io::Error,
    },
    #[error("{0} resolves to no address")]
    NoAddress(String),
    /// The Docker Engine refused or failed a call.
    #[error("replica {name}: {why}")]
    Engine { name: String, why: String },
    #[error("container name {0:?} is taken by a container ringlb did not create")]
    NameTaken(String),
}
