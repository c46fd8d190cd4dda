#!/usr/bin/env python3
"""ringlb side by side with HAProxy and nginx, on loopback.

The same three nginx backends sit behind HAProxy 2.6 (1 thread, `balance
hdr(X-Request-Id)`, `hash-type consistent`), nginx (1 worker, `hash
$http_x_request_id consistent`, keepalive 64) and ringlb (static replicas,
X-Request-Id key, `threads: 1`, and a second row with `threads: 2`). wrk
(`-t1 -c50`, random 6-digit X-Request-Id) drives each in alternating rounds.
Reported per proxy: median req/s, p50 and p99 latency, CPU microseconds per
request (utime + stime of the proxy's process over the round) and peak RSS
(VmHWM), each also as a ratio to HAProxy. A second table puts
`ringlb-backend` against nginx as the replica itself. When
target/release/examples/bare_proxy exists, a "pingora bare" row shows the
floor: a Pingora proxy with ringlb's build settings and no logic at all.

usage: bench/peers.py [--rounds 5] [--duration 5] [--conns 50] [--baseline OLD_RINGLB]
(--baseline adds a row for another ringlb build and prints the A/B ratios)
(`make bench` builds the release binaries and installs wrk, haproxy, nginx)
"""
import argparse, os, re, signal, socket, statistics, subprocess, sys, tempfile, time

from harness import RELEASE as REL, free_port
LUA = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/home", { ["X-Request-Id"] = tostring(math.random(100000, 999999)) })
end
"""
TCK = os.sysconf("SC_CLK_TCK")


def wait_port(port, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def to_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)$", s)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def wrk(port, lua, conns, duration):
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "-s", lua,
                          f"http://127.0.0.1:{port}/home"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    return rps, reqs, p50, p99, errors


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def child_pid(parent):
    for _ in range(200):
        out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.02)
    raise RuntimeError("nginx worker did not start")


def nginx_backends(ports):
    """nginx `server` blocks answering /home as replicas 1..N would."""
    return "\n".join(
        f"server {{ listen 127.0.0.1:{p}; location / {{ default_type application/json; "
        f"return 200 '{{\"message\": \"Hello from Server: {i + 1}\", \"status\": \"successful\"}}'; }} }}"
        for i, p in enumerate(ports))


def ringlb_conf(work, name, threads, port, aport, backends):
    path = os.path.join(work, f"{name}.yaml")
    initial = ", ".join(f"'{b}'" for b in backends)
    open(path, "w").write(f"""version: 1
threads: {threads}
work_stealing: false
grace_period_seconds: 0
graceful_shutdown_timeout_seconds: 1
upstream_keepalive_pool_size: 256
ringlb:
  listen: "127.0.0.1:{port}"
  admin:
    listen: "127.0.0.1:{aport}"
  replicas:
    provisioner: static
    initial: [{initial}]
