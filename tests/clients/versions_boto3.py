"""Object versions and lifecycle configuration through boto3, as an S3 user drives them.

Environment: PIER_ENDPOINT and AWS_* (the admin key). Prints one line per check and a summary;
exits non-zero on failure.
"""

import os

from checks import check, error_response as error_of, finish, s3_client

ENDPOINT = os.environ["PIER_ENDPOINT"]
s3 = s3_client()


def enable(bucket, status="Enabled"):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def body(bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


state = {}
s3.create_bucket(Bucket="vers")


@check("a new bucket is unversioned: no status, no version ids")
def _():
    assert "Status" not in s3.get_bucket_versioning(Bucket="vers")
    out = s3.put_object(Bucket="vers", Key="plain", Body=b"p")
    assert "VersionId" not in out, out
    assert "VersionId" not in s3.head_object(Bucket="vers", Key="plain")
    listed = s3.list_object_versions(Bucket="vers")["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed] == [("plain", "null", True)], listed


@check("with versioning enabled every put is a new version, listed newest first")
def _():
    enable("vers")
    assert s3.get_bucket_versioning(Bucket="vers")["Status"] == "Enabled"
    ids = [s3.put_object(Bucket="vers", Key="doc", Body=f"v{n}".encode())["VersionId"] for n in range(3)]
    assert len(set(ids)) == 3 and "null" not in ids
    listed = [v for v in s3.list_object_versions(Bucket="vers", Prefix="doc")["Versions"]]
    assert [v["VersionId"] for v in listed] == ids[::-1], listed
    assert [v["IsLatest"] for v in listed] == [True, False, False]
    state["doc"] = ids


@check("GET and HEAD by version id; NoSuchVersion; a malformed id is InvalidArgument")
def _():
    ids = state["doc"]
    assert body("vers", "doc", VersionId=ids[0]) == b"v0"
    head = s3.head_object(Bucket="vers", Key="doc", VersionId=ids[1])
    assert head["VersionId"] == ids[1] and head["ContentLength"] == 2
    assert s3.get_object(Bucket="vers", Key="doc")["VersionId"] == ids[2]
    e = error_of(lambda: s3.get_object(Bucket="vers", Key="doc", VersionId="0" * 32))
    assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("NoSuchVersion", 404), e
    e = error_of(lambda: s3.get_object(Bucket="vers", Key="doc", VersionId="not-an-id"))
    assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidArgument", 400), e


@check("DELETE adds a delete marker: GET is 404 and GET of the marker 405, both marked")
def _():
    out = s3.delete_object(Bucket="vers", Key="doc")
    assert out["DeleteMarker"] is True and out["VersionId"], out
    marker = out["VersionId"]
    state["marker"] = marker
    e = error_of(lambda: s3.get_object(Bucket="vers", Key="doc"))
    headers = e["ResponseMetadata"]["HTTPHeaders"]
    assert e["Error"]["Code"] == "NoSuchKey", e
    assert headers.get("x-amz-delete-marker") == "true" and headers.get("x-amz-version-id") == marker, headers
    e = error_of(lambda: s3.get_object(Bucket="vers", Key="doc", VersionId=marker))
    assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("MethodNotAllowed", 405), e
    assert e["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    e = error_of(lambda: s3.head_object(Bucket="vers", Key="doc", VersionId=marker))
    assert e["ResponseMetadata"]["HTTPStatusCode"] == 405, e
    listed = s3.list_object_versions(Bucket="vers", Prefix="doc")
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker, True)]
    assert not any(v["IsLatest"] for v in listed["Versions"])
    assert "doc" not in [o["Key"] for o in s3.list_objects_v2(Bucket="vers").get("Contents", [])]


@check("deleting the marker by version id brings the object back")
def _():
    out = s3.delete_object(Bucket="vers", Key="doc", VersionId=state["marker"])
    assert out["DeleteMarker"] is True and out["VersionId"] == state["marker"], out
    assert body("vers", "doc") == b"v2"


@check("deleting a version for good promotes the one before it")
def _():
    ids = state["doc"]
    out = s3.delete_object(Bucket="vers", Key="doc", VersionId=ids[2])
    assert out["VersionId"] == ids[2] and "DeleteMarker" not in out, out
    assert body("vers", "doc") == b"v1"
    e = error_of(lambda: s3.get_object(Bucket="vers", Key="doc", VersionId=ids[2]))
    assert e["Error"]["Code"] == "NoSuchVersion", e


@check("ListObjectVersions pages with key and version-id markers, and rolls up prefixes")
def _():
    s3.create_bucket(Bucket="pages")
    enable("pages")
    expected = []
    for key in ["a/1", "a/2", "b", "c", "d/e/f"]:
        for n in range(3):
            expected.append((key, s3.put_object(Bucket="pages", Key=key, Body=b"x")["VersionId"]))
    s3.delete_object(Bucket="pages", Key="c")
    # Newest first within a key.
    by_key = {}
    for key, vid in expected:
        by_key.setdefault(key, []).insert(0, vid)
    marker_id = s3.list_object_versions(Bucket="pages", Prefix="c")["DeleteMarkers"][0]["VersionId"]
    by_key["c"].insert(0, marker_id)
    want = [(k, v) for k in sorted(by_key) for v in by_key[k]]
    got, kw = [], {}
    while True:
        page = s3.list_object_versions(Bucket="pages", MaxKeys=4, **kw)
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(entries) <= 4
        entries.sort(key=lambda e: (e["Key"], [v for k, v in want if k == e["Key"]].index(e["VersionId"])))
        got += [(e["Key"], e["VersionId"]) for e in entries]
        if not page["IsTruncated"]:
            break
        kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert got == want, (got, want)
    rolled = s3.list_object_versions(Bucket="pages", Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/", "d/"], rolled
    paginated = sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", []))
                    for p in s3.get_paginator("list_object_versions").paginate(
                        Bucket="pages", PaginationConfig={"PageSize": 2}))
    assert paginated == len(want), paginated


@check("null versions: suspended puts replace the null version and keep the others")
def _():
    s3.create_bucket(Bucket="nulls")
    s3.put_object(Bucket="nulls", Key="k", Body=b"null one")
    enable("nulls")
    kept = s3.put_object(Bucket="nulls", Key="k", Body=b"versioned")["VersionId"]
    enable("nulls", "Suspended")
    assert s3.get_bucket_versioning(Bucket="nulls")["Status"] == "Suspended"
    out = s3.put_object(Bucket="nulls", Key="k", Body=b"null two")
    assert "VersionId" not in out, out
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket="nulls")["Versions"]]
    assert ids == ["null", kept], ids
    assert body("nulls", "k", VersionId="null") == b"null two"
    out = s3.delete_object(Bucket="nulls", Key="k")
    assert out["DeleteMarker"] is True and out["VersionId"] == "null", out
    listed = s3.list_object_versions(Bucket="nulls")
    assert [m["VersionId"] for m in listed["DeleteMarkers"]] == ["null"]
    assert [v["VersionId"] for v in listed["Versions"]] == [kept]
    e = error_of(lambda: s3.put_bucket_versioning(Bucket="nulls", VersioningConfiguration={"Status": "Off"}))
    assert e["Error"]["Code"] == "MalformedXML", e


