//! The admin API: `/rep` (and the seed's `/get`), `/add`, `/rm`.
//!
//! [`AdminApi::handle`] is transport-free: the admin listener
//! ([`AdminService`]) and the proxy port (for the seed's curl commands) both
//! read the request and call it. It talks only to the fleet.

mod body;
mod json;
mod request;
mod service;

use std::sync::Arc;

use http::Method;
use serde::Serialize;

pub use body::read_body;
pub use json::{to_python_json, Reply};
pub use request::{parse_change, ChangeRequest};
pub use service::{AdminService, HeaderLimits};

use crate::fleet::{Fleet, ReplicaView};

/// Paths the admin API answers.
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
}

impl AdminApi {
    pub fn new(fleet: Arc<Fleet>, max_body: usize) -> Self {
        AdminApi { fleet, max_body }
    }

    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Answers one admin request. `body` is what [`read_body`] returned.
    pub async fn handle(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: Result<bytes::Bytes, Reply>,
    ) -> Reply {
        let allowed: &[Method] = match path {
            "/rep" | "/get" => &[Method::GET, Method::HEAD],
            "/add" => &[Method::POST],
            "/rm" => &[Method::DELETE],
            _ => {
                return Reply::failure(
                    404,
                    format!("<Error> '{path}' is not an admin endpoint (/rep, /get, /add, /rm)"),
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
                    Err(e) => Reply::failure(e.status, e.message),
                }
            }
        }
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
