"""After a crash and restart: every acknowledged upload reads back byte-identical, and every
listed object is a complete upload (none half-written). Usage: crash_verify.py ACK_FILE"""
import os
import sys

import boto3

sys.path.insert(0, os.path.dirname(__file__))
from crash_upload_content import content  # noqa: E402

s3 = boto3.client("s3", endpoint_url=os.environ["PIER_ENDPOINT"])
acked = [line.strip() for line in open(sys.argv[1]) if line.strip()]
bad = []
for key in acked:
    body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
    if body != content(int(key[1:])):
        bad.append(("acknowledged upload differs", key))
listed = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash"):
    listed += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
for key, size in listed:
    expect = content(int(key[1:]))
    if size != len(expect) or s3.get_object(Bucket="crash", Key=key)["Body"].read() != expect:
        bad.append(("listed object is not a complete upload", key))
missing = set(acked) - {k for k, _ in listed}
print(f"acknowledged {len(acked)}, listed {len(listed)}, missing {len(missing)}, bad {len(bad)}")
for b in bad[:10]:
    print(b)
sys.exit(1 if bad or missing else 0)
