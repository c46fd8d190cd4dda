#!/usr/bin/env python3
"""What ringlb's observability costs: the same load against ringlb with the
access log off (metrics are always on), to a file, and to stdout (a file
too, as a container runtime would collect it); with `--base BIN`, also
against another ringlb binary (e.g. a build from before metrics existed).

Each variant runs conf/ringlb.yaml (3 process replicas, `threads: 1`) on
free loopback ports; wrk (`-t1 -c50`, random 6-digit X-Request-Id) drives
them in alternating rounds. Reported per variant: median req/s, p99, and
CPU microseconds per request of the ringlb process (utime + stime over the
round), and each as a ratio to the first variant.

usage: bench/observability.py [--rounds 5] [--duration 5] [--conns 50]
                              [--ringlb BIN] [--base BIN]
(release binaries: cargo build --release --bins; wrk: apt-get install wrk)
"""
import argparse, os, shutil, statistics, sys, tempfile

from harness import RELEASE, ROOT, start_ringlb, stop
from peers import LUA, TCK, cpu_ticks, wrk


def conf_with(work, access_log):
    """conf/ringlb.yaml with an `access_log:` section added to `ringlb:`."""
    text = open(os.path.join(ROOT, "conf", "ringlb.yaml")).read()
    if access_log:
        text = text.replace("\nringlb:\n", f"\nringlb:\n  access_log:\n{access_log}", 1)
    path = os.path.join(work, "ringlb.yaml")
    open(path, "w").write(text)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--ringlb", default=os.path.join(RELEASE, "ringlb"),
                    help="the ringlb binary under test (its ringlb-backend beside it)")
    ap.add_argument("--base", help="another ringlb binary to compare (access log off)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    binary = args.ringlb
    work = tempfile.mkdtemp(prefix="ringlb-obs-")
    log_file = os.path.join(work, "access.log")
    variants = [("access log off", binary, "")]
    if args.base:
        variants.insert(0, ("base binary", args.base, ""))
    variants += [
        ("access log to a file", binary, f"    enabled: true\n    path: {log_file}\n"),
        ("access log to stdout", binary, "    enabled: true\n    path: stdout\n"),
    ]
    lua = os.path.join(work, "keys.lua")
    open(lua, "w").write(LUA)
    results = {name: [] for name, _, _ in variants}
    for rnd in range(args.rounds):
        for name, bin_path, access in variants:
            vwork = tempfile.mkdtemp(dir=work)
            conf = conf_with(vwork, access)
            out = open(os.path.join(vwork, "stdout"), "w")
            lb, port, _ = start_ringlb(bin_path, vwork, conf=conf, stdout=out)
            try:
                wrk(port, lua, args.conns, 1)  # warm the pools
                before = cpu_ticks(lb.pid)
                rps, reqs, _, p99, errors = wrk(port, lua, args.conns, args.duration)
                cpu_us = (cpu_ticks(lb.pid) - before) / TCK * 1e6 / max(reqs, 1)
            finally:
                stop(lb)
            if errors:
                sys.exit(f"{name}: {errors}")
            results[name].append((rps, p99, cpu_us))
            print(f"round {rnd + 1} {name}: {rps:.0f} req/s, p99 {p99:.2f} ms, {cpu_us:.1f} us/req",
                  flush=True)
    first = variants[0][0]
    med = {n: [statistics.median(r[i] for r in rs) for i in range(3)] for n, rs in results.items()}
    print(f"\nmedians over {args.rounds} rounds: wrk -t1 -c{args.conns} -d{args.duration}s\n")
    print(f"| | req/s | p99 ms | CPU us/req | req/s x | CPU x |")
    print("|---|---|---|---|---|---|")
    for name, (rps, p99, cpu) in med.items():
        base = med[first]
        print(f"| {name} | {rps:.0f} | {p99:.2f} | {cpu:.2f} | {rps / base[0]:.3f} | {cpu / base[2]:.3f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
