//! Several ringlb instances over one Swarm-managed replica set, end to end:
//! the real `make swarm` (both `FROM scratch` images, `docker stack deploy`
//! of docker-stack.yml: two ringlb instances on their own host-mode ports),
//! real HTTP through both, real `docker kill`, and `make swarm-down`.
//!
//! Checked, in one test (the swarm is one per daemon, so the steps share
//! it): both instances route 2,000 ids identically; an `/add` through one
//! is served through the other within 1 s, an `/rm` through the other
//! stops within 1 s on the first; a concurrent `/add` of one hostname
//! through both gives one 200 and one 409 and one service; `docker kill`
//! of a replica's task under load through both fails no request and its
//! new task joins both rings; stopping an instance (SIGTERM, then
//! `kill -9`) leaves every replica service and the other instance serving,
//! and the instance rejoins with the same ring; `make swarm-down` leaves
//! no service, network, container, config or secret of the deployment.
//!
//! Beside anyone's `make swarm`: the deployment has its own stack name,
//! overlay network, owner label, service-name prefix and free ports, all
//! with the test's pid. If the daemon is not in a swarm the test
//! initialises one and leaves it at the end (also when it fails), so the
//! daemon is left as found.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::cli::{conf_with, docker, run, workspace};
use ringlb_harness::{http, wait_for};

/// A free TCP port on this host (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Swarm mode for the test: initialised if the daemon had none, and left
/// again on drop (with the `docker_gwbridge` network it creates).
struct SwarmMode {
    initialised: bool,
}

impl SwarmMode {
    fn ensure() -> SwarmMode {
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        let inactive = state.first().map(String::as_str) == Some("inactive");
        if inactive {
            docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        }
        SwarmMode {
            initialised: inactive,
        }
    }
}

impl Drop for SwarmMode {
    fn drop(&mut self) {
        if self.initialised {
            run("docker", &["swarm", "leave", "--force"]);
            run("docker", &["network", "rm", "docker_gwbridge"]);
        }
    }
}

/// One test deployment's names and ports.
struct Deployment {
    stack: String,
    network: String,
    owner: String,
    prefix: String,
    ports: [u16; 2],
    dir: tempfile::TempDir,
    token: String,
    down: bool,
}

impl Deployment {
    fn new() -> Deployment {
        let pid = std::process::id();
        let dir = tempfile::Builder::new()
            .prefix("ringlb-swarm-")
            .tempdir()
            .expect("tempdir");
        let mut d = Deployment {
            stack: format!("rlbswarm{pid}"),
            network: format!("ringlb-swarm-test-{pid}"),
            owner: format!("ringlb-swarm-test-{pid}"),
            prefix: format!("rlbs{pid}-"),
            ports: [free_port(), free_port()],
            dir,
            token: String::new(),
            down: false,
        };
        std::fs::write(d.conf(), test_conf(&d)).expect("write the config");
        d.token = format!("swarm-test-token-{pid}-0123456789");
        std::fs::write(d.dir.path().join("admin-token"), &d.token).expect("write the token");
        d
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("swarm.yaml")
    }

