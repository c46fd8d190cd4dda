//! Issue: performance at scale. How ringlb uses its worker threads when
//! each runs its own runtime and reactor (`work_stealing: false`): pooled
//! replica connections stay with the thread that opened them, and a
//! kept-alive client connection moves to the reactor of the thread that
//! serves it.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::fake::{Behaviour, FakeReplica};
use common::Ringlb;

const RING: &str = "  ring:\n    vnodes: 64\n";

/// For each of `pid`'s epoll instances, the sockets it watches whose local
/// port is `port` (the proxy's client connections), by inode. An instance
/// can appear under several descriptors (tokio keeps a duplicate); those
/// are counted once.
fn client_sockets_per_reactor(pid: u32, port: u16) -> Vec<usize> {
    let tcp = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap();
    let clients: BTreeSet<String> = tcp
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local = u16::from_str_radix(f[1].rsplit(':').next()?, 16).ok()?;
            (local == port && f[3] == "01").then(|| f[9].to_string())
        })
        .collect();
    let mut inode_of = std::collections::HashMap::new();
    let mut polls = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let entry = entry.unwrap();
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().to_string();
        let fd: u32 = entry.file_name().to_string_lossy().parse().unwrap();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inode_of.insert(fd, inode.to_string());
        } else if target == "anon_inode:[eventpoll]" {
            polls.push(fd);
        }
    }
    let mut instances = BTreeSet::new();
    for fd in polls {
        let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else {
            continue;
        };
        let watched: BTreeSet<String> = info
            .lines()
            .filter_map(|l| l.strip_prefix("tfd:"))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u32>().ok())
            .filter_map(|t| inode_of.get(&t).cloned())
            .filter(|inode| clients.contains(inode))
            .collect();
        instances.insert(watched);
    }
    instances.into_iter().map(|w| w.len()).collect()
}

#[test]
fn kept_alive_connections_move_to_their_threads_reactor() {
    // Pingora registers each accepted socket with the accepting thread's
    // reactor and serves it on a thread picked at random. With rehome on,
    // a connection kept alive after its first request is watched by the
    // reactor of its own thread: 40 connections over 4 threads then sit in
    // several reactors (fewer than 3: odds below 1 in 10^10); with it off,
    // all in one.
    for rehome in [true, false] {
        let lb = Ringlb::start_with(
            &format!("{RING}  clients:\n    rehome: {rehome}\n"),
            "threads: 4",
        );
        let mut conns = Vec::new();
        for i in 0..40u64 {
            let mut s = TcpStream::connect(lb.proxy_addr()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            // The second request runs on the moved socket.
            assert_eq!(common::keep_alive_home(&mut s, 100_000 + i), 200);
            assert_eq!(common::keep_alive_home(&mut s, 200_000 + i), 200);
            conns.push(s);
        }
        let per = client_sockets_per_reactor(lb.pid(), lb.proxy_addr().port());
        let holding = per.iter().filter(|&&n| n > 0).count();
        assert_eq!(per.iter().sum::<usize>(), 40, "rehome {rehome}: {per:?}");
        if rehome {
            assert!(holding >= 3, "{per:?}");
        } else {
            assert_eq!(holding, 1, "{per:?}");
        }
        // Moved connections go on serving.
        for (i, s) in conns.iter_mut().enumerate() {
            assert_eq!(common::keep_alive_home(s, 300_000 + i as u64), 200);
        }
    }
}

#[test]
fn each_worker_thread_keeps_its_own_replica_connections() {
    // One request at a time, each on a new client connection: Pingora
    // starts each client connection on a worker thread picked at random
    // (4 here), so every thread serves some of the 60 (one left out: odds
    // about 1 in 10^7). With a pool per thread, each thread opens its own
    // replica connection: at least 4. One shared pool needs one, more only
    // when a request comes before the last one's connection is back in the
    // pool (Pingora pools it after the answer is out), so this bound holds
    // either way only with pools per thread.
    let fake = FakeReplica::start("f0", Behaviour::SlowHome(Duration::ZERO));
    let lb = Ringlb::start_with(
        &format!(
            "{RING}  replicas:\n    provisioner: static\n    initial: ['{}']\n",
            fake.addr
        ),
        "threads: 4",
    );
    for i in 0..60 {
        let mut s = TcpStream::connect(lb.proxy_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {}\r\nConnection: close\r\n\r\n",
            100_000 + i
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let conns = fake.connections.load(Ordering::SeqCst);
    assert!(conns >= 4, "{conns} replica connections");
}
