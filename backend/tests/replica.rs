//! The replica binary as ringlb and the compose deployment run it: `PORT`
//! picks its port when no `--listen` is given, `/home` names it, and SIGTERM
//! stops it cleanly.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ringlb_harness::{http, try_wait_for};

/// Starts the replica with `PORT` set to a port that was free a moment ago;
/// another process may take it first, so a failed start is retried.
fn start_on_port_env(id: &str) -> (Child, SocketAddr) {
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringlb-backend"))
            .env("PORT", port.to_string())
            .env("SERVER_ID", id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ringlb-backend");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let up = try_wait_for(Duration::from_secs(10), || {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return Some(false);
            }
            http::get(addr, "/heartbeat", Duration::from_secs(1))
                .ok()
                .map(|r| r.status == 200)
        });
        if up == Some(true) {
            return (child, addr);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("ringlb-backend did not come up on a free port in 5 tries");
}

#[test]
fn port_env_sets_the_port_and_sigterm_stops_it() {
    let (mut child, addr) = start_on_port_env("S42");
    let r = http::get(addr, "/home", Duration::from_secs(5)).expect("GET /home");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        r#"{"message": "Hello from Server: S42", "status": "successful"}"#
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = http::get(addr, "/nope", Duration::from_secs(5)).expect("GET /nope");
    assert_eq!(r.status, 404);

    ringlb_harness::signal(child.id(), libc::SIGTERM);
    let status = try_wait_for(Duration::from_secs(5), || child.try_wait().ok().flatten());
    let _ = child.kill();
    let status = status.expect("ringlb-backend exited within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(
        http::get(addr, "/home", Duration::from_secs(1)).is_err(),
        "still answering"
    );
}

#[test]
fn a_bad_port_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ringlb-backend"))
        .env("PORT", "http")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(r#"PORT must be a port number, got "http""#)
    );
}

/// Kills the child on drop, pass or fail.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn delay_ms_holds_home_but_never_the_heartbeat() {
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_ringlb-backend"))
            .args(["--listen", "127.0.0.1:0", "--announce", "--delay-ms", "700"])
            .env("SERVER_ID", "slow")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ringlb-backend"),
    );
    let mut line = String::new();
    let out = child.0.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).expect("announce");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no announcement: {line:?}"));
    let began = std::time::Instant::now();
    let hb = http::get(addr, "/heartbeat", Duration::from_secs(5)).expect("heartbeat");
    let heartbeat_took = began.elapsed();
    let began = std::time::Instant::now();
    let home = http::get(addr, "/home", Duration::from_secs(5)).expect("home");
    let home_took = began.elapsed();
    assert_eq!((hb.status, home.status), (200, 200));
    assert!(
        heartbeat_took < Duration::from_millis(500),
        "{heartbeat_took:?}"
    );
    assert!(home_took >= Duration::from_millis(700), "{home_took:?}");
}
