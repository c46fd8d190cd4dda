//! Config parsing and validation.

use std::path::Path;

use super::*;
use crate::provision::ProvisionerSettings;
use crate::ring::FamilyKind;

fn parse(yaml: &str) -> Result<Settings, ConfigError> {
    Settings::from_yaml(yaml, "test.yaml")
}

fn err(yaml: &str) -> String {
    parse(yaml).unwrap_err().to_string()
}

/// The README promises "an error naming the file and the key": the error
/// for `yaml` must read `test.yaml: <full key path>: <why>`. Returns the
/// why.
fn err_at(yaml: &str, key: &str) -> String {
    let e = err(yaml);
    let prefix = format!("test.yaml: {key}: ");
    assert!(
        e.starts_with(&prefix),
        "{yaml:?} -> {e:?}, expected it to start with {prefix:?}"
    );
    e[prefix.len()..].to_string()
}

/// An unknown key is named by its section's full path and its own name:
/// `test.yaml: <section>: unknown field `<name>`, ...`.
fn assert_unknown(yaml: &str, section: &str, name: &str) {
    let why = err_at(yaml, section);
    assert!(
        why.starts_with(&format!("unknown field `{name}`")),
        "{yaml:?} -> {why:?}"
    );
}

#[test]
fn shipped_configs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf");
    let d = Settings::load(&root.join("ringlb.yaml")).unwrap();
    assert_eq!(d.listen.port(), 5000);
    assert_eq!(d.ring.family, FamilyKind::Strong);
    assert_eq!(d.replicas.initial.len(), 3);
    let a = Settings::load(&root.join("assignment.yaml")).unwrap();
    assert_eq!((a.ring.slots, a.ring.vnodes), (512, 9));
    assert_eq!(a.ring.family, FamilyKind::Spec);
    assert_eq!(a.replicas.initial, ["Server1", "Server2", "Server3"]);
}

#[test]
fn everything_has_a_default() {
    let s = parse("version: 1\n").unwrap();
    assert_eq!(s.listen.to_string(), "0.0.0.0:5000");
    assert_eq!(s.admin.listen.to_string(), "127.0.0.1:5050");
    assert_eq!(s.key, KeySource::Header("x-request-id".into()));
    assert_eq!(s.routes, ["/home", "/heartbeat"]);
    assert!(s.admin.on_proxy_port);
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    assert_unknown("ringlb:\n  ring:\n    slot: 5\n", "ringlb.ring", "slot");
    assert_unknown("ringlb:\n  lisen: x\n", "ringlb", "lisen");
}

#[test]
fn wrong_types_are_errors_naming_the_key() {
    for (yaml, key) in [
        ("ringlb:\n  ring:\n    vnodes: many\n", "ringlb.ring.vnodes"),
        ("ringlb:\n  routes: /home\n", "ringlb.routes"),
    ] {
        let why = err_at(yaml, key);
        assert!(why.starts_with("invalid type: "), "{yaml:?} -> {why:?}");
    }
}

#[test]
fn impossible_values_are_errors_naming_the_key() {
    for (yaml, key) in [
        ("ringlb:\n  ring:\n    vnodes: 0\n", "ringlb.ring.vnodes"),
        ("ringlb:\n  ring:\n    slots: 0\n", "ringlb.ring.slots"),
        ("ringlb:\n  ring:\n    family: md5\n", "ringlb.ring.family"),
        (
            "ringlb:\n  ring:\n    family: polynomial\n",
            "ringlb.ring.polynomial",
        ),
        ("ringlb:\n  listen: nowhere\n", "ringlb.listen"),
        ("ringlb:\n  key:\n    source: query\n", "ringlb.key.name"),
        ("ringlb:\n  key:\n    source: tarot\n", "ringlb.key.source"),
        ("ringlb:\n  routes: [home]\n", "ringlb.routes"),
        (
            "ringlb:\n  health:\n    failures: 0\n",
            "ringlb.health.failures",
        ),
        (
            "ringlb:\n  health:\n    interval_ms: 1\n",
            "ringlb.health.interval_ms",
        ),
        (
            "ringlb:\n  replicas:\n    initial: [a, a]\n",
            "ringlb.replicas.initial",
        ),
        (
            "ringlb:\n  replicas:\n    initial: ['bad name']\n",
            "ringlb.replicas.initial",
        ),
        (
            "ringlb:\n  replicas:\n    provisioner: cloud\n",
            "ringlb.replicas.provisioner",
        ),
        (
            "ringlb:\n  upstream:\n    connect_retries: 99\n",
            "ringlb.upstream.connect_retries",
        ),
        (
            "ringlb:\n  admin:\n    max_body_bytes: 0\n",
            "ringlb.admin.max_body_bytes",
        ),
    ] {
        err_at(yaml, key);
    }
}

