//! Processes seen through `/proc`: whether one is alive, its children, and
//! which replica (`SERVER_ID`) each child serves.
//!
//! ringlb's process provisioner starts each replica as a direct child with
//! `SERVER_ID=<hostname>` in its environment, so `/proc` tells which pid
//! serves which replica without asking ringlb: a test can check ringlb's
//! word against the kernel's and kill a replica behind ringlb's back.
//!
//! Between fork and exec a child still shows its parent's environment (no
//! `SERVER_ID`); [`replica_processes`] therefore waits until every child
//! has exec'd rather than reading once.

use std::fs;
use std::time::Duration;

/// A replica process of a ringlb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaProcess {
    pub pid: u32,
    pub server_id: String,
}

/// Whether `pid` runs (a zombie does not).
pub fn is_alive(pid: u32) -> bool {
    matches!(state_and_parent(pid), Some((state, _)) if state != 'Z' && state != 'X')
}

/// Sends `sig` to `pid`; false if it is gone.
pub fn signal(pid: u32, sig: i32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Live (non-zombie) children of `parent`, sorted.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            matches!(state_and_parent(*pid), Some((state, ppid)) if ppid == parent && state != 'Z')
        })
        .collect();
    out.sort_unstable();
    out
}

/// The replica children of `parent`, sorted by `SERVER_ID`, once every
/// child has exec'd (bounded: after 5 s the children read so far).
pub fn replica_processes(parent: u32) -> Vec<ReplicaProcess> {
    let mut last = Vec::new();
    let mut read = || -> Option<Vec<ReplicaProcess>> {
        let mut out = Vec::new();
        let mut settled = true;
        for pid in children(parent) {
            match server_id_of(pid) {
                Some(id) => out.push(ReplicaProcess { pid, server_id: id }),
                // Forked, not exec'd yet (or already gone): read again.
                None if is_alive(pid) => settled = false,
                None => {}
            }
        }
        out.sort_by(|a, b| a.server_id.cmp(&b.server_id));
        if settled {
            return Some(out);
        }
        last = out;
        None
    };
    match crate::try_wait_for(Duration::from_secs(5), &mut read) {
        Some(all) => all,
        None => last,
    }
}

/// (state letter, parent pid) from `/proc/<pid>/stat`; the command name
/// may itself hold spaces and parentheses, so parse after the last ')'.
fn state_and_parent(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

fn server_id_of(pid: u32) -> Option<String> {
    let env = fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"SERVER_ID="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_found_by_its_server_id_once_it_has_execd() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .env("SERVER_ID", "probe7")
            .spawn()
            .expect("spawn sleep");
        let found = replica_processes(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            found,
            vec![ReplicaProcess {
                pid: child.id(),
                server_id: "probe7".into()
            }]
        );
        assert!(!is_alive(child.id()));
    }
}
