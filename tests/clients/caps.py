"""Caps as users meet them: an operator sets them with `pier caps set` next to the running
server, then boto3 and b2sdk write until a cap refuses them, with the code and message each API
gives (S3 403 StorageCapExceeded / ObjectCapExceeded / TransactionCapExceeded, B2 403
storage_cap_exceeded / transaction_cap_exceeded). Each check prints `ok NAME` or `FAIL NAME:
cause`.

Environment: PIER_ENDPOINT, AWS_* (the admin key), PIER_BIN and PIER_DATA_DIR (the CLI and the
server's data directory).
"""

import os
import subprocess
import sys
import time

from b2sdk.v2 import B2Api, InMemoryAccountInfo
from b2sdk.v2.exception import StorageCapExceeded, TransactionCapExceeded

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, error_response, finish, s3_client  # noqa: E402

s3 = s3_client()


def pier(*args):
    """Runs the pier CLI on the server's data directory; its stdout."""
    out = subprocess.run([os.environ["PIER_BIN"], *args, "--data-dir", os.environ["PIER_DATA_DIR"]],
                         capture_output=True, text=True)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out.stdout


def s3_refusal(call):
    e = error_response(call)
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"]["Message"]


def new_account():
    """A key of a new account: (id, secret, account)."""
    out = pier("key", "create")
    field = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
             for line in out.splitlines() if ":" in line}
    return field["access key id"], field["secret access key"], field["account"]


@check("a bucket's storage cap refuses the S3 put that would pass it, naming the cap")
def _():
    s3.create_bucket(Bucket="caps-storage")
    pier("caps", "set", "--bucket", "caps-storage", "--storage", "1000")
    s3.put_object(Bucket="caps-storage", Key="a", Body=b"a" * 600)
    s3.put_object(Bucket="caps-storage", Key="b", Body=b"b" * 400)  # exactly at the cap
    status, code, message = s3_refusal(lambda: s3.put_object(Bucket="caps-storage", Key="c", Body=b"c"))
    assert (status, code) == (403, "StorageCapExceeded"), (status, code, message)
    assert "storage cap" in message and "1000 bytes" in message, message
    # Nothing of the refused write is kept, and deleting is never refused.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="caps-storage").get("Contents", [])]
    assert keys == ["a", "b"], keys
    s3.delete_object(Bucket="caps-storage", Key="a")
    s3.put_object(Bucket="caps-storage", Key="c", Body=b"c")


@check("a multipart upload is refused when a part would pass the storage cap")
def _():
    s3.create_bucket(Bucket="caps-multipart")
    pier("caps", "set", "--bucket", "caps-multipart", "--storage", "6MiB")
    up = s3.create_multipart_upload(Bucket="caps-multipart", Key="big")
    s3.upload_part(Bucket="caps-multipart", Key="big", UploadId=up["UploadId"], PartNumber=1,
                   Body=b"1" * (5 << 20))
    status, code, _ = s3_refusal(lambda: s3.upload_part(
        Bucket="caps-multipart", Key="big", UploadId=up["UploadId"], PartNumber=2, Body=b"2" * (2 << 20)))
    assert (status, code) == (403, "StorageCapExceeded"), (status, code)
    s3.abort_multipart_upload(Bucket="caps-multipart", Key="big", UploadId=up["UploadId"])


@check("an object cap refuses the next object, and a delete makes room")
def _():
    s3.create_bucket(Bucket="caps-objects")
    pier("caps", "set", "--bucket", "caps-objects", "--objects", "2")
    s3.put_object(Bucket="caps-objects", Key="1", Body=b"")
    s3.put_object(Bucket="caps-objects", Key="2", Body=b"")
    s3.put_object(Bucket="caps-objects", Key="2", Body=b"again")  # an overwrite adds none
    status, code, message = s3_refusal(lambda: s3.put_object(Bucket="caps-objects", Key="3", Body=b""))
    assert (status, code) == (403, "ObjectCapExceeded"), (status, code)
    assert "2 objects" in message, message
    s3.delete_object(Bucket="caps-objects", Key="1")
    s3.put_object(Bucket="caps-objects", Key="3", Body=b"")


@check("b2sdk: an upload over the account's storage cap is storage_cap_exceeded")
def _():
    key_id, secret, account = new_account()
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(realm=os.environ["PIER_ENDPOINT"], application_key_id=key_id,
                          application_key=secret)
    bucket = api.create_bucket("caps-b2-account", "allPrivate")
    pier("caps", "set", "--account", account, "--storage", "100KB")
    bucket.upload_bytes(b"x" * 60_000, "first")
    try:
        bucket.upload_bytes(b"y" * 60_000, "second")
    except StorageCapExceeded:
        pass
    else:
        raise AssertionError("the upload passed the cap")
    names = [f.file_name for f, _ in bucket.ls()]
    assert names == ["first"], names


@check("a daily transaction cap refuses requests past it, over S3 and B2")
def _():
    s3.create_bucket(Bucket="caps-requests")
    pier("caps", "set", "--bucket", "caps-requests", "--transactions-per-day", "5")
    time.sleep(1.2)  # a running server reads caps through a one-second cache
    for _ in range(5):
        s3.list_objects_v2(Bucket="caps-requests")
    status, code, message = s3_refusal(lambda: s3.list_objects_v2(Bucket="caps-requests"))
    assert (status, code) == (403, "TransactionCapExceeded"), (status, code)
    assert "5 requests" in message, message
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(realm=os.environ["PIER_ENDPOINT"],
                          application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                          application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    try:
        list(api.get_bucket_by_name("caps-requests").ls())
    except TransactionCapExceeded:
        pass
    else:
        raise AssertionError("B2 listed past the cap")
    # Other buckets are not counted against it.
    s3.list_objects_v2(Bucket="caps-storage")


@check("pier caps show: usage and caps per scope, and a recount that agrees")
def _():
    out = pier("caps", "show", "--recount")
    line = next(l for l in out.splitlines() if l.startswith("bucket caps-storage:"))
    assert "storage 1001 of 1000 bytes" not in line, line
    assert "storage 401 of 1000 bytes" in line, line
    assert "recount agrees" in line and "DISAGREES" not in out, out


finish()
