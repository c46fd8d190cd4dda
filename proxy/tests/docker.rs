//! The `docker` provisioner against the real Docker Engine: ringlb runs on
//! the host (the debug binary, as in the other integration tests) and
//! starts its replicas as containers of a scratch image holding a static
//! `ringlb-backend`; the host reaches them by their IP on a user-defined
//! bridge network.
//!
//! Each test makes its own network, image tag, container-name prefix and
//! owner label (all with the test's pid), and removes them in a drop guard,
//! also when it panics.
//!
//! No Engine is a failure, not a pass: a test that returned early counted
//! as passed, and a machine whose Engine was down looked fully tested.
//! `make test` starts one first (`make docker-up`); where there is none, the
//! tests fail saying so. There is deliberately no opt-out variable (one left
//! set in a shell or CI would hide the Docker tests again); to leave them
//! out on purpose, say so on the command line:
//! `cargo nextest run -E 'not (binary(docker) | binary(compose))'`.
//!
//! Replacement timing is read from ringlb's own log, not from an HTTP
//! poller racing ringlb for two busy cores: the test notes when the lines
//! `replica X down` and `replica X up on ... (replaced X in N ms)` appear
//! after the kill, bounds kill-to-up generously (10 s; typically well under
//! 2 s), and prints the figures. Only then does it check over HTTP that the
//! key is served by the new container again.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{wait_for, Ringlb};
use ringlb_harness::{Launch, LaunchError};
use serde_json::{json, Value};

/// The Engine's socket (`RINGLB_TEST_DOCKER_SOCKET` overrides it, e.g. to
/// see the tests fail without an Engine).
fn socket() -> String {
    std::env::var("RINGLB_TEST_DOCKER_SOCKET").unwrap_or_else(|_| "/var/run/docker.sock".into())
}

// ---- a tiny blocking Engine API client (HTTP/1.0 over the socket) ----

/// (status, body) of one Engine API call, or `None` if there is no Engine.
fn engine(method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
    let mut s = UnixStream::connect(socket()).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} /v1.41{path} HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn engine_json(method: &str, path: &str, body: Option<&Value>) -> Value {
    let (status, text) = engine(method, path, body).expect("Docker Engine answers");
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn docker_available() -> bool {
    Path::new(&socket()).exists()
        && engine("GET", "/_ping", None).is_some_and(|(s, b)| s == 200 && b.trim() == "OK")
}

// ---- the static replica binary and the per-test fixture ----

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// Builds a static debug `ringlb-backend` (once per process; cargo makes
/// it a no-op when up to date) in its own target dir, so the main build
/// cache is untouched.
fn static_backend() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace();
            let began = Instant::now();
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(&root)
                .args(["build", "-p", "ringlb-backend", "--target"])
                .arg("x86_64-unknown-linux-gnu")
                .arg("--target-dir")
                .arg(root.join("target/static"))
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env("RUSTFLAGS", "-C target-feature=+crt-static")
                // Small binary, quick image build.
                .env("CARGO_PROFILE_DEV_DEBUG", "false")
                .stdout(Stdio::null())
                .status()
                .expect("run cargo");
            assert!(status.success(), "static build of ringlb-backend failed");
            eprintln!("static ringlb-backend ready in {:?}", began.elapsed());
            root.join("target/static/x86_64-unknown-linux-gnu/debug/ringlb-backend")
        })
        .clone()
}

/// One test's Docker world; removed on drop (containers, network, image).
struct Fixture {
    image: String,
    network: String,
    prefix: String,
    owner: String,
}

impl Fixture {
    /// Panics, saying what to do, when no Docker Engine answers.
    fn new(test: &str) -> Fixture {
        assert!(
            docker_available(),
            "no Docker Engine answers at {} (GET /_ping): start one (`make docker-up`, \
             which `make test` runs first); to leave the Docker tests out on purpose: \
             cargo nextest run -E 'not (binary(docker) | binary(compose))'",
            socket()
        );
        let id = format!("{}-{test}", std::process::id());
        let fixture = Fixture {
            image: format!("ringlb-backend-test:{id}"),
            network: format!("ringlb-test-{id}"),
            prefix: format!("rlbt{id}-"),
            owner: format!("ringlb-test-{id}"),
        };
        fixture.build_image();
        engine_json(
            "POST",
            "/networks/create",
            Some(&json!({
                "Name": fixture.network,
                "CheckDuplicate": true,
                "Labels": { "ringlb.test": fixture.owner },
            })),
        );
        fixture
    }

