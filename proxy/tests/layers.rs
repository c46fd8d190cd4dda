//! The layering the code keeps: no module among `config`, `provision`,
//! `fleet` and `health` imports one that imports it back, directly or
//! through the others. `provision` (how replicas start) knows none of the
//! others; `fleet` (which replicas, the ring) knows `provision`; `health`
//! drives the fleet; `config` fills in everyone's settings types.
//!
//! Read from the source: every `crate::<module>` path in a module's files
//! is an edge (a `use` line or a full path in the code alike).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MODULES: [&str; 4] = ["config", "provision", "fleet", "health"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// module -> the modules among [`MODULES`] its files name.
fn edges() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for module in MODULES {
        let mut files = Vec::new();
        sources(&src.join(module), &mut files);
        assert!(!files.is_empty(), "no sources for {module}");
        let mut uses = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for other in MODULES.iter().filter(|m| **m != module) {
                let path = format!("crate::{other}");
                let named = text.match_indices(&path).any(|(i, _)| {
                    let after = text[i + path.len()..].chars().next();
                    !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if named {
                    uses.insert(*other);
                }
            }
        }
        graph.insert(module, uses);
    }
    graph
}

/// A cycle through `from`, as a path, if there is one.
fn cycle_from(
    graph: &BTreeMap<&'static str, BTreeSet<&'static str>>,
    from: &'static str,
) -> Option<Vec<&'static str>> {
    let mut stack = vec![vec![from]];
    while let Some(path) = stack.pop() {
        let last = *path.last().unwrap();
        for next in &graph[last] {
            if *next == from {
                let mut cycle = path.clone();
                cycle.push(from);
                return Some(cycle);
            }
            if !path.contains(next) {
                let mut longer = path.clone();
                longer.push(next);
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn config_provision_fleet_and_health_import_no_cycle() {
    let graph = edges();
    for module in MODULES {
        if let Some(cycle) = cycle_from(&graph, module) {
            panic!("import cycle {}; edges: {graph:?}", cycle.join(" -> "));
        }
    }
    // The seams this rests on, named so a regression says which one broke.
    assert!(
        graph["provision"].is_empty(),
        "provision imports {:?}",
        graph["provision"]
    );
    assert!(
        !graph["fleet"].contains("health"),
        "fleet must take a Probe, not call health"
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut graph = BTreeMap::new();
    graph.insert("config", BTreeSet::from(["fleet"]));
    graph.insert("fleet", BTreeSet::from(["provision"]));
    graph.insert("provision", BTreeSet::from(["config"]));
    graph.insert("health", BTreeSet::new());
    assert_eq!(
        cycle_from(&graph, "config"),
        Some(vec!["config", "fleet", "provision", "config"])
    );
    assert_eq!(cycle_from(&graph, "health"), None);
}
