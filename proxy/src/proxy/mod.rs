//! The `ProxyHttp` implementation: routes each request by the current ring.
//!
//! Per request: unknown paths get the spec's 400 without touching a replica;
//! admin paths (when enabled on this port) go to the admin API; everything
//! else is keyed ([`key`]), looked up in the ring (one atomic load, no lock)
//! and proxied. A failed connect is retried on the next distinct replica
//! clockwise (up to `upstream.connect_retries` times). An idempotent request
//! that fails after connecting, before anything reached the client, is
//! replayed there too: after a reset within the same budget, after a timeout
//! once; a stale pooled connection is first retried on the same replica.
//! Only the replica's failures count: a client that hangs up is not a reason
//! to replay or to suspect anyone. Replicas that fail on the request path are
//! reported to the health keeper as suspects.
//!
//! The chosen replica's name and a lease on its requests in flight stay in
//! the request's context: the lease lets a leaving replica drain (see
//! [`crate::inflight`]), the name labels the request's metrics and access
//! log line ([`observe`]), written once per request in `logging`.

pub mod access_log;
mod ctx;
mod key;
mod observe;
mod respond;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_core::{Error, ErrorSource, ErrorType, Result};
use pingora_http::ResponseHeader;
use pingora_proxy::{FailToProxy, ProxyHttp, Session};
use tokio::sync::mpsc;

use crate::admin::{self, AdminApi, Reply};
use crate::clients::{self, ClientSettings, HeaderSeen};
use crate::config::{KeySource, Settings, UpstreamSettings};
use crate::fleet::SharedRing;
use crate::metrics::{Listener, Metrics, Retry};
use crate::select::{self, Policy};
use crate::upgrade::Handover;

pub use access_log::AccessLog;
pub use ctx::RequestCtx;
pub use key::random_id;

/// The load balancer's proxy logic.
pub struct RingProxy {
    ring: SharedRing,
    key: KeySource,
    routes: Vec<String>,
    upstream: UpstreamSettings,
    admin: Option<Arc<AdminApi>>,
    suspects: mpsc::Sender<Arc<str>>,
    clients: ClientSettings,
    metrics: Arc<Metrics>,
    access_log: Option<AccessLog>,
    /// Set while this process hands over to an upgraded one.
    handover: Arc<Handover>,
    /// Which replica serves a request (`crate::select`).
    policy: Box<dyn Policy>,
}

impl RingProxy {
    /// `admin` is set when the admin API should also answer on this port;
    /// `access_log` when requests are logged.
    pub fn new(
        settings: &Settings,
        ring: SharedRing,
        admin: Option<Arc<AdminApi>>,
        suspects: mpsc::Sender<Arc<str>>,
        metrics: Arc<Metrics>,
        access_log: Option<AccessLog>,
        handover: Arc<Handover>,
    ) -> Self {
        RingProxy {
            ring,
            key: settings.key.clone(),
            routes: settings.routes.clone(),
            upstream: settings.upstream.clone(),
            admin,
            suspects,
            clients: settings.clients.clone(),
            metrics,
            access_log,
            handover,
            policy: select::policy(settings.ring.bounded_load, settings.ring.bounded_walk),
        }
    }

    fn peer(&self, addr: SocketAddr) -> HttpPeer {
        let mut peer = HttpPeer::new(addr, false, String::new());
        if self.upstream.pool_per_thread {
            peer.group_key = worker::index();
        }
        let o = &mut peer.options;
        o.connection_timeout = Some(self.upstream.connect_timeout);
        o.total_connection_timeout = Some(self.upstream.connect_timeout);
        o.read_timeout = Some(self.upstream.read_timeout);
        o.write_timeout = Some(self.upstream.write_timeout);
        o.idle_timeout = Some(self.upstream.idle_timeout);
        if let Some(streams) = self.upstream.http2_streams {
            // Minimum version 2 over plain TCP: h2c with prior knowledge
            // (pingora-core connectors/http/v2.rs trusts the caller here).
            o.set_http_version(2, 2);
            o.max_h2_streams = streams;
        }
        peer
    }

