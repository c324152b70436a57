"""File versions, hide markers and lifecycle rules through b2sdk, as a B2 user drives them,
and the same history seen through S3 (boto3).

Environment: PIER_ENDPOINT and AWS_* (the admin key). Prints one line per check and a summary;
exits non-zero on failure.
"""

import io
import os

import boto3
from b2sdk.v2 import B2Api, InMemoryAccountInfo
from b2sdk.v2.exception import B2Error, FileAlreadyHidden, FileNotPresent
from botocore.config import Config
from checks import check, finish

ENDPOINT = os.environ["PIER_ENDPOINT"]
api = B2Api(InMemoryAccountInfo())
api.authorize_account(realm=ENDPOINT, application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                      application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
s3 = boto3.client("s3", endpoint_url=ENDPOINT,
                  config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


def download(file_id):
    out = io.BytesIO()
    bucket.download_file_by_id(file_id).save(out)
    return out.getvalue()


def latest_names():
    return [fv.file_name for fv, _ in bucket.ls(recursive=True)]


bucket = api.create_bucket("sdk-versions", "allPrivate")
state = {}


@check("every upload is a new version, listed newest first")
def _():
    ids = [bucket.upload_bytes(f"v{n}".encode(), "a.txt").id_ for n in range(3)]
    listed = [fv.id_ for fv in bucket.list_file_versions("a.txt")]
    assert listed == ids[::-1], (listed, ids)
    every = [fv.id_ for fv, _ in bucket.ls(latest_only=False, recursive=True)]
    assert every == ids[::-1], every
    state["ids"] = ids


@check("b2_hide_file adds a hide marker and keeps the versions")
def _():
    marker = bucket.hide_file("a.txt")
    assert marker.action == "hide", marker
    assert "a.txt" not in latest_names()
    listed = list(bucket.list_file_versions("a.txt"))
    assert [fv.action for fv in listed] == ["hide", "upload", "upload", "upload"], listed
    state["marker"] = marker.id_


@check("hiding a hidden file is already_hidden; hiding a missing one no_such_file")
def _():
    try:
        bucket.hide_file("a.txt")
        raise AssertionError("hidden twice")
    except FileAlreadyHidden:
        pass
    try:
        bucket.hide_file("never-uploaded.txt")
        raise AssertionError("hid nothing")
    except B2Error as e:
        assert "no_such_file" in repr(e) or "not present" in str(e), repr(e)


@check("a hide marker is an S3 delete marker with the same id")
def _():
    listed = s3.list_object_versions(Bucket="sdk-versions", Prefix="a.txt")
    assert [m["VersionId"] for m in listed["DeleteMarkers"]] == [state["marker"]], listed
    assert [v["VersionId"] for v in listed["Versions"]] == state["ids"][::-1]
    assert s3.get_bucket_versioning(Bucket="sdk-versions")["Status"] == "Enabled"


@check("deleting the hide marker unhides the file")
def _():
    api.delete_file_version(state["marker"], "a.txt")
    assert "a.txt" in latest_names()
    assert download(state["ids"][2]) == b"v2"


@check("b2_download_file_by_id and b2_get_file_info reach an old version")
def _():
    old = state["ids"][0]
    assert download(old) == b"v0"
    info = api.get_file_info(old)
    assert (info.file_name, info.size) == ("a.txt", 2), info


@check("b2_copy_file copies an old version")
def _():
    copied = bucket.copy(state["ids"][1], "copy-of-v1.txt")
    assert download(copied.id_) == b"v1"


@check("b2_delete_file_version deletes one version; the others stay")
def _():
    api.delete_file_version(state["ids"][2], "a.txt", bypass_governance=True)
    assert [fv.id_ for fv in bucket.list_file_versions("a.txt")] == state["ids"][1::-1]
    try:
        api.get_file_info(state["ids"][2])
        raise AssertionError("still there")
    except FileNotPresent:
        pass


@check("b2_list_file_versions pages with startFileName and startFileId")
def _():
    for name in ["p/1", "p/2", "p/3"]:
        for n in range(2):
            bucket.upload_bytes(b"x", name)
    want = [(fv.file_name, fv.id_) for fv, _ in bucket.ls("p", latest_only=False, recursive=True)]
    assert len(want) == 6, want
    got, start_name, start_id = [], None, None
    while True:
        page = api.session.list_file_versions(bucket.id_, start_name, start_id, 4, "p/")
        got += [(f["fileName"], f["fileId"]) for f in page["files"]]
        if page["nextFileName"] is None:
            break
        start_name, start_id = page["nextFileName"], page["nextFileId"]
    assert got == want, (got, want)


@check("lifecycle rules are set and read back")
def _():
    rules = [{"fileNamePrefix": "logs/", "daysFromHidingToDeleting": 30, "daysFromUploadingToHiding": None},
             {"fileNamePrefix": "tmp/", "daysFromHidingToDeleting": 1, "daysFromUploadingToHiding": 7,
              "daysFromStartingToCancelingUnfinishedLargeFiles": 2}]
    bucket.update(lifecycle_rules=rules)
    got = api.get_bucket_by_name("sdk-versions").lifecycle_rules
    assert sorted(got, key=lambda r: r["fileNamePrefix"])[0]["daysFromHidingToDeleting"] == 30, got
    by_prefix = {r["fileNamePrefix"]: r for r in got}
    assert by_prefix["tmp/"]["daysFromStartingToCancelingUnfinishedLargeFiles"] == 2, got
    # The same rules in S3's terms.
    s3_rules = {r["Filter"]["Prefix"]: r for r in
                s3.get_bucket_lifecycle_configuration(Bucket="sdk-versions")["Rules"]}
    assert s3_rules["logs/"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30, s3_rules
    assert s3_rules["tmp/"]["Expiration"] == {"Days": 7}, s3_rules


@check("invalid lifecycle rules are refused as B2 refuses them")
def _():
    for rules, word in [([{"fileNamePrefix": "a", "daysFromHidingToDeleting": 0}], "positive"),
                        ([{"fileNamePrefix": "a"}], "does nothing"),
                        ([{"fileNamePrefix": "photos/", "daysFromHidingToDeleting": 1},
                          {"fileNamePrefix": "photos/kittens/", "daysFromHidingToDeleting": 2}], "same files")]:
        try:
            bucket.update(lifecycle_rules=rules)
            raise AssertionError(f"accepted {rules}")
        except B2Error as e:
            assert word in str(e), (word, str(e))


@check("an S3-only lifecycle rule is hidden from B2 and B2 cannot silently replace it")
def _():
    s3.put_bucket_lifecycle_configuration(Bucket="sdk-versions", LifecycleConfiguration={"Rules": [
        {"ID": "keep-two", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 5, "NewerNoncurrentVersions": 2}},
        {"ID": "plain", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 3}}]})
    got = api.get_bucket_by_name("sdk-versions").lifecycle_rules
    assert [r["fileNamePrefix"] for r in got] == ["tmp/"], got
    try:
        bucket.update(lifecycle_rules=[])
        raise AssertionError("replaced")
    except B2Error as e:
        assert "keep-two" in str(e) and "noncurrent versions" in str(e), str(e)


finish()
