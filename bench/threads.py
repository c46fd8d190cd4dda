#!/usr/bin/env python3
"""What more threads cost per request, counted: system calls, thread
wake-ups (`eventfd` writes: one thread's runtime waking another's) and
`epoll_wait` calls per request, for bare Pingora and for ringlb with and
without its two placement settings, at each T; and how the proxy's client
sockets are spread over the threads' reactors (epoll instances, from
/proc/PID/fdinfo), and each thread's share of the CPU time.

Why: with `work_stealing: false` each Pingora thread has its own runtime and
reactor. Pingora's one accept loop registers every client socket with its
own thread's reactor and serves the connection on a thread picked at random;
its one upstream pool hands a replica connection opened on one thread to
another. Every such event is reported on one thread and handled on another.
ringlb's `upstream.pool_per_thread` and `clients.rehome` keep both on the
serving thread (README, "On many cores").

Rows: pingora-bare; "ringlb, shared" (both settings off: Pingora's own
placement); "ringlb, pool per thread" (rehome off); ringlb (as shipped).
wrk keeps --conns connections alive with a random 6-digit X-Request-Id for
--duration seconds; counts come from `perf stat` on the proxy (without perf,
only req/s, p99 and the spread). Timings on a shared VM swing by 10-20%;
the counts do not.

usage: bench/threads.py [--threads 1,2,4] [--conns 64] [--duration 4] [--rounds 1]
(with --rounds N the variants alternate N times; each cell is the median)
(binaries as bench/scale.py finds them: BIN, else .bench/bin)
"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile, time

from scale import BACKENDS, LUA, NCPU, TCK, b, cores, nginx_conf, proxies, start, stop, to_ms, wait_http

PORT = 18001
EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_write", "syscalls:sys_enter_epoll_wait",
          "context-switches"]
VARIANTS = {
    "pingora-bare": None,
    "ringlb, shared": "  upstream:\n    pool_per_thread: false\n  clients:\n    rehome: false\n",
    "ringlb, pool per thread": "  clients:\n    rehome: false\n",
    "ringlb": "",
}


def reactors(pid, port):
    """Client sockets (local port `port`) per epoll instance of `pid`."""
    clients = set()
    for line in open(f"/proc/{pid}/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port and f[3] == "01":
            clients.add(f[9])
    inode, polls = {}, []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", t)
        if m:
            inode[fd] = m.group(1)
        elif t == "anon_inode:[eventpoll]":
            polls.append(fd)
    seen = set()
    for fd in polls:
        try:
            info = open(f"/proc/{pid}/fdinfo/{fd}").read()
        except OSError:
            continue
        # tokio keeps a duplicate descriptor of each instance: count it once.
        seen.add(frozenset(i for t in re.findall(r"tfd:\s+(\d+)", info)
                           if (i := inode.get(t)) in clients))
    return sorted((len(s) for s in seen if s), reverse=True)


def thread_ticks(pid):
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            f = open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()
            out.append(int(f[11]) + int(f[12]))
        except OSError:
            pass
    return out


def run(argv, env, a, w, lua, wcpu, pcpu):
    p = start(argv, pcpu, env)
    try:
        wait_http(PORT)
        before = thread_ticks(p.pid)
        stat = os.path.join(w, "perf.txt")
        perf = None
        if shutil.which("perf"):
            perf = subprocess.Popen(["perf", "stat", "-x,", "-o", stat, "-e", ",".join(EVENTS),
                                     "-p", str(p.pid)], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        load = subprocess.Popen(["taskset", "-c", wcpu, b("wrk"), "-t1", f"-c{a.conns}", f"-d{a.duration}s",
                                 "--latency", "-s", lua, f"http://127.0.0.1:{PORT}/home"],
                                stdout=subprocess.PIPE, text=True)
        time.sleep(a.duration / 2)
        spread = reactors(p.pid, PORT)
        out = load.communicate()[0]
        if perf:
            perf.send_signal(2)
            perf.wait()
        after = thread_ticks(p.pid)
    finally:
        stop(p)
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    counts = {}
    if perf and os.path.exists(stat):
        for line in open(stat):
            f = line.split(",")
            if len(f) > 2 and f[0].isdigit():
                counts[f[2]] = int(f[0]) / reqs
    busy = sorted(x - y for x, y in zip(after, before) if x - y > 0)
    return {"rps": reqs / a.duration, "cpu": sum(busy) * 1e6 / TCK / reqs, "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
            "counts": counts, "spread": spread, "busy": busy}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--duration", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    w = tempfile.mkdtemp(prefix="threads.")
    lua = os.path.join(w, "r.lua")
    open(lua, "w").write(LUA)
    # On a small machine everything shares the cores; on a large one wrk and
    # the backends get their own (as bench/scale.py places them).
    big = NCPU >= 16
    body = "".join(f"server {{ listen {x} reuseport; location / {{ return 200 'hello {i}'; }} }}\n"
                   for i, x in enumerate(BACKENDS))
    be = start([b("nginx"), "-e", os.path.join(w, "be.err"), "-p", w, "-c", nginx_conf(w, "be", 4 if big else 1, body)],
               cores(NCPU - 4, 4) if big else cores(NCPU - 1, 1))
    print("| T | server | req/s | p99 ms | CPU us/req | syscalls/req | wake-ups/req | epoll_wait/req | switches/req | client sockets per reactor | busiest thread / mean |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    try:
        for x in BACKENDS:
            wait_http(int(x.rsplit(":", 1)[1]))
        for T in [int(t) for t in a.threads.split(",")]:
            rows = proxies(w, T, PORT, True)
            pcpu = cores(0, T) if big else cores(0, NCPU)
            wcpu = cores(T, 4) if big else cores(NCPU - 1, 1)
            argvs = {}
            for name, extra in VARIANTS.items():
                if extra is None:
                    argvs[name] = rows["pingora-bare"]
                else:
                    argv = list(rows["ringlb"])
                    conf = argv[-1] + "." + re.sub(r"\W+", "_", name) + ".yaml"
                    open(conf, "w").write(open(argv[-1]).read().replace("ringlb:\n", "ringlb:\n" + extra, 1))
                    argv[-1] = conf
                    argvs[name] = argv
            results = {name: [] for name in argvs}
            for _ in range(a.rounds):
                for name, argv in argvs.items():
                    results[name].append(run(argv, None, a, w, lua, wcpu, pcpu))
            for name, rs in results.items():
                med = lambda f: statistics.median(f(r) for r in rs)
                def col(k):
                    return f"{med(lambda r: r['counts'][k]):.2f}" if all(k in r["counts"] for r in rs) else "-"
                def skew(r):
                    busy = r["busy"][-T:]
                    return max(busy) / (sum(busy) / len(busy)) if busy else 0
                print(f"| {T} | {name} | {med(lambda r: r['rps']):.0f} | {med(lambda r: r['p99']):.2f} | "
                      f"{med(lambda r: r['cpu']):.1f} | "
                      f"{col(EVENTS[0])} | {col(EVENTS[1])} | {col(EVENTS[2])} | {col(EVENTS[3])} | "
                      f"{rs[-1]['spread']} | {med(skew):.2f} |", flush=True)
    finally:
        stop(be)
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