    /// The replica image from the top-level Dockerfile, legacy builder,
    /// with a context holding only the binary.
    fn build_image(&self) {
        let context = tempfile::tempdir().expect("tempdir");
        std::fs::copy(static_backend(), context.path().join("ringlb-backend"))
            .expect("copy binary");
        let began = Instant::now();
        let out = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-f"])
            .arg(workspace().join("Dockerfile"))
            .args([
                "--build-arg",
                "BIN=ringlb-backend",
                "--build-arg",
                "BIN_DIR=.",
            ])
            .args(["-t", &self.image])
            .arg(context.path())
            .output()
            .expect("run docker build");
        assert!(
            out.status.success(),
            "docker build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("image {} built in {:?}", self.image, began.elapsed());
    }

    /// The `ringlb:` section for this fixture (`extra` is more YAML for it).
    fn config(&self, initial: &[&str], extra: &str) -> String {
        format!(
            "  upstream:\n    connect_timeout_ms: 300\n  health:\n    interval_ms: 100\n    timeout_ms: 200\n  replicas:\n    provisioner: docker\n    initial: {initial:?}\n    stop_timeout_ms: 1000\n    docker:\n      socket: \"{}\"\n      image: \"{}\"\n      network: \"{}\"\n      name_prefix: \"{}\"\n      owner: \"{}\"\n{extra}",
            socket(), self.image, self.network, self.prefix, self.owner
        )
    }

    /// This test's containers: replica name -> (container id, running).
    fn containers(&self) -> Vec<(String, String, bool)> {
        let filter =
            encode(&json!({ "label": [format!("ringlb.owner={}", self.owner)] }).to_string());
        let listed = engine_json(
            "GET",
            &format!("/containers/json?all=1&filters={filter}"),
            None,
        );
        let mut out: Vec<(String, String, bool)> = listed
            .as_array()
            .expect("a list")
            .iter()
            .map(|c| {
                let names = c["Names"].as_array().expect("names");
                let name = names[0].as_str().expect("name").trim_start_matches('/');
                let replica = name
                    .strip_prefix(&self.prefix)
                    .unwrap_or_else(|| panic!("container {name} lacks prefix {}", self.prefix));
                assert_eq!(c["Labels"]["ringlb.name"], replica);
                (
                    replica.to_string(),
                    c["Id"].as_str().expect("id").to_string(),
                    c["State"] == "running",
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Names of this test's running containers, sorted.
    fn running(&self) -> Vec<String> {
        self.containers()
            .into_iter()
            .filter(|c| c.2)
            .map(|c| c.0)
            .collect()
    }

    fn inspect(&self, replica: &str) -> Value {
        engine_json(
            "GET",
            &format!("/containers/{}{replica}/json", self.prefix),
            None,
        )
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let filter =
            encode(&json!({ "label": [format!("ringlb.owner={}", self.owner)] }).to_string());
        if let Some((200, list)) = engine(
            "GET",
            &format!("/containers/json?all=1&filters={filter}"),
            None,
        ) {
            for c in serde_json::from_str::<Value>(&list)
                .unwrap_or(Value::Null)
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(id) = c["Id"].as_str() {
                    eprintln!("removing leftover container {id}");
                    let _ = engine("DELETE", &format!("/containers/{id}?force=1&v=1"), None);
                }
            }
        }
        let _ = engine("DELETE", &format!("/networks/{}", self.network), None);
        let _ = engine(
            "DELETE",
            &format!("/images/{}?force=1", encode(&self.image)),
            None,
        );
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Waits until the test's running containers are exactly ringlb's replicas.
fn assert_containers_match(fx: &Fixture, lb: &Ringlb) {
    let want = sorted(lb.replicas());
    wait_for("containers to match /rep", Duration::from_secs(10), || {
        (fx.running() == want).then_some(())
    });
}

fn server_of(body: &Value) -> String {
    body["message"]
        .as_str()
        .and_then(|m| m.strip_prefix("Hello from Server: "))
        .unwrap_or_default()
        .to_string()
}

/// A request id that ringlb routes to `replica`.
fn id_routed_to(lb: &Ringlb, replica: &str) -> u64 {
    (100_000..101_000)
        .find(|id| {
            let (status, body) = lb.home(*id);
            status == 200 && server_of(&body) == replica
        })
        .unwrap_or_else(|| panic!("no id in 1000 reaches {replica}"))
}

// ---- the tests ----

#[test]
fn replicas_are_containers_and_follow_add_and_rm() {
    let fx = Fixture::new("lifecycle");
    let mut lb = Ringlb::start(&fx.config(&["Server1", "Server2", "Server3"], ""));

    // The initial replicas are containers on the network, alias = hostname.
    assert_eq!(fx.running(), ["Server1", "Server2", "Server3"]);
    let c = fx.inspect("Server1");
    let endpoint = &c["NetworkSettings"]["Networks"][&fx.network];
    assert!(endpoint["Aliases"]
        .as_array()
        .expect("aliases")
        .iter()
        .any(|a| a == "Server1"));
    assert!(c["Config"]["Env"]
        .as_array()
        .expect("env")
        .iter()
        .any(|e| e == "SERVER_ID=Server1"));
    let verbose = lb.verbose();
    let address = verbose["message"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .find(|d| d["hostname"] == "Server1")
        .expect("Server1 in details")["address"]
        .clone();
    assert_eq!(
        address,
        format!("{}:5000", endpoint["IPAddress"].as_str().expect("ip"))
    );

    // /home is answered through ringlb by the containers, all of them.
    let mut seen = std::collections::BTreeSet::new();
    for id in 100_000..100_200 {
        let (status, body) = lb.home(id);
        assert_eq!(status, 200, "{body}");
        seen.insert(server_of(&body));
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["Server1", "Server2", "Server3"]
    );

    // /add starts containers (named and generated), /rm removes them.
    let (status, body) = lb.change(
        reqwest::Method::POST,
        "/add",
        r#"{"n": 2, "hostnames": ["S5"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(lb.replicas().len(), 5);
    assert!(fx.running().contains(&"S5".to_string()));
    assert_containers_match(&fx, &lb);
    let (status, _) = lb.home(id_routed_to(&lb, "S5"));
    assert_eq!(status, 200);

    let (status, body) = lb.change(
        reqwest::Method::DELETE,
        "/rm",
        r#"{"n": 2, "hostnames": ["S5"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(lb.replicas().len(), 3);
    assert!(!fx.containers().iter().any(|c| c.0 == "S5"));
    assert_containers_match(&fx, &lb);

    // SIGTERM: ringlb removes every container it made before it exits.
    lb.stop(libc::SIGTERM);
    assert_eq!(fx.containers(), Vec::<(String, String, bool)>::new());
}

/// The bound on kill-to-up: generous for two busy cores (typically it is
/// well under 2 s; bench/ keeps precise figures).
const REPLACED_WITHIN: Duration = Duration::from_secs(10);

/// Waits until ringlb's log, from byte `from` on, has a line containing
/// every one of `parts`; returns the line and how long after `since` it was
/// first seen (the log is read every 10 ms).
fn log_line(
    lb: &Ringlb,
    from: usize,
    since: Instant,
    limit: Duration,
    parts: &[&str],
) -> (String, Duration) {
    wait_for(
        &format!("ringlb to log a line with {parts:?} (RUST_LOG must include info)"),
        limit,
        || {
            let log = lb.log();
            let line = log
                .get(from..)?
                .lines()
                .find(|l| parts.iter().all(|p| l.contains(p)))?
                .to_string();
            Some((line, since.elapsed()))
        },
    )
}

#[test]
fn killed_container_is_replaced_and_serves_its_keys_again() {
    let fx = Fixture::new("kill");
    let mut lb = Ringlb::start(&fx.config(&["Server1", "Server2", "Server3"], ""));
    let id = id_routed_to(&lb, "Server2");
    let old = fx.inspect("Server2")["Id"]
        .as_str()
        .expect("id")
        .to_string();

    let from = lb.log().len();
    let killed = Instant::now();
    let (status, text) = engine(
        "POST",
        &format!("/containers/{old}/kill?signal=SIGKILL"),
        None,
    )
    .expect("kill");
    assert_eq!(status, 204, "{text}");
    let (_, down) = log_line(
        &lb,
        from,
        killed,
        REPLACED_WITHIN,
        &["replica Server2 down"],
    );
    let (up_line, up) = log_line(
        &lb,
        from,
        killed,
        REPLACED_WITHIN,
        &["replica Server2 up on ", "(replaced Server2 in "],
    );
    // ringlb's own figure: from starting the replacement to its first
    // answered heartbeat.
    let replace_ms: u64 = up_line
        .rsplit_once("(replaced Server2 in ")
        .and_then(|(_, rest)| rest.strip_suffix(" ms)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no figure in {up_line:?}"));
    eprintln!(
        "docker kill -> ringlb logs down after {down:?}, up after {up:?} \
         (ringlb: replaced in {replace_ms} ms)"
    );
    assert!(
        up < REPLACED_WITHIN && Duration::from_millis(replace_ms) < REPLACED_WITHIN,
        "replacement took {up:?} (ringlb: {replace_ms} ms), over {REPLACED_WITHIN:?}"
    );

    // The new container serves the key again (ringlb has published the ring
    // with it by the time it logs "up"; no timing asserted here).
    wait_for(
        "the replacement Server2 to answer its key through ringlb",
        Duration::from_secs(5),
        || {
            let (status, body) = lb.home(id);
            (status == 200 && server_of(&body) == "Server2").then_some(())
        },
    );
    let now = fx.inspect("Server2");
    assert_ne!(now["Id"].as_str().expect("id"), old, "not a new container");
    assert_eq!(now["State"]["Running"], true);
    // The dead container is gone, not just stopped.
    assert!(!fx.containers().iter().any(|c| c.1 == old));
    assert_containers_match(&fx, &lb);
    let restarts = lb.verbose()["message"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .find(|d| d["hostname"] == "Server2")
        .expect("Server2")["restarts"]
        .clone();
    assert_eq!(restarts, 1);

    // SIGINT cleans up too.
    lb.stop(libc::SIGINT);
    assert_eq!(fx.containers(), Vec::<(String, String, bool)>::new());
}

/// Replica name -> container id of the test's running containers.
fn container_ids(fx: &Fixture) -> BTreeMap<String, String> {
    fx.containers()
        .into_iter()
        .filter(|c| c.2)
        .map(|c| (c.0, c.1))
        .collect()
}

#[test]
fn containers_left_by_a_crashed_run_are_adopted_inside_the_desired_set() {
    let fx = Fixture::new("stale");
    // What a `kill -9`ed ringlb leaves: containers with its owner label,
    // one running under a name the new run wants, one under a name it does
    // not want, one that is not running.
    let mut left = BTreeMap::new();
    for (name, start) in [("Server1", true), ("old7", true), ("Server9", false)] {
        let created = engine_json(
            "POST",
            &format!("/containers/create?name={}{name}", fx.prefix),
            Some(&json!({
                "Image": fx.image,
                "Env": [format!("SERVER_ID={name}")],
                "Labels": { "ringlb.owner": fx.owner, "ringlb.name": name },
                "HostConfig": { "NetworkMode": fx.network },
            })),
        );
        let id = created["Id"].as_str().expect("id").to_string();
        if start {
            engine_json("POST", &format!("/containers/{id}/start"), None);
        }
        left.insert(name, id);
    }

    let mut lb = Ringlb::start(&fx.config(&["Server1", "Server2"], ""));
    let now = container_ids(&fx);
    assert_eq!(now.keys().collect::<Vec<_>>(), ["Server1", "Server2"]);
    assert_eq!(now["Server1"], left["Server1"], "Server1 was not adopted");
    assert!(!left.values().any(|id| *id == now["Server2"]));
    // Nothing else is left: not the unwanted one, not the stopped one.
    assert_eq!(fx.containers().len(), 2, "{:?}", fx.containers());
    assert!(lb.log().contains("replica Server1 adopted"), "{}", lb.log());
    // The adopted replica serves.
    let id = id_routed_to(&lb, "Server1");
    assert_eq!(lb.home(id).0, 200);
    lb.stop(libc::SIGTERM);
    assert_eq!(fx.containers(), Vec::<(String, String, bool)>::new());
}

#[test]
fn after_kill_9_the_next_start_keeps_the_healthy_containers() {
    let fx = Fixture::new("kill9");
    let section = fx.config(&["Server1", "Server2", "Server3"], "");
    let mut lb = Ringlb::start(&section);
    // Outside the configured set: the next start removes it.
    let (status, body) = lb.change(
        reqwest::Method::POST,
        "/add",
        r#"{"n": 1, "hostnames": ["Server4"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let before = container_ids(&fx);
    assert_eq!(before.len(), 4);
    let ids: Vec<u64> = (300_000..300_200).collect();
    lb.stop_within(libc::SIGKILL, Duration::from_secs(10));
    // ringlb is gone, its containers are not.
    assert_eq!(container_ids(&fx), before);
    // And one of them dies meanwhile.
    engine_json(
        "POST",
        &format!("/containers/{}/kill?signal=SIGKILL", before["Server2"]),
        None,
    );

    let mut lb = Ringlb::start(&section);
    let after = container_ids(&fx);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        ["Server1", "Server2", "Server3"]
    );
    assert_eq!(after["Server1"], before["Server1"], "Server1 not adopted");
    assert_eq!(after["Server3"], before["Server3"], "Server3 not adopted");
    assert_ne!(
        after["Server2"], before["Server2"],
        "the dead Server2 was kept"
    );
    assert!(
        !fx.containers().iter().any(|c| c.1 == before["Server4"]),
        "Server4 (not in the desired set) was not removed"
    );
    for id in ids {
        assert_eq!(lb.home(id).0, 200);
    }
    lb.stop(libc::SIGTERM);
    assert_eq!(fx.containers(), Vec::<(String, String, bool)>::new());
}

#[test]
fn upgrade_under_load_adopts_the_running_containers() {
    let fx = Fixture::new("upgrade");
    let dir = tempfile::tempdir().expect("tempdir");
    let pingora = format!("upgrade_sock: {}/upgrade.sock", dir.path().display());
    let section = fx.config(&["Server1", "Server2", "Server3"], "");
    let mut old = Ringlb::start_with(&section, &pingora);
    let before = container_ids(&fx);
    assert_eq!(before.len(), 3);
    let ids: Vec<u64> = (400_000..400_200).collect();
    let owners: Vec<String> = ids.iter().map(|&id| old.owner(id)).collect();

    let url = old.url("/home");
    let load = std::thread::spawn(move || common::load::run(url, 300, Duration::from_secs(10)));
    wait_for("load to reach ringlb", Duration::from_secs(10), || {
        let served: f64 = common::scrape::samples(&old.metrics(), "ringlb_requests_total")
            .iter()
            .map(|s| s.value)
            .sum();
        (served >= 200.0 + ids.len() as f64).then_some(())
    });
    let mut new = old.upgrade_to(&section, &pingora);
    let stopped = old.inner.wait_exit(Duration::from_secs(30));
    assert!(
        stopped.by_itself && stopped.status.is_some_and(|s| s.success()),
        "{stopped:?}\n{}",
        old.log()
    );
    let samples = load.join().expect("load thread");
    let failed: Vec<_> = samples.iter().filter(|s| s.status != 200).collect();
    eprintln!(
        "{} requests during the upgrade, {} failed",
        samples.len(),
        failed.len()
    );
    assert!(samples.len() > 1_500, "only {} requests", samples.len());
    assert!(
        failed.is_empty(),
        "failed requests: {:?}",
        &failed[..failed.len().min(5)]
    );
    // The same containers, not new ones; the same ring.
    assert_eq!(container_ids(&fx), before);
    assert_eq!(
        ids.iter().map(|&id| new.owner(id)).collect::<Vec<_>>(),
        owners
    );
    assert!(
        old.log()
            .contains("upgrade: done, the new process serves the replicas"),
        "{}",
        old.log()
    );
    new.stop(libc::SIGTERM);
    assert_eq!(fx.containers(), Vec::<(String, String, bool)>::new());
}

#[test]
fn missing_network_or_image_fails_start_with_a_clear_error() {
    let fx = Fixture::new("missing");
    for (what, yaml, expect) in [
        (
            "network",
            fx.config(&["Server1"], "")
                .replace(&fx.network, "ringlb-test-no-such-net"),
            "docker network \"ringlb-test-no-such-net\" does not exist",
        ),
        (
            "image",
            fx.config(&["Server1"], "")
                .replace(&fx.image, "ringlb-test-no-such-image:1"),
            "docker image \"ringlb-test-no-such-image:1\" does not exist",
        ),
    ] {
        let mut launch = Launch::new(common::bin("ringlb"), common::config(&yaml, ""));
        launch.ready_within = Duration::from_secs(20);
        match ringlb_harness::Ringlb::launch(&launch) {
            Err(LaunchError::Exited { status, log }) => {
                assert!(
                    log.contains(expect),
                    "{what}: ringlb exited ({status}): {log}"
                );
            }
            Err(e) => panic!("{what}: ringlb did not give up: {e}"),
            Ok(lb) => panic!("{what}: ringlb started: {}", lb.log()),
        }
    }
    assert_eq!(fx.containers(), Vec::<(String, String, bool)>::new());
}

#[test]
fn a_sigquit_that_no_new_process_answers_stops_the_containers() {
    // Pingora's old process exits after a SIGQUIT even when no `-u`
    // process takes the sockets; its containers must not be left behind
    // for nobody.
    let fx = Fixture::new("orphan");
    let dir = tempfile::tempdir().expect("tempdir");
    let pingora = format!("upgrade_sock: {}/upgrade.sock", dir.path().display());
    let mut lb = Ringlb::start_with(&fx.config(&["Server1", "Server2"], ""), &pingora);
    assert_eq!(container_ids(&fx).len(), 2);
    let stopped = lb.stop_within(libc::SIGQUIT, Duration::from_secs(40));
    assert!(stopped.by_itself, "{}", lb.log());
    assert!(
        lb.log().contains("no new process took over"),
        "{}",
        lb.log()
    );
    assert_eq!(fx.containers(), Vec::<(String, String, bool)>::new());
}
