//! A minimal Docker Engine API client: HTTP/1.1 over the unix socket.
//!
//! Only what the provisioner needs (JSON requests and one streamed
//! response for `/events`), pinned to API version 1.41 (Docker 20.10), the
//! oldest engine we support; newer engines still accept it. One connection
//! per request: the calls are rare (start, stop) and this keeps no state
//! that a daemon restart could break.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::UnixStream;

/// The API version in every path.
pub const API_VERSION: &str = "v1.41";

/// A failed Engine API call.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot connect to the Docker Engine at {socket}: {source}")]
    Connect {
        socket: String,
        source: std::io::Error,
    },
    #[error("Docker Engine {method} {path}: {message}")]
    Http {
        method: Method,
        path: String,
        message: String,
    },
    #[error("Docker Engine {method} {path}: {status}: {message}")]
    Status {
        method: Method,
        path: String,
        status: StatusCode,
        message: String,
    },
    #[error("Docker Engine {method} {path}: no answer within {limit:?}")]
    Timeout {
        method: Method,
        path: String,
        limit: Duration,
    },
}

impl EngineError {
    /// The HTTP status the Engine answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            EngineError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The Engine at one socket.
#[derive(Debug, Clone)]
pub struct Engine {
    socket: PathBuf,
}

impl Engine {
    pub fn new(socket: &Path) -> Engine {
        Engine {
            socket: socket.to_path_buf(),
        }
    }

    /// Sends one request; `path` is below `/v1.41` and includes any query.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<hyper::Response<Incoming>, EngineError> {
        let http_err = |message: String| EngineError::Http {
            method: method.clone(),
            path: path.to_string(),
            message,
        };
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| EngineError::Connect {
                    socket: self.socket.display().to_string(),
                    source,
                })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http_err(format!("handshake: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("docker connection ended: {e}");
            }
        });
        let payload = match body {
            Some(v) => Bytes::from(v.to_string()),
            None => Bytes::new(),
        };
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("/{API_VERSION}{path}"))
            .header(http::header::HOST, "docker")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(payload))
            .map_err(|e| http_err(format!("bad request: {e}")))?;
        sender
            .send_request(request)
            .await
            .map_err(|e| http_err(e.to_string()))
    }

    /// A request whose whole answer is read; the JSON body (or `Null` when
    /// empty). Non-2xx answers are errors carrying the Engine's message.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        limit: Duration,
    ) -> Result<Value, EngineError> {
        let exchange = async {
            let response = self.send(method.clone(), path, body).await?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| EngineError::Http {
                    method: method.clone(),
                    path: path.to_string(),
                    message: format!("reading the answer: {e}"),
                })?
                .to_bytes();
            let value: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
            };
            if !status.is_success() {
                let message = value
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string());
                return Err(EngineError::Status {
                    method: method.clone(),
                    path: path.to_string(),
                    status,
                    message,
                });
            }
            Ok(value)
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(EngineError::Timeout {
                method,
                path: path.to_string(),
                limit,
            }),
        }
    }

    /// A GET whose answer is a stream of JSON lines (`/events`).
    pub async fn stream(&self, path: &str) -> Result<JsonLines, EngineError> {
        let response = self.send(Method::GET, path, None).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(EngineError::Status {
                method: Method::GET,
                path: path.to_string(),
                status,
                message: "stream refused".to_string(),
            });
        }
        Ok(JsonLines {
            body: response.into_body(),
            buffer: BytesMut::new(),
        })
    }
}

/// Newline-delimited JSON values from a streamed answer.
pub struct JsonLines {
    body: Incoming,
    buffer: BytesMut,
}

impl JsonLines {
    /// The next value; `Ok(None)` when the stream ended.
    pub async fn next(&mut self) -> Result<Option<Value>, String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line = self.buffer.split_to(end + 1);
                let text = line.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                return serde_json::from_slice(text)
                    .map(Some)
                    .map_err(|e| format!("bad event line: {e}"));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Err(e.to_string()),
                None => return Ok(None),
            }
        }
    }
}

/// Percent-encodes a query-string value (everything but unreserved bytes).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_filters() {
        assert_eq!(encode("a-b_c.d~"), "a-b_c.d~");
        assert_eq!(
            encode(r#"{"label":["x=y"]}"#),
            "%7B%22label%22%3A%5B%22x%3Dy%22%5D%7D"
        );
    }
}
