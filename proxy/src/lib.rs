//! ringlb: a consistent-hashing HTTP load balancer on Pingora.
//!
//! Data flows one way: [`config`] -> [`fleet`] (the desired replicas) ->
//! [`provision`] (processes or static addresses) -> [`health`] (heartbeats)
//! -> fleet -> a new immutable [`ring::Ring`], swapped atomically -> [`proxy`]
//! reads it per request without locks and asks a [`select`] policy which
//! replica serves (the owner, failover, bounded loads). The [`admin`] API talks only to the
//! fleet; nothing else writes the ring.
//!
//! Operations: [`metrics`] counts what the proxy, the fleet and the admin
//! API do (served on the admin listener); [`inflight`] counts each
//! replica's requests so that one that leaves drains before it stops.

pub mod admin;
pub mod app;
pub mod clients;
pub mod config;
pub mod fleet;
pub mod health;
pub mod inflight;
pub mod limits;
pub mod metrics;
pub mod provision;
pub mod proxy;
pub mod ring;
pub mod select;
pub mod upgrade;
