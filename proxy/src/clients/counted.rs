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
//! call is passed through to the accepted stream unchanged, through a write
//! buffer that stays empty (capacity 0) until the connection is moved to
//! its thread's reactor ([`Counted::rehome`]): the moved stream lacks
//! Pingora's own write buffer, and without one a response's header and
//! body would go out in two sends.

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
    inner: BufWriter<Stream>,
    read: usize,
}

impl Counted {
    /// Wraps an accepted connection.
    pub fn wrap(inner: Stream) -> Stream {
        Box::new(Counted {
            inner: BufWriter::with_capacity(0, inner),
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
    /// read ahead; a stream that cannot move is returned as it was.
    pub fn rehome(stream: Stream) -> Stream {
        if !stream.as_any().is::<Counted>() {
            return stream;
        }
        let Ok(counted) = stream.into_any().downcast::<Counted>() else {
            unreachable!("checked to be a Counted");
        };
        let Counted { inner, read } = *counted;
        if !inner.buffer().is_empty() {
            // Not between requests: an answer is still being written.
            return Box::new(Counted { inner, read });
        }
        let inner = match rehome::to_this_thread(inner.into_inner()) {
            Ok(moved) => BufWriter::with_capacity(DEFAULT_L4_WRITE_BUFFER_SIZE, moved),
            // Not moved: it keeps Pingora's own buffer.
            Err(same) => BufWriter::with_capacity(0, same),
        };
        Box::new(Counted { inner, read })
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
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
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[async_trait]
impl Shutdown for Counted {
    async fn shutdown(&mut self) {
        // What is still buffered goes out first.
        let _ = self.inner.flush().await;
        Shutdown::shutdown(&mut **self.inner.get_mut()).await
    }
}

impl UniqueID for Counted {
    fn id(&self) -> UniqueIDType {
        self.inner.get_ref().id()
    }
}

impl Ssl for Counted {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ref().get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ref().get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.get_ref().selected_alpn_proto()
    }
}

impl GetTimingDigest for Counted {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_ref().get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_ref().get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_ref().get_write_pending_time()
    }
}

impl GetProxyDigest for Counted {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_ref().get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.get_mut().set_proxy_digest(digest)
    }
}

impl GetSocketDigest for Counted {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_ref().get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.get_mut().set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for Counted {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.get_mut().try_peek(buf).await
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
}
