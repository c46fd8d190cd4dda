#!/usr/bin/env python3
"""Multi-core scaling, side by side: HAProxy (nbthread T), nginx (T workers),
ringlb (threads: T) and a bare Pingora proxy (threads T, ringlb's build
settings, no logic) over the same three backends on loopback, each pinned to
cores 0..T-1; wrk pinned to its own cores; backends (nginx, 4 workers) pinned
to the last cores. Then, with --replicas, the replica itself:
ringlb-backend --threads T against nginx with T workers.

Binaries come from BIN (default: .bench/bin, made by bench/pack.sh) with
their libraries on LD_LIBRARY_PATH (.bench/lib), so the folder can be carried
to a machine where nothing can be installed. Prints one markdown table per
section, ratios to HAProxy (to nginx for replicas) and ringlb over bare
Pingora, medians over alternating rounds. On 2 cores:
  bench/scale.py --threads 1 --wthreads 1 --conns 50

usage: bench/scale.py [--threads 1,2,4,8] [--rounds 2] [--duration 5] [--conns 256]
(adapted from the team's shared scale-bench.py: bare Pingora at every T)
env: ONLY=ringlb,pingora-bare (these rows only); BASELINE=path/to/old/ringlb
(an A/B row, "ringlb-base", with the same config); WS_VARIANT=1
"""
import argparse, os, re, signal, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.realpath(__file__))
BIN = os.environ.get("BIN", os.path.join(HERE, "..", ".bench", "bin"))
TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count()
LUA = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/home", { ["X-Request-Id"] = tostring(math.random(100000, 999999)) })
end
"""
BACKENDS = ["127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"]
WS_VARIANT = os.environ.get("WS_VARIANT") == "1"  # add ringlb with work_stealing: true
ONLY = [x for x in os.environ.get("ONLY", "").split(",") if x]  # restrict to these servers
BASELINE = os.environ.get("BASELINE")  # another ringlb build: an A/B row "ringlb-base"


def b(name):
    return os.path.join(BIN, name)


def cores(lo, n):
    return ",".join(str(c % NCPU) for c in range(lo, lo + n))


def wait_http(port, limit=20.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            s.sendall(b"GET /home HTTP/1.1\r\nHost: x\r\nX-Request-Id: 123456\r\n\r\n")
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                s.close()
                return
            s.close()
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no 200 on port {port}")


def tree(pid):
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except Exception:
        kids = []
    for k in kids:
        out += tree(int(k))
    return out


def ticks(pids):
    t = 0
    for p in pids:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12])
        except OSError:
            pass
    return t


def rss(pids):
    m = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmHWM:"):
                    m += int(line.split()[1]) / 1024
        except OSError:
            pass
    return m


def to_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)$", s)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def wrk(port, lua, conns, duration, wcores, wthreads):
    cmd = ["taskset", "-c", wcores, b("wrk"), f"-t{wthreads}", f"-c{conns}", f"-d{duration}s",
           "--latency", "-s", lua, f"http://127.0.0.1:{port}/home"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errs = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    return rps, reqs, p50, p99, errs


def nginx_conf(w, name, workers, body):
    path = os.path.join(w, f"{name}.conf")
    open(path, "w").write(f"""{"user root; " if os.geteuid() == 0 else ""}worker_processes {workers}; daemon off; pid {w}/{name}.pid; error_log {w}/{name}.err;
