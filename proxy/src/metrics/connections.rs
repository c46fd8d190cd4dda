//! Counting open client connections with a lease: the proxy listener
//! (`clients::guarded`) takes one when it admits a connection, before any
//! request, and drops it when the connection closes, through
//! [`super::Metrics::connection_opened`].

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
