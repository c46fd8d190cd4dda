#!/usr/bin/env python3
"""Memory per connection: ringlb, HAProxy, nginx (and bare Pingora) over the
same three nginx backends, one thread each, on loopback.

Two loads, each on a freshly started proxy:
  burst  N clients at once, one `GET /home` each with `Connection: close`:
         peak RSS (VmHWM) over the RSS before, per 1,000 clients;
  idle   N keep-alive clients, one request each, then held open: RSS with
         all of them open (2.5 s after the last answer) over the RSS
         before, per 1,000 clients.
Every client must get a 200, or the row says how many did not.

usage: bench/conns.py [--clients 8000] [--baseline OLD_RINGLB] [--only a,b]
(needs haproxy and nginx; `make bench` installs them and
builds the release binaries; bare Pingora is target/release/examples/bare_proxy)
"""
import argparse, asyncio, os, random, resource, subprocess, sys, tempfile, time

from harness import RELEASE as REL, free_port
from peers import Procs, child_pid, nginx_backends, ringlb_conf, wait_port

# BIN: a folder from bench/pack.sh (binaries and tools side by side, their
# libraries on LD_LIBRARY_PATH); else the release build and the PATH.
BIN = os.environ.get("BIN")


def tool(name):
    return os.path.join(BIN, name) if BIN else name


def built(name):
    return os.path.join(BIN, os.path.basename(name)) if BIN else os.path.join(REL, name)


def nginx_head(work, name, hard):
    """nginx's preamble: runs as root where there is no www-data user, and
    keeps every temp path in the work folder."""
    user = "user root; " if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1; daemon off; pid {work}/{name}.pid; error_log {work}/{name}.err;\n"
            f"worker_rlimit_nofile {hard};\n")


def nginx_http(work):
    return "".join(f"{k}_temp_path {work}/{k}; " for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def rss_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} for {pid}")


