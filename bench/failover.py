#!/usr/bin/env python3
"""Failure detection and replacement times, measured on a running ringlb.

Starts the release ringlb with conf/ringlb.yaml (3 process replicas) on free
loopback ports, drives it with wrk at full speed (random X-Request-Id), and
in each round:
  * kill -9 one replica: time until it is replaced (state up, restarts + 1);
  * SIGSTOP another (hung, not dead): time until ringlb notices it (state not
    up, or replaced) and until it is replaced.
The admin API (/rep?verbose=1) is polled every 2 ms. wrk's non-2xx and socket
errors over the whole run are the client-visible failures.

usage: bench/failover.py [--rounds N]      (needs: cargo build --release, wrk)
"""
import argparse, os, signal, statistics, subprocess, tempfile, time

from harness import RELEASE, get_json as get, start_ringlb, stop

RINGLB = os.path.join(RELEASE, "ringlb")
LUA = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/home", { ["X-Request-Id"] = tostring(math.random(100000, 999999)) })
end
"""


def children(pid):
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            env = open(f"/proc/{p}/environ", "rb").read().split(b"\0")
            name = next(e[10:].decode() for e in env if e.startswith(b"SERVER_ID="))
            out[name] = int(p)
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return out


def view(admin, name):
    for d in get(admin + "/rep?verbose=1")["message"]["details"]:
        if d["hostname"] == name:
            return d
    return None


def poll(admin, name, pred, limit=10.0):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        v = view(admin, name)
        if v is not None and pred(v):
            return time.monotonic() - start
        time.sleep(0.002)
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringlb-failover-")
    lua = os.path.join(work, "reqid.lua")
    open(lua, "w").write(LUA)
    lb, port, admin = start_ringlb(RINGLB, work)
    wrk = None
    try:
        duration = args.rounds * 4 + 2
        wrk = subprocess.Popen(["wrk", "-t1", "-c16", f"-d{duration}s", "-s", lua,
                                f"http://127.0.0.1:{port}/home"], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        kill_replaced, stop_detected, stop_replaced = [], [], []
        for r in range(args.rounds):
            kids = children(lb.pid)
            names = sorted(kids)
            victim = names[r % len(names)]
            before = view(admin, victim)["restarts"]
            os.kill(kids[victim], signal.SIGKILL)
            kill_replaced.append(poll(admin, victim, lambda v: v["restarts"] > before and v["state"] == "up"))
            time.sleep(1)
            kids = children(lb.pid)
            hung = names[(r + 1) % len(names)]
            before = view(admin, hung)["restarts"]
            t0 = time.monotonic()
            os.kill(kids[hung], signal.SIGSTOP)
            stop_detected.append(poll(admin, hung, lambda v: v["state"] != "up" or v["restarts"] > before))
            rest = poll(admin, hung, lambda v: v["restarts"] > before and v["state"] == "up")
            stop_replaced.append(time.monotonic() - t0 if rest == rest else rest)
            try:
                os.kill(kids[hung], signal.SIGCONT)
            except ProcessLookupError:
                pass
            time.sleep(1.5)
        out, _ = wrk.communicate()
        wrk = None
        requests = next((l.split()[0] for l in out.splitlines() if "requests in" in l), "?")
        errors = [l.strip() for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
        ms = lambda xs: f"median {statistics.median(xs)*1000:.0f} ms, max {max(xs)*1000:.0f} ms"
        print(f"== ringlb failover, {args.rounds} rounds, conf/ringlb.yaml "
              f"(health: 250 ms x 3 failures + 200 ms timeout), under wrk -t1 -c16")
        print(f"kill -9  -> replaced and serving:   {ms(kill_replaced)}")
        print(f"SIGSTOP  -> detected:               {ms(stop_detected)}")
        print(f"SIGSTOP  -> replaced and serving:   {ms(stop_replaced)}")
        print(f"client requests: {requests}, failed: {'; '.join(errors) if errors else 'none'}")
    finally:
        if wrk:
            wrk.kill()
        stop(lb)


if __name__ == "__main__":
    main()
