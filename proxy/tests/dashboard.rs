//! The live dashboard in a real browser: Debian's Chromium, headless, loads
//! `http://<admin>/dashboard` from a running ringlb, lets its script poll
//! `/dashboard/state`, and the test reads the page it rendered (the DOM
//! after the script ran): every replica's row with its request count, then,
//! after an `/add`, the new replica too. A screenshot is saved for a person
//! to look at (its path is printed).
//!
//! `make test` installs `chromium` when it is missing (`make test-deps`);
//! without it this test fails, saying so.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Ringlb;

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            }
        }
    }
    panic!("no chromium found: `make test-deps` installs Debian's chromium");
}

/// Chromium headless with a profile of its own, `args` added; its stdout.
fn browse(args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            // Lets the page's script fetch and render before the dump.
            "--virtual-time-budget=4000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (replica, requests) for every row the page rendered.
fn rows(dom: &str) -> Vec<(String, u64)> {
    dom.split("<tr data-replica=\"")
        .skip(1)
        .filter_map(|row| {
            let name = row.split('"').next()?.to_string();
            let count = row
                .split("data-requests=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()?;
            Some((name, count))
        })
        .collect()
}

#[test]
fn the_dashboard_shows_the_replicas_and_follows_an_add_in_a_real_browser() {
    let lb = Ringlb::start("  ring:\n    vnodes: 64\n");
    let sent = 40u64;
    for id in 0..sent {
        assert_eq!(lb.home(300_000 + id * 7_919).0, 200);
    }
    let page = lb.admin("/dashboard");

    let dom = browse(&["--dump-dom"], &page);
    let shown = rows(&dom);
    let names: Vec<&str> = shown.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["replica1", "replica2", "replica3"], "{dom}");
    assert_eq!(shown.iter().map(|r| r.1).sum::<u64>(), sent, "{shown:?}");
    assert!(dom.contains("data-arc=\"replica2\""), "no ring arcs drawn");
    assert!(dom.contains("3 replicas, 40 requests served"), "{dom}");

    let (status, body) = lb.change(
        reqwest::Method::POST,
        "/add",
        r#"{"n": 1, "hostnames": ["Server9"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let dom = browse(&["--dump-dom"], &page);
    let names: Vec<String> = rows(&dom).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["replica1", "replica2", "replica3", "Server9"]);
    assert!(
        dom.contains("data-arc=\"Server9\""),
        "the new replica has no arcs"
    );

    let shot: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    browse(
        &[
            "--window-size=1280,600",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    eprintln!("dashboard screenshot: {}", shot.display());
    // Nothing on the page came from elsewhere: it holds no external URL.
    let html = reqwest::blocking::get(&page)
        .expect("page")
        .text()
        .expect("text");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference in the page"
    );
}
