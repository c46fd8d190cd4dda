//! The `static` provisioner: replicas that run elsewhere.
//!
//! A hostname is the replica's `host:port`; "starting" one resolves it and
//! registers it, "stopping" forgets it. Health checks still apply, but a dead
//! static replica cannot be restarted from here: it stays out of the ring
//! until it answers again.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::names::check_static_address;
use super::{Provisioner, StartError, Started};

#[derive(Default)]
pub struct StaticProvisioner {
    registered: Mutex<BTreeSet<String>>,
    generation: AtomicU64,
}

impl StaticProvisioner {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Provisioner for StaticProvisioner {
    fn kind(&self) -> &'static str {
        "static"
    }

    fn check_name(&self, name: &str) -> Result<(), String> {
        check_static_address(name)
    }

    fn generates_names(&self) -> bool {
        false
    }

    async fn start(&self, name: &str) -> Result<Started, StartError> {
        let addr = tokio::net::lookup_host(name)
            .await
            .map_err(|source| StartError::Resolve {
                name: name.to_string(),
                source,
            })?
            .next()
            .ok_or_else(|| StartError::NoAddress(name.to_string()))?;
        self.registered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string());
        Ok(Started {
            addr,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }

    async fn stop(&self, name: &str, _generation: u64) {
        self.registered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    fn running(&self) -> Vec<String> {
        self.registered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn stop_all_blocking(&self) {
        self.registered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
