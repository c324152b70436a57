"""Accounts, driven through boto3 and b2sdk as two tenants of one server would: the admin key
(default account `pier`) and a key of another account made with a plain `pier key create`.

Environment: PIER_ENDPOINT, AWS_* for the admin key, OTHER_ID / OTHER_SECRET / OTHER_ACCOUNT
(the other account's key and id). Prints one line per check and a summary; exits non-zero on
failure.
"""

import json
import os
import urllib.error
import urllib.request

import boto3
from b2sdk.v2 import B2Api, InMemoryAccountInfo
from botocore.config import Config
from checks import check, finish

ENDPOINT = os.environ["PIER_ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
OTHER_ACCOUNT = os.environ["OTHER_ACCOUNT"]
admin = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG)
other = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG,
                     aws_access_key_id=os.environ["OTHER_ID"],
                     aws_secret_access_key=os.environ["OTHER_SECRET"])


def error(call):
    try:
        call()
    except other.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]
    raise AssertionError("allowed")


def denied(call, *words):
    status, err = error(call)
    assert (status, err["Code"]) == (403, "AccessDenied"), err
    for w in words:
        assert w in err["Message"], err


def anonymous(method, path):
    req = urllib.request.Request(ENDPOINT + path, method=method)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


admin.create_bucket(Bucket="acct-admin")
admin.put_object(Bucket="acct-admin", Key="private.txt", Body=b"private")
admin.put_object(Bucket="acct-admin", Key="shared/a.txt", Body=b"shared")


@check("each account lists only its own buckets, owned by itself")
def _():
    other.create_bucket(Bucket="acct-other")
    mine = other.list_buckets()
    assert [b["Name"] for b in mine["Buckets"]] == ["acct-other"], mine["Buckets"]
    assert mine["Owner"]["ID"] == OTHER_ACCOUNT, mine["Owner"]
    names = [b["Name"] for b in admin.list_buckets()["Buckets"]]
    assert "acct-admin" in names and "acct-other" not in names, names
    assert admin.get_bucket_acl(Bucket="acct-admin")["Owner"]["ID"] == "pier"
    assert other.get_bucket_acl(Bucket="acct-other")["Owner"]["ID"] == OTHER_ACCOUNT


@check("a name another account holds is BucketAlreadyExists; one's own is 200")
def _():
    status, err = error(lambda: other.create_bucket(Bucket="acct-admin"))
    assert (status, err["Code"]) == (409, "BucketAlreadyExists"), err
    admin.create_bucket(Bucket="acct-admin")


@check("another account's private bucket refuses a key with every capability")
def _():
    reason = "belongs to another account"
    denied(lambda: other.get_object(Bucket="acct-admin", Key="private.txt"), reason)
    denied(lambda: other.put_object(Bucket="acct-admin", Key="x", Body=b"x"), reason)
    denied(lambda: other.list_objects_v2(Bucket="acct-admin"), reason)
    denied(lambda: other.delete_object(Bucket="acct-admin", Key="private.txt"), reason)
    denied(lambda: other.put_bucket_policy(Bucket="acct-admin", Policy="{}"), reason)
    assert admin.get_object(Bucket="acct-admin", Key="private.txt")["Body"].read() == b"private"


