//! Requests in flight per replica, so that a replica leaving the fleet is
//! stopped only once the requests it is serving have finished (draining).
//!
//! Each replica has one [`InFlight`], shared by the fleet's record of it and
//! by its member in every ring it is part of, so the proxy finds it without
//! any lookup. When the proxy picks a replica it takes a [`Lease`] and keeps
//! it in the request's context: every way a request ends (an answer, an
//! error, a client that hangs up, a failover to another replica) drops the
//! lease, and nothing else has to remember to give it back.
//!
//! Leaving: the fleet [`InFlight::retire`]s a replica before it publishes
//! the ring without it, then waits in [`InFlight::drained`]. The proxy
//! checks the flag again after taking its lease ([`InFlight::lease`]
//! answers `None` for a retired replica). Both sides use sequentially
//! consistent atomics, so either the proxy sees the flag (and picks another
//! replica) or the fleet sees the lease (and waits for it): no request can
//! start on a replica after its drain has found it idle.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// One replica's requests in flight and whether it is leaving.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
    retired: AtomicBool,
    idle: Notify,
}

/// A request's hold on its replica; dropping it ends the request there.
#[derive(Debug)]
pub struct Lease(Arc<InFlight>);

impl InFlight {
    pub fn new() -> Arc<InFlight> {
        Arc::new(InFlight::default())
    }

    /// Counts a request on this replica, unless the replica is leaving.
    pub fn lease(self: &Arc<Self>) -> Option<Lease> {
        self.count.fetch_add(1, SeqCst);
        let lease = Lease(self.clone());
        // Dropped at once (and counted back down) when the fleet got there
        // first.
        (!self.retired.load(SeqCst)).then_some(lease)
    }

    /// Requests on this replica right now.
    pub fn count(&self) -> usize {
        self.count.load(SeqCst)
    }

    /// Marks the replica as leaving: no new lease from now on.
    pub fn retire(&self) {
        self.retired.store(true, SeqCst);
    }

    pub fn is_retired(&self) -> bool {
        self.retired.load(SeqCst)
    }

    /// Waits until no request is in flight, at most `limit`. Says whether
    /// it got there (false: requests were still running at the deadline).
    pub async fn drained(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            // Registered before the check, so a lease dropped in between
            // still wakes us.
            idle.as_mut().enable();
            if self.count() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.count() == 0;
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn leases_count_and_release_on_drop() {
        let f = InFlight::new();
        let a = f.lease().unwrap();
        let b = f.lease().unwrap();
        assert_eq!(f.count(), 2);
        drop(a);
        assert_eq!(f.count(), 1);
        assert!(!f.drained(Duration::from_millis(20)).await);
        drop(b);
        assert!(f.drained(Duration::ZERO).await);
    }

    #[tokio::test]
    async fn a_retired_replica_gives_no_lease() {
        let f = InFlight::new();
        f.retire();
        assert!(f.lease().is_none());
        assert_eq!(f.count(), 0);
        assert!(f.is_retired());
    }

    #[tokio::test]
    async fn drained_wakes_when_the_last_lease_goes() {
        let f = InFlight::new();
        let lease = f.lease().unwrap();
        let started = std::time::Instant::now();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(lease);
        });
        assert!(f.drained(Duration::from_secs(10)).await);
        assert!(started.elapsed() < Duration::from_secs(5));
        release.await.unwrap();
    }
}
