#!/usr/bin/env python3
"""pier's CORS benchmark: preflight throughput against a bucket of 100 rules where only the last
one matches, refused preflights (an origin no rule names) against the same rules, and anonymous
GETs of a 1 KiB object in a public bucket; wrk with 64 connections sharing this machine with the
server. Prints medians of several runs (req/s, p99), the server's CPU time per request (from
/proc, user + system), and how many lines the server logged (at its default level, info) per
run: a refusal must cost about what an answer costs, and never a log line each.

With a dashboard (builds that have one), it then stages the same 100 rules as report-only rules
through the dashboard and measures the preflights again: the CORS layer then records every
request and evaluates both rule lists (the cost of "recently refused" and report-only rollout).

Usage: python3 bench/cors.py [--runs 3] [--seconds 8]
       PIER_BIN=path/to/pier python3 bench/cors.py   (measure another build, for A/B runs)
       WRK_THREADS=1 python3 bench/cors.py   (one load-generator thread: less contention with the
       server on a 2-core machine, lower tail latency, lower peak throughput)
"""
import argparse
import http.client
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("store_bench", os.path.join(ROOT, "bench", "run.py"))
sb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sb)

WRK_THREADS = int(os.environ.get("WRK_THREADS", "2"))

PREFLIGHT_LUA = r"""
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "https://app99.example.com"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type,x-amz-date"
"""


REFUSED_LUA = r"""
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "https://evil.example.net"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type,x-amz-date"
"""


def cpu_seconds(pid):
    """User + system CPU time of a process so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cors_xml():
    rules = "".join(
        f"<CORSRule><ID>rule-{i}</ID><AllowedOrigin>https://app{i}.example.com</AllowedOrigin>"
        f"<AllowedOrigin>https://*.tenant{i}.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        f"<AllowedMethod>PUT</AllowedMethod><AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>"
        f"<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>"
        for i in range(100))
    return f"<CORSConfiguration>{rules}</CORSConfiguration>"


def run_wrk(url, script, seconds, pid, refused=False):
    """One wrk run: (req/s, p99 ms, server CPU microseconds per request). With `refused`, every
    answer must be a refusal; otherwise none may be."""
    before = cpu_seconds(pid)
    out = subprocess.run(["wrk", f"-t{WRK_THREADS}", "-c64", f"-d{seconds}s", "--latency", "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    bad = int(bad.group(1)) if bad else 0
    if (bad != total) if refused else bad:
        raise RuntimeError(f"{url}: {bad} of {total} answers were refusals")
    return rps, p99_ms, cpu * 1e6 / max(total, 1)


def summary(what, results, log, lines_before):
    """One line: medians of `results`, and the log lines written since `lines_before`."""
    lines = log_lines(log) - lines_before
    return (f"{what}: {statistics.median(r[0] for r in results):,.0f} req/s, "
            f"p99 {statistics.median(r[1] for r in results):.2f} ms, "
            f"server CPU {statistics.median(r[2] for r in results):.1f} us/request, {lines} log lines")


def log_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def stage(dashboard, rules):
    """Signs in to the dashboard and stages `rules` as report-only on the bench bucket."""
    u = urllib.parse.urlsplit(dashboard)
    c = http.client.HTTPConnection(u.hostname, u.port)
    form = urllib.parse.urlencode({"access_key": sb.ACCESS, "secret": sb.SECRET})
    c.request("POST", "/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse(); r.read()
    cookie = r.getheader("Set-Cookie").split(";")[0]
    c.request("GET", "/", headers={"Cookie": cookie})
    page = c.getresponse().read().decode()
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf": token, "rules": rules})
    c.request("POST", f"/b/{sb.BUCKET}/cors/stage", body=form,
              headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    r = c.getresponse(); body = r.read().decode()
    assert r.status == 200 and 'id="staged"' in body, (r.status, body[:300])
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    pier = os.environ.get("PIER_BIN")  # another build to measure (A/B runs); default: this tree
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=ROOT, check=True)
        pier = os.path.join(ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-cors-bench-", dir=os.path.join(ROOT, "target"))
    try:
        env = dict(os.environ, PIER_ROOT_ACCESS_KEY=sb.ACCESS, PIER_ROOT_SECRET_KEY=sb.SECRET, PIER_LOG="info",
                   PIER_DASHBOARD_LISTEN="127.0.0.1:0")
        log = os.path.join(work, "server.log")
        server = subprocess.Popen(
            [pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data")],
            env=env, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
        line = server.stdout.readline()
        dashboard = None
        if line.startswith("pier dashboard on "):
            dashboard = line.split()[-1]
            line = server.stdout.readline()
        m = re.search(r"http://([\d.]+):(\d+)", line)
        host, port = m.group(1), int(m.group(2))
        hp = f"{host}:{port}"
        sb.request(host, port, "PUT", sb.presign(hp, "PUT"))
        sb.request(host, port, "PUT", sb.presign(hp, "PUT", "", {"cors": ""}), body=cors_xml().encode())
        sb.request(host, port, "PUT", sb.presign(hp, "PUT", "small.bin"), body=os.urandom(1024))
        # Public read, as B2's allPublic (`pier bucket public B on`): a bucket's S3 public-read
        # ACL only opens its listing, as in AWS.
        subprocess.run([pier, "bucket", "public", "--data-dir", os.path.join(work, "data"), sb.BUCKET, "on"],
                       check=True, capture_output=True)
        time.sleep(1.2)  # the server's bucket cache (one second) sees the change
        pre = os.path.join(work, "preflight.lua")
        with open(pre, "w") as f:
            f.write(PREFLIGHT_LUA)
        empty = os.path.join(work, "get.lua")
        with open(empty, "w") as f:
            f.write("")
        refused = os.path.join(work, "refused.lua")
        with open(refused, "w") as f:
            f.write(REFUSED_LUA)
        rss = sb.RssSampler(server.pid)
        url = f"http://{hp}/{sb.BUCKET}/photo.jpg"
        lines = log_lines(log)
        allowed = [run_wrk(url, pre, args.seconds, server.pid) for _ in range(args.runs)]
        print(summary("preflight, 100 rules, last matches", allowed, log, lines) + f", peak RSS {rss.peak():.1f} MiB")
        lines = log_lines(log)
        denied = [run_wrk(url, refused, args.seconds, server.pid, refused=True) for _ in range(args.runs)]
        print(summary("preflight refused, 100 rules, none matches", denied, log, lines))
        ratio = statistics.median(r[0] for r in denied) / statistics.median(r[0] for r in allowed)
        print(f"refused preflights at {ratio:.0%} of the allowed rate")
        try:
            staged = bool(dashboard) and stage(dashboard, cors_xml())
        except (AssertionError, AttributeError):
            staged = False
            print("(this build cannot stage report-only rules)")
        if staged:
            rss.reset()
            lines = log_lines(log)
            results = [run_wrk(url, pre, args.seconds, server.pid) for _ in range(args.runs)]
            print(summary("preflight, with the same 100 rules staged report-only", results, log, lines)
                  + f", peak RSS {rss.peak():.1f} MiB")
        rss.reset()
        lines = log_lines(log)
        results = [run_wrk(f"http://{hp}/{sb.BUCKET}/small.bin", empty, args.seconds, server.pid)
                   for _ in range(args.runs)]
        print(summary("anonymous GET of a 1 KiB public object", results, log, lines) + f", peak RSS {rss.peak():.1f} MiB")
        rss.stop = True
        server.terminate()
        server.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
