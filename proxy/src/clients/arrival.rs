//! Waiting for a request's first bytes while holding no buffer, and handing
//! them to Pingora without a second read.
//!
//! A connection between requests waits in [`Arrival`], which owns nothing
//! but a borrow of the stream: an idle keep-alive connection holds no
//! request buffer. When bytes come, one read takes what has arrived (up to
//! Pingora's initial header buffer, 4 KiB) through a buffer on the stack,
//! and only then copies it into a buffer of its own, of its own size (a
//! request in flight holds its header's bytes, not Pingora's 4 KiB). The caller gives that
//! buffer to the session as its parse buffer
//! (`HttpSession::set_pipelined_prefix`: pingora-core 0.9.1 `read_request`
//! parses a prefix before it reads the socket, and keeps reading into the
//! same buffer if the header is longer). A request therefore costs the same
//! one `recvfrom` as in bare Pingora. The 1-byte peek this replaces
//! (`Peek::try_peek`, which reads the byte and rewinds it) cost a second
//! `recvfrom` per request and a parse of a 1-byte header.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use pingora_core::protocols::Stream;
use tokio::io::ReadBuf;

/// The most one read takes: Pingora's initial request-header buffer
/// (`INIT_HEADER_BUF_SIZE`, pingora-core `protocols/http/v1/common.rs`).
pub const FIRST_READ: usize = 4096;

/// Resolves to the bytes that arrived (`Some`), or `None` when the client
/// closed the connection first.
pub struct Arrival<'a> {
    stream: &'a mut Stream,
}

impl<'a> Arrival<'a> {
    pub fn new(stream: &'a mut Stream) -> Self {
        Arrival { stream }
    }
}

impl Future for Arrival<'_> {
    type Output = io::Result<Option<BytesMut>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // On the stack for this poll only: a pending wait holds none of it.
        let mut space = [MaybeUninit::<u8>::uninit(); FIRST_READ];
        let mut buf = ReadBuf::uninit(&mut space);
        let stream: &mut Stream = self.get_mut().stream;
        ready!(Pin::new(&mut **stream).poll_read(cx, &mut buf))?;
        let got = buf.filled();
        if got.is_empty() {
            return Poll::Ready(Ok(None));
        }
        // Exactly what came: the whole header, usually, which Pingora then
        // parses where it lies. Its own buffer would be 4 KiB whatever the
        // request's size; a longer header grows this one as Pingora reads on.
        let bytes = BytesMut::from(got);
        Poll::Ready(Ok(Some(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    use crate::clients::loopback as pair;

    #[tokio::test]
    async fn takes_what_arrived_in_one_read() {
        let (mut stream, mut client) = pair().await;
        client
            .write_all(b"GET /home HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let got = Arrival::new(&mut stream).await.unwrap().unwrap();
        assert_eq!(&got[..], b"GET /home HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_closed_connection_gives_none() {
        let (mut stream, client) = pair().await;
        drop(client);
        assert!(Arrival::new(&mut stream).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_long_header_is_read_up_to_the_first_buffer() {
        let (mut stream, mut client) = pair().await;
        let long = vec![b'x'; FIRST_READ * 2];
        client.write_all(&long).await.unwrap();
        let got = Arrival::new(&mut stream).await.unwrap().unwrap();
        assert!(!got.is_empty() && got.len() <= FIRST_READ, "{}", got.len());
    }
}
