//! Each worker thread's own pool of replica connections.
//!
//! With `work_stealing: false` (ringlb's configs) Pingora runs one
//! single-threaded tokio runtime per worker thread, each with its own
//! reactor: a socket is registered with the reactor of the thread that
//! opened it, and only that thread's `epoll_wait` reports it ready. Pingora's
//! upstream pool is one pool per service, keyed by the peer's hash; a
//! connection opened on thread A and reused by a request on thread B has its
//! answer reported on A, which must then wake B (an `eventfd` write and a
//! thread switch, for each read). The pool key includes
//! `HttpPeer::group_key` (pingora-core 0.9.1 `upstreams/peer.rs`: requests
//! with different group keys cannot share connections), so a peer tagged
//! with its thread's number is pooled per thread: a thread reuses only the
//! connections its own reactor watches. A replica then holds up to one set
//! of idle connections per thread instead of one in all.
//!
//! With work stealing the service has one runtime and one reactor for all
//! threads, and a task may move between threads: the tag would only split
//! the pool, so it is not set (`main.rs` clears the setting).

use std::sync::atomic::{AtomicU64, Ordering};

/// This thread's number, from 1, in the order threads first ask for one.
pub fn index() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static INDEX: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    INDEX.with(|i| *i)
}

#[cfg(test)]
mod tests {
    use super::index;

    #[test]
    fn peers_of_different_threads_are_pooled_apart() {
        use pingora_core::upstreams::peer::{HttpPeer, Peer};
        let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let peer = |group| {
            let mut p = HttpPeer::new(addr, false, String::new());
            p.group_key = group;
            p.reuse_hash()
        };
        let here = index();
        let there = std::thread::spawn(index).join().unwrap();
        assert_eq!(peer(here), peer(here));
        assert_ne!(
            peer(here),
            peer(there),
            "the pool key must tell threads apart"
        );
    }

    #[test]
    fn one_number_per_thread() {
        let here = index();
        assert_eq!(index(), here, "stable within a thread");
        let others: Vec<u64> = (0..4)
            .map(|_| std::thread::spawn(index).join().unwrap())
            .collect();
        let mut all = others.clone();
        all.push(here);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 5, "{here} {others:?}");
    }
}
