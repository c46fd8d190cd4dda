//! Reading ringlb's log: when a line was written. ringlb logs with
//! millisecond UTC timestamps (`[2026-11-27T03:44:41.503Z INFO  target] ...`),
//! so a test can take the time of an event from ringlb's own word instead of
//! a poller that a busy machine delays.

use std::time::{Duration, SystemTime};

/// The time of the first line of `log` that contains `needle`.
pub fn logged_at(log: &str, needle: &str) -> Option<SystemTime> {
    log.lines().find(|l| l.contains(needle)).and_then(line_time)
}

/// The timestamp at the start of one log line.
pub fn line_time(line: &str) -> Option<SystemTime> {
    let stamp = line.strip_prefix('[')?.split_whitespace().next()?;
    let stamp = stamp.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, millis) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    let days = u64::try_from(days_from_civil(y, m, day)).ok()?;
    let secs = days * 86_400 + h * 3_600 + min * 60 + s;
    let millis: u64 = millis.parse().ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_millisecond_stamps() {
        let t = line_time("[2026-11-27T03:44:41.503Z INFO  ringlb] x").unwrap();
        let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        // date -u -d 2026-11-27T03:44:41Z +%s
        assert_eq!(since, Duration::from_millis(1_795_751_081_503));
        assert!(line_time("[2026-11-27T03:44:41Z INFO  x] y").is_some());
        assert!(line_time("no stamp").is_none());
        let log = "[1970-01-01T00:00:01.000Z I a] one\n[1970-01-01T00:00:02.500Z I a] two\n";
        assert_eq!(
            logged_at(log, "two"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_millis(2500))
        );
    }
}
