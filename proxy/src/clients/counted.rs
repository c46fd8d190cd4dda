//! A client connection that counts the bytes read from it.
//!
//! Between two requests the connection loop ([`super::guarded`]) must know
//! whether Pingora already holds bytes of the next request (a pipelining
//! client): waiting on the socket would then wait for bytes the client has
//! already sent. Pingora keeps them where ringlb cannot look
//! (`HttpPersistentSettings::pipelined_prefix`, private), and reading them
//! out of its `Debug` text ([`super::guarded::holds_pipelined_bytes`]) costs
//! about 700 instructions a request. But such bytes can only have come from
//! a read: from the bytes the loop itself handed to Pingora as the request's
//! start, which the loop checks, or from the socket while the request ran,
//! which this wrapper counts. A request whose header came whole and alone
//! in the loop's own read, and during which nothing more was read, leaves
//! nothing behind; only the others (bodies, pipelining) take the slow check.
//!
//! Pingora takes any `IO` as a connection (`Stream` is `Box<dyn IO>`, and
//! pingora-core implements `IO` for every type with these traits); every
//! call is passed through to the accepted stream unchanged. A connection
//! moved to its thread's reactor ([`Counted::rehome`]) gets a write buffer
//! here: the moved stream lacks Pingora's own, and without one a
//! response's header and body would go out in two sends.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use pingora_core::protocols::l4::stream::DEFAULT_L4_WRITE_BUFFER_SIZE;
use pingora_core::protocols::raw_connect::ProxyDigest;
use pingora_core::protocols::tls::{SslDigest, TlsRef};
use pingora_core::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream,
    TimingDigest, UniqueID, UniqueIDType, ALPN,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter, ReadBuf};

use super::rehome;

/// A stream and the bytes read from it so far.
#[derive(Debug)]
pub struct Counted {
    inner: Inner,
    read: usize,
}

/// The stream as accepted (Pingora buffers its writes), or moved to this
/// thread's reactor, with a write buffer of the size Pingora gives its own.
#[derive(Debug)]
enum Inner {
    Accepted(Stream),
    Moved(BufWriter<Stream>),
}

impl Inner {
    fn stream(&self) -> &Stream {
        match self {
            Inner::Accepted(s) => s,
            Inner::Moved(b) => b.get_ref(),
        }
    }

    fn stream_mut(&mut self) -> &mut Stream {
        match self {
            Inner::Accepted(s) => s,
            Inner::Moved(b) => b.get_mut(),
        }
    }
}

/// Calls `$poll` on the accepted stream or on the moved one's buffer.
macro_rules! poll_inner {
    ($self:ident, $s:ident => $poll:expr) => {
        match &mut $self.inner {
            Inner::Accepted(s) => {
                let $s = Pin::new(&mut **s);
                $poll
            }
            Inner::Moved(b) => {
                let $s = Pin::new(b);
                $poll
            }
        }
    };
}

impl Counted {
    /// Wraps an accepted connection.
    pub fn wrap(inner: Stream) -> Stream {
        Box::new(Counted {
            inner: Inner::Accepted(inner),
            read: 0,
        })
    }

    /// The bytes read from `stream` so far, if it was wrapped here.
    pub fn bytes_read(stream: &Stream) -> Option<usize> {
        stream.as_any().downcast_ref::<Counted>().map(|c| c.read)
    }

