//! Polling instead of sleeping: a condition is checked every 10 ms until it
//! holds or a limit passes, so a test waits exactly as long as it must.

use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(10);

/// Polls `f` until it returns `Some`, or `None` once `limit` has passed.
pub fn try_wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Polls `f` until it returns `Some`; panics naming `what` after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, f: impl FnMut() -> Option<T>) -> T {
    try_wait_for(limit, f).unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}
