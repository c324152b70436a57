"""S3 event notifications through boto3, the way Ceph RGW users set them: a topic made with
boto3's `sns` client on pier's endpoint, and a bucket notification configuration naming it.

`events_s3.py topic NAME URL`: creates topic NAME pushing to URL, reads it back (ListTopics,
GetTopicAttributes), checks the refusals of a bad name and a bad endpoint; prints its ARN.
`events_s3.py configure BUCKET ARN`: creates BUCKET and sets two topic configurations (objects
created under `in/`, and every removal), reads them back, and checks S3's refusals of an unknown
topic, an unknown event and overlapping configurations; nothing half-saved.
`events_s3.py changes BUCKET`: a PUT (a key with a space), a presigned PUT, a browser form POST, a
multipart upload, a copy, a PUT outside `in/` (selected by no configuration) and a delete; prints `name etag` of
what it made under `in/`.
`events_s3.py drop-topic ARN`: deletes the topic, twice (the second is no error).
`events_s3.py puts BUCKET PREFIX N`: PUTs N small objects PREFIX0..PREFIX{N-1}, one after another.
`events_s3.py refusals`: the topic API refuses a wrong secret (SignatureDoesNotMatch), an
unknown key (InvalidClientTokenId), a key without writeBucketNotifications (AuthorizationError)
and an unknown action (InvalidAction), each in SNS's error format.

Environment: PIER_ENDPOINT and AWS_* (the admin key).
"""

import io
import os
import sys
import http.client
import urllib.parse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import s3_client  # noqa: E402

s3 = s3_client()
sns = boto3.client("sns", endpoint_url=os.environ["PIER_ENDPOINT"],
                   region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                   config=Config(retries={"max_attempts": 1}))


def refused(call, code):
    try:
        call()
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, (code, e.response)
        return
    raise AssertionError(f"accepted what should be {code}")


def topic(name, url):
    arn = sns.create_topic(Name=name, Attributes={"push-endpoint": url, "OpaqueData": "from-test"})["TopicArn"]
    assert arn.endswith(f":{name}"), arn
    arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert arn in arns, arns
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["EndpointAddress"] == url and attrs["OpaqueData"] == "from-test", attrs
    refused(lambda: sns.create_topic(Name="bad name!"), "InvalidParameter")
    refused(lambda: sns.create_topic(Name="t2", Attributes={"push-endpoint": "ftp://example.com/"}),
            "InvalidParameter")
    refused(lambda: sns.get_topic_attributes(TopicArn=arn + "-none"), "NotFound")
    print(arn)


def configuration(arn):
    return {"TopicConfigurations": [
        {"Id": "uploads", "TopicArn": arn, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}},
        {"Id": "removals", "TopicArn": arn, "Events": ["s3:ObjectRemoved:*"]},
    ]}


def configure(bucket, arn):
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration(arn))
    got = s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"]
    by_id = {c["Id"]: c for c in got}
    assert set(by_id) == {"uploads", "removals"}, got
    assert by_id["uploads"]["Events"] == ["s3:ObjectCreated:*"], got
    assert by_id["uploads"]["Filter"]["Key"]["FilterRules"] == [{"Name": "Prefix", "Value": "in/"}] or \
        by_id["uploads"]["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "in/"}], got
    assert by_id["removals"]["TopicArn"] == arn, got
    bad_topic = {"TopicConfigurations": [{"TopicArn": arn + "-none", "Events": ["s3:ObjectCreated:*"]}]}
    bad_event = {"TopicConfigurations": [{"TopicArn": arn, "Events": ["s3:Nothing"]}]}
    overlapping = {"TopicConfigurations": [
        {"Id": "a", "TopicArn": arn, "Events": ["s3:ObjectCreated:*"]},
        {"Id": "b", "TopicArn": arn, "Events": ["s3:ObjectCreated:Put"]},
    ]}
    for bad in (bad_topic, bad_event, overlapping):
        refused(lambda: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=bad),
                "InvalidArgument")
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"] == got


def changes(bucket):
    made = s3.put_object(Bucket=bucket, Key="in/a b.txt", Body=b"spaced")
    print("in/a b.txt", made["ETag"].strip('"'))
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "in/presigned.txt"})
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc)
    conn.request("PUT", f"{parts.path}?{parts.query}", body=b"presigned")  # no Content-Type
    r = conn.getresponse()
    assert r.status == 200, (r.status, r.read())
    print("in/presigned.txt", r.headers["ETag"].strip('"'))
    post = s3.generate_presigned_post(bucket, "in/posted.txt")
    boundary = "pierformboundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in post["fields"].items()
    ) + (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.txt"\r\n'
         f'Content-Type: text/plain\r\n\r\nposted\r\n--{boundary}--\r\n').encode()
    parts = urllib.parse.urlsplit(post["url"])
    conn = http.client.HTTPConnection(parts.netloc)
    conn.request("POST", parts.path, body=body,
                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = conn.getresponse()
    assert r.status in (200, 204), (r.status, r.read())
    print("in/posted.txt", s3.head_object(Bucket=bucket, Key="in/posted.txt")["ETag"].strip('"'))
    from boto3.s3.transfer import TransferConfig
    s3.upload_fileobj(io.BytesIO(b"m" * (6 * 1024 * 1024)), bucket, "in/multi.bin",
                      Config=TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                            multipart_chunksize=5 * 1024 * 1024))
    print("in/multi.bin", s3.head_object(Bucket=bucket, Key="in/multi.bin")["ETag"].strip('"'))
    copied = s3.copy_object(Bucket=bucket, Key="in/copy.txt", CopySource={"Bucket": bucket, "Key": "in/a b.txt"})
    print("in/copy.txt", copied["CopyObjectResult"]["ETag"].strip('"'))
    s3.put_object(Bucket=bucket, Key="out/ignored.txt", Body=b"not selected")
    s3.delete_object(Bucket=bucket, Key="out/ignored.txt")


def drop_topic(arn):
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)
    assert arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def sns_client(key_id, secret):
    return boto3.client("sns", endpoint_url=os.environ["PIER_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def refusals():
    key_id = os.environ["AWS_ACCESS_KEY_ID"]
    refused(lambda: sns_client(key_id, "not-the-secret").list_topics(), "SignatureDoesNotMatch")
    refused(lambda: sns_client("NOSUCHKEY", "x").list_topics(), "InvalidClientTokenId")
    from b2sdk.v2 import B2Api, InMemoryAccountInfo
    b2 = B2Api(InMemoryAccountInfo())
    b2.authorize_account(realm=os.environ["PIER_ENDPOINT"], application_key_id=key_id,
                         application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    reader = b2.create_key(capabilities=["listBuckets", "readBucketNotifications"], key_name="reader")
    limited = sns_client(reader.id_, reader.application_key)
    limited.list_topics()  # reading is allowed
    refused(lambda: limited.create_topic(Name="not-mine"), "AuthorizationError")
    refused(lambda: sns.confirm_subscription(TopicArn="arn:aws:sns:us-east-1:pier:x", Token="t"),
            "InvalidAction")


def puts(bucket, prefix, n):
    for i in range(int(n)):
        s3.put_object(Bucket=bucket, Key=f"{prefix}{i}", Body=b"event")


{"topic": lambda: topic(sys.argv[2], sys.argv[3]),
 "configure": lambda: configure(sys.argv[2], sys.argv[3]),
 "changes": lambda: changes(sys.argv[2]),
 "drop-topic": lambda: drop_topic(sys.argv[2]),
 "puts": lambda: puts(sys.argv[2], sys.argv[3], sys.argv[4]),
 "refusals": refusals}[sys.argv[1]]()
