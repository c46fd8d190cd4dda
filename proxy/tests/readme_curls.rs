//! Every `curl` in the README and in the seed assignment's README, run as
//! written (only `localhost:5000`/`localhost:5050` point at this test's
//! ringlb), in document order against one ringlb each, with the status and
//! the exact bytes of every answer checked.
//!
//! The commands are read from the documents themselves, so a README edit
//! that breaks a command, or adds one, is caught here. Commands that send
//! `$RINGLB_ADMIN_TOKEN` run against a ringlb started with that token (and
//! with it in their shell), as the README's Security section says.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bin, config, Ringlb};
use ringlb_harness::Launch;
use serde_json::Value;

const CONF: &str = "  ring:\n    slots: 9223372036854775808\n    vnodes: 256\n    family: strong\n";

/// The `curl` commands of a Markdown file's shell code blocks (```sh or
/// ```bash; a diagram's plain block is not a command), continuation lines
/// joined, trailing `# comments` dropped.
fn curls(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_code = !in_code && matches!(lang.trim(), "sh" | "bash" | "shell");
            continue;
        }
        if !in_code {
            continue;
        }
        if !pending.is_empty() {
            pending.push(' ');
            pending.push_str(trimmed.trim_end_matches('\\').trim());
            if !trimmed.ends_with('\\') {
                out.push(std::mem::take(&mut pending));
            }
            continue;
        }
        if !trimmed.starts_with("curl ") {
            continue;
        }
        // A comment starts at " # " outside quotes; the commands here hold
        // no " # " inside quotes.
        let command = trimmed.split(" # ").next().unwrap_or(trimmed).trim();
        if let Some(head) = command.strip_suffix('\\') {
            pending = head.trim().to_string();
        } else {
            out.push(command.to_string());
        }
    }
    out
}

/// The token the Security section's commands run with.
const TOKEN: &str = "readme-token-0123456789abcdef";

/// Runs one command against `lb`; (status, body).
fn run(lb: &Ringlb, command: &str, token: Option<&str>) -> (u16, String) {
    let line = command
        .replace("localhost:5000", &format!("localhost:{}", lb.port))
        .replace("localhost:5050", &format!("localhost:{}", lb.admin_port));
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{line} -sS -w '\\n%{{http_code}}'"))
        .env("RINGLB_ADMIN_TOKEN", token.unwrap_or(""))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.parse().expect("status"), body.to_string())
}

/// The exact `/rep`-shaped answer for `replicas`.
fn listing(replicas: &[String]) -> String {
    let names: Vec<String> = replicas.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        r#"{{"message": {{"N": {}, "replicas": [{}]}}, "status": "successful"}}"#,
        replicas.len(),
        names.join(", ")
    )
}

