"""S3 behaviours the conformance work added, driven through boto3 so they stay covered without
running ceph's s3-tests: tagging, listing details, read details, a missing bucket.

Environment: PIER_ENDPOINT and AWS_* (the admin key). Prints one line per check and a summary;
exits non-zero on failure.
"""

import os
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from checks import check, error_response as error_of, finish, s3_client

ENDPOINT = os.environ["PIER_ENDPOINT"]
s3 = s3_client()


def tags_of(**kw):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(**kw)["TagSet"]}


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
s3.create_bucket(Bucket="tags")


@check("x-amz-tagging on PUT is stored, counted on GET and read back")
def _():
    s3.put_object(Bucket="tags", Key="a", Body=b"a", Tagging="project=pier&stage=dev%20box")
    assert tags_of(Bucket="tags", Key="a") == {"project": "pier", "stage": "dev box"}
    assert s3.get_object(Bucket="tags", Key="a")["TagCount"] == 2
    assert s3.head_object(Bucket="tags", Key="a")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"


@check("PutObjectTagging replaces the set and DeleteObjectTagging empties it")
def _():
    s3.put_object_tagging(Bucket="tags", Key="a", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    assert tags_of(Bucket="tags", Key="a") == {"only": "one"}
    s3.delete_object_tagging(Bucket="tags", Key="a")
    assert tags_of(Bucket="tags", Key="a") == {}


@check("tags over S3's limits are InvalidTag (400)")
def _():
    eleven = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    for tag_set in [eleven, [{"Key": "k" * 129, "Value": "v"}], [{"Key": "k", "Value": "v" * 257}]]:
        e = error_of(lambda: s3.put_object_tagging(Bucket="tags", Key="a", Tagging={"TagSet": tag_set}))
        assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidTag", 400), e
    e = error_of(lambda: s3.put_object(Bucket="tags", Key="b", Body=b"b",
                                       Tagging="&".join(f"k{i}=v" for i in range(11))))
    assert e["Error"]["Code"] == "InvalidTag", e
    e = error_of(lambda: s3.head_object(Bucket="tags", Key="b"))
    assert e["ResponseMetadata"]["HTTPStatusCode"] == 404, "nothing stored"


@check("copies keep the source's tags unless the directive replaces them")
def _():
    s3.put_object(Bucket="tags", Key="src", Body=b"s", Tagging="k=v")
    s3.copy_object(Bucket="tags", Key="kept", CopySource={"Bucket": "tags", "Key": "src"})
    assert tags_of(Bucket="tags", Key="kept") == {"k": "v"}
    s3.copy_object(Bucket="tags", Key="replaced", CopySource={"Bucket": "tags", "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="n=w")
    assert tags_of(Bucket="tags", Key="replaced") == {"n": "w"}


@check("multipart uploads take their tags at creation")
def _():
    up = s3.create_multipart_upload(Bucket="tags", Key="mp", Tagging="part=yes")["UploadId"]
    etag = s3.upload_part(Bucket="tags", Key="mp", UploadId=up, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket="tags", Key="mp", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert tags_of(Bucket="tags", Key="mp") == {"part": "yes"}
    # Completing again (a client's retry) answers as the first time.
    again = s3.complete_multipart_upload(Bucket="tags", Key="mp", UploadId=up,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert again["ETag"] == s3.head_object(Bucket="tags", Key="mp")["ETag"], again


@check("each version keeps its own tags")
def _():
    s3.create_bucket(Bucket="tagvers")
    s3.put_bucket_versioning(Bucket="tagvers", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="tagvers", Key="k", Body=b"1", Tagging="v=1")["VersionId"]
    s3.put_object(Bucket="tagvers", Key="k", Body=b"2", Tagging="v=2")
    out = s3.put_object_tagging(Bucket="tagvers", Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "v", "Value": "one"}]})
    assert out["VersionId"] == v1
    assert tags_of(Bucket="tagvers", Key="k", VersionId=v1) == {"v": "one"}
    assert tags_of(Bucket="tagvers", Key="k") == {"v": "2"}


@check("bucket tagging: put, get, delete, and NoSuchTagSet when none")
def _():
    e = error_of(lambda: s3.get_bucket_tagging(Bucket="tags"))
    assert e["Error"]["Code"] == "NoSuchTagSet", e
    s3.put_bucket_tagging(Bucket="tags", Tagging={"TagSet": [{"Key": "team", "Value": "storage"}]})
    assert s3.get_bucket_tagging(Bucket="tags")["TagSet"] == [{"Key": "team", "Value": "storage"}]
    s3.delete_bucket_tagging(Bucket="tags")
    e = error_of(lambda: s3.get_bucket_tagging(Bucket="tags"))
    assert e["Error"]["Code"] == "NoSuchTagSet", e


@check("listing details: empty delimiter not echoed, FetchOwner, Owner in ListObjects")
def _():
    out = s3.list_objects_v2(Bucket="tags", Delimiter="")
    assert "Delimiter" not in out, out
    assert "Owner" not in s3.list_objects_v2(Bucket="tags")["Contents"][0]
    assert "Owner" in s3.list_objects_v2(Bucket="tags", FetchOwner=True)["Contents"][0]
    assert "Owner" in s3.list_objects(Bucket="tags")["Contents"][0]
    # ListObjects v1 returns its Prefix unencoded even with encoding-type=url.
    assert s3.list_objects(Bucket="tags", Prefix="\x0a")["Prefix"] == "\x0a"
    assert s3.list_objects_v2(Bucket="tags", Prefix="\x0a")["Prefix"] == "\x0a"


@check("aws-chunked is not stored as a content encoding")
def _():
    s3.put_object(Bucket="tags", Key="gz", Body=b"x", ContentEncoding="gzip, aws-chunked")
    assert s3.head_object(Bucket="tags", Key="gz")["ContentEncoding"] == "gzip"


@check("a single-part multipart object has PartsCount 1; a 304 still carries the ETag")
def _():
    head = s3.head_object(Bucket="tags", Key="mp", PartNumber=1)
    assert head["PartsCount"] == 1, head
    etag = head["ETag"]
    e = error_of(lambda: s3.get_object(Bucket="tags", Key="mp", IfNoneMatch=etag))
    assert e["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert e["ResponseMetadata"]["HTTPHeaders"]["etag"] == etag, e


@check("an object in a bucket that does not exist is 404 NoSuchBucket, also for anonymous callers")
def _():
    import urllib.request, urllib.error
    try:
        urllib.request.urlopen(f"{ENDPOINT}/no-such-bucket-here/key")
        raise AssertionError("served")
    except urllib.error.HTTPError as e:
        body = e.read()
        assert e.code == 404 and b"NoSuchBucket" in body, e.code
        # The body's RequestId is the header's.
        rid = e.headers["x-amz-request-id"]
        assert rid and f"<RequestId>{rid}</RequestId>".encode() in body, (rid, body)


@check("ListBuckets pages with max-buckets and a continuation token, and filters by prefix")
def _():
    for name in ["page-a", "page-b", "page-c"]:
        s3.create_bucket(Bucket=name)
    seen, token = [], None
    while True:
        kw = {"MaxBuckets": 1, "Prefix": "page-"}
        if token:
            kw["ContinuationToken"] = token
        out = s3.list_buckets(**kw)
        seen += [b["Name"] for b in out["Buckets"]]
        token = out.get("ContinuationToken")
        if not token:
            break
    assert seen == ["page-a", "page-b", "page-c"], seen


@check("user metadata over 2 KB is MetadataTooLarge")
def _():
    e = error_of(lambda: s3.put_object(Bucket="tags", Key="meta", Body=b"x", Metadata={"big": "v" * 2100}))
    assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("MetadataTooLarge", 400), e
    s3.put_object(Bucket="tags", Key="meta", Body=b"x", Metadata={"fits": "v" * 1900})


@check("SigV2: boto3's s3 signer works; a skewed or bad Date is refused before the signature")
def _():
    v2 = boto3.client("s3", endpoint_url=ENDPOINT,
                      config=Config(signature_version="s3", retries={"max_attempts": 1},
                                    s3={"addressing_style": "path"}))
    v2.put_object(Bucket="tags", Key="v2", Body=b"two")
    assert v2.get_object(Bucket="tags", Key="v2")["Body"].read() == b"two"
    import http.client, urllib.parse
    u = urllib.parse.urlsplit(ENDPOINT)
    for date, code in [("Tue, 07 Jul 2010 21:53:04 GMT", "RequestTimeTooSkewed"), ("Bad Date", "AccessDenied")]:
        c = http.client.HTTPConnection(u.hostname, u.port)
        c.request("GET", "/tags/v2", headers={"Authorization": f"AWS {os.environ['AWS_ACCESS_KEY_ID']}:AAAA", "Date": date})
        r = c.getresponse()
        body = r.read().decode()
        assert r.status == 403 and f"<Code>{code}</Code>" in body, (date, r.status, body)


@check("SigV2 signs a bucket as /bucket/: boto3's s3 signer can create and delete buckets")
def _():
    v2 = boto3.client("s3", endpoint_url=ENDPOINT,
                      config=Config(signature_version="s3", retries={"max_attempts": 1},
                                    s3={"addressing_style": "path"}))
    v2.create_bucket(Bucket="sigv2-bucket")
    assert "sigv2-bucket" in [b["Name"] for b in v2.list_buckets()["Buckets"]]
    v2.delete_bucket(Bucket="sigv2-bucket")
    # Virtual-host style: a one-segment path is an object key, signed and served as such.
    import base64, email.utils, hashlib, hmac, http.client, urllib.parse
    u = urllib.parse.urlsplit(ENDPOINT)
    date = email.utils.formatdate(usegmt=True)
    to_sign = f"GET\n\n\n{date}\n/tags/v2"
    sig = base64.b64encode(hmac.new(os.environ["AWS_SECRET_ACCESS_KEY"].encode(), to_sign.encode(),
                                    hashlib.sha1).digest()).decode()
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request("GET", "/v2", headers={"Host": f"tags.localhost:{u.port}", "Date": date,
                                    "Authorization": f"AWS {os.environ['AWS_ACCESS_KEY_ID']}:{sig}"})
    r = c.getresponse()
    body = r.read()
    assert r.status == 200 and body == b"two", (r.status, body)


@check("a preflight without Access-Control-Request-Method is 400, as S3 answers")
def _():
    s3.put_bucket_cors(Bucket="tags", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    import http.client, urllib.parse
    u = urllib.parse.urlsplit(ENDPOINT)
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request("OPTIONS", "/tags/a", headers={"Origin": "https://app.example"})
    r = c.getresponse()
    r.read()
    assert r.status == 400, r.status


@check("public access block: stored, read back, and enforced on ACLs, policies and anonymous reads")
def _():
    import json, urllib.request, urllib.error
    s3.create_bucket(Bucket="blocked", ACL="public-read")
    s3.put_object(Bucket="blocked", Key="open.txt", Body=b"open", ACL="public-read")
    url = f"{ENDPOINT}/blocked/open.txt"
    assert urllib.request.urlopen(url).read() == b"open"
    e = error_of(lambda: s3.get_public_access_block(Bucket="blocked"))
    assert e["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration", e
    s3.put_public_access_block(Bucket="blocked", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": False})
    got = s3.get_public_access_block(Bucket="blocked")["PublicAccessBlockConfiguration"]
    assert got == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                   "RestrictPublicBuckets": False}, got
    try:
        urllib.request.urlopen(url)
        raise AssertionError("a public ACL is ignored now")
    except urllib.error.HTTPError as he:
        assert he.code == 403, he.code
    e = error_of(lambda: s3.put_bucket_acl(Bucket="blocked", ACL="public-read"))
    assert e["Error"]["Code"] == "AccessDenied", e
    public = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::blocked/*"}]})
    e = error_of(lambda: s3.put_bucket_policy(Bucket="blocked", Policy=public))
    assert e["Error"]["Code"] == "AccessDenied", e
    s3.delete_public_access_block(Bucket="blocked")
    assert urllib.request.urlopen(url).read() == b"open"


@check("creating a bucket you already own is a no-op 200 (us-east-1), keeping its objects")
def _():
    s3.create_bucket(Bucket="tags")
    assert s3.get_object(Bucket="tags", Key="v2")["Body"].read() == b"two"


def anonymous_form(bucket, fields, data, filename):
    """A browser form POST without a policy; returns (status, body)."""
    boundary = "----pierform"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
                 f'\r\nContent-Type: text/plain\r\n\r\n'.encode() + data + f"\r\n--{boundary}--\r\n".encode())
    req = urllib.request.Request(f"{ENDPOINT}/{bucket}", data=b"".join(parts), method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        r = urllib.request.urlopen(req)
        return r.status, r.read().decode()
    except urllib.error.HTTPError as he:
        return he.code, he.read().decode()


@check("a public-read-write bucket takes anonymous form uploads, with ${filename} and status 201")
def _():
    s3.create_bucket(Bucket="dropbox", ACL="public-read-write")
    grants = {(g["Grantee"].get("URI"), g["Permission"]) for g in s3.get_bucket_acl(Bucket="dropbox")["Grants"]}
    assert (ALL_USERS, "WRITE") in grants, grants
    status, body = anonymous_form("dropbox", {"key": "in/${filename}", "success_action_status": "201",
                                              "tagging": "<Tagging><TagSet><Tag><Key>from</Key><Value>form</Value></Tag></TagSet></Tagging>"},
                                  b"dropped", "note.txt")
    assert status == 201 and "<Key>in/note.txt</Key>" in body, (status, body)
    assert s3.get_object(Bucket="dropbox", Key="in/note.txt")["Body"].read() == b"dropped"
    assert tags_of(Bucket="dropbox", Key="in/note.txt") == {"from": "form"}


@check("a private bucket refuses anonymous form uploads, and a policy form needs its signature")
def _():
    status, body = anonymous_form("tags", {"key": "sneaky"}, b"x", "x.txt")
    assert status == 403 and "AccessDenied" in body, (status, body)
    status, body = anonymous_form("tags", {"key": "sneaky", "policy": "e30="}, b"x", "x.txt")
    assert status == 400 and "InvalidArgument" in body, (status, body)
    assert error_of(lambda: s3.head_object(Bucket="tags", Key="sneaky"))["Error"]["Code"] == "404"


def anonymous_get(bucket, key):
    try:
        return urllib.request.urlopen(f"{ENDPOINT}/{bucket}/{key}").status
    except urllib.error.HTTPError as he:
        return he.code


@check("an object's ACL is stored and returned; a public-read object is readable by anyone")
def _():
    s3.put_object(Bucket="tags", Key="shared", Body=b"s", ACL="public-read")
    grants = {(g["Grantee"].get("URI"), g["Permission"]) for g in s3.get_object_acl(Bucket="tags", Key="shared")["Grants"]}
    assert (ALL_USERS, "READ") in grants, grants
    assert anonymous_get("tags", "shared") == 200
    before = s3.head_object(Bucket="tags", Key="shared")["LastModified"]
    s3.put_object_acl(Bucket="tags", Key="shared", ACL="private")
    assert anonymous_get("tags", "shared") == 403
    assert s3.head_object(Bucket="tags", Key="shared")["LastModified"] == before
    assert len(s3.get_object_acl(Bucket="tags", Key="shared")["Grants"]) == 1


@check("grants naming another account are refused: InvalidArgument, UnresolvableGrantByEmailAddress")
def _():
    owner = s3.get_bucket_acl(Bucket="tags")["Owner"]
    def grant(grantee):
        return {"Owner": owner, "Grants": [{"Grantee": grantee, "Permission": "FULL_CONTROL"}]}
    e = error_of(lambda: s3.put_bucket_acl(Bucket="tags", AccessControlPolicy=grant({"ID": "_foo", "Type": "CanonicalUser"})))
    assert e["Error"]["Code"] == "InvalidArgument", e
    e = error_of(lambda: s3.put_object_acl(Bucket="tags", Key="shared", AccessControlPolicy=grant(
        {"EmailAddress": "nobody@example.invalid", "Type": "AmazonCustomerByEmail"})))
    assert e["Error"]["Code"] == "UnresolvableGrantByEmailAddress", e


@check("ownership controls: BucketOwnerEnforced turns ACLs off; BlockPublicAcls refuses public ones")
def _():
    s3.create_bucket(Bucket="enforced", ObjectOwnership="BucketOwnerEnforced")
    got = s3.get_bucket_ownership_controls(Bucket="enforced")["OwnershipControls"]["Rules"]
    assert got == [{"ObjectOwnership": "BucketOwnerEnforced"}], got
    e = error_of(lambda: s3.put_object(Bucket="enforced", Key="k", Body=b"x", ACL="public-read"))
    assert e["Error"]["Code"] == "AccessControlListNotSupported", e
    s3.put_object(Bucket="enforced", Key="k", Body=b"x", ACL="bucket-owner-full-control")
    s3.delete_bucket_ownership_controls(Bucket="enforced")
    e = error_of(lambda: s3.get_bucket_ownership_controls(Bucket="enforced"))
    assert e["Error"]["Code"] == "OwnershipControlsNotFoundError", e
    s3.put_public_access_block(Bucket="enforced", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    e = error_of(lambda: s3.put_object(Bucket="enforced", Key="k2", Body=b"x", ACL="public-read"))
    assert e["Error"]["Code"] == "AccessDenied", e



@check("an object stored without a Content-Type reads as binary/octet-stream, as S3 serves it")
def _():
    import http.client
    import urllib.parse
    url = urllib.parse.urlsplit(s3.generate_presigned_url(
        "put_object", Params={"Bucket": "tags", "Key": "untyped"}, ExpiresIn=300))
    c = http.client.HTTPConnection(url.hostname, url.port)
    c.request("PUT", f"{url.path}?{url.query}", body=b"raw bytes")  # http.client adds no type
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    assert s3.head_object(Bucket="tags", Key="untyped")["ContentType"] == "binary/octet-stream"
    got = s3.get_object(Bucket="tags", Key="untyped", ResponseContentType="text/plain")
    assert got["ContentType"] == "text/plain", "response-content-type still overrides it"


finish()
