//! Consistent hashing with bounded loads, end to end: one hot key on three
//! slow replicas. Without a bound every request for the key waits on its
//! owner; with `ring.bounded_load: 1.0` the owner holds at most its share
//! of the requests in flight and the rest go clockwise. Every lease comes
//! back, also from clients that hang up before their answer.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::fake::{Behaviour, FakeReplica};
use common::{scrape, wait_for, Ringlb};

const HOT: u64 = 424_242;
const CLIENTS: usize = 30;

fn start(replicas: &[FakeReplica], bound: &str) -> Ringlb {
    let initial: Vec<String> = replicas.iter().map(|r| format!("'{}'", r.addr)).collect();
    Ringlb::start(&format!(
        "  ring:\n    vnodes: 64\n{bound}  replicas:\n    provisioner: static\n    initial: [{}]\n",
        initial.join(", ")
    ))
}

/// Sends `CLIENTS` requests for the hot key at once; the replicas that
/// answered, by name.
fn burst(lb: &Ringlb) -> Vec<String> {
    let url = lb.url("/home");
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let body: serde_json::Value = reqwest::blocking::Client::new()
                    .get(url)
                    .header("X-Request-Id", HOT.to_string())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .expect("request")
                    .json()
                    .expect("json");
                common::served_by(&body)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("client"))
        .collect()
}

fn in_flight(lb: &Ringlb) -> f64 {
    scrape::samples(&lb.metrics(), "ringlb_replica_requests_in_flight")
        .iter()
        .map(|s| s.value)
        .sum()
}

fn busiest(served: &[String]) -> (usize, usize) {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for s in served {
        *counts.entry(s).or_default() += 1;
    }
    (counts.values().copied().max().unwrap_or(0), counts.len())
}

#[test]
fn a_hot_key_spreads_within_the_bound_and_every_lease_comes_back() {
    let replicas: Vec<FakeReplica> = (1..=3)
        .map(|i| {
            FakeReplica::start(
                &format!("r{i}"),
                Behaviour::SlowHome(Duration::from_millis(600)),
            )
        })
        .collect();

    // No bound: the owner takes them all.
    let plain = start(&replicas, "");
    let (top, used) = busiest(&burst(&plain));
    assert_eq!((top, used), (CLIENTS, 1));
    drop(plain);

    // c = 1.0: at most ceil((in flight + 1) / 3) each, so about a third
    // each (a request may read the counts while another is being picked,
    // hence the small slack).
    let lb = start(&replicas, "    bounded_load: 1.0\n");
    let served = burst(&lb);
    let (top, used) = busiest(&served);
    eprintln!("bounded c = 1.0: busiest replica served {top} of {CLIENTS}, {used} replicas used");
    assert_eq!(used, 3, "{served:?}");
    assert!(top <= CLIENTS / 3 + 3, "{served:?}");
    assert_eq!(in_flight(&lb), 0.0);

    // Clients that hang up before the answer: their leases go back too.
    let hung: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = TcpStream::connect(lb.proxy_addr()).expect("connect");
            write!(
                s,
                "GET /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {HOT}\r\n\r\n"
            )
            .unwrap();
            s
        })
        .collect();
    wait_for(
        "the hung requests to reach the replicas",
        Duration::from_secs(5),
        || (in_flight(&lb) == 10.0).then_some(()),
    );
    drop(hung);
    wait_for("their leases to come back", Duration::from_secs(5), || {
        (in_flight(&lb) == 0.0).then_some(())
    });
}
