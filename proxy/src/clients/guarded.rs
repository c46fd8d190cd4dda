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
//!   answer; past that the connection is closed and counted;
//! - a connection waits for the first bytes of each request before Pingora
//!   builds its session (unless Pingora already holds the next request's
//!   bytes: see [`super::counted`] for the usual case, where it cannot, and
//!   [`holds_pipelined_bytes`] for the others), so an idle connection holds no
//!   request state: no session, no 4 KiB header buffer, no per-request
//!   future (about 9 KB). That is most of what an idle keep-alive
//!   connection used to cost. The bytes read by the wait become the
//!   session's parse buffer ([`super::arrival`]), so the wait costs no
//!   extra read.
//!
//! "Header arrived" is signalled by whoever handles the request: the loop
//! puts a [`HeaderSeen`] in the session's connection context, and the proxy
//! (`on_connection_reuse`, called right after the header is parsed) or the
//! admin app marks it.

use std::any::Any;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use pingora_core::apps::{HttpPersistentSettings, HttpServerApp, ServerApp};
use pingora_core::protocols::http::ServerSession;
use pingora_core::protocols::Stream;
use pingora_core::server::ShutdownWatch;
use pingora_http::ResponseHeader;
use tokio::sync::watch::error::RecvError;
use tokio::time::{Instant, Sleep};

