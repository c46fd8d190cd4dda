//! The admin API: `/rep` (and the seed's `/get`), `/add`, `/rm`; and
//! `/metrics` and the live `/dashboard`, on the admin listener only.
//!
//! [`AdminApi::handle`] is transport-free: the admin listener
//! ([`AdminService`]) and the proxy port (for the seed's curl commands) both
//! read the request, say who sent it ([`Caller`]) and call it. It talks only
//! to the fleet, applies the one access rule for changes ([`access`]) and
//! is the one place where the fleet's and the rule's typed refusals become
//! HTTP statuses and `<Error>` messages.

pub mod access;
mod body;
mod dashboard;
mod json;
mod request;
mod service;

use std::sync::Arc;

use http::Method;
use serde::Serialize;

pub use access::{AccessPolicy, Caller, Denied};
pub use body::read_body;
pub use json::{to_python_json, Reply};
pub use request::{parse_change, ChangeRequest};
pub use service::{caller_of, AdminService, HeaderLimits};

use crate::fleet::{ChangeError, Fleet, Refusal, ReplicaView};
use crate::metrics::{Listener, Metrics};

/// Paths the admin API answers (on both ports; `/metrics` is the admin
/// listener's own).
pub const PATHS: [&str; 4] = ["/rep", "/get", "/add", "/rm"];

pub fn is_admin_path(path: &str) -> bool {
    PATHS.contains(&path)
}

#[derive(Serialize)]
struct Listing {
    #[serde(rename = "N")]
    n: usize,
    replicas: Vec<String>,
}

#[derive(Serialize)]
struct VerboseListing {
    #[serde(rename = "N")]
    n: usize,
    replicas: Vec<String>,
    details: Vec<ReplicaView>,
    /// Replicas the ring routes to right now (sorted by name).
    ring: Vec<String>,
    provisioner: &'static str,
}

/// The admin API over a fleet.
pub struct AdminApi {
    fleet: Arc<Fleet>,
    max_body: usize,
    access: AccessPolicy,
    metrics: Arc<Metrics>,
}

impl AdminApi {
    pub fn new(
        fleet: Arc<Fleet>,
        max_body: usize,
        access: AccessPolicy,
        metrics: Arc<Metrics>,
    ) -> Self {
        AdminApi {
            fleet,
            max_body,
            access,
            metrics,
        }
    }

    pub fn max_body(&self) -> usize {
        self.max_body
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The metrics scrape, with the gauges read at scrape time refreshed.
    pub fn scrape(&self) -> Vec<u8> {
        self.metrics.in_flight(&self.fleet.in_flight());
        self.metrics.render()
    }

    /// Reads the rest of the admin request on `session` (its body, its
    /// caller) and answers it: the one way in for both ports.
    pub async fn serve(
        &self,
        session: &mut pingora_core::protocols::http::ServerSession,
        listener: Listener,
    ) -> Reply {
        let method = session.req_header().method.clone();
        let uri = session.req_header().uri.clone();
        let body = read_body(session, self.max_body()).await;
        if body.is_err() {
            // The rest of an unread body would be taken as the next request.
            session.set_keepalive(None);
        }
        let caller = caller_of(session);
        self.handle(&method, uri.path(), uri.query(), body, &caller, listener)
            .await
    }

    /// Answers one admin request from `caller`, which came in on
    /// `listener`; `body` is what [`read_body`] returned. Counted in the
    /// metrics by endpoint and status.
    pub async fn handle(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: Result<bytes::Bytes, Reply>,
        caller: &Caller,
        listener: Listener,
    ) -> Reply {
        let reply = self.answer(method, path, query, body, caller).await;
        self.metrics.admin_call(listener, path, reply.status);
        reply
    }

    async fn answer(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: Result<bytes::Bytes, Reply>,
        caller: &Caller,
    ) -> Reply {
        let allowed: &[Method] = match path {
            "/rep" | "/get" => &[Method::GET, Method::HEAD],
            "/add" => &[Method::POST],
            "/rm" => &[Method::DELETE],
            _ => {
                return Reply::failure(
                    404,
                    format!(
                    "<Error> '{path}' is not an admin endpoint (/rep, /get, /add, /rm, /metrics)"
                ),
                )
            }
        };
        if !allowed.contains(method) {
            return Reply::failure(
                405,
                format!("<Error> method {method} is not allowed on '{path}'"),
            );
        }
        match path {
            "/rep" | "/get" => {
                if query.is_some_and(|q| {
                    q.split('&')
                        .any(|kv| kv == "verbose=1" || kv == "verbose=true")
                }) {
                    let details = self.fleet.views();
                    return Reply::success(
                        200,
                        VerboseListing {
                            n: details.len(),
                            replicas: details.iter().map(|d| d.hostname.clone()).collect(),
                            details,
                            ring: self
                                .fleet
                                .ring()
                                .load()
                                .members()
                                .iter()
                                .map(|m| m.name.to_string())
                                .collect(),
                            provisioner: self.fleet.provisioner().kind(),
                        },
                    );
                }
                listing(self.fleet.names())
            }
            _ => {
                if let Err(denied) = self.access.allows_change(caller) {
                    return refusal(denied);
                }
                let body = match body {
                    Ok(b) => b,
                    Err(reply) => return reply,
                };
                let change = match parse_change(&body) {
                    Ok(c) => c,
                    Err(message) => return Reply::failure(400, message),
                };
                let result = if path == "/add" {
                    self.fleet.add(change.n, change.hostnames).await
                } else {
                    self.fleet.remove(change.n, change.hostnames).await
                };
                match result {
                    Ok(names) => listing(names),
                    Err(e) => refused_change(&e),
                }
            }
        }
    }
}

/// The HTTP answer to a change the fleet refused.
fn refused_change(e: &ChangeError) -> Reply {
    let status = match e.refusal() {
        Refusal::Invalid => 400,
        Refusal::Conflict => 409,
        Refusal::NotFound => 404,
        Refusal::Unavailable => 503,
    };
    Reply::failure(status, format!("<Error> {e}"))
}

/// The HTTP answer to a refused change.
fn refusal(denied: Denied) -> Reply {
    match denied {
        Denied::Token => Reply::failure(
            401,
            "<Error> this change needs the admin token: send Authorization: Bearer <token>",
        )
        .with_header("WWW-Authenticate", "Bearer"),
        Denied::Remote => Reply::failure(
            403,
            "<Error> fleet changes are only accepted from this host; configure an admin token (RINGLB_ADMIN_TOKEN or admin.token_file) or set admin.allow_remote_changes",
        ),
        Denied::CrossSite => Reply::failure(
            403,
            "<Error> cross-site request refused: the Origin header names another site than this one",
        ),
    }
}

fn listing(replicas: Vec<String>) -> Reply {
    Reply::success(
        200,
        Listing {
            n: replicas.len(),
            replicas,
        },
    )
}
