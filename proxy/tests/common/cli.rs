//! The Docker CLI and the repository's files, for the tests that run the
//! real deployments (`make compose`, `make swarm`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root (where the Makefile is).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// Runs `program args` (with the test's Docker socket, if
/// `RINGLB_TEST_DOCKER_SOCKET` names one); its output.
pub fn run(program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    if let Ok(s) = std::env::var("RINGLB_TEST_DOCKER_SOCKET") {
        cmd.env("DOCKER_HOST", format!("unix://{s}"));
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("run {program} {args:?}: {e}"))
}

/// Lines of `docker args` (which must succeed).
pub fn docker(args: &[&str]) -> Vec<String> {
    let out = run("docker", args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The workspace's `conf/<name>` with each `from` replaced by its `to`;
/// each `from` must be there exactly once, so a change to the file that
/// would make a test's copy collide with the real deployment fails here.
pub fn conf_with(name: &str, replacements: &[(&str, String)]) -> String {
    let path = workspace().join("conf").join(name);
    let original =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut conf = original.clone();
    for (from, to) in replacements {
        assert_eq!(
            original.matches(from).count(),
            1,
            "conf/{name} should have `{}` once",
            from.trim()
        );
        conf = conf.replace(from, to);
    }
    conf
}
