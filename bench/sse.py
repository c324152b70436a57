#!/usr/bin/env python3
"""Server-side encryption (SSE-S3) against none, same server, same run. Starts a release
`pier serve` with two buckets, `bench` (stored as sent) and `bench-sse` (default encryption
AES256: every object sealed in 64 KiB AES-256-GCM chunks), and prints medians of several runs:

- 4 KiB PUT: ops/s into each bucket (32 keep-alive connections, wrk), the ratio and the
  server's CPU per request (the buckets take turns going first);
- 256 MiB and 1 GiB PUT and GET: MiB/s (curl, one stream) for each bucket, and the ratios.

Usage: python3 bench/sse.py [--runs 3] [--seconds 6] [--skip-1g]
       PIER_BIN=path/to/pier python3 bench/sse.py   (another build, for A/B runs)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the storage benchmark's presigning, wrk driver and helpers)

ROOT = run.ROOT
ENCRYPTION = (b'<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>'
              b'<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>'
              b'</ServerSideEncryptionConfiguration>')


def presign(bucket, host, method, key="", query=None):
    """`run.presign` for another bucket."""
    saved, run.BUCKET = run.BUCKET, bucket
    try:
        return run.presign(host, method, key, query)
    finally:
        run.BUCKET = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--skip-1g", action="store_true", help="only 256 MiB for the large objects")
    args = ap.parse_args()
    pier = os.environ.get("PIER_BIN")
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=ROOT, check=True)
        pier = os.path.join(ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-bench-sse-", dir=os.path.join(ROOT, "target"))
    env = dict(os.environ, PIER_ROOT_ACCESS_KEY=run.ACCESS, PIER_ROOT_SECRET_KEY=run.SECRET,
               PIER_LOG="warn", PIER_DASHBOARD_LISTEN="off")
    server = subprocess.Popen(
        [pier, "serve", "--listen", "127.0.0.1:0", "--garbage-grace-secs", "0",
         "--data-dir", os.path.join(work, "data")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        m = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
        host, port = m.group(1), int(m.group(2))
        at = f"{host}:{port}"
        buckets = ("bench", "bench-sse")
        for b in buckets:
            run.request(host, port, "PUT", presign(b, at, "PUT"))
        run.request(host, port, "PUT", presign("bench-sse", at, "PUT", query={"encryption": ""}), body=ENCRYPTION)
        files = {}
        for b in buckets:
            path = os.path.join(work, f"{b}-put.txt")
            with open(path, "w") as f:
                f.writelines(presign(b, at, "PUT", f"small/{i}") + "\n" for i in range(2000))
            files[b] = path
        sizes = [256] + ([] if args.skip_1g else [1024])
        for mib in sizes:
            with open(os.path.join(work, f"{mib}.bin"), "wb") as f:
                for _ in range(mib):
                    f.write(os.urandom(1 << 20))
        rates, cpu = {}, {}
        for r in range(args.runs):
            # Each run alternates which bucket goes first, so neither pays for the other's
            # leftovers (WAL growth, checkpoints) every time.
            for b in (buckets if r % 2 == 0 else buckets[::-1]):
                rps, _, us = run.wrk(f"http://{at}", files[b], "put", args.seconds, pid=server.pid)
                rates.setdefault((b, "small"), []).append(rps)
                cpu.setdefault(b, []).append(us)
                for mib in sizes:
                    src = os.path.join(work, f"{mib}.bin")
                    seconds = run.timed_curl(["-T", src, f"http://{at}" + presign(b, at, "PUT", f"big-{mib}")])
                    rates.setdefault((b, f"put {mib}"), []).append(mib / seconds)
                    seconds = run.timed_curl([f"http://{at}" + presign(b, at, "GET", f"big-{mib}")])
                    rates.setdefault((b, f"get {mib}"), []).append(mib / seconds)
        med = {k: run.median(v) for k, v in rates.items()}
        c = {k: run.median(v) for k, v in cpu.items()}
        plain, sealed = buckets
        print(f"4 KiB PUT: none {med[(plain, 'small')]:,.0f} ops/s ({c[plain]:.0f} us CPU), "
              f"SSE-S3 {med[(sealed, 'small')]:,.0f} ops/s ({c[sealed]:.0f} us CPU): "
              f"{100 * med[(sealed, 'small')] / med[(plain, 'small')]:.0f}%")
        for mib in sizes:
            for op in ("put", "get"):
                a, b = med[(plain, f"{op} {mib}")], med[(sealed, f"{op} {mib}")]
                print(f"{mib} MiB {op.upper()}: none {a:,.0f} MiB/s, SSE-S3 {b:,.0f} MiB/s: {100 * b / a:.0f}%")
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
