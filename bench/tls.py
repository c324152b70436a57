#!/usr/bin/env python3
"""pier over TLS against plain HTTP, same server, same run. Starts a release `pier serve` with
both listeners (a certificate made with openssl for 127.0.0.1, ECDSA P-256) and prints medians
of several runs:

- 4 KiB PUT and GET: ops/s over http and https (32 keep-alive connections, wrk), the ratio, and
  the server's CPU per request;
- 256 MiB GET: MiB/s over http and https (curl, one stream), and the ratio.

Usage: python3 bench/tls.py [--runs 3] [--seconds 6]
       PIER_BIN=path/to/pier python3 bench/tls.py   (another build, for A/B runs)
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


def certificate(work):
    """A self-signed certificate for 127.0.0.1 (cert, key paths)."""
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    args = ap.parse_args()
    pier = os.environ.get("PIER_BIN")
    if not pier:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pier"], cwd=ROOT, check=True)
        pier = os.path.join(ROOT, "target/release/pier")
    work = tempfile.mkdtemp(prefix="pier-bench-tls-", dir=os.path.join(ROOT, "target"))
    cert, key = certificate(work)
    env = dict(os.environ, PIER_ROOT_ACCESS_KEY=run.ACCESS, PIER_ROOT_SECRET_KEY=run.SECRET,
               PIER_LOG="warn", PIER_DASHBOARD_LISTEN="off")
    server = subprocess.Popen(
        [pier, "serve", "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--tls-cert", cert,
         "--tls-key", key, "--data-dir", os.path.join(work, "data")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        plain = re.search(r"http://([\d.]+):(\d+)", server.stdout.readline())
        secure = re.search(r"https://([\d.]+):(\d+)", server.stdout.readline())
        host, port, tls_port = plain.group(1), int(plain.group(2)), int(secure.group(2))
        run.request(host, port, "PUT", run.presign(f"{host}:{port}", "PUT"))
        # Presigned paths for each listener (the signature covers the Host, port included).
        files = {}
        for name, p in (("http", port), ("https", tls_port)):
            for mode in ("put", "get"):
                path = os.path.join(work, f"{name}-{mode}.txt")
                with open(path, "w") as f:
                    f.writelines(run.presign(f"{host}:{p}", mode.upper(), f"small/{i}") + "\n" for i in range(2000))
                files[(name, mode)] = path
        for i in range(2000):
            run.request(host, port, "PUT", run.presign(f"{host}:{port}", "PUT", f"small/{i}"), body=b"x" * 4096)
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(1 << 20) * 256)
        subprocess.run(["curl", "-s", "-f", "-T", big, f"http://{host}:{port}" +
                        run.presign(f"{host}:{port}", "PUT", "big.bin")], check=True)
        rates = {k: [] for k in ("http put", "https put", "http get", "https get", "http big", "https big")}
        cpu = {k: [] for k in rates}
        for _ in range(args.runs):
            for name, p in (("http", port), ("https", tls_port)):
                for mode in ("put", "get"):
                    rps, _, us = run.wrk(f"{name}://{host}:{p}", files[(name, mode)], mode, args.seconds,
                                         pid=server.pid)
                    rates[f"{name} {mode}"].append(rps)
                    cpu[f"{name} {mode}"].append(us)
                url = f"{name}://{host}:{p}" + run.presign(f"{host}:{p}", "GET", "big.bin")
                seconds = run.timed_curl(["--cacert", cert, url])
                rates[f"{name} big"].append(256 / seconds)
        m = {k: run.median(v) for k, v in rates.items()}
        c = {k: run.median(v) for k, v in cpu.items() if v}
        for mode in ("put", "get"):
            print(f"4 KiB {mode.upper()}: http {m[f'http {mode}']:,.0f} ops/s ({c[f'http {mode}']:.0f} us CPU), "
                  f"https {m[f'https {mode}']:,.0f} ops/s ({c[f'https {mode}']:.0f} us CPU): "
                  f"{100 * m[f'https {mode}'] / m[f'http {mode}']:.0f}%")
        print(f"256 MiB GET: http {m['http big']:,.0f} MiB/s, https {m['https big']:,.0f} MiB/s: "
              f"{100 * m['https big'] / m['http big']:.0f}%")
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
