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
//! The same per-replica record carries the replica's name and its request
//! metric series ([`ReplicaSeries`]), so a request reaches all three
//! through the one reference its lease holds: no name is cloned and no
//! series looked up per request.
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

use crate::metrics::{Metrics, ReplicaSeries};

/// One replica's requests in flight and whether it is leaving.
#[derive(Debug)]
pub struct InFlight {
    name: Arc<str>,
    count: AtomicUsize,
    retired: AtomicBool,
    idle: Notify,
    series: ReplicaSeries,
}

/// A request's hold on its replica: counted among its requests in flight
/// until [`Lease::end`] or the drop, and naming the replica after that.
#[derive(Debug)]
pub struct Lease {
    replica: Arc<InFlight>,
    counted: bool,
}

impl InFlight {
    pub fn new(name: &str) -> Arc<InFlight> {
        let name: Arc<str> = Arc::from(name);
        Arc::new(InFlight {
            series: ReplicaSeries::new(name.clone()),
            name,
            count: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            idle: Notify::new(),
        })
    }

    /// Counts a request on this replica, unless the replica is leaving.
    pub fn lease(self: &Arc<Self>) -> Option<Lease> {
        self.count.fetch_add(1, SeqCst);
        let lease = Lease {
            replica: self.clone(),
            counted: true,
        };
        // Dropped at once (and counted back down) when the fleet got there
        // first.
        (!self.retired.load(SeqCst)).then_some(lease)
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Records a finished request in this replica's series.
    pub fn served(&self, metrics: &Metrics, status: Option<u16>, took: Duration) {
        metrics.served(&self.series, status, took);
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

impl Lease {
    /// The replica this request went to (last).
    pub fn replica(&self) -> &InFlight {
        &self.replica
    }

    /// Ends the request on this replica (it failed there and moves on, or
    /// gives up) while the lease keeps naming it.
    pub fn end(&mut self) {
        if std::mem::take(&mut self.counted) && self.replica.count.fetch_sub(1, SeqCst) == 1 {
            self.replica.idle.notify_waiters();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn leases_count_and_release_on_drop() {
        let f = InFlight::new("r");
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
    async fn an_ended_lease_still_names_its_replica_and_counts_once() {
        let f = InFlight::new("r1");
        let mut lease = f.lease().unwrap();
        assert_eq!(f.count(), 1);
        lease.end();
        assert_eq!(f.count(), 0);
        assert_eq!(&**lease.replica().name(), "r1");
        lease.end();
        drop(lease);
        assert_eq!(f.count(), 0, "ended once, not again at the drop");
        assert!(f.drained(Duration::ZERO).await);
    }

    #[tokio::test]
    async fn a_retired_replica_gives_no_lease() {
        let f = InFlight::new("r");
        f.retire();
        assert!(f.lease().is_none());
        assert_eq!(f.count(), 0);
        assert!(f.is_retired());
    }

    #[tokio::test]
    async fn drained_wakes_when_the_last_lease_goes() {
        let f = InFlight::new("r");
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