""")
    return path


def report(title, names, rows, base):
    print(f"\n{title}")
    print(f"| {'':22s} | req/s | p50 ms | p99 ms | CPU us/req | peak RSS MB | req/s x | p99 x | CPU x |")
    print("|---|---|---|---|---|---|---|---|---|")
    med = lambda n, i: statistics.median(r[i] for r in rows[n])
    b = {i: med(base, i) for i in range(5)}
    for n in names:
        rps, p50, p99, cpu, rss = (med(n, i) for i in range(5))
        print(f"| {n:22s} | {rps:7.0f} | {p50:.3f} | {p99:.3f} | {cpu:6.2f} | {rss:6.1f} | "
              f"{rps / b[0]:.2f} | {p99 / b[2]:.2f} | {cpu / b[3]:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--baseline", metavar="RINGLB",
                    help="another ringlb binary (an older build) to run beside this one, "
                         "same config, for an A/B of a change")
    args = ap.parse_args()
    for tool in ("wrk", "haproxy", "nginx"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            sys.exit(f"{tool} is missing: run `make bench` (it installs wrk, haproxy, nginx)")
    work = tempfile.mkdtemp(prefix="ringlb-bench-")
    lua = os.path.join(work, "reqid.lua")
    open(lua, "w").write(LUA)
    procs = Procs()
    try:
        be_ports = [free_port() for _ in range(3)]
        servers = nginx_backends(be_ports)
        open(f"{work}/be.conf", "w").write(
            f"worker_processes 1; daemon off; pid {work}/be.pid; error_log {work}/be.err;\n"
            f"events {{ worker_connections 8192; }}\nhttp {{ access_log off;\n{servers}\n}}\n")
        be = procs.start(["nginx", "-c", f"{work}/be.conf"])
        backends = [f"127.0.0.1:{p}" for p in be_ports]
        names = ["haproxy", "nginx", "ringlb threads=1", "ringlb threads=2"]
        if args.baseline:
            names.append("ringlb baseline t=1")
        bare = os.path.join(REL, "examples", "bare_proxy")
        if os.path.exists(bare):
            names.append("pingora bare (floor)")
        ports = {n: free_port() for n in names}
        ups = " ".join(f"server {b};" for b in backends)
        open(f"{work}/lb.conf", "w").write(
            f"worker_processes 1; daemon off; pid {work}/lb.pid; error_log {work}/lb.err;\n"
            f"events {{ worker_connections 8192; }}\nhttp {{ access_log off;\n"
            f"upstream be {{ hash $http_x_request_id consistent; {ups} keepalive 64; }}\n"
            f"server {{ listen 127.0.0.1:{ports['nginx']}; location / {{ proxy_pass http://be; "
            f"proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}\n}}\n")
        ha_servers = "\n".join(f"  server s{i} {b}" for i, b in enumerate(backends))
        open(f"{work}/haproxy.cfg", "w").write(
            "global\n  nbthread 1\n  maxconn 8000\ndefaults\n  mode http\n  timeout connect 2s\n"
            "  timeout client 30s\n  timeout server 30s\n  option http-keep-alive\n  http-reuse always\n"
            f"frontend fe\n  bind 127.0.0.1:{ports['haproxy']}\n  default_backend be\n"
            f"backend be\n  balance hdr(X-Request-Id)\n  hash-type consistent\n{ha_servers}\n")
        ha = procs.start(["haproxy", "-f", f"{work}/haproxy.cfg", "-db"])
        ng = procs.start(["nginx", "-c", f"{work}/lb.conf"])
        pids = {"haproxy": ha.pid, "nginx": child_pid(ng.pid)}
        for n, threads in (("ringlb threads=1", 1), ("ringlb threads=2", 2)):
            conf = ringlb_conf(work, n.replace(" ", "_").replace("=", ""), threads, ports[n], free_port(), backends)
            pids[n] = procs.start([os.path.join(REL, "ringlb"), "-c", conf],
                                  env=dict(os.environ, RUST_LOG="warn")).pid
        if args.baseline:
            n = "ringlb baseline t=1"
            conf = ringlb_conf(work, "baseline", 1, ports[n], free_port(), backends)
            pids[n] = procs.start([args.baseline, "-c", conf], env=dict(os.environ, RUST_LOG="warn")).pid
        if os.path.exists(bare):
            pids["pingora bare (floor)"] = procs.start(
                [bare, f"127.0.0.1:{ports['pingora bare (floor)']}"] + backends).pid
        # The replica itself: ringlb-backend against one nginx backend.
        rb_port = free_port()
        rb = procs.start([os.path.join(REL, "ringlb-backend"), "--listen", f"127.0.0.1:{rb_port}"],
                         env=dict(os.environ, SERVER_ID="1", RUST_LOG="warn"))
        replica_ports = {"nginx (1 worker)": be_ports[0], "ringlb-backend": rb_port}
        replica_pids = {"nginx (1 worker)": child_pid(be.pid), "ringlb-backend": rb.pid}
        for p in list(ports.values()) + [rb_port] + be_ports:
            wait_port(p)

        rows = {n: [] for n in ports}
        rrows = {n: [] for n in replica_ports}
        errors = []
        for r in range(args.rounds):
            for group, table, pidmap, portmap in (("proxy", rows, pids, ports),
                                                  ("replica", rrows, replica_pids, replica_ports)):
                for n in portmap:
                    c0 = cpu_ticks(pidmap[n])
                    rps, reqs, p50, p99, errs = wrk(portmap[n], lua, args.conns, args.duration)
                    cpu_us = (cpu_ticks(pidmap[n]) - c0) / TCK * 1e6 / max(reqs, 1)
                    table[n].append((rps, p50, p99, cpu_us, peak_rss_mb(pidmap[n])))
                    errors += [f"{n}: {e}" for e in errs]
                    print(f"round {r + 1} {n:22s} {rps:9.0f} req/s  p50 {p50:.3f} ms  p99 {p99:.3f} ms  "
                          f"{cpu_us:6.2f} us/req  {' '.join(errs)}", file=sys.stderr)
        print(f"== medians over {args.rounds} rounds: wrk -t1 -c{args.conns} -d{args.duration}s, random "
              f"X-Request-Id, loopback, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
        report("Proxies over 3 nginx backends (ratios to HAProxy)", list(ports), rows, "haproxy")
        report("Replicas serving /home directly (ratios to nginx)", list(replica_ports), rrows, "nginx (1 worker)")
        if args.baseline:
            med = lambda n, i: statistics.median(r[i] for r in rows[n])
            new, old = "ringlb threads=1", "ringlb baseline t=1"
            print(f"\nA/B, this build over the baseline (threads=1, medians): req/s x "
                  f"{med(new, 0) / med(old, 0):.3f}, p99 x {med(new, 2) / med(old, 2):.3f}, "
                  f"CPU/req x {med(new, 3) / med(old, 3):.3f}")
        print("\nerrors: " + ("; ".join(errors) if errors else "none"))
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
