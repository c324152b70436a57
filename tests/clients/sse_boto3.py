"""Server-side encryption as a boto3 user drives it: SSE-S3 (AES256) per object and as a
bucket default, SSE-C on PUT/GET/HEAD/ranges, multipart, CopyObject and UploadPartCopy, and
the refusals AWS answers. Each check prints `ok NAME` or `FAIL NAME: cause`.

Environment: PIER_ENDPOINT and AWS_* (the admin key); the server takes customer keys over
plain HTTP (--allow-sse-c-over-http).
"""

import base64
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, error_status, finish, s3_client  # noqa: E402

s3 = s3_client()
KEY = os.urandom(32)
OTHER = os.urandom(32)


def sse_c(key=KEY, prefix=""):
    return {
        f"{prefix}SSECustomerAlgorithm": "AES256",
        f"{prefix}SSECustomerKey": base64.b64encode(key).decode(),
        f"{prefix}SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def copy_source_sse_c(key=KEY):
    return {
        "CopySourceSSECustomerAlgorithm": "AES256",
        "CopySourceSSECustomerKey": base64.b64encode(key).decode(),
        "CopySourceSSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def data(n, seed=b"pier sse "):
    return (seed * (n // len(seed) + 1))[:n]


s3.create_bucket(Bucket="sse")
s3.create_bucket(Bucket="sse-default")


@check("SSE-S3: PUT with AES256 is stored encrypted, GET and HEAD say so, the ETag is the MD5")
def _():
    body = data(300_000)
    put = s3.put_object(Bucket="sse", Key="s3.bin", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256", put
    assert put["ETag"].strip('"') == hashlib.md5(body).hexdigest(), put
    got = s3.get_object(Bucket="sse", Key="s3.bin")
    assert got["ServerSideEncryption"] == "AES256", got
    assert got["Body"].read() == body
    head = s3.head_object(Bucket="sse", Key="s3.bin")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == len(body), head
    part = s3.get_object(Bucket="sse", Key="s3.bin", Range="bytes=65530-65545")["Body"].read()
    assert part == body[65530:65546]


@check("a bucket's default encryption applies to puts that name none, and round-trips")
def _():
    assert error_status(s3.get_bucket_encryption, Bucket="sse-default") == (
        404, "ServerSideEncryptionConfigurationNotFoundError")
    s3.put_bucket_encryption(Bucket="sse-default", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    got = s3.get_bucket_encryption(Bucket="sse-default")["ServerSideEncryptionConfiguration"]
    assert got["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", got
    put = s3.put_object(Bucket="sse-default", Key="d.txt", Body=b"by default")
    assert put.get("ServerSideEncryption") == "AES256", put
    assert s3.head_object(Bucket="sse-default", Key="d.txt")["ServerSideEncryption"] == "AES256"
    s3.delete_bucket_encryption(Bucket="sse-default")
    put = s3.put_object(Bucket="sse-default", Key="plain.txt", Body=b"plain")
    assert "ServerSideEncryption" not in put, put
    assert s3.get_object(Bucket="sse-default", Key="d.txt")["Body"].read() == b"by default"


@check("SSE-C: PUT, GET, HEAD and ranges with the key; its MD5 is echoed")
def _():
    body = data(200_000, b"customer ")
    put = s3.put_object(Bucket="sse", Key="c.bin", Body=body, **sse_c())
    md5 = sse_c()["SSECustomerKeyMD5"]
    assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == md5, put
    assert put["ETag"].strip('"') != hashlib.md5(body).hexdigest(), "an SSE-C ETag is not the MD5"
    got = s3.get_object(Bucket="sse", Key="c.bin", **sse_c())
    assert got["Body"].read() == body
    assert got["SSECustomerKeyMD5"] == md5, got
    head = s3.head_object(Bucket="sse", Key="c.bin", **sse_c())
    assert head["ContentLength"] == len(body) and head["SSECustomerAlgorithm"] == "AES256", head
    part = s3.get_object(Bucket="sse", Key="c.bin", Range="bytes=131070-131080", **sse_c())
    assert part["Body"].read() == body[131070:131081]


@check("SSE-C: a read without the key is 400, with another key 403")
def _():
    s3.put_object(Bucket="sse", Key="locked", Body=b"secret", **sse_c())
    assert error_status(s3.get_object, Bucket="sse", Key="locked") == (400, "InvalidRequest")
    assert error_status(s3.get_object, Bucket="sse", Key="locked", **sse_c(OTHER)) == (403, "AccessDenied")
    status, _ = error_status(s3.head_object, Bucket="sse", Key="locked")
    assert status == 400, status
    s3.put_object(Bucket="sse", Key="open", Body=b"open")
    assert error_status(s3.get_object, Bucket="sse", Key="open", **sse_c()) == (400, "InvalidRequest")


@check("SSE-C: a multipart upload with the key on every part reads back whole and by range")
def _():
    parts_data = [data(5 * 1024 * 1024, b"part one "), data(1_000_000, b"part two ")]
    up = s3.create_multipart_upload(Bucket="sse", Key="mp", **sse_c())
    assert up["SSECustomerAlgorithm"] == "AES256", up
    parts = []
    for n, chunk in enumerate(parts_data, start=1):
        r = s3.upload_part(Bucket="sse", Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=chunk, **sse_c())
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    status, code = error_status(s3.upload_part, Bucket="sse", Key="mp", UploadId=up["UploadId"],
                                PartNumber=3, Body=b"x", **sse_c(OTHER))
    assert (status, code) == (400, "InvalidRequest"), (status, code)
    # A completion naming another key is refused; one naming none (as rclone's) is not.
    status, _ = error_status(s3.complete_multipart_upload, Bucket="sse", Key="mp", UploadId=up["UploadId"],
                             MultipartUpload={"Parts": parts}, **sse_c(OTHER))
    assert status == 400, status
    s3.complete_multipart_upload(Bucket="sse", Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": parts})
    whole = b"".join(parts_data)
    assert s3.get_object(Bucket="sse", Key="mp", **sse_c())["Body"].read() == whole
    edge = 5 * 1024 * 1024 - 5
    got = s3.get_object(Bucket="sse", Key="mp", Range=f"bytes={edge}-{edge + 9}", **sse_c())
    assert got["Body"].read() == whole[edge:edge + 10]


@check("CopyObject between SSE-C, SSE-S3 and plain, with the copy-source key")
def _():
    body = data(150_000, b"copy me ")
    s3.put_object(Bucket="sse", Key="src", Body=body, **sse_c())
    r = s3.copy_object(Bucket="sse", Key="to-s3", CopySource={"Bucket": "sse", "Key": "src"},
                       ServerSideEncryption="AES256", **copy_source_sse_c())
    assert r["ServerSideEncryption"] == "AES256", r
    assert s3.get_object(Bucket="sse", Key="to-s3")["Body"].read() == body
    s3.copy_object(Bucket="sse", Key="to-plain", CopySource={"Bucket": "sse", "Key": "src"}, **copy_source_sse_c())
    got = s3.get_object(Bucket="sse", Key="to-plain")
    assert got["Body"].read() == body and "ServerSideEncryption" not in got
    s3.copy_object(Bucket="sse", Key="to-other-key", CopySource={"Bucket": "sse", "Key": "src"},
                   **copy_source_sse_c(), **sse_c(OTHER))
    assert s3.get_object(Bucket="sse", Key="to-other-key", **sse_c(OTHER))["Body"].read() == body
    status, _ = error_status(s3.copy_object, Bucket="sse", Key="no-key", CopySource={"Bucket": "sse", "Key": "src"})
    assert status == 400, status
    # Encrypting an object in place, as `aws s3 cp` of an object onto itself does.
    s3.put_object(Bucket="sse", Key="in-place", Body=b"was plain")
    s3.copy_object(Bucket="sse", Key="in-place", CopySource={"Bucket": "sse", "Key": "in-place"},
                   ServerSideEncryption="AES256")
    assert s3.head_object(Bucket="sse", Key="in-place")["ServerSideEncryption"] == "AES256"


@check("UploadPartCopy from an SSE-C source into an SSE-S3 upload")
def _():
    body = data(5 * 1024 * 1024 + 10, b"part copy ")
    s3.put_object(Bucket="sse", Key="pc-src", Body=body, **sse_c())
    up = s3.create_multipart_upload(Bucket="sse", Key="pc", ServerSideEncryption="AES256")
    r = s3.upload_part_copy(Bucket="sse", Key="pc", UploadId=up["UploadId"], PartNumber=1,
                            CopySource={"Bucket": "sse", "Key": "pc-src"}, **copy_source_sse_c())
    s3.complete_multipart_upload(Bucket="sse", Key="pc", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    got = s3.get_object(Bucket="sse", Key="pc")
    assert got["ServerSideEncryption"] == "AES256" and got["Body"].read() == body


@check("SSE-KMS: PUT with a key of the ring; GET and HEAD show aws:kms and the key id; the ETag is not the MD5")
def _():
    body = data(200_000, b"kms ")
    put = s3.put_object(Bucket="sse", Key="kms.bin", Body=body, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="testkey-1")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == "testkey-1", put
    assert put["ETag"].strip('"') != hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket="sse", Key="kms.bin", Range="bytes=100-199")
    assert got["ServerSideEncryption"] == "aws:kms" and got["SSEKMSKeyId"] == "testkey-1", got
    assert got["Body"].read() == body[100:200]
    head = s3.head_object(Bucket="sse", Key="kms.bin")
    assert head["SSEKMSKeyId"] == "testkey-1", head


@check("SSE-KMS: a key the ring lacks is 400 KMS.NotFoundException; without a key id, aws/s3")
def _():
    assert error_status(s3.put_object, Bucket="sse", Key="kms-missing", Body=b"x",
                        ServerSideEncryption="aws:kms", SSEKMSKeyId="no-such-key") == (400, "KMS.NotFoundException")
    put = s3.put_object(Bucket="sse", Key="kms-default", Body=b"x", ServerSideEncryption="aws:kms")
    assert put["SSEKMSKeyId"] == "aws/s3", put
    assert s3.get_object(Bucket="sse", Key="kms-default")["Body"].read() == b"x"


@check("SSE-KMS: a bucket default with a KMSMasterKeyID, multipart, and a copy into SSE-S3")
def _():
    s3.create_bucket(Bucket="sse-kms-default")
    s3.put_bucket_encryption(Bucket="sse-kms-default", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "testkey-2"}}]})
    got = s3.get_bucket_encryption(Bucket="sse-kms-default")["ServerSideEncryptionConfiguration"]
    assert got["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == "testkey-2", got
    up = s3.create_multipart_upload(Bucket="sse-kms-default", Key="mp")
    assert up["SSEKMSKeyId"] == "testkey-2", up
    chunks = [data(5 * 1024 * 1024, b"kms part "), data(100, b"tail ")]
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        r = s3.upload_part(Bucket="sse-kms-default", Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=chunk)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket="sse-kms-default", Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket="sse-kms-default", Key="mp")["Body"].read() == b"".join(chunks)
    r = s3.copy_object(Bucket="sse", Key="from-kms", CopySource={"Bucket": "sse-kms-default", "Key": "mp"},
                       ServerSideEncryption="AES256")
    assert r["ServerSideEncryption"] == "AES256", r
    assert s3.get_object(Bucket="sse", Key="from-kms")["Body"].read() == b"".join(chunks)


@check("bad SSE-C headers are refused: a short key, a key that is not its MD5")
def _():
    short = os.urandom(16)
    bad = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(short).decode(),
           "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(short).digest()).decode()}
    assert error_status(s3.put_object, Bucket="sse", Key="bad", Body=b"x", **bad)[0] == 400
    wrong = dict(sse_c())
    wrong["SSECustomerKeyMD5"] = base64.b64encode(hashlib.md5(OTHER).digest()).decode()
    assert error_status(s3.put_object, Bucket="sse", Key="bad", Body=b"x", **wrong)[0] == 400
    assert error_status(s3.head_object, Bucket="sse", Key="bad")[0] == 404, "nothing stored"


@check("a browser form upload (POST) asking AES256 is encrypted, and so is one into a default-encrypted bucket")
def _():
    import urllib3
    for bucket, fields in [("sse", {"x-amz-server-side-encryption": "AES256"}), ("sse-default", {})]:
        if bucket == "sse-default":
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        conditions = [{k: v} for k, v in fields.items()]
        post = s3.generate_presigned_post(Bucket=bucket, Key="form.txt", Fields=fields, Conditions=conditions)
        r = urllib3.request("POST", post["url"], fields={**post["fields"], "file": ("form.txt", b"posted")})
        assert r.status == 204, (r.status, r.data)
        head = s3.head_object(Bucket=bucket, Key="form.txt")
        assert head.get("ServerSideEncryption") == "AES256", (bucket, head)
        assert s3.get_object(Bucket=bucket, Key="form.txt")["Body"].read() == b"posted"
    s3.delete_bucket_encryption(Bucket="sse-default")


finish()
