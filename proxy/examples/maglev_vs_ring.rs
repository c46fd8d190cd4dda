//! Maglev against the default ring, offline (the same `Ring` code the proxy
//! runs): balance and keys moved when a replica is added or removed, for
//! N = 3..=10, over 200,000 random 6-digit request ids. Prints the markdown
//! table `docs/analysis.md` quotes.
//!
//! usage: cargo run --release -p ringlb --example maglev_vs_ring

use std::net::SocketAddr;
use std::sync::Arc;

use ringlb::ring::{HashFamily, Maglev, Member, RequestKey, Ring, Strong, MAGLEV_TABLE};

const IDS: u64 = 200_000;

fn ring(family: &str, n: usize, skip: Option<usize>) -> Ring {
    let members: Vec<Member> = (1..=n)
        .filter(|i| Some(*i) != skip)
        .map(|i| {
            Member::new(
                &format!("Server{i}"),
                SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)),
            )
        })
        .collect();
    let (slots, vnodes, f): (u64, u32, Arc<dyn HashFamily>) = match family {
        "maglev" => (MAGLEV_TABLE, 100, Arc::new(Maglev)),
        _ => (1 << 63, 2048, Arc::new(Strong)),
    };
    Ring::build(slots, vnodes, f, members).expect("ring")
}

fn ids() -> impl Iterator<Item = RequestKey<'static>> {
    // A fixed xorshift stream of 6-digit ids.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..IDS).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        RequestKey::Id(100_000 + x % 900_000)
    })
}

fn balance(r: &Ring) -> f64 {
    let mut count = std::collections::HashMap::<String, u64>::new();
    for k in ids() {
        *count
            .entry(r.lookup(k).unwrap().name.to_string())
            .or_default() += 1;
    }
    let max = *count.values().max().unwrap() as f64;
    max / (IDS as f64 / r.members().len() as f64)
}

/// (moved, collateral) in percent: collateral moves are between replicas
/// present on both sides.
fn moved(a: &Ring, b: &Ring) -> (f64, f64) {
    let (mut m, mut c) = (0u64, 0u64);
    for k in ids() {
        let (x, y) = (a.lookup(k).unwrap(), b.lookup(k).unwrap());
        if x.name != y.name {
            m += 1;
            if a.member(&y.name).is_some() && b.member(&x.name).is_some() {
                c += 1;
            }
        }
    }
    (100.0 * m as f64 / IDS as f64, 100.0 * c as f64 / IDS as f64)
}

fn main() {
    println!("| N | family | busiest / mean | add one: moved (ideal) | collateral | remove one: moved (ideal) | collateral |");
    println!("|---|---|---|---|---|---|---|");
    for n in 3..=10 {
        for family in ["strong", "maglev"] {
            let base = ring(family, n, None);
            let grown = ring(family, n + 1, None);
            let shrunk = ring(family, n, Some(2));
            let (am, ac) = moved(&base, &grown);
            let (rm, rc) = moved(&base, &shrunk);
            println!(
                "| {n} | {family} | {:.3} | {am:.2}% ({:.2}%) | {ac:.2}% | {rm:.2}% ({:.2}%) | {rc:.2}% |",
                balance(&base),
                100.0 / (n + 1) as f64,
                100.0 / n as f64
            );
        }
    }
}
