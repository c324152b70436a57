"""boto3 against a running pier: operations the aws CLI does not reach, and bad input.

Every failing operation must return the right S3 error and leave stored objects unchanged.
Environment: PIER_ENDPOINT and AWS_* credentials. Prints one line per check and a summary.
"""
import hashlib
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from checks import check, finish

ENDPOINT = os.environ["PIER_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(retries={"max_attempts": 1}))




def error_code(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("expected an error")


def get(bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


B = "boto-suite"
s3.create_bucket(Bucket=B)
s3.put_object(Bucket=B, Key="keep", Body=b"original bytes")


def unchanged():
    assert get(B, "keep") == b"original bytes"


@check("copy_object copies bytes and metadata; REPLACE replaces them")
def _():
    s3.put_object(Bucket=B, Key="src", Body=b"copy me", ContentType="text/x-src", Metadata={"a": "1"})
    s3.copy_object(Bucket=B, Key="dst", CopySource={"Bucket": B, "Key": "src"})
    h = s3.head_object(Bucket=B, Key="dst")
    assert get(B, "dst") == b"copy me" and h["ContentType"] == "text/x-src" and h["Metadata"] == {"a": "1"}
    s3.copy_object(Bucket=B, Key="dst2", CopySource={"Bucket": B, "Key": "src"},
                   MetadataDirective="REPLACE", ContentType="text/plain", Metadata={"b": "2"})
    h = s3.head_object(Bucket=B, Key="dst2")
    assert h["ContentType"] == "text/plain" and h["Metadata"] == {"b": "2"}, h
    assert error_code(lambda: s3.copy_object(Bucket=B, Key="src", CopySource={"Bucket": B, "Key": "src"}))[0] == "InvalidRequest"


@check("delete_objects deletes many and reports each")
def _():
    for i in range(5):
        s3.put_object(Bucket=B, Key=f"del/{i}", Body=b"x")
    out = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": f"del/{i}"} for i in range(5)] + [{"Key": "del/none"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == sorted([f"del/{i}" for i in range(5)] + ["del/none"])
    assert s3.list_objects_v2(Bucket=B, Prefix="del/")["KeyCount"] == 0


@check("multipart upload: parts, list_parts, list_multipart_uploads, complete, part-number GET")
def _():
    part1 = os.urandom(5 * 1024 * 1024)
    part2 = b"the end"
    up = s3.create_multipart_upload(Bucket=B, Key="mp", ContentType="application/x-mp", Metadata={"m": "p"})
    uid = up["UploadId"]
    e1 = s3.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=B, Key="mp", UploadId=uid)["Parts"]] == [1, 2]
    assert any(u["UploadId"] == uid for u in s3.list_multipart_uploads(Bucket=B)["Uploads"])
    out = s3.complete_multipart_upload(Bucket=B, Key="mp", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    md5s = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert out["ETag"].strip('"') == f"{md5s}-2", out["ETag"]
    assert get(B, "mp") == part1 + part2
    h = s3.head_object(Bucket=B, Key="mp")
    assert h["ContentType"] == "application/x-mp" and h["Metadata"] == {"m": "p"}
    p2 = s3.get_object(Bucket=B, Key="mp", PartNumber=2)
    assert p2["Body"].read() == part2 and p2["PartsCount"] == 2


@check("upload_part_copy copies a byte range into a part")
def _():
    s3.put_object(Bucket=B, Key="big-src", Body=b"A" * (6 * 1024 * 1024) + b"tail")
    uid = s3.create_multipart_upload(Bucket=B, Key="pc")["UploadId"]
    r1 = s3.upload_part_copy(Bucket=B, Key="pc", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": B, "Key": "big-src"}, CopySourceRange=f"bytes=0-{5 * 1024 * 1024 - 1}")
    r2 = s3.upload_part_copy(Bucket=B, Key="pc", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": B, "Key": "big-src"}, CopySourceRange=f"bytes={6 * 1024 * 1024}-{6 * 1024 * 1024 + 3}")
    s3.complete_multipart_upload(Bucket=B, Key="pc", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]}]})
    assert get(B, "pc") == b"A" * (5 * 1024 * 1024) + b"tail"


@check("abort_multipart_upload; then the upload is gone")
def _():
    uid = s3.create_multipart_upload(Bucket=B, Key="ab")["UploadId"]
    s3.upload_part(Bucket=B, Key="ab", UploadId=uid, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=B, Key="ab", UploadId=uid)
    assert error_code(lambda: s3.list_parts(Bucket=B, Key="ab", UploadId=uid))[0] == "NoSuchUpload"