#[test]
fn capacity_is_checked_at_load() {
    let why = err_at(
        "ringlb:\n  ring:\n    slots: 16\n    vnodes: 9\n    family: spec\n  replicas:\n    initial: [a, b]\n",
        "ringlb.replicas.initial",
    );
    assert!(why.contains("ring capacity exceeded"), "{why}");
}

#[test]
fn polynomial_and_key_sources() {
    let s = parse(
        "ringlb:\n  ring:\n    slots: 512\n    vnodes: 9\n    family: polynomial\n    polynomial:\n      request: [1, 3, 5]\n      vnode: [1, 0, 2, 3, 7]\n  key:\n    source: cookie\n    name: sid\n",
    )
    .unwrap();
    assert!(matches!(s.ring.family, FamilyKind::Polynomial(_)));
    assert_eq!(s.key, KeySource::Cookie("sid".into()));
    let s = parse("ringlb:\n  key:\n    source: header\n    name: X-User\n").unwrap();
    assert_eq!(s.key, KeySource::Header("x-user".into()));
    let s =
        parse("ringlb:\n  replicas:\n    provisioner: static\n    initial: ['127.0.0.1:8080']\n")
            .unwrap();
    assert_eq!(s.replicas.provisioner, ProvisionerSettings::Static);
}

#[test]
fn docker_provisioner_defaults_and_compose_config() {
    let s = parse("ringlb:\n  replicas:\n    provisioner: docker\n").unwrap();
    let ProvisionerSettings::Docker(d) = &s.replicas.provisioner else {
        panic!("{:?}", s.replicas.provisioner);
    };
    assert_eq!(d.socket, Path::new("/var/run/docker.sock"));
    assert_eq!(d.image, "ringlb-backend:latest");
    assert_eq!(d.network, "ringlb-net");
    assert_eq!((d.name_prefix.as_str(), d.port), ("", 5000));
    assert_eq!(d.owner, "ringlb");
    assert_eq!(s.replicas.initial, ["replica1", "replica2", "replica3"]);

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf");
    let c = Settings::load(&root.join("compose.yaml")).unwrap();
    let ProvisionerSettings::Docker(d) = &c.replicas.provisioner else {
        panic!("compose.yaml must use the docker provisioner");
    };
    assert_eq!(
        (d.network.as_str(), d.owner.as_str()),
        ("ringlb-net", "ringlb-compose")
    );
    assert_eq!(c.listen.port(), 5000);
    assert!(c.admin.on_proxy_port);
    assert_eq!(c.replicas.initial.len(), 3);

    let s = parse(
        "ringlb:\n  replicas:\n    provisioner: docker\n    initial: [S1]\n    docker:\n      socket: /run/d.sock\n      image: reg/x:1\n      network: net_1\n      name_prefix: t1-\n      port: 8080\n      owner: me\n",
    )
    .unwrap();
    let ProvisionerSettings::Docker(d) = &s.replicas.provisioner else {
        panic!();
    };
    assert_eq!(d.socket, Path::new("/run/d.sock"));
    assert_eq!((d.image.as_str(), d.network.as_str()), ("reg/x:1", "net_1"));
    assert_eq!(
        (d.name_prefix.as_str(), d.port, d.owner.as_str()),
        ("t1-", 8080, "me")
    );
}

