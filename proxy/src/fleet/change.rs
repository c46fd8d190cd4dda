//! Membership changes: `/add`, `/rm`, the initial replicas, and shutdown.
//!
//! Every change validates everything first and changes nothing on error.
//! `/add` starts all new replicas concurrently and admits them only when all
//! answer their first heartbeat; if any fails, the ones that started are
//! stopped again. `/rm` takes replicas out of the ring first (no new request
//! reaches them), lets their requests in flight finish (`drain`), then stops
//! them.

use std::collections::HashSet;

use rand::seq::IndexedRandom;
use tokio::task::JoinSet;

use super::drain::Leaving;
use super::{ChangeError, Fleet, Ownership, Replica};
use crate::provision::names;

/// Duplicate names within one request.
fn first_duplicate(hostnames: &[String]) -> Option<&str> {
    let mut seen = HashSet::new();
    hostnames
        .iter()
        .find(|h| !seen.insert(h.as_str()))
        .map(String::as_str)
}

/// The checks `/add` and `/rm` share, in the spec's order: the hostname
/// list must fit in `n` (with the spec's message), `n` must be positive, and
/// no hostname may be listed twice.
fn check_request(n: u64, hostnames: &[String], too_many: ChangeError) -> Result<(), ChangeError> {
    if hostnames.len() as u64 > n {
        return Err(too_many);
    }
    if n == 0 {
        return Err(ChangeError::ZeroCount);
    }
    if let Some(d) = first_duplicate(hostnames) {
        return Err(ChangeError::ListedTwice(d.to_string()));
    }
    Ok(())
}

impl Fleet {
    /// Adds `n` replicas: the `hostnames` given, then generated ones.
    ///
    /// Admin changes are serialized by `changes`; the fleet state lock is
    /// only held to validate and to admit, not while replicas start, so the
    /// health keeper keeps probing and replacing meanwhile. The new names are
    /// reserved in `pending` so nothing else can take them.
    pub async fn add(&self, n: u64, hostnames: Vec<String>) -> Result<Vec<String>, ChangeError> {
        check_request(n, &hostnames, ChangeError::TooManyToAdd)?;
        let _serial = self.changes.lock().await;
        let new_names = {
            let mut state = self.state.lock().await;
            let names = self.admissible(&state, n, hostnames)?;
            state.pending.extend(names.iter().cloned());
            names
        };

        let mut started = Vec::new();
        let mut failures = Vec::new();
        let mut taken = None;
        let mut jobs = JoinSet::new();
        for name in new_names.iter().cloned() {
            jobs.spawn(self.launcher().launch(name));
        }
        while let Some(done) = jobs.join_next().await {
            match done {
                Ok(Ok(replica)) => started.push(replica),
                Ok(Err(u)) if u.taken => taken = Some(u.name),
                Ok(Err(u)) => failures.push(format!("{}: {}", u.name, u.why)),
                Err(e) => failures.push(format!("start task failed: {e}")),
            }
        }

        let mut state = self.state.lock().await;
        let stopping = state.stopping;
        if !failures.is_empty() || taken.is_some() || stopping.is_some() {
            // The names stay reserved until their replicas are gone, so an
            // engine's snapshot cannot bring one back meanwhile.
            drop(state);
            let engine = self.ownership == Ownership::Engine;
            if engine && failures.is_empty() && taken.is_none() {
                // Only the shutdown came between: the engine's replicas
                // serve the other instances already, and this instance
                // removes none when it stops.
                log::warn!(
                    "replica(s) {} added to the engine while this instance stops",
                    new_names.join(", ")
                );
            } else {
                for r in &started {
                    self.provisioner.stop(&r.name, r.generation).await;
                }
            }
            self.state
                .lock()
                .await
                .pending
                .retain(|p| !new_names.contains(p));
            failures.sort();
            // Another ringlb instance won the name: the same answer as for
            // a name this one knew.
            return Err(match (taken, stopping) {
                (Some(name), _) => {
                    log::info!("hostname {name} was just created by another ringlb instance (the engine answered 409)");
                    ChangeError::Exists(name)
                }
                (None, Some(why)) if failures.is_empty() => ChangeError::Stopping(why),
                (None, _) => ChangeError::StartFailed(failures),
            });
        }
        state.pending.retain(|p| !new_names.contains(p));
        // Keep the order the caller asked for.
        started.sort_by_key(|r| new_names.iter().position(|n| *n == r.name));
        for r in &started {
            self.joined(r, format_args!(" (added)"));
        }
        state.replicas.extend(started);
        self.publish(&state.replicas);
        Ok(state.replicas.iter().map(|r| r.name.clone()).collect())
    }