use super::arrival::Arrival;
use super::counted::Counted;
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
    /// Move kept-alive connections to their thread's reactor.
    rehome: bool,
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
            rehome: false,
        }
    }

    /// Counts this listener's open connections in `metrics`.
    pub fn counted_in(mut self, metrics: Arc<Metrics>) -> Guarded<A> {
        self.metrics = Some(metrics);
        self
    }

    /// Moves each connection kept alive after its first request to the
    /// reactor of the thread that serves it ([`super::rehome`]).
    pub fn rehoming(mut self, rehome: bool) -> Guarded<A> {
        self.rehome = rehome;
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

    /// Waits until the client sends the next request's first bytes (and
    /// reads them, see [`Arrival`]), hangs up, or `late` fires; a kept-alive
    /// connection also stops waiting when the service shuts down (as
    /// Pingora's own wait does).
    async fn arrival(
        &self,
        stream: &mut Stream,
        late: Pin<&mut Sleep>,
        first: bool,
        shutdown: Pin<&mut impl Future<Output = Result<(), RecvError>>>,
        stopping: bool,
    ) -> Wait {
        // A kept-alive connection is closed at shutdown, after a request
        // already sent is served (the read is polled first); a new one is
        // served whenever its request comes. A closed sender also ends it.
        let stop = async move {
            if first {
                std::future::pending::<()>().await;
            } else if !stopping {
                let _ = shutdown.await;
            }
        };
        tokio::select! {
            biased;
            read = Arrival::new(stream) => match read {
                Ok(Some(bytes)) => Wait::Bytes(bytes),
                _ => Wait::Gone,
            },
            _ = late => Wait::Late,
            _ = stop => Wait::Gone,
        }
    }

    /// Counts a connection closed for missing its deadline: the first
    /// request's header, or a kept-alive connection's next request.
    fn count_late(&self, first: bool, what: &str) {
        let (counter, label) = if first {
            (&self.stats.header_timeouts, "header_timeout")
        } else {
            (&self.stats.idle_timeouts, "idle_timeout")
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.client_shed(label);
        }
        log::debug!("{}: closed a connection with {what} in time", self.name);
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
                // Boxed: its session and read would otherwise size every
                // connection's future (this one is held for the
                // connection's whole life, idle or not).
                Box::pin(self.refuse(stream, why)).await;
                return None;
            }
        };
        let _open = self.metrics.as_ref().map(|m| m.connection_opened());
        // Wait for the first bytes of each request here, before Pingora
        // builds its session: a connection accepted just before a shutdown
        // or an upgrade is then served, not dropped (Pingora drops a
        // connection that has not sent its request when it shuts down:
        // pingora-proxy `handle_new_request`, "service shutting down"), and
        // a silent or idle client holds no request state.
        let mut stream = Counted::wrap(stream);
        let mut deadline = Instant::now() + self.deadlines.header;
        // Whether the last request left no bytes of a next one with Pingora.
        let mut left_nothing = false;
        let mut first = true;
        let mut moved = !self.rehome;
        let mut settings = None;
        // The connection's own view of the shutdown flag: read once here,
        // then a version check per request (an atomic load), where reading
        // the shared watch (a lock) and cloning it for each wait were
        // writes to memory every thread shares.
        let mut watch = shutdown.clone();
        let mut stopping = *watch.borrow_and_update();
        // The wait for a shutdown, made once: it joins the watch's list of
        // waiters when first polled and stays there, where a wait made per
        // request joined and left it each time. It ends only the waits
        // between requests, and only once (the connection then closes).
        let mut waiter = watch.clone();
        let stop = waiter.changed();
        tokio::pin!(stop);
        // One timer per connection, for each request's wait and header both:
        // moved on per request (tokio extends a registered timer in place,
        // where a new one per request was a registration and a removal).
        let late = tokio::time::sleep_until(deadline);
        tokio::pin!(late);
        loop {
            stopping = stopping || watch.has_changed().unwrap_or(true);
            late.as_mut().reset(deadline);
            let mut arrived = None;
            if first || left_nothing || !settings.as_ref().is_some_and(holds_pipelined_bytes) {
                // Kept alive, and nothing of the next request is read yet:
                // the socket can move (once).
                if !first && !moved {
                    stream = Counted::rehome(stream);
                    moved = true;
                }
                match self
                    .arrival(&mut stream, late.as_mut(), first, stop.as_mut(), stopping)
                    .await
                {
                    Wait::Bytes(bytes) => arrived = Some(bytes),
                    Wait::Gone => return None,
                    Wait::Late => {
                        self.count_late(first, "no request");
                        return None;
                    }
                }
            }
            let mark = Counted::bytes_read(&stream);
            let mut session = ServerSession::new_http1(stream);
            if let Some(settings) = settings.take() {
                settings.apply_to_session(&mut session);
            }
            // A header that came whole with the first read has met its
            // deadline: no race against the timer, nothing to mark.
            let whole = arrived.as_deref().is_some_and(header_is_whole);
            if let (Some(bytes), ServerSession::H1(h1)) = (arrived, &mut session) {
                // The bytes read while waiting become the parse buffer
                // (no pipelined prefix is set here: the wait was skipped
                // if Pingora held one).
                h1.set_pipelined_prefix(bytes);
            }
            stopping = stopping || watch.has_changed().unwrap_or(true);
            if stopping {
                session.set_keepalive(None);
            } else if first {
                // Pingora's per-read wait; the deadline below bounds the whole.
                session.set_keepalive(Some(self.deadlines.idle.as_secs().max(1)));
            }
            let reused = if whole {
                self.inner.process_new_http(session, shutdown).await
            } else {
                let seen = Arc::new(AtomicBool::new(false));
                session.set_connection_user_context(Some(Box::new(HeaderSeen(seen.clone()))));
                let served = self.inner.process_new_http(session, shutdown);
                tokio::pin!(served);
                tokio::select! {
                    reused = &mut served => reused,
                    _ = &mut late => {
                        if seen.load(Ordering::Acquire) {
                            served.await
                        } else {
                            self.count_late(first, "no complete header");
                            return None;
                        }
                    }
                }
            };
            let (next, persistent) = reused?.consume();
            // A whole, lone header and no read since: nothing was left over.
            left_nothing = whole && mark.is_some() && Counted::bytes_read(&next) == mark;
            stream = next;
            settings = persistent;
            deadline = Instant::now() + self.deadlines.idle + self.deadlines.header;
            first = false;
        }
    }

    async fn cleanup(&self) {
        self.inner.http_cleanup().await;
    }
}

