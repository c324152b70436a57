#!/usr/bin/env python3
"""How fast the console's pages answer over a big store. Starts a release `pier serve` with the
dashboard, fills it with --buckets buckets and --objects objects in one of them (setup, not
measured: presigned PUTs, 32 at once), makes audit entries, signs in, and fetches each page
--requests times one after another. Prints, per page, the median and the slowest time from
sending the request to the last byte of the answer (on loopback, an upper bound of the server's
time), against the issue's 200 ms.

Usage: python3 bench/console.py [--buckets 1000] [--objects 100000] [--requests 20]
       PIER_BIN=path/to/pier python3 bench/console.py   (measure another build)
"""
import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (presigning and populating, shared with the storage benchmark)

LIMIT_MS = 200.0


def sign_in(dash_host, dash_port):
    """Signs in with the bench key; returns the session cookie."""
    body = urllib.parse.urlencode({"access_key": run.ACCESS, "secret": run.SECRET})
    c = http.client.HTTPConnection(dash_host, dash_port, timeout=60)
    c.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"http://{dash_host}:{dash_port}"})
    r = c.getresponse()
    r.read()
    assert r.status == 303, r.status
    return r.getheader("set-cookie").split(";")[0]


def timed_get(c, path, cookie):
    """Milliseconds from sending GET `path` to its last byte, and the page's size."""
    start = time.perf_counter()
    c.request("GET", path, headers={"Cookie": cookie})
    r = c.getresponse()
    data = r.read()
    ms = (time.perf_counter() - start) * 1000
    if r.status != 200:
        raise RuntimeError(f"GET {path} -> {r.status}: {data[:200]!r}")
    return ms, len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--buckets", type=int, default=1000)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    pier = os.environ.get("PIER_BIN")
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=run.ROOT, check=True)
        pier = os.path.join(run.ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-console-", dir=os.path.join(run.ROOT, "target"))
    dash_port = run.free_port()
    env = dict(os.environ, PIER_ROOT_ACCESS_KEY=run.ACCESS, PIER_ROOT_SECRET_KEY=run.SECRET, PIER_LOG="warn")
    server = subprocess.Popen(
        [pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data"),
         "--dashboard-listen", f"127.0.0.1:{dash_port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        while line and "pier listening on" not in line:  # the dashboard's line may come first
            line = server.stdout.readline()
        addr = re.search(r"http://([\d.]+):(\d+)", line)
        host, port = addr.group(1), int(addr.group(2))
        print(f"machine: {os.cpu_count()} cores; data in {work}")
        t0 = time.time()
        run.request(host, port, "PUT", run.presign(f"{host}:{port}", "PUT"))
        run.populate(host, port, args.buckets - 1, threads=16,
                     path=lambda i: run.presign(f"{host}:{port}", "PUT", bucket=f"bench-{i:04d}"))
        run.populate(host, port, args.objects, prefix="list/", body=b"x" * 100)
        # Changes for the audit log: one tagging per bucket of the first hundred.
        for i in range(min(100, args.buckets - 1)):
            path = run.presign(f"{host}:{port}", "PUT", query={"tagging": ""}, bucket=f"bench-{i:04d}")
            body = b'<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>'
            run.request(host, port, "PUT", path, body=body)
        print(f"setup: {args.buckets} buckets, {args.objects:,} objects in one, "
              f"{time.time() - t0:.0f} s (not measured)")
        time.sleep(2)  # the usage counters' janitor folds the deltas in
        cookie = sign_in("127.0.0.1", dash_port)
        pages = [
            ("bucket list (every bucket, its usage and cap)", "/"),
            ("a bucket's objects (a page of 100 under list/)", "/b/bench?prefix=list/"),
            ("a bucket's root (one folder over 100k keys)", "/b/bench"),
            ("deleted files shown (versions under list/)", "/b/bench?prefix=list/&hidden=1"),
            ("an object and its versions", "/b/bench/object?key=list/050000"),
            ("a bucket's settings", "/b/bench/settings"),
            ("a bucket's access changes", "/b/bench/access"),
            ("a bucket's CORS", "/b/bench/cors"),
            ("accounts (every account, keys, buckets, usage)", "/accounts"),
            ("audit log", "/audit"),
            ("traffic, last hour", "/traffic"),
            ("traffic, a bucket's last day", "/traffic?bucket=bench&window=day"),
        ]
        c = http.client.HTTPConnection("127.0.0.1", dash_port, timeout=60)
        worst = 0.0
        print(f"{'page':52} {'median ms':>10} {'slowest ms':>11} {'size':>9}")
        for name, path in pages:
            timed_get(c, path, cookie)  # warm
            times, size = [], 0
            for _ in range(args.requests):
                ms, size = timed_get(c, path, cookie)
                times.append(ms)
            worst = max(worst, max(times))
            print(f"{name:52} {statistics.median(times):10.1f} {max(times):11.1f} {size:9,}")
        verdict = "within" if worst <= LIMIT_MS else "OVER"
        print(f"slowest page answer {worst:.1f} ms: {verdict} the {LIMIT_MS:.0f} ms target")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
