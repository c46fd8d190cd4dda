//! A scripted replica for tests that need a replica to misbehave in one
//! precise way: it answers `/heartbeat` like a healthy replica (so ringlb
//! keeps it in the ring) and does what the test says with every other
//! request, counting them. A thread per connection, std only; the listener
//! binds port 0 and is closed on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// What a fake replica does with a request that is not a heartbeat.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// Close the connection with a reset (SO_LINGER 0) before answering.
    Reset,
    /// Answer `/home` like `ringlb-backend`, after a pause.
    SlowHome(Duration),
}

/// A running fake replica.
pub struct FakeReplica {
    pub addr: SocketAddr,
    /// Requests other than heartbeats received so far.
    pub requests: Arc<AtomicUsize>,
    /// Connections that carried at least one of them.
    pub connections: Arc<AtomicUsize>,
    /// Each non-heartbeat request line, as it arrives.
    pub arrivals: Mutex<mpsc::Receiver<String>>,
    stop: Arc<AtomicBool>,
}

impl FakeReplica {
    /// Starts one named `id` (the name a `/home` answer gives).
    pub fn start(id: &str, behaviour: Behaviour) -> FakeReplica {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (count, conns, halt, id) = (
            requests.clone(),
            connections.clone(),
            stop.clone(),
            id.to_string(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (count, conns, tx, id) = (count.clone(), conns.clone(), tx.clone(), id.clone());
                std::thread::spawn(move || serve(conn, behaviour, &id, [&count, &conns], &tx));
            }
        });
        FakeReplica {
            addr,
            requests,
            connections,
            arrivals: Mutex::new(rx),
            stop,
        }
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Blocks until the next non-heartbeat request arrives (bounded).
    pub fn next_arrival(&self, limit: Duration) -> String {
        self.arrivals
            .lock()
            .expect("lock")
            .recv_timeout(limit)
            .expect("a request to arrive at the fake replica")
    }
}

impl Drop for FakeReplica {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(
    conn: TcpStream,
    behaviour: Behaviour,
    id: &str,
    [count, conns]: [&AtomicUsize; 2],
    arrivals: &mpsc::Sender<String>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut conn = conn;
    let mut first = true;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        // Skip the headers (these tests send no request bodies).
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
        }
        if line.starts_with("GET /heartbeat ") {
            if conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .is_err()
            {
                return;
            }
            continue;
        }
        count.fetch_add(1, Ordering::SeqCst);
        if std::mem::take(&mut first) {
            conns.fetch_add(1, Ordering::SeqCst);
        }
        let _ = arrivals.send(line.trim_end().to_string());
        match behaviour {
            Behaviour::Reset => {
                reset(&conn);
                return;
            }
            Behaviour::SlowHome(pause) => {
                std::thread::sleep(pause);
                let body =
                    format!(r#"{{"message": "Hello from Server: {id}", "status": "successful"}}"#);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if conn.write_all(head.as_bytes()).is_err()
                    || conn.write_all(body.as_bytes()).is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Closes `s` with a reset rather than a FIN.
pub fn reset(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a live socket with a correctly sized struct.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
