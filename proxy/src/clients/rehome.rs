//! Moving a kept-alive client connection to the reactor of the thread that
//! serves it.
//!
//! With `work_stealing: false` Pingora runs one single-threaded tokio
//! runtime per worker thread, each with its own reactor (`epoll`), and one
//! accept loop per listener (`listener_tasks_per_fd: 1`). The accepted
//! socket is registered with the accepting thread's reactor, but the
//! connection's task is spawned on a thread picked at random
//! (pingora-core 0.9.1 `services/listening.rs`, `current_handle().spawn`;
//! pingora-runtime `current_handle` picks a random runtime). So with T
//! threads, (T-1)/T of the connections have every readiness event of their
//! socket reported on another thread, which must then wake the serving one
//! (an `eventfd` write and a switch per event): bench/RESULTS.md counts it.
//!
//! The socket can be registered again from the serving thread: a
//! duplicate of its descriptor goes to this thread's reactor and the
//! original (and its registration) is closed. That costs four system calls
//! (`fcntl`, two `epoll_ctl`, a `getsockopt` in Pingora's drop check), paid
//! once, so the connection loop ([`super::guarded`]) moves a connection
//! only once its first request is answered and it is kept alive: clients
//! that send one request and close never pay it.
//!
//! The moved stream is a new Pingora `Stream` over the same socket: the
//! peer address and the time the connection was established are carried
//! over; its buffers are Pingora's for a stream made from a socket, none
//! (`Stream::set_buffer` is crate-private), which the caller makes up for.
//! Only a plain TCP stream that holds no read-ahead can move: the caller
//! moves nothing unless ringlb's read buffer is off (its default).

use std::os::fd::{AsRawFd, BorrowedFd};

use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::protocols::{GetSocketDigest, SocketDigest, Stream};

/// `stream`'s socket registered with this thread's reactor, or `stream`
/// itself (`Err`) if it is not a plain TCP stream or a system call failed.
pub fn to_this_thread(stream: Stream) -> Result<Stream, Stream> {
    let Some(old) = stream.as_any().downcast_ref::<L4Stream>() else {
        return Err(stream);
    };
    // SAFETY: the descriptor is `stream`'s open socket, borrowed only to be
    // duplicated while `stream` holds it.
    let fd = unsafe { BorrowedFd::borrow_raw(stream.id()) };
    let Ok(dup) = fd.try_clone_to_owned() else {
        return Err(stream);
    };
    // The descriptor shares the socket's flags (non-blocking, no delay).
    let Ok(socket) = tokio::net::TcpStream::from_std(std::net::TcpStream::from(dup)) else {
        return Err(stream);
    };
    let mut moved = L4Stream::from(socket);
    moved.established_ts = old.established_ts;
    let digest = SocketDigest::from_raw_fd(moved.as_raw_fd());
    if let Some(peer) = old.get_socket_digest().and_then(|d| d.peer_addr().cloned()) {
        // A new digest's cell is empty.
        let _ = digest.peer_addr.set(Some(peer));
    }
    moved.set_socket_digest(digest);
    Ok(Box::new(moved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_moved_stream_is_the_same_connection() {
        let (mut stream, mut client) = crate::clients::loopback().await;
        // As Pingora's listener leaves it: a digest with the peer address.
        let digest = SocketDigest::from_raw_fd(stream.id());
        let peer = digest.peer_addr().cloned();
        stream.set_socket_digest(digest);
        let established = stream
            .as_any()
            .downcast_ref::<L4Stream>()
            .unwrap()
            .established_ts;
        let old_fd = stream.id();
        let mut moved = to_this_thread(stream).expect("a TCP stream moves");
        assert_ne!(moved.id(), old_fd, "a new descriptor");
        assert!(peer.is_some());
        assert_eq!(
            moved
                .get_socket_digest()
                .and_then(|d| d.peer_addr().cloned()),
            peer
        );
        assert_eq!(
            moved
                .as_any()
                .downcast_ref::<L4Stream>()
                .unwrap()
                .established_ts,
            established
        );
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        moved.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        moved.write_all(b"pong").await.unwrap();
        moved.flush().await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        // Closing the moved stream closes the connection: the old
        // descriptor is gone, not leaked.
        drop(moved);
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn other_streams_stay_as_they_are() {
        let (a, _b) = tokio::io::duplex(64);
        let stream: Stream = Box::new(a);
        assert!(to_this_thread(stream).is_err());
    }
}
