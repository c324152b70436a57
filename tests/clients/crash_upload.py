"""Uploads objects concurrently until the server goes away, recording each acknowledged key.

Object `k{i}` holds `content(i)`, so a verifier can recompute every byte. Usage:
crash_upload.py ACK_FILE
"""
import os
import sys
import threading

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(__file__))
from crash_upload_content import content  # noqa: E402

ENDPOINT = os.environ["PIER_ENDPOINT"]
ack_path = sys.argv[1]
lock = threading.Lock()
counter = iter(range(10**9))


def worker():
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
    while True:
        with lock:
            i = next(counter)
        try:
            s3.put_object(Bucket="crash", Key=f"k{i}", Body=content(i))
        except Exception:
            return
        with lock, open(ack_path, "a") as f:
            f.write(f"k{i}\n")


boto3.client("s3", endpoint_url=ENDPOINT).create_bucket(Bucket="crash")
open(ack_path + ".ready", "w").close()
threads = [threading.Thread(target=worker) for _ in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
