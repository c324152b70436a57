"""Uploads known plaintext (`PIER-KNOWN-PLAINTEXT`) encrypted through every S3 path: SSE-S3
small (inline) and large, SSE-KMS, a bucket's default, SSE-C, multipart SSE-S3 and SSE-C, CopyObject
between encryptions and UploadPartCopy, and through B2 (b2sdk): SSE-B2, SSE-C and an SSE-C
large file; reads each back over S3; prints `ok`. The Rust test then
searches the data directory for the plaintext.

Environment: PIER_ENDPOINT and AWS_* (the admin key); SSE-C allowed over plain HTTP.
"""

import base64
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import s3_client  # noqa: E402

s3 = s3_client()
KEY = os.urandom(32)
C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(KEY).decode(),
     "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(KEY).digest()).decode()}
SRC_C = {"CopySource" + k: v for k, v in C.items()}


def plain(n):
    line = b"PIER-KNOWN-PLAINTEXT one line of a document that must never be on disk. "
    return (line * (n // len(line) + 1))[:n]


s3.create_bucket(Bucket="enc-p")
s3.create_bucket(Bucket="p-default")
s3.put_bucket_encryption(Bucket="p-default", ServerSideEncryptionConfiguration={
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
expected = {}
for key, size, extra in [("small", 1000, {"ServerSideEncryption": "AES256"}),
                         ("large", 2_000_000, {"ServerSideEncryption": "AES256"}),
                         ("c-small", 1000, C), ("c-large", 2_000_000, C)]:
    s3.put_object(Bucket="enc-p", Key=key, Body=plain(size), **extra)
    expected[("enc-p", key)] = (plain(size), extra if extra is C else {})
s3.put_object(Bucket="enc-p", Key="kms", Body=plain(100_000), ServerSideEncryption="aws:kms")
expected[("enc-p", "kms")] = (plain(100_000), {})
s3.put_object(Bucket="p-default", Key="default", Body=plain(100_000))
expected[("p-default", "default")] = (plain(100_000), {})
for key, extra in [("mp-s3", {"ServerSideEncryption": "AES256"}), ("mp-c", C)]:
    up = s3.create_multipart_upload(Bucket="enc-p", Key=key, **extra)
    part_extra = C if extra is C else {}
    parts = []
    for n in (1, 2):
        r = s3.upload_part(Bucket="enc-p", Key=key, UploadId=up["UploadId"], PartNumber=n,
                           Body=plain(5 * 1024 * 1024), **part_extra)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket="enc-p", Key=key, UploadId=up["UploadId"], MultipartUpload={"Parts": parts},
                                 **part_extra)
    expected[("enc-p", key)] = (plain(5 * 1024 * 1024) * 2, part_extra)
s3.copy_object(Bucket="enc-p", Key="copied", CopySource={"Bucket": "enc-p", "Key": "c-large"},
               ServerSideEncryption="AES256", **SRC_C)
expected[("enc-p", "copied")] = (plain(2_000_000), {})
up = s3.create_multipart_upload(Bucket="enc-p", Key="part-copied", ServerSideEncryption="AES256")
r = s3.upload_part_copy(Bucket="enc-p", Key="part-copied", UploadId=up["UploadId"], PartNumber=1,
                        CopySource={"Bucket": "enc-p", "Key": "c-large"}, **SRC_C)
s3.complete_multipart_upload(Bucket="enc-p", Key="part-copied", UploadId=up["UploadId"], MultipartUpload={
    "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
expected[("enc-p", "part-copied")] = (plain(2_000_000), {})
# The same through B2: SSE-B2 and SSE-C uploads, an SSE-C large file.
from b2sdk.v2 import (B2Api, EncryptionAlgorithm, EncryptionKey, EncryptionMode,  # noqa: E402
                      EncryptionSetting, InMemoryAccountInfo)

b2 = B2Api(InMemoryAccountInfo())
b2.authorize_account(realm=os.environ["PIER_ENDPOINT"], application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                     application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
b2_bucket = b2.get_bucket_by_name("enc-p")
B2_C = EncryptionSetting(mode=EncryptionMode.SSE_C, algorithm=EncryptionAlgorithm.AES256,
                         key=EncryptionKey(secret=KEY, key_id="k"))
b2_bucket.upload_bytes(plain(300_000), "b2-sse-b2", encryption=EncryptionSetting(
    mode=EncryptionMode.SSE_B2, algorithm=EncryptionAlgorithm.AES256))
b2_bucket.upload_bytes(plain(300_000), "b2-sse-c", encryption=B2_C)
session = b2.session
start = session.start_large_file(b2_bucket.id_, "b2-large", "b2/x-auto", {}, server_side_encryption=B2_C)
sha1s = []
for n in (1, 2):
    part = plain(5_000_000)
    url = session.get_upload_part_url(start["fileId"])
    session.raw_api.upload_part(url["uploadUrl"], url["authorizationToken"], n, len(part),
                                hashlib.sha1(part).hexdigest(), __import__("io").BytesIO(part),
                                server_side_encryption=B2_C)
    sha1s.append(hashlib.sha1(part).hexdigest())
session.finish_large_file(start["fileId"], sha1s)
expected[("enc-p", "b2-sse-b2")] = (plain(300_000), {})
expected[("enc-p", "b2-sse-c")] = (plain(300_000), C)
expected[("enc-p", "b2-large")] = (plain(5_000_000) * 2, C)
for (bucket, key), (body, extra) in expected.items():
    got = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
    assert got == body, (bucket, key)
print("ok")
