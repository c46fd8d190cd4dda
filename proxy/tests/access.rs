//! Who may change the fleet, against the real binary on both ports: without
//! a token only this host (loopback) may `/add` and `/rm`; with a token
//! (`RINGLB_ADMIN_TOKEN` or `admin.token_file`) everyone must present it;
//! `admin.allow_remote_changes` opens changes without one. A refused change
//! gets its JSON error and changes nothing; `/rep` and `/get` stay open.
//!
//! "Another host" is this machine's own non-loopback address: ringlb
//! listens on 0.0.0.0, and a connection to that address arrives from it,
//! exactly as a remote client's would.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;

use common::{bin, children, config, Ringlb};
use reqwest::Method;
use ringlb_harness::Launch;
use serde_json::Value;

const TOKEN: &str = "test-token-0123456789abcdef";

const FORBIDDEN: &str = r#"{"message": "<Error> fleet changes are only accepted from this host; configure an admin token (RINGLB_ADMIN_TOKEN or admin.token_file) or set admin.allow_remote_changes", "status": "failure"}"#;
const UNAUTHORIZED: &str = r#"{"message": "<Error> this change needs the admin token: send Authorization: Bearer <token>", "status": "failure"}"#;

/// This host's first non-loopback IPv4 address: a client from there is
/// "not on this host" to ringlb.
fn other_address() -> IpAddr {
    *ringlb_harness::non_loopback_ipv4()
        .first()
        .expect("this test needs a network interface besides loopback (none is up)")
}

/// ringlb on 0.0.0.0 (reachable from loopback and from `other_address`).
fn start(section: &str, env: &[(&str, &str)]) -> Ringlb {
    let mut launch = Launch::new(bin("ringlb"), config(section, ""));
    launch.ip = IpAddr::from([0, 0, 0, 0]);
    launch.replicas = Some(3);
    for (k, v) in env {
        launch.env.push((k.to_string(), v.to_string()));
    }
    Ringlb::launch(launch)
}

/// Both ports' addresses as seen from `ip`.
fn ports(lb: &Ringlb, ip: IpAddr) -> [SocketAddr; 2] {
    [
        SocketAddr::new(ip, lb.port),
        SocketAddr::new(ip, lb.admin_port),
    ]
}

/// One request; (status, WWW-Authenticate, body).
fn send(
    lb: &Ringlb,
    method: Method,
    at: SocketAddr,
    path: &str,
    body: &str,
    auth: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut req = lb
        .http
        .request(method, format!("http://{at}{path}"))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let r = req.send().expect("request");
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), challenge, r.text().unwrap_or_default())
}

fn running(lb: &Ringlb) -> Vec<String> {
    children(lb.pid()).into_iter().map(|(_, id)| id).collect()
}

const ADD: &str = r#"{"n": 1, "hostnames": ["X1"]}"#;
const RM: &str = r#"{"n": 1, "hostnames": ["X1"]}"#;

#[test]
fn without_a_token_only_this_host_changes_the_fleet() {
    let lb = start("", &[]);
    let before = lb.replicas();
    for at in ports(&lb, other_address()) {
        for (method, path, body) in [(Method::POST, "/add", ADD), (Method::DELETE, "/rm", RM)] {
            let (status, challenge, text) = send(&lb, method, at, path, body, None);
            assert_eq!((status, text.as_str()), (403, FORBIDDEN), "{path} on {at}");
            assert_eq!(challenge, None);
        }
        // Even a body that would be refused anyway: the rule comes first.
        let (status, _, _) = send(&lb, Method::POST, at, "/add", "not json", None);
        assert_eq!(status, 403);
        for path in ["/rep", "/get"] {
            let (status, _, text) = send(&lb, Method::GET, at, path, "", None);
            assert_eq!(status, 200, "{path} on {at}: {text}");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(common::strings(&v["message"]["replicas"]), before);
        }
    }
    assert_eq!(lb.replicas(), before);
    assert_eq!(running(&lb).len(), 3);
    // From loopback, on both ports, as the seed's curl commands do.
    for at in ports(&lb, IpAddr::from([127, 0, 0, 1])) {
        let (status, _, text) = send(&lb, Method::POST, at, "/add", ADD, None);
        assert_eq!(status, 200, "{at}: {text}");
        let (status, _, text) = send(&lb, Method::DELETE, at, "/rm", RM, None);
        assert_eq!(status, 200, "{at}: {text}");
    }
    assert_eq!(lb.replicas(), before);
}

#[test]
fn allow_remote_changes_opens_changes_to_other_hosts() {
    let lb = start("  admin:\n    allow_remote_changes: true\n", &[]);
    let [proxy, admin] = ports(&lb, other_address());
    let (status, _, text) = send(&lb, Method::POST, proxy, "/add", ADD, None);
    assert_eq!(status, 200, "{text}");
    assert!(lb.replicas().contains(&"X1".to_string()));
    let (status, _, text) = send(&lb, Method::DELETE, admin, "/rm", RM, None);
    assert_eq!(status, 200, "{text}");
    assert_eq!(lb.replicas().len(), 3);
}

