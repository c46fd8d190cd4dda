//! Shared by the integration tests: where the binaries are, a ringlb
//! started on free ports with a guard that always stops it, and running
//! `ringlb-load` itself.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `ringlb-load`, as Cargo built it for these tests.
pub fn load_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ringlb-load"))
}

/// A sibling binary of `ringlb-load` (built by `cargo build --workspace --bins`).
pub fn sibling(name: &str) -> PathBuf {
    let p = load_bin().with_file_name(name);
    assert!(
        p.is_file(),
        "{} missing: run `cargo build --workspace --bins` first (make test does)",
        p.display()
    );
    p
}

/// The workspace's conf/ folder.
pub fn conf(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conf")
        .join(name)
}

/// A fresh empty folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "ringlb-load-test-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `ringlb-load` with `args` and returns its output.
pub fn run_load(args: &[&str]) -> Output {
    Command::new(load_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ringlb-load")
}

/// stdout as JSON, failing the test with stderr if the command failed.
pub fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "ringlb-load failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A ringlb process; SIGTERM and wait (then SIGKILL) on drop, pass or fail.
pub struct Ringlb {
    child: Child,
    pub proxy: u16,
    pub admin: u16,
}

impl Ringlb {
    /// Starts `ringlb -c config` on free ports and waits until `/rep` lists
    /// `replicas` replicas and `/home` answers.
    pub fn start(config: &Path, replicas: usize) -> Ringlb {
        let (proxy, admin) = (free_port(), free_port());
        let child = Command::new(sibling("ringlb"))
            .arg("-c")
            .arg(config)
            .arg("--listen")
            .arg(format!("127.0.0.1:{proxy}"))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{admin}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ringlb");
        let mut r = Ringlb {
            child,
            proxy,
            admin,
        };
        r.wait_ready(replicas);
        r
    }

    fn wait_ready(&mut self, replicas: usize) {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(30);
        let want = format!("\"N\": {replicas}");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ringlb exited during start-up: {status}");
            }
            let rep = client
                .get(format!("http://127.0.0.1:{}/rep", self.admin))
                .send()
                .and_then(|r| r.text());
            if rep.is_ok_and(|t| {
                t.replace("\"N\":", "\"N\": ")
                    .replace("  ", " ")
                    .contains(&want)
            }) {
                let home = client
                    .get(format!("http://127.0.0.1:{}/home", self.proxy))
                    .send();
                if home.is_ok_and(|r| r.status().is_success()) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "ringlb not ready within 30 s");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Ringlb {
    fn drop(&mut self) {
        // SAFETY: signalling our own child, not yet reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
