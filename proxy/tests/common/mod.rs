//! The proxy crate's view of the shared harness (`ringlb-harness`): a
//! ringlb started from a `ringlb:` section with the test defaults, plus the
//! reqwest conveniences these tests use. Starting, port choice, readiness,
//! logs and teardown all live in the harness.

#![allow(dead_code)]

pub mod cli;
pub mod fake;
pub mod load;
pub mod scrape;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ringlb_harness::{Launch, Stopped};
use serde_json::Value;

#[allow(unused_imports)]
pub use ringlb_harness::{is_alive, signal, try_wait_for, wait_for};

/// A binary of this workspace (built by `cargo build --workspace --bins`).
pub fn bin(name: &str) -> PathBuf {
    let ringlb = PathBuf::from(env!("CARGO_BIN_EXE_ringlb"));
    let path = ringlb.with_file_name(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}

/// The workspace's `conf/<name>`.
pub fn conf(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conf")
        .join(name)
}

/// Replica children of `parent` as (pid, SERVER_ID), sorted by SERVER_ID,
/// read once every child has exec'd.
pub fn children(parent: u32) -> Vec<(u32, String)> {
    ringlb_harness::replica_processes(parent)
        .into_iter()
        .map(|p| (p.pid, p.server_id))
        .collect()
}

/// The YAML config the tests run: Pingora's keys with a short grace period,
/// then `pingora` (more top-level keys) and the `ringlb:` section. As in
/// ringlb's own configs, 2 threads without work stealing, unless `pingora`
/// sets `threads` or `work_stealing`.
pub fn config(ringlb_section: &str, pingora: &str) -> String {
    let mut defaults = String::new();
    if !pingora.contains("threads:") {
        defaults.push_str("threads: 2\n");
    }
    if !pingora.contains("work_stealing:") {
        defaults.push_str("work_stealing: false\n");
    }
    format!(
        "version: 1\n{defaults}grace_period_seconds: 0\ngraceful_shutdown_timeout_seconds: 2\n{pingora}\nringlb:\n{ringlb_section}\n"
    )
}

/// A running `ringlb` and a client for it.
pub struct Ringlb {
    pub inner: ringlb_harness::Ringlb,
    pub port: u16,
    pub admin_port: u16,
    pub http: reqwest::blocking::Client,
}

impl Ringlb {
    /// Starts ringlb with `ringlb_section` (YAML for the `ringlb:` key,
    /// indented by two spaces) and waits until it serves.
    pub fn start(ringlb_section: &str) -> Ringlb {
        Self::start_with(ringlb_section, "")
    }

    /// As [`Ringlb::start`], with extra Pingora top-level keys.
    pub fn start_with(ringlb_section: &str, pingora: &str) -> Ringlb {
        Self::launch(Launch::new(bin("ringlb"), config(ringlb_section, pingora)))
    }

    /// Starts ringlb as `launch` says (`RINGLB_TEST_LOG` sets `RUST_LOG`).
    pub fn launch(mut launch: Launch) -> Ringlb {
        if let Ok(level) = std::env::var("RINGLB_TEST_LOG") {
            launch.env.push(("RUST_LOG".into(), level));
        }
        let inner = ringlb_harness::Ringlb::start(&launch);
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Ringlb {
            port: inner.proxy.port(),
            admin_port: inner.admin.port(),
            inner,
            http,
        }
    }

    pub fn pid(&self) -> u32 {
        self.inner.pid()
    }

    pub fn proxy_addr(&self) -> SocketAddr {
        self.inner.proxy
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.inner.admin
    }

    pub fn log(&self) -> String {
        self.inner.log()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.inner.proxy)
    }

    pub fn admin(&self, path: &str) -> String {
        format!("http://{}{path}", self.inner.admin)
    }

    /// GET on the proxy with an `X-Request-Id`; (status, JSON body).
    pub fn home(&self, id: u64) -> (u16, Value) {
        let r = self
            .http
            .get(self.url("/home"))
            .header("X-Request-Id", id.to_string())
            .send()
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// The replica that answered `/home` for request id `id`.
    pub fn owner(&self, id: u64) -> String {
        let (status, body) = self.home(id);
        assert_eq!(status, 200, "id {id}: {body}");
        served_by(&body)
    }

    /// The metrics scrape from the admin port.
    pub fn metrics(&self) -> String {
        let r = self
            .http
            .get(self.admin("/metrics"))
            .send()
            .expect("scrape");
        assert_eq!(r.status().as_u16(), 200);
        r.text().expect("scrape text")
    }

    /// `/rep?verbose=1` from the admin port.
    pub fn verbose(&self) -> Value {
        self.http
            .get(self.admin("/rep?verbose=1"))
            .send()
            .expect("verbose rep")
            .json()
            .expect("json")
    }

    /// The replica list from `/rep`.
    pub fn replicas(&self) -> Vec<String> {
        let v: Value = self
            .http
            .get(self.admin("/rep"))
            .send()
            .expect("rep")
            .json()
            .expect("json");
        strings(&v["message"]["replicas"])
    }

    /// The ring's members from `/rep?verbose=1`, sorted.
    pub fn ring_members(&self) -> Vec<String> {
        let mut v = strings(&self.verbose()["message"]["ring"]);
        v.sort();
        v
    }

    /// Sends an admin change; (status, JSON body).
    pub fn change(&self, method: reqwest::Method, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .http
            .request(method, self.admin(path))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .expect("admin request");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Pingora's graceful upgrade to a ringlb started with `ringlb_section`
    /// and `pingora` (which must name the same `upgrade_sock`); see
    /// [`ringlb_harness::Ringlb::upgrade`]. This one exits by itself after.
    pub fn upgrade_to(&mut self, ringlb_section: &str, pingora: &str) -> Ringlb {
        let launch = Launch::new(bin("ringlb"), config(ringlb_section, pingora));
        let inner = self
            .inner
            .upgrade(&launch)
            .unwrap_or_else(|e| panic!("upgrade: {e}\n--- the old process's log:\n{}", self.log()));
        Ringlb {
            port: inner.proxy.port(),
            admin_port: inner.admin.port(),
            inner,
            http: self.http.clone(),
        }
    }

    /// Sends `sig` and waits up to `limit`; see [`ringlb_harness::Ringlb::stop`].
    pub fn stop_within(&mut self, sig: i32, limit: Duration) -> Stopped {
        self.inner.stop(sig, limit)
    }

    /// Stops ringlb with `sig`; it must exit by itself within 10 s.
    pub fn stop(&mut self, sig: i32) -> Stopped {
        let stopped = self.inner.stop(sig, Duration::from_secs(10));
        assert!(
            stopped.by_itself,
            "ringlb did not exit within 10 s of signal {sig}; log:\n{}",
            self.log()
        );
        stopped
    }
}

/// The name in a `/home` answer (`Hello from Server: <name>`).
pub fn served_by(body: &Value) -> String {
    body["message"]
        .as_str()
        .and_then(|m| m.strip_prefix("Hello from Server: "))
        .unwrap_or_else(|| panic!("not a replica's answer: {body}"))
        .to_string()
}

/// A JSON list of strings as a Vec.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// A `ringlb-backend` started by a test (for the static provisioner).
pub struct Backend(pub ringlb_harness::Backend);

impl Backend {
    pub fn start(id: &str) -> Backend {
        Backend(ringlb_harness::Backend::start(&bin("ringlb-backend"), id))
    }

    /// Again on `addr`, where a replica was before.
    pub fn restart_on(id: &str, addr: SocketAddr) -> Backend {
        Backend(ringlb_harness::Backend::restart_on(
            &bin("ringlb-backend"),
            id,
            addr,
        ))
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }
}

/// One keep-alive `GET /home` with `X-Request-Id: id` on `conn`; the
/// answer's status, once its whole body has arrived.
pub fn keep_alive_home(conn: &mut std::net::TcpStream, id: u64) -> u16 {
    use std::io::{Read, Write};
    write!(
        conn,
        "GET /home HTTP/1.1\r\nHost: ringlb\r\nX-Request-Id: {id}\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = conn.read(&mut chunk).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("content-length");
            if body.len() >= len {
                return head[9..12].parse().unwrap();
            }
        }
    }
}