    fn addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports[i]))
    }

    /// `make <target>` for this deployment; success and output.
    fn make(&self, target: &str, limit: Duration) -> (bool, String) {
        let log_path = self.dir.path().join(format!("make-{target}.log"));
        let log = File::create(&log_path).expect("make log");
        let status = Command::new("timeout")
            .arg(limit.as_secs().to_string())
            .args(["make", "--no-print-directory", "-C"])
            .arg(workspace())
            .arg(target)
            .arg(format!("STACK={}", self.stack))
            .arg(format!("SWARM_NETWORK={}", self.network))
            .arg(format!("SWARM_CONF={}", self.conf().display()))
            .arg(format!("SWARM_OWNER={}", self.owner))
            .arg(format!("SWARM_STATE={}", self.dir.path().display()))
            .arg(format!("SWARM_PORT_A={}", self.ports[0]))
            .arg(format!("SWARM_PORT_B={}", self.ports[1]))
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS")
            .env_remove("MAKELEVEL")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .status()
            .expect("run make");
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        (status.success(), output)
    }

    /// The replica services, as hostnames, sorted.
    fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = docker(&[
            "service",
            "ls",
            "--filter",
            &format!("label=ringlb.owner={}", self.owner),
            "--format",
            "{{.Name}}",
        ])
        .into_iter()
        .map(|s| s.strip_prefix(&self.prefix).unwrap_or(&s).to_string())
        .collect();
        names.sort();
        names
    }

    /// Service IDs of the replicas (to tell "left running" from "made anew").
    fn service_ids(&self) -> Vec<String> {
        let mut ids = docker(&[
            "service",
            "ls",
            "-q",
            "--filter",
            &format!("label=ringlb.owner={}", self.owner),
        ]);
        ids.sort();
        ids
    }

    /// What of the deployment is still there.
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        for s in docker(&["service", "ls", "--format", "{{.Name}}"]) {
            if s.starts_with(&self.prefix) || s.starts_with(&format!("{}_", self.stack)) {
                left.push(format!("service {s}"));
            }
        }
        for filter in [
            format!("label=ringlb.owner={}", self.owner),
            format!("label=com.docker.stack.namespace={}", self.stack),
        ] {
            for c in docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]) {
                left.push(format!("container {c}"));
            }
        }
        for n in docker(&["network", "ls", "--format", "{{.Name}}"]) {
            if n == self.network {
                left.push(format!("network {n}"));
            }
        }
        for kind in ["config", "secret"] {
            for n in docker(&[kind, "ls", "--format", "{{.Name}}"]) {
                let marker = format!("ringlb-seeded-{}", self.owner);
                if n.starts_with(&format!("{}_", self.stack)) || n == marker {
                    left.push(format!("{kind} {n}"));
                }
            }
        }
        left.sort();
        left.dedup();
        left
    }

    fn down(&mut self) -> (bool, String) {
        self.down = true;
        self.make("swarm-down", Duration::from_secs(120))
    }

    /// The container of ringlb instance `service` (`ringlb` or `ringlb-b`).
    fn instance_container(&self, service: &str) -> Option<String> {
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!(
                "label=com.docker.swarm.service.name={}_{service}",
                self.stack
            ),
        ])
        .into_iter()
        .next()
    }

    /// The running task container of replica `name`.
    fn replica_container(&self, name: &str) -> Option<String> {
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.swarm.service.name={}{name}", self.prefix),
        ])
        .into_iter()
        .next()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if self.down {
            return;
        }
        if std::thread::panicking() {
            for service in ["ringlb", "ringlb-b"] {
                let logs = run(
                    "docker",
                    &[
                        "service",
                        "logs",
                        "--tail",
                        "40",
                        &format!("{}_{service}", self.stack),
                    ],
                );
                eprintln!(
                    "--- {service} (last 40 lines) ---\n{}{}",
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                );
            }
        }
        let (ok, out) = self.down();
        if !ok {
            eprintln!("make swarm-down failed:\n{out}");
        }
    }
}

/// conf/swarm.yaml with this deployment's network, prefix and owner.
fn test_conf(d: &Deployment) -> String {
    conf_with(
        "swarm.yaml",
        &[
            (
                "network: ringlb-swarm\n",
                format!("network: {}\n", d.network),
            ),
            (
                "name_prefix: \"\"\n",
                format!("name_prefix: \"{}\"\n", d.prefix),
            ),
            ("owner: ringlb-swarm\n", format!("owner: {}\n", d.owner)),
        ],
    )
}

const T: Duration = Duration::from_secs(5);

/// The replica that served `/home` for request id `id` through `addr`.
fn served_by(addr: SocketAddr, id: u32) -> Result<String, String> {
    let id = id.to_string();
    let r = http::request(addr, "GET", "/home", &[("X-Request-Id", &id)], b"", T)
        .map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("status {}: {}", r.status, r.text()));
    }
    let body = r.text();
    body.strip_prefix(r#"{"message": "Hello from Server: "#)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .ok_or_else(|| format!("not a /home answer: {body}"))
}

