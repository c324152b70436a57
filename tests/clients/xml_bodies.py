"""Signed S3 requests whose document bodies are hostile: a body that is not the one its
x-amz-content-sha256 signs, and a body over the document limit. Each must be a 400 in S3's
words, never a 500, and change nothing. Prints one line per check; exits non-zero on failure."""

import base64
import hashlib
import os
import socket
import sys
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials

ENDPOINT = os.environ["PIER_ENDPOINT"]
CREDS = botocore.credentials.Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
s3 = boto3.client("s3", endpoint_url=ENDPOINT)


def signed(method, path, signed_body, extra=None):
    req = botocore.awsrequest.AWSRequest(method=method, url=ENDPOINT + path, data=signed_body, headers=dict(extra or {}))
    botocore.auth.S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
    return req.prepare()


def send(method, path, signed_body, sent_body, extra=None):
    p = signed(method, path, signed_body, extra)
    r = urllib.request.Request(p.url, data=sent_body, method=method, headers=dict(p.headers))
    try:
        resp = urllib.request.urlopen(r)
        return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def check(name, got, status, code):
    ok = got[0] == status and f"<Code>{code}</Code>" in got[1]
    print(("ok   " if ok else "FAIL ") + name, got[0], got[1][:200])
    return ok


s3.create_bucket(Bucket="xml-bodies")
s3.put_object(Bucket="xml-bodies", Key="k1", Body=b"one")
rules = b"<CORSConfiguration><CORSRule><AllowedOrigin>https://a.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
results = [
    check(
        "PutBucketCors with a body other than the signed one",
        send("PUT", "/xml-bodies?cors", rules, rules.replace(b"https://a", b"https://b")),
        400,
        "XAmzContentSHA256Mismatch",
    ),
]
delete = b"<Delete><Object><Key>k2</Key></Object></Delete>"
md5 = base64.b64encode(hashlib.md5(delete).digest()).decode()
results.append(
    check(
        "DeleteObjects with a body other than the signed one",
        send("POST", "/xml-bodies?delete", delete, delete.replace(b"k2", b"k1"), {"Content-MD5": md5}),
        400,
        "XAmzContentSHA256Mismatch",
    )
)
upload = s3.create_multipart_upload(Bucket="xml-bodies", Key="mp")["UploadId"]
complete = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>"
results.append(
    check(
        "CompleteMultipartUpload with a body other than the signed one",
        send("POST", f"/xml-bodies/mp?uploadId={upload}", complete, complete.replace(b">a<", b">b<")),
        400,
        "XAmzContentSHA256Mismatch",
    )
)

# A document over the limit: the answer comes before the body is read, on a raw socket.
big_len = 5 * 1024 * 1024
p = signed("PUT", "/xml-bodies?cors", rules, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
host, port = ENDPOINT.removeprefix("http://").split(":")
sock = socket.create_connection((host, int(port)))
head = f"PUT {p.url.removeprefix(ENDPOINT)} HTTP/1.1\r\n" + "".join(
    f"{k}: {v}\r\n" for k, v in p.headers.items() if k.lower() != "content-length"
) + f"Content-Length: {big_len}\r\n\r\n"
sock.sendall(head.encode())
try:
    sock.sendall(b" " * big_len)
except OSError:
    pass  # the server answered and closed before reading it all
answer = b""
sock.settimeout(10)
try:
    while chunk := sock.recv(65536):
        answer += chunk
except OSError:
    pass
text = answer.decode(errors="replace")
status = int(text.split()[1]) if text.startswith("HTTP/") else 0
results.append(check("PutBucketCors over the document limit", (status, text), 400, "MaxMessageLengthExceeded"))

# Nothing changed.
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="xml-bodies").get("Contents", [])]
results.append(keys == ["k1"] or print("FAIL objects changed:", keys))
try:
    s3.get_bucket_cors(Bucket="xml-bodies")
    print("FAIL rules were stored")
    results.append(False)
except s3.exceptions.ClientError as e:
    results.append(e.response["Error"]["Code"] == "NoSuchCORSConfiguration")
print(f"{sum(1 for r in results if r)} passed, {sum(1 for r in results if not r)} failed")
sys.exit(0 if all(results) else 1)
