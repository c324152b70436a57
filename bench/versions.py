#!/usr/bin/env python3
"""Listing with deep history. Starts a release `pier serve` and fills two buckets with the same
keys: `flat` (one version each) and `deep` (versioning enabled, DEPTH versions each). Then it
measures, with wrk (32 connections; medians of several runs):

- ListObjectsV2 of the current keys of each bucket (lists/s and p99): the design says listing
  current keys reads no history, so both should run at the same rate;
- GET of the current version by name in each bucket (ops/s): no history on the read path either;
- ListObjectVersions over the whole deep bucket in pages of 1000 (entries/s, one client).

Usage: python3 bench/versions.py [--keys 200] [--depth 1000] [--runs 3] [--seconds 5]
       PIER_BIN=path/to/pier python3 bench/versions.py   (another build)
"""
import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402 - the shared helpers of bench/run.py


def put_versions(host, port, bucket, keys, depth, threads=16):
    """PUTs `depth` versions of each of `keys` keys (setup, not measured)."""
    bench.BUCKET = bucket
    hostport = f"{host}:{port}"
    bench.populate(host, port, keys * depth, threads=threads, body=b"v" * 64,
                   path=lambda i: bench.presign(hostport, "PUT", f"key/{i % keys:06d}", bucket=bucket))


def list_versions_all(host, port, bucket):
    bench.BUCKET = bucket
    c = http.client.HTTPConnection(host, port, timeout=120)
    marker, count = None, 0
    start = time.perf_counter()
    while True:
        q = {"versions": "", "max-keys": "1000"}
        if marker:
            q.update({"key-marker": marker[0], "version-id-marker": marker[1]})
        c.request("GET", bench.presign(f"{host}:{port}", "GET", "", q))
        r = c.getresponse()
        body = r.read().decode()
        assert r.status == 200, body[:300]
        count += body.count("<Version>") + body.count("<DeleteMarker>")
        if "<IsTruncated>true</IsTruncated>" not in body:
            break
        marker = (re.search(r"<NextKeyMarker>([^<]+)<", body).group(1),
                  re.search(r"<NextVersionIdMarker>([^<]+)<", body).group(1))
    return time.perf_counter() - start, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    for tool in ("wrk", "curl"):
        if not shutil.which(tool):
            subprocess.run(["apt-get", "install", "-y", "-qq", tool], check=True)
    pier = os.environ.get("PIER_BIN")
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=bench.ROOT, check=True)
        pier = os.path.join(bench.ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-bench-", dir=os.path.join(bench.ROOT, "target"))
    try:
        env = dict(os.environ, PIER_ROOT_ACCESS_KEY=bench.ACCESS, PIER_ROOT_SECRET_KEY=bench.SECRET,
                   PIER_LOG="warn", PIER_DASHBOARD_LISTEN="off")
        server = subprocess.Popen(
            [pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        addr = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
        host, port = addr.group(1), int(addr.group(2))
        endpoint, hostport = f"http://{host}:{port}", f"{host}:{port}"
        for bucket in ("flat", "deep"):
            bench.BUCKET = bucket
            bench.request(host, port, "PUT", bench.presign(hostport, "PUT"))
        bench.BUCKET = "deep"
        bench.request(host, port, "PUT", bench.presign(hostport, "PUT", "", {"versioning": ""}),
                      body=b'<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>')
        t0 = time.perf_counter()
        put_versions(host, port, "flat", args.keys, 1)
        put_versions(host, port, "deep", args.keys, args.depth)
        total = args.keys * args.depth
        print(f"(wrote {args.keys} keys once and {total:,} versions in {time.perf_counter() - t0:.1f} s)")

        rates = {}
        for bucket in ("flat", "deep"):
            bench.BUCKET = bucket
            lst = os.path.join(work, f"list-{bucket}.txt")
            with open(lst, "w") as f:
                f.write(bench.presign(hostport, "GET", "", {"list-type": "2", "max-keys": "1000"}) + "\n")
            runs = [bench.wrk(endpoint, lst, "get", args.seconds) for _ in range(args.runs)]
            rates[bucket] = bench.median([r[0] for r in runs])
            print(f"ListObjectsV2 of {args.keys} current keys, bucket {bucket}: "
                  f"{rates[bucket]:,.0f} lists/s, p99 {bench.median([r[1] for r in runs]):.2f} ms")
            gets = os.path.join(work, f"get-{bucket}.txt")
            with open(gets, "w") as f:
                f.writelines(bench.presign(hostport, "GET", f"key/{i:06d}") + "\n" for i in range(args.keys))
            runs = [bench.wrk(endpoint, gets, "get", args.seconds) for _ in range(args.runs)]
            print(f"GET current version, bucket {bucket}: {bench.median([r[0] for r in runs]):,.0f} ops/s, "
                  f"p99 {bench.median([r[1] for r in runs]):.2f} ms")
        print(f"deep/flat listing rate: {100 * rates['deep'] / rates['flat']:.0f}%")
        runs = [list_versions_all(host, port, "deep") for _ in range(args.runs)]
        secs = bench.median([r[0] for r in runs])
        assert all(r[1] == total for r in runs), runs
        print(f"ListObjectVersions of {total:,} versions: {secs:.2f} s ({total / secs:,.0f} entries/s)")
        server.terminate()
        server.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
