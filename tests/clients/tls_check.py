"""Clients over pier's HTTPS listener, trusting only the test's CA (CA_BUNDLE).

`tls_check.py clients`: boto3 writes and reads an object; b2sdk authorizes (the URLs B2 hands
out say https) and uploads; prints `ok`.
`tls_check.py protocols`: ALPN offers h2 and http/1.1 and gets h2; TLS 1.1 is refused; TLS 1.2
and 1.3 are accepted; prints `ok`.
`tls_check.py serial HOST PORT`: prints the serial number of the certificate served.
`tls_check.py keepalive HOST PORT`: opens a connection, makes a request, waits for a line on
stdin, makes another request on the same connection; prints both statuses.

Environment: PIER_ENDPOINT (https://...), CA_BUNDLE, AWS_* (the admin key).
"""

import os
import socket
import ssl
import sys

ca = os.environ.get("CA_BUNDLE")


def context(**kw):
    ctx = ssl.create_default_context(cafile=ca)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def clients():
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=os.environ["PIER_ENDPOINT"], verify=ca,
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    s3.create_bucket(Bucket="tls-bucket")
    s3.put_object(Bucket="tls-bucket", Key="secret.txt", Body=b"over tls")
    assert s3.get_object(Bucket="tls-bucket", Key="secret.txt")["Body"].read() == b"over tls"
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    from b2sdk.v2 import B2Api, InMemoryAccountInfo
    info = InMemoryAccountInfo()
    api = B2Api(info)
    api.authorize_account(realm=os.environ["PIER_ENDPOINT"], application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                          application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    assert info.get_api_url().startswith("https://"), info.get_api_url()
    assert info.get_download_url().startswith("https://"), info.get_download_url()
    api.get_bucket_by_name("tls-bucket").upload_bytes(b"b2 over tls", "b2.txt")
    print("ok")


def handshake(host, port, **kw):
    with socket.create_connection((host, port), timeout=5) as raw:
        with context(**kw).wrap_socket(raw, server_hostname=host) as tls:
            return tls.version(), tls.selected_alpn_protocol(), tls.getpeercert(binary_form=False)


def protocols():
    host, port = os.environ["PIER_ENDPOINT"].removeprefix("https://").rsplit(":", 1)
    port = int(port)
    ctx_alpn = context()
    ctx_alpn.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((host, port), timeout=5) as raw:
        with ctx_alpn.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.selected_alpn_protocol() == "h2", tls.selected_alpn_protocol()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        got, _, _ = handshake(host, port, minimum_version=version, maximum_version=version)
        assert got in ("TLSv1.2", "TLSv1.3"), got
    try:
        old = context()
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("ALL:@SECLEVEL=0")
        with socket.create_connection((host, port), timeout=5) as raw:
            with old.wrap_socket(raw, server_hostname=host):
                raise AssertionError("TLS 1.1 was accepted")
    except ssl.SSLError:
        pass
    print("ok")


def serial(host, port):
    _, _, cert = handshake(host, int(port))
    print(cert["serialNumber"])


def keepalive(host, port):
    import http.client
    conn = http.client.HTTPSConnection(host, int(port), context=context(), timeout=10)
    conn.request("GET", "/_pier/health")
    first = conn.getresponse()
    first.read()
    print(first.status, flush=True)
    sys.stdin.readline()
    conn.request("GET", "/_pier/health")
    second = conn.getresponse()
    second.read()
    print(second.status, flush=True)


{"clients": clients, "protocols": protocols,
 "serial": lambda: serial(sys.argv[2], sys.argv[3]),
 "keepalive": lambda: keepalive(sys.argv[2], sys.argv[3])}[sys.argv[1]]()
