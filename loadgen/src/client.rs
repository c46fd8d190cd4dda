//! One HTTP/1.1 client for everything the tool sends: load and admin calls.
//!
//! hyper's pooled client keeps a connection per in-flight request and reuses
//! it, as a browser or `ab -k` would, so the measured cost is the balancer's,
//! not TCP set-up. Every call has a deadline: a hung peer becomes a counted
//! error, never a hung run.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Why a request got no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Transport {
    #[error("connect failed")]
    Connect,
    #[error("timed out")]
    Timeout,
    #[error("connection closed or reset")]
    Closed,
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl Transport {
    /// A short label for error tables.
    pub fn label(&self) -> &'static str {
        match self {
            Transport::Connect => "connect",
            Transport::Timeout => "timeout",
            Transport::Closed => "closed",
            Transport::Invalid(_) => "invalid",
        }
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

/// A pooled HTTP/1.1 client with a per-request deadline.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// `pool` is the most idle connections kept per host (use the
    /// concurrency).
    pub fn new(pool: usize, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let inner = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        HttpClient { inner, timeout }
    }

    /// Sends one request and reads the whole body.
    pub async fn send(
        &self,
        method: Method,
        uri: &Uri,
        header: Option<(&HeaderName, HeaderValue)>,
        body: Option<Bytes>,
    ) -> Result<Reply, Transport> {
        let mut builder = Request::builder().method(method).uri(uri.clone());
        if let Some((name, value)) = header {
            builder = builder.header(name, value);
        }
        if body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| Transport::Invalid(e.to_string()))?;
        let exchange = async {
            let response = self.inner.request(request).await.map_err(|e| {
                if e.is_connect() {
                    Transport::Connect
                } else {
                    Transport::Closed
                }
            })?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|_| Transport::Closed)?
                .to_bytes();
            Ok(Reply { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Transport::Timeout)?
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &Uri) -> Result<Reply, Transport> {
        self.send(Method::GET, uri, None, None).await
    }
}
