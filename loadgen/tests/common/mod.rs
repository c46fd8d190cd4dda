//! Shared by the integration tests: where the binaries are, a ringlb
//! started by the workspace's one harness (`ringlb-harness`: free ports,
//! readiness by polling, a guard that always stops it), and running
//! `ringlb-load` itself.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub use ringlb_harness::Ringlb;
use ringlb_harness::{http, wait_for, Launch};

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

/// A ringlb started by `ringlb-harness` with the config file at `config`,
/// once `/rep` lists `replicas` replicas and a `/home` through the proxy
/// has answered 200 (the first thing every test here does is send load).
/// The harness stops it on drop, pass or fail, and prints its log when a
/// test panics.
pub fn start_ringlb(config: &Path, replicas: usize) -> Ringlb {
    let yaml = std::fs::read_to_string(config)
        .unwrap_or_else(|e| panic!("read {}: {e}", config.display()));
    let mut launch = Launch::new(sibling("ringlb"), yaml);
    launch.replicas = Some(replicas);
    let lb = Ringlb::start(&launch);
    wait_for("/home through the proxy", Duration::from_secs(10), || {
        http::get(lb.proxy, "/home", Duration::from_secs(2))
            .ok()
            .filter(|r| r.status == 200)
    });
    lb
}
