"""Object lock as S3 and B2 users drive it: boto3 sets bucket lock, retention and legal holds and
is refused deletions AWS refuses; b2sdk sees and changes the same state as fileRetention and
legalHold, and is refused the same deletions.

Environment: PIER_ENDPOINT and AWS_* (the admin key). Prints one line per check and a summary;
exits non-zero on failure.
"""

import datetime
import io
import os

from b2sdk.v2 import B2Api, InMemoryAccountInfo
from b2sdk.v2 import (BucketRetentionSetting, FileRetentionSetting, LegalHold, RetentionMode,
                      RetentionPeriod)
from b2sdk.v2.exception import AccessDenied, B2Error
from checks import check, error_status as error, finish, s3_client

ENDPOINT = os.environ["PIER_ENDPOINT"]
s3 = s3_client()
api = B2Api(InMemoryAccountInfo())
api.authorize_account(realm=ENDPOINT, application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                      application_key=os.environ["AWS_SECRET_ACCESS_KEY"])

UTC = datetime.timezone.utc
FAR = datetime.datetime(2090, 1, 1, tzinfo=UTC)
NEARER = datetime.datetime(2089, 1, 1, tzinfo=UTC)
state = {}


@check("a bucket created with object lock has versioning on and cannot suspend it")
def _():
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="locked")["Status"] == "Enabled"
    got = error(s3.put_bucket_versioning, Bucket="locked",
                VersioningConfiguration={"Status": "Suspended"})
    assert got == (409, "InvalidBucketState"), got


@check("object lock on an unversioned bucket is InvalidBucketState; without any, 404")
def _():
    s3.create_bucket(Bucket="plain")
    conf = {"ObjectLockEnabled": "Enabled"}
    got = error(s3.put_object_lock_configuration, Bucket="plain", ObjectLockConfiguration=conf)
    assert got == (409, "InvalidBucketState"), got
    got = error(s3.get_object_lock_configuration, Bucket="plain")
    assert got == (404, "ObjectLockConfigurationNotFoundError"), got