/// Whether `bytes` are one request's whole header and nothing more: they
/// end with its blank line, and hold no blank line before it. (Bytes that
/// are not HTTP at all fail in Pingora's parser at once.)
///
/// The usual case, a request without a body read in one piece, is such a
/// header; anything else takes the slower paths (the header's deadline
/// raced, the pipelined-bytes check). The parser (httparse) ends a header
/// at the first empty line, `\r\n` or a bare `\n` right after a line's
/// `\n`, and skips empty lines before the request line, so bytes that
/// start with one are never taken for a whole header: "\r\n\r\n" alone must
/// still meet the deadline.
fn header_is_whole(bytes: &[u8]) -> bool {
    let Some(head) = bytes.strip_suffix(b"\r\n\r\n") else {
        return false;
    };
    if matches!(bytes.first(), Some(b'\r' | b'\n')) {
        return false;
    }
    // Every line end before the last: the next line must not be empty. The
    // line ends are found a word at a time (a header is a few dozen bytes
    // with a few line ends; a general search's set-up cost more).
    let empty_after = |at: usize| matches!(&bytes[at + 1..], [b'\n', ..] | [b'\r', b'\n', ..]);
    const LF: u64 = u64::from_le_bytes([b'\n'; 8]);
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut words = head.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ LF;
        // The high bit of each byte that was a '\n' (and maybe of bytes
        // above one: each candidate is checked).
        let mut found = x.wrapping_sub(ONES) & !x & HIGH;
        while found != 0 {
            let at = base + (found.trailing_zeros() / 8) as usize;
            if bytes[at] == b'\n' && empty_after(at) {
                return false;
            }
            found &= found - 1;
        }
        base += 8;
    }
    !words
        .remainder()
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && empty_after(base + i))
}

/// How a wait for a request's first bytes ended.
enum Wait {
    /// The first bytes of the request, read.
    Bytes(BytesMut),
    /// The client hung up (or the service is shutting down).
    Gone,
    /// The deadline passed.
    Late,
}

/// Whether Pingora already holds bytes of the next request, read past the
/// end of the previous one (a pipelining client): waiting for bytes from
/// the socket would then wait for bytes the client has already sent.
///
/// `HttpPersistentSettings` keeps that field (`pipelined_prefix`, pingora-core
/// 0.9.1 `apps/mod.rs:114`) private with no getter, but derives `Debug`;
/// this reads the field from that, without allocating. The derived `Debug`
/// writes each field's name as one piece, then `": "`, then the value: the
/// first piece that is exactly `pipelined_prefix` is the field's name (the
/// fields before it print no client data, and a client's bytes inside the
/// value never form a piece of their own), and the value's first byte
/// tells `None` from `Some(b"...")`. Anything but `None` (another layout in
/// a later Pingora included) counts as "holds bytes", which only skips the
/// wait: the safe side.
pub fn holds_pipelined_bytes(settings: &HttpPersistentSettings) -> bool {
    use std::fmt::Write;
    let mut find = Find::default();
    let _ = write!(find, "{settings:?}");
    find.after != Some(b'N')
}

/// A `fmt::Write` sink that keeps the first byte of the value written after
/// the piece `pipelined_prefix` (and its `": "`), then stops the formatting.
#[derive(Default)]
struct Find {
    named: bool,
    after: Option<u8>,
}

