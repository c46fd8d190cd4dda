#!/usr/bin/env python3
"""HTTP/2 without TLS (h2c) toward the replicas against HTTP/1.1 keep-alive.

Three `ringlb-backend` replicas (release build, they speak both), and two
ringlb processes over them that differ only in `upstream.http2`. wrk drives
each in alternating rounds (random X-Request-Id); reported per variant:
median req/s, p99 and CPU per request of the ringlb process, and the
number of upstream connections it held at the end of a round.

usage: bench/h2c.py [--threads 1] [--rounds 5] [--duration 5] [--conns 50]
(nginx backends cannot take part: a plain nginx listener is HTTP/1 only)
"""
import argparse, os, statistics, subprocess, sys, tempfile, time

from harness import RELEASE, free_port
from peers import LUA, TCK, Procs, cpu_ticks, wait_port
import peers

# BIN: a bench/pack.sh folder (binaries and wrk side by side); else the
# release build and the PATH.
BIN = os.environ.get("BIN")
REL = BIN or RELEASE


def wrk(port, lua, conns, duration):
    if BIN:
        os.environ["PATH"] = BIN + os.pathsep + os.environ["PATH"]
    return peers.wrk(port, lua, conns, duration)


def conf(work, name, port, aport, backends, threads, h2):
    """peers.py's ringlb config, with h2c toward the replicas when `h2`."""
    path = peers.ringlb_conf(work, name, threads, port, aport, backends)
    if h2:
        with open(path, "a") as f:
            f.write("  upstream:\n    http2: true\n")
    return path


def upstream_conns(pid, backends):
    """Established connections from ringlb to the replicas (-1 without `ss`)."""
    try:
        out = subprocess.run(["ss", "-tnp"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return -1
    ports = {b.rsplit(":", 1)[1] for b in backends}
    return sum(1 for l in out.splitlines()
               if f"pid={pid}," in l and l.split()[4].rsplit(":", 1)[-1] in ports)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=50)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringlb-h2c-")
    lua = os.path.join(work, "reqid.lua")
    open(lua, "w").write(LUA)
    procs = Procs()
    try:
        backends = []
        for i in range(3):
            port = free_port()
            procs.start([os.path.join(REL, "ringlb-backend"), "--listen", f"127.0.0.1:{port}", "--id", f"Server{i + 1}"],
                        env=dict(os.environ, RUST_LOG="warn"))
            backends.append(f"127.0.0.1:{port}")
        variants = {}
        for name, h2 in (("HTTP/1.1 keep-alive", False), ("h2c", True)):
            port = free_port()
            c = conf(work, name.split()[0].replace("/", ""), port, free_port(), backends, a.threads, h2)
            p = procs.start([os.path.join(REL, "ringlb"), "-c", c], env=dict(os.environ, RUST_LOG="warn"))
            variants[name] = (port, p.pid)
        for port, _ in variants.values():
            wait_port(port)
        rows = {n: [] for n in variants}
        for r in range(a.rounds):
            for n, (port, pid) in variants.items():
                c0 = cpu_ticks(pid)
                rps, reqs, p50, p99, errs = wrk(port, lua, a.conns, a.duration)
                cpu = (cpu_ticks(pid) - c0) / TCK * 1e6 / max(reqs, 1)
                rows[n].append((rps, p99, cpu, upstream_conns(pid, backends)))
                print(f"round {r + 1} {n:20s} {rps:8.0f} req/s p99 {p99:.3f} ms {cpu:.2f} us/req "
                      f"{rows[n][-1][3]} upstream conns {' '.join(errs)}", file=sys.stderr)
        med = lambda n, i: statistics.median(x[i] for x in rows[n])
        print(f"== ringlb threads={a.threads}, wrk -t1 -c{a.conns} -d{a.duration}s, {a.rounds} rounds, "
              f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
        print("| upstream | req/s | p99 ms | CPU us/req | upstream connections |")
        print("|---|---|---|---|---|")
        for n in rows:
            print(f"| {n} | {med(n, 0):.0f} | {med(n, 1):.3f} | {med(n, 2):.2f} | {med(n, 3):.0f} |")
        h1, h2 = list(rows)
        print(f"\nh2c over HTTP/1.1: req/s x {med(h2, 0) / med(h1, 0):.3f}, p99 x {med(h2, 1) / med(h1, 1):.2f}, "
              f"CPU/req x {med(h2, 2) / med(h1, 2):.3f}")
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
