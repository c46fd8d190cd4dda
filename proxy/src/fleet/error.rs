//! Why the fleet refused a change. Typed here, worded once (`Display`, in
//! the spec's words where the spec has them); the admin API alone turns a
//! refusal into an HTTP status and an `<Error> ...` body.

/// A refused `/add` or `/rm`; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("Length of hostname list is more than newly added instances")]
    TooManyToAdd,
    #[error("Length of hostname list is more than removable instances")]
    TooManyToRemove,
    #[error("n must be at least 1")]
    ZeroCount,
    #[error("hostname {0:?} is listed twice")]
    ListedTwice(String),
    /// The provisioner's reason (`Provisioner::check_name`).
    #[error("{0}")]
    InvalidName(String),
    #[error("hostname {0:?} already exists")]
    Exists(String),
    #[error("no replica named {0:?}")]
    Unknown(String),
    #[error("cannot add {n} replicas: {now} exist and at most {max} are allowed")]
    OverMax { n: u64, now: u64, max: u64 },
    #[error("ring capacity exceeded: {total} replicas x {vnodes} virtual nodes > {slots} slots")]
    RingFull {
        total: u128,
        vnodes: u32,
        slots: u64,
    },
    #[error("cannot remove {n} replicas: only {now} exist")]
    TooFew { n: u64, now: u64 },
    #[error("the {kind} provisioner cannot invent replicas: give a host:port for each of the {n}")]
    CannotInventNames { kind: &'static str, n: u64 },
    #[error("could not generate a free hostname")]
    NoFreeName,
    /// Every replica that did not start, with the reason, sorted.
    #[error("could not start replicas, nothing was added: {}", .0.join("; "))]
    StartFailed(Vec<String>),
    #[error("{0}")]
    Stopping(Stopping),
}

/// Why the fleet takes no more changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stopping {
    /// SIGTERM/SIGINT: the replicas drain and stop with ringlb.
    #[error("the load balancer is shutting down")]
    Shutdown,
    /// SIGQUIT: a new ringlb process takes the replica set over.
    #[error(
        "the load balancer is handing over to its upgraded process; try again in a few seconds"
    )]
    Upgrade,
}

/// How the fleet's refusals read as one kind of failure each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself is wrong.
    Invalid,
    /// A name the request needs is already taken.
    Conflict,
    /// A name the request gives does not exist.
    NotFound,
    /// Not now: replicas did not start, or ringlb is stopping.
    Unavailable,
}

impl ChangeError {
    pub fn refusal(&self) -> Refusal {
        use ChangeError::*;
        match self {
            TooManyToAdd
            | TooManyToRemove
            | ZeroCount
            | ListedTwice(_)
            | InvalidName(_)
            | OverMax { .. }
            | RingFull { .. }
            | TooFew { .. }
            | CannotInventNames { .. } => Refusal::Invalid,
            Exists(_) => Refusal::Conflict,
            Unknown(_) => Refusal::NotFound,
            NoFreeName | StartFailed(_) | Stopping(_) => Refusal::Unavailable,
        }
    }
}
