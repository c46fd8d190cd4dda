//! A-3, part one: every endpoint of the spec, once, with the answer checked.
//!
//! The calls go to the proxy port (the assignment's port 5000, where ringlb
//! also answers the admin paths) and `/rep` once to the admin port. Each
//! has an expected status and a phrase the body must contain, taken from
//! the spec.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;

use crate::client::HttpClient;
use crate::cluster::Cluster;

/// One call and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub port: &'static str,
    pub method: String,
    pub path: String,
    pub body: String,
    pub expect_status: u16,
    pub expect_text: &'static str,
    pub status: Option<u16>,
    pub reply: String,
    pub ok: bool,
}

struct Call {
    admin_port: bool,
    method: Method,
    path: &'static str,
    body: &'static str,
    status: u16,
    text: &'static str,
}

const fn call(
    method: Method,
    path: &'static str,
    body: &'static str,
    status: u16,
    text: &'static str,
) -> Call {
    Call {
        admin_port: false,
        method,
        path,
        body,
        status,
        text,
    }
}

fn calls() -> Vec<Call> {
    vec![
        Call {
            admin_port: true,
            ..call(Method::GET, "/rep", "", 200, "\"replicas\"")
        },
        call(Method::GET, "/rep", "", 200, "Server1"),
        call(Method::GET, "/get", "", 200, "\"N\""),
        call(
            Method::POST,
            "/add",
            r#"{"n": 2, "hostnames": ["S5"]}"#,
            200,
            "S5",
        ),
        call(
            Method::POST,
            "/add",
            r#"{"n": 1, "hostnames": ["S6", "S7"]}"#,
            400,
            "Length of hostname list is more than newly added instances",
        ),
        call(Method::POST, "/add", r#"{"n": "two"#, 400, "failure"),
        call(
            Method::DELETE,
            "/rm",
            r#"{"n": 1, "hostnames": ["S5"]}"#,
            200,
            "successful",
        ),
        call(
            Method::DELETE,
            "/rm",
            r#"{"n": 1, "hostnames": ["Server1", "Server3"]}"#,
            400,
            "Length of hostname list is more than removable instances",
        ),
        call(Method::PUT, "/add", "", 405, "failure"),
        call(Method::GET, "/home", "", 200, "Hello from Server: "),
        call(Method::GET, "/heartbeat", "", 200, ""),
        call(
            Method::GET,
            "/other",
            "",
            400,
            "'/other' endpoint does not exist in server replicas",
        ),
    ]
}

/// Makes every call in order (the membership changes along the way).
pub async fn exercise(cluster: &Cluster, client: &HttpClient) -> Vec<Probe> {
    let key = HeaderName::from_static("x-request-id");
    let mut out = Vec::new();
    for c in calls() {
        let uri = if c.admin_port {
            cluster.admin_uri(c.path)
        } else {
            cluster.proxy_uri(c.path)
        };
        let header = (c.path == "/home").then(|| (&key, HeaderValue::from_static("123456")));
        let body = (!c.body.is_empty()).then(|| Bytes::from_static(c.body.as_bytes()));
        let result = client.send(c.method.clone(), &uri, header, body).await;
        let (status, reply) = match result {
            Ok(r) => (
                Some(r.status.as_u16()),
                String::from_utf8_lossy(&r.body).into_owned(),
            ),
            Err(e) => (None, e.to_string()),
        };
        let ok = status == Some(c.status) && reply.contains(c.text);
        out.push(Probe {
            port: if c.admin_port { "admin" } else { "proxy" },
            method: c.method.to_string(),
            path: c.path.to_string(),
            body: c.body.to_string(),
            expect_status: c.status,
            expect_text: c.text,
            status,
            reply: shorten(&reply, 140),
            ok,
        });
    }
    out
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
