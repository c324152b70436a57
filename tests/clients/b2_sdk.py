"""b2sdk (Backblaze's own Python SDK) against a running pier: authorize, buckets with CORS rules,
uploads, downloads by name and id, listing, file info, hide, delete, download authorizations,
and B2 errors. Environment: PIER_ENDPOINT and AWS_* credentials (the same key pair works for
both APIs). Prints one line per check and a summary."""
import hashlib
import io
import os
import urllib.error
import urllib.request

from b2sdk.v2 import B2Api, InMemoryAccountInfo
from b2sdk.v2.exception import B2Error, FileNotPresent, NonExistentBucket
from checks import check, finish

ENDPOINT = os.environ["PIER_ENDPOINT"]
api = B2Api(InMemoryAccountInfo())
api.authorize_account(realm=ENDPOINT, application_key_id=os.environ["AWS_ACCESS_KEY_ID"], application_key=os.environ["AWS_SECRET_ACCESS_KEY"])

SEED_RULE = {
    "corsRuleName": "downloadFromAnyOrigin",
    "allowedOrigins": ["https"],
    "allowedHeaders": ["range"],
    "allowedOperations": ["b2_download_file_by_id", "b2_download_file_by_name"],
    "exposeHeaders": ["x-bz-content-sha1"],
    "maxAgeSeconds": 3600,
}




state = {}


