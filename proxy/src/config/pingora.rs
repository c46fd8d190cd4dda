//! ringlb's defaults for some of Pingora's own keys.
//!
//! Pingora reads its keys from the same file (`ServerConf`), with Pingora's
//! defaults; where one of those does not suit a proxy that arms timers on
//! every request, ringlb sets its own, unless the file gives the key (any
//! value, `null` included), which then stands as written.
//!
//! - `fast_timeout_to_tokio_threshold_seconds`: Pingora's default (900 s)
//!   puts every timeout under 15 minutes on pingora-timeout's shared
//!   "fast" timer (a clock read, a lock and a map lookup per timeout, plus
//!   a check of its clock thread), and each proxied request arms two: the
//!   wait for the replica's answer (`upstream.read_timeout_ms`) and the
//!   pooled connection's idle time (`upstream.idle_timeout_ms`). ringlb sets
//!   0: timeouts of a second or more go on tokio's timer, a slot in the
//!   thread's own wheel, armed only if the wait does not end at once.
//!   (Pingora applies the key when the server runs, `server/mod.rs`
//!   `set_fast_timeout_to_tokio_threshold`, so it must be set here: a call
//!   made earlier is overwritten.)

use ::pingora::server::configuration::ServerConf;
use serde::{Deserialize, Deserializer};

/// Which of the keys ringlb gives a default the file sets itself.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PingoraKeys {
    #[serde(default, deserialize_with = "given")]
    fast_timeout_to_tokio_threshold_seconds: bool,
}

/// ringlb's value for `fast_timeout_to_tokio_threshold_seconds`.
const TIMER_THRESHOLD_SECONDS: u64 = 0;

impl PingoraKeys {
    /// Sets ringlb's defaults in Pingora's configuration, for the keys the
    /// file left out.
    pub fn apply(&self, conf: &mut ServerConf) {
        if !self.fast_timeout_to_tokio_threshold_seconds {
            conf.fast_timeout_to_tokio_threshold_seconds = Some(TIMER_THRESHOLD_SECONDS);
        }
    }
}

/// True for a key that is present, whatever its value (Pingora checks it).
fn given<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}
