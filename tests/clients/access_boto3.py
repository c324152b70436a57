"""Scoped keys and bucket policies, driven through boto3 as a user would.

Environment: PIER_ENDPOINT, AWS_* for the admin key, and SCOPED_ID / SCOPED_SECRET (a key with
listBuckets,readFiles,listFiles,writeFiles on bucket `photos` under `public/`), FULL_ID / FULL_SECRET (a key
with every capability). Prints one line per check and a summary; exits non-zero on failure.
"""

import json
import os
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from checks import check, finish

ENDPOINT = os.environ["PIER_ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
admin = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG)


def client(key_id, secret):
    return boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


scoped = client(os.environ["SCOPED_ID"], os.environ["SCOPED_SECRET"])
full = client(os.environ["FULL_ID"], os.environ["FULL_SECRET"])


def refused(call, *words):
    try:
        call()
    except scoped.exceptions.ClientError as e:
        err = e.response["Error"]
        assert err["Code"] == "AccessDenied", err
        for w in words:
            assert w in err["Message"], err
        return err["Message"]
    raise AssertionError("allowed")


def http(method, path):
    req = urllib.request.Request(ENDPOINT + path, method=method, data=b"x" if method == "PUT" else None)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# The buckets `photos` and `docs` exist (the key's bucket restriction names photos by id).
admin.put_object(Bucket="docs", Key="pub/readme.txt", Body=b"public")
admin.put_object(Bucket="docs", Key="secret.txt", Body=b"secret")


@check("a scoped key writes and reads under its prefix")
def _():
    scoped.put_object(Bucket="photos", Key="public/a.txt", Body=b"a")
    assert scoped.get_object(Bucket="photos", Key="public/a.txt")["Body"].read() == b"a"


@check("outside its prefix: refused, naming the prefix")
def _():
    refused(lambda: scoped.put_object(Bucket="photos", Key="private/b.txt", Body=b"b"), "namePrefix is public/")


@check("another bucket: refused, naming the key's bucket only")
def _():
    msg = refused(lambda: scoped.get_object(Bucket="docs", Key="secret.txt"), "restricted to bucket photos")
    assert "docs" not in msg, msg


@check("a missing capability: refused, naming it")
def _():
    refused(lambda: scoped.delete_object(Bucket="photos", Key="public/a.txt"), "lacks deleteFiles")


@check("admin calls are refused")
def _():
    refused(lambda: scoped.create_bucket(Bucket="mine"), "restricted to bucket photos")
    refused(lambda: scoped.put_bucket_cors(Bucket="photos", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}), "lacks writeBuckets")


@check("operations pier does not serve: NotImplemented for the admin, refused for a restricted key")
def _():
    try:
        admin.get_object_torrent(Bucket="photos", Key="public/a.txt")
        raise AssertionError("a torrent was served")
    except admin.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "NotImplemented", e.response
    refused(lambda: scoped.get_object_torrent(Bucket="photos", Key="public/a.txt"),
            "not available to the restricted key")


@check("ListBuckets shows only the key's bucket")
def _():
    names = [b["Name"] for b in scoped.list_buckets()["Buckets"]]
    assert names == ["photos"], names
    assert {"photos", "docs"} <= {b["Name"] for b in admin.list_buckets()["Buckets"]}


@check("listing is limited to the prefix")
def _():
    keys = [o["Key"] for o in scoped.list_objects_v2(Bucket="photos", Prefix="public/").get("Contents", [])]
    assert keys == ["public/a.txt"], keys
    refused(lambda: scoped.list_objects_v2(Bucket="photos"), "namePrefix is public/")


@check("a presigned URL carries no more than its key")
def _():
    inside = scoped.generate_presigned_url("get_object", Params={"Bucket": "photos", "Key": "public/a.txt"})
    outside = scoped.generate_presigned_url("get_object", Params={"Bucket": "docs", "Key": "secret.txt"})
    assert http("GET", inside.removeprefix(ENDPOINT)) == 200
    assert http("GET", outside.removeprefix(ENDPOINT)) == 403


POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "PublicReadme",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::docs/pub/*",
    }],
}


@check("a bucket policy makes one prefix public, nothing more")
def _():
    assert http("GET", "/docs/pub/readme.txt") == 403
    assert admin.get_bucket_policy_status(Bucket="docs")["PolicyStatus"]["IsPublic"] is False
    admin.put_bucket_policy(Bucket="docs", Policy=json.dumps(POLICY))
    assert json.loads(admin.get_bucket_policy(Bucket="docs")["Policy"]) == POLICY
    assert admin.get_bucket_policy_status(Bucket="docs")["PolicyStatus"]["IsPublic"] is True
    assert http("GET", "/docs/pub/readme.txt") == 200
    assert http("GET", "/docs/secret.txt") == 403
    assert http("GET", "/docs?list-type=2") == 403
    assert http("PUT", "/docs/pub/new.txt") == 403


@check("malformed policies are refused, naming the field")
def _():
    for policy, word in [
        ({"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "s3:*", "Resource": "arn:aws:s3:::docs/*"}]}, "NotPrincipal"),
        ({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*",
                         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]}, "aws:PrincipalOrgID"),
        ({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}]}, "invalid resource"),
    ]:
        try:
            admin.put_bucket_policy(Bucket="docs", Policy=json.dumps(policy))
            raise AssertionError(f"accepted {policy}")
        except admin.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "MalformedPolicy", e.response
            assert word in e.response["Error"]["Message"], e.response
    assert json.loads(admin.get_bucket_policy(Bucket="docs")["Policy"]) == POLICY, "the old policy stays"


@check("a Deny statement beats a key's capability")
def _():
    full.put_object(Bucket="photos", Key="keep.txt", Body=b"k")
    deny = {"Statement": [{"Sid": "NoDeletes", "Effect": "Deny", "Principal": {"AWS": [os.environ["FULL_ID"]]},
                           "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::photos/*"}]}
    admin.put_bucket_policy(Bucket="photos", Policy=json.dumps(deny))
    refused(lambda: full.delete_object(Bucket="photos", Key="keep.txt"), "Sid=NoDeletes")
    refused(lambda: full.delete_objects(Bucket="photos", Delete={"Objects": [{"Key": "keep.txt"}]}), "Sid=NoDeletes")
    admin.delete_bucket_policy(Bucket="photos")
    full.delete_object(Bucket="photos", Key="keep.txt")


@check("a deleted policy is gone")
def _():
    admin.delete_bucket_policy(Bucket="docs")
    try:
        admin.get_bucket_policy(Bucket="docs")
        raise AssertionError("still there")
    except admin.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchBucketPolicy", e.response
    assert http("GET", "/docs/pub/readme.txt") == 403


@check("a bucket's public-read lets anyone list it, as in S3; objects open by their own ACL")
def _():
    admin.put_bucket_acl(Bucket="docs", ACL="public-read")
    assert http("GET", "/docs?list-type=2") == 200
    assert http("GET", "/docs/secret.txt") == 403, "the bucket ACL does not open objects"
    assert http("PUT", "/docs/x.txt") == 403
    admin.put_object_acl(Bucket="docs", Key="secret.txt", ACL="public-read")
    assert http("GET", "/docs/secret.txt") == 200
    assert http("GET", "/docs/secret.txt?response-content-type=text/html") == 400, "no response-* when anonymous"
    admin.put_object_acl(Bucket="docs", Key="secret.txt", ACL="private")
    admin.put_bucket_acl(Bucket="docs", ACL="private")
    assert http("GET", "/docs?list-type=2") == 403
    assert http("GET", "/docs/secret.txt") == 403


finish()