async def request(port, keep):
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
    rid = random.randint(100000, 999999)
    close = "" if keep else "Connection: close\r\n"
    writer.write(f"GET /home HTTP/1.1\r\nHost: b\r\nX-Request-Id: {rid}\r\n{close}\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await asyncio.wait_for(reader.readexactly(length), 60)
    ok = head.startswith(b"HTTP/1.1 200")
    if keep:
        return ok, writer
    writer.close()
    return ok, None


async def load(port, clients, keep, pid):
    """(ok count, RSS in kB measured with all clients done or held)."""
    results = await asyncio.gather(*(request(port, keep) for _ in range(clients)), return_exceptions=True)
    ok = sum(1 for r in results if not isinstance(r, BaseException) and r[0])
    # Let the proxy settle: freed buffers returned, counters final. 2.5 s
    # covers ringlb's allocator: mimalloc purges freed pages after 1 s,
    # and ringlb's tidy thread triggers due purges once a second.
    await asyncio.sleep(2.5)
    held = rss_kb(pid, "VmRSS")
    for r in results:
        if not isinstance(r, BaseException) and r[1] is not None:
            r[1].close()
    return ok, held


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8000)
    ap.add_argument("--baseline", metavar="RINGLB", help="another ringlb build to measure beside this one")
    ap.add_argument("--only", default="", help="comma-separated row names to run")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 2 * args.clients + 1000:
        sys.exit(f"open-file hard limit {hard} is too low for {args.clients} clients")
    work = tempfile.mkdtemp(prefix="ringlb-conns-")
    procs = Procs()
    try:
        be_ports = [free_port() for _ in range(3)]
        servers = nginx_backends(be_ports)
        open(f"{work}/be.conf", "w").write(
            nginx_head(work, "be", hard) +
            f"events {{ worker_connections {2 * args.clients + 100}; }}\nhttp {{ access_log off; {nginx_http(work)}\n{servers}\n}}\n")
        procs.start([tool("nginx"), "-e", f"{work}/be.start.err", "-p", work, "-c", f"{work}/be.conf"])
        backends = [f"127.0.0.1:{p}" for p in be_ports]
        for p in be_ports:
            wait_port(p)

        def haproxy(port):
            ha = "\n".join(f"  server s{i} {b}" for i, b in enumerate(backends))
            open(f"{work}/haproxy.cfg", "w").write(
                f"global\n  nbthread 1\n  maxconn {args.clients + 100}\ndefaults\n  mode http\n"
                "  timeout connect 2s\n  timeout client 60s\n  timeout server 30s\n"
                "  option http-keep-alive\n  http-reuse always\n"
                f"frontend fe\n  bind 127.0.0.1:{port}\n  default_backend be\n"
                f"backend be\n  balance hdr(X-Request-Id)\n  hash-type consistent\n{ha}\n")
            return procs.start([tool("haproxy"), "-f", f"{work}/haproxy.cfg", "-db"]).pid

        def nginx(port):
            ups = " ".join(f"server {b};" for b in backends)
            open(f"{work}/lb.conf", "w").write(
                nginx_head(work, "lb", hard) +
                f"events {{ worker_connections {2 * args.clients + 100}; }}\nhttp {{ access_log off; {nginx_http(work)}\n"
                f"upstream be {{ hash $http_x_request_id consistent; {ups} keepalive 64; }}\n"
                f"server {{ listen 127.0.0.1:{port}; keepalive_timeout 120s; location / {{ proxy_pass http://be; "
                f"proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}\n}}\n")
            return child_pid(procs.start([tool("nginx"), "-e", f"{work}/lb.start.err", "-p", work,
                                          "-c", f"{work}/lb.conf"]).pid)

        def ringlb(binary, name, read_buffer=None):
            def run(port):
                conf = ringlb_conf(work, name, 1, port, free_port(), backends)
                with open(conf, "a") as f:
                    f.write(f"  clients:\n    max_connections: {args.clients + 100}\n")
                    if read_buffer is not None:
                        f.write(f"    read_buffer_bytes: {read_buffer}\n")
                return procs.start([binary, "-c", conf], env=dict(os.environ, RUST_LOG="warn")).pid
            return run

        rows = {"haproxy": haproxy, "nginx": nginx, "ringlb": ringlb(built("ringlb"), "ringlb"),
                # Pingora's default read buffer, for what the setting saves.
                "ringlb 64 KiB buf": ringlb(built("ringlb"), "ringlb64", 65536)}
        if args.baseline:
            rows["ringlb baseline"] = ringlb(args.baseline, "baseline")
        bare = built(os.path.join("examples", "bare_proxy"))
        if os.path.exists(bare):
            rows["pingora bare"] = lambda port: procs.start([bare, f"127.0.0.1:{port}"] + backends).pid
        only = [x for x in args.only.split(",") if x]
        results = {}
        for name, start in rows.items():
            if only and name not in only:
                continue
            for kind, keep in (("burst", False), ("idle", True)):
                port = free_port()
                pid = start(port)
                wait_port(port)
                # Warm: a few requests, so lazily built state is not counted.
                asyncio.run(load(port, 20, False, pid))
                before = rss_kb(pid, "VmRSS")
                ok, held = asyncio.run(load(port, args.clients, keep, pid))
                grown = (rss_kb(pid, "VmHWM") if kind == "burst" else held) - before
                per_k = grown / 1024 / args.clients * 1000
                results[(name, kind)] = (per_k, ok)
                print(f"{name:16s} {kind:5s} +{grown / 1024:7.1f} MB = {per_k:5.1f} MB per 1,000; "
                      f"{ok}/{args.clients} got 200", file=sys.stderr)
                procs.procs[-1].terminate()
                procs.procs[-1].wait(15)
        print(f"== memory per 1,000 client connections, {args.clients} clients, 1 thread each, "
              f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
        print("| proxy | burst (Connection: close) MB/1,000 | idle keep-alive MB/1,000 | 200s |")
        print("|---|---|---|---|")
        for name in rows:
            if (name, "burst") not in results:
                continue
            (b, bok), (i, iok) = results[(name, "burst")], results[(name, "idle")]
            print(f"| {name} | {b:.1f} | {i:.1f} | {min(bok, iok)}/{args.clients} |")
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