impl std::fmt::Write for Find {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if !self.named {
            self.named = s == "pipelined_prefix";
            return Ok(());
        }
        if s == ": " {
            return Ok(());
        }
        self.after = s.bytes().next();
        // Stop formatting: the answer is known.
        Err(std::fmt::Error)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A session over a real loopback connection (Pingora's `Stream`).
    async fn session() -> (ServerSession, tokio::net::TcpStream) {
        let (stream, client) = crate::clients::loopback().await;
        (ServerSession::new_http1(stream), client)
    }

    #[tokio::test]
    async fn pipelined_bytes_are_seen_through_the_settings() {
        let (mut session, _client) = session().await;
        session.set_keepalive(Some(60));
        let plain = HttpPersistentSettings::for_session(&session);
        assert!(!holds_pipelined_bytes(&plain), "{plain:?}");
        let mut with = HttpPersistentSettings::for_session(&session);
        with.set_pipelined_prefix(BytesMut::from(&b"GET /home HTTP/1.1\r\n"[..]));
        assert!(holds_pipelined_bytes(&with), "{with:?}");
        // The client's own bytes cannot pass for the field.
        let mut tricky = HttpPersistentSettings::for_session(&session);
        tricky.set_pipelined_prefix(BytesMut::from(
            &b"GET / HTTP/1.1\r\nX-Note: pipelined_prefix: None\r\n"[..],
        ));
        assert!(holds_pipelined_bytes(&tricky), "{tricky:?}");
        // A user context (ringlb's HeaderSeen) does not confuse it.
        let mut ctx = HttpPersistentSettings::for_session(&session);
        ctx.set_user_context(Box::new(HeaderSeen(Arc::new(AtomicBool::new(true)))));
        assert!(!holds_pipelined_bytes(&ctx), "{ctx:?}");
    }

    #[test]
    fn only_one_request_line_and_its_blank_line_make_a_whole_header() {
        assert!(header_is_whole(b"GET /home HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!header_is_whole(b"GET /home HTTP/1.1\r\nHost: a\r\n"));
        assert!(!header_is_whole(b"\r\n\r\n"));
        assert!(!header_is_whole(b"\r\nGET / HTTP/1.1\r\n\r\n"));
        assert!(!header_is_whole(b"\n\r\n\r\n"));
        // Line ends may be bare LFs; one header only, so nothing is left
        // over for the next request.
        assert!(header_is_whole(b"GET / HTTP/1.1\nHost: a\r\n\r\n"));
        let two = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(!header_is_whole(two));
        assert!(!header_is_whole(
            b"GET / HTTP/1.1\n\nGET / HTTP/1.1\r\n\r\n"
        ));
        assert!(!header_is_whole(b"GET / HTTP/1.1\n\r\n\r\n"));
        // A body that ends like a header is more than a header.
        assert!(!header_is_whole(
            b"PUT / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n"
        ));
    }

    /// `header_is_whole` said plainly: the first empty line (the parser's
    /// end of the header) is the one that ends the bytes.
    fn whole_plainly(bytes: &[u8]) -> bool {
        if !bytes.ends_with(b"\r\n\r\n") || matches!(bytes.first(), Some(b'\r' | b'\n')) {
            return false;
        }
        let end = (0..bytes.len()).find_map(|i| match &bytes[i..] {
            [b'\n', b'\n', ..] => Some(i + 2),
            [b'\n', b'\r', b'\n', ..] => Some(i + 3),
            _ => None,
        });
        end == Some(bytes.len())
    }

    proptest::proptest! {
        #[test]
        fn the_word_at_a_time_search_agrees_with_the_plain_one(
            body in proptest::collection::vec(
                proptest::sample::select(&b"aZ: \r\n\x8a\x0b"[..]), 0..70),
            ends in proptest::bool::ANY,
        ) {
            let mut bytes = body;
            if ends {
                bytes.extend_from_slice(b"\r\n\r\n");
            }
            proptest::prop_assert_eq!(header_is_whole(&bytes), whole_plainly(&bytes), "{:?}", bytes);
        }
    }

    #[test]
    fn the_finder_reads_the_value_after_the_field_name_piece() {
        use std::fmt::Write;
        let mut f = Find::default();
        // The name inside another piece is not the field's name.
        assert!(f.write_str("x pipelined_prefix: None").is_ok());
        assert!(f.write_str("pipelined_prefix").is_ok());
        assert!(f.write_str(": ").is_ok() && f.after.is_none());
        assert!(f.write_str("None").is_err());
        assert_eq!(f.after, Some(b'N'));
    }
}
