//! The hash families the experiments compare, each as a ringlb config.
//!
//! A family is run by writing a config: a shipped one as the base
//! (`conf/assignment.yaml` for the assignment's geometry, `conf/ringlb.yaml`
//! for the default), with `ringlb.replicas.initial` set to the experiment's
//! replica names and, for a modified polynomial, `ringlb.ring` changed. The
//! same YAML text is parsed by `ringlb::config::Settings`, so the offline
//! computation uses exactly the ring geometry the network run uses.

use std::path::{Path, PathBuf};

use ringlb::config::Settings;
use ringlb::ring::Polynomial;
use serde_yaml::{Mapping, Value};

/// The assignment's replica names, `Server1..ServerN`: with the spec family
/// the trailing number is the replica id `i` of `Phi(i, j)`.
pub fn server_names(n: usize) -> Vec<String> {
    (1..=n).map(|k| format!("Server{k}")).collect()
}

/// The modified polynomial used when `--poly` is not given.
///
/// `H(i) = 293 i + 17`: odd and linear, hence a bijection mod 512, so every
/// slot gets the same share of ids (the spec's quadratic reaches 87 slots).
/// `Phi(i, j) = 93 i + j^2 + 59 j + 25`: each replica's 9 points about 59
/// slots apart, replicas offset by 93 slots. The two constants 93 and 59
/// were picked by an offline search (over odd offsets and steps near 512/9)
/// for the lowest busiest/mean over N = 2..6 with replicas Server1..ServerN;
/// they are tuned to those ids, which is the point the comparison makes: a
/// hand-made polynomial can be fixed for one fleet, not for any fleet.
pub const DEFAULT_POLY: Polynomial = Polynomial {
    request: [0, 293, 17],
    vnode: [0, 93, 1, 59, 25],
};

/// One family as an experiment runs it.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Short name for tables and charts.
    pub label: String,
    /// What it is, for the report.
    pub about: String,
    base: PathBuf,
    polynomial: Option<Polynomial>,
}

/// Why a setup could not be made into a config.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{path}: {message}")]
    Base { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("unknown family {0:?} (expected spec, poly or strong)")]
    Unknown(String),
}

impl Setup {
    /// `spec`, `poly`, `strong` or `maglev`, with configs from `conf_dir`.
    pub fn family(name: &str, conf_dir: &Path, poly: &Polynomial) -> Result<Setup, SetupError> {
        let assignment = conf_dir.join("assignment.yaml");
        Ok(match name {
            "spec" => Setup {
                label: "spec".into(),
                about: "the assignment's H(i) = i^2 + 2i + 17, Phi(i, j) = i^2 + j^2 + 2j + 25; M = 512, K = 9".into(),
                base: assignment,
                polynomial: None,
            },
            "poly" => Setup {
                label: "poly".into(),
                about: format!(
                    "modified polynomial H = {}, Phi = {}; M = 512, K = 9",
                    show_h(poly),
                    show_phi(poly)
                ),
                base: assignment,
                polynomial: Some(poly.clone()),
            },
            "strong" => Setup {
                label: "strong".into(),
                about: "the default: XXH3-64, M = 2^63, K = 2048".into(),
                base: conf_dir.join("ringlb.yaml"),
                polynomial: None,
            },
            "maglev" => Setup {
                label: "maglev".into(),
                about: "Maglev: XXH3-64 into a 65537-entry lookup table".into(),
                base: conf_dir.join("maglev.yaml"),
                polynomial: None,
            },
            other => return Err(SetupError::Unknown(other.to_string())),
        })
    }

