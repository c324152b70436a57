"""The check harness the client scripts share: `@check(name)` runs a function at once and
records whether it passed (printing `ok   NAME` or `FAIL NAME: cause`, which the Rust tests
read); `finish()` prints "N passed, M failed" and exits non-zero on any failure. With it, the
boto3 helpers most scripts use: `s3_client()` and `error_status()`."""

import os
import sys

_results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            print("ok   " + name)
            _results.append(True)
        except Exception as e:  # noqa: BLE001 - a failed check prints its cause and goes on
            print(f"FAIL {name}: {e!r}")
            _results.append(False)
        return fn
    return wrap


def finish():
    passed = sum(_results)
    print(f"{passed} passed, {len(_results) - passed} failed")
    sys.exit(0 if passed == len(_results) else 1)


def s3_client(**config):
    """A boto3 S3 client for the server at PIER_ENDPOINT (AWS_* credentials): path-style
    addressing, one attempt per call, and any other botocore `Config` options given."""
    import boto3
    from botocore.config import Config
    config.setdefault("retries", {"max_attempts": 1})
    config.setdefault("s3", {"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=os.environ["PIER_ENDPOINT"], config=Config(**config))


def error_response(call):
    """The error response of a boto3 call that must fail."""
    from botocore.exceptions import ClientError
    try:
        call()
    except ClientError as e:
        return e.response
    raise AssertionError("the call succeeded")


def error_status(f, **kw):
    """(HTTP status, S3 error code) of `f(**kw)`, a boto3 call that must fail."""
    e = error_response(lambda: f(**kw))
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"]