    /// Tells the health keeper that a request could not use the current
    /// replica: only while the ring still has it at that address (news
    /// about a replica that was replaced under its name is stale).
    fn report(&self, ctx: &RequestCtx) {
        let (Some(name), Some(addr)) = (ctx.replica(), ctx.current) else {
            return;
        };
        if self
            .ring
            .load()
            .member(name)
            .is_some_and(|m| m.addr == addr)
        {
            // A full queue means the health keeper already has plenty to check.
            let _ = self.suspects.try_send(name.clone());
        }
    }

    async fn answer(&self, session: &mut Session, reply: &Reply) -> Result<bool> {
        respond::send(session, reply).await?;
        Ok(true)
    }
}

#[async_trait]
impl ProxyHttp for RingProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new()
    }

    fn on_connection_reuse(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
        context: Box<dyn std::any::Any + Send + Sync>,
    ) {
        // Called right after the header is parsed: the listener's header
        // deadline (clients::guarded) is met.
        HeaderSeen::mark(context);
    }

    async fn early_request_filter(
        &self,
        session: &mut Session,
        _ctx: &mut RequestCtx,
    ) -> Result<()> {
        let c = &self.clients;
        let downstream = session.as_downstream_mut();
        downstream.set_read_timeout(Some(c.body_timeout));
        downstream.set_write_timeout(Some(c.body_timeout));
        if c.pipelining {
            downstream.set_pipelining_enabled(true);
        }
        if self.handover.in_progress() {
            // On the way out: the client's next request should open a
            // connection, which the new process may accept.
            session.set_keepalive(None);
        }
        if let Some(why) =
            clients::header_too_large(session.as_downstream(), c.max_headers, c.max_header_bytes)
        {
            // The connection's framing is intact, but a client this far out
            // of bounds gets no second request.
            session.set_keepalive(None);
            return Err(Error::explain(ErrorType::HTTPStatus(431), why));
        }
        Ok(())
    }

    async fn request_filter(&self, session: &mut Session, _ctx: &mut RequestCtx) -> Result<bool> {
        let path = session.req_header().uri.path();
        if self.routes.iter().any(|r| r == path) {
            return Ok(false);
        }
        if let Some(api) = &self.admin {
            if admin::is_admin_path(path) {
                let reply = api
                    .serve(session.as_downstream_mut(), Listener::Proxy)
                    .await;
                return self.answer(session, &reply).await;
            }
        }
        let reply = Reply::failure(
            400,
            format!("<Error> '{path}' endpoint does not exist in server replicas"),
        );
        self.answer(session, &reply).await
    }

    async fn upstream_peer(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let ring = self.ring.load();
        if ring.is_empty() {
            // A request that already tried replicas says so, also when the
            // health keeper took the last of them out meanwhile.
            let why = if ctx.tried.is_empty() {
                "no replica is available"
            } else {
                "no replica could be reached"
            };
            return Err(Error::explain(ErrorType::HTTPStatus(503), why));
        }
        let slot = match ctx.slot {
            Some(s) => s,
            None => {
                let s = key::slot_for(&self.key, session, &ring);
                ctx.slot = Some(s);
                s
            }
        };
        // The policy's pick (the owner first, then clockwise, within the
        // load bound if one is set); never a replica that already failed
        // this request, nor one that is leaving.
        // A retry ends the previous attempt's count first (its lease keeps
        // naming the replica, should no other be found).
        if let Some(lease) = &mut ctx.lease {
            lease.end();
        }
        let Some((member, lease)) = self.policy.pick(&ring, slot, &ctx.tried) else {
            return Err(Error::explain(
                ErrorType::HTTPStatus(503),
                "no replica could be reached",
            ));
        };
        ctx.current = Some(member.addr);
        ctx.lease = Some(lease);
        if self.access_log.is_some() {
            // Only the access log reports the upstream time: no clock read
            // per request without it.
            ctx.upstream_started.get_or_insert_with(Instant::now);
        }
        Ok(Box::new(self.peer(member.addr)))
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        _upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if self.access_log.is_some() {
            ctx.upstream_answered = Some(Instant::now());
        }
        Ok(())
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        ctx.give_up_current();
        self.report(ctx);
        if let Some(name) = ctx.replica() {
            self.metrics.connect_failure(name);
        }
        if ctx.failovers < self.upstream.connect_retries {
            ctx.failovers += 1;
            e.set_retry(true);
            if let Some(name) = ctx.replica() {
                self.metrics.retry(Retry::Connect, name);
            }
        }
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        // The client's own failures (it reset, hung up, sent a short or slow
        // body) are not the replica's: no replay, no suspicion.
        let upstream = *e.esource() == ErrorSource::Upstream;
        let replayable = upstream
            && self.upstream.retry_after_connect
            && session.req_header().method.is_idempotent()
            && !session.as_ref().retry_buffer_truncated()
            && session.as_downstream().response_written().is_none();
        if !replayable {
            e.set_retry(false);
            return e;
        }
        let timed_out = matches!(
            e.etype(),
            ErrorType::ReadTimedout | ErrorType::WriteTimedout
        );
        // A stale pooled connection (the replica closed it while idle):
        // retry the same replica on a fresh one, twice at most. Not for a
        // timeout: a replica that stopped answering is not stale, it is hung.
        if client_reused && !timed_out && ctx.reused_failures < 2 {
            ctx.reused_failures += 1;
            e.set_retry(true);
            if let Some(name) = ctx.replica() {
                self.metrics.retry(Retry::StaleConnection, name);
            }
            return e;
        }
        // A timeout costs the client a whole read timeout: fail over once.
        // A reset or close (the replica died under the request) is as cheap
        // as a refused connect and shares that budget.
        let allowed = if timed_out {
            !std::mem::replace(&mut ctx.timed_out, true)
        } else if ctx.failovers < self.upstream.connect_retries {
            ctx.failovers += 1;
            true
        } else {
            false
        };
        if allowed {
            ctx.give_up_current();
            self.report(ctx);
            if let Some(name) = ctx.replica() {
                let why = if timed_out {
                    Retry::Timeout
                } else {
                    Retry::Reset
                };
                self.metrics.retry(why, name);
            }
        }
        e.set_retry(allowed);
        e
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        _ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let (code, message) = match (e.etype(), e.esource()) {
            // The client's own failures first: a slow upload is a 408, a
            // broken or over-eager (pipelined) client is closed, never a
            // replica's 5xx.
            (ErrorType::ReadTimedout, ErrorSource::Downstream) => {
                (408, "<Error> timed out reading the request".to_string())
            }
            (
                ErrorType::ConnectError
                | ErrorType::ReadError
                | ErrorType::WriteError
                | ErrorType::WriteTimedout
                | ErrorType::ConnectionClosed,
                ErrorSource::Downstream,
            ) => (0, String::new()),
            (ErrorType::HTTPStatus(code), _) => (
                *code,
                format!(
                    "<Error> {}",
                    e.context
                        .as_ref()
                        .map_or_else(|| "request failed".to_string(), |c| c.as_str().to_string())
                ),
            ),
            (_, ErrorSource::Downstream) => (400, "<Error> bad request".to_string()),
            (
                ErrorType::ConnectTimedout
                | ErrorType::ConnectRefused
                | ErrorType::ConnectNoRoute
                | ErrorType::ConnectError,
                _,
            ) => (503, "<Error> no replica could be reached".to_string()),
            (ErrorType::ReadTimedout | ErrorType::WriteTimedout, _) => (
                504,
                "<Error> the replica did not answer in time".to_string(),
            ),
            (_, ErrorSource::Upstream) => (
                502,
                format!("<Error> the replica failed: {}", e.etype().as_str()),
            ),
            _ => (500, "<Error> internal error".to_string()),
        };
        log::debug!(
            "fail_to_proxy: {e} -> {code}, written: {:?}",
            session.as_downstream().response_written().map(|h| h.status)
        );
        if code > 0 && session.as_downstream().response_written().is_none() {
            // Pingora closes the client connection after a failed proxy
            // attempt: say so, so the client does not try to reuse it.
            session.set_keepalive(None);
            let reply = Reply::failure(code, message);
            if let Err(err) = respond::send(session, &reply).await {
                log::debug!("could not send the error response: {err}");
            }
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut RequestCtx) {
        self.observe(session, ctx);
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, e: &Error) -> bool {
        // No replicas is a state the health keeper already logs; a client's own
        // mistakes (a 4xx, a hang-up, a malformed stream) are not ringlb's
        // errors, and a hostile client must not be able to flood the log.
        matches!(e.etype(), ErrorType::HTTPStatus(code) if *code == 503 || (400..500).contains(code))
            || *e.esource() == ErrorSource::Downstream
    }
}
