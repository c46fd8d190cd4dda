//! How many client connections may be open: in all, and per client address.
//!
//! A connection takes a [`Permit`] before ringlb reads a byte from it and
//! gives it back when it closes (the permit's `Drop`), so the counts are
//! exact whatever way the connection ends. A std `Mutex` guards the
//! per-address map: it is held for a map lookup, never across an `.await`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` are open.
    Full,
    /// This address holds `max_per_client` connections.
    PerClient,
}

/// The limits and the live counts of one listener.
#[derive(Debug)]
pub struct ConnGate {
    max_total: usize,
    max_per_client: Option<u32>,
    open: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, u32>>,
    refused_full: AtomicU64,
    refused_per_client: AtomicU64,
}

/// One open connection's place; released on drop.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<ConnGate>,
    client: Option<IpAddr>,
}

impl ConnGate {
    pub fn new(max_total: usize, max_per_client: Option<u32>) -> Arc<ConnGate> {
        Arc::new(ConnGate {
            max_total,
            max_per_client,
            open: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
            refused_full: AtomicU64::new(0),
            refused_per_client: AtomicU64::new(0),
        })
    }

    /// A place for a connection from `client`, or why there is none.
    pub fn admit(self: &Arc<Self>, client: Option<IpAddr>) -> Result<Permit, Refusal> {
        let taken = self.open.fetch_add(1, Ordering::AcqRel);
        if taken >= self.max_total {
            self.open.fetch_sub(1, Ordering::AcqRel);
            self.refused_full.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Full);
        }
        let counted = match (self.max_per_client, client) {
            (Some(max), Some(ip)) => {
                let mut map = self.per_client.lock().unwrap_or_else(|e| e.into_inner());
                let n = map.entry(ip).or_insert(0);
                if *n >= max {
                    drop(map);
                    self.open.fetch_sub(1, Ordering::AcqRel);
                    self.refused_per_client.fetch_add(1, Ordering::Relaxed);
                    return Err(Refusal::PerClient);
                }
                *n += 1;
                Some(ip)
            }
            _ => None,
        };
        Ok(Permit {
            gate: self.clone(),
            client: counted,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub fn max_total(&self) -> usize {
        self.max_total
    }

    /// Connections refused so far: (limit reached, per-client limit).
    pub fn refused(&self) -> (u64, u64) {
        (
            self.refused_full.load(Ordering::Relaxed),
            self.refused_per_client.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(ip) = self.client {
            let mut map = self
                .gate
                .per_client
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(n) = map.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&ip);
                }
            }
        }
        self.gate.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_and_per_client_limits_hold_and_release() {
        let gate = ConnGate::new(3, Some(2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = gate.admit(Some(a)).unwrap();
        let p2 = gate.admit(Some(a)).unwrap();
        assert_eq!(gate.admit(Some(a)).unwrap_err(), Refusal::PerClient);
        let p3 = gate.admit(Some(b)).unwrap();
        assert_eq!(gate.admit(Some(b)).unwrap_err(), Refusal::Full);
        assert_eq!(gate.open(), 3);
        drop(p1);
        let _p4 = gate.admit(Some(a)).unwrap();
        drop((p2, p3));
        assert_eq!(gate.open(), 1);
        assert_eq!(gate.refused(), (1, 1));
        assert_eq!(gate.per_client.lock().unwrap().len(), 1);
    }

    #[test]
    fn no_per_client_limit_counts_only_the_total() {
        let gate = ConnGate::new(2, None);
        let ip: IpAddr = "::1".parse().unwrap();
        let _a = gate.admit(Some(ip)).unwrap();
        let _b = gate.admit(Some(ip)).unwrap();
        assert_eq!(gate.admit(None).unwrap_err(), Refusal::Full);
        assert!(gate.per_client.lock().unwrap().is_empty());
    }
}