#[test]
fn swarm_provisioner_defaults_errors_and_stack_config() {
    let s = parse("ringlb:\n  replicas:\n    provisioner: swarm\n").unwrap();
    let ProvisionerSettings::Swarm(w) = &s.replicas.provisioner else {
        panic!("{:?}", s.replicas.provisioner);
    };
    assert_eq!(w.socket, Path::new("/var/run/docker.sock"));
    assert_eq!(
        (w.network.as_str(), w.owner.as_str()),
        ("ringlb-swarm", "ringlb-swarm"),
        "not the docker provisioner's owner: one of those would remove these replicas"
    );
    assert_eq!(s.replicas.initial, ["replica1", "replica2", "replica3"]);

    // The stack's config (its token file exists only inside the task).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf");
    let text = std::fs::read_to_string(root.join("swarm.yaml")).unwrap();
    let c = parse(&text).unwrap();
    let ProvisionerSettings::Swarm(w) = &c.replicas.provisioner else {
        panic!("swarm.yaml must use the swarm provisioner");
    };
    assert_eq!(
        (w.network.as_str(), w.owner.as_str()),
        ("ringlb-swarm", "ringlb-swarm")
    );
    assert_eq!(
        c.admin.access.token_file.as_deref(),
        Some(Path::new("/run/secrets/ringlb_admin_token"))
    );

    let swarm = |body: &str| format!("ringlb:\n  replicas:\n    provisioner: swarm\n{body}");
    assert_unknown(
        &swarm("    swarm:\n      sock: /x\n"),
        "ringlb.replicas.swarm",
        "sock",
    );
    assert!(err(&swarm("    swarm:\n      socket: rel\n")).contains("ringlb.replicas.swarm.socket"));
    // Service names are DNS labels: no '_' in a hostname.
    assert!(err(&swarm("    initial: [a_b]\n")).contains("ringlb.replicas.initial"));
    assert!(err(&swarm("    docker:\n      port: 1\n")).contains("ringlb.replicas.docker"));
    let docker = "ringlb:\n  replicas:\n    provisioner: docker\n    swarm:\n      port: 1\n";
    assert!(err(docker).contains("only allowed when replicas.provisioner is swarm"));
}

#[test]
fn docker_and_swarm_keys_reject_bad_values_naming_the_key() {
    for section in ["docker", "swarm"] {
        let with = |body: &str| {
            format!("ringlb:\n  replicas:\n    provisioner: {section}\n    {section}:\n{body}")
        };
        let long = "x".repeat(300);
        for (body, key) in [
            ("      socket: relative\n".to_string(), "socket"),
            ("      socket: ''\n".to_string(), "socket"),
            ("      image: 'a b'\n".to_string(), "image"),
            ("      image: ''\n".to_string(), "image"),
            (format!("      image: {long}\n"), "image"),
            ("      network: 'my net'\n".to_string(), "network"),
            (format!("      network: {long}\n"), "network"),
            ("      name_prefix: -x\n".to_string(), "name_prefix"),
            (format!("      name_prefix: {long}\n"), "name_prefix"),
            ("      port: 0\n".to_string(), "port"),
            ("      port: 70000\n".to_string(), ""),
            ("      port: -1\n".to_string(), ""),
            ("      port: five\n".to_string(), ""),
            ("      owner: ''\n".to_string(), "owner"),
            (format!("      owner: {long}\n"), "owner"),
        ] {
            let yaml = with(&body);
            // "": a number out of range or of the wrong type fails in the
            // YAML decoding, which names the section.
            let at = match key {
                "" => format!("ringlb.replicas.{section}"),
                key => format!("ringlb.replicas.{section}.{key}"),
            };
            assert!(err(&yaml).contains(&at), "{yaml:?} -> {}", err(&yaml));
        }
    }
    // A Swarm service name has no '_' or '.', which containers allow.
    let swarm =
        "ringlb:\n  replicas:\n    provisioner: swarm\n    swarm:\n      name_prefix: t_1.\n";
    assert!(
        err(swarm).contains("ringlb.replicas.swarm.name_prefix"),
        "{}",
        err(swarm)
    );
    let docker =
        "ringlb:\n  replicas:\n    provisioner: docker\n    docker:\n      name_prefix: t_1.\n";
    assert!(parse(docker).is_ok());
}