/// The hostnames in an `/add` or `/rm` command's JSON body.
fn body_hostnames(command: &str) -> (usize, Vec<String>) {
    let start = command.find("-d '").expect("a -d body") + 4;
    let end = start + command[start..].find('\'').expect("closing quote");
    let v: Value = serde_json::from_str(&command[start..end]).expect("JSON body");
    let n = v["n"].as_u64().expect("n") as usize;
    let names = v["hostnames"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (n, names)
}

/// Runs `commands` in order, checking each answer against a model of the
/// replica list; with `token`, ringlb requires it for changes.
fn run_all(commands: &[String], token: Option<&str>) {
    let mut launch = Launch::new(bin("ringlb"), config(CONF, ""));
    if let Some(t) = token {
        launch.env.push(("RINGLB_ADMIN_TOKEN".into(), t.into()));
    }
    let lb = Ringlb::launch(launch);
    let mut replicas = lb.replicas();
    let mut owner_of_123456: Option<String> = None;
    for command in commands {
        let (status, body) = run(&lb, command, token);
        assert_eq!(status, 200, "{command}: {body}");
        if command.contains("/add") {
            let (n, names) = body_hostnames(command);
            let before = replicas.len();
            replicas = lb.replicas();
            assert_eq!(replicas.len(), before + n, "{command}");
            assert!(names.iter().all(|h| replicas.contains(h)), "{command}");
            assert_eq!(body, listing(&replicas), "{command}");
        } else if command.contains("/rm") {
            let (n, names) = body_hostnames(command);
            let before = replicas.len();
            replicas.retain(|r| !names.contains(r));
            assert_eq!(before - replicas.len(), n, "{command}: the model");
            assert_eq!(body, listing(&replicas), "{command}");
        } else if command.contains("/metrics") {
            assert!(
                body.contains("# TYPE ringlb_requests_total counter"),
                "{body}"
            );
        } else if command.contains("verbose=1") {
            let v: Value = serde_json::from_str(&body).expect("JSON");
            assert_eq!(v["status"], "successful");
            let details = v["message"]["details"].as_array().expect("details");
            let hosts: Vec<&str> = details
                .iter()
                .map(|d| d["hostname"].as_str().unwrap())
                .collect();
            assert_eq!(
                hosts,
                replicas.iter().map(String::as_str).collect::<Vec<_>>()
            );
            for d in details {
                for field in ["address", "state", "last_heartbeat_ms", "restarts"] {
                    assert!(!d[field].is_null(), "{field} missing in {d}");
                }
                assert_eq!(d["state"], "up");
            }
            let mut ring = common::strings(&v["message"]["ring"]);
            ring.sort();
            let mut want = replicas.clone();
            want.sort();
            assert_eq!(ring, want);
        } else if command.contains("/rep") || command.contains("/get") {
            assert_eq!(body, listing(&replicas), "{command}");
        } else if command.contains("/home") {
            let v: Value = serde_json::from_str(&body).expect("JSON");
            let who = common::served_by(&v);
            assert!(replicas.contains(&who), "{command}: {who}");
            assert_eq!(
                body,
                format!(r#"{{"message": "Hello from Server: {who}", "status": "successful"}}"#)
            );
            if command.contains("X-Request-Id: 123456") {
                // Same id, same replica, as the README says.
                let again = run(&lb, command, token).1;
                assert_eq!(again, body, "{command}");
                owner_of_123456 = Some(who);
            }
        } else {
            panic!("no check for {command}");
        }
    }
    if commands.iter().any(|c| c.contains("X-Request-Id")) {
        assert!(owner_of_123456.is_some());
    }
}

fn document(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_seed_readme_curls_work_verbatim() {
    // The assignment's README travels with the repo (docs/seed), so a clone
    // anywhere runs this test; where the team's shared copy sits beside
    // the checkout, the two must not have drifted apart.
    let seed = document("../docs/seed/README-seed.md");
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed/README-seed.md");
    if let Ok(original) = std::fs::read_to_string(&shared) {
        assert_eq!(
            seed,
            original,
            "docs/seed/README-seed.md differs from {}",
            shared.display()
        );
    }
    let commands = curls(&seed);
    assert_eq!(commands.len(), 3, "{commands:#?}");
    run_all(&commands, None);
}

#[test]
fn the_readme_curls_work_verbatim() {
    let commands = curls(&document("../README.md"));
    // Quick start (3), admin API (4), docker deployment (3), metrics (1),
    // security (2, with the token).
    assert_eq!(commands.len(), 13, "{commands:#?}");
    assert!(commands.iter().any(|c| c.contains("X-Request-Id: 123456")));
    assert!(commands.iter().any(|c| c.contains("verbose=1")));
    let (with_token, plain): (Vec<String>, Vec<String>) = commands
        .into_iter()
        .partition(|c| c.contains("$RINGLB_ADMIN_TOKEN"));
    assert_eq!(with_token.len(), 2, "{with_token:#?}");
    run_all(&plain, None);
    run_all(&with_token, Some(TOKEN));
    // Without the token, the same commands are refused.
    let lb = Ringlb::launch({
        let mut l = Launch::new(bin("ringlb"), config(CONF, ""));
        l.env.push(("RINGLB_ADMIN_TOKEN".into(), TOKEN.into()));
        l
    });
    for command in &with_token {
        let (status, body) = run(&lb, command, Some("not-the-token-0123456789"));
        assert_eq!(status, 401, "{command}: {body}");
    }
}

#[test]
fn curl_extraction_joins_continuations_and_drops_comments() {
    let md = "```\ncurl -> diagram\n```\ntext\n```sh\ncurl -X POST \\\n     -d '{\"n\": 1}' http://localhost:5000/add\ncurl http://x/rep   # note\n```\ncurl outside\n";
    assert_eq!(
        curls(md),
        [
            "curl -X POST -d '{\"n\": 1}' http://localhost:5000/add",
            "curl http://x/rep"
        ]
    );
}
