"""Bucket configurations pier does not keep (issue 30), read as tools read them: each answers as
AWS answers for a bucket without that configuration, never 501. Also the region: GetBucketLocation
shows us-east-1 as AWS does (no constraint), and a client signing for another region is told
which region to use and, like botocore, signs again."""

import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from checks import check, finish

ENDPOINT = os.environ["PIER_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(retries={"max_attempts": 1}))
s3.create_bucket(Bucket="plain")


def error_of(call, **kw):
    try:
        call(Bucket="plain", **kw)
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    raise AssertionError("no error")


@check("requestPayment: the bucket owner pays")
def _():
    assert s3.get_bucket_request_payment(Bucket="plain")["Payer"] == "BucketOwner"


@check("accelerate: no status")
def _():
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket="plain")


@check("logging: off")
def _():
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket="plain")


@check("notification: none")
def _():
    got = s3.get_bucket_notification_configuration(Bucket="plain")
    for kind in ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations"):
        assert not got.get(kind), got


@check("analytics, metrics, intelligent-tiering, inventory: empty lists")
def _():
    for call, field in [
        (s3.list_bucket_analytics_configurations, "AnalyticsConfigurationList"),
        (s3.list_bucket_metrics_configurations, "MetricsConfigurationList"),
        (s3.list_bucket_intelligent_tiering_configurations, "IntelligentTieringConfigurationList"),
        (s3.list_bucket_inventory_configurations, "InventoryConfigurationList"),
    ]:
        got = call(Bucket="plain")
        assert not got.get(field) and got.get("IsTruncated") is False, got


@check("a configuration by id: 404 NoSuchConfiguration")
def _():
    for call in (s3.get_bucket_analytics_configuration, s3.get_bucket_metrics_configuration,
                 s3.get_bucket_intelligent_tiering_configuration, s3.get_bucket_inventory_configuration):
        assert error_of(call, Id="x") == (404, "NoSuchConfiguration")


@check("replication: 404 ReplicationConfigurationNotFoundError")
def _():
    assert error_of(s3.get_bucket_replication) == (404, "ReplicationConfigurationNotFoundError")


@check("website: 404 NoSuchWebsiteConfiguration")
def _():
    assert error_of(s3.get_bucket_website) == (404, "NoSuchWebsiteConfiguration")


@check("a missing bucket is 404 NoSuchBucket for each")
def _():
    try:
        s3.get_bucket_request_payment(Bucket="missing-bucket")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchBucket"
    else:
        raise AssertionError("no error")


@check("GetBucketLocation: us-east-1 shows as no constraint")
def _():
    assert s3.get_bucket_location(Bucket="plain")["LocationConstraint"] is None


@check("a client signing for another region is told us-east-1 and signs again")
def _():
    elsewhere = boto3.client("s3", endpoint_url=ENDPOINT, region_name="eu-west-1",
                             config=Config(retries={"max_attempts": 1}))
    assert elsewhere.get_bucket_request_payment(Bucket="plain")["Payer"] == "BucketOwner"


@check("a location constraint for another region is refused")
def _():
    try:
        s3.create_bucket(Bucket="elsewhere", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    except ClientError as e:
        assert e.response["Error"]["Code"] == "IllegalLocationConstraintException", e.response
    else:
        raise AssertionError("created")


finish()