#[test]
fn docker_provisioner_errors_name_the_key() {
    let docker = |body: &str| format!("ringlb:\n  replicas:\n    provisioner: docker\n{body}");
    assert_unknown(
        &docker("    docker:\n      sock: /x\n"),
        "ringlb.replicas.docker",
        "sock",
    );
    for (yaml, key) in [
        (
            docker("    docker:\n      socket: relative\n"),
            "ringlb.replicas.docker.socket",
        ),
        (
            docker("    docker:\n      image: 'a b'\n"),
            "ringlb.replicas.docker.image",
        ),
        (
            docker("    docker:\n      network: bridge\n"),
            "ringlb.replicas.docker.network",
        ),
        (
            docker("    docker:\n      network: 'my net'\n"),
            "ringlb.replicas.docker.network",
        ),
        (
            docker("    docker:\n      name_prefix: -x\n"),
            "ringlb.replicas.docker.name_prefix",
        ),
        (
            docker("    docker:\n      port: 0\n"),
            "ringlb.replicas.docker.port",
        ),
        (
            docker("    docker:\n      port: 70000\n"),
            "ringlb.replicas.docker.port",
        ),
        (
            docker("    docker:\n      owner: ''\n"),
            "ringlb.replicas.docker.owner",
        ),
        // Docker wants container names of 2+ characters starting alphanumeric.
        (docker("    initial: [a]\n"), "ringlb.replicas.initial"),
        (docker("    initial: [_a]\n"), "ringlb.replicas.initial"),
        (
            "ringlb:\n  replicas:\n    docker:\n      image: x\n".to_string(),
            "ringlb.replicas.docker",
        ),
    ] {
        err_at(&yaml, key);
    }
    // ringlb names the section here, not the key, and says which keys.
    let why = err_at(&docker("    bind: 127.0.0.1\n"), "ringlb.replicas");
    assert_eq!(
        why,
        "binary, bind and backend_threads only apply to the process provisioner"
    );
    // A prefix makes short names valid container names.
    assert!(parse(&docker(
        "    initial: [a]\n    docker:\n      name_prefix: t-\n"
    ))
    .is_ok());
}

#[test]
fn every_key_rejects_out_of_range_and_malformed_values() {
    for (yaml, key) in [
        ("ringlb:\n  admin:\n    max_body_bytes: 99999999999\n", "ringlb.admin.max_body_bytes"),
        ("ringlb:\n  admin:\n    listen: 5050\n", "ringlb.admin.listen"),
        ("ringlb:\n  ring:\n    slots: 18446744073709551615\n", "ringlb.ring.slots"),
        ("ringlb:\n  ring:\n    vnodes: 70000\n", "ringlb.ring.vnodes"),
        (
            "ringlb:\n  ring:\n    family: spec\n    polynomial: {request: [1, 2, 3], vnode: [1, 2, 3, 4, 5]}\n",
            "ringlb.ring.polynomial",
        ),
        ("ringlb:\n  key:\n    source: header\n    name: 'bad header'\n", "ringlb.key.name"),
        ("ringlb:\n  upstream:\n    read_timeout_ms: 0\n", "ringlb.upstream.read_timeout_ms"),
        ("ringlb:\n  upstream:\n    connect_timeout_ms: 99999999\n", "ringlb.upstream.connect_timeout_ms"),
        ("ringlb:\n  health:\n    timeout_ms: 0\n", "ringlb.health.timeout_ms"),
        ("ringlb:\n  health:\n    replacement_name: later\n", "ringlb.health.replacement_name"),
        ("ringlb:\n  replicas:\n    max: 0\n", "ringlb.replicas.max"),
        ("ringlb:\n  replicas:\n    max: 2\n", "ringlb.replicas.initial"),
        ("ringlb:\n  replicas:\n    bind: nowhere\n", "ringlb.replicas.bind"),
        ("ringlb:\n  replicas:\n    backend_threads: 0\n", "ringlb.replicas.backend_threads"),
        ("ringlb:\n  replicas:\n    start_timeout_ms: 1\n", "ringlb.replicas.start_timeout_ms"),
        ("ringlb:\n  replicas:\n    provisioner: static\n    initial: [nocolon]\n", "ringlb.replicas.initial"),
    ] {
        err_at(yaml, key);
    }
    let why = err_at(
        "ringlb:\n  replicas:\n    provisioner: static\n    binary: /bin/x\n",
        "ringlb.replicas",
    );
    assert_eq!(
        why,
        "binary, bind and backend_threads only apply to the process provisioner"
    );
}

