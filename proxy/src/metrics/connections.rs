//! Counting open client connections with a lease.
//!
//! The proxy takes a lease at a connection's first request and hands a
//! clone of it from each request to the next on a keep-alive connection
//! (Pingora's `persist_connection_context`); the gauge goes down when the
//! last clone is dropped, which is when the connection closes. A listener
//! wrapper that sees connections before any request can take the lease
//! itself, through [`super::Metrics::connection_opened`].

use std::sync::Arc;

use prometheus::IntGauge;

/// One open connection; clones share it.
#[derive(Debug, Clone)]
pub struct ConnectionLease {
    _open: Arc<Open>,
}

#[derive(Debug)]
struct Open(IntGauge);

impl ConnectionLease {
    pub(super) fn new(gauge: IntGauge) -> ConnectionLease {
        gauge.inc();
        ConnectionLease {
            _open: Arc::new(Open(gauge)),
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}
