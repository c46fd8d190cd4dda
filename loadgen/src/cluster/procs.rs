//! Finding a replica's process and killing it, for the failure experiment.
//!
//! ringlb's process provisioner starts each replica as a direct child with
//! `SERVER_ID=<hostname>` in its environment. `/proc` therefore tells which
//! pid serves which replica without asking ringlb, which is the point: the
//! experiment kills the process behind ringlb's back, as a crash would.

use std::fs;

/// A replica process of a ringlb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaProcess {
    pub pid: u32,
    pub server_id: String,
}

/// The children of `parent` that have a `SERVER_ID`, sorted by pid.
pub fn replica_processes(parent: u32) -> Vec<ReplicaProcess> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<ReplicaProcess> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .filter_map(|pid| {
            Some(ReplicaProcess {
                pid,
                server_id: server_id_of(pid)?,
            })
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// The parent pid, from `/proc/<pid>/stat` (field 4, after the command name,
/// which may itself contain spaces and parentheses).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    fields.next()?; // state
    fields.next()?.parse().ok()
}

fn server_id_of(pid: u32) -> Option<String> {
    let env = fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"SERVER_ID="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// `kill -9 pid`.
pub fn kill_hard(pid: u32) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_parent() {
        let me = std::process::id();
        // SAFETY: getppid cannot fail.
        let parent = unsafe { libc::getppid() } as u32;
        assert_eq!(parent_of(me), Some(parent));
    }

    #[test]
    fn finds_children_by_server_id() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .env("SERVER_ID", "probe7")
            .spawn()
            .expect("spawn sleep");
        // Until the child has exec'd, /proc shows the parent's environment:
        // poll (bounded) instead of reading once.
        let pid = child.id();
        let seen = |found: &[ReplicaProcess]| {
            found
                .iter()
                .any(|p| p.pid == pid && p.server_id == "probe7")
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let mut found = replica_processes(std::process::id());
        while !seen(&found) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            found = replica_processes(std::process::id());
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(seen(&found));
    }
}