@check("a bucket policy naming the account grants it what the policy says, nothing more")
def _():
    admin.put_bucket_policy(Bucket="acct-admin", Policy=json.dumps({"Statement": [{
        "Sid": "OtherReadsShared", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acct-admin/shared/*"}]}))
    assert other.get_object(Bucket="acct-admin", Key="shared/a.txt")["Body"].read() == b"shared"
    denied(lambda: other.get_object(Bucket="acct-admin", Key="private.txt"))
    denied(lambda: other.list_objects_v2(Bucket="acct-admin"))
    assert anonymous("GET", "/acct-admin/shared/a.txt") == 403, "the account, not everyone"
    admin.delete_bucket_policy(Bucket="acct-admin")
    denied(lambda: other.get_object(Bucket="acct-admin", Key="shared/a.txt"))


@check("policy conditions on object tags and request headers decide for another account")
def _():
    admin.put_object(Bucket="acct-admin", Key="tagged.txt", Body=b"tagged", Tagging="security=public")
    admin.put_bucket_policy(Bucket="acct-admin", Policy=json.dumps({"Statement": [
        {"Sid": "TaggedPublic", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::acct-admin/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}},
        {"Sid": "CopiesFromShared", "Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT},
         "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acct-admin/*",
         "Condition": {"StringLike": {"s3:x-amz-copy-source": "acct-admin/shared/*"}}}]}))
    assert other.get_object(Bucket="acct-admin", Key="tagged.txt")["Body"].read() == b"tagged"
    denied(lambda: other.get_object(Bucket="acct-admin", Key="private.txt"))
    admin.put_object_tagging(Bucket="acct-admin", Key="tagged.txt",
                             Tagging={"TagSet": [{"Key": "security", "Value": "private"}]})
    denied(lambda: other.get_object(Bucket="acct-admin", Key="tagged.txt"))
    admin.put_object_acl(Bucket="acct-admin", Key="shared/a.txt", ACL="authenticated-read")
    other.copy_object(Bucket="acct-admin", Key="copied.txt",
                      CopySource={"Bucket": "acct-admin", "Key": "shared/a.txt"})
    denied(lambda: other.put_object(Bucket="acct-admin", Key="plain.txt", Body=b"x"))
    assert admin.get_object(Bucket="acct-admin", Key="copied.txt")["Body"].read() == b"shared"
    admin.put_object_acl(Bucket="acct-admin", Key="shared/a.txt", ACL="private")
    admin.delete_bucket_policy(Bucket="acct-admin")
    admin.delete_objects(Bucket="acct-admin", Delete={"Objects": [{"Key": "tagged.txt"}, {"Key": "copied.txt"}]})


@check("authenticated-read opens an object (or a bucket's listing) to every key, not to anonymous")
def _():
    admin.put_object_acl(Bucket="acct-admin", Key="private.txt", ACL="authenticated-read")
    assert other.get_object(Bucket="acct-admin", Key="private.txt")["Body"].read() == b"private"
    assert anonymous("GET", "/acct-admin/private.txt") == 403
    admin.put_object_acl(Bucket="acct-admin", Key="private.txt", ACL="private")
    denied(lambda: other.get_object(Bucket="acct-admin", Key="private.txt"))
    admin.put_bucket_acl(Bucket="acct-admin", ACL="authenticated-read")
    grants = admin.get_bucket_acl(Bucket="acct-admin")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AuthenticatedUsers") for g in grants), grants
    listed = other.list_objects_v2(Bucket="acct-admin")
    assert [o["Key"] for o in listed["Contents"]] == ["private.txt", "shared/a.txt"], listed
    denied(lambda: other.get_object(Bucket="acct-admin", Key="private.txt"))
    assert anonymous("GET", "/acct-admin?list-type=2") == 403
    admin.put_bucket_acl(Bucket="acct-admin", ACL="private")


@check("public-read-write lets another account write but not read, as in S3")
def _():
    admin.put_bucket_acl(Bucket="acct-admin", ACL="public-read-write")
    other.put_object(Bucket="acct-admin", Key="dropped.txt", Body=b"dropped")
    denied(lambda: other.get_object(Bucket="acct-admin", Key="dropped.txt"))
    assert admin.get_object(Bucket="acct-admin", Key="dropped.txt")["Body"].read() == b"dropped"
    admin.put_bucket_acl(Bucket="acct-admin", ACL="private")
    denied(lambda: other.put_object(Bucket="acct-admin", Key="dropped.txt", Body=b"again"))


@check("x-amz-expected-bucket-owner refuses a bucket of another owner")
def _():
    admin.list_objects_v2(Bucket="acct-admin", ExpectedBucketOwner="pier")
    status, err = error(lambda: admin.list_objects_v2(Bucket="acct-admin",
                                                      ExpectedBucketOwner=OTHER_ACCOUNT))
    assert (status, err["Code"]) == (403, "AccessDenied"), err


def b2(key_id, secret):
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(realm=ENDPOINT, application_key_id=key_id, application_key=secret)
    return api


@check("B2: each key's accountId is its account's; buckets and keys stay within it")
def _():
    mine = b2(os.environ["OTHER_ID"], os.environ["OTHER_SECRET"])
    assert mine.account_info.get_account_id() == OTHER_ACCOUNT
    assert [b.name for b in mine.list_buckets()] == ["acct-other"]
    made = mine.create_key(["listBuckets", "readFiles"], "otherReader")
    ids = [k.id_ for k in mine.list_keys()]
    assert made.id_ in ids and os.environ["AWS_ACCESS_KEY_ID"] not in ids, ids
    reader = b2(made.id_, made.application_key)
    assert reader.account_info.get_account_id() == OTHER_ACCOUNT
    assert [b.name for b in reader.list_buckets()] == ["acct-other"]
    root = b2(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    assert root.account_info.get_account_id() == "pier"
    assert made.id_ not in [k.id_ for k in root.list_keys()]


finish()
