//! One heartbeat: `GET /heartbeat` on a fresh connection, 200 or not.
//!
//! A fresh connection each time also proves the replica still accepts. Only
//! the status line is read: a replica that answers anything but
//! `HTTP/1.x 200` within the timeout has failed the heartbeat.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REQUEST: &[u8] =
    b"GET /heartbeat HTTP/1.1\r\nHost: ringlb\r\nUser-Agent: ringlb-health\r\nConnection: close\r\n\r\n";

/// The fleet's probe: `GET /heartbeat`.
pub struct Heartbeat;

#[async_trait]
impl crate::fleet::Probe for Heartbeat {
    async fn check(&self, addr: SocketAddr, timeout: Duration) -> Result<(), String> {
        heartbeat(addr, timeout).await
    }
}

/// Probes `addr` once; the error says what went wrong.
pub async fn heartbeat(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, exchange(addr)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

async fn exchange(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .write_all(REQUEST)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = [0u8; 16];
    let mut got = 0;
    while got < 12 {
        let n = stream
            .read(&mut buf[got..])
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before a status line".to_string());
        }
        got += n;
    }
    let status = &buf[..12];
    if status.starts_with(b"HTTP/1.") && &status[8..12] == b" 200" {
        Ok(())
    } else {
        Err(format!(
            "status line {:?}",
            String::from_utf8_lossy(&buf[..got])
        ))
    }
}