/// Every way to get the token wrong, on both ports, from here and from
/// another host: 401 with the challenge, and nothing changes.
fn assert_token_required(lb: &Ringlb) {
    let before = lb.replicas();
    let wrong = [
        None,
        Some("Bearer".to_string()),
        Some("Bearer wrong-token-0123456789abcdef".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_string()),
    ];
    for ip in [IpAddr::from([127, 0, 0, 1]), other_address()] {
        for at in ports(lb, ip) {
            for auth in &wrong {
                for (method, path, body) in [
                    (Method::POST, "/add", ADD),
                    (Method::DELETE, "/rm", RM),
                    (Method::POST, "/add", "{malformed"),
                ] {
                    let (status, challenge, text) =
                        send(lb, method, at, path, body, auth.as_deref());
                    assert_eq!(
                        (status, text.as_str()),
                        (401, UNAUTHORIZED),
                        "{path} on {at} with {auth:?}"
                    );
                    assert_eq!(challenge.as_deref(), Some("Bearer"));
                }
            }
            let (status, _, _) = send(lb, Method::GET, at, "/rep", "", None);
            assert_eq!(status, 200);
        }
    }
    assert_eq!(lb.replicas(), before);
    assert_eq!(running(lb).len(), before.len());
    // The right token works from anywhere.
    let good = format!("Bearer {TOKEN}");
    let [proxy, admin] = ports(lb, other_address());
    let (status, _, text) = send(lb, Method::POST, proxy, "/add", ADD, Some(&good));
    assert_eq!(status, 200, "{text}");
    let (status, _, text) = send(lb, Method::DELETE, admin, "/rm", RM, Some(&good));
    assert_eq!(status, 200, "{text}");
    assert_eq!(lb.replicas(), before);
}

#[test]
fn with_a_token_from_the_environment_everyone_needs_it() {
    let lb = start("", &[("RINGLB_ADMIN_TOKEN", TOKEN)]);
    assert_token_required(&lb);
    assert!(!lb.log().contains(TOKEN), "the token is in the log");
}

#[test]
fn with_a_token_from_a_file_everyone_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let lb = start(
        &format!("  admin:\n    token_file: {}\n", file.display()),
        &[],
    );
    assert_token_required(&lb);
}

/// `ringlb -t` with `section` and `env`: (exit code, stderr).
fn check(section: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ringlb.yaml");
    std::fs::write(&conf, config(section, "")).unwrap();
    let out = Command::new(bin("ringlb"))
        .arg("-c")
        .arg(&conf)
        .arg("-t")
        .env_remove("RINGLB_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("run ringlb -t");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_token_stops_start_up_with_a_clear_error_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "abc\n").unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, "x".repeat(5000)).unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, TOKEN).unwrap();
    let file = |p: &std::path::Path| format!("  admin:\n    token_file: {}\n", p.display());
    let missing = dir.path().join("absent");
    let long = "y".repeat(1025);
    /// (the `ringlb:` section, the environment, the expected message).
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            String::new(),
            vec![("RINGLB_ADMIN_TOKEN", "short")],
            "RINGLB_ADMIN_TOKEN: the admin token is too short",
        ),
        (
            String::new(),
            vec![("RINGLB_ADMIN_TOKEN", "has space has space 123")],
            "RINGLB_ADMIN_TOKEN: the admin token must be visible ASCII",
        ),
        (
            String::new(),
            vec![("RINGLB_ADMIN_TOKEN", long.as_str())],
            "RINGLB_ADMIN_TOKEN: the admin token is too long",
        ),
        (
            file(&missing),
            vec![],
            "ringlb.admin.token_file: cannot read",
        ),
        (
            file(&short),
            vec![],
            "ringlb.admin.token_file: the admin token is too short",
        ),
        (file(&big), vec![], "is larger than 4096 bytes"),
        (
            file(&good),
            vec![("RINGLB_ADMIN_TOKEN", TOKEN)],
            "set RINGLB_ADMIN_TOKEN or ringlb.admin.token_file, not both",
        ),
        (
            "  admin:\n    token_file: token\n".to_string(),
            vec![],
            "ringlb.admin.token_file: must be an absolute path",
        ),
    ];
    for (section, env, want) in &cases {
        let (code, stderr) = check(section, env);
        assert_eq!(code, Some(2), "{section:?} {env:?}: {stderr}");
        assert!(
            stderr.contains(want),
            "{section:?} {env:?}: {stderr:?}, want {want:?}"
        );
        assert!(!stderr.contains(TOKEN), "the token leaked: {stderr}");
    }
    // Good ones pass -t; an empty variable is no token (docker-compose
    // passes unset variables as empty).
    for (section, env) in [
        (file(&good), vec![]),
        (String::new(), vec![("RINGLB_ADMIN_TOKEN", TOKEN)]),
        (String::new(), vec![("RINGLB_ADMIN_TOKEN", "")]),
    ] {
        let (code, stderr) = check(&section, &env);
        assert_eq!(code, Some(0), "{section:?} {env:?}: {stderr}");
    }
}
