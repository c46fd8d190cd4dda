#!/usr/bin/env python3
"""What ringlb adds per request, counted instead of timed: user-space
instructions per request (valgrind's callgrind) and, with `perf`, system
calls per request, for ringlb beside a bare Pingora proxy, the same with ringlb's upstream
timeouts (`bare_proxy --timeouts`: what Pingora itself spends on them),
and, with --baseline, another ringlb build.

On a shared 2-core VM, req/s and CPU per request swing by 5-20% from round
to round; instruction and system-call counts do not (two runs of bare
Pingora: 58,036 and 58,214 instructions per request). So a change of 1% in
ringlb's own work shows here when it cannot show in wrk's numbers.

Each proxy runs 1 thread over three nginx backends (bench/scale.py's
configs), first under callgrind: 800 warm-up requests, then the counters
are zeroed and --requests keep-alive requests (16 connections, random
6-digit X-Request-Id) are counted. Then, without valgrind, the same load
under `perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom`.

usage: bench/instructions.py [--requests 4000] [--baseline OLD_RINGLB] [--keep DIR]
(--keep DIR keeps each proxy's callgrind profile as DIR/NAME.callgrind, for
callgrind_annotate; use unstripped binaries, e.g. BIN=target/release)
(needs valgrind; perf is optional; binaries as bench/scale.py finds them:
BIN, else .bench/bin from bench/pack.sh)
"""
import argparse, glob, os, random, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time

from scale import BACKENDS, b, nginx_conf, proxies, start, stop, wait_http

PORT = 18001


def client(n, oks):
    s = socket.create_connection(("127.0.0.1", PORT))
    ok = 0
    for _ in range(n):
        rid = random.randint(100000, 999999)
        s.sendall(f"GET /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: {rid}\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, rest = buf.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
        while len(rest) < length:
            rest += s.recv(4096)
        ok += head.startswith(b"HTTP/1.1 200")
    s.close()
    oks.append(ok)


def load(total, conns=16):
    oks = []
    threads = [threading.Thread(target=client, args=(total // conns, oks)) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(oks)


def instructions(argv, work, n, keep=None):
    out = os.path.join(work, "cg.out")
    p = start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv, "0")
    try:
        wait_http(PORT, 120)
        load(800)
        subprocess.run(["callgrind_control", "-z", str(p.pid)], capture_output=True, check=True)
        ok = load(n)
        subprocess.run(["callgrind_control", "-d", str(p.pid)], capture_output=True, check=True)
    finally:
        stop(p)
    dumps = [f for f in glob.glob(out + "*") if re.search(r"\.\d+$", f)]
    text = open(sorted(dumps, key=os.path.getmtime)[0]).read()
    total = int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))
    if keep:
        open(keep, "w").write(text)
    for f in glob.glob(out + "*"):
        os.remove(f)
    return ok, total / n


def syscalls(argv, work, n):
    if not shutil.which("perf"):
        return None
    p = start(argv, "0")
    stat = os.path.join(work, "perf.txt")
    try:
        wait_http(PORT)
        load(800)
        perf = subprocess.Popen(["perf", "stat", "-x,", "-o", stat, "-e",
                                 "raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom", "-p", str(p.pid)])
        time.sleep(1)  # perf attached before the first counted request
        load(n)
        perf.send_signal(signal.SIGINT)
        perf.wait()
    finally:
        stop(p)
    counts = {}
    for line in open(stat):
        f = line.split(",")
        if len(f) > 2 and f[0].isdigit():
            counts[f[2]] = int(f[0]) / n
    return counts.get("raw_syscalls:sys_enter"), counts.get("syscalls:sys_enter_recvfrom")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--baseline", metavar="RINGLB", help="another ringlb build, as a third row")
    ap.add_argument("--keep", metavar="DIR", help="keep each proxy's callgrind profile in DIR")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed (apt-get install valgrind)")
    work = tempfile.mkdtemp(prefix="instructions.")
    body = "".join(f"""server {{ listen {x} reuseport; location / {{ default_type application/json; return 200 '{{"message": "Hello from Server: {i}", "status": "successful"}}'; }} }}
""" for i, x in enumerate(BACKENDS))
    be = start([b("nginx"), "-e", os.path.join(work, "be.err"), "-p", work, "-c", nginx_conf(work, "be", 1, body)],
               "1" if os.cpu_count() > 1 else "0")
    try:
        for x in BACKENDS:
            wait_http(int(x.rsplit(":", 1)[1]))
        rows = proxies(work, 1, PORT, os.path.exists(b("bare_proxy")))
        bare = rows.get("pingora-bare")
        servers = {"pingora-bare": bare,
                   # Pingora with ringlb's upstream timeouts: what those settings cost in Pingora.
                   "pingora-bare --timeouts": bare and bare[:3] + ["--timeouts"] + bare[3:],
                   "ringlb": rows["ringlb"]}
        if a.baseline:
            servers["ringlb baseline"] = [a.baseline] + rows["ringlb"][1:]
        results = {}
        for name, argv in servers.items():
            if argv is None:
                continue
            keep = None
            if a.keep:
                os.makedirs(a.keep, exist_ok=True)
                keep = os.path.join(a.keep, name.replace(" ", "-") + ".callgrind")
            ok, ir = instructions(argv, work, a.requests, keep)
            sc = syscalls(argv, work, a.requests)
            results[name] = (ir, sc)
            print(f"{name}: {ok}/{a.requests} ok, {ir:.0f} instructions per request, syscalls {sc}",
                  file=sys.stderr, flush=True)
        bare = results.get("pingora-bare", (None, None))[0]
        print(f"\n| proxy | instructions per request | x bare | syscalls per request | recvfrom per request |")
        print("|---|---|---|---|---|")
        for name, (ir, sc) in results.items():
            ratio = f"{ir / bare:.3f}" if bare else "-"
            calls = f"{sc[0]:.2f} | {sc[1]:.2f}" if sc and sc[0] else "- | -"
            print(f"| {name} | {ir:,.0f} | {ratio} | {calls} |")
    finally:
        stop(be)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
