"""The audit log as an operator reads it with `pier audit`: changes made through S3 (boto3),
B2 (b2sdk) and the command line, each with who made it (key, account, address), through what,
when (RFC 3339), and only what changed before and after. Each check prints `ok NAME` or
`FAIL NAME: cause`.

Environment: PIER_ENDPOINT, AWS_* (the admin key), PIER_BIN and PIER_DATA_DIR.
"""

import datetime
import json
import os
import subprocess
import sys

from b2sdk.v2 import B2Api, InMemoryAccountInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, s3_client  # noqa: E402

s3 = s3_client()
ADMIN = os.environ["AWS_ACCESS_KEY_ID"]


def pier(*args):
    out = subprocess.run([os.environ["PIER_BIN"], *args, "--data-dir", os.environ["PIER_DATA_DIR"]],
                         capture_output=True, text=True)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out.stdout


def audit(*args):
    """`pier audit ARGS` as a list of objects, oldest first."""
    return [json.loads(line) for line in pier("audit", *args).splitlines()]


@check("S3 changes are recorded with the key, account, operation, address, time and only what changed")
def _():
    s3.create_bucket(Bucket="audit-s3")
    s3.put_bucket_tagging(Bucket="audit-s3", Tagging={"TagSet": [{"Key": "team", "Value": "blue"}]})
    s3.put_bucket_versioning(Bucket="audit-s3", VersioningConfiguration={"Status": "Enabled"})
    lines = audit("--bucket", "audit-s3")
    assert [l["action"] for l in lines] == ["s3:CreateBucket", "s3:PutBucketTagging",
                                           "s3:PutBucketVersioning"], lines
    for line in lines:
        assert line["key_id"] == ADMIN and line["account"] == "pier", line
        assert line["remote_addr"] == "127.0.0.1" and line["bucket"] == "audit-s3", line
        when = datetime.datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
        assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 120, line
    made, tagged, versioned = lines
    assert made["before"] is None and made["after"]["owner"] == "pier", made
    assert tagged["before"] == {"tags": None} and tagged["after"] == {"tags": {"team": "blue"}}, tagged
    assert set(versioned["after"]) == {"versioning"}, versioned


@check("B2 changes are recorded with the B2 call")
def _():
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(realm=os.environ["PIER_ENDPOINT"], application_key_id=ADMIN,
                          application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    bucket = api.create_bucket("audit-b2", "allPrivate")
    bucket.update(bucket_type="allPublic")
    lines = audit("--bucket", "audit-b2")
    actions = [l["action"] for l in lines]
    assert actions[0] == "b2_create_bucket" and actions[-1] == "b2_update_bucket", actions
    assert lines[-1]["before"].get("public") != lines[-1]["after"].get("public"), lines[-1]
    assert lines[-1]["key_id"] == ADMIN, lines[-1]


@check("keys and caps changed on the command line are recorded, never a secret")
def _():
    out = pier("key", "create", "--account", "audited-tenant")
    secret = next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("secret access key"))
    pier("caps", "set", "--account", "audited-tenant", "--storage", "1MB")
    lines = audit("--account", "audited-tenant")
    assert [l["action"] for l in lines] == ["cli:key create", "cli:caps set"], lines
    key, caps = lines
    assert key["key_id"] is None and key["after"]["account"] == "audited-tenant", key
    assert caps["before"]["storage"] is None and caps["after"]["storage"] == 1_000_000, caps
    assert secret not in pier("audit"), "a secret in the audit log"


@check("a change that is refused is not recorded")
def _():
    before = len(audit("--bucket", "audit-s3"))
    try:
        s3.put_bucket_policy(Bucket="audit-s3", Policy='{"Version": "2012-10-17", "Statement": "nope"}')
    except s3.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "MalformedPolicy", e.response["Error"]
    else:
        raise AssertionError("the policy was accepted")
    assert len(audit("--bucket", "audit-s3")) == before


finish()
