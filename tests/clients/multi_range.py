"""Several ranges in one Range header (issue 23): S3 answers 200 with the whole object, and so
does pier, for a request that signs its Range (boto3 signs every header) as for one that does
not (a presigned URL)."""

import os
import urllib.request

import boto3
from botocore.config import Config

from checks import check, finish

s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["PIER_ENDPOINT"],
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
body = bytes(range(256)) * 10
s3.create_bucket(Bucket="ranges")
s3.put_object(Bucket="ranges", Key="k.bin", Body=body)


@check("one range is still a 206 with its bytes")
def _():
    got = s3.get_object(Bucket="ranges", Key="k.bin", Range="bytes=2-5")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == body[2:6]


@check("several ranges signed by boto3: 200 with the whole object")
def _():
    got = s3.get_object(Bucket="ranges", Key="k.bin", Range="bytes=0-4, 6-8")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200, got["ResponseMetadata"]
    assert "ContentRange" not in got
    assert got["Body"].read() == body


@check("several ranges on HEAD: 200 with the whole length")
def _():
    got = s3.head_object(Bucket="ranges", Key="k.bin", Range="bytes=0-4,6-8")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["ContentLength"] == len(body)


@check("several ranges on a version named by id")
def _():
    s3.put_bucket_versioning(Bucket="ranges", VersioningConfiguration={"Status": "Enabled"})
    v = s3.put_object(Bucket="ranges", Key="v.bin", Body=b"versioned bytes")["VersionId"]
    s3.put_object(Bucket="ranges", Key="v.bin", Body=b"newer")
    got = s3.get_object(Bucket="ranges", Key="v.bin", VersionId=v, Range="bytes=0-1,3-4")
    assert got["Body"].read() == b"versioned bytes"


@check("several ranges on a presigned URL (Range not signed): 200 with the whole object")
def _():
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "ranges", "Key": "k.bin"})
    req = urllib.request.Request(url, headers={"Range": "bytes=0-4, 6-8"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
        assert r.read() == body


@check("another key's several ranges are still refused")
def _():
    other = boto3.client(
        "s3",
        endpoint_url=os.environ["PIER_ENDPOINT"],
        aws_access_key_id=os.environ["OTHER_ID"],
        aws_secret_access_key=os.environ["OTHER_SECRET"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    try:
        other.get_object(Bucket="ranges", Key="k.bin", Range="bytes=0-4, 6-8")
    except other.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response
    else:
        raise AssertionError("another account's key read the object")


finish()
