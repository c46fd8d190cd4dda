//! The analysis experiments: each starts the ringlb it needs, measures,
//! stops it, and writes a chart and a markdown table.
//!
//! [`Lab`] holds what they share (binaries, configs, request plan, output
//! folder). Every network measurement is also computed offline from the
//! ring for the same ids, and the two are reported side by side: a
//! difference would mean ringlb routes differently from its own ring.

pub mod a1;
pub mod a2;
pub mod a3;
pub mod a4;
pub mod all;
pub mod markdown;
pub mod moves;
pub mod offline;
pub mod skew;
pub mod sweep;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ringlb::ring::Polynomial;
use serde::Serialize;

use crate::chart::{self, Figure};
use crate::cli::LabArgs;
use crate::client::HttpClient;
use crate::cluster::{Binaries, Cluster, ClusterError};
use crate::fire::{fire, Load, Run};
use crate::keys::KeyPlan;
use crate::setup::{parse_poly, server_names, Setup, SetupError, DEFAULT_POLY};

/// Why an experiment failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("{0}")]
    Other(String),
}

/// Shared settings of one experiment command.
pub struct Lab {
    pub bins: Binaries,
    pub conf_dir: PathBuf,
    pub poly: Polynomial,
    pub plan: KeyPlan,
    pub concurrency: usize,
    pub out: PathBuf,
    pub json: bool,
    pub client: HttpClient,
}

impl Lab {
    pub fn new(args: &LabArgs) -> Result<Lab, LabError> {
        let bins = Binaries::locate(args.ringlb.clone(), args.backend.clone())?;
        let poly = match &args.poly {
            Some(p) => parse_poly(p).map_err(LabError::Other)?,
            None => DEFAULT_POLY,
        };
        Ok(Lab {
            bins,
            conf_dir: find_conf_dir(args.conf_dir.clone())?,
            poly,
            plan: KeyPlan::from_flags(args.requests, args.ids, false, args.seed),
            concurrency: args.concurrency.max(1),
            out: args.out.clone(),
            json: args.json,
            client: HttpClient::new(args.concurrency.max(1), Duration::from_secs(10)),
        })
    }

    /// The named family (`spec`, `poly`, `strong`).
    pub fn setup(&self, family: &str) -> Result<Setup, LabError> {
        Ok(Setup::family(family, &self.conf_dir, &self.poly)?)
    }

    /// Starts ringlb for `setup` with `Server1..ServerN`.
    pub async fn start(&self, setup: &Setup, n: usize, fresh: bool) -> Result<Cluster, LabError> {
        let yaml = setup.yaml(&server_names(n), self.bins.backend.as_deref(), fresh)?;
        Ok(Cluster::start(&self.bins, &yaml, n).await?)
    }

    /// Sends the planned keys to `/home` through the cluster's proxy.
    pub async fn fire(&self, cluster: &Cluster, keys: &[Option<u64>]) -> Run {
        let load = Load {
            uri: cluster.proxy_uri("/home"),
            header: Some(http::HeaderName::from_static("x-request-id")),
            keys: keys.to_vec(),
            concurrency: self.concurrency,
            pace: None,
            progress: true,
        };
        fire(&self.client, &load).await
    }

    pub fn img_dir(&self) -> PathBuf {
        self.out.join("img")
    }

    /// Saves a figure as OUT/img/<stem>.{svg,png}.
    pub fn save(&self, figure: &Figure, stem: &str) -> Result<(), LabError> {
        let w = chart::save(figure, &self.img_dir(), stem).map_err(LabError::Other)?;
        eprintln!("chart {} (+ {})", w.png.display(), w.svg.display());
        Ok(())
    }

    /// Writes OUT/<name>.md, and prints it (or `data` as JSON with --json).
    pub fn publish<T: Serialize>(
        &self,
        name: &str,
        markdown: &str,
        data: &T,
    ) -> Result<(), LabError> {
        std::fs::create_dir_all(&self.out)
            .map_err(|e| LabError::Other(format!("create {}: {e}", self.out.display())))?;
        let path = self.out.join(format!("{name}.md"));
        std::fs::write(&path, markdown)
            .map_err(|e| LabError::Other(format!("write {}: {e}", path.display())))?;
        if self.json {
            let text =
                serde_json::to_string_pretty(data).map_err(|e| LabError::Other(e.to_string()))?;
            println!("{text}");
        } else {
            println!("{markdown}");
            eprintln!(
                "wrote {} and charts in {}",
                path.display(),
                self.img_dir().display()
            );
        }
        Ok(())
    }
}

/// `--conf-dir`, else `./conf`, else `conf/` two levels above this
/// executable (`target/<profile>/` sits in the workspace).
pub fn find_conf_dir(given: Option<PathBuf>) -> Result<PathBuf, LabError> {
    let has = |d: &Path| d.join("assignment.yaml").is_file();
    if let Some(d) = given {
        return if has(&d) {
            Ok(d)
        } else {
            Err(LabError::Other(format!(
                "{} has no assignment.yaml",
                d.display()
            )))
        };
    }
    let mut candidates = vec![PathBuf::from("conf")];
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.extend(dir.ancestors().skip(1).take(3).map(|a| a.join("conf")));
    }
    candidates.into_iter().find(|d| has(d)).ok_or_else(|| {
        LabError::Other(
            "cannot find conf/assignment.yaml; run from the workspace or pass --conf-dir".into(),
        )
    })
}
