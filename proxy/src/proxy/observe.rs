//! What happens once per request, after it ended however it ended
//! (`ProxyHttp::logging`): its metrics, and its access log line when the
//! access log is on.

use std::time::SystemTime;

use pingora_proxy::Session;

use super::access_log::Entry;
use super::{RequestCtx, RingProxy};

impl RingProxy {
    pub(super) fn observe(&self, session: &Session, ctx: &RequestCtx) {
        let total = ctx.started.elapsed();
        let status = session
            .as_downstream()
            .response_written()
            .map(|h| h.status.as_u16());
        match &ctx.lease {
            Some(lease) => lease.replica().served(&self.metrics, status, total),
            None => self.metrics.unrouted(status),
        }
        let replica = ctx.replica().map(|name| &**name);
        if let Some(log) = &self.access_log {
            let req = session.req_header();
            log.write(&Entry {
                at: SystemTime::now(),
                client: session.client_addr().and_then(|a| a.as_inet()).copied(),
                method: req.method.as_str(),
                path: req.uri.path(),
                status,
                replica,
                upstream: ctx
                    .upstream_started
                    .zip(ctx.upstream_answered)
                    .map(|(from, to)| to.saturating_duration_since(from)),
                total,
            });
        }
    }
}
