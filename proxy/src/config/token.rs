//! The admin token: a secret that `/add` and `/rm` must present as
//! `Authorization: Bearer <token>` once one is configured.
//!
//! It never sits in the YAML file (config files get committed, copied and
//! pasted into issues): it comes from the environment (`RINGLB_ADMIN_TOKEN`)
//! or from a file the YAML names (`ringlb.admin.token_file`, e.g. a Docker
//! or Kubernetes secret), read once at start-up. Its `Debug` prints no
//! secret, and the only thing it can do is compare itself, in constant time,
//! with what a caller sent.

use std::io::Read;
use std::path::Path;

use subtle::ConstantTimeEq;

/// The environment variable that holds the token.
pub const TOKEN_ENV: &str = "RINGLB_ADMIN_TOKEN";

/// Shortest accepted token: a guessable one would protect nothing.
pub const MIN_TOKEN: usize = 16;
/// Longest accepted token (it travels in a header).
pub const MAX_TOKEN: usize = 1024;
/// Largest token file read (the token plus a trailing newline, with room).
const MAX_FILE: u64 = 4096;

/// A validated admin token.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(Box<[u8]>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// Checks a token's shape: 16 to 1024 visible ASCII characters, no
    /// spaces (it must fit in `Authorization: Bearer <token>` as is).
    pub fn parse(value: &[u8]) -> Result<AdminToken, String> {
        if value.len() < MIN_TOKEN {
            return Err(format!(
                "the admin token is too short: {} characters, at least {MIN_TOKEN} are needed",
                value.len()
            ));
        }
        if value.len() > MAX_TOKEN {
            return Err(format!(
                "the admin token is too long: {} characters, at most {MAX_TOKEN}",
                value.len()
            ));
        }
        if let Some(pos) = value.iter().position(|b| !b.is_ascii_graphic()) {
            return Err(format!(
                "the admin token must be visible ASCII without spaces; character {} is not",
                pos + 1
            ));
        }
        Ok(AdminToken(value.into()))
    }

    /// Whether `candidate` is this token; the time taken does not depend
    /// on where the two first differ.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        self.0.ct_eq(candidate).into()
    }
}

/// Where a token problem is: the environment variable or the config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env,
    File,
}

/// Resolves the token from the environment's value (`env`; empty counts
/// as unset, as docker-compose passes an unset variable) and the configured
/// file. Both at once is an error: which one wins would be a guess.
pub fn resolve(
    env: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<AdminToken>, (TokenSource, String)> {
    let env = env.filter(|v| !v.is_empty());
    match (env, file) {
        (Some(_), Some(_)) => Err((
            TokenSource::File,
            format!("the admin token is given twice: set {TOKEN_ENV} or ringlb.admin.token_file, not both"),
        )),
        (Some(v), None) => AdminToken::parse(v.as_bytes())
            .map(Some)
            .map_err(|m| (TokenSource::Env, m)),
        (None, Some(path)) => read_file(path)
            .and_then(|bytes| AdminToken::parse(&bytes))
            .map(Some)
            .map_err(|m| (TokenSource::File, m)),
        (None, None) => Ok(None),
    }
}

/// The file's contents without surrounding whitespace (`echo` adds a
/// newline); refuses files over 4 KiB without reading them whole.
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{} is larger than {MAX_FILE} bytes: not a token file",
            path.display()
        ));
    }
    warn_if_readable_by_others(path);
    Ok(bytes.trim_ascii().to_vec())
}

fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o044 != 0 {
            log::warn!(
                "admin token file {} is readable by group or others (chmod 600 it)",
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "0123456789abcdef-token";

    #[test]
    fn shapes() {
        assert!(AdminToken::parse(GOOD.as_bytes()).is_ok());
        assert!(AdminToken::parse(&[b'x'; MAX_TOKEN]).is_ok());
        for (bad, why) in [
            (&b""[..], "too short"),
            (b"short", "too short"),
            (&[b'x'; MAX_TOKEN + 1], "too long"),
            (b"0123456789 abcdef", "character 11 is not"),
            ("0123456789abcdefé".as_bytes(), "visible ASCII"),
        ] {
            let e = AdminToken::parse(bad).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn matches_only_itself_and_hides_in_debug() {
        let t = AdminToken::parse(GOOD.as_bytes()).unwrap();
        assert!(t.matches(GOOD.as_bytes()));
        assert!(!t.matches(b"0123456789abcdef-tokeN"));
        assert!(!t.matches(b"0123456789abcdef-toke"));
        assert!(!t.matches(b""));
        assert_eq!(format!("{t:?}"), "AdminToken(<redacted>)");
    }

    #[test]
    fn from_env_or_file_not_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, format!("{GOOD}\n")).unwrap();
        assert_eq!(resolve(None, None), Ok(None));
        assert_eq!(resolve(Some(""), None), Ok(None));
        let from_env = resolve(Some(GOOD), None).unwrap().unwrap();
        let from_file = resolve(None, Some(&path)).unwrap().unwrap();
        assert_eq!(from_env, from_file);
        let (src, why) = resolve(Some(GOOD), Some(&path)).unwrap_err();
        assert_eq!(src, TokenSource::File);
        assert!(why.contains("not both"), "{why}");
        assert_eq!(
            resolve(Some("short"), None).unwrap_err().0,
            TokenSource::Env
        );
    }

    #[test]
    fn file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent");
        let (src, why) = resolve(None, Some(&missing)).unwrap_err();
        assert_eq!(src, TokenSource::File);
        assert!(why.starts_with("cannot read "), "{why}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 5000]).unwrap();
        assert!(resolve(None, Some(&big)).unwrap_err().1.contains("larger"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(resolve(None, Some(&empty))
            .unwrap_err()
            .1
            .contains("too short"));
    }
}
