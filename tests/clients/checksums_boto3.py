"""S3's additional checksums on multipart uploads and GetObjectAttributes, driven through boto3:
composite and full-object checksums computed from the parts, checked against what the client
sends, returned on HEAD, GET by part number, ListParts and GetObjectAttributes.

Environment: PIER_ENDPOINT and AWS_* (the admin key). Prints one line per check and a summary;
exits non-zero on failure.
"""

import base64
import hashlib
import os
import zlib

from checks import check, error_status as error, finish, s3_client

ENDPOINT = os.environ["PIER_ENDPOINT"]
s3 = s3_client()
B = "sums"
s3.create_bucket(Bucket=B)
MIB = 1024 * 1024
PARTS = [b"A" * (5 * MIB), b"B" * (5 * MIB), b"C" * 1000]


def b64(raw):
    return base64.b64encode(raw).decode()


def sha256(data):
    return b64(hashlib.sha256(data).digest())


def crc32(data):
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def upload(key, algorithm, kind=None):
    extra = {"ChecksumType": kind} if kind else {}
    created = s3.create_multipart_upload(Bucket=B, Key=key, ChecksumAlgorithm=algorithm, **extra)
    assert created["ChecksumAlgorithm"] == algorithm, created
    uid = created["UploadId"]
    listed = []
    for n, data in enumerate(PARTS, 1):
        part = s3.upload_part(Bucket=B, Key=key, UploadId=uid, PartNumber=n, Body=data,
                              ChecksumAlgorithm=algorithm)
        listed.append({"ETag": part["ETag"], "PartNumber": n,
                       f"Checksum{algorithm}": part[f"Checksum{algorithm}"]})
    return uid, listed


@check("a SHA256 multipart object gets the composite of its part checksums")
def _():
    uid, listed = upload("composite", "SHA256")
    assert [p["ChecksumSHA256"] for p in listed] == [sha256(p) for p in PARTS], listed
    expected = b64(hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in PARTS)).digest())
    expected += "-3"
    done = s3.complete_multipart_upload(Bucket=B, Key="composite", UploadId=uid,
                                        MultipartUpload={"Parts": listed})
    assert (done["ChecksumSHA256"], done["ChecksumType"]) == (expected, "COMPOSITE"), done
    plain = s3.head_object(Bucket=B, Key="composite")
    assert "ChecksumSHA256" not in plain, plain
    head = s3.head_object(Bucket=B, Key="composite", ChecksumMode="ENABLED")
    assert (head["ChecksumSHA256"], head["ChecksumType"]) == (expected, "COMPOSITE"), head


@check("a CRC32 full-object checksum equals the CRC32 of all the bytes")
def _():
    uid, listed = upload("full", "CRC32", "FULL_OBJECT")
    whole = crc32(b"".join(PARTS))
    done = s3.complete_multipart_upload(Bucket=B, Key="full", UploadId=uid, ChecksumCRC32=whole,
                                        MultipartUpload={"Parts": listed})
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT"), done


@check("a wrong whole-object checksum is BadDigest and the upload stays completable")
def _():
    uid, listed = upload("wrong", "SHA256")
    got = error(s3.complete_multipart_upload, Bucket=B, Key="wrong", UploadId=uid,
                ChecksumSHA256=sha256(b"not it"), MultipartUpload={"Parts": listed})
    assert got == (400, "BadDigest"), got
    bad_part = [dict(listed[0], ChecksumSHA256=sha256(b"x"))] + listed[1:]
    got = error(s3.complete_multipart_upload, Bucket=B, Key="wrong", UploadId=uid,
                MultipartUpload={"Parts": bad_part})
    assert got == (400, "InvalidPart"), got
    s3.complete_multipart_upload(Bucket=B, Key="wrong", UploadId=uid,
                                 MultipartUpload={"Parts": listed})


@check("ListParts names the algorithm and each part's checksum")
def _():
    uid, listed = upload("listed", "SHA1")
    got = s3.list_parts(Bucket=B, Key="listed", UploadId=uid)
    assert got["ChecksumAlgorithm"] == "SHA1", got
    sums = [p["ChecksumSHA1"] for p in got["Parts"]]
    assert sums == [b64(hashlib.sha1(p).digest()) for p in PARTS], sums
    s3.abort_multipart_upload(Bucket=B, Key="listed", UploadId=uid)


@check("GET by part number answers with that part's checksum")
def _():
    got = s3.get_object(Bucket=B, Key="composite", PartNumber=2)
    assert got["ChecksumSHA256"] == sha256(PARTS[1]), got
    assert got["ContentLength"] == len(PARTS[1])


@check("CRC64NVME cannot be composite; SHA256 cannot be full-object")
def _():
    got = error(s3.create_multipart_upload, Bucket=B, Key="x", ChecksumAlgorithm="CRC64NVME",
                ChecksumType="COMPOSITE")
    assert got == (400, "InvalidRequest"), got
    got = error(s3.create_multipart_upload, Bucket=B, Key="x", ChecksumAlgorithm="SHA256",
                ChecksumType="FULL_OBJECT")
    assert got == (400, "InvalidRequest"), got


@check("GetObjectAttributes of a single upload: ETag unquoted, size, class, checksum")
def _():
    put = s3.put_object(Bucket=B, Key="one", Body=b"hello", ChecksumAlgorithm="SHA256")
    got = s3.get_object_attributes(Bucket=B, Key="one", ObjectAttributes=[
        "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
    assert got["ETag"] == put["ETag"].strip('"'), got
    assert (got["ObjectSize"], got["StorageClass"]) == (5, "STANDARD"), got
    assert got["Checksum"]["ChecksumSHA256"] == sha256(b"hello"), got
    assert "ObjectParts" not in got, got


@check("GetObjectAttributes pages a multipart object's parts with their checksums")
def _():
    got = s3.get_object_attributes(Bucket=B, Key="composite", ObjectAttributes=["ObjectParts"],
                                   MaxParts=1, PartNumberMarker=1)
    parts = got["ObjectParts"]
    assert (parts["TotalPartsCount"], parts["IsTruncated"], parts["NextPartNumberMarker"]) == \
        (3, True, 2), parts
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in parts["Parts"]] == \
        [(2, len(PARTS[1]), sha256(PARTS[1]))], parts


finish()