    /// Validates an `/add` against the current state and completes the name
    /// list. Nothing here can overflow: `n` may be any `u64`.
    fn admissible(
        &self,
        state: &super::State,
        n: u64,
        hostnames: Vec<String>,
    ) -> Result<Vec<String>, ChangeError> {
        if let Some(why) = state.stopping {
            return Err(ChangeError::Stopping(why));
        }
        let now = state.replicas.len() as u64;
        let max = u64::from(self.options.max_replicas);
        if n > max.saturating_sub(now) {
            return Err(ChangeError::OverMax { n, now, max });
        }
        let total = u128::from(now) + u128::from(n);
        if total * u128::from(self.spec.vnodes) > u128::from(self.spec.slots) {
            return Err(ChangeError::RingFull {
                total,
                vnodes: self.spec.vnodes,
                slots: self.spec.slots,
            });
        }
        for h in &hostnames {
            self.provisioner
                .check_name(h)
                .map_err(ChangeError::InvalidName)?;
        }
        let exists = |h: &str| {
            state.replicas.iter().any(|r| r.name == h) || state.pending.iter().any(|p| p == h)
        };
        if let Some(h) = hostnames.iter().find(|h| exists(h)) {
            return Err(ChangeError::Exists(h.clone()));
        }
        if (hostnames.len() as u64) < n && !self.provisioner.generates_names() {
            return Err(ChangeError::CannotInventNames {
                kind: self.provisioner.kind(),
                n,
            });
        }
        let mut names = hostnames;
        while (names.len() as u64) < n {
            let taken = |s: &str| exists(s) || names.iter().any(|h| h == s);
            let name = names::generate(&taken).ok_or(ChangeError::NoFreeName)?;
            names.push(name);
        }
        Ok(names)
    }

    /// Removes `n` replicas: the `hostnames` given, then others at random.
    /// They leave the ring at once; the call answers once they have
    /// finished their requests in flight (at most the drain timeout) and
    /// are stopped.
    pub async fn remove(&self, n: u64, hostnames: Vec<String>) -> Result<Vec<String>, ChangeError> {
        check_request(n, &hostnames, ChangeError::TooManyToRemove)?;
        let _serial = self.changes.lock().await;
        let (doomed, left) = {
            let mut state = self.state.lock().await;
            if let Some(why) = state.stopping {
                return Err(ChangeError::Stopping(why));
            }
            let now = state.replicas.len() as u64;
            if n > now {
                return Err(ChangeError::TooFew { n, now });
            }
            if let Some(h) = hostnames
                .iter()
                .find(|h| !state.replicas.iter().any(|r| &r.name == *h))
            {
                return Err(ChangeError::Unknown(h.to_string()));
            }
            let mut doomed = hostnames;
            let others: Vec<String> = state
                .replicas
                .iter()
                .filter(|r| !doomed.contains(&r.name))
                .map(|r| r.name.clone())
                .collect();
            let extra = (n as usize) - doomed.len();
            doomed.extend(others.choose_multiple(&mut rand::rng(), extra).cloned());
            // Retired before the ring without them is published.
            let gone: Vec<Leaving> = state
                .replicas
                .iter()
                .filter(|r| doomed.contains(&r.name))
                .map(Leaving::retire)
                .collect();
            state.replicas.retain(|r| !doomed.contains(&r.name));
            if self.ownership == Ownership::Engine {
                // Until they are gone, an engine's snapshot must not bring
                // them back.
                state.leaving.extend(gone.iter().map(|l| l.name.clone()));
            }
            self.publish(&state.replicas);
            let left: Vec<String> = state.replicas.iter().map(|r| r.name.clone()).collect();
            (gone, left)
        };
        if self.ownership == Ownership::Engine {
            self.remove_from_engine(doomed).await;
            return Ok(left);
        }
        self.drain_and_stop(doomed, |name| {
            log::info!("replica {name} removed");
            self.departed(name);
        })
        .await;
        Ok(left)
    }

    /// Starts the initial replicas (the configured ones, or those an
    /// upgraded process handed over), adopting what a previous run left
    /// under their names. One that fails to start is kept as down, so the
    /// health keeper keeps trying to start it.
    pub async fn start_initial(&self, initial: &[String]) {
        let mut jobs = JoinSet::new();
        for name in initial.iter().cloned() {
            jobs.spawn(self.launcher().launch(name));
        }
        // The state lock only once all have answered (or not): a SIGQUIT
        // meanwhile must not wait on it (`Fleet::freeze`).
        let mut ready = Vec::new();
        while let Some(done) = jobs.join_next().await {
            match done {
                Ok(Ok(r)) => ready.push(r),
                Ok(Err(u)) => {
                    log::error!("initial replica {} did not start: {}", u.name, u.why);
                    ready.push(Replica::never_started(u.name));
                }
                Err(e) => log::error!("start task failed: {e}"),
            }
        }
        ready.sort_by_key(|r| initial.iter().position(|n| *n == r.name));
        let mut state = self.state.lock().await;
        for r in &ready {
            self.joined(r, format_args!(""));
        }
        state.replicas.extend(ready);
        state.initialized = true;
        self.publish(&state.replicas);
        drop(state);
        // Only now: a leftover under a wanted name was adopted above.
        self.provisioner.remove_unclaimed().await;
    }
}
