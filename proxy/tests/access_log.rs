//! The access log against the real binary: off by default; when on, one
//! line per request, to a file or to stdout, with the time, client,
//! method, path (no query), status, replica, upstream and total time.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{bin, config, served_by, wait_for, Ringlb};

/// The fields of one logfmt line, the timestamp under `time`.
fn fields(line: &str) -> BTreeMap<String, String> {
    let mut parts = line.split(' ');
    let mut map = BTreeMap::new();
    map.insert("time".to_string(), parts.next().unwrap_or("").to_string());
    for kv in parts {
        let (k, v) = kv
            .split_once('=')
            .unwrap_or_else(|| panic!("{kv:?} in {line:?}"));
        map.insert(k.to_string(), v.to_string());
    }
    map
}

fn lines_in(text: &str) -> Vec<BTreeMap<String, String>> {
    text.lines()
        .filter(|l| l.contains(" client=") && l.contains(" total_ms="))
        .map(fields)
        // The harness's own readiness request is not the test's.
        .filter(|f| f.get("path").map(String::as_str) != Some(ringlb_harness::READY_PATH))
        .collect()
}

#[test]
fn a_file_gets_one_line_per_request_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let began = SystemTime::now();
    let lb = Ringlb::start(&format!(
        "  ring:\n    vnodes: 256\n  access_log:\n    enabled: true\n    path: {}\n",
        path.display()
    ));
    let mut served = Vec::new();
    for id in 100_000..100_005 {
        served.push(lb.owner(id));
    }
    let r = lb.http.get(lb.url("/home?token=s3cret")).send().unwrap();
    let via_query = served_by(&r.json().unwrap());
    let r = lb.http.get(lb.url("/nope")).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = lb.http.get(lb.url("/rep")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let lines = wait_for("8 lines", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines = lines_in(&text);
        (lines.len() >= 8).then_some((text, lines))
    });
    let (text, lines) = lines;
    assert_eq!(lines.len(), 8, "{text}");
    assert!(!text.contains("s3cret"), "the query was logged: {text}");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l.len(), 8, "{l:?}");
        assert!(l["client"].starts_with("127.0.0.1:"), "{l:?}");
        assert_eq!(l["method"], "GET");
        let t = ringlb_harness::line_time(&format!("[{} x", l["time"])).expect("a time");
        assert!(
            t + Duration::from_millis(5) >= began && t <= SystemTime::now(),
            "{l:?}"
        );
        let total: f64 = l["total_ms"].parse().unwrap();
        if i < 6 {
            let who = if i < 5 { &served[i] } else { &via_query };
            assert_eq!((l["path"].as_str(), l["status"].as_str()), ("/home", "200"));
            assert_eq!(&l["replica"], who);
            let upstream: f64 = l["upstream_ms"].parse().unwrap();
            assert!(upstream > 0.0 && upstream <= total, "{l:?}");
        } else {
            let (path, status) = if i == 6 {
                ("/nope", "400")
            } else {
                ("/rep", "200")
            };
            assert_eq!((l["path"].as_str(), l["status"].as_str()), (path, status));
            assert_eq!(
                (l["replica"].as_str(), l["upstream_ms"].as_str()),
                ("-", "-")
            );
            assert!(total >= 0.0);
        }
    }
}

#[test]
fn stdout_when_on_and_nothing_by_default() {
    let lb = Ringlb::start("  access_log:\n    enabled: true\n    path: stdout\n");
    let who = lb.owner(123_456);
    let line = wait_for("a line on stdout", Duration::from_secs(5), || {
        lines_in(&lb.log()).into_iter().next()
    });
    assert_eq!(line["path"], "/home");
    assert_eq!(line["replica"], who);

    let quiet = Ringlb::start("");
    quiet.owner(123_456);
    // The request is answered before it is logged: wait for its metrics
    // (counted in the same phase) before looking at the log.
    wait_for("the request counted", Duration::from_secs(5), || {
        quiet
            .metrics()
            .contains("ringlb_requests_total{")
            .then_some(())
    });
    assert!(lines_in(&quiet.log()).is_empty(), "{}", quiet.log());
}

#[test]
fn a_log_that_cannot_be_opened_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ringlb.yaml");
    let section = "  access_log:\n    enabled: true\n    path: /nonexistent-ringlb-dir/a.log\n";
    std::fs::write(&conf, config(section, "")).unwrap();
    let out = Command::new(bin("ringlb"))
        .arg("-c")
        .arg(&conf)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .output()
        .expect("run ringlb");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "ringlb.access_log.path: cannot open /nonexistent-ringlb-dir/a.log: No such file or directory"
        ),
        "{stderr}"
    );
}