/// id -> replica for `ids` through `addr`.
fn route_map(addr: SocketAddr, ids: std::ops::Range<u32>) -> Vec<String> {
    ids.map(|id| served_by(addr, id).unwrap_or_else(|e| panic!("id {id} via {addr}: {e}")))
        .collect()
}

/// `/rep?verbose=1` through `addr`: (hostname, state) pairs.
fn states(addr: SocketAddr) -> Vec<(String, String)> {
    let Ok(r) = http::get(addr, "/rep?verbose=1", T) else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    v.pointer("/message/details")
        .and_then(|r| r.as_array())
        .map(|list| {
            list.iter()
                .map(|r| {
                    (
                        r["hostname"].as_str().unwrap_or_default().to_string(),
                        r["state"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every replica `addr` knows is up, and they are `want`.
fn all_up(addr: SocketAddr, want: &[&str]) -> bool {
    let s = states(addr);
    let mut names: Vec<&str> = s.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    names == want && s.iter().all(|(_, st)| st == "up")
}

fn change(d: &Deployment, i: usize, path: &str, body: &str) -> http::Response {
    let method = if path == "/rm" { "DELETE" } else { "POST" };
    let auth = format!("Bearer {}", d.token);
    http::request(
        d.addr(i),
        method,
        path,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        body.as_bytes(),
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{path} via instance {i}: {e}"))
}

/// Ids in `ids` that `map` sends to `replica`.
fn owned_by(map: &[String], replica: &str) -> Vec<u32> {
    map.iter()
        .enumerate()
        .filter(|(_, r)| *r == replica)
        .map(|(i, _)| i as u32)
        .collect()
}

/// Steady load through both instances until stopped: (sent, failed, first
/// failures).
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(addrs: [SocketAddr; 2], per_instance: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for (k, addr) in addrs.into_iter().cycle().take(2 * per_instance).enumerate() {
            let (stop, sent, failures) = (stop.clone(), sent.clone(), failures.clone());
            threads.push(std::thread::spawn(move || {
                let mut id = (k as u32) * 100_000;
                while !stop.load(Ordering::Relaxed) {
                    id += 1;
                    sent.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = served_by(addr, id % 1_000_000) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{addr} id {id}: {e}"));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }));
        }
        Load {
            stop,
            sent,
            failures,
            threads,
        }
    }

    fn finish(mut self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in std::mem::take(&mut self.threads) {
            t.join().expect("load thread");
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.sent.load(Ordering::Relaxed), failures)
    }
}

impl Drop for Load {
    /// A step that panicked mid-load stops its threads too.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Two concurrent starts of one hostname through a provisioner of the
/// test's own (the library's, on this host: it needs only the Engine
/// API): exactly one replica, the other call `Taken`; then removed.
fn lock_is_the_service_name(d: &Deployment) {
    use ringlb::provision::{Provisioner, StartError, SwarmProvisioner, SwarmSettings, Timeouts};
    let settings = SwarmSettings {
        socket: "/var/run/docker.sock".into(),
        image: "ringlb-backend:latest".into(),
        network: d.network.clone(),
        name_prefix: d.prefix.clone(),
        port: 5000,
        owner: d.owner.clone(),
    };
    let timeouts = Timeouts {
        start: Duration::from_secs(30),
        stop: Duration::from_secs(2),
    };
    let p = SwarmProvisioner::new(settings, timeouts).expect("a swarm provisioner");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (one, two) = runtime.block_on(async { tokio::join!(p.start("L1"), p.start("L1")) });
    let taken = |r: &Result<_, StartError>| matches!(r, Err(StartError::Taken(n)) if n == "L1");
    assert!(
        (one.is_ok() && taken(&two)) || (two.is_ok() && taken(&one)),
        "{one:?} / {two:?}"
    );
    assert_eq!(
        d.services().iter().filter(|s| *s == "L1").count(),
        1,
        "{:?}",
        d.services()
    );
    runtime.block_on(p.stop("L1", 0));
    wait_for("L1 removed", Duration::from_secs(30), || {
        (!d.services().iter().any(|s| s == "L1")).then_some(())
    });
}

#[test]
fn two_ringlb_instances_share_one_swarm_replica_set() {
    let _swarm = SwarmMode::ensure();
    let mut d = Deployment::new();
    let (ok, out) = d.make("swarm", Duration::from_secs(900));
    assert!(ok, "make swarm failed:\n{out}");
    let (a, b) = (d.addr(0), d.addr(1));
    let initial = ["replica1", "replica2", "replica3"];
    wait_for(
        "both instances see three replicas up",
        Duration::from_secs(60),
        || (all_up(a, &initial) && all_up(b, &initial)).then_some(()),
    );
    assert_eq!(d.services(), initial, "one service per replica");

    // 1. The same id -> replica map through either instance.
    let map = route_map(a, 0..2000);
    assert_eq!(route_map(b, 0..2000), map, "the instances disagree");
    for r in initial {
        assert!(map.iter().any(|m| m == r), "{r} serves no id of 2,000");
    }

    // 2. /add through A: served through B within 1 s of A's answer.
    let r = change(&d, 0, "/add", r#"{"n": 1, "hostnames": ["S4"]}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let added = Instant::now();
    // Any id S4 owns will do: about one in four.
    let mut id = 0u32;
    let seen = wait_for("B routes to S4", Duration::from_secs(5), || {
        id = (id + 1) % 2000;
        (served_by(b, id).ok()? == "S4").then(|| added.elapsed())
    });
    eprintln!(
        "S4 served through B {} ms after /add through A answered",
        seen.as_millis()
    );
    assert!(
        seen <= Duration::from_secs(1),
        "B took {seen:?} to route to S4"
    );
    let map4 = route_map(a, 0..2000);
    let s4_ids = owned_by(&map4, "S4");
    assert!(!s4_ids.is_empty(), "S4 owns no id through A");
    assert_eq!(
        route_map(b, 0..2000),
        map4,
        "the instances disagree after /add"
    );

    // /rm through B, under load through both: A stops routing to it
    // within 1 s, and no request fails.
    let load = Load::start([a, b], 2);
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    let r = change(&d, 1, "/rm", r#"{"n": 1, "hostnames": ["S4"]}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let removed = Instant::now();
    eprintln!(
        "/rm through B answered in {} ms",
        (removed - asked).as_millis()
    );
    let gone = wait_for("A stops routing to S4", Duration::from_secs(5), || {
        let none = s4_ids
            .iter()
            .take(5)
            .all(|id| served_by(a, *id).is_ok_and(|r| r != "S4"));
        none.then(|| removed.elapsed())
    });
    eprintln!(
        "A stopped routing to S4 {} ms after /rm through B answered",
        gone.as_millis()
    );
    assert!(gone <= Duration::from_secs(1), "A took {gone:?} to drop S4");
    std::thread::sleep(Duration::from_millis(500));
    let (sent, failures) = load.finish();
    eprintln!("/rm under load: {sent} requests, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    wait_for("S4 gone from both", Duration::from_secs(5), || {
        (all_up(a, &initial) && all_up(b, &initial)).then_some(())
    });
    assert_eq!(route_map(a, 0..2000), map, "not the old ring after /rm");

    // 3a. The service name is the lock: two creates of one hostname at
    // once (this test's own provisioner, straight at the Engine) give one
    // replica and one "taken".
    lock_is_the_service_name(&d);

    // 3. The same hostname added through both at once: one 200, one 409.
    let (ra, rb) = std::thread::scope(|s| {
        let body = r#"{"n": 1, "hostnames": ["S5"]}"#;
        let ta = s.spawn(|| change(&d, 0, "/add", body));
        let tb = s.spawn(|| change(&d, 1, "/add", body));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "A: {} B: {}", ra.text(), rb.text());
    let loser = if ra.status == 409 { &ra } else { &rb };
    assert!(loser.text().contains("S5"), "{}", loser.text());
    assert_eq!(d.services(), ["S5", "replica1", "replica2", "replica3"]);
    let five = ["S5", "replica1", "replica2", "replica3"];
    wait_for("S5 up on both", Duration::from_secs(5), || {
        (all_up(a, &five) && all_up(b, &five)).then_some(())
    });

    // 4. docker kill of a replica's task under load through both.
    let victim = "replica2";
    let old_task = d.replica_container(victim).expect("replica2's container");
    let load = Load::start([a, b], 2);
    std::thread::sleep(Duration::from_secs(2));
    docker(&["kill", &old_task]);
    wait_for("a new replica2 task", Duration::from_secs(30), || {
        d.replica_container(victim).filter(|c| *c != old_task)
    });
    wait_for("replica2 back on both", Duration::from_secs(30), || {
        (all_up(a, &five) && all_up(b, &five)).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let (sent, failures) = load.finish();
    eprintln!(
        "kill under load: {sent} requests, {} failed",
        failures.len()
    );
    assert!(sent > 200, "too little load: {sent}");
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let map5 = route_map(a, 0..2000);
    assert!(
        map5.iter().any(|r| r == victim),
        "the new replica2 task serves nothing"
    );
    assert_eq!(
        route_map(b, 0..2000),
        map5,
        "the instances disagree after the kill"
    );

    // 5. Stopping instance B leaves the replicas, and A serving.
    let ids = d.service_ids();
    let stack_b = format!("{}_ringlb-b", d.stack);
    docker(&["service", "scale", "--detach", &format!("{stack_b}=0")]);
    wait_for("B stopped (SIGTERM)", Duration::from_secs(60), || {
        d.instance_container("ringlb-b").is_none().then_some(())
    });
    assert_eq!(
        d.service_ids(),
        ids,
        "stopping B changed the replica services"
    );
    assert_eq!(route_map(a, 0..500), map5[..500], "A after B stopped");
    docker(&["service", "scale", "--detach", &format!("{stack_b}=1")]);
    wait_for("B back", Duration::from_secs(60), || {
        all_up(b, &five).then_some(())
    });
    assert_eq!(route_map(b, 0..2000), map5, "B rejoined with another ring");

    let container_b = d.instance_container("ringlb-b").expect("B's container");
    docker(&["kill", "--signal", "KILL", &container_b]);
    assert_eq!(route_map(a, 0..500), map5[..500], "A after B was killed");
    wait_for("B restarted by Swarm", Duration::from_secs(60), || {
        d.instance_container("ringlb-b")
            .filter(|c| *c != container_b)
            .filter(|_| all_up(b, &five))
    });
    assert_eq!(
        d.service_ids(),
        ids,
        "kill -9 of B changed the replica services"
    );
    assert_eq!(route_map(b, 0..2000), map5, "B rejoined with another ring");

    // 6. A restart never undoes an /rm: with every replica removed, a
    // restarted instance creates none (the deployment was seeded once).
    let r = change(&d, 0, "/rm", r#"{"n": 4}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for("no replica service left", Duration::from_secs(30), || {
        d.services().is_empty().then_some(())
    });
    docker(&["service", "scale", "--detach", &format!("{stack_b}=0")]);
    wait_for("B stopped", Duration::from_secs(60), || {
        d.instance_container("ringlb-b").is_none().then_some(())
    });
    docker(&["service", "scale", "--detach", &format!("{stack_b}=1")]);
    wait_for("B back with no replicas", Duration::from_secs(60), || {
        let r = http::get(b, "/rep", T).ok()?;
        (r.status == 200).then(|| r.text())
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        d.services(),
        Vec::<String>::new(),
        "a restart re-created replicas"
    );

    // 7. make swarm-down leaves nothing of the deployment.
    let (ok, out) = d.down();
    assert!(ok, "make swarm-down failed:\n{out}");
    assert_eq!(
        d.leftovers(),
        Vec::<String>::new(),
        "left by make swarm-down"
    );
}