@check("a default retention is stored, returned, and validated as AWS does")
def _():
    conf = {"ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}}
    s3.put_object_lock_configuration(Bucket="locked", ObjectLockConfiguration=conf)
    got = s3.get_object_lock_configuration(Bucket="locked")["ObjectLockConfiguration"]
    assert got == conf, got
    bad = {"ObjectLockEnabled": "Enabled",
           "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}}
    got = error(s3.put_object_lock_configuration, Bucket="locked", ObjectLockConfiguration=bad)
    assert got == (400, "InvalidRetentionPeriod"), got
    both = {"ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}}
    got = error(s3.put_object_lock_configuration, Bucket="locked", ObjectLockConfiguration=both)
    assert got == (400, "MalformedXML"), got


@check("an upload gets the default retention, shown on HEAD")
def _():
    put = s3.put_object(Bucket="locked", Key="by-default", Body=b"x")
    head = s3.head_object(Bucket="locked", Key="by-default")
    assert head["ObjectLockMode"] == "GOVERNANCE", head
    until = head["ObjectLockRetainUntilDate"]
    now = datetime.datetime.now(UTC)
    assert datetime.timedelta(days=1, hours=23) < until - now <= datetime.timedelta(days=2), until
    state["by-default"] = put["VersionId"]


@check("governance retention refuses deleting the version unless bypassed")
def _():
    vid = state["by-default"]
    got = error(s3.delete_object, Bucket="locked", Key="by-default", VersionId=vid)
    assert got == (403, "AccessDenied"), got
    # A delete without a version id only adds a marker: allowed.
    marker = s3.delete_object(Bucket="locked", Key="by-default")
    assert marker["DeleteMarker"], marker
    s3.delete_object(Bucket="locked", Key="by-default", VersionId=vid,
                     BypassGovernanceRetention=True)
    versions = s3.list_object_versions(Bucket="locked", Prefix="by-default").get("Versions", [])
    assert versions == [], versions


@check("an upload naming compliance retention and a legal hold keeps them")
def _():
    put = s3.put_object(Bucket="locked", Key="kept", Body=b"k", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=FAR, ObjectLockLegalHoldStatus="ON")
    got = s3.get_object_retention(Bucket="locked", Key="kept")["Retention"]
    assert got == {"Mode": "COMPLIANCE", "RetainUntilDate": FAR}, got
    assert s3.get_object_legal_hold(Bucket="locked", Key="kept")["LegalHold"] == {"Status": "ON"}
    state["kept"] = put["VersionId"]


@check("compliance retention can be lengthened but not shortened, even with bypass")
def _():
    got = error(s3.put_object_retention, Bucket="locked", Key="kept",
                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": NEARER},
                BypassGovernanceRetention=True)
    assert got == (403, "AccessDenied"), got
    later = datetime.datetime(2091, 1, 1, tzinfo=UTC)
    s3.put_object_retention(Bucket="locked", Key="kept",
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    got = s3.get_object_retention(Bucket="locked", Key="kept")["Retention"]["RetainUntilDate"]
    assert got == later, got
    state["until"] = later


@check("DeleteObjects reports a held version as AccessDenied and deletes the others")
def _():
    free = s3.put_object(Bucket="locked", Key="free", Body=b"f", ObjectLockMode="GOVERNANCE",
                         ObjectLockRetainUntilDate=FAR)
    out = s3.delete_objects(Bucket="locked", BypassGovernanceRetention=True, Delete={"Objects": [
        {"Key": "kept", "VersionId": state["kept"]},
        {"Key": "free", "VersionId": free["VersionId"]}]})
    assert [d["Key"] for d in out["Deleted"]] == ["free"], out
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("kept", "AccessDenied")], out


@check("retention or a legal hold on a bucket without object lock is InvalidRequest")
def _():
    got = error(s3.put_object, Bucket="plain", Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                ObjectLockRetainUntilDate=FAR)
    assert got == (400, "InvalidRequest"), got
    s3.put_object(Bucket="plain", Key="k", Body=b"x")
    got = error(s3.put_object_legal_hold, Bucket="plain", Key="k", LegalHold={"Status": "ON"})
    assert got == (400, "InvalidRequest"), got


@check("b2sdk sees the S3 retention and legal hold as fileRetention and legalHold")
def _():
    bucket = api.get_bucket_by_name("locked")
    assert bucket.is_file_lock_enabled, bucket
    assert bucket.default_retention == BucketRetentionSetting(
        RetentionMode.GOVERNANCE, RetentionPeriod(days=2)), bucket.default_retention
    info = bucket.get_file_info_by_id(state["kept"])
    until_ms = int(state["until"].timestamp() * 1000)
    assert info.file_retention == FileRetentionSetting(RetentionMode.COMPLIANCE, until_ms), \
        info.file_retention
    assert info.legal_hold == LegalHold.ON, info.legal_hold


@check("b2_delete_file_version of a held version is access_denied, even with bypass")
def _():
    bucket = api.get_bucket_by_name("locked")
    try:
        bucket.delete_file_version(state["kept"], "kept", bypass_governance=True)
    except AccessDenied:
        pass
    else:
        raise AssertionError("deleted a version under compliance retention")


@check("b2sdk uploads with governance retention; S3 sees it; bypass deletes it")
def _():
    bucket = api.get_bucket_by_name("locked")
    until_ms = int(FAR.timestamp() * 1000)
    fv = bucket.upload_bytes(b"b2", "from-b2", file_retention=FileRetentionSetting(
        RetentionMode.GOVERNANCE, until_ms), legal_hold=LegalHold.OFF)
    head = s3.head_object(Bucket="locked", Key="from-b2", VersionId=fv.id_)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", FAR), head
    try:
        bucket.delete_file_version(fv.id_, "from-b2")
    except AccessDenied:
        pass
    else:
        raise AssertionError("deleted a version under governance retention without bypass")
    bucket.delete_file_version(fv.id_, "from-b2", bypass_governance=True)


@check("b2_update_file_legal_hold and b2_update_file_retention change what S3 reads")
def _():
    bucket = api.get_bucket_by_name("locked")
    fv = bucket.upload_bytes(b"h", "held")
    api.update_file_legal_hold(fv.id_, "held", LegalHold.ON)
    assert s3.get_object_legal_hold(Bucket="locked", Key="held")["LegalHold"]["Status"] == "ON"
    api.update_file_legal_hold(fv.id_, "held", LegalHold.OFF)
    until_ms = int(NEARER.timestamp() * 1000)
    api.update_file_retention(fv.id_, "held", FileRetentionSetting(
        RetentionMode.GOVERNANCE, until_ms), bypass_governance=True)
    got = s3.get_object_retention(Bucket="locked", Key="held")["Retention"]
    assert got == {"Mode": "GOVERNANCE", "RetainUntilDate": NEARER}, got


@check("b2 buckets are created with file lock and a default retention")
def _():
    bucket = api.create_bucket("sdk-locked", "allPrivate", is_file_lock_enabled=True)
    assert bucket.is_file_lock_enabled, bucket
    bucket.update(default_retention=BucketRetentionSetting(
        RetentionMode.COMPLIANCE, RetentionPeriod(years=1)))
    got = s3.get_object_lock_configuration(Bucket="sdk-locked")["ObjectLockConfiguration"]
    assert got["Rule"]["DefaultRetention"] == {"Mode": "COMPLIANCE", "Years": 1}, got
    try:
        api.get_bucket_by_name("sdk-locked").update(is_file_lock_enabled=False)
    except B2Error as e:
        assert "DisablingFileLockNotSupported" in type(e).__name__, repr(e)
    else:
        raise AssertionError("file lock was turned off")


finish()
