//! Finding the `ringlb` and `ringlb-backend` executables.
//!
//! Cargo puts every binary of the workspace in one directory
//! (`target/debug` or `target/release`), so the default is the directory of
//! the running `ringlb-load`: a debug load generator drives a debug ringlb,
//! a release one a release ringlb.

use std::path::{Path, PathBuf};

use super::ClusterError;

/// The executables an experiment starts.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub ringlb: PathBuf,
    /// Written into the config as `ringlb.replicas.binary` when set;
    /// otherwise ringlb looks next to itself.
    pub backend: Option<PathBuf>,
}

impl Binaries {
    /// `--ringlb` / `--backend` if given, else the files next to this
    /// executable.
    pub fn locate(ringlb: Option<PathBuf>, backend: Option<PathBuf>) -> Result<Self, ClusterError> {
        let here = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let ringlb = ringlb.unwrap_or_else(|| here.join("ringlb"));
        if !ringlb.is_file() {
            return Err(ClusterError::MissingBinary(ringlb.display().to_string()));
        }
        let backend = match backend {
            Some(b) if b.is_file() => Some(absolute(&b)),
            Some(b) => return Err(ClusterError::MissingBinary(b.display().to_string())),
            None => {
                let next_to_ringlb = ringlb.with_file_name("ringlb-backend");
                if !next_to_ringlb.is_file() {
                    return Err(ClusterError::MissingBinary(
                        next_to_ringlb.display().to_string(),
                    ));
                }
                None
            }
        };
        Ok(Binaries { ringlb, backend })
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
