//! The admin API's own listener: a Pingora HTTP app. It serves what the
//! admin API serves and, here only, the metrics scrape (`/metrics`) and the
//! live dashboard (`/dashboard`): the proxy port is for clients, and what it
//! exposes stays small.

use std::sync::Arc;

use async_trait::async_trait;
use http::{Method, Response};
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::protocols::http::ServerSession;

use super::{dashboard, read_body, AdminApi, Caller, Reply};
use crate::clients::{header_too_large, HeaderSeen};
use crate::metrics::Listener;

pub struct AdminService {
    api: Arc<AdminApi>,
    limits: HeaderLimits,
}

/// The request header limits the proxy port enforces, applied here too.
#[derive(Debug, Clone, Copy)]
pub struct HeaderLimits {
    pub max_headers: usize,
    pub max_header_bytes: usize,
}

impl AdminService {
    pub fn new(api: Arc<AdminApi>, limits: HeaderLimits) -> Self {
        AdminService { api, limits }
    }

    /// `GET /metrics`: the scrape, or a JSON error like every other path.
    fn metrics(&self, method: &Method, body: Result<bytes::Bytes, Reply>) -> Response<Vec<u8>> {
        let refused = if !matches!(*method, Method::GET | Method::HEAD) {
            Some(Reply::failure(
                405,
                format!("<Error> method {method} is not allowed on '/metrics'"),
            ))
        } else {
            body.err()
        };
        if let Some(reply) = refused {
            self.api
                .metrics()
                .admin_call(Listener::Admin, "/metrics", reply.status);
            return into_response(reply);
        }
        self.api
            .metrics()
            .admin_call(Listener::Admin, "/metrics", 200);
        let text = self.api.scrape();
        Response::builder()
            .status(200)
            .header(
                http::header::CONTENT_TYPE,
                self.api.metrics().content_type(),
            )
            .header(http::header::CONTENT_LENGTH, text.len())
            .body(text)
            .unwrap_or_else(|_| Response::new(Vec::new()))
    }
}

impl AdminService {
    /// `GET /dashboard` (the page) and `GET /dashboard/state` (its data).
    async fn dashboard(&self, session: &mut ServerSession, path: &str) -> Response<Vec<u8>> {
        let method = session.req_header().method.clone();
        let body = read_body(session, self.api.max_body()).await;
        if body.is_err() {
            session.set_keepalive(None);
        }
        let refused = if !matches!(method, Method::GET | Method::HEAD) {
            Some(Reply::failure(
                405,
                format!("<Error> method {method} is not allowed on '{path}'"),
            ))
        } else {
            body.err()
        };
        let metrics = self.api.metrics();
        if let Some(reply) = refused {
            metrics.admin_call(Listener::Admin, path, reply.status);
            return into_response(reply);
        }
        metrics.admin_call(Listener::Admin, path, 200);
        let (content_type, body) = if path == "/dashboard" {
            (
                "text/html; charset=utf-8",
                dashboard::PAGE.as_bytes().to_vec(),
            )
        } else {
            ("application/json", dashboard::state(&self.api))
        };
        Response::builder()
            .status(200)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::CONTENT_LENGTH, body.len())
            .header(http::header::CACHE_CONTROL, "no-store")
            .body(body)
            .unwrap_or_else(|_| Response::new(Vec::new()))
    }
}

#[async_trait]
impl ServeHttp for AdminService {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        if let Some(context) = session.take_connection_user_context() {
            HeaderSeen::mark(context);
        }
        session.set_pipelining_enabled(true);
        if let Some(why) = header_too_large(
            session,
            self.limits.max_headers,
            self.limits.max_header_bytes,
        ) {
            session.set_keepalive(None);
            return into_response(Reply::failure(431, format!("<Error> {why}")));
        }
        let path = session.req_header().uri.path();
        if path == "/dashboard" || path == "/dashboard/state" {
            let path = path.to_string();
            return self.dashboard(session, &path).await;
        }
        if session.req_header().uri.path() == "/metrics" {
            let method = session.req_header().method.clone();
            let body = read_body(session, self.api.max_body()).await;
            if body.is_err() {
                session.set_keepalive(None);
            }
            return self.metrics(&method, body);
        }
        into_response(self.api.serve(session, Listener::Admin).await)
    }
}

/// Who sent the request on `session`: the TCP peer's address and the
/// `Authorization` header (both ports use this).
pub fn caller_of(session: &ServerSession) -> Caller {
    let headers = &session.req_header().headers;
    Caller::new(
        session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip()),
        headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    )
    .with_origin(
        headers.get(http::header::ORIGIN).map(|v| v.as_bytes()),
        headers.get(http::header::HOST).map(|v| v.as_bytes()),
    )
}

fn into_response(reply: Reply) -> Response<Vec<u8>> {
    let len = reply.body.len();
    let mut builder = Response::builder()
        .status(reply.status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CONTENT_LENGTH, len);
    for (name, value) in &reply.headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(reply.body.to_vec())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}