@check("completing with a wrong ETag, bad order or a small part is refused")
def _():
    uid = s3.create_multipart_upload(Bucket=B, Key="bad-mp")["UploadId"]
    e1 = s3.upload_part(Bucket=B, Key="bad-mp", UploadId=uid, PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=B, Key="bad-mp", UploadId=uid, PartNumber=2, Body=b"small")["ETag"]
    bad = lambda parts: error_code(lambda: s3.complete_multipart_upload(Bucket=B, Key="bad-mp", UploadId=uid, MultipartUpload={"Parts": parts}))
    assert bad([{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}])[0] == "InvalidPart"
    assert bad([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}])[0] == "InvalidPartOrder"
    assert bad([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}])[0] == "EntityTooSmall"
    assert error_code(lambda: s3.head_object(Bucket=B, Key="bad-mp"))[1] == 404


@check("conditional GET: If-None-Match gives 304, If-Match mismatch 412, If-Modified-Since")
def _():
    etag = s3.head_object(Bucket=B, Key="keep")["ETag"]
    assert error_code(lambda: s3.get_object(Bucket=B, Key="keep", IfNoneMatch=etag))[1] == 304
    assert error_code(lambda: s3.get_object(Bucket=B, Key="keep", IfMatch='"nope"'))[0] == "PreconditionFailed"
    assert get(B, "keep") == b"original bytes"
    assert s3.get_object(Bucket=B, Key="keep", IfMatch=etag)["Body"].read() == b"original bytes"
    future = time.time() + 3600
    assert error_code(lambda: s3.get_object(Bucket=B, Key="keep", IfModifiedSince=future))[1] == 304
    assert error_code(lambda: s3.get_object(Bucket=B, Key="keep", IfUnmodifiedSince=time.time() - 3600))[0] == "PreconditionFailed"


@check("conditional PUT: If-None-Match * refuses to overwrite")
def _():
    assert error_code(lambda: s3.put_object(Bucket=B, Key="keep", Body=b"other", IfNoneMatch="*"))[0] == "PreconditionFailed"
    unchanged()


@check("ranges: suffix, open-ended, past the end")
def _():
    assert s3.get_object(Bucket=B, Key="keep", Range="bytes=-5")["Body"].read() == b"bytes"
    r = s3.get_object(Bucket=B, Key="keep", Range="bytes=9-")
    assert r["Body"].read() == b"bytes" and r["ContentRange"] == "bytes 9-13/14"
    assert error_code(lambda: s3.get_object(Bucket=B, Key="keep", Range="bytes=100-"))[1] == 416


@check("a wrong secret gives SignatureDoesNotMatch; an unknown key InvalidAccessKeyId")
def _():
    wrong = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key="wrong-secret", config=Config(retries={"max_attempts": 1}))
    assert error_code(lambda: wrong.put_object(Bucket=B, Key="keep", Body=b"evil"))[0] == "SignatureDoesNotMatch"
    unknown = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id="AKIANOBODY",
                           aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    assert error_code(lambda: unknown.list_buckets())[0] == "InvalidAccessKeyId"
    unchanged()


@check("presigned GET and PUT (SigV4), expiry enforced, more than 7 days refused")
def _():
    v4 = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(signature_version="s3v4"))
    put_url = v4.generate_presigned_url("put_object", Params={"Bucket": B, "Key": "via-url", "ContentType": "text/plain"}, ExpiresIn=60)
    req = urllib.request.Request(put_url, data=b"123", method="PUT", headers={"Content-Type": "text/plain"})
    assert urllib.request.urlopen(req).status == 200
    get_url = v4.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "via-url"}, ExpiresIn=60)
    assert urllib.request.urlopen(get_url).read() == b"123"
    short = v4.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "via-url"}, ExpiresIn=1)
    time.sleep(2.1)
    try:
        urllib.request.urlopen(short)
        raise AssertionError("expired URL worked")
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        assert e.code == 403 and "AccessDenied" in body and "expired" in body, body
    long_url = v4.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "via-url"}, ExpiresIn=604801)
    try:
        urllib.request.urlopen(long_url)
        raise AssertionError("8-day URL worked")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and "AuthorizationQueryParametersError" in e.read().decode()


@check("virtual-host style (bucket.localhost) reaches the bucket")
def _():
    port = urllib.parse.urlparse(ENDPOINT).port
    v4 = boto3.client("s3", endpoint_url=f"http://localhost:{port}",
                      config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "keep"}, ExpiresIn=60)
    host = urllib.parse.urlparse(url).netloc
    assert host.startswith(B + ".localhost"), url
    # Resolve the virtual host name to loopback ourselves.
    path = url.split(host, 1)[1]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"original bytes"), data[:200]


