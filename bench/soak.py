#!/usr/bin/env python3
"""pier's soak benchmark: many concurrent keep-alive connections for minutes of mixed traffic
(4 KiB PUT, GET, ListObjectsV2 page, CORS preflight), then a slowloris phase.

Every interval it prints throughput, p99 latency, errors and the server's RSS (the target: RSS
flat within 10 MiB after warm-up, zero errors). The slowloris phase opens connections that send
half a request head and stall, while normal clients keep going; it prints the normal clients'
p99 before and during the attack. Traffic goes to a release `pier serve` on loopback only, and
every loop is bounded in time.

Usage: python3 bench/soak.py [--connections 1000] [--minutes 5] [--interval 30]
       PIER_BIN=path/to/pier python3 bench/soak.py   (measure another build, for A/B runs)
                             [--slowloris 2000] [--slowloris-seconds 30]
"""
import argparse
import asyncio
import importlib.util
import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("store_bench", os.path.join(ROOT, "bench", "run.py"))
sb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sb)

CORS = ("<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin>"
        "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
        "<AllowedHeader>content-type</AllowedHeader></CORSRule></CORSConfiguration>")


class Stats:
    def __init__(self):
        self.latencies, self.count, self.kinds = [], 0, {}

    def error(self, kind):
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def take(self):
        lat, self.latencies = sorted(self.latencies), []
        n, kinds = self.count, self.kinds
        self.count, self.kinds = 0, {}
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else 0.0
        errors = sum(kinds.values())
        detail = " (" + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())) + ")" if kinds else ""
        return n, f"{errors}{detail}", p99


async def exchange(reader, writer, head, body=b""):
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    return status


async def client(i, host, port, paths, stats, deadline):
    hostport = f"{host}:{port}"
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    try:
        while time.monotonic() < deadline:
            kind = (i + n) % 4
            n += 1
            if kind == 0:
                body = b"s" * 4096
                head = (f"PUT {paths['put'][(i * 7 + n) % len(paths['put'])]} HTTP/1.1\r\nHost: {hostport}\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode()
            elif kind == 1:
                head, body = f"GET {paths['get'][(i + n) % len(paths['get'])]} HTTP/1.1\r\nHost: {hostport}\r\n\r\n".encode(), b""
            elif kind == 2:
                head, body = f"GET {paths['list']} HTTP/1.1\r\nHost: {hostport}\r\n\r\n".encode(), b""
            else:
                head, body = (f"OPTIONS /{sb.BUCKET}/x HTTP/1.1\r\nHost: {hostport}\r\nOrigin: https://app.example.com\r\n"
                              "Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n\r\n").encode(), b""
            started = time.monotonic()
            try:
                status = await asyncio.wait_for(exchange(reader, writer, head, body), 30)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                stats.error(type(e).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            stats.latencies.append(time.monotonic() - started)
            stats.count += 1
            if status >= 400:
                stats.error(f"HTTP {status}")
    finally:
        writer.close()


async def slowloris(host, port, n, seconds):
    """Opens `n` connections that send half a request head, then nothing."""
    conns = []
    for _ in range(n):
        try:
            r, w = await asyncio.open_connection(host, port)
            w.write(b"GET /_pier/health HTTP/1.1\r\nHost: x\r\n")
            conns.append(w)
        except OSError:
            break
    await asyncio.sleep(seconds)
    for w in conns:
        w.close()
    return len(conns)


async def report(stats, rss, interval, deadline, label):
    start = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(min(interval, max(0.1, deadline - time.monotonic())))
        n, e, p99 = stats.take()
        print(f"{label} t={time.monotonic() - start:5.0f}s  {n / interval:8,.0f} req/s  p99 {p99:7.2f} ms  "
              f"errors {e}  RSS {rss():6.1f} MiB", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--interval", type=float, default=30)
    ap.add_argument("--slowloris", type=int, default=2000)
    ap.add_argument("--slowloris-seconds", type=float, default=30)
    args = ap.parse_args()
    pier = os.environ.get("PIER_BIN")  # another build to measure (A/B runs); default: this tree
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=ROOT, check=True)
        pier = os.path.join(ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-soak-", dir=os.path.join(ROOT, "target"))
    env = dict(os.environ, PIER_ROOT_ACCESS_KEY=sb.ACCESS, PIER_ROOT_SECRET_KEY=sb.SECRET, PIER_LOG="warn",
               PIER_DASHBOARD_LISTEN="off")
    server = subprocess.Popen(
        [pier, "serve", "--listen", "127.0.0.1:0",
         "--data-dir", os.path.join(work, "data"), "--header-timeout", "10"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        addr = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
        host, port = addr.group(1), int(addr.group(2))
        hostport = f"{host}:{port}"
        sb.request(host, port, "PUT", sb.presign(hostport, "PUT"))
        sb.request(host, port, "PUT", sb.presign(hostport, "PUT", query={"cors": ""}), CORS.encode())
        sb.populate(host, port, 1000, prefix="get/", body=b"g" * 4096)
        paths = {
            "put": [sb.presign(hostport, "PUT", f"soak/{i}") for i in range(5000)],
            "get": [sb.presign(hostport, "GET", f"get/{i:06d}") for i in range(1000)],
            "list": sb.presign(hostport, "GET", query={"list-type": "2", "prefix": "get/1", "max-keys": "100"}),
        }
        sampler = sb.RssSampler(server.pid)

        def rss():
            peak = sampler.peak()
            sampler.reset()
            return peak

        async def soak():
            stats = Stats()
            deadline = time.monotonic() + args.minutes * 60
            print(f"soak: {args.connections} connections for {args.minutes} min, report every {args.interval:.0f} s")
            await asyncio.gather(
                report(stats, rss, args.interval, deadline, "soak"),
                *(client(i, host, port, paths, stats, deadline) for i in range(args.connections)))
            # Slowloris: normal clients (64) before and during the attack.
            for label, attack in (("normal  ", 0), ("attacked", args.slowloris)):
                stats = Stats()
                deadline = time.monotonic() + args.slowloris_seconds
                tasks = [client(i, host, port, paths, stats, deadline) for i in range(64)]
                if attack:
                    tasks.append(slowloris(host, port, attack, args.slowloris_seconds))
                await asyncio.sleep(0)
                results = await asyncio.gather(*tasks)
                n, e, p99 = stats.take()
                extra = f", {results[-1]} stalled connections held" if attack else ""
                print(f"slowloris {label}: {n / args.slowloris_seconds:8,.0f} req/s  p99 {p99:7.2f} ms  errors {e}{extra}")

        asyncio.run(soak())
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
