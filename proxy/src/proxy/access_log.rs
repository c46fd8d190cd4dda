//! The access log: one line per request, off by default
//! (`ringlb.access_log`), to stdout or appended to a file.
//!
//! A line is built whole and written with one `write` under a lock, so
//! lines from the proxy's threads never interleave and a crash loses none
//! that was counted as done. It reads as logfmt, every field always there
//! (`-` when it does not apply):
//!
//! ```text
//! 2026-11-27T04:10:00.123Z client=127.0.0.1:53422 method=GET path=/home status=200 replica=replica2 upstream_ms=0.412 total_ms=0.533
//! ```
//!
//! `status=-`: no response was sent (the client left first). `upstream_ms`
//! runs from the first replica picked to the response header of the one
//! that answered (failovers included); `total_ms` from the request's header
//! to the end of the response. The path is written without its query (keys
//! and tokens travel there), bytes outside visible ASCII and `"`, `\` as
//! `%XX`.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{LineWriter, Write};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::AccessLogTarget;

/// One request, as logged.
#[derive(Debug)]
pub struct Entry<'a> {
    pub at: SystemTime,
    pub client: Option<SocketAddr>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: Option<u16>,
    pub replica: Option<&'a str>,
    pub upstream: Option<Duration>,
    pub total: Duration,
}

/// Where lines go.
pub struct AccessLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

impl AccessLog {
    /// Opens the target (a file is created if missing and appended to).
    pub fn open(target: &AccessLogTarget) -> std::io::Result<AccessLog> {
        let out: Box<dyn Write + Send> = match target {
            AccessLogTarget::Stdout => Box::new(std::io::stdout()),
            AccessLogTarget::File(path) => Box::new(LineWriter::new(
                OpenOptions::new().create(true).append(true).open(path)?,
            )),
        };
        Ok(AccessLog {
            out: Mutex::new(out),
        })
    }

    /// Writes one line; a failed write is reported, never fatal.
    pub fn write(&self, e: &Entry<'_>) {
        let line = format_line(e);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = out.write_all(line.as_bytes()) {
            log::warn!("access log: cannot write: {err}");
        }
    }
}

/// The line for `e`, newline included.
pub fn format_line(e: &Entry<'_>) -> String {
    let mut s = String::with_capacity(160);
    utc_millis(&mut s, e.at);
    let _ = match e.client {
        Some(c) => write!(s, " client={c}"),
        None => write!(s, " client=-"),
    };
    let _ = write!(s, " method={} path=", e.method);
    escape_into(&mut s, e.path);
    let _ = match e.status {
        Some(code) => write!(s, " status={code}"),
        None => write!(s, " status=-"),
    };
    s.push_str(" replica=");
    s.push_str(e.replica.unwrap_or("-"));
    s.push_str(" upstream_ms=");
    match e.upstream {
        Some(d) => millis(&mut s, d),
        None => s.push('-'),
    }
    s.push_str(" total_ms=");
    millis(&mut s, e.total);
    s.push('\n');
    s
}

fn millis(s: &mut String, d: Duration) {
    let _ = write!(s, "{:.3}", d.as_secs_f64() * 1000.0);
}

fn escape_into(s: &mut String, path: &str) {
    for b in path.bytes() {
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC) for `at`.
fn utc_millis(s: &mut String, at: SystemTime) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        s,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    );
}

/// Year, month, day of the `days`-th day after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn dates() {
        let fmt = |t| {
            let mut s = String::new();
            utc_millis(&mut s, t);
            s
        };
        assert_eq!(fmt(at(0, 0)), "1970-01-01T00:00:00.000Z");
        // `date -u -d @951782400`: 2000-02-29 (a leap day of a century).
        assert_eq!(fmt(at(951_782_400, 7)), "2000-02-29T00:00:00.007Z");
        assert_eq!(fmt(at(1_795_752_600, 123)), "2026-11-27T04:10:00.123Z");
        assert_eq!(fmt(at(4_107_542_399, 999)), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn a_full_line_and_an_empty_one() {
        let e = Entry {
            at: at(1_795_752_600, 123),
            client: Some("127.0.0.1:53422".parse().unwrap()),
            method: "GET",
            path: "/home",
            status: Some(200),
            replica: Some("replica2"),
            upstream: Some(Duration::from_micros(412)),
            total: Duration::from_micros(533),
        };
        assert_eq!(
            format_line(&e),
            "2026-11-27T04:10:00.123Z client=127.0.0.1:53422 method=GET path=/home status=200 replica=replica2 upstream_ms=0.412 total_ms=0.533\n"
        );
        let e = Entry {
            client: None,
            path: "/a b\"\\é",
            status: None,
            replica: None,
            upstream: None,
            ..e
        };
        assert_eq!(
            format_line(&e),
            "2026-11-27T04:10:00.123Z client=- method=GET path=/a%20b%22%5C%C3%A9 status=- replica=- upstream_ms=- total_ms=0.533\n"
        );
    }
}
