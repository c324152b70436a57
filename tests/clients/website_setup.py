"""Static website buckets set up with boto3, as a user publishing a site would.

`website_setup.py`: bucket `site` (public by a bucket policy) with an index document, an error
document, a folder with its own index, a stylesheet, and a routing rule sending `docs/` to
`documents/`; `private-site` (a website, but nothing public); `moved` (redirects everything to
https://example.com); `plain` (public, no website). Checks GetBucketWebsite returns what was
put, S3's refusal of a bad configuration, and DeleteBucketWebsite. Prints `ok`.

Environment: PIER_ENDPOINT and AWS_* (the admin key).
"""

import json
import os
import sys

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import s3_client  # noqa: E402

s3 = s3_client()


def public(bucket):
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"}]}))


for bucket in ("site", "private-site", "moved", "plain"):
    s3.create_bucket(Bucket=bucket)
for key, body, ctype in [
    ("index.html", "<h1>home</h1>", "text/html"),
    ("about/index.html", "<h1>about</h1>", "text/html"),
    ("404.html", "<h1>not here</h1>", "text/html"),
    ("style.css", "body{}", "text/css"),
]:
    s3.put_object(Bucket="site", Key=key, Body=body.encode(), ContentType=ctype)
s3.put_object(Bucket="private-site", Key="index.html", Body=b"secret", ContentType="text/html")
public("site")
public("plain")
site = {
    "IndexDocument": {"Suffix": "index.html"},
    "ErrorDocument": {"Key": "404.html"},
    "RoutingRules": [{"Condition": {"KeyPrefixEquals": "docs/"},
                      "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}],
}
s3.put_bucket_website(Bucket="site", WebsiteConfiguration=site)
got = s3.get_bucket_website(Bucket="site")
assert got["IndexDocument"] == site["IndexDocument"], got
assert got["ErrorDocument"] == site["ErrorDocument"], got
assert got["RoutingRules"] == site["RoutingRules"], got
s3.put_bucket_website(Bucket="private-site", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
s3.put_bucket_website(Bucket="moved", WebsiteConfiguration={
    "RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}})
try:
    s3.put_bucket_website(Bucket="plain", WebsiteConfiguration={"IndexDocument": {"Suffix": "a/index.html"}})
    raise AssertionError("a suffix with a slash was accepted")
except ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidArgument", e.response
s3.put_bucket_website(Bucket="plain", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
s3.delete_bucket_website(Bucket="plain")
try:
    s3.get_bucket_website(Bucket="plain")
    raise AssertionError("a deleted website configuration was still there")
except ClientError as e:
    assert e.response["Error"]["Code"] == "NoSuchWebsiteConfiguration", e.response
print("ok")
