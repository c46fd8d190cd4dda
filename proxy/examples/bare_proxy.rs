//! A bare Pingora proxy (fixed upstream per request id, no ring, no
//! timeouts, no filters) with ringlb's build settings: the floor against
//! which ringlb's own per-request cost is measured (see bench/).
//!
//! With `--timeouts`, the upstream timeouts of ringlb's default config
//! (connect 500 ms, read and write 2 s, pooled idle 20 s, on tokio's timer
//! as ringlb sets it): what Pingora itself costs for those settings.
//!
//! usage: bare_proxy [--threads N] [--timeouts] LISTEN UPSTREAM [UPSTREAM...]

use async_trait::async_trait;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server};
use pingora_core::upstreams::peer::HttpPeer;
use pingora_core::Result;
use pingora_proxy::{ProxyHttp, Session};
use std::net::SocketAddr;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Bare {
    upstreams: Vec<SocketAddr>,
    timeouts: bool,
}

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
        let addr = self.upstreams[id % self.upstreams.len()];
        let mut peer = HttpPeer::new(addr, false, String::new());
        if self.timeouts {
            let o = &mut peer.options;
            o.connection_timeout = Some(Duration::from_millis(500));
            o.total_connection_timeout = Some(Duration::from_millis(500));
            o.read_timeout = Some(Duration::from_secs(2));
            o.write_timeout = Some(Duration::from_secs(2));
            o.idle_timeout = Some(Duration::from_secs(20));
        }
        Ok(Box::new(peer))
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
    let timeouts = args.first().is_some_and(|a| a == "--timeouts");
    if timeouts {
        args.remove(0);
    }
    let (listen, ups) = args
        .split_first()
        .expect("usage: bare_proxy [--threads N] [--timeouts] LISTEN UPSTREAM...");
    let ups: Vec<SocketAddr> = ups.iter().map(|u| u.parse().expect("ip:port")).collect();
    let mut conf = ServerConf {
        threads,
        work_stealing: false,
        // As bench/scale.py configures ringlb.
        upstream_keepalive_pool_size: 512,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    if timeouts {
        // As ringlb sets it (its config/pingora.rs).
        conf.fast_timeout_to_tokio_threshold_seconds = Some(0);
    }
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let bare = Bare {
        upstreams: ups,
        timeouts,
    };
    let mut proxy = pingora_proxy::http_proxy_service(&server.configuration, bare);
    proxy.add_tcp(listen);
    server.add_service(proxy);
    server.run(RunArgs::default());
}