events {{ worker_connections 16384; }}
http {{ access_log off; keepalive_requests 10000000; client_body_temp_path {w}/t1; proxy_temp_path {w}/t2; fastcgi_temp_path {w}/t3; uwsgi_temp_path {w}/t4; scgi_temp_path {w}/t5; {body} }}
""")
    return path


def start(args, cpus, env=None):
    return subprocess.Popen(["taskset", "-c", cpus] + args, stdout=subprocess.DEVNULL,
                            stderr=open(os.devnull, "w"), env=env)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def proxies(w, T, port, have_bare):
    """name -> (argv, port) for proxies with T threads listening on port."""
    ng = "".join(f" server {x};" for x in BACKENDS)
    lb = nginx_conf(w, f"lb{T}", T, f"""upstream be {{ hash $http_x_request_id consistent; {ng} keepalive 256; }}
  server {{ listen 127.0.0.1:{port} reuseport; location / {{ proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}""")
    hs = "".join(f"  server s{i} {x}\n" for i, x in enumerate(BACKENDS))
    hcfg = os.path.join(w, f"ha{T}.cfg")
    open(hcfg, "w").write(f"""global
  nbthread {T}
  maxconn 3000
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  balance hdr(X-Request-Id)
  hash-type consistent
{hs}""")
    rcfg = os.path.join(w, f"ringlb{T}.yaml")
    init = ", ".join(f"'{x}'" for x in BACKENDS)
    open(rcfg, "w").write(f"""version: 1
threads: {T}
work_stealing: false
grace_period_seconds: 0
graceful_shutdown_timeout_seconds: 1
upstream_keepalive_pool_size: 512
ringlb:
  listen: "127.0.0.1:{port}"
  admin:
    listen: "127.0.0.1:{port + 1000}"
  replicas:
    provisioner: static
    initial: [{init}]
""")
    out = {
        "haproxy": [b("haproxy"), "-db", "-f", hcfg],
        "nginx": [b("nginx"), "-e", os.path.join(w, "lbstart.err"), "-p", w, "-c", lb],
        "ringlb": [b("ringlb"), "-c", rcfg],
    }
    if os.path.exists(b("pingap")):
        pdir = os.path.join(w, f"pingap{T}")
        os.makedirs(pdir, exist_ok=True)
        addrs = ", ".join(f'"{x}"' for x in BACKENDS)
        open(os.path.join(pdir, "pingap.toml"), "w").write(f"""[basic]
threads = {T}
work_stealing = false
grace_period = "1s"
graceful_shutdown_timeout = "1s"
pid_file = "{pdir}/pingap.pid"

[upstreams.be]
addrs = [{addrs}]
algo = "hash:header:X-Request-Id"

[locations.lo]
upstream = "be"
path = "/"

[servers.s]
addr = "127.0.0.1:{port}"
locations = ["lo"]
threads = {T}
""")
        out["pingap"] = [b("pingap"), "-c", os.path.join(pdir, "pingap.toml")]
    if BASELINE:
        out["ringlb-base"] = [BASELINE, "-c", rcfg]
    if WS_VARIANT:
        ws = os.path.join(w, f"ringlb{T}ws.yaml")
        open(ws, "w").write(open(rcfg).read().replace("work_stealing: false", "work_stealing: true"))
        out["ringlb-ws"] = [b("ringlb"), "-c", ws]
    if ONLY:
        out = {k: v for k, v in out.items() if k in ONLY}
    if have_bare and (not ONLY or "pingora-bare" in ONLY):
        out["pingora-bare"] = [b("bare_proxy"), "--threads", str(T), f"127.0.0.1:{port}"] + BACKENDS
    return out


def measure(argv, port, T, a, lua, pcores_lo=0):
    p = start(argv, cores(pcores_lo, T))
    try:
        wait_http(port)
        wrk(port, lua, a.conns, 1, a.wcores, a.wthreads)  # warm-up
        pids = tree(p.pid)
        t0 = ticks(pids)
        rps, reqs, p50, p99, errs = wrk(port, lua, a.conns, a.duration, a.wcores, a.wthreads)
        cpu = (ticks(pids) - t0) / TCK * 1e6 / max(reqs, 1)
        return dict(rps=rps, p50=p50, p99=p99, cpu=cpu, rss=rss(tree(p.pid)), errs=errs)
    finally:
        stop(p)


def table(title, rows, base):
    print(f"\n### {title}\n")
    print("| T | server | req/s | p50 ms | p99 ms | CPU us/req | RSS MB | req/s x | p99 x | CPU x | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (T, name), rs in rows.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "cpu", "rss")}
        bs = rows.get((T, base))
        bm = {k: statistics.median(r[k] for r in bs) for k in ("rps", "p99", "cpu")} if bs else None
        errs = sorted({e for r in rs for e in r["errs"]})
        ratio = (f"{med['rps'] / bm['rps']:.2f} | {med['p99'] / bm['p99']:.2f} | {med['cpu'] / bm['cpu']:.2f}"
                 if bm else "- | - | -")
        print(f"| {T} | {name} | {med['rps']:.0f} | {med['p50']:.3f} | {med['p99']:.3f} | {med['cpu']:.2f} | "
              f"{med['rss']:.1f} | {ratio} | {'; '.join(errs) or '0'} |")
    sys.stdout.flush()


def overhead(rows, name="ringlb", base="pingora-bare"):
    """name over base at each T: what ringlb itself costs over bare Pingora
    (or, with BASELINE, what a change did)."""
    print(f"\n### {name} over {base} (same T)\n")
    print("| T | req/s x | p99 x | CPU/req x |")
    print("|---|---|---|---|")
    for T in sorted({t for t, _ in rows}):
        r, bare = rows.get((T, name)), rows.get((T, base))
        if not r or not bare:
            continue
        m = lambda rs, k: statistics.median(x[k] for x in rs)
        print(f"| {T} | {m(r, 'rps') / m(bare, 'rps'):.3f} | {m(r, 'p99') / m(bare, 'p99'):.2f} | "
              f"{m(r, 'cpu') / m(bare, 'cpu'):.3f} |")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=256)
    ap.add_argument("--wthreads", type=int, default=4)
    ap.add_argument("--replicas", action="store_true", help="also ringlb-backend vs nginx")
    a = ap.parse_args()
    Ts = [int(x) for x in a.threads.split(",")]
    maxT = max(Ts)
    a.wcores = cores(maxT, a.wthreads)
    if NCPU - maxT - a.wthreads >= 1:
        bcores = cores(maxT + a.wthreads, min(4, NCPU - maxT - a.wthreads))
    else:  # a small machine: backends share the load generator's cores, never the proxy's
        bcores = a.wcores
    print(f"cores: {NCPU}; proxy 0..{maxT - 1}, wrk {a.wcores} (-t{a.wthreads} -c{a.conns}), backends {bcores}")
    w = tempfile.mkdtemp(prefix="scale.")
    lua = os.path.join(w, "reqid.lua")
    open(lua, "w").write(LUA)
    body = "".join(f"""server {{ listen {x} reuseport; location / {{ default_type application/json; return 200 '{{"message": "Hello from Server: {i}", "status": "successful"}}'; }} }}
""" for i, x in enumerate(BACKENDS))
    be = start([b("nginx"), "-e", os.path.join(w, "bestart.err"), "-p", w, "-c", nginx_conf(w, "be", 4, body)], bcores)
    try:
        try:
            for x in BACKENDS:
                wait_http(int(x.rsplit(":", 1)[1]))
        except RuntimeError:
            os.system(f"cat {w}/*.err")
            raise
        have_bare = os.path.exists(b("bare_proxy"))
        rows = {}
        port = 18001
        for r in range(a.rounds):
            for T in Ts:
                for name, argv in proxies(w, T, port, have_bare).items():
                    try:
                        res = measure(argv, port, T, a, lua)
                    except Exception as e:  # a failed row is reported, not fatal
                        print(f"round {r} T={T} {name}: {e}")
                        continue
                    rows.setdefault((T, name), []).append(res)
                    print(f"round {r} T={T} {name}: {res['rps']:.0f} req/s p99 {res['p99']:.2f} ms "
                          f"cpu {res['cpu']:.2f} us/req", flush=True)
        table("Proxies (ratios to HAProxy at the same T)", rows, "haproxy")
        overhead(rows)
        if BASELINE:
            overhead(rows, "ringlb-base")
            overhead(rows, "ringlb", "ringlb-base")
    finally:
        stop(be)
    if a.replicas:
        rows = {}
        for r in range(a.rounds):
            for T in Ts:
                rep = {
                    "nginx": [b("nginx"), "-e", os.path.join(w, "rs.err"), "-p", w,
                              "-c", nginx_conf(w, f"rep{T}", T, f"""server {{ listen 127.0.0.1:18091 reuseport; location /home {{ default_type application/json; return 200 '{{"message": "Hello from Server: 1", "status": "successful"}}'; }} }}""")],
                    "ringlb-backend": [b("ringlb-backend"), "--listen", "127.0.0.1:18091", "--id", "1",
                                       "--threads", str(T)],
                }
                for name, argv in rep.items():
                    try:
                        res = measure(argv, 18091, T, a, lua)
                    except Exception as e:
                        print(f"round {r} T={T} {name}: {e}")
                        continue
                    rows.setdefault((T, name), []).append(res)
                    print(f"round {r} T={T} replica {name}: {res['rps']:.0f} req/s", flush=True)
        table("Replica (ratios to nginx at the same T)", rows, "nginx")


if __name__ == "__main__":
    main()