@check("invalid bucket names, a key of 1025 bytes, a missing bucket")
def _():
    assert error_code(lambda: s3.create_bucket(Bucket="ab"))[0] == "InvalidBucketName"
    assert error_code(lambda: s3.create_bucket(Bucket="Upper-Case"))[0] == "InvalidBucketName"
    assert error_code(lambda: s3.put_object(Bucket=B, Key="k" * 1025, Body=b"x"))[0] == "KeyTooLongError"
    assert s3.put_object(Bucket=B, Key="k" * 1024, Body=b"x")["ETag"]
    assert error_code(lambda: s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x"))[0] == "NoSuchBucket"


@check("malformed XML bodies are MalformedXML")
def _():
    def garbage(request, **kwargs):
        request.data = b"<Delete><Object><Key>keep</Key></Object"
        request.headers["Content-Length"] = str(len(request.data))
        for h in list(request.headers.keys()):
            if h.lower() == "content-md5" or h.lower().startswith("x-amz-checksum"):
                del request.headers[h]
    c = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(retries={"max_attempts": 1}))
    c.meta.events.register("before-sign.s3.DeleteObjects", garbage)
    assert error_code(lambda: c.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "keep"}]}))[0] == "MalformedXML"
    unchanged()


@check("a wrong Content-MD5 is BadDigest and stores nothing")
def _():
    import base64
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    assert error_code(lambda: s3.put_object(Bucket=B, Key="keep", Body=b"tampered", ContentMD5=wrong))[0] == "BadDigest"
    unchanged()


@check("a wrong announced checksum is BadDigest and stores nothing")
def _():
    assert error_code(lambda: s3.put_object(Bucket=B, Key="keep", Body=b"tampered", ChecksumCRC32="AAAAAA=="))[0] == "BadDigest"
    unchanged()


@check("a body shorter than its Content-Length stores nothing")
def _():
    v4 = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(signature_version="s3v4"))
    url = urllib.parse.urlparse(v4.generate_presigned_url("put_object", Params={"Bucket": B, "Key": "keep"}, ExpiresIn=60))
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: 100\r\n\r\n".encode() + b"x" * 50)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(5)
        try:
            sock.recv(1000)
        except OSError:
            pass
    time.sleep(0.2)
    unchanged()


@check("every failing call above left the object intact; listing shows no stray objects")
def _():
    unchanged()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=B)["Contents"]]
    assert "bad-mp" not in keys and "ab" not in keys, keys


def post_form(url, fields, file_bytes, extra_headers=None, filename="f.txt"):
    """A multipart/form-data POST, as a browser form sends it; returns (status, headers, body)."""
    boundary = "----pierboundary7MA4YWxkTrZu0gW"
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'.encode())
    parts.append(file_bytes + f"\r\n--{boundary}--\r\n".encode())
    body = b"".join(parts)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    headers.update(extra_headers or {})
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        r = urllib.request.urlopen(req)
        return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


@check("browser POST upload: policy conditions enforced, success_action_status honoured")
def _():
    v4 = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(signature_version="s3v4"))
    conditions = [["starts-with", "$key", "uploads/"], ["content-length-range", 1, 100], {"Content-Type": "text/plain"}]
    post = v4.generate_presigned_post(B, "uploads/f.txt", Fields={"Content-Type": "text/plain"},
                                      Conditions=conditions, ExpiresIn=60)
    status, _, _ = post_form(post["url"], post["fields"], b"hello from a form")
    assert status == 204, status
    assert get(B, "uploads/f.txt") == b"hello from a form"
    assert s3.head_object(Bucket=B, Key="uploads/f.txt")["ContentType"] == "text/plain"
    fields = dict(post["fields"], success_action_status="201")
    post201 = v4.generate_presigned_post(B, "uploads/created.txt", Fields={"Content-Type": "text/plain", "success_action_status": "201"},
                                         Conditions=conditions + [{"success_action_status": "201"}], ExpiresIn=60)
    status, _, body = post_form(post201["url"], post201["fields"], b"created")
    assert status == 201 and "<ETag>" in body, (status, body)
    # The key outside the allowed prefix, a file over the size range, a wrong content type.
    # As AWS: a failed condition is 403 AccessDenied "Invalid according to Policy".
    wrong_key = dict(post["fields"], key="elsewhere/f.txt")
    status, _, body = post_form(post["url"], wrong_key, b"x")
    assert status == 403 and "AccessDenied" in body and "Invalid according to Policy" in body and "starts-with" in body, (status, body)
    status, _, body = post_form(post["url"], post["fields"], b"x" * 200)
    assert status == 400 and "EntityTooLarge" in body, (status, body)
    wrong_type = dict(post["fields"], **{"Content-Type": "application/json"})
    status, _, body = post_form(post["url"], wrong_type, b"{}")
    assert status == 403 and "Invalid according to Policy" in body and "content-type" in body.lower(), (status, body)
    assert error_code(lambda: s3.head_object(Bucket=B, Key="elsewhere/f.txt"))[1] == 404
    variable = v4.generate_presigned_post(B, "uploads/${filename}", Conditions=[["starts-with", "$key", "uploads/"]], ExpiresIn=60)
    status, _, body = post_form(variable["url"], variable["fields"], b"named", filename="named.txt")
    assert status == 204, (status, body)
    assert get(B, "uploads/named.txt") == b"named"


finish()
