//! The admin API's own listener: a Pingora HTTP app.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::protocols::http::ServerSession;

use super::{read_body, AdminApi, Reply};
use crate::clients::HeaderSeen;

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
}

#[async_trait]
impl ServeHttp for AdminService {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        if let Some(context) = session.take_connection_user_context() {
            HeaderSeen::mark(context);
        }
        session.set_pipelining_enabled(true);
        let fields = session.req_header().headers.len();
        let bytes = session
            .as_http1()
            .map_or(0, |h| h.get_headers_raw_bytes().len());
        if fields > self.limits.max_headers || bytes > self.limits.max_header_bytes {
            session.set_keepalive(None);
            return into_response(Reply::failure(
                431,
                format!(
                    "<Error> request header too large: {fields} fields, {bytes} bytes (at most {} fields, {} bytes)",
                    self.limits.max_headers, self.limits.max_header_bytes
                ),
            ));
        }
        let method = session.req_header().method.clone();
        let uri = session.req_header().uri.clone();
        let body = read_body(session, self.api.max_body()).await;
        if body.is_err() {
            // The rest of an unread body would be taken as the next request.
            session.set_keepalive(None);
        }
        let reply = self
            .api
            .handle(&method, uri.path(), uri.query(), body)
            .await;
        into_response(reply)
    }
}

fn into_response(reply: Reply) -> Response<Vec<u8>> {
    let len = reply.body.len();
    Response::builder()
        .status(reply.status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CONTENT_LENGTH, len)
        .body(reply.body.to_vec())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}