@check("DeleteObjects deletes named versions and adds markers for the rest")
def _():
    s3.create_bucket(Bucket="batch")
    enable("batch")
    v1 = s3.put_object(Bucket="batch", Key="one", Body=b"1")["VersionId"]
    s3.put_object(Bucket="batch", Key="two", Body=b"2")
    out = s3.delete_objects(Bucket="batch", Delete={"Objects": [
        {"Key": "one", "VersionId": v1}, {"Key": "two"}, {"Key": "three", "VersionId": "bad"}]})
    deleted = {d["Key"]: d for d in out["Deleted"]}
    assert deleted["one"]["VersionId"] == v1 and "DeleteMarker" not in deleted["one"], deleted
    assert deleted["two"]["DeleteMarker"] is True and deleted["two"]["DeleteMarkerVersionId"], deleted
    assert [e["Code"] for e in out["Errors"]] == ["InvalidArgument"], out
    assert "Versions" not in s3.list_object_versions(Bucket="batch", Prefix="one")


@check("CopyObject and UploadPartCopy read an old version")
def _():
    ids = state["doc"]
    out = s3.copy_object(Bucket="vers", Key="copied", CopySource={"Bucket": "vers", "Key": "doc", "VersionId": ids[0]})
    assert out["CopySourceVersionId"] == ids[0] and out["VersionId"], out
    assert body("vers", "copied") == b"v0"
    up = s3.create_multipart_upload(Bucket="vers", Key="assembled")["UploadId"]
    part = s3.upload_part_copy(Bucket="vers", Key="assembled", UploadId=up, PartNumber=1,
                               CopySource={"Bucket": "vers", "Key": "doc", "VersionId": ids[1]})
    assert part["CopySourceVersionId"] == ids[1], part
    done = s3.complete_multipart_upload(Bucket="vers", Key="assembled", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert done["VersionId"], done
    assert body("vers", "assembled") == b"v1"
    marker = s3.delete_object(Bucket="vers", Key="copied")["VersionId"]
    e = error_of(lambda: s3.copy_object(Bucket="vers", Key="again",
                                        CopySource={"Bucket": "vers", "Key": "copied", "VersionId": marker}))
    assert e["Error"]["Code"] == "InvalidRequest", e


@check("DeleteBucket aborts unfinished uploads but refuses while versions or markers remain")
def _():
    s3.create_bucket(Bucket="uploading")
    s3.create_multipart_upload(Bucket="uploading", Key="never-finished")
    s3.delete_bucket(Bucket="uploading")
    s3.create_bucket(Bucket="marked")
    enable("marked")
    s3.delete_object(Bucket="marked", Key="ghost")
    e = error_of(lambda: s3.delete_bucket(Bucket="marked"))
    assert e["Error"]["Code"] == "BucketNotEmpty", e
    for m in s3.list_object_versions(Bucket="marked")["DeleteMarkers"]:
        s3.delete_object(Bucket="marked", Key=m["Key"], VersionId=m["VersionId"])
    s3.delete_bucket(Bucket="marked")


@check("conditional writes: If-Match on no current version is 404, a wrong ETag 412")
def _():
    s3.create_bucket(Bucket="conds")
    enable("conds")
    e = error_of(lambda: s3.put_object(Bucket="conds", Key="k", Body=b"x", IfMatch="*"))
    assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("NoSuchKey", 404), e
    etag = s3.put_object(Bucket="conds", Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    e = error_of(lambda: s3.put_object(Bucket="conds", Key="k", Body=b"x", IfMatch='"badetag"'))
    assert e["Error"]["Code"] == "PreconditionFailed", e
    s3.put_object(Bucket="conds", Key="k", Body=b"two", IfMatch=etag)
    s3.delete_object(Bucket="conds", Key="k")
    e = error_of(lambda: s3.put_object(Bucket="conds", Key="k", Body=b"x", IfMatch="*"))
    assert e["Error"]["Code"] == "NoSuchKey", "a delete marker on top: no current version"
    s3.put_object(Bucket="conds", Key="k", Body=b"three", IfNoneMatch="*")


RULES = [
    {"ID": "old-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 2}},
    {"ID": "tmp", "Status": "Enabled", "Filter": {"And": {"Prefix": "tmp/"}},
     "Expiration": {"Days": 7}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}},
    {"ID": "markers", "Status": "Disabled", "Filter": {"Prefix": ""},
     "Expiration": {"ExpiredObjectDeleteMarker": True}},
    {"ID": "tagged", "Status": "Enabled", "Filter": {"And": {
        "Prefix": "t/", "Tags": [{"Key": "class", "Value": "temp"}], "ObjectSizeGreaterThan": 10}},
     "Expiration": {"Days": 30}},
]


@check("a lifecycle configuration round-trips")
def _():
    s3.put_bucket_lifecycle_configuration(Bucket="vers", LifecycleConfiguration={"Rules": RULES})
    got = s3.get_bucket_lifecycle_configuration(Bucket="vers")["Rules"]
    by_id = {r["ID"]: r for r in got}
    assert by_id["old-logs"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30, "NewerNoncurrentVersions": 2}, got
    assert by_id["tmp"]["Filter"] == {"Prefix": "tmp/"} and by_id["tmp"]["Expiration"] == {"Days": 7}, got
    assert by_id["tmp"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    assert by_id["markers"]["Status"] == "Disabled"
    assert by_id["markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert by_id["tagged"]["Filter"] == {"And": {"Prefix": "t/", "Tags": [{"Key": "class", "Value": "temp"}],
                                                 "ObjectSizeGreaterThan": 10}}, got
    s3.delete_bucket_lifecycle(Bucket="vers")
    e = error_of(lambda: s3.get_bucket_lifecycle_configuration(Bucket="vers"))
    assert e["Error"]["Code"] == "NoSuchLifecycleConfiguration", e


@check("invalid lifecycle rules are refused with the reason")
def _():
    def refused(rule, code, word):
        e = error_of(lambda: s3.put_bucket_lifecycle_configuration(
            Bucket="vers", LifecycleConfiguration={"Rules": [rule]}))
        assert e["Error"]["Code"] == code and word in e["Error"]["Message"], e
    refused({"ID": "z", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}},
            "InvalidArgument", "positive")
    refused({"ID": "t", "Status": "Enabled", "Filter": {"Tag": {"Key": "a", "Value": "b"}},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, "InvalidRequest", "Tags")
    refused({"ID": "s", "Status": "Enabled", "Filter": {"And": {
        "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 5}}, "Expiration": {"Days": 1}},
        "InvalidArgument", "ObjectSizeGreaterThan")
    refused({"ID": "g", "Status": "Enabled", "Filter": {"Prefix": ""},
             "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}, "InvalidRequest", "storage class")

finish()
