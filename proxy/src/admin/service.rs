//! The admin API's own listener: a Pingora HTTP app.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::protocols::http::ServerSession;

use super::{read_body, AdminApi, Reply};

pub struct AdminService {
    api: Arc<AdminApi>,
}

impl AdminService {
    pub fn new(api: Arc<AdminApi>) -> Self {
        AdminService { api }
    }
}

#[async_trait]
impl ServeHttp for AdminService {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
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
