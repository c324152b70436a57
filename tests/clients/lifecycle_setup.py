"""Prepares bucket `aging` for the test that advances the lifecycle clock: versioned history
under logs/, objects under tmp/ and keep/, an abandoned multipart upload, and lifecycle rules by
prefix, by tag and by size, with objects each rule should and should not take.

Environment: PIER_ENDPOINT and AWS_* (the admin key).
"""

import os

from checks import s3_client

s3 = s3_client()


def enable(bucket, status="Enabled"):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


s3.create_bucket(Bucket="aging")
enable("aging")
for n in range(3):
    s3.put_object(Bucket="aging", Key="logs/app.log", Body=os.urandom(200_000) + bytes([n]))
s3.put_object(Bucket="aging", Key="tmp/scratch", Body=b"scratch")
s3.put_object(Bucket="aging", Key="keep/forever", Body=b"forever")
s3.create_multipart_upload(Bucket="aging", Key="tmp/abandoned")
s3.put_bucket_lifecycle_configuration(Bucket="aging", LifecycleConfiguration={"Rules": [
    {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
    {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
     "Expiration": {"Days": 7}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}},
    {"ID": "tagged", "Status": "Enabled", "Filter": {"And": {
        "Prefix": "tagged/", "Tags": [{"Key": "class", "Value": "temp"}]}}, "Expiration": {"Days": 7}},
    {"ID": "big", "Status": "Enabled", "Filter": {"And": {
        "Prefix": "sized/", "ObjectSizeGreaterThan": 1000}}, "Expiration": {"Days": 7}},
]})
s3.put_object(Bucket="aging", Key="tagged/temp", Body=b"t", Tagging="class=temp")
s3.put_object(Bucket="aging", Key="tagged/kept", Body=b"k", Tagging="class=gold")
s3.put_object(Bucket="aging", Key="sized/big", Body=b"b" * 5000)
s3.put_object(Bucket="aging", Key="sized/small", Body=b"s" * 10)
