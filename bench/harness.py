"""What the bench scripts share: free ports, a default ringlb started on
loopback and waited for, and a clean stop."""
import json, os, signal, socket, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def start_ringlb(binary, work, log_level="warn", conf=None, stdout=None):
    """Starts `binary` with `conf` (default conf/ringlb.yaml; it must start 3
    replicas) on free ports and waits until its 3 replicas are up; its
    stdout goes to `stdout` (inherited when None). Returns (process, proxy
    port, admin URL); exits with ringlb's log if it dies or is not ready
    within 30 s."""
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: cargo build --release --bins")
    port, aport = free_port(), free_port()
    log_path = os.path.join(work, "ringlb.log")
    conf = conf or os.path.join(ROOT, "conf", "ringlb.yaml")
    lb = subprocess.Popen([binary, "-c", conf,
                           "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{aport}"],
                          stdout=stdout, stderr=open(log_path, "w"),
                          env=dict(os.environ, RUST_LOG=log_level))
    admin = f"http://127.0.0.1:{aport}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lb.poll() is not None:
            sys.exit("ringlb exited:\n" + open(log_path).read()[-2000:])
        try:
            if get_json(admin + "/rep", timeout=1)["message"]["N"] == 3:
                return lb, port, admin
        except OSError:
            time.sleep(0.01)
    stop(lb)
    sys.exit("ringlb did not become ready within 30 s")


def stop(proc):
    """SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
