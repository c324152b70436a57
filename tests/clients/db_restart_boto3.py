"""Writes through a fault, as an S3 user's client sees it: PUTs keep going for a while (the
test restarts PostgreSQL, or kills a blob-cluster server, meanwhile), with boto3's standard
retries, which retry 503. Then every acknowledged PUT must read back.

Arguments: the endpoint, how many seconds to write, optionally each object's size in bytes
(small objects live with the metadata; larger ones are blobs, and on a blob cluster those over
1 MiB stream to it as they arrive), and optionally the bucket (so writers can run side by
side). Environment: AWS_*. Prints one
line per check and a summary; exits non-zero on failure.
"""

import sys
import time

import boto3
from botocore.config import Config
from checks import check, finish

ENDPOINT, SECONDS = sys.argv[1], float(sys.argv[2])
SIZE = int(sys.argv[3]) if len(sys.argv) > 3 else 0
BUCKET = sys.argv[4] if len(sys.argv) > 4 else "through-restart"


def body(key):
    data = key.encode()
    return data + b"." * max(0, SIZE - len(data))
s3 = boto3.client("s3", endpoint_url=ENDPOINT,
                  config=Config(retries={"max_attempts": 10, "mode": "standard"},
                                connect_timeout=5, read_timeout=30,
                                s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=BUCKET)
acknowledged = []


@check("PUTs go on through the fault (503s retried by the client)")
def _():
    end = time.monotonic() + SECONDS
    n = 0
    while time.monotonic() < end:
        key = f"k{n:05d}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body(key))
        acknowledged.append(key)
        n += 1
    print(f"     {len(acknowledged)} PUTs acknowledged")


@check("every acknowledged PUT reads back")
def _():
    for key in acknowledged:
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body(key), key
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert listed == acknowledged, (len(listed), len(acknowledged))


finish()
