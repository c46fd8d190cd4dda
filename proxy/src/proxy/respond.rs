//! Writing a JSON reply from the proxy (admin on the proxy port, unknown
//! paths, errors).

use pingora_core::Result;
use pingora_http::ResponseHeader;
use pingora_proxy::Session;

use crate::admin::Reply;

/// Sends `reply` as a complete response, always with Content-Length.
pub async fn send(session: &mut Session, reply: &Reply) -> Result<()> {
    let mut header = ResponseHeader::build(reply.status, Some(3))?;
    header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    header.insert_header(http::header::CONTENT_LENGTH, reply.body.len())?;
    for (name, value) in &reply.headers {
        header.insert_header(*name, *value)?;
    }
    let head_only = session.req_header().method == http::Method::HEAD;
    session
        .write_response_header(Box::new(header), head_only)
        .await?;
    if !head_only {
        session
            .write_response_body(Some(reply.body.clone()), true)
            .await?;
    }
    Ok(())
}
