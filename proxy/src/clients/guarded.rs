//! The client side of a listener: admission and the deadlines Pingora does
//! not keep.
//!
//! Pingora's HTTP/1 loop (`process_new` in pingora-core's `apps/mod.rs`)
//! times each *read* of a request header (60 s on a new connection), not
//! the header as a whole, and once a request has switched keep-alive on it
//! waits for the next one with no limit at all (`keepalive_timeout` 0 means
//! infinite in `protocols/http/v1/server.rs`). A client sending a byte a
//! second, or an idle keep-alive connection, is therefore held forever.
//! [`Guarded`] runs that loop itself, wrapped around the same inner app:
//!
//! - a connection first takes a place at the [`ConnGate`]; without one it
//!   gets a short JSON 503 with `Connection: close` (or, past a bound on
//!   refusals in progress, is closed at once);
//! - the first request's whole header must arrive within `header_timeout`,
//!   each later one within `idle_timeout + header_timeout` of the previous
//!   answer; past that the connection is closed and counted.
//!
//! "Header arrived" is signalled by whoever handles the request: the loop
//! puts a [`HeaderSeen`] in the session's connection context, and the proxy
//! (`on_connection_reuse`, called right after the header is parsed) or the
//! admin app marks it.

use std::any::Any;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora_core::apps::{HttpServerApp, ServerApp};
use pingora_core::protocols::http::ServerSession;
use pingora_core::protocols::Stream;
use pingora_core::server::ShutdownWatch;
use pingora_http::ResponseHeader;

use super::gate::{ConnGate, Refusal};
use crate::metrics::Metrics;

/// Refusals answered at once; beyond this many in progress, a refused
/// connection is closed without an answer (a flood must not pile up tasks).
const MAX_ANSWERED_REFUSALS: usize = 256;
/// How long a refused client gets to send its request before the 503.
const REFUSAL_READ: Duration = Duration::from_secs(2);

/// The two deadlines a connection's requests must meet.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub header: Duration,
    pub idle: Duration,
}

/// Marks, from inside the request's handler, that its header was read.
pub struct HeaderSeen(Arc<AtomicBool>);

impl HeaderSeen {
    /// Marks the connection context handed to a request, if it is ours.
    pub fn mark(context: Box<dyn Any + Send + Sync>) {
        if let Ok(seen) = context.downcast::<HeaderSeen>() {
            seen.0.store(true, Ordering::Release);
        }
    }
}

/// Counts a listener's timed-out and refused connections.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub header_timeouts: AtomicU64,
    pub idle_timeouts: AtomicU64,
    refusing: AtomicUsize,
    last_refusal_log_ms: AtomicU64,
}

/// An HTTP app behind admission control and request deadlines.
pub struct Guarded<A> {
    inner: Arc<A>,
    gate: Arc<ConnGate>,
    deadlines: Deadlines,
    stats: Arc<ClientStats>,
    /// The listener's name, for the log.
    name: &'static str,
    born: Instant,
    /// Where open connections are counted (the proxy listener's).
    metrics: Option<Arc<Metrics>>,
}

impl<A> Guarded<A> {
    pub fn new(
        name: &'static str,
        inner: A,
        gate: Arc<ConnGate>,
        deadlines: Deadlines,
    ) -> Guarded<A> {
        Guarded {
            inner: Arc::new(inner),
            gate,
            deadlines,
            stats: Arc::new(ClientStats::default()),
            name,
            born: Instant::now(),
            metrics: None,
        }
    }

    /// Counts this listener's open connections in `metrics`.
    pub fn counted_in(mut self, metrics: Arc<Metrics>) -> Guarded<A> {
        self.metrics = Some(metrics);
        self
    }

    pub fn stats(&self) -> Arc<ClientStats> {
        self.stats.clone()
    }

    /// Answers a refused connection with a JSON 503 and closes it.
    async fn refuse(&self, stream: Stream, why: Refusal) {
        self.log_refusal(why);
        let busy = self.stats.refusing.fetch_add(1, Ordering::AcqRel);
        if busy < MAX_ANSWERED_REFUSALS {
            let mut session = ServerSession::new_http1(stream);
            // Read the request first: closing a socket with unread data
            // makes the kernel send a reset, which can destroy the answer.
            if let Ok(Ok(true)) = tokio::time::timeout(REFUSAL_READ, session.read_request()).await {
                // After the read, which sets keep-alive from the request.
                session.set_keepalive(None);
                let message = match why {
                    Refusal::Full => "<Error> too many connections, try again later",
                    Refusal::PerClient => "<Error> too many connections from this address",
                };
                let _ = answer(&mut session, 503, message).await;
            }
            session.shutdown().await;
        }
        self.stats.refusing.fetch_sub(1, Ordering::AcqRel);
    }