def raw(method, path, body=None, headers=None):
    """A raw request; returns (status, parsed JSON or text, headers)."""
    data = body if isinstance(body, (bytes, type(None))) else __import__("json").dumps(body).encode()
    req = urllib.request.Request(ENDPOINT + path, data=data, method=method, headers=headers or {})
    try:
        r = urllib.request.urlopen(req)
        status, text, hdrs = r.status, r.read().decode(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        status, text, hdrs = e.code, e.read().decode(), {k.lower(): v for k, v in e.headers.items()}
    try:
        return status, __import__("json").loads(text), hdrs
    except ValueError:
        return status, text, hdrs



@check("create a private bucket with the seed's downloadFromAnyOrigin rule; read the rules back")
def _():
    b = api.create_bucket("sdk-test-bucket", "allPrivate", cors_rules=[SEED_RULE])
    state["bucket"] = b
    back = api.get_bucket_by_name("sdk-test-bucket")
    assert back.cors_rules == [SEED_RULE], back.cors_rules
    assert back.type_ == "allPrivate"


@check("invalid CORS rules are refused with B2's bad_request and a clear message")
def _():
    bad = dict(SEED_RULE, corsRuleName="b2-reserved", maxAgeSeconds=90000)
    try:
        api.create_bucket("sdk-bad-bucket", "allPrivate", cors_rules=[bad])
        raise AssertionError("accepted")
    except B2Error as e:
        text = str(e)
        assert "reserved for Backblaze" in text and "90000 is out of range" in text, text


@check("upload, then download by name and by id: bytes and SHA1 match")
def _():
    b = state["bucket"]
    data = os.urandom(100_000)
    info = b.upload_bytes(data, "dir/file one.bin", file_infos={"author": "ada"}, content_type="application/x-test")
    state["info"] = info
    assert info.content_sha1 == hashlib.sha1(data).hexdigest()
    out = io.BytesIO()
    b.download_file_by_name("dir/file one.bin").save(out)
    assert out.getvalue() == data
    out = io.BytesIO()
    api.download_file_by_id(info.id_).save(out)
    assert out.getvalue() == data
    got = api.get_file_info(info.id_)
    assert got.file_info == {"author": "ada"} and got.content_type == "application/x-test", got.as_dict()


@check("small uploads, b2/x-auto content types, listing with folders")
def _():
    b = state["bucket"]
    for name in ["a/1.txt", "a/2.txt", "b.json", "c.txt"]:
        b.upload_bytes(name.encode(), name, content_type="b2/x-auto")
    names = [fv.file_name for fv, _ in b.ls(recursive=True)]
    raw = [f["fileName"] for f in api.session.list_file_names(b.id_, None, 1000, None)["files"]]
    assert names == ["a/1.txt", "a/2.txt", "b.json", "c.txt", "dir/file one.bin"], (names, raw)
    top = [folder or fv.file_name for fv, folder in b.ls()]
    assert top == ["a/", "b.json", "c.txt", "dir/"], top
    assert api.get_file_info_by_name("sdk-test-bucket", "b.json").content_type == "application/json"


@check("private bucket: download authorizations by prefix, in the Authorization query parameter")
def _():
    b = state["bucket"]
    token = b.get_download_authorization("a/", 60)
    url = f"{ENDPOINT}/file/sdk-test-bucket/a/1.txt?Authorization={token}"
    assert urllib.request.urlopen(url).read() == b"a/1.txt"
    for path in ["c.txt?Authorization=" + token, "a/1.txt"]:
        try:
            urllib.request.urlopen(f"{ENDPOINT}/file/sdk-test-bucket/{path}")
            raise AssertionError(f"{path} was readable")
        except urllib.error.HTTPError as e:
            assert e.code == 401, e.code


@check("hide and delete file versions")
def _():
    b = state["bucket"]
    b.hide_file("c.txt")
    assert "c.txt" not in [fv.file_name for fv, _ in b.ls(recursive=True)]
    info = state["info"]
    api.delete_file_version(info.id_, info.file_name)
    try:
        api.get_file_info(info.id_)
        raise AssertionError("still there")
    except FileNotPresent:
        pass


@check("a wrong SHA1 stores nothing")
def _():
    b = state["bucket"]
    req = urllib.request.Request(
        b.api.session.get_upload_url(b.id_)["uploadUrl"], data=b"payload", method="POST",
        headers={"Authorization": b.api.session.get_upload_url(b.id_)["authorizationToken"],
                 "X-Bz-File-Name": "wrong.txt", "Content-Type": "text/plain",
                 "X-Bz-Content-Sha1": "0" * 40})
    try:
        urllib.request.urlopen(req)
        raise AssertionError("accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and b"bad_request" in e.read()
    assert "wrong.txt" not in [fv.file_name for fv, _ in b.ls(recursive=True)]


@check("do_not_verify: the SHA1 is reported as unverified:<sha1>")
def _():
    b = state["bucket"]
    up = api.session.get_upload_url(b.id_)
    st, body, _ = raw("POST", up["uploadUrl"].split(ENDPOINT, 1)[1], b"trust me", {
        "Authorization": up["authorizationToken"], "X-Bz-File-Name": "unverified.txt", "Content-Type": "text/plain",
        "X-Bz-Content-Sha1": "do_not_verify"})
    expect = "unverified:" + hashlib.sha1(b"trust me").hexdigest()
    assert st == 200 and body["contentSha1"] == expect, (st, body)
    info = api.get_file_info(body["fileId"])
    assert info.content_sha1 == hashlib.sha1(b"trust me").hexdigest() and info.content_sha1_verified is False


@check("update the bucket: public, new rules, revision conflict")
def _():
    b = state["bucket"]
    rev = api.get_bucket_by_name("sdk-test-bucket").revision
    b.update(bucket_type="allPublic", cors_rules=[dict(SEED_RULE, allowedOrigins=["*"])], if_revision_is=rev)
    back = api.get_bucket_by_name("sdk-test-bucket")
    assert back.type_ == "allPublic" and back.revision == rev + 1
    assert urllib.request.urlopen(f"{ENDPOINT}/file/sdk-test-bucket/a/2.txt").read() == b"a/2.txt"
    try:
        b.update(bucket_type="allPrivate", if_revision_is=rev)
        raise AssertionError("stale revision accepted")
    except B2Error as e:
        assert "conflict" in str(e).lower() or "revision" in str(e).lower(), e


@check("errors: unknown bucket, bad token")
def _():
    try:
        api.get_bucket_by_name("no-such-bucket-here")
        raise AssertionError("found")
    except NonExistentBucket:
        pass
    req = urllib.request.Request(f"{ENDPOINT}/b2api/v4/b2_list_buckets", data=b'{"accountId":"pier"}',
                                 method="POST", headers={"Authorization": "pier1.bogus.token"})
    try:
        urllib.request.urlopen(req)
        raise AssertionError("accepted")
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        assert e.code == 401 and '"code":"bad_auth_token"' in body.replace(" ", ""), body


@check("large file: start, part URLs, upload parts, list parts, finish (no copy); cancel; unfinished list")
def _():
    b = state["bucket"]
    s = api.session
    part1, part2 = os.urandom(5_000_000), os.urandom(123_456)
    start = s.start_large_file(b.id_, "large/video.bin", "application/x-video", {"src": "test"})
    fid = start["fileId"]
    assert start["action"] == "start"
    assert [f["fileId"] for f in s.list_unfinished_large_files(b.id_)["files"]] == [fid]
    for n, data in [(1, part1), (2, part2)]:
        url = s.get_upload_part_url(fid)
        s.upload_part(fid, n, len(data), hashlib.sha1(data).hexdigest(), io.BytesIO(data))
    parts = s.list_parts(fid, 1, 100)["parts"]
    assert [p["partNumber"] for p in parts] == [1, 2]
    try:
        s.finish_large_file(fid, [hashlib.sha1(part2).hexdigest(), hashlib.sha1(part1).hexdigest()])
        raise AssertionError("wrong SHA1s accepted")
    except B2Error as e:
        assert "part_sha1_mismatch" in repr(e) or "wrong SHA1" in str(e), repr(e)
    done = s.finish_large_file(fid, [hashlib.sha1(part1).hexdigest(), hashlib.sha1(part2).hexdigest()])
    assert done["contentLength"] == len(part1) + len(part2)
    out = io.BytesIO()
    b.download_file_by_name("large/video.bin").save(out)
    assert out.getvalue() == part1 + part2
    other = s.start_large_file(b.id_, "large/abandoned.bin", "b2/x-auto", {})
    s.cancel_large_file(other["fileId"])
    assert s.list_unfinished_large_files(b.id_)["files"] == []


@check("copy a file (and a byte range) into another name")
def _():
    b = state["bucket"]
    src = b.upload_bytes(b"0123456789", "copy/src.txt", content_type="text/plain")
    b.copy(src.id_, "copy/dst.txt")
    out = io.BytesIO()
    b.download_file_by_name("copy/dst.txt").save(out)
    assert out.getvalue() == b"0123456789"
    b.copy(src.id_, "copy/part.txt", offset=2, length=3)
    out = io.BytesIO()
    b.download_file_by_name("copy/part.txt").save(out)
    assert out.getvalue() == b"234", out.getvalue()


@check("bad input: missing fields, wrong types, bad JSON, long names, expired and misused tokens")
def _():
    token = api.account_info.get_account_auth_token()
    auth = {"Authorization": token}
    st, body, _ = raw("POST", "/b2api/v4/b2_create_bucket", {"accountId": "pier", "bucketType": "allPrivate"}, auth)
    assert isinstance(body, dict), (st, body)
    assert (st, body["code"]) == (400, "bad_request") and "bucketName" in body["message"] and body["status"] == 400, body
    st, body, _ = raw("POST", "/b2api/v4/b2_create_bucket", {"accountId": "pier", "bucketName": 42, "bucketType": "allPrivate"}, auth)
    assert st == 400 and body["message"].startswith("bucketName: invalid type") and "string" in body["message"], body
    st, body, _ = raw("POST", "/b2api/v4/b2_list_buckets", b"{not json", auth)
    assert (st, body["code"]) == (400, "bad_json"), body
    st, body, _ = raw("POST", "/b2api/v4/b2_list_file_names", {"bucketId": state["bucket"].id_, "maxFileCount": 0}, auth)
    assert (st, body["code"]) == (400, "out_of_range"), body
    st, body, _ = raw("POST", "/b2api/v4/b2_list_buckets", {"accountId": "pier"}, {})
    assert (st, body["code"]) == (401, "bad_auth_token"), body
    b = state["bucket"]
    up = api.session.get_upload_url(b.id_)
    name = "x" * 1025
    st, body, _ = raw("POST", up["uploadUrl"].split(ENDPOINT, 1)[1], b"data", {
        "Authorization": up["authorizationToken"], "X-Bz-File-Name": name, "Content-Type": "text/plain",
        "X-Bz-Content-Sha1": hashlib.sha1(b"data").hexdigest()})
    assert st == 400 and "1 to 1024 bytes" in body["message"], body
    st, body, _ = raw("POST", up["uploadUrl"].split(ENDPOINT, 1)[1], b"data", {
        "Authorization": up["authorizationToken"], "X-Bz-File-Name": "bad%FF%FEname", "Content-Type": "text/plain",
        "X-Bz-Content-Sha1": hashlib.sha1(b"data").hexdigest()})
    assert st == 400 and "not percent-encoded UTF-8" in body["message"], body
    other = api.create_bucket("sdk-other-bucket", "allPrivate")
    st, body, _ = raw("POST", f"/b2api/v4/b2_upload_file/{other.id_}", b"data", {
        "Authorization": up["authorizationToken"], "X-Bz-File-Name": "a.txt", "Content-Type": "text/plain",
        "X-Bz-Content-Sha1": hashlib.sha1(b"data").hexdigest()})
    assert (st, body["code"]) == (401, "unauthorized"), body
    other.upload_bytes(b"secret", "a/secret.txt")
    dl = b.get_download_authorization("a/", 60)
    st, body, _ = raw("GET", f"/file/sdk-other-bucket/a/secret.txt?Authorization={dl}")
    assert st == 401, (st, body)
    short = other.get_download_authorization("a/", 1)
    st, _, _ = raw("GET", f"/file/sdk-other-bucket/a/secret.txt?Authorization={short}")
    assert st == 200, st
    __import__("time").sleep(2.1)
    st, body, _ = raw("GET", f"/file/sdk-other-bucket/a/secret.txt?Authorization={short}")
    assert isinstance(body, dict) and (st, body["code"]) == (401, "expired_auth_token"), (st, body)


@check("B2 preflights: refused as B2 JSON 403; an account token in the query is refused")
def _():
    b = state["bucket"]
    origin = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    b.update(bucket_type="allPrivate", cors_rules=[SEED_RULE])
    __import__("time").sleep(1.1)
    st, body, hdrs = raw("OPTIONS", "/file/sdk-test-bucket/a/1.txt", headers=origin)
    assert st == 200 and hdrs.get("access-control-allow-origin") == "https://app.example.com", (st, body, hdrs)
    st, body, _ = raw("OPTIONS", "/file/sdk-test-bucket/a/1.txt", headers=dict(origin, Origin="http://app.example.com"))
    assert st == 403 and body["status"] == 403 and body["code"] == "access_denied", body
    token = api.account_info.get_account_auth_token()
    st, body, _ = raw("OPTIONS", f"/file/sdk-test-bucket/a/1.txt?Authorization={token}", headers=origin)
    assert st == 403 and "account authorization token" in body["message"], body
    dl = b.get_download_authorization("a/", 60)
    st, _, _ = raw("OPTIONS", f"/file/sdk-test-bucket/a/1.txt?Authorization={dl}", headers=origin)
    assert st == 200
    st, body, _ = raw("OPTIONS", "/b2api/v4/b2_list_buckets", headers=origin)
    assert st == 403 and "only downloads and uploads" in body["message"], body


finish()
