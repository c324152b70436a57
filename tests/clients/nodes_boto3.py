"""Two pier nodes over one PostgreSQL, driven with boto3 as an S3 user would: conditional writes
racing on both nodes, and metadata written on one node read at once on the other.

Arguments: the two nodes' endpoints. Environment: AWS_* (a key both nodes share, since keys live
in the shared database). Prints one line per check and a summary; exits non-zero on failure.
"""

import random
import sys
import threading
import time

import boto3
from botocore.config import Config
from checks import check, finish

A, B = sys.argv[1], sys.argv[2]


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                      max_pool_connections=4,
                                      s3={"addressing_style": "path"}))


a, b = client(A), client(B)
a.create_bucket(Bucket="race")


def status_of(call):
    try:
        call()
        return 200
    except a.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]


@check("If-None-Match: * raced on two nodes: exactly one writer wins each key, the other gets 412")
def _():
    keys = 40
    outcomes = {}
    for n in range(keys):
        key = f"claim-{n}"
        start = threading.Barrier(2)
        results = {}

        def put(name, s3):
            body = f"written through node {name}".encode()
            start.wait()
            results[name] = status_of(lambda: s3.put_object(
                Bucket="race", Key=key, Body=body, IfNoneMatch="*"))

        threads = [threading.Thread(target=put, args=(name, s3)) for name, s3 in (("A", a), ("B", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes[key] = results
        assert sorted(results.values()) == [200, 412], f"{key}: {results}"
        winner = "A" if results["A"] == 200 else "B"
        for reader in (a, b):
            got = reader.get_object(Bucket="race", Key=key)["Body"].read()
            assert got == f"written through node {winner}".encode(), (key, got)
    wins = sum(1 for r in outcomes.values() if r["A"] == 200)
    print(f"     node A won {wins} of {keys} keys, node B {keys - wins}")


@check("a copy racing the deletion of its source on the other node: every copy acknowledged reads back whole")
def _():
    rounds = 40
    kept = 0
    for n in range(rounds):
        source, copy = f"source-{n}", f"copy-{n}"
        body = f"bytes shared by a copy, round {n}".encode()
        a.put_object(Bucket="race", Key=source, Body=body)
        start = threading.Barrier(2)
        results = {}

        def copy_on_a():
            start.wait()
            results["copy"] = status_of(lambda: a.copy_object(
                Bucket="race", Key=copy, CopySource={"Bucket": "race", "Key": source}))

        def delete_on_b():
            start.wait()
            # A copy reads its source before it writes: a small, varying head start for it
            # makes both orders of the race happen.
            time.sleep(random.random() * 0.01)
            results["delete"] = status_of(lambda: b.delete_object(Bucket="race", Key=source))

        threads = [threading.Thread(target=copy_on_a), threading.Thread(target=delete_on_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results["delete"] == 200, results
        assert results["copy"] in (200, 404), results
        if results["copy"] == 200:
            kept += 1
            for reader in (a, b):
                assert reader.get_object(Bucket="race", Key=copy)["Body"].read() == body, n
    print(f"     {kept} of {rounds} copies won the race")


@check("a bucket created on A is listed on B at once")
def _():
    a.create_bucket(Bucket="seen-everywhere")
    names = [x["Name"] for x in b.list_buckets()["Buckets"]]
    assert "seen-everywhere" in names, names


@check("an object put on A is read, listed and deleted through B at once")
def _():
    for n in range(20):
        key = f"doc-{n}"
        a.put_object(Bucket="seen-everywhere", Key=key, Body=f"v{n}".encode())
        assert b.get_object(Bucket="seen-everywhere", Key=key)["Body"].read() == f"v{n}".encode()
        listed = [o["Key"] for o in b.list_objects_v2(Bucket="seen-everywhere", Prefix=key)["Contents"]]
        assert listed == [key], listed
    b.delete_object(Bucket="seen-everywhere", Key="doc-0")
    assert status_of(lambda: a.head_object(Bucket="seen-everywhere", Key="doc-0")) == 404


@check("versions written on both nodes form one history")
def _():
    a.create_bucket(Bucket="history")
    a.put_bucket_versioning(Bucket="history", VersioningConfiguration={"Status": "Enabled"})
    ids = []
    for n in range(6):
        s3 = a if n % 2 == 0 else b
        ids.append(s3.put_object(Bucket="history", Key="k", Body=f"v{n}".encode())["VersionId"])
    listed = [v["VersionId"] for v in b.list_object_versions(Bucket="history")["Versions"]]
    assert listed == list(reversed(ids)), (listed, ids)
    assert a.get_object(Bucket="history", Key="k")["Body"].read() == b"v5"


finish()