    /// Moves a wrapped connection's socket to this thread's reactor
    /// ([`rehome`]), keeping its count, with a write buffer of the size
    /// Pingora gives its own streams. Only between requests, with nothing
    /// read ahead; a stream that cannot move (or has moved) is returned as
    /// it was.
    pub fn rehome(stream: Stream) -> Stream {
        // Checked first: a failed downcast would not give the stream back.
        if !stream.as_any().is::<Counted>() {
            return stream;
        }
        let mut counted = stream
            .into_any()
            .downcast::<Counted>()
            .expect("checked to be a Counted");
        counted.inner = match counted.inner {
            Inner::Accepted(accepted) => match rehome::to_this_thread(accepted) {
                Ok(moved) => Inner::Moved(BufWriter::with_capacity(
                    DEFAULT_L4_WRITE_BUFFER_SIZE,
                    moved,
                )),
                Err(same) => Inner::Accepted(same),
            },
            moved => moved,
        };
        counted
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = poll_inner!(self, s => s.poll_read(cx, buf));
        if let Poll::Ready(Ok(())) = polled {
            self.read += buf.filled().len() - before;
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_inner!(self, s => s.poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_inner!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_inner!(self, s => s.poll_shutdown(cx))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_inner!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Accepted(s) => s.is_write_vectored(),
            Inner::Moved(b) => b.is_write_vectored(),
        }
    }
}

#[async_trait]
impl Shutdown for Counted {
    async fn shutdown(&mut self) {
        if let Inner::Moved(b) = &mut self.inner {
            // What is still buffered goes out first.
            let _ = b.flush().await;
        }
        Shutdown::shutdown(&mut **self.inner.stream_mut()).await
    }
}

impl UniqueID for Counted {
    fn id(&self) -> UniqueIDType {
        self.inner.stream().id()
    }
}

impl Ssl for Counted {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.stream().get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.stream().get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.stream().selected_alpn_proto()
    }
}

impl GetTimingDigest for Counted {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.stream().get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.stream().get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.stream().get_write_pending_time()
    }
}

impl GetProxyDigest for Counted {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.stream().get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.stream_mut().set_proxy_digest(digest)
    }
}

impl GetSocketDigest for Counted {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.stream().get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.stream_mut().set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for Counted {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.stream_mut().try_peek(buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_what_reads_return_and_passes_the_rest_through() {
        let (stream, mut client) = crate::clients::loopback().await;
        let id = stream.id();
        let digest = stream
            .get_socket_digest()
            .and_then(|d| d.peer_addr().cloned());
        let mut stream = Counted::wrap(stream);
        assert_eq!(Counted::bytes_read(&stream), Some(0));
        assert_eq!(stream.id(), id);
        assert_eq!(
            stream
                .get_socket_digest()
                .and_then(|d| d.peer_addr().cloned()),
            digest
        );
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 16];
        let n = stream.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &b"hello"[..n]);
        assert_eq!(Counted::bytes_read(&stream), Some(n));
        stream.write_all(b"back").await.unwrap();
        stream.flush().await.unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
        // Writes do not count; a stream not wrapped here has no count.
        assert_eq!(Counted::bytes_read(&stream), Some(n));
        let (plain, _other) = crate::clients::loopback().await;
        assert_eq!(Counted::bytes_read(&plain), None);
    }

    #[tokio::test]
    async fn a_moved_connection_keeps_its_count_and_buffers_its_writes() {
        let (stream, mut client) = crate::clients::loopback().await;
        let mut stream = Counted::wrap(stream);
        client.write_all(b"abc").await.unwrap();
        let mut buf = [0u8; 8];
        stream.read_exact(&mut buf[..3]).await.unwrap();
        let old = stream.id();
        let stream = Counted::rehome(stream);
        assert_ne!(stream.id(), old, "a new descriptor, on this reactor");
        assert_eq!(Counted::bytes_read(&stream), Some(3));
        let id = stream.id();
        let mut stream = Counted::rehome(stream);
        assert_eq!(stream.id(), id, "moved once only");
        // A header and a body written apart leave in one send, at the flush.
        stream.write_all(b"head").await.unwrap();
        stream.write_all(b"body").await.unwrap();
        let buffered = |s: &Stream| match &s.as_any().downcast_ref::<Counted>().unwrap().inner {
            Inner::Moved(b) => b.buffer().len(),
            Inner::Accepted(_) => panic!("not moved"),
        };
        assert_eq!(buffered(&stream), 8);
        stream.flush().await.unwrap();
        assert_eq!(buffered(&stream), 0);
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"headbody");
        client.write_all(b"de").await.unwrap();
        stream.read_exact(&mut buf[..2]).await.unwrap();
        assert_eq!(Counted::bytes_read(&stream), Some(5));
    }
}
