#!/usr/bin/env python3
"""pier's event notification benchmark. Starts a release `pier serve` (with
--webhook-allow-private) and a webhook receiver on loopback, and prints medians of several runs:

- the 4 KiB PUT rate into a bucket without rules and into one whose rule matches every object
  (32 connections, wrk, alternating in the same run), their ratio, and the server's CPU per PUT
  (with the rule, it includes delivering the event; the receiver runs on the same cores);
- delivery: events delivered per second while the PUT load runs and until the backlog is empty
  (rule batches of 50), and the lag from an event's commit (its eventTimestamp) to its arrival
  at the receiver, median and p99;
- backlog drain: the receiver refuses (503) while a PUT run piles events up, then accepts: the
  events per second from its first accepted delivery to the last (the dispatcher's capacity).

With --unreachable the rule's target is a closed port, so nothing is delivered: the PUT rates
then compare the write path alone (recording the event, and a failing rule's growing backlog).

Usage: python3 bench/events.py [--runs 3] [--seconds 8] [--unreachable]
       PIER_BIN=path/to/pier python3 bench/events.py   (another build, for A/B runs)
"""
import argparse
import base64
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the storage benchmark's presigning, wrk driver and helpers)

ROOT = run.ROOT


class Receiver(http.server.BaseHTTPRequestHandler):
    """Counts events and records each one's lag (receipt minus eventTimestamp, ms)."""
    protocol_version = "HTTP/1.1"
    lags = []
    lock = threading.Lock()
    first = last = None

    refuse = False  # answer 503 (the backlog-drain phase's outage)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.refuse:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        now = time.time() * 1000
        events = json.loads(body)["events"]
        with Receiver.lock:
            Receiver.first = Receiver.first or now
            Receiver.last = now
            Receiver.lags.extend(now - e["eventTimestamp"] for e in events if e["eventType"] != "b2:TestEvent")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def b2(host, port, token, call, body):
    c = http.client.HTTPConnection(host, port, timeout=60)
    c.request("POST", f"/b2api/v4/{call}", body=json.dumps(body), headers={"Authorization": token})
    r = c.getresponse()
    data = json.loads(r.read())
    if r.status != 200:
        raise RuntimeError(f"{call}: {r.status} {data}")
    return data


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--unreachable", action="store_true",
                    help="point the rule at a closed port: measure recording without delivery")
    args = ap.parse_args()
    pier = os.environ.get("PIER_BIN")
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=ROOT, check=True)
        pier = os.path.join(ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-bench-events-", dir=os.path.join(ROOT, "target"))
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    if args.unreachable:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        hook = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    env = dict(os.environ, PIER_ROOT_ACCESS_KEY=run.ACCESS, PIER_ROOT_SECRET_KEY=run.SECRET,
               PIER_LOG="warn", PIER_DASHBOARD_LISTEN="off")
    server = subprocess.Popen(
        [pier, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data"),
         "--webhook-allow-private"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        addr = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
        host, port = addr.group(1), int(addr.group(2))
        endpoint, hostport = f"http://{host}:{port}", f"{host}:{port}"
        c = http.client.HTTPConnection(host, port)
        basic = base64.b64encode(f"{run.ACCESS}:{run.SECRET}".encode()).decode()
        c.request("GET", "/b2api/v4/b2_authorize_account", headers={"Authorization": f"Basic {basic}"})
        token = json.loads(c.getresponse().read())["authorizationToken"]
        paths = {}
        for bucket in ("norule", "rule"):
            run.BUCKET = bucket
            run.request(host, port, "PUT", run.presign(hostport, "PUT"))
            paths[bucket] = os.path.join(work, f"{bucket}.txt")
            with open(paths[bucket], "w") as f:
                f.writelines(run.presign(hostport, "PUT", f"small/{i}") + "\n" for i in range(20_000))
        bucket_id = [b for b in b2(host, port, token, "b2_list_buckets", {"accountId": "pier"})["buckets"]
                     if b["bucketName"] == "rule"][0]["bucketId"]
        b2(host, port, token, "b2_set_bucket_notification_rules", {
            "bucketId": bucket_id,
            "eventNotificationRules": [{
                "name": "every-object", "eventTypes": ["b2:ObjectCreated:*"], "objectNamePrefix": "",
                "isEnabled": True,
                "targetConfiguration": {"targetType": "webhook", "url": hook, "maxEventsPerBatch": 50,
                                        "hmacSha256SigningSecret": "0123456789abcdefABCDEF0123456789"},
            }],
        })
        without, with_rule, delivery, cpu = [], [], [], {"norule": [], "rule": []}
        for _ in range(args.runs):
            rps, _, us = run.wrk(endpoint, paths["norule"], "put", args.seconds, pid=server.pid)
            without.append(rps)
            cpu["norule"].append(us)
            Receiver.lags, Receiver.first = [], None
            rps, _, us = run.wrk(endpoint, paths["rule"], "put", args.seconds, pid=server.pid)
            with_rule.append(rps)
            cpu["rule"].append(us)
            if args.unreachable:
                continue
            expected = int(rps * args.seconds * 0.98)
            deadline = time.time() + 120
            while len(Receiver.lags) < expected and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            n = len(Receiver.lags)
            delivery.append((n / ((Receiver.last - Receiver.first) / 1000), percentile(Receiver.lags, 0.5),
                             percentile(Receiver.lags, 0.99)))
        print(f"4 KiB PUT without rules: {run.median(without):,.0f} ops/s; with a rule matching every "
              f"object: {run.median(with_rule):,.0f} ops/s "
              f"({100 * run.median(with_rule) / run.median(without):.0f}%); server CPU per PUT "
              f"{run.median(cpu['norule']):.0f} us vs {run.median(cpu['rule']):.0f} us (recording"
              f"{'' if args.unreachable else ' and delivering'} its event)")
        if args.unreachable:
            return
        print(f"delivery: {run.median([d[0] for d in delivery]):,.0f} events/s; lag from commit to "
              f"arrival: median {run.median([d[1] for d in delivery]):,.0f} ms, "
              f"p99 {run.median([d[2] for d in delivery]):,.0f} ms")
        # Backlog drain: the receiver refuses while PUTs pile events up, then accepts; the rate
        # from its first accepted delivery to the last is the dispatcher's own capacity.
        Receiver.refuse = True
        rps, _, _ = run.wrk(endpoint, paths["rule"], "put", args.seconds, pid=server.pid)
        backlog = int(rps * args.seconds * 0.98)
        Receiver.lags, Receiver.first = [], None
        Receiver.refuse = False
        deadline = time.time() + 900
        while len(Receiver.lags) < backlog and time.time() < deadline:
            time.sleep(0.05)
        n = len(Receiver.lags)
        print(f"backlog drain: {n:,} events after an outage, {n / ((Receiver.last - Receiver.first) / 1000):,.0f} "
              f"events/s (batches of 50)")
    finally:
        server.terminate()
        server.wait()
        receiver.shutdown()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
