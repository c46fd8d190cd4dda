//! Free loopback ports for ringlb's two listeners.
//!
//! ringlb takes its addresses as flags, so the port is chosen here: bind
//! port 0, read what the kernel chose, release it. Both listeners are held
//! until both ports are known so the two never coincide; another process
//! could still take a port in the short gap before ringlb binds it, which a
//! start-up failure then reports.

use std::net::{SocketAddr, TcpListener};

/// Two distinct free ports on 127.0.0.1.
pub fn two_free_ports() -> std::io::Result<(SocketAddr, SocketAddr)> {
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?, b.local_addr()?))
}
