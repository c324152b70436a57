"""Sets up the B2 side of the first seed for the Chromium test, through b2sdk: buckets with B2
corsRules and a bucket_info.txt each, and an upload URL for a browser upload. Prints JSON.
Usage: b2_browser_setup.py ORIGIN_A"""
import json
import os
import sys

from b2sdk.v2 import B2Api, InMemoryAccountInfo

origin_a = sys.argv[1]
api = B2Api(InMemoryAccountInfo())
api.authorize_account(realm=os.environ["PIER_ENDPOINT"], application_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                      application_key=os.environ["AWS_SECRET_ACCESS_KEY"])
DOWNLOADS = ["b2_download_file_by_name", "b2_download_file_by_id"]
buckets = {
    "b2-none-cors": [],
    "b2-allow-all": [{"corsRuleName": "allowAllOrigins", "allowedOrigins": ["*"], "allowedOperations": DOWNLOADS,
                      "allowedHeaders": ["authorization", "range"], "maxAgeSeconds": 0}],
    "b2-allow-headers": [{"corsRuleName": "allowAllHeaders", "allowedOrigins": ["*"], "allowedOperations": DOWNLOADS,
                          "allowedHeaders": ["*"], "maxAgeSeconds": 0}],
    "b2-https-only": [{"corsRuleName": "downloadFromAnyOrigin", "allowedOrigins": ["https"], "allowedOperations": DOWNLOADS,
                       "allowedHeaders": ["range"], "exposeHeaders": ["x-bz-content-sha1"], "maxAgeSeconds": 3600}],
    "b2-exposed": [{"corsRuleName": "pageDownloads", "allowedOrigins": [origin_a], "allowedOperations": DOWNLOADS,
                    "exposeHeaders": ["x-bz-content-sha1"], "maxAgeSeconds": 0},
                   {"corsRuleName": "pageUploads", "allowedOrigins": [origin_a], "allowedOperations": ["b2_upload_file"],
                    "allowedHeaders": ["authorization", "content-type", "x-bz-file-name", "x-bz-content-sha1"],
                    "maxAgeSeconds": 0}],
}
out = {}
for name, rules in buckets.items():
    # Bucket names may not start with "b2-": use a prefix.
    b = api.create_bucket("seed-" + name, "allPublic", cors_rules=rules)
    b.upload_bytes(f"bucket {name}: {len(rules)} rule(s)".encode(), "bucket_info.txt", content_type="text/plain")
    out[name] = "seed-" + name
up = api.session.get_upload_url(api.get_bucket_by_name("seed-b2-exposed").id_)
out["upload_url"] = up["uploadUrl"]
out["upload_token"] = up["authorizationToken"]
print(json.dumps(out))
