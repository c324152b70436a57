"""Three pier nodes over one PostgreSQL and one S3-compatible blob cluster, driven with boto3:
large objects written through one node and read through the others, a multipart upload whose
parts go through different nodes, and a presigned URL used on a node that did not make it.

Arguments: the three nodes' endpoints. Environment: AWS_* (a key in the shared database).
Prints one line per check and a summary; exits non-zero on failure.
"""

import hashlib
import os
import sys
import urllib.request

import boto3
from botocore.config import Config
from checks import check, finish

ENDPOINTS = sys.argv[1:4]
nodes = [boto3.client("s3", endpoint_url=e,
                      config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                    s3={"addressing_style": "path"}))
         for e in ENDPOINTS]
a, b, c = nodes
a.create_bucket(Bucket="cluster")
BIG = os.urandom(20 * 1024 * 1024 + 3)


@check("a 20 MiB object put through node A reads back whole through B and C")
def _():
    a.put_object(Bucket="cluster", Key="big", Body=BIG)
    for reader in (b, c):
        got = reader.get_object(Bucket="cluster", Key="big")["Body"].read()
        assert hashlib.md5(got).digest() == hashlib.md5(BIG).digest(), len(got)


@check("ranged GETs through another node return exactly the bytes asked for")
def _():
    for lo, hi in ((0, 0), (5, 1_000_000), (8 * 1024 * 1024 - 2, 8 * 1024 * 1024 + 2), (len(BIG) - 10, len(BIG) - 1)):
        got = c.get_object(Bucket="cluster", Key="big", Range=f"bytes={lo}-{hi}")["Body"].read()
        assert got == BIG[lo:hi + 1], (lo, hi, len(got))


@check("a multipart upload with each part through a different node completes on the third")
def _():
    up = a.create_multipart_upload(Bucket="cluster", Key="spread")["UploadId"]
    part = 6 * 1024 * 1024
    chunks = [BIG[i:i + part] for i in range(0, len(BIG), part)]
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        node = nodes[n % 3]
        etag = node.upload_part(Bucket="cluster", Key="spread", UploadId=up, PartNumber=n, Body=chunk)["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
    listed = b.list_parts(Bucket="cluster", Key="spread", UploadId=up)["Parts"]
    assert [p["PartNumber"] for p in listed] == list(range(1, len(chunks) + 1)), listed
    c.complete_multipart_upload(Bucket="cluster", Key="spread", UploadId=up, MultipartUpload={"Parts": parts})
    got = a.get_object(Bucket="cluster", Key="spread")["Body"].read()
    assert got == BIG


@check("a presigned URL made for node A's address works on node C's")
def _():
    url = a.generate_presigned_url("get_object", Params={"Bucket": "cluster", "Key": "big"}, ExpiresIn=300)
    # The signature covers the host: send the request to C with A's Host header.
    host_a = ENDPOINTS[0].split("://")[1]
    req = urllib.request.Request(url.replace(ENDPOINTS[0], ENDPOINTS[2]), headers={"Host": host_a})
    with urllib.request.urlopen(req) as resp:
        assert hashlib.md5(resp.read()).digest() == hashlib.md5(BIG).digest()


@check("deleting through one node removes the bytes for every node")
def _():
    b.delete_object(Bucket="cluster", Key="spread")
    for node in nodes:
        try:
            node.head_object(Bucket="cluster", Key="spread")
            raise AssertionError("still there")
        except node.exceptions.ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404


finish()
