"""A single-page app published as a pier website, and the bucket it uploads to, set up with
boto3 as its developer would.

`spa_setup.py`: bucket `spa` (public by a bucket policy) holds the app (`index.html`, whose
script uploads files through presigned URLs), `app/index.html`, a `404.html` error document,
and a routing rule sending `old/` to `app/`; bucket `uploads` stays private, with a CORS rule
for the app's origin (SITE_ORIGIN). Prints, as JSON, 20 presigned PUT URLs for
`uploads/file-N.txt` on the HTTPS endpoint (HTTPS_API), valid for ten minutes.

Environment: PIER_ENDPOINT (plain HTTP, for the setup), HTTPS_API, SITE_ORIGIN, AWS_* (the
admin key).
"""

import json
import os
import sys

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import s3_client  # noqa: E402

APP = """<!doctype html>
<html><head><title>pier spa</title></head>
<body><h1 id="title">an app served by pier</h1>
<script>
// Uploads one text file per presigned URL, all at once; answers each status and ETag.
window.uploadAll = (urls) => Promise.all(urls.map(async (url, i) => {
  const r = await fetch(url, { method: "PUT", body: "file " + i, headers: { "Content-Type": "text/plain" } });
  return { status: r.status, etag: r.headers.get("ETag") };
}));
document.body.dataset.ready = "yes";
</script></body></html>
"""

s3 = s3_client()
s3.create_bucket(Bucket="spa")
s3.create_bucket(Bucket="uploads")
for key, body in [
    ("index.html", APP),
    ("app/index.html", "<!doctype html><title>app section</title><p id='section'>the app section</p>"),
    ("404.html", "<!doctype html><title>not found</title><p id='missing'>no such page in this app</p>"),
]:
    s3.put_object(Bucket="spa", Key=key, Body=body.encode(), ContentType="text/html")
s3.put_bucket_policy(Bucket="spa", Policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::spa/*"}]}))
s3.put_bucket_website(Bucket="spa", WebsiteConfiguration={
    "IndexDocument": {"Suffix": "index.html"},
    "ErrorDocument": {"Key": "404.html"},
    "RoutingRules": [{"Condition": {"KeyPrefixEquals": "old/"},
                      "Redirect": {"ReplaceKeyPrefixWith": "app/", "HttpRedirectCode": "302"}}],
})
s3.put_bucket_cors(Bucket="uploads", CORSConfiguration={"CORSRules": [{
    "AllowedOrigins": [os.environ["SITE_ORIGIN"]],
    "AllowedMethods": ["PUT"],
    "AllowedHeaders": ["content-type"],
    "ExposeHeaders": ["ETag"],
}]})

signer = boto3.client("s3", endpoint_url=os.environ["HTTPS_API"],
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
urls = [signer.generate_presigned_url("put_object",
                                      Params={"Bucket": "uploads", "Key": f"file-{i}.txt",
                                              "ContentType": "text/plain"},
                                      ExpiresIn=600)
        for i in range(20)]
print(json.dumps(urls))
