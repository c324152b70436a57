"""Event notification rules through b2sdk, as a B2 user sets them.

`events_b2.py rules BUCKET URL SECRET`: creates BUCKET (B2 buckets keep versions), sets one rule
for every object event to URL, signed with SECRET, reads it back, and checks B2's refusals of
bad rules; prints the bucket's id.
`events_b2.py changes BUCKET`: uploads, copies, hides and deletes a version through b2sdk;
prints the version ids it made, one per line, as `kind name id`.
`events_b2.py list BUCKET`: prints the bucket's rules as b2sdk reads them (JSON).

Environment: PIER_ENDPOINT and AWS_* (the admin key, which works for both APIs).
"""

import io
import os
import sys

from b2sdk.v2 import B2Api, InMemoryAccountInfo
from b2sdk.v2.exception import BadRequest

api = B2Api(InMemoryAccountInfo())
api.authorize_account(realm=os.environ["PIER_ENDPOINT"],
                      application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                      application_key=os.environ["AWS_SECRET_ACCESS_KEY"])


def rule(url, secret, **overrides):
    r = {
        "name": "every-change",
        "eventTypes": ["b2:ObjectCreated:*", "b2:ObjectDeleted:*", "b2:HideMarkerCreated:*"],
        "objectNamePrefix": "",
        "isEnabled": True,
        "targetConfiguration": {
            "targetType": "webhook",
            "url": url,
            "hmacSha256SigningSecret": secret,
            "customHeaders": [{"name": "X-Pier-Test", "value": "events"}],
        },
    }
    r.update(overrides)
    return r


def set_rules(name, url, secret):
    bucket = api.create_bucket(name, "allPrivate")
    saved = bucket.set_notification_rules([rule(url, secret)])
    assert [r["name"] for r in saved] == ["every-change"], saved
    got = bucket.get_notification_rules()
    assert got[0]["isSuspended"] is False and got[0]["suspensionReason"] == "", got
    assert got[0]["targetConfiguration"]["url"] == url, got
    assert got[0]["targetConfiguration"]["hmacSha256SigningSecret"] == secret, got
    # B2's refusals, each naming the field; nothing is half-saved.
    for bad, field in [
        (rule(url, secret, name="no"), "name"),
        (rule(url, secret, eventTypes=["b2:Nothing"]), "eventTypes"),
        (rule("ftp://example.com/x", secret), "url"),
        (rule(url, "short"), "hmacSha256SigningSecret"),
    ]:
        try:
            bucket.set_notification_rules([bad])
            raise AssertionError(f"accepted a bad {field}")
        except BadRequest as e:
            assert field in str(e), (field, e)
    assert bucket.get_notification_rules() == got
    print(bucket.id_)


def changes(name):
    bucket = api.get_bucket_by_name(name)
    first = bucket.upload_bytes(b"first version", "docs/a.txt")
    print("upload docs/a.txt", first.id_)
    second = bucket.upload_bytes(b"second version", "docs/a.txt")
    print("upload docs/a.txt", second.id_)
    copy = bucket.copy(first.id_, "docs/copy.txt")
    print("copy docs/copy.txt", copy.id_)
    hidden = bucket.hide_file("docs/a.txt")
    print("hide docs/a.txt", hidden.id_)
    api.delete_file_version(first.id_, "docs/a.txt")
    print("delete docs/a.txt", first.id_)


if sys.argv[1] == "rules":
    set_rules(sys.argv[2], sys.argv[3], sys.argv[4])
elif sys.argv[1] == "list":
    import json
    print(json.dumps(api.get_bucket_by_name(sys.argv[2]).get_notification_rules()))
else:
    changes(sys.argv[2])
