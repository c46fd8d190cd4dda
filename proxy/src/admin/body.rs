//! Reading a request body with a size cap and a deadline.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora_core::protocols::http::ServerSession;

use super::Reply;

/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the whole body, refusing more than `max` bytes (413) and clients
/// slower than five seconds (408).
pub async fn read_body(session: &mut ServerSession, max: usize) -> Result<Bytes, Reply> {
    let too_large = || {
        Reply::failure(
            413,
            format!("<Error> request body is larger than {max} bytes"),
        )
    };
    if let Some(len) = session
        .req_header()
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        if len > max as u64 {
            return Err(too_large());
        }
    }
    let read = async {
        let mut buf = BytesMut::new();
        while let Some(chunk) = session.read_request_body().await.map_err(|e| {
            Reply::failure(400, format!("<Error> could not read the request body: {e}"))
        })? {
            if buf.len() + chunk.len() > max {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(r) => r,
        Err(_) => Err(Reply::failure(
            408,
            "<Error> timed out reading the request body",
        )),
    }
}
