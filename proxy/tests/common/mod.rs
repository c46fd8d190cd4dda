//! Test harness: starts the real `ringlb` and `ringlb-backend` binaries on
//! free loopback ports, waits for readiness by polling, and tears everything
//! down on drop (also when a test panics).

#![allow(dead_code)]

pub mod load;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

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

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Polls `f` every 10 ms until it returns `Some`, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn is_alive(pid: u32) -> bool {
    // /proc/<pid> exists for zombies too; check the state letter.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Child processes of `parent` (pid, SERVER_ID from their environment).
pub fn children(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let mut fields = stat.rsplit(')').next().unwrap_or("").split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid != parent || state == "Z" {
            continue;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let id = env
            .split(|b| *b == 0)
            .find_map(|kv| kv.strip_prefix(b"SERVER_ID="))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        out.push((pid, id));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Sends `sig` to `pid`.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: plain kill(2) on a pid this test started or observed.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// A running `ringlb` with its own config file, ports and log.
pub struct Ringlb {
    pub child: Option<Child>,
    pub port: u16,
    pub admin_port: u16,
    pub dir: tempfile::TempDir,
    pub http: reqwest::blocking::Client,
}

impl Ringlb {
    /// Starts ringlb with `ringlb_section` (YAML for the `ringlb:` key,
    /// indented by two spaces) and waits until its admin API answers.
    pub fn start(ringlb_section: &str) -> Ringlb {
        Self::start_with(ringlb_section, "")
    }

    /// As [`Ringlb::start`], with extra Pingora top-level keys.
    pub fn start_with(ringlb_section: &str, pingora: &str) -> Ringlb {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("ringlb.yaml");
        let yaml = format!(
            "version: 1\nthreads: 2\ngrace_period_seconds: 0\ngraceful_shutdown_timeout_seconds: 2\n{pingora}\nringlb:\n{ringlb_section}\n"
        );
        std::fs::write(&conf, yaml).expect("write config");
        let log = std::fs::File::create(dir.path().join("ringlb.log")).expect("log file");
        let port = free_port();
        let admin_port = free_port();
        let child = Command::new(bin("ringlb"))
            .arg("-c")
            .arg(&conf)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{admin_port}"))
            .env(
                "RUST_LOG",
                std::env::var("RINGLB_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn ringlb");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let lb = Ringlb {
            child: Some(child),
            port,
            admin_port,
            dir,
            http,
        };
        wait_for("ringlb to answer /rep", Duration::from_secs(30), || {
            lb.assert_running();
            lb.http
                .get(lb.admin("/rep"))
                .send()
                .ok()
                .filter(|r| r.status() == 200)
        });
        // The proxy listener may open a moment after the admin one.
        wait_for("the proxy port to accept", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        lb
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    fn assert_running(&self) {
        if let Some(c) = &self.child {
            assert!(is_alive(c.id()), "ringlb exited; log:\n{}", self.log());
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ringlb.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn admin(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
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
        v["message"]["replicas"]
            .as_array()
            .expect("replicas")
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_string())
            .collect()
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

    /// Stops ringlb with `sig` and waits for it (bounded).
    pub fn stop(&mut self, sig: i32) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), sig);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Ringlb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- ringlb log ---\n{}", self.log());
        }
        self.stop(libc::SIGTERM);
    }
}

/// A `ringlb-backend` started by a test (for the static provisioner).
pub struct Backend {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Backend {
    pub fn start(id: &str) -> Backend {
        Self::start_on(id, "127.0.0.1:0")
    }

    pub fn start_on(id: &str, listen: &str) -> Backend {
        let mut child = Command::new(bin("ringlb-backend"))
            .args(["--listen", listen, "--announce"])
            .env("SERVER_ID", id)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn backend");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("announce");
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("bad announcement {line:?}"));
        Backend { child, addr }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
