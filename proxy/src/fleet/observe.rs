//! Following an engine's members ([`Ownership::Engine`]): the engine is the
//! source of truth for *which* replicas exist and where they run; the
//! fleet's own heartbeats decide which of them are in the ring.
//!
//! Every instance of ringlb over the same engine sees the same members and
//! builds its ring from the same names (placement is canonical), so all
//! send a key to the same replica; they can disagree only while one has
//! seen a change (or a heartbeat verdict) that another has not yet.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::transition::Change;
use super::{Fleet, Ownership, Replica};

/// How long start-up waits for the other members once one answers.
const SETTLE: Duration = Duration::from_secs(2);
use crate::provision::{Found, Members};

impl Fleet {
    /// Applies a snapshot of the engine's members: new names join (out of
    /// the ring until they answer), names the engine no longer has leave
    /// (nothing to stop or drain: the engine removed them), and a name
    /// with a new instance waits for that instance to answer. Names an
    /// `/add` or `/rm` of this instance is working on are left to it; the
    /// health keeper applies the latest snapshot again on every tick, so
    /// what was skipped is applied once they are done. Idempotent.
    /// Returns whether anything now needs a probe.
    pub async fn observe(&self, members: &[Found]) -> bool {
        debug_assert_eq!(self.ownership, Ownership::Engine);
        // Each name's place among the members (they come sorted by name).
        let order: HashMap<&str, usize> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), i))
            .collect();
        let mut state = self.state.lock().await;
        if state.stopping.is_some() {
            return false;
        }
        let mut ring_changed = false;
        let mut to_probe = false;
        let mut gone = Vec::new();
        state.replicas.retain(|r| {
            let known = order.contains_key(r.name.as_str());
            if !known {
                log::info!("replica {} removed (the engine no longer has it)", r.name);
                ring_changed |= r.state.in_ring();
                r.load.retire();
                gone.push(r.name.clone());
            }
            known
        });
        for m in members {
            if state.pending.contains(&m.name) || state.leaving.contains(&m.name) {
                continue;
            }
            let running = m.running.map(|s| (s.addr, s.generation));
            match state.replicas.iter_mut().find(|r| r.name == m.name) {
                None => {
                    let (addr, generation) = running.unzip();
                    let r = Replica::found(m.name.clone(), addr, generation.unwrap_or(0));
                    log::info!(
                        "replica {} found{}",
                        r.name,
                        addr.map(|a| format!(" on {a}")).unwrap_or_default()
                    );
                    self.joined(&r, format_args!(""));
                    to_probe |= addr.is_some();
                    state.replicas.push(r);
                }
                Some(r) => match running {
                    Some((addr, generation)) if r.generation != generation || r.addr.is_none() => {
                        // A new instance (the engine restarted it): its
                        // requests in flight on the old one finish there.
                        r.addr = Some(addr);
                        r.generation = generation;
                        r.failures = 0;
                        ring_changed |= self.transition(r, Change::Renewed);
                        to_probe = true;
                    }
                    Some(_) => {}
                    // No running instance: its address is stale (a dying
                    // container may still answer during its stop grace).
                    None if r.addr.is_some() => {
                        r.addr = None;
                        ring_changed |= self.transition(r, Change::Vanished);
                    }
                    None => {}
                },
            }
        }
        // Order does not matter to the ring (placement is canonical); it
        // does to `/rep`, which lists the names as the engine sorts them.
        state
            .replicas
            .sort_by_key(|r| order.get(r.name.as_str()).copied());
        if ring_changed {
            self.publish(&state.replicas);
        } else {
            self.note(&state.replicas);
        }
        drop(state);
        // Nothing to stop or drain: the engine stops them (each finishes
        // what it serves on its SIGTERM); only their series go.
        for name in gone {
            self.departed(&name);
        }
        to_probe
    }

    /// Engine-managed start-up (after [`crate::provision::Discovery::seed`]):
    /// waits until every member the engine reports answers, or, once one
    /// does, at most [`SETTLE`] more for the others (a broken replica must
    /// not keep a restarted instance from serving), and at most the start
    /// timeout in all. An engine with no replicas is ready at once, unless
    /// they were just created (`seeded`).
    pub async fn start_observed(&self, members: &mut watch::Receiver<Members>, seeded: bool) {
        let began = Instant::now();
        let deadline = began + self.options.start_timeout;
        loop {
            let snapshot = members.borrow_and_update().clone();
            self.observe(&snapshot).await;
            self.probe(None).await;
            let (some, all, none) = {
                let state = self.state.lock().await;
                let up = state.replicas.iter().filter(|r| r.state.in_ring()).count();
                let known = state.replicas.len();
                (up > 0, up == known && up > 0, known == 0 && !seeded)
            };
            let now = Instant::now();
            if all || none || (some && now >= began + SETTLE) || now >= deadline {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(wait, members.changed()).await;
        }
        let mut state = self.state.lock().await;
        state.initialized = true;
        let waiting: Vec<&str> = state
            .replicas
            .iter()
            .filter(|r| !r.state.in_ring())
            .map(|r| r.name.as_str())
            .collect();
        if !waiting.is_empty() {
            log::warn!(
                "serving without replica(s) {} (not answering yet)",
                waiting.join(", ")
            );
        }
        self.publish(&state.replicas);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;

    use super::super::{FleetOptions, FleetParts, HealthSettings, Probe, ReplacementName};
    use super::*;
    use crate::metrics::Metrics;
    use crate::provision::{Started, StaticProvisioner};
    use crate::ring::{FamilyKind, RingSpec};

    /// Answers for the addresses it holds.
    #[derive(Default)]
    struct Answers(Mutex<HashSet<SocketAddr>>);

    #[async_trait]
    impl Probe for Answers {
        async fn check(&self, addr: SocketAddr, _: Duration) -> Result<(), String> {
            match self.0.lock().unwrap().contains(&addr) {
                true => Ok(()),
                false => Err("refused".into()),
            }
        }
    }

    fn fleet(answers: Arc<Answers>) -> Fleet {
        Fleet::new(
            FleetParts {
                spec: RingSpec {
                    slots: 1 << 20,
                    vnodes: 16,
                    family: FamilyKind::Strong.build(),
                },
                provisioner: Arc::new(StaticProvisioner::new()),
                ownership: Ownership::Engine,
                probe: answers,
                metrics: Arc::new(Metrics::new()),
            },
            FleetOptions {
                max_replicas: 8,
                start_timeout: Duration::from_millis(200),
                drain_timeout: Duration::ZERO,
                health: HealthSettings {
                    interval: Duration::from_millis(50),
                    timeout: Duration::from_millis(50),
                    failures: 2,
                    replacement: ReplacementName::Same,
                },
            },
        )
    }

    fn found(name: &str, port: Option<u16>, generation: u64) -> Found {
        Found {
            name: name.into(),
            running: port.map(|p| Started {
                addr: ([127, 0, 0, 1], p).into(),
                generation,
            }),
        }
    }

    fn ring(f: &Fleet) -> Vec<String> {
        f.ring()
            .load()
            .members()
            .iter()
            .map(|m| m.name.to_string())
            .collect()
    }

    fn state(f: &Fleet, name: &str) -> &'static str {
        f.views()
            .into_iter()
            .find(|v| v.hostname == name)
            .map_or("absent", |v| v.state)
    }

    #[tokio::test]
    async fn members_join_on_their_first_heartbeat_and_leave_with_the_engine() {
        let answers = Arc::new(Answers::default());
        let f = fleet(answers.clone());
        answers.0.lock().unwrap().insert(([127, 0, 0, 1], 1).into());
        // b has no running task yet, c does not answer yet.
        let members = [
            found("a", Some(1), 1),
            found("b", None, 0),
            found("c", Some(3), 3),
        ];
        assert!(
            f.observe(&members).await,
            "new running members want a probe"
        );
        assert_eq!(
            ring(&f),
            Vec::<String>::new(),
            "nobody is in before a heartbeat"
        );
        f.probe(None).await;
        assert_eq!(ring(&f), ["a"]);
        assert_eq!((state(&f, "b"), state(&f, "c")), ("joining", "joining"));

        // b's task runs, c answers: both in.
        answers.0.lock().unwrap().extend([
            SocketAddr::from(([127, 0, 0, 1], 2)),
            ([127, 0, 0, 1], 3).into(),
        ]);
        let members = [
            found("a", Some(1), 1),
            found("b", Some(2), 2),
            found("c", Some(3), 3),
        ];
        assert!(f.observe(&members).await);
        f.probe(None).await;
        assert_eq!(ring(&f), ["a", "b", "c"]);

        // a gets a new task: out until it answers; c is gone.
        let members = [found("a", Some(4), 4), found("b", Some(2), 2)];
        f.observe(&members).await;
        assert_eq!(ring(&f), ["b"]);
        assert_eq!(state(&f, "c"), "absent");
        answers.0.lock().unwrap().insert(([127, 0, 0, 1], 4).into());
        f.probe(None).await;
        assert_eq!(ring(&f), ["a", "b"]);

        // b's task vanished (killed, not yet restarted): down at once.
        f.observe(&[found("a", Some(4), 4), found("b", None, 0)])
            .await;
        assert_eq!(ring(&f), ["a"]);
        assert_eq!(state(&f, "b"), "down");
        // Nothing is replaced by ringlb: the engine does that.
        let f = Arc::new(f);
        f.reconcile().await;
        assert_eq!(state(&f, "b"), "down");
    }

    #[tokio::test]
    async fn a_down_member_comes_back_on_a_good_heartbeat() {
        let answers = Arc::new(Answers::default());
        let f = fleet(answers.clone());
        let a: SocketAddr = ([127, 0, 0, 1], 1).into();
        answers.0.lock().unwrap().insert(a);
        f.observe(&[found("a", Some(1), 1)]).await;
        f.probe(None).await;
        assert_eq!(ring(&f), ["a"]);
        answers.0.lock().unwrap().clear();
        f.probe(None).await;
        f.probe(None).await;
        assert_eq!(state(&f, "a"), "down", "two failed heartbeats");
        assert_eq!(ring(&f), Vec::<String>::new());
        answers.0.lock().unwrap().insert(a);
        f.probe(None).await;
        assert_eq!(ring(&f), ["a"], "the same task answers again");
    }
}