#[test]
fn load_errors_name_the_file_as_given() {
    let dir = std::env::temp_dir().join(format!("ringlb-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(&path, "ringlb:\n  ring:\n    vnodes: 0\n").unwrap();
    let e = Settings::load(&path).unwrap_err().to_string();
    let missing = Settings::load(&dir.join("absent.yaml"))
        .unwrap_err()
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    let prefix = format!("{}: ringlb.ring.vnodes: ", path.display());
    assert!(e.starts_with(&prefix), "{e:?}, expected {prefix:?}...");
    let prefix = format!("{}: cannot read: ", dir.join("absent.yaml").display());
    assert!(
        missing.starts_with(&prefix),
        "{missing:?}, expected {prefix:?}..."
    );
}

#[test]
fn client_limits_have_defaults_and_bounds() {
    let s = parse("version: 1\n").unwrap();
    assert_eq!(s.clients, crate::clients::ClientSettings::default());
    let s = parse(
        "ringlb:\n  clients:\n    header_timeout_ms: 2000\n    idle_timeout_ms: 5000\n    body_timeout_ms: 700\n    max_connections: 100\n    max_per_client: 0\n    max_header_bytes: 8192\n    max_headers: 256\n    pipelining: false\n    read_buffer_bytes: 4096\n",
    )
    .unwrap();
    let c = &s.clients;
    assert_eq!(c.header_timeout.as_millis(), 2000);
    assert_eq!(c.idle_timeout.as_millis(), 5000);
    assert_eq!(c.body_timeout.as_millis(), 700);
    assert_eq!(c.max_connections, Some(100));
    assert_eq!(c.max_per_client, None, "0 means no per-client limit");
    assert_eq!((c.max_header_bytes, c.max_headers), (8192, 256));
    assert!(!c.pipelining);
    assert_eq!(c.read_buffer_bytes, 4096);
    for (yaml, key, why) in [
        (
            "read_buffer_bytes: 1048577",
            "read_buffer_bytes",
            "must be 0..=1048576, got 1048577",
        ),
        (
            "header_timeout_ms: 99",
            "header_timeout_ms",
            "must be 100..=3600000 ms, got 99",
        ),
        (
            "idle_timeout_ms: 999",
            "idle_timeout_ms",
            "must be 1000..=3600000 ms, got 999",
        ),
        (
            "body_timeout_ms: 3600001",
            "body_timeout_ms",
            "must be 100..=3600000 ms, got 3600001",
        ),
        (
            "max_connections: 0",
            "max_connections",
            "must be 1..=10000000 (leave it out to derive it from the open-file limit), got 0",
        ),
        (
            "max_header_bytes: 0",
            "max_header_bytes",
            "must be 1..=1048575, got 0",
        ),
        (
            "max_header_bytes: 1048576",
            "max_header_bytes",
            "must be 1..=1048575, got 1048576",
        ),
        (
            "max_headers: 257",
            "max_headers",
            "must be 1..=256, got 257",
        ),
    ] {
        let why_got = err_at(
            &format!("ringlb:\n  clients:\n    {yaml}\n"),
            &format!("ringlb.clients.{key}"),
        );
        assert_eq!(why_got, why, "{yaml}");
    }
    let why = err_at(
        "ringlb:\n  clients:\n    max_per_client: -1\n",
        "ringlb.clients.max_per_client",
    );
    assert!(
        why.starts_with("invalid type: integer `-1`, expected u32"),
        "{why}"
    );
    let why = err_at(
        "ringlb:\n  clients:\n    pipelining: maybe\n",
        "ringlb.clients.pipelining",
    );
    assert!(why.starts_with("invalid type"), "{why}");
    assert_unknown(
        "ringlb:\n  clients:\n    max_conns: 1\n",
        "ringlb.clients",
        "max_conns",
    );
}

#[test]
fn bounded_loads_and_maglev_are_checked() {
    let s = parse("version: 1\n").unwrap();
    assert_eq!(s.ring.bounded_load, None, "off by default");
    let s = parse("ringlb:\n  ring:\n    bounded_load: 1.25\n").unwrap();
    assert_eq!(s.ring.bounded_load, Some(1.25));
    assert_eq!(s.ring.bounded_walk, crate::select::Walk::Least);
    let s =
        parse("ringlb:\n  ring:\n    bounded_load: 1.5\n    bounded_walk: clockwise\n").unwrap();
    assert_eq!(s.ring.bounded_walk, crate::select::Walk::Clockwise);
    let s = parse("ringlb:\n  ring:\n    bounded_load: 1.5\n    bounded_walk: jump\n").unwrap();
    assert_eq!(s.ring.bounded_walk, crate::select::Walk::Jump);
    let s = parse("ringlb:\n  ring:\n    bounded_load: 1.25\n    bounded_walk: least\n").unwrap();
    assert_eq!(s.ring.bounded_walk, crate::select::Walk::Least);
    let why = err_at(
        "ringlb:\n  ring:\n    bounded_walk: sideways\n",
        "ringlb.ring.bounded_walk",
    );
    assert!(why.contains("must be clockwise, jump or least"), "{why}");
    for bad in ["0.99", "101", ".nan"] {
        let why = err_at(
            &format!("ringlb:\n  ring:\n    bounded_load: {bad}\n"),
            "ringlb.ring.bounded_load",
        );
        assert!(why.contains("must be a factor in 1.0..=100.0"), "{why}");
    }
    let s = parse("ringlb:\n  ring:\n    family: maglev\n").unwrap();
    assert_eq!(s.ring.family, FamilyKind::Maglev);
    assert_eq!((s.ring.slots, s.ring.vnodes), (65_537, 100));
    let s = parse("ringlb:\n  ring:\n    family: maglev\n    slots: 307\n").unwrap();
    assert_eq!(s.ring.slots, 307);
    let why = err_at(
        "ringlb:\n  ring:\n    family: maglev\n    slots: 65536\n",
        "ringlb.ring.slots",
    );
    assert!(why.contains("must be a prime"), "{why}");
    let why = err_at(
        "ringlb:\n  ring:\n    family: maglev\n    vnodes: 8\n",
        "ringlb.ring.vnodes",
    );
    assert!(why.contains("not used by the maglev family"), "{why}");
}

#[test]
fn http2_toward_replicas_is_opt_in() {
    let s = parse("version: 1\n").unwrap();
    assert_eq!(s.upstream.http2_streams, None);
    let s = parse("ringlb:\n  upstream:\n    http2: true\n").unwrap();
    assert_eq!(s.upstream.http2_streams, Some(100));
    let s = parse("ringlb:\n  upstream:\n    http2: true\n    http2_streams: 8\n").unwrap();
    assert_eq!(s.upstream.http2_streams, Some(8));
    let why = err_at(
        "ringlb:\n  upstream:\n    http2_streams: 8\n",
        "ringlb.upstream.http2_streams",
    );
    assert!(why.contains("only used with upstream.http2: true"), "{why}");
    let why = err_at(
        "ringlb:\n  upstream:\n    http2: true\n    http2_streams: 0\n",
        "ringlb.upstream.http2_streams",
    );
    assert!(why.contains("must be 1..=10000"), "{why}");
}

/// ringlb puts Pingora's timeouts of a second or more on tokio's timer
/// unless the file sets the threshold itself (to a number or to null).
#[test]
fn pingoras_timer_threshold_is_ringlbs_unless_the_file_sets_it() {
    use ::pingora::server::configuration::ServerConf;
    let applied = |yaml: &str| {
        let mut conf = ServerConf::from_yaml(yaml).expect("Pingora reads it");
        parse(yaml).unwrap().pingora.apply(&mut conf);
        conf.fast_timeout_to_tokio_threshold_seconds
    };
    assert_eq!(applied("---\nthreads: 2\n"), Some(0));
    assert_eq!(
        applied("---\nthreads: 2\nfast_timeout_to_tokio_threshold_seconds: 120\n"),
        Some(120)
    );
    assert_eq!(
        applied("---\nfast_timeout_to_tokio_threshold_seconds: null\n"),
        None
    );
    // Still a Pingora key, not one of ringlb's: it is not checked here.
    assert_eq!(
        applied(
            "---\nfast_timeout_to_tokio_threshold_seconds: 5\nringlb:\n  listen: 127.0.0.1:5000\n"
        ),
        Some(5)
    );
}

#[test]
fn thread_placement_keys_are_on_unless_turned_off_and_take_only_booleans() {
    let s = parse("version: 1\n").unwrap();
    assert!(
        s.upstream.pool_per_thread && s.clients.rehome,
        "on when missing"
    );
    for (section, key) in [("upstream", "pool_per_thread"), ("clients", "rehome")] {
        let off = parse(&format!("ringlb:\n  {section}:\n    {key}: false\n")).unwrap();
        let (pool, rehome) = (off.upstream.pool_per_thread, off.clients.rehome);
        assert_eq!((pool, rehome), (key == "rehome", key == "pool_per_thread"));
        for value in ["2", "maybe", "\"true\"", "[true]", "{a: 1}"] {
            let why = err_at(
                &format!("ringlb:\n  {section}:\n    {key}: {value}\n"),
                &format!("ringlb.{section}.{key}"),
            );
            assert!(why.starts_with("invalid type"), "{key}: {value}: {why}");
        }
    }
}
