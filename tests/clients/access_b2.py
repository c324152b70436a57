"""Application keys through b2sdk: a restricted key's allowed block, what it may and may not
do, keys never creating keys with more than they have, expiry.

Environment: PIER_ENDPOINT and AWS_* (the admin key). Prints one line per check and a summary.
"""

import os
import time

from b2sdk.v2 import B2Api, InMemoryAccountInfo
from b2sdk.v2.exception import B2Error
from checks import check, finish

ENDPOINT = os.environ["PIER_ENDPOINT"]
admin = B2Api(InMemoryAccountInfo())
admin.authorize_account(realm=ENDPOINT, application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                        application_key=os.environ["AWS_SECRET_ACCESS_KEY"])


def as_key(key):
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(realm=ENDPOINT, application_key_id=key.id_, application_key=key.application_key)
    return api


def refused(call, word):
    try:
        call()
    except B2Error as e:
        assert word in str(e), f"{word!r} not in {e!r}"
        return
    raise AssertionError("allowed")


photos = admin.create_bucket("scoped-photos", "allPrivate")
other = admin.create_bucket("scoped-other", "allPrivate")
other.upload_bytes(b"other", "x.txt")
key = admin.create_key(["listBuckets", "listFiles", "readFiles", "writeFiles"], "photosUploader",
                       bucket_id=photos.id_, name_prefix="public/")
api = as_key(key)


@check("b2_authorize_account reports the key's real allowed block")
def _():
    allowed = api.account_info.get_allowed()
    assert allowed["bucketId"] == photos.id_ and allowed["bucketName"] == "scoped-photos", allowed
    assert allowed["namePrefix"] == "public/", allowed
    assert sorted(allowed["capabilities"]) == ["listBuckets", "listFiles", "readFiles", "writeFiles"], allowed


@check("inside its bucket and prefix: uploads, lists and downloads work")
def _():
    b = api.get_bucket_by_name("scoped-photos")
    b.upload_bytes(b"hello", "public/a.txt")
    names = [f.file_name for f, _ in b.ls("public/")]
    assert names == ["public/a.txt"], names
    assert b.download_file_by_name("public/a.txt").response.content == b"hello"


@check("outside its prefix, another bucket, a missing capability: unauthorized with the reason")
def _():
    b = api.get_bucket_by_name("scoped-photos")
    refused(lambda: b.upload_bytes(b"x", "private/b.txt"), "namePrefix is public/")
    refused(lambda: api.session.list_file_names(other.id_), "restricted to bucket scoped-photos")
    f = b.get_file_info_by_name("public/a.txt")
    refused(lambda: api.delete_file_version(f.id_, "public/a.txt"), "lacks deleteFiles")


@check("b2_list_buckets shows only the key's bucket")
def _():
    # b2sdk refuses to ask without a bucket name for a restricted key; the raw call shows the filter.
    listed = api.session.list_buckets(api.account_info.get_account_id())["buckets"]
    assert [b["bucketName"] for b in listed] == ["scoped-photos"], listed


@check("a key without writeKeys cannot create keys")
def _():
    refused(lambda: api.create_key(["readFiles"], "nope", bucket_id=photos.id_), "lacks writeKeys")


@check("a key creates keys only within its own scope")
def _():
    manager = as_key(admin.create_key(["writeKeys", "listKeys", "deleteKeys", "readFiles", "listFiles"], "manager",
                                      bucket_id=photos.id_))
    refused(lambda: manager.create_key(["readFiles", "deleteFiles"], "more", bucket_id=photos.id_), "more than it has")
    refused(lambda: manager.create_key(["readFiles"], "everywhere"), "more than it has")
    child = manager.create_key(["readFiles"], "child", bucket_id=photos.id_, name_prefix="public/")
    assert as_key(child).account_info.get_allowed()["capabilities"] == ["readFiles"]
    ids = [k.id_ for k in admin.list_keys()]
    assert child.id_ in ids and key.id_ in ids, ids
    admin.delete_key_by_id(child.id_)
    assert child.id_ not in [k.id_ for k in admin.list_keys()]


@check("an expired key stops working")
def _():
    short = admin.create_key(["listBuckets"], "shortLived", valid_duration_seconds=2)
    api_short = as_key(short)
    api_short.list_buckets()
    time.sleep(2.5)
    try:
        api_short.list_buckets()
        raise AssertionError("still works")
    except B2Error as e:
        assert "expired" in str(e) or "nvalid" in str(e), repr(e)


finish()
