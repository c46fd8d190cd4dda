//! Command line and environment for the replica.
//!
//! Kept dependency-free: three flags do not justify an argument parser.

use std::net::SocketAddr;
use std::time::Duration;

pub const USAGE: &str = "\
usage: ringlb-backend [--listen ADDR] [--id ID] [--threads N] [--delay-ms MS]

  --listen ADDR   address to listen on (default 0.0.0.0:$PORT, PORT defaults to 5000)
  --id ID         identity reported by /home (default $SERVER_ID, else the host name)
  --threads N     worker threads (default 1)
  --announce      print \"listening <ip:port>\" on stdout once bound
  --delay-ms MS   answer /home only after MS milliseconds (0..=600000; tests
                  use it for requests that are still in flight)
  --workers N     with --delay-ms: at most N /home requests are served at
                  once, the others queue (a replica of limited capacity, for
                  the load experiments; default: no limit)

GET /home       -> 200 {\"message\": \"Hello from Server: <ID>\", \"status\": \"successful\"}
GET /heartbeat  -> 200, empty body";

/// Parsed start-up options.
#[derive(Debug)]
pub struct Args {
    pub listen: SocketAddr,
    pub id: String,
    pub threads: usize,
    pub help: bool,
    /// Print `listening <addr>` on stdout once bound (for ringlb's process
    /// provisioner, which starts replicas on port 0).
    pub announce: bool,
    /// How long `/home` waits before answering (heartbeats never wait).
    pub delay: Duration,
    /// At most this many delayed `/home` answers at once (`None`: no limit).
    pub workers: Option<usize>,
}

impl Args {
    /// Reads flags from `std::env::args` and defaults from `SERVER_ID` and `PORT`.
    pub fn from_env() -> Result<Args, String> {
        Self::parse(std::env::args().skip(1), |k| std::env::var(k).ok())
    }

    /// Flags from `flags`, defaults from the variables `var` looks up.
    pub fn parse(
        flags: impl IntoIterator<Item = String>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Args, String> {
        let port = match var("PORT") {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("PORT must be a port number, got {p:?}"))?,
            None => 5000,
        };
        let id = var("SERVER_ID")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(default_id);
        let mut args = Args {
            listen: SocketAddr::from(([0, 0, 0, 0], port)),
            id,
            threads: 1,
            help: false,
            announce: false,
            delay: Duration::ZERO,
            workers: None,
        };
        let mut it = flags.into_iter();
        while let Some(flag) = it.next() {
            let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match flag.as_str() {
                "--listen" => {
                    let v = value("--listen")?;
                    args.listen = v
                        .parse()
                        .map_err(|_| format!("--listen must be ip:port, got {v:?}"))?;
                }
                "--id" => args.id = value("--id")?,
                "--threads" => {
                    let v = value("--threads")?;
                    args.threads =
                        v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            format!("--threads must be a positive number, got {v:?}")
                        })?;
                }
                "--announce" => args.announce = true,
                "--delay-ms" => {
                    let v = value("--delay-ms")?;
                    let ms = v
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| *ms <= 600_000)
                        .ok_or_else(|| {
                            format!("--delay-ms must be 0..=600000 milliseconds, got {v:?}")
                        })?;
                    args.delay = Duration::from_millis(ms);
                }
                "--workers" => {
                    let v = value("--workers")?;
                    args.workers = Some(v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        format!("--workers must be a positive number, got {v:?}")
                    })?);
                }
                "-h" | "--help" => args.help = true,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

fn default_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::Args;

    fn parse(flags: &[&str], vars: &[(&str, &str)]) -> Result<Args, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Args::parse(flags.iter().map(|f| f.to_string()), |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn port_defaults_to_5000_and_comes_from_port() {
        assert_eq!(parse(&[], &[]).unwrap().listen.to_string(), "0.0.0.0:5000");
        assert_eq!(
            parse(&[], &[("PORT", "8081")]).unwrap().listen.to_string(),
            "0.0.0.0:8081"
        );
        let flag = parse(&["--listen", "127.0.0.1:9"], &[("PORT", "8081")]).unwrap();
        assert_eq!(flag.listen.to_string(), "127.0.0.1:9");
    }

    #[test]
    fn bad_values_are_errors() {
        assert_eq!(
            parse(&[], &[("PORT", "http")]).unwrap_err(),
            r#"PORT must be a port number, got "http""#
        );
        assert!(parse(&["--threads", "0"], &[]).is_err());
        assert!(parse(&["--listen"], &[]).is_err());
        assert_eq!(
            parse(&["--delay-ms", "600001"], &[]).unwrap_err(),
            r#"--delay-ms must be 0..=600000 milliseconds, got "600001""#
        );
        assert!(parse(&["--delay-ms", "-1"], &[]).is_err());
        assert!(parse(&["--delay-ms", "soon"], &[]).is_err());
        assert!(parse(&["--delay-ms"], &[]).is_err());
        assert_eq!(
            parse(&["--delay-ms", "250"], &[]).unwrap().delay,
            std::time::Duration::from_millis(250)
        );
        assert_eq!(parse(&["--workers", "3"], &[]).unwrap().workers, Some(3));
        assert!(parse(&["--workers", "0"], &[]).is_err());
        assert_eq!(
            parse(&["--bogus"], &[]).unwrap_err(),
            r#"unknown argument "--bogus""#
        );
    }

    #[test]
    fn server_id_names_the_replica() {
        assert_eq!(parse(&[], &[("SERVER_ID", "S9")]).unwrap().id, "S9");
        assert_eq!(
            parse(&["--id", "x"], &[("SERVER_ID", "S9")]).unwrap().id,
            "x"
        );
    }
}
