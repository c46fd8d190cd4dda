//! A bare Pingora proxy (fixed upstream per request id, no ring, no
//! timeouts, no filters) with ringlb's build settings: the floor against
//! which ringlb's own per-request cost is measured (see bench/).
//!
//! usage: bare_proxy [--threads N] LISTEN UPSTREAM [UPSTREAM...]

use async_trait::async_trait;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server};
use pingora_core::upstreams::peer::HttpPeer;
use pingora_core::Result;
use pingora_proxy::{ProxyHttp, Session};
use std::net::SocketAddr;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Bare(Vec<SocketAddr>);

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let id = session
            .req_header()
            .headers
            .get("x-request-id")
            .map_or(0, |v| {
                v.as_bytes().iter().map(|b| *b as usize).sum::<usize>()
            });
        let addr = self.0[id % self.0.len()];
        Ok(Box::new(HttpPeer::new(addr, false, String::new())))
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 1;
    if args.first().is_some_and(|a| a == "--threads") {
        threads = args
            .get(1)
            .and_then(|t| t.parse().ok())
            .expect("--threads N");
        args.drain(..2);
    }
    let (listen, ups) = args
        .split_first()
        .expect("usage: bare_proxy [--threads N] LISTEN UPSTREAM...");
    let ups: Vec<SocketAddr> = ups.iter().map(|u| u.parse().expect("ip:port")).collect();
    let conf = ServerConf {
        threads,
        work_stealing: false,
        // As bench/scale.py configures ringlb.
        upstream_keepalive_pool_size: 512,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = pingora_proxy::http_proxy_service(&server.configuration, Bare(ups));
    proxy.add_tcp(listen);
    server.add_service(proxy);
    server.run(RunArgs::default());
}
