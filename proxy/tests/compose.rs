//! `make compose` end to end: the deployment the README tells a user to
//! start is itself tested, not only the `docker` provisioner under it
//! (docker.rs). The test runs the real `make compose` (static release build,
//! both `FROM scratch` images, `docker-compose up -d`), sends the curl
//! commands of the README's compose section and of the seed assignment's
//! README verbatim (only the port differs), checks each status and the
//! exact JSON bytes, then runs `make compose-down` and checks that nothing
//! of its stack is left.
//!
//! Beside anyone's `make compose` on :5000: the stack publishes a free port
//! (`RINGLB_PORT=0`) and has its own compose project, container name,
//! network, and a copy of conf/compose.yaml that differs only in the
//! replicas' network, container-name prefix and owner label; all of them
//! carry the test's pid. The images (`ringlb:latest`, `ringlb-backend:latest`)
//! are `make compose`'s own and stay, as after a user's run.
//!
//! Teardown: a guard runs `make compose-down` and then removes by label
//! whatever is still there, also when the test panics; a stack left by a
//! run that was killed outright (its pid gone) is removed when the next run
//! starts. No Docker Engine is a failure, as in docker.rs (`make test` runs
//! `make docker-up` first).
//!
//! Time: the first static release build (fat LTO) is most of it, about
//! 5 minutes on two cores; with the build up to date the test takes seconds.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::cli::{conf_with, docker, run, workspace};
use ringlb_harness::{http, is_alive, wait_for};

/// The Engine's socket, as in docker.rs (`RINGLB_TEST_DOCKER_SOCKET`
/// overrides it; the docker CLI and docker-compose then use it too, while
/// the ringlb container still mounts /var/run/docker.sock).
fn socket() -> String {
    std::env::var("RINGLB_TEST_DOCKER_SOCKET").unwrap_or_else(|_| "/var/run/docker.sock".into())
}

fn engine_answers() -> bool {
    let Ok(mut s) = UnixStream::connect(socket()) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    if s.write_all(b"GET /v1.41/_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    s.read_to_string(&mut answer).is_ok() && answer.starts_with("HTTP/1.") && answer.ends_with("OK")
}

/// Stack names carry this prefix and the pid of the test that made them.
const PROJECT: &str = "ringlbtest";

/// One test stack's names; all derived from a pid.
struct Names {
    project: String,
    container: String,
    network: String,
    owner: String,
    prefix: String,
}

impl Names {
    fn of(pid: u32) -> Names {
        Names {
            project: format!("{PROJECT}{pid}"),
            container: format!("ringlb-test-{pid}"),
            network: format!("ringlb-test-net-{pid}"),
            owner: format!("ringlb-compose-test-{pid}"),
            prefix: format!("rlbc{pid}-"),
        }
    }
}

/// Containers, networks and image tags of stack `n` still present.
fn leftovers(n: &Names) -> Vec<String> {
    let mut left = Vec::new();
    for filter in [
        format!("label=ringlb.owner={}", n.owner),
        format!("label=com.docker.compose.project={}", n.project),
    ] {
        for c in docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]) {
            left.push(format!("container {c}"));
        }
    }
    for c in docker(&["ps", "-a", "--format", "{{.Names}}"]) {
        if c == n.container || c.starts_with(&n.prefix) {
            left.push(format!("container {c}"));
        }
    }
    // compose v1 would call its own networks and images `<project>_...`.
    let compose_own = format!("{}_", n.project);
    for net in docker(&["network", "ls", "--format", "{{.Name}}"]) {
        if net == n.network || net.starts_with(&compose_own) {
            left.push(format!("network {net}"));
        }
    }
    for image in docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]) {
        if image.starts_with(&compose_own) {
            left.push(format!("image {image}"));
        }
    }
    left.sort();
    left.dedup();
    left
}

