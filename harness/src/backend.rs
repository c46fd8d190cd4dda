//! A `ringlb-backend` replica started by a test (for the static
//! provisioner): it binds port 0 (or a given address) and announces the
//! address it got on stdout, so there is no port race. Killed on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running replica.
pub struct Backend {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Backend {
    /// `binary` with `SERVER_ID=id` on a port of its own choosing.
    pub fn start(binary: &Path, id: &str) -> Backend {
        Self::start_with(binary, id, &[])
    }

    /// As [`Backend::start`], with more flags (e.g. `--delay-ms 20`).
    pub fn start_with(binary: &Path, id: &str, extra: &[&str]) -> Backend {
        Self::try_start(binary, id, "127.0.0.1:0", extra)
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
    }

    /// Again on `addr` (a replica coming back where it was). Another
    /// process may hold the port for a moment: retried for up to 5 s.
    pub fn restart_on(binary: &Path, id: &str, addr: SocketAddr) -> Backend {
        let mut last = String::new();
        crate::try_wait_for(Duration::from_secs(5), || {
            match Self::try_start(binary, id, &addr.to_string(), &[]) {
                Ok(b) => Some(b),
                Err(e) => {
                    last = e;
                    None
                }
            }
        })
        .unwrap_or_else(|| panic!("restart {id} on {addr}: {last}"))
    }

    fn try_start(binary: &Path, id: &str, listen: &str, extra: &[&str]) -> Result<Backend, String> {
        let mut child = Command::new(binary)
            .args(["--listen", listen, "--announce"])
            .args(extra)
            .env("SERVER_ID", id)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        match line.trim().strip_prefix("listening ").map(str::parse) {
            Some(Ok(addr)) => Ok(Backend { child, addr }),
            _ => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!("no announcement ({status}): {line:?}"))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
