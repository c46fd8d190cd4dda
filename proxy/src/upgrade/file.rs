//! The handover file: the replica names the old process passes to the new
//! one, next to Pingora's upgrade socket (so each instance, which needs an
//! upgrade socket of its own, also has a handover file of its own).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Handed {
    /// The old process, for the new one's log.
    pid: u32,
    replicas: Vec<String>,
}

/// Where the names for the process behind `upgrade_sock` go.
pub fn handover_file(upgrade_sock: &str) -> PathBuf {
    PathBuf::from(format!("{upgrade_sock}.ringlb.json"))
}

/// Where this process's pid goes, so that an operator (and `make upgrade`)
/// finds the process to send SIGQUIT: one file per upgrade socket, taken
/// over by the new process once it has the sockets.
pub fn pid_file(upgrade_sock: &str) -> PathBuf {
    PathBuf::from(format!("{upgrade_sock}.ringlb.pid"))
}

/// Writes this process's pid to `path`.
pub fn write_pid(path: &Path) -> std::io::Result<()> {
    let partial = path.with_extension("partial-pid");
    std::fs::write(&partial, format!("{}\n", std::process::id()))?;
    std::fs::rename(&partial, path)
}

/// Removes `path` if it still names this process (after an upgrade it
/// names the new one).
pub fn remove_pid(path: &Path) {
    let ours =
        std::fs::read_to_string(path).is_ok_and(|s| s.trim() == std::process::id().to_string());
    if ours {
        let _ = std::fs::remove_file(path);
    }
}

/// The live process other than this one that `path` names, if any.
pub fn successor(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    let alive = libc::pid_t::try_from(pid)
        // SAFETY: kill(2) with signal 0 only checks that the process exists.
        .map(|p| unsafe { libc::kill(p, 0) } == 0)
        .unwrap_or(false);
    (pid != std::process::id() && alive).then_some(pid)
}

/// Removes a handover file (so that a failed write never leaves an older
/// one to be read).
pub fn remove_names(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Writes `names` atomically (a complete file or none), readable only by
/// this user.
pub fn write_names(path: &Path, names: &[String]) -> std::io::Result<()> {
    let body = serde_json::to_vec(&Handed {
        pid: std::process::id(),
        replicas: names.to_vec(),
    })?;
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    f.write_all(&body)?;
    f.sync_all()?;
    std::fs::rename(&partial, path)
}

/// Reads and removes the names a previous process left; the old process's
/// pid with them. `Err` says why there are none.
pub fn read_names(path: &Path) -> Result<(u32, Vec<String>), String> {
    let body = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let _ = std::fs::remove_file(path);
    let handed: Handed =
        serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((handed.pid, handed.replicas))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = handover_file(dir.path().join("up.sock").to_str().unwrap());
        let names = vec!["b".to_string(), "a".to_string()];
        write_names(&path, &names).unwrap();
        let (pid, read) = read_names(&path).unwrap();
        assert_eq!((pid, read), (std::process::id(), names));
        // Taken: a later start does not pick up stale names.
        assert!(read_names(&path).is_err());
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_fleet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ringlb.json");
        std::fs::write(&path, b"{\"pid\": 1, \"replicas\": [").unwrap();
        assert!(read_names(&path).unwrap_err().contains("x.ringlb.json"));
    }
}
