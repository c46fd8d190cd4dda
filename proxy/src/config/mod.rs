//! Configuration: one YAML file holds Pingora's server keys and a `ringlb:`
//! section.
//!
//! Pingora reads its own keys (it ignores ours); this module parses the
//! `ringlb:` section once, strictly (unknown keys are errors), and validates
//! it into [`Settings`]: plain typed values that the rest of the program
//! reads and never re-parses. Every error names the file and the key.

mod docker;
mod file;
mod operations;
mod pingora;
mod settings;
mod token;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use operations::{AccessLogTarget, AccessSettings};
pub use pingora::PingoraKeys;
pub use settings::{
    AdminSettings, KeySource, ReplicaSettings, RingSettings, Settings, UpstreamSettings,
};
pub use token::{AdminToken, TOKEN_ENV};

/// A configuration problem, with enough context to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: String,
        key: String,
        message: String,
    },
    /// A bad value in an environment variable ringlb reads.
    #[error("{var}: {message}")]
    Env { var: &'static str, message: String },
}

impl Settings {
    /// Reads and validates the `ringlb:` section of the file at `path`,
    /// and the admin token (from `RINGLB_ADMIN_TOKEN` or the token file).
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let origin = path.display().to_string();
        let mut settings = Settings::from_yaml(&text, &origin)?;
        let env = match std::env::var(TOKEN_ENV) {
            Ok(v) => Some(v),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ConfigError::Env {
                    var: TOKEN_ENV,
                    message: "the admin token must be visible ASCII without spaces".to_string(),
                })
            }
        };
        settings.admin.token =
            token::resolve(env.as_deref(), settings.admin.access.token_file.as_deref()).map_err(
                |(source, message)| match source {
                    token::TokenSource::Env => ConfigError::Env {
                        var: TOKEN_ENV,
                        message,
                    },
                    token::TokenSource::File => ConfigError::Invalid {
                        path: origin.clone(),
                        key: "ringlb.admin.token_file".to_string(),
                        message,
                    },
                },
            )?;
        Ok(settings)
    }

    /// Parses and validates YAML text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Settings, ConfigError> {
        let root: file::FileRoot = serde_yaml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_string(),
            message: describe_yaml_error(&e),
        })?;
        let mut settings =
            settings::validate(root.ringlb.unwrap_or_default()).map_err(|(key, message)| {
                ConfigError::Invalid {
                    path: origin.to_string(),
                    key,
                    message,
                }
            })?;
        settings.pingora = root.pingora;
        Ok(settings)
    }
}

/// serde_yaml reports the path inside `ringlb:` as a prefix like
/// `ringlb.ring: unknown field ...`; keep that, and the line number.
fn describe_yaml_error(e: &serde_yaml::Error) -> String {
    e.to_string()
}
