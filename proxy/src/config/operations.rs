//! The operational keys: who may change the fleet (`ringlb.admin.
//! token_file`, `allow_remote_changes`) and the access log
//! (`ringlb.access_log`). Validated here, used by `admin/` and `proxy/`.

use std::path::PathBuf;

use super::file::{AccessLogFile, AdminFile};
use super::settings::{bad, Invalid};

/// Longest accepted path (Linux's PATH_MAX).
const MAX_PATH: usize = 4096;

/// Where access log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogTarget {
    Stdout,
    /// Appended to (created if missing).
    File(PathBuf),
}

impl std::fmt::Display for AccessLogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccessLogTarget::Stdout => f.write_str("stdout"),
            AccessLogTarget::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Who may change the fleet, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessSettings {
    /// The file the admin token is read from (the token is read by
    /// [`super::Settings::load`], never kept as text in the settings).
    pub token_file: Option<PathBuf>,
    /// Without a token, accept `/add` and `/rm` from other hosts too.
    pub allow_remote_changes: bool,
}

fn absolute_path(key: &str, value: &str) -> Result<PathBuf, Invalid> {
    if value.len() > MAX_PATH || value.contains('\0') {
        return Err(bad(
            key,
            format!("must be a path of at most {MAX_PATH} bytes without NUL"),
        ));
    }
    let path = PathBuf::from(value);
    if !path.is_absolute() {
        return Err(bad(key, format!("must be an absolute path, got {value:?}")));
    }
    Ok(path)
}

pub(super) fn access(f: &AdminFile) -> Result<AccessSettings, Invalid> {
    Ok(AccessSettings {
        token_file: f
            .token_file
            .as_deref()
            .map(|p| absolute_path("admin.token_file", p))
            .transpose()?,
        allow_remote_changes: f.allow_remote_changes.unwrap_or(false),
    })
}

/// `None` when the access log is off (the default).
pub(super) fn access_log(f: AccessLogFile) -> Result<Option<AccessLogTarget>, Invalid> {
    let target = match f.path.as_deref() {
        None | Some("stdout") => AccessLogTarget::Stdout,
        Some(p) => AccessLogTarget::File(
            absolute_path("access_log.path", p)
                .map_err(|(k, m)| (k, format!("{m} (or stdout)")))?,
        ),
    };
    Ok(f.enabled.unwrap_or(false).then_some(target))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::super::{ConfigError, Settings};
    use super::*;

    fn parse(yaml: &str) -> Result<Settings, ConfigError> {
        Settings::from_yaml(yaml, "test.yaml")
    }

    /// The error for `yaml`, which must name `key` (after the file name).
    fn why(yaml: &str, key: &str) -> String {
        let e = parse(yaml).unwrap_err().to_string();
        let prefix = format!("test.yaml: {key}: ");
        assert!(e.starts_with(&prefix), "{yaml:?} -> {e:?}, want {prefix:?}");
        e[prefix.len()..].to_string()
    }

    #[test]
    fn defaults_are_off_and_local() {
        let s = parse("version: 1\n").unwrap();
        assert_eq!(s.access_log, None);
        assert_eq!(s.admin.access, AccessSettings::default());
        assert!(s.admin.token.is_none());
        assert_eq!(s.replicas.drain_timeout, Duration::from_secs(10));
    }

    #[test]
    fn good_values() {
        let s = parse(
            "ringlb:\n  access_log:\n    enabled: true\n  admin:\n    token_file: /run/secrets/t\n    allow_remote_changes: true\n  replicas:\n    drain_timeout_ms: 0\n",
        )
        .unwrap();
        assert_eq!(s.access_log, Some(AccessLogTarget::Stdout));
        assert_eq!(
            s.admin.access.token_file.as_deref(),
            Some(Path::new("/run/secrets/t"))
        );
        assert!(s.admin.access.allow_remote_changes);
        assert_eq!(s.replicas.drain_timeout, Duration::ZERO);
        let s =
            parse("ringlb:\n  access_log:\n    enabled: true\n    path: /var/log/a.log\n").unwrap();
        assert_eq!(
            s.access_log,
            Some(AccessLogTarget::File("/var/log/a.log".into()))
        );
        let s = parse("ringlb:\n  access_log:\n    enabled: false\n    path: stdout\n").unwrap();
        assert_eq!(s.access_log, None);
    }

    #[test]
    fn malformed_missing_oversized_and_out_of_range_values() {
        let long = format!("/{}", "x".repeat(MAX_PATH));
        for (yaml, key, needle) in [
            (
                "ringlb:\n  access_log:\n    enabled: yes please\n",
                "ringlb.access_log.enabled",
                "invalid type",
            ),
            (
                "ringlb:\n  access_log:\n    enabled: true\n    path: logs/a.log\n",
                "ringlb.access_log.path",
                "absolute path",
            ),
            (
                "ringlb:\n  access_log:\n    enabled: true\n    path: ''\n",
                "ringlb.access_log.path",
                "absolute path",
            ),
            (
                "ringlb:\n  access_log:\n    enabled: true\n    path: [a]\n",
                "ringlb.access_log.path",
                "invalid type",
            ),
            (
                "ringlb:\n  access_log:\n    file: /x\n",
                "ringlb.access_log",
                "unknown field `file`",
            ),
            (
                "ringlb:\n  admin:\n    token_file: token.txt\n",
                "ringlb.admin.token_file",
                "absolute path",
            ),
            (
                "ringlb:\n  admin:\n    token_file: ''\n",
                "ringlb.admin.token_file",
                "absolute path",
            ),
            (
                "ringlb:\n  admin:\n    token: s3cret\n",
                "ringlb.admin",
                "unknown field `token`",
            ),
            (
                "ringlb:\n  admin:\n    allow_remote_changes: maybe\n",
                "ringlb.admin.allow_remote_changes",
                "invalid type",
            ),
            (
                "ringlb:\n  replicas:\n    drain_timeout_ms: 3600001\n",
                "ringlb.replicas.drain_timeout_ms",
                "must be 0..=3600000 ms",
            ),
            (
                "ringlb:\n  replicas:\n    drain_timeout_ms: -1\n",
                "ringlb.replicas.drain_timeout_ms",
                "invalid type: integer `-1`",
            ),
            (
                "ringlb:\n  replicas:\n    drain_timeout_ms: soon\n",
                "ringlb.replicas.drain_timeout_ms",
                "invalid type",
            ),
        ] {
            let w = why(yaml, key);
            assert!(w.contains(needle), "{yaml:?} -> {w:?}, want {needle:?}");
        }
        for key in ["access_log.path", "admin.token_file"] {
            let (section, name) = key.split_once('.').unwrap();
            let extra = if section == "access_log" {
                "    enabled: true\n"
            } else {
                ""
            };
            let yaml = format!("ringlb:\n  {section}:\n{extra}    {name}: {long}\n");
            assert!(why(&yaml, &format!("ringlb.{key}")).contains("at most 4096 bytes"));
        }
    }

    #[test]
    fn a_token_file_that_cannot_be_read_names_the_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("ringlb.yaml");
        let token = dir.path().join("absent");
        std::fs::write(
            &conf,
            format!("ringlb:\n  admin:\n    token_file: {}\n", token.display()),
        )
        .unwrap();
        let e = Settings::load(&conf).unwrap_err().to_string();
        let want = format!(
            "{}: ringlb.admin.token_file: cannot read {}",
            conf.display(),
            token.display()
        );
        assert!(e.starts_with(&want), "{e:?}, want {want:?}");
    }
}
