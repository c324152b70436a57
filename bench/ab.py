#!/usr/bin/env python3
"""Two builds of pier, A and B, measured in one run: each round starts a fresh `pier serve` of
each (taking turns going first) and drives 4 KiB PUTs and GETs with wrk (32 connections), so
the machine's drift between runs falls on both alike. Prints each round and the medians:
ops/s, p99, and the server's CPU time per request, with B as a percentage of A.

Usage: python3 bench/ab.py --a path/to/old/pier --b path/to/new/pier [--rounds 4] [--seconds 6]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (presigning, wrk and populating, shared with the storage benchmark)


def measure(pier, seconds):
    """One server of `pier`: (PUT ops/s, PUT p99 ms, PUT us CPU, GET ops/s, GET p99 ms, GET us CPU)."""
    work = tempfile.mkdtemp(prefix="pier-ab-", dir=os.path.join(run.ROOT, "target"))
    env = dict(os.environ, PIER_ROOT_ACCESS_KEY=run.ACCESS, PIER_ROOT_SECRET_KEY=run.SECRET,
               PIER_LOG="warn", PIER_DASHBOARD_LISTEN="off")
    server = subprocess.Popen([pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        addr = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
        host, port = addr.group(1), int(addr.group(2))
        hostport, endpoint = f"{host}:{port}", f"http://{host}:{port}"
        run.request(host, port, "PUT", run.presign(hostport, "PUT"))
        puts = os.path.join(work, "put.txt")
        with open(puts, "w") as f:
            f.writelines(run.presign(hostport, "PUT", f"small/{i}") + "\n" for i in range(20_000))
        put = run.wrk(endpoint, puts, "put", seconds, pid=server.pid)
        gets = os.path.join(work, "get.txt")
        with open(gets, "w") as f:
            f.writelines(run.presign(hostport, "GET", f"small/{i}") + "\n" for i in range(2_000))
        get = run.wrk(endpoint, gets, "get", seconds, pid=server.pid)
        return put + get
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the build to compare against")
    ap.add_argument("--b", required=True, help="the build measured")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=6)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    results = {"A": [], "B": []}
    for r in range(args.rounds):
        order = [("A", args.a), ("B", args.b)] if r % 2 == 0 else [("B", args.b), ("A", args.a)]
        for name, pier in order:
            m = measure(pier, args.seconds)
            results[name].append(m)
            print(f"round {r + 1} {name}: PUT {m[0]:,.0f} ops/s p99 {m[1]:.2f} ms {m[2]:.0f} us CPU; "
                  f"GET {m[3]:,.0f} ops/s p99 {m[4]:.2f} ms {m[5]:.0f} us CPU", flush=True)
    med = {k: [run.median([m[i] for m in v]) for i in range(6)] for k, v in results.items()}
    for i, what in ((0, "4 KiB PUT ops/s"), (2, "4 KiB PUT server CPU us/request"),
                    (3, "4 KiB GET ops/s"), (5, "4 KiB GET server CPU us/request")):
        a, b = med["A"][i], med["B"][i]
        print(f"{what}: A {a:,.1f}, B {b:,.1f}: B is {100 * b / a:.1f}% of A")


if __name__ == "__main__":
    main()
