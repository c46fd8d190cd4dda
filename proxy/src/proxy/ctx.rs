//! What the proxy keeps per request, from its header to its end: the ring
//! slot, the replica of the current attempt (address, name and in-flight
//! lease), what failover has used up, and the timings the access log
//! reports. (Client connections are counted by the listener,
//! `clients::guarded`.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::inflight::Lease;

/// Per-request state.
#[derive(Debug)]
pub struct RequestCtx {
    /// When the request's header had been read.
    pub(super) started: Instant,
    /// When the first replica was picked, and when a replica's response
    /// header arrived (the access log's upstream time).
    pub(super) upstream_started: Option<Instant>,
    pub(super) upstream_answered: Option<Instant>,
    /// The request's ring slot, computed once.
    pub(super) slot: Option<u64>,
    /// The replica of the current attempt: its address, and the lease that
    /// counts this request among its requests in flight (after a failure,
    /// ended but kept: it names the replica tried last).
    pub(super) current: Option<SocketAddr>,
    pub(super) lease: Option<Lease>,
    /// Replicas that already failed this request.
    pub(super) tried: Vec<SocketAddr>,
    /// Attempts moved to the next replica after a refused connect or a
    /// reset (bounded by `upstream.connect_retries`).
    pub(super) failovers: u32,
    /// Stale pooled connections retried on the same replica.
    pub(super) reused_failures: u32,
    /// Whether the one failover after a timeout was used.
    pub(super) timed_out: bool,
}

impl RequestCtx {
    pub(super) fn new() -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            upstream_started: None,
            upstream_answered: None,
            slot: None,
            current: None,
            lease: None,
            tried: Vec::new(),
            failovers: 0,
            reused_failures: 0,
            timed_out: false,
        }
    }

    /// The current replica failed this request: never again for it.
    pub(super) fn give_up_current(&mut self) {
        if let Some(addr) = self.current {
            self.tried.push(addr);
        }
        if let Some(lease) = &mut self.lease {
            lease.end();
        }
    }

    /// The name of the replica tried last, if any.
    pub(super) fn replica(&self) -> Option<&Arc<str>> {
        self.lease.as_ref().map(|l| l.replica().name())
    }
}
