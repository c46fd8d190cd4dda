//! The client side of ringlb's listeners: how many connections may be
//! open, how long a client may take to send a request, and how large its
//! header may be. A load balancer faces the internet; no client, slow,
//! greedy or malformed, may hold ringlb up for the others.
//!
//! [`gate`] counts connections (in all and per client address),
//! [`guarded`] wraps a listener's HTTP app with that admission and with the
//! header and idle deadlines; the per-request limits (body timeout, header
//! size and count, pipelining) are applied by the proxy in its
//! `early_request_filter`.

mod arrival;
mod counted;
pub mod gate;
pub mod guarded;
mod rehome;

use std::time::Duration;

pub use gate::{ConnGate, Refusal};
pub use guarded::{answer, ClientStats, Deadlines, Guarded, HeaderSeen};

/// The `ringlb.clients` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// A new connection's first request header must arrive within this.
    pub header_timeout: Duration,
    /// The next request on a kept-alive connection must start within this
    /// (and its header arrive within `header_timeout` more).
    pub idle_timeout: Duration,
    /// Each read of a request body and each write of a response.
    pub body_timeout: Duration,
    /// Open client connections on the proxy port; `None`: derived from the
    /// open-file limit at start ([`connection_budget`]).
    pub max_connections: Option<usize>,
    /// Open connections per client address; `None`: no per-client limit.
    pub max_per_client: Option<u32>,
    /// Largest request header (request line and fields), in bytes.
    pub max_header_bytes: usize,
    /// Most header fields in a request.
    pub max_headers: usize,
    /// Answer pipelined HTTP/1.1 requests in order (else Pingora closes
    /// the connection after the first answer).
    pub pipelining: bool,
    /// Userspace read buffer per client connection, in bytes (Pingora's
    /// `L4BufferSettings::read`; its default is 64 KiB, zeroed at accept
    /// and held for the connection's life). 0 reads straight into the
    /// request-header buffer (4 KiB, Pingora's own).
    pub read_buffer_bytes: usize,
    /// Move each kept-alive connection to the reactor of the thread that
    /// serves it ([`rehome`]); in effect only with several threads, no
    /// work stealing and no read buffer (`main.rs` clears it otherwise).
    pub rehome: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: None,
            max_per_client: None,
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            pipelining: true,
            read_buffer_bytes: 0,
            rehome: true,
        }
    }
}

/// Why a request's header is over the limits (the text after `<Error> `),
/// or `None`. Both listeners answer it with a 431.
pub fn header_too_large(
    session: &pingora_core::protocols::http::ServerSession,
    max_headers: usize,
    max_header_bytes: usize,
) -> Option<String> {
    let fields = session.req_header().headers.len();
    let bytes = session
        .as_http1()
        .map_or(0, |h| h.get_headers_raw_bytes().len());
    (fields > max_headers || bytes > max_header_bytes).then(|| {
        format!(
            "request header too large: {fields} fields, {bytes} bytes (at most {max_headers} fields, {max_header_bytes} bytes)"
        )
    })
}

/// Connections the admin listener accepts at once: operators and scrapers,
/// never a crowd; its own gate keeps it answering while the proxy port is
/// flooded.
pub const ADMIN_MAX_CONNECTIONS: usize = 256;

/// Client connections the proxy may hold under an open-file limit of
/// `nofile`: a proxied connection can hold two descriptors (the client's
/// and a replica's), and a reserve stays free for replicas, heartbeats, the
/// admin listener, logs and the process itself.
pub fn connection_budget(nofile: u64) -> usize {
    let reserve = (nofile / 10).max(1024);
    let budget = nofile.saturating_sub(reserve) / 2;
    usize::try_from(budget.max(64)).unwrap_or(usize::MAX)
}

/// A real loopback connection for unit tests: Pingora's server-side
/// `Stream` and the client's end.
#[cfg(test)]
pub(crate) async fn loopback() -> (pingora_core::protocols::Stream, tokio::net::TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let stream: pingora_core::protocols::Stream =
        Box::new(pingora_core::protocols::l4::stream::Stream::from(server));
    (stream, client)
}

#[cfg(test)]
mod tests {
    use super::connection_budget;

    #[test]
    fn the_budget_leaves_room_for_replicas_and_the_admin_api() {
        assert_eq!(connection_budget(20_000), 9_000);
        assert_eq!(connection_budget(1_048_576), 471_859);
        // A tiny limit still serves a few clients.
        assert_eq!(connection_budget(1_024), 64);
    }
}
