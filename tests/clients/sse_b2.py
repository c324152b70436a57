"""Server-side encryption through b2sdk, as a B2 user drives it: SSE-B2 and SSE-C uploads and
downloads (`EncryptionSetting`), the refusal of a missing or wrong key, a large file whose
parts carry the key, copies between encryptions, and a bucket's default encryption. Each
check prints `ok NAME` or `FAIL NAME: cause`.

Environment: PIER_ENDPOINT and AWS_* (the admin key); the server takes customer keys over
plain HTTP (--allow-sse-c-over-http).
"""

import hashlib
import io
import os
import sys

from b2sdk.v2 import (B2Api, EncryptionAlgorithm, EncryptionKey, EncryptionMode, EncryptionSetting,
                      InMemoryAccountInfo)
from b2sdk.v2.exception import SSECKeyError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

api = B2Api(InMemoryAccountInfo())
api.authorize_account(realm=os.environ["PIER_ENDPOINT"], application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                      application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
SSE_B2 = EncryptionSetting(mode=EncryptionMode.SSE_B2, algorithm=EncryptionAlgorithm.AES256)


def sse_c(secret=b"k" * 32, key_id="key-1"):
    return EncryptionSetting(mode=EncryptionMode.SSE_C, algorithm=EncryptionAlgorithm.AES256,
                             key=EncryptionKey(secret=secret, key_id=key_id))


def download(bucket, name, encryption=None):
    out = io.BytesIO()
    bucket.download_file_by_name(name, encryption=encryption).save(out)
    return out.getvalue()


bucket = api.create_bucket("sse-b2-bucket", "allPrivate")


@check("SSE-B2: an upload is encrypted, its file info and download say so")
def _():
    body = os.urandom(100_000)
    v = bucket.upload_bytes(body, "b2.bin", encryption=SSE_B2)
    assert v.server_side_encryption.mode == EncryptionMode.SSE_B2, v.server_side_encryption
    info = api.get_file_info(v.id_)
    assert info.server_side_encryption.mode == EncryptionMode.SSE_B2, info.server_side_encryption
    assert download(bucket, "b2.bin") == body


@check("SSE-C: upload and download with the key")
def _():
    body = os.urandom(300_000)
    v = bucket.upload_bytes(body, "c.bin", encryption=sse_c())
    assert v.server_side_encryption.mode == EncryptionMode.SSE_C, v.server_side_encryption
    assert download(bucket, "c.bin", sse_c()) == body


@check("SSE-C: a download without the key, or with another, is refused")
def _():
    bucket.upload_bytes(b"secret", "locked.bin", encryption=sse_c())
    for wrong in (None, sse_c(b"w" * 32, "key-2")):
        try:
            download(bucket, "locked.bin", wrong)
            raise AssertionError(f"downloaded with {wrong}")
        except SSECKeyError:
            pass


@check("SSE-C: a large file's parts carry the key; it reads back whole")
def _():
    body = os.urandom(12 * 1024 * 1024)
    session = api.session
    start = session.start_large_file(bucket.id_, "large2.bin", "b2/x-auto", {}, server_side_encryption=sse_c())
    parts = [body[:6_000_000], body[6_000_000:]]
    sha1s = []
    for n, part in enumerate(parts, start=1):
        url = session.get_upload_part_url(start["fileId"])
        session.raw_api.upload_part(url["uploadUrl"], url["authorizationToken"], n, len(part),
                                    hashlib.sha1(part).hexdigest(), io.BytesIO(part),
                                    server_side_encryption=sse_c())
        sha1s.append(hashlib.sha1(part).hexdigest())
    session.finish_large_file(start["fileId"], sha1s)
    assert download(bucket, "large2.bin", sse_c()) == body


@check("copies between SSE-C, SSE-B2 and plain")
def _():
    body = os.urandom(50_000)
    v = bucket.upload_bytes(body, "copy-src.bin", encryption=sse_c())
    # b2sdk asks for the source's file info when the copy's key id (its file info) changes.
    c = bucket.copy(v.id_, "copy-b2.bin", source_encryption=sse_c(), destination_encryption=SSE_B2,
                    source_file_info=v.file_info, source_content_type=v.content_type)
    assert c.server_side_encryption.mode == EncryptionMode.SSE_B2, c.server_side_encryption
    assert download(bucket, "copy-b2.bin") == body
    c = bucket.copy(v.id_, "copy-c.bin", source_encryption=sse_c(), destination_encryption=sse_c())
    assert download(bucket, "copy-c.bin", sse_c()) == body


@check("a bucket's default encryption is set, shown, and applied to uploads that name none")
def _():
    b = api.create_bucket("sse-b2-default", "allPrivate", default_server_side_encryption=SSE_B2)
    assert b.default_server_side_encryption.mode == EncryptionMode.SSE_B2, b.default_server_side_encryption
    v = b.upload_bytes(b"by default", "d.txt")
    assert v.server_side_encryption.mode == EncryptionMode.SSE_B2, v.server_side_encryption
    got = api.get_bucket_by_name("sse-b2-default")
    assert got.default_server_side_encryption.mode == EncryptionMode.SSE_B2, got.default_server_side_encryption
    assert download(b, "d.txt") == b"by default"
    plain = api.create_bucket("sse-b2-plain", "allPrivate")
    assert plain.default_server_side_encryption.mode == EncryptionMode.NONE
    v = plain.upload_bytes(b"plain", "p.txt")
    assert v.server_side_encryption.mode == EncryptionMode.NONE, v.server_side_encryption


finish()