    /// Any config file, as it is.
    pub fn config(path: &Path) -> Setup {
        let label = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "config".into());
        Setup {
            about: format!("ring from {}", path.display()),
            label,
            base: path.to_path_buf(),
            polynomial: None,
        }
    }

    /// The config text for a run starting with `initial` replicas. With
    /// `fresh_names`, a replaced replica gets a new hostname.
    pub fn yaml(
        &self,
        initial: &[String],
        backend: Option<&Path>,
        fresh_names: bool,
    ) -> Result<String, SetupError> {
        let base_err = |message: String| SetupError::Base {
            path: self.base.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(&self.base).map_err(|e| base_err(e.to_string()))?;
        let mut root: Value = serde_yaml::from_str(&text).map_err(|e| base_err(e.to_string()))?;
        let top = root
            .as_mapping_mut()
            .ok_or_else(|| base_err("not a mapping".into()))?;
        let ringlb = section(top, "ringlb").ok_or_else(|| base_err("bad ringlb section".into()))?;
        let replicas =
            section(ringlb, "replicas").ok_or_else(|| base_err("bad replicas".into()))?;
        replicas.insert("initial".into(), initial.to_vec().into());
        if let Some(b) = backend {
            replicas.insert("binary".into(), b.display().to_string().into());
        }
        if fresh_names {
            let health = section(ringlb, "health").ok_or_else(|| base_err("bad health".into()))?;
            health.insert("replacement_name".into(), "fresh".into());
        }
        if let Some(p) = &self.polynomial {
            let ring = section(ringlb, "ring").ok_or_else(|| base_err("bad ring".into()))?;
            ring.insert("family".into(), "polynomial".into());
            let mut coeffs = Mapping::new();
            coeffs.insert("request".into(), p.request.to_vec().into());
            coeffs.insert("vnode".into(), p.vnode.to_vec().into());
            ring.insert("polynomial".into(), Value::Mapping(coeffs));
        }
        let yaml = serde_yaml::to_string(&root).map_err(|e| base_err(e.to_string()))?;
        // Validate now, with ringlb's own rules, rather than at start-up.
        Settings::from_yaml(&yaml, &self.label).map_err(|e| SetupError::Invalid(e.to_string()))?;
        Ok(yaml)
    }

    /// The validated settings of this setup (ring geometry and family).
    pub fn settings(&self) -> Result<Settings, SetupError> {
        let yaml = self.yaml(&server_names(1), None, false)?;
        Settings::from_yaml(&yaml, &self.label).map_err(|e| SetupError::Invalid(e.to_string()))
    }
}

/// `map[key]` as a mapping, created if absent.
fn section<'a>(map: &'a mut Mapping, key: &str) -> Option<&'a mut Mapping> {
    if !map.contains_key(key) || map.get(key).is_some_and(Value::is_null) {
        map.insert(key.into(), Value::Mapping(Mapping::new()));
    }
    map.get_mut(key)?.as_mapping_mut()
}

/// Parses `--poly "a,b,c;d,e,f,g,h"`.
pub fn parse_poly(s: &str) -> Result<Polynomial, String> {
    let bad = || {
        format!("expected \"a,b,c;d,e,f,g,h\" (H = a i^2 + b i + c; Phi = d i^2 + e i + f j^2 + g j + h), got {s:?}")
    };
    let (h, phi) = s.split_once(';').ok_or_else(bad)?;
    let nums = |t: &str| -> Result<Vec<i64>, String> {
        t.split(',')
            .map(|x| x.trim().parse().map_err(|_| bad()))
            .collect()
    };
    let request: [i64; 3] = nums(h)?.try_into().map_err(|_| bad())?;
    let vnode: [i64; 5] = nums(phi)?.try_into().map_err(|_| bad())?;
    Ok(Polynomial { request, vnode })
}

fn term(c: i64, var: &str) -> Option<String> {
    match c {
        0 => None,
        1 if !var.is_empty() => Some(var.to_string()),
        _ => Some(format!("{c}{var}")),
    }
}

fn join(terms: Vec<Option<String>>) -> String {
    let t: Vec<String> = terms.into_iter().flatten().collect();
    if t.is_empty() {
        "0".into()
    } else {
        t.join(" + ")
    }
}

/// `H(i)` written out.
pub fn show_h(p: &Polynomial) -> String {
    let [a, b, c] = p.request;
    join(vec![term(a, "i^2"), term(b, "i"), term(c, "")])
}

/// `Phi(i, j)` written out.
pub fn show_phi(p: &Polynomial) -> String {
    let [d, e, f, g, h] = p.vnode;
    join(vec![
        term(d, "i^2"),
        term(e, "i"),
        term(f, "j^2"),
        term(g, "j"),
        term(h, ""),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_shows_polynomials() {
        let p = parse_poly("1,2,17;1,0,1,2,25").expect("valid");
        assert_eq!(p.request, [1, 2, 17]);
        assert_eq!(show_h(&p), "i^2 + 2i + 17");
        assert_eq!(show_phi(&p), "i^2 + j^2 + 2j + 25");
        assert!(parse_poly("1,2;1,2,3,4,5").is_err());
        assert!(parse_poly("1,2,3").is_err());
    }

    #[test]
    fn derived_configs_are_valid_and_keep_the_geometry() {
        let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf");
        for name in ["spec", "poly", "strong"] {
            let s = Setup::family(name, &conf, &DEFAULT_POLY).expect("known family");
            let settings = s.settings().expect("valid");
            let yaml = s.yaml(&server_names(3), None, true).expect("yaml");
            let parsed = Settings::from_yaml(&yaml, name).expect("valid");
            assert_eq!(parsed.replicas.initial, server_names(3));
            assert_eq!(parsed.ring.slots, settings.ring.slots);
        }
        let spec = Setup::family("spec", &conf, &DEFAULT_POLY)
            .and_then(|s| s.settings())
            .expect("spec");
        assert_eq!((spec.ring.slots, spec.ring.vnodes), (512, 9));
    }
}