    /// One warning a second at most, with the counts so far.
    fn log_refusal(&self, why: Refusal) {
        let now = self.born.elapsed().as_millis() as u64;
        let last = self.stats.last_refusal_log_ms.load(Ordering::Relaxed);
        if (last == 0 || now >= last + 1000)
            && self
                .stats
                .last_refusal_log_ms
                .compare_exchange(last, now.max(1), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let (full, per_client) = self.gate.refused();
            log::warn!(
                "{}: refusing connections ({why:?}): {} open of {}; refused so far: {full} at the limit, {per_client} per client",
                self.name,
                self.gate.open(),
                self.gate.max_total()
            );
        }
    }
}

#[async_trait]
impl<A> ServerApp for Guarded<A>
where
    A: HttpServerApp + Send + Sync + 'static,
{
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let client = peer_ip(&stream);
        let _permit = match self.gate.admit(client) {
            Ok(permit) => permit,
            Err(why) => {
                if let Some(m) = &self.metrics {
                    m.client_shed(match why {
                        Refusal::Full => "limit",
                        Refusal::PerClient => "per_client",
                    });
                }
                self.refuse(stream, why).await;
                return None;
            }
        };
        let _open = self.metrics.as_ref().map(|m| m.connection_opened());
        // Wait for the first byte of a new connection's request here,
        // before Pingora builds its session: a connection accepted just
        // before a shutdown or an upgrade is then served, not dropped
        // (Pingora drops a connection that has not sent its request when it
        // shuts down: pingora-proxy `handle_new_request`, "service shutting
        // down"), and a silent client holds no request state (Pingora's
        // per-request future is about 9 KB, its header buffer 4 KB). Not
        // between kept-alive requests: the next one may already sit in
        // Pingora's pipelined prefix, which `HttpPersistentSettings` keeps
        // out of sight, and a peek would wait for bytes that never come.
        let mut stream = stream;
        let accepted = Instant::now();
        let mut byte = [0u8; 1];
        match tokio::time::timeout(self.deadlines.header, stream.try_peek(&mut byte)).await {
            Ok(Ok(true)) => {}
            Ok(_) => return None,
            Err(_) => {
                self.stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
                if let Some(m) = &self.metrics {
                    m.client_shed("header_timeout");
                }
                return None;
            }
        }
        let mut session = ServerSession::new_http1(stream);
        let mut first = true;
        loop {
            if *shutdown.borrow() {
                session.set_keepalive(None);
            } else if first {
                // Pingora's per-read wait; the deadline below bounds the whole.
                session.set_keepalive(Some(self.deadlines.idle.as_secs().max(1)));
            }
            let seen = Arc::new(AtomicBool::new(false));
            session.set_connection_user_context(Some(Box::new(HeaderSeen(seen.clone()))));
            let limit = if first {
                // One deadline for the whole first header, peek included.
                self.deadlines.header.saturating_sub(accepted.elapsed())
            } else {
                self.deadlines.idle + self.deadlines.header
            };
            let served = self.inner.process_new_http(session, shutdown);
            tokio::pin!(served);
            let reused = tokio::select! {
                reused = &mut served => reused,
                _ = tokio::time::sleep(limit) => {
                    if seen.load(Ordering::Acquire) {
                        served.await
                    } else {
                        let counter = if first {
                            &self.stats.header_timeouts
                        } else {
                            &self.stats.idle_timeouts
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        if let Some(m) = &self.metrics {
                            m.client_shed(if first { "header_timeout" } else { "idle_timeout" });
                        }
                        log::debug!("{}: closed a connection with no request after {limit:?}", self.name);
                        return None;
                    }
                }
            };
            let (stream, persistent) = reused?.consume();
            session = ServerSession::new_http1(stream);
            if let Some(settings) = persistent {
                settings.apply_to_session(&mut session);
            }
            first = false;
        }
    }

    async fn cleanup(&self) {
        self.inner.http_cleanup().await;
    }
}

/// Writes a complete JSON error answer.
pub async fn answer(
    session: &mut ServerSession,
    status: u16,
    message: &str,
) -> pingora_core::Result<()> {
    let body = crate::admin::Reply::failure(status, message.to_string()).body;
    let mut head = ResponseHeader::build(status, Some(3))?;
    head.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    head.insert_header(http::header::CONTENT_LENGTH, body.len().to_string())?;
    session.write_response_header(Box::new(head)).await?;
    session.write_response_body(body, true).await?;
    session.finish_body().await
}

fn peer_ip(stream: &Stream) -> Option<IpAddr> {
    stream
        .get_socket_digest()
        .and_then(|d| d.peer_addr().and_then(|a| a.as_inet()).map(|a| a.ip()))
}
