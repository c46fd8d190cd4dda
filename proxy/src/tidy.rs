//! Gives memory the allocator has finished with back to the OS while
//! ringlb is idle.
//!
//! mimalloc (v3, the global allocator) returns freed pages to the OS only
//! after `purge_delay` (1 s), and only when some thread calls into the
//! allocator after that. A proxy that served a burst and then sits idle,
//! thousands of kept-alive clients waiting, makes no such calls on its
//! worker threads, so the burst's memory stays resident for as long as the
//! quiet lasts (`bench/conns.py`: about 26 MB per 1,000 idle connections,
//! 8.7 MB once purged). Purging at once (`MIMALLOC_PURGE_DELAY=0` or `1`)
//! cost 22% and 13% more CPU per request under load on `bench/peers.py`.
//! Instead, this thread runs a normal `mi_collect` once a second: it only
//! performs the purges that are already due, program-wide (the arenas are
//! shared), and costs one call a second.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The collecting thread; stopped and joined on drop.
pub struct Tidy {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Tidy {
    pub fn start(every: Duration) -> Tidy {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ringlb-tidy".into())
            .spawn(move || loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {
                        // SAFETY: a plain call into the allocator, which is
                        // thread-safe; `false` asks for no forced work.
                        unsafe { libmimalloc_sys::mi_collect(false) }
                    }
                    // Stopped, or the owner is gone.
                    _ => return,
                }
            });
        match thread {
            Ok(t) => Tidy {
                stop: Some(stop),
                thread: Some(t),
            },
            Err(e) => {
                log::warn!("no idle memory purge: cannot start its thread: {e}");
                Tidy {
                    stop: None,
                    thread: None,
                }
            }
        }
    }
}

impl Drop for Tidy {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