/// Removes whatever of stack `n` is left, by label and name (the backstop
/// after `make compose-down`, and for stacks of killed runs). ringlb's own
/// container goes first: a ringlb still running would replace the replicas
/// removed before it.
fn remove(n: &Names) {
    for filter in [
        format!("label=com.docker.compose.project={}", n.project),
        format!("label=ringlb.owner={}", n.owner),
    ] {
        for id in docker(&["ps", "-aq", "--filter", &filter]) {
            eprintln!("removing container {id} ({filter})");
            run("docker", &["rm", "-f", "-v", &id]);
        }
    }
    if docker(&["network", "ls", "--format", "{{.Name}}"]).contains(&n.network) {
        eprintln!("removing network {}", n.network);
        let out = run("docker", &["network", "rm", &n.network]);
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// Stacks of earlier runs that were killed before their guard ran.
fn remove_stacks_of_dead_runs() {
    let labels = docker(&[
        "ps",
        "-a",
        "--filter",
        "label=com.docker.compose.project",
        "--format",
        "{{.Label \"com.docker.compose.project\"}}",
    ]);
    let owners = docker(&[
        "ps",
        "-a",
        "--filter",
        "label=ringlb.owner",
        "--format",
        "{{.Label \"ringlb.owner\"}}",
    ]);
    let networks = docker(&["network", "ls", "--format", "{{.Name}}"]);
    let mut pids: Vec<u32> = labels
        .iter()
        .filter_map(|p| p.strip_prefix(PROJECT))
        .chain(
            owners
                .iter()
                .filter_map(|o| o.strip_prefix("ringlb-compose-test-")),
        )
        .chain(
            networks
                .iter()
                .filter_map(|n| n.strip_prefix("ringlb-test-net-")),
        )
        .filter_map(|pid| pid.parse().ok())
        .filter(|pid| !is_alive(*pid))
        .collect();
    pids.sort();
    pids.dedup();
    for pid in pids {
        eprintln!("removing the stack of an earlier run (pid {pid}, gone)");
        let names = Names::of(pid);
        remove(&names);
        assert_eq!(
            leftovers(&names),
            Vec::<String>::new(),
            "could not remove the stack of an earlier run (pid {pid})"
        );
    }
}

/// A test stack: brought down on drop, pass or fail.
struct Stack {
    names: Names,
    dir: tempfile::TempDir,
    conf: PathBuf,
    down: bool,
}

impl Stack {
    /// Names and config for this process's stack (nothing started yet).
    fn new() -> Stack {
        let names = Names::of(std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("ringlb-compose-")
            .tempdir()
            .expect("tempdir");
        let conf = dir.path().join("ringlb.yaml");
        std::fs::write(&conf, test_conf(&names)).expect("write the config");
        Stack {
            names,
            dir,
            conf,
            down: false,
        }
    }

    /// `make <target>` for this stack (its variables set, output in a
    /// file); success and output.
    fn make(&self, target: &str, limit: Duration) -> (bool, String) {
        let n = &self.names;
        let log_path = self.dir.path().join(format!("make-{target}.log"));
        let log = File::create(&log_path).expect("make log");
        let mut cmd = Command::new("timeout");
        cmd.arg(limit.as_secs().to_string())
            .args(["make", "--no-print-directory", "-C"])
            .arg(workspace())
            .arg(target)
            .arg(format!("OWNER={}", n.owner))
            .env("COMPOSE_PROJECT_NAME", &n.project)
            .env("RINGLB_PORT", "0")
            .env("RINGLB_CONTAINER", &n.container)
            .env("RINGLB_NETWORK", &n.network)
            .env("RINGLB_CONF", &self.conf)
            // Not the outer make's jobserver or flags, nor cargo's build
            // settings for this test.
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS")
            .env_remove("MAKELEVEL")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        if let Ok(s) = std::env::var("RINGLB_TEST_DOCKER_SOCKET") {
            cmd.env("DOCKER_HOST", format!("unix://{s}"));
        }
        let status = cmd.status().expect("run make");
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        (status.success(), output)
    }

    /// The host port docker published for ringlb's 5000.
    fn port(&self) -> u16 {
        let lines = docker(&["port", &self.names.container, "5000/tcp"]);
        lines
            .first()
            .and_then(|l| l.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("no published port for 5000: {lines:?}"))
    }

    /// `make compose-down`, then the backstop; the make output.
    fn down(&mut self) -> (bool, String) {
        self.down = true;
        let result = self.make("compose-down", Duration::from_secs(120));
        remove(&self.names);
        result
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.down {
            return;
        }
        if std::thread::panicking() {
            let logs = run("docker", &["logs", "--tail", "60", &self.names.container]);
            eprintln!(
                "--- docker logs {} (last 60 lines) ---\n{}{}",
                self.names.container,
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
        }
        let (ok, out) = self.down();
        if !ok {
            eprintln!("make compose-down failed:\n{out}");
        }
    }
}

/// conf/compose.yaml with this stack's network, name prefix and owner
/// (each key must be there exactly once, so a change to the file that
/// would make the copy collide with `make compose` fails here).
fn test_conf(n: &Names) -> String {
    conf_with(
        "compose.yaml",
        &[
            ("network: ringlb-net\n", format!("network: {}\n", n.network)),
            (
                "name_prefix: \"\"\n",
                format!("name_prefix: \"{}\"\n", n.prefix),
            ),
            ("owner: ringlb-compose\n", format!("owner: {}\n", n.owner)),
        ],
    )
}

/// Runs a README curl command verbatim but for the port; (status, body).
fn curl(command: &str, port: u16) -> (u16, String) {
    assert!(command.contains("localhost:5000"), "{command}");
    let line = format!(
        "{} -sS --max-time 20 -w '\\n%{{http_code}}'",
        command.replace("localhost:5000", &format!("localhost:{port}"))
    );
    let out = Command::new("sh")
        .args(["-c", &line])
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{line}: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, status) = text.rsplit_once('\n').expect("status line");
    (
        status.parse().unwrap_or_else(|_| panic!("{line}: {text}")),
        body.to_string(),
    )
}

/// `{"message": {"N": n, "replicas": [...]}, "status": "successful"}` as
/// ringlb writes it (Python's separators).
fn listing(replicas: &[&str]) -> String {
    let list: Vec<String> = replicas.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        r#"{{"message": {{"N": {}, "replicas": [{}]}}, "status": "successful"}}"#,
        replicas.len(),
        list.join(", ")
    )
}

/// The replica named in a `/home` answer, whose bytes must be exactly the
/// assignment's.
fn home_answer(body: &str) -> String {
    body.strip_prefix(r#"{"message": "Hello from Server: "#)
        .and_then(|rest| rest.strip_suffix(r#"", "status": "successful"}"#))
        .filter(|name| !name.contains('"'))
        .unwrap_or_else(|| panic!("not a replica's /home answer: {body}"))
        .to_string()
}

/// The replicas' containers (by this stack's owner label), as hostnames.
fn running_replicas(n: &Names) -> Vec<String> {
    let mut names: Vec<String> = docker(&[
        "ps",
        "--filter",
        &format!("label=ringlb.owner={}", n.owner),
        "--format",
        "{{.Names}}",
    ])
    .into_iter()
    .map(|c| {
        c.strip_prefix(&n.prefix)
            .unwrap_or_else(|| panic!("container {c} lacks prefix {}", n.prefix))
            .to_string()
    })
    .collect();
    names.sort();
    names
}

/// The last `n` bytes of `s` or a little fewer (on a char boundary).
fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn make_compose_serves_the_readme_and_seed_curls_and_comes_down_clean() {
    assert!(
        engine_answers(),
        "no Docker Engine answers at {} (GET /_ping): start one (`make docker-up`, \
         which `make test` runs first); to leave the Docker tests out on purpose: \
         cargo nextest run -E 'not (binary(docker) | binary(compose))'",
        socket()
    );
    remove_stacks_of_dead_runs();
    let mut stack = Stack::new();
    let n = Names::of(std::process::id());
    assert_eq!(leftovers(&n), Vec::<String>::new(), "before the test");

    // The deployment, exactly as a user starts it (with its variables).
    let began = Instant::now();
    let (ok, out) = stack.make("compose", Duration::from_secs(1200));
    let took = began.elapsed();
    let tail = tail(&out, 6000);
    assert!(ok, "make compose failed after {took:?}:\n{tail}");
    eprintln!("make compose (build, images, up -d) took {took:?}");
    let port = stack.port();
    assert!(
        out.contains(&format!("ringlb is up on :{port}")),
        "make compose names the port: {tail}"
    );

    // Up: ringlb has started its three replicas and answers on the port.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let initial = listing(&["replica1", "replica2", "replica3"]);
    let ready = Instant::now();
    wait_for(
        "ringlb in the stack to list its 3 replicas",
        Duration::from_secs(60),
        || {
            http::get(addr, "/rep", Duration::from_secs(5))
                .ok()
                .filter(|r| r.status == 200 && r.text() == initial)
        },
    );
    eprintln!("serving {:?} after `up -d` returned", ready.elapsed());
    // Published on the host's loopback only; a curl from the host arrives
    // from the network's gateway, which ringlb takes for this host (so the
    // /add and /rm below work without a token).
    let published = docker(&["port", &n.container, "5000/tcp"]);
    assert!(
        !published.is_empty() && published.iter().all(|l| l.starts_with("127.0.0.1:")),
        "published beyond loopback: {published:?}"
    );
    let logs = run("docker", &["logs", &n.container]);
    let logs = String::from_utf8_lossy(&logs.stderr);
    assert!(
        logs.contains("admin changes (/add, /rm) only from this host (loopback, "),
        "ringlb does not know its network's gateway:\n{logs}"
    );
    assert_eq!(
        running_replicas(&n),
        sorted(&["replica1", "replica2", "replica3"])
    );

    // The README's compose section.
    let (status, body) = curl("curl http://localhost:5000/home", port);
    assert_eq!(status, 200, "{body}");
    let served = home_answer(&body);
    assert!(
        ["replica1", "replica2", "replica3"].contains(&served.as_str()),
        "{body}"
    );
    assert_eq!(
        curl("curl http://localhost:5000/rep", port),
        (200, initial.clone())
    );
    let (status, body) = curl(
        r#"curl -X POST -H "Content-Type: application/json" -d '{"n": 2, "hostnames": ["S5"]}' http://localhost:5000/add"#,
        port,
    );
    assert_eq!(status, 200, "{body}");
    // n = 2 with one name: the other is generated (replica + 6 digits).
    let generated = body
        .split('"')
        .find(|s| {
            s.len() == 13 && s.starts_with("replica") && s[7..].bytes().all(|b| b.is_ascii_digit())
        })
        .unwrap_or_else(|| panic!("no generated name in {body}"))
        .to_string();
    let five = ["replica1", "replica2", "replica3", "S5", generated.as_str()];
    assert_eq!(body, listing(&five));
    // `docker ps --filter label=ringlb.owner=...`: the replicas.
    assert_eq!(running_replicas(&n), sorted(&five));

    // The seed assignment's README, verbatim.
    let (status, body) = curl(
        r#"curl -X POST -H "Content-Type: application/json" -d '{"n": 3, "hostnames": ["Server0", "Server1", "Server2"]}' http://localhost:5000/add"#,
        port,
    );
    assert_eq!(status, 200, "{body}");
    let eight = [&five[..], &["Server0", "Server1", "Server2"]].concat();
    assert_eq!(body, listing(&eight));
    let (status, body) = curl(
        r#"curl -X DELETE -H "Content-Type: application/json" -d '{"n": 2, "hostnames": ["Server0", "Server1"]}' http://localhost:5000/rm"#,
        port,
    );
    assert_eq!(status, 200, "{body}");
    let six = [&five[..], &["Server2"]].concat();
    assert_eq!(body, listing(&six));
    assert_eq!(
        curl("curl http://localhost:5000/get", port),
        (200, listing(&six))
    );
    assert_eq!(
        curl("curl http://localhost:5000/rep", port),
        (200, listing(&six))
    );
    assert_eq!(running_replicas(&n), sorted(&six));
    for _ in 0..5 {
        let (status, body) = curl("curl http://localhost:5000/home", port);
        assert_eq!(status, 200, "{body}");
        let served = home_answer(&body);
        assert!(six.contains(&served.as_str()), "{body}");
    }

    // Down: ringlb removes its replicas on SIGTERM (compose-down's sweep
    // finds none), then the network goes; nothing of the stack is left.
    let stopping = Instant::now();
    let (ok, out) = stack.down();
    assert!(ok, "make compose-down failed:\n{out}");
    eprintln!("make compose-down took {:?}", stopping.elapsed());
    assert!(
        !out.contains("removing leftover replicas"),
        "ringlb left replicas for compose-down to remove:\n{out}"
    );
    assert_eq!(
        leftovers(&n),
        Vec::<String>::new(),
        "after make compose-down"
    );
}
