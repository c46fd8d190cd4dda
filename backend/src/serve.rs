//! Accept loop with graceful shutdown on SIGTERM and SIGINT.
//!
//! Each connection is served by hyper: HTTP/1.1 (keep-alive, pipelining),
//! or HTTP/2 without TLS when the client opens with the h2 preface (h2c
//! with prior knowledge, what ringlb's `upstream.http2` speaks). On a signal the listener closes, in-flight connections get
//! hyper's graceful shutdown and up to five seconds to finish (ringlb's
//! process provisioner waits `replicas.stop_timeout_ms`, 2 s by default,
//! before it sends SIGKILL).

use std::convert::Infallible;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::args::Args;
use crate::responses::Responses;

/// How long in-flight connections may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

pub async fn run(args: Args) -> Result<(), String> {
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    log::info!("replica {} listening on {local}", args.id);
    if args.announce {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {local}")
            .and_then(|_| out.flush())
            .map_err(|e| format!("cannot announce the address: {e}"))?;
    }

    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let responses = Responses::new(&args.id);
    // A replica of limited capacity: delayed answers take a worker each.
    let workers = args
        .workers
        .map(|n| std::sync::Arc::new(tokio::sync::Semaphore::new(n)));
    let graceful = GracefulShutdown::new();
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    http.http2().timer(TokioTimer::new());

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        log::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let responses = responses.clone();
                let delay = args.delay;
                let workers = workers.clone();
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let resp = responses.answer(&req);
                    let wait = !delay.is_zero() && req.uri().path() == "/home";
                    let workers = workers.clone();
                    async move {
                        if wait {
                            let _worker = match &workers {
                                Some(w) => w.clone().acquire_owned().await.ok(),
                                None => None,
                            };
                            tokio::time::sleep(delay).await;
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let conn = http.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    drop(listener);
    log::info!("replica {} shutting down", args.id);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => log::warn!("drain timed out"),
    }
    Ok(())
}
