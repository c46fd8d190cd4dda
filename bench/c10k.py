#!/usr/bin/env python3
"""10,000 clients at once, as the assignment's async test clients do.

Starts the release ringlb with conf/ringlb.yaml (3 process replicas) on free
loopback ports, then opens CLIENTS connections concurrently, each sending one
`GET /home` with a random 6-digit X-Request-Id and reading the whole reply.
Reports how many got a 200, the errors by kind, the wall time, and ringlb's
peak RSS (VmHWM). The client raises its own open-file limit first.

usage: bench/c10k.py [--clients 10000]      (needs: cargo build --release)
RINGLB_BIN=path picks another ringlb binary (ringlb-backend must sit next to it).
"""
import argparse, asyncio, collections, os, random, resource, sys, tempfile, time

from harness import RELEASE, ROOT, start_ringlb, stop

RINGLB = os.environ.get("RINGLB_BIN", os.path.join(RELEASE, "ringlb"))


async def one(port, results, start_gate):
    await start_gate.wait()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
        rid = random.randint(100000, 999999)
        writer.write(f"GET /home HTTP/1.1\r\nHost: ringlb\r\nX-Request-Id: {rid}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "garbled"
        results[status] += 1
    except Exception as e:  # noqa: BLE001 - every failure kind is counted
        results[type(e).__name__] += 1


async def storm(port, clients):
    results = collections.Counter()
    gate = asyncio.Event()
    tasks = [asyncio.create_task(one(port, results, gate)) for _ in range(clients)]
    t0 = time.monotonic()
    gate.set()
    await asyncio.gather(*tasks)
    return results, time.monotonic() - t0


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=10000)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.clients + 100:
        sys.exit(f"open-file hard limit {hard} is below {args.clients} clients")
    work = tempfile.mkdtemp(prefix="ringlb-c10k-")
    # The default connection limit leaves half the open-file limit for
    # replica connections and a reserve (README, Hostile clients); this
    # bench asks for every client at once, so it raises the limit.
    conf = os.path.join(work, "ringlb.yaml")
    with open(os.path.join(ROOT, "conf", "ringlb.yaml")) as f:
        base = f.read()
    with open(conf, "w") as f:
        f.write(base.rstrip("\n") + f"\n  clients:\n    max_connections: {args.clients + 100}\n")
    lb, port, _ = start_ringlb(RINGLB, work, "info", conf)
    try:
        results, wall = asyncio.run(storm(port, args.clients))
        ok = results.pop("200", 0)
        print(f"== {args.clients} concurrent clients, one GET /home each, conf/ringlb.yaml")
        print(f"200: {ok}/{args.clients} in {wall:.2f} s; errors: {dict(results) if results else 'none'}")
        print(f"ringlb peak RSS: {peak_rss_mb(lb.pid):.1f} MB")
        limit = [l.strip() for l in open(os.path.join(work, "ringlb.log")) if "open-file limit" in l]
        print(f"ringlb log: {limit[0] if limit else 'no open-file line'}")
    finally:
        stop(lb)


if __name__ == "__main__":
    main()
