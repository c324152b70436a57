//! Browser form uploads (S3 POST Object), parsed here rather than by s3s so the file streams
//! to disk: s3s 0.14.1 holds the whole file in memory to check the policy.
//!
//! The form's fields come before its `file` part; everything is decided from them before a
//! byte of the file is read: the signature (SigV4 `x-amz-signature` or SigV2 `signature`, over
//! the base64 policy), the policy (expiry and every condition, and no field without one), and the
//! access engine's verdict for the signing key (or for anyone, on a form without a policy). The
//! file then streams into a blob, hashed on the way; `content-length-range` and
//! `x-amz-checksum-*` are checked at its end, before the object is written.

use crate::checksum;
use crate::convert::{check_user_metadata, Announced, MetaFields};
use crate::error::{blocking_map, put_error, s3_error};
use bytes::Bytes;
use futures::Stream;
use hmac::{Hmac, Mac};
use pier_access::{Action, ObjectGrant};
use pier_edge::access::{Access, Ask, RequestFacts};
use pier_store::Store;
use s3s::dto::{Metadata, Timestamp};
use s3s::{s3_error, S3Error, S3Result};
use serde_json::Value;

/// The most bytes of form fields (all but the file) read before the file, as S3 allows.
pub const MAX_FIELDS_BYTES: usize = 20 * 1024;

/// A finished form upload: the answer S3 gives.
#[derive(Debug)]
pub struct Posted {
    /// 200, 201, 204 or 303.
    pub status: u16,
    /// Response headers (ETag, Location).
    pub headers: Vec<(&'static str, String)>,
    /// The body (the `PostResponse` document of a 201).
    pub body: String,
}

/// The form's fields, names lower-cased (S3 matches them case-insensitively).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn policy_refusal(detail: &str) -> S3Error {
    S3Error::with_message(
        s3s::S3ErrorCode::AccessDenied,
        format!("Invalid according to Policy: {detail}"),
    )
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: Option<&str>) -> S3Result<String> {
    content_type
        .and_then(|t| multer::parse_boundary(t).ok())
        .ok_or_else(|| {
            s3_error!(
                MalformedPOSTRequest,
                "The body of your POST request is not well-formed multipart/form-data."
            )
        })
}

fn too_much_before_file() -> S3Error {
    crate::fault::S3Fault::new(
        crate::fault::S3ErrorKind::MaxPostPreDataLengthExceeded,
        "Your POST request fields preceeding the upload file were too large.",
    )
    .into_s3s()
}

fn malformed(e: multer::Error) -> S3Error {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            too_much_before_file()
        }
        other => {
            if pier_edge::is_body_stall(&other) {
                return s3_error!(
                    RequestTimeout,
                    "Your socket connection to the server was not read from or written to within the timeout period."
                );
            }
            s3_error!(
                MalformedPOSTRequest,
                "The body of your POST request is not well-formed multipart/form-data: {other}"
            )
        }
    }
}

/// Handles one form upload to `bucket`.
pub async fn post<S>(
    store: &Store,
    access: &Access,
    bucket_name: &str,
    (content_type, body): (Option<&str>, S),
    facts: RequestFacts<'_>,
    keys_allowed: bool,
) -> S3Result<Posted>
where
    S: Stream<Item = Result<Bytes, s3s::StdError>> + Send + 'static,
{
    let bucket = store.bucket(bucket_name).map_err(s3_error)?;
    let boundary = boundary(content_type)?;
    let limits = multer::SizeLimit::new()
        .per_field(MAX_FIELDS_BYTES as u64)
        .for_field("file", u64::MAX);
    let mut form = multer::Multipart::with_constraints(
        body,
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let mut fields = Fields(Vec::new());
    let mut fields_bytes = 0usize;
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_ascii_lowercase();
        if name == "file" {
            file = Some(field);
            break;
        }
        let value = field.text().await.map_err(malformed)?;
        fields_bytes += name.len() + value.len();
        if fields_bytes > MAX_FIELDS_BYTES {
            return Err(too_much_before_file());
        }
        fields.0.push((name, value));
    }
    let Some(mut file) = file else {
        return Err(s3_error!(
            InvalidArgument,
            "POST requires exactly one file upload per request."
        ));
    };
    let mut key = fields
        .get("key")
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields."
            )
        })?
        .to_owned();
    if key.contains("${filename}") {
        let name = file.file_name().unwrap_or_default();
        // Browsers may send a path; S3 keeps the last segment.
        let name = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_owned();
        key = key.replace("${filename}", &name);
    }
    let range = match fields.get("policy") {
        Some(policy) => {
            let signer = verify_signature(store, &fields, policy)?;
            let range = check_policy(policy, &fields, bucket_name, &key)?;
            let scope = access.scope(&signer);
            allow(access, Some(&scope), bucket_name, &key, facts)?;
            range
        }
        None => {
            allow(access, None, bucket_name, &key, facts)?;
            None
        }
    };
    let meta_fields = MetaFields {
        content_type: fields.get("content-type").map(str::to_owned),
        content_encoding: fields.get("content-encoding").map(str::to_owned),
        content_disposition: fields.get("content-disposition").map(str::to_owned),
        content_language: fields.get("content-language").map(str::to_owned),
        cache_control: fields.get("cache-control").map(str::to_owned),
        expires: fields
            .get("expires")
            .and_then(crate::convert::parse_http_date),
        metadata: {
            let m: Metadata = fields
                .0
                .iter()
                .filter_map(|(n, v)| Some((n.strip_prefix("x-amz-meta-")?.to_owned(), v.clone())))
                .collect();
            (!m.is_empty()).then_some(m)
        },
    };
    check_user_metadata(meta_fields.metadata.as_ref())?;
    let mut meta = meta_fields.into_meta();
    if let Some(tagging) = fields.get("tagging") {
        meta.tags = crate::tagging::from_xml(tagging)?;
    }
    let announced = Announced::named(|name| fields.get(name).map(str::to_owned));
    let algorithm = fields
        .get("x-amz-checksum-algorithm")
        .map(|a| checksum::algorithm(&a.to_ascii_lowercase()));
    let mut hasher = announced.hasher(algorithm.as_ref());
    // Encryption as the form's fields ask (as PUT's headers), else the bucket's default.
    let customer = crate::sse::customer_key(
        crate::sse::CustomerHeaders {
            algorithm: fields
                .get("x-amz-server-side-encryption-customer-algorithm")
                .map(str::to_owned)
                .as_ref(),
            key: fields
                .get("x-amz-server-side-encryption-customer-key")
                .map(str::to_owned)
                .as_ref(),
            md5: fields
                .get("x-amz-server-side-encryption-customer-key-md5")
                .map(str::to_owned)
                .as_ref(),
        },
        keys_allowed,
    )?;
    let sse = fields
        .get("x-amz-server-side-encryption")
        .map(|s| s3s::dto::ServerSideEncryption::from(s.to_owned()));
    let kms_key_id = fields.get("x-amz-server-side-encryption-aws-kms-key-id");
    let sealing = match crate::sse::requested(&bucket, (sse.as_ref(), kms_key_id), customer)? {
        Some(how) => Some(store.new_data_key(&how).map_err(s3_error)?),
        None => None,
    };
    let mut writer = match &sealing {
        Some((_, key)) => store.new_sealed_payload(None, key),
        None => store.new_payload(None),
    }
    .map_err(s3_error)?;
    meta.encryption = sealing.map(|(envelope, _)| envelope);
    while let Some(chunk) = file.chunk().await.map_err(malformed)? {
        if let Some((_, max)) = range {
            if writer.size() + chunk.len() as u64 > max {
                return Err(s3_error!(
                    EntityTooLarge,
                    "Your proposed upload exceeds the maximum allowed size"
                ));
            }
        }
        hasher.update(&chunk);
        writer.write_bytes(chunk).map_err(s3_error)?;
    }
    if let Some((min, _)) = range {
        if writer.size() < min {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed size"
            ));
        }
    }
    let payload = crate::error::blocking(move || writer.finish()).await?;
    let computed = hasher.finalize();
    meta.checksums = match announced.verify(&computed) {
        Ok(c) => c.into_iter().collect(),
        Err(message) => {
            store.discard_payload(payload).map_err(s3_error)?;
            return Err(s3_error!(BadDigest, "{message}"));
        }
    };
    let (store2, bucket_id, key2) = (store.clone(), bucket.id.clone(), key.clone());
    let object = blocking_map(
        move || store2.put_posted_object(&bucket_id, &key2, payload, meta),
        put_error,
    )
    .await?;
    Ok(answer(&fields, bucket_name, &key, &object.etag))
}

/// S3's answer to a stored form upload: a redirect when `success_action_redirect` names one,
/// else `success_action_status` (200, 201 with a `PostResponse` document, or 204 — also for any
/// other value).
fn answer(fields: &Fields, bucket: &str, key: &str, etag: &str) -> Posted {
    use pier_edge::percent::{encode, PATH, UNRESERVED};
    let location = format!("/{}/{}", encode(bucket, PATH), encode(key, PATH));
    let mut headers = vec![
        ("etag", format!("\"{etag}\"")),
        ("location", location.clone()),
    ];
    let redirect = fields
        .get("success_action_redirect")
        .or_else(|| fields.get("redirect"))
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"));
    if let Some(to) = redirect {
        let sep = if to.contains('?') { '&' } else { '?' };
        let target = format!(
            "{to}{sep}bucket={}&key={}&etag=%22{etag}%22",
            encode(bucket, UNRESERVED),
            encode(key, UNRESERVED)
        );
        headers[1] = ("location", target);
        return Posted {
            status: 303,
            headers,
            body: String::new(),
        };
    }
    match fields.get("success_action_status") {
        Some("200") => Posted {
            status: 200,
            headers,
            body: String::new(),
        },
        Some("201") => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>\"{}\"</ETag></PostResponse>",
                xml(&location),
                xml(bucket),
                xml(key),
                etag
            );
            headers.push(("content-type", "application/xml".into()));
            Posted {
                status: 201,
                headers,
                body,
            }
        }
        _ => Posted {
            status: 204,
            headers,
            body: String::new(),
        },
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn allow(
    access: &Access,
    key: Option<&pier_access::KeyScope>,
    bucket: &str,
    object: &str,
    facts: RequestFacts<'_>,
) -> S3Result<()> {
    let ask = Ask {
        action: Action::PutObject,
        bucket: Some(bucket),
        key: Some(object),
        prefix: None,
    };
    let decision = access.decide(key, ask, facts).map_err(s3_error)?;
    access.report(key, ask, facts, decision.allowed, || ObjectGrant::None);
    if decision.allowed {
        return access.count_request(Some(bucket)).map_err(s3_error);
    }
    tracing::info!(
        key = key.map_or("anonymous", |k| k.id.as_str()),
        bucket,
        object,
        reason = %decision.reason,
        "form upload refused"
    );
    Err(S3Error::with_message(
        s3s::S3ErrorCode::AccessDenied,
        format!("Access Denied: {}", decision.reason),
    ))
}

/// Checks the form's signature over the base64 `policy`: SigV4 (`x-amz-algorithm`,
/// `x-amz-credential`, `x-amz-signature`) or SigV2 (`AWSAccessKeyId`, `signature`). Returns the
/// signing key.
fn verify_signature(
    store: &Store,
    fields: &Fields,
    policy: &str,
) -> S3Result<std::sync::Arc<pier_store::AccessKey>> {
    let lookup = |id: &str| {
        store.key(id).map_err(s3_error)?.ok_or_else(|| {
            s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )
        })
    };
    let mismatch = || {
        s3_error!(
            SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        )
    };
    if let Some(signature) = fields.get("x-amz-signature") {
        if fields.get("x-amz-algorithm") != Some("AWS4-HMAC-SHA256") {
            return Err(s3_error!(
                InvalidArgument,
                "Only the AWS4-HMAC-SHA256 algorithm is supported (x-amz-algorithm)."
            ));
        }
        let credential = fields.get("x-amz-credential").unwrap_or_default();
        let parts: Vec<&str> = credential.split('/').collect();
        let [id, date, region, service, "aws4_request"] = parts[..] else {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-credential must be ACCESS_KEY_ID/DATE/REGION/s3/aws4_request."
            ));
        };
        let key = lookup(id)?;
        let expected =
            pier_edge::presign::sigv4_signature(&key.secret, date, region, service, policy);
        if !pier_edge::secret_eq(
            expected.as_bytes(),
            signature.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(mismatch());
        }
        return Ok(key);
    }
    let (Some(id), Some(signature)) = (fields.get("awsaccesskeyid"), fields.get("signature"))
    else {
        return Err(s3_error!(
            InvalidArgument,
            "Bucket POST with a policy must be signed: it needs AWSAccessKeyId and signature, or the x-amz-* SigV4 fields."
        ));
    };
    let key = lookup(id)?;
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(key.secret.as_bytes()).expect("hmac takes any key");
    mac.update(policy.as_bytes());
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if !pier_edge::secret_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(mismatch());
    }
    Ok(key)
}

/// Fields every form may carry without a policy condition naming them.
fn exempt(name: &str) -> bool {
    matches!(
        name,
        "policy" | "signature" | "awsaccesskeyid" | "x-amz-signature" | "file"
    ) || name.starts_with("x-ignore-")
        || name.starts_with("x-amz-checksum-")
}

/// Checks the decoded policy against the form: not expired, every condition met (`bucket`
/// against the URL's bucket, `key` after `${filename}`), and every field covered by a condition.
/// Returns the `content-length-range`, checked as the file streams.
fn check_policy(
    policy: &str,
    fields: &Fields,
    bucket: &str,
    key: &str,
) -> S3Result<Option<(u64, u64)>> {
    use base64::Engine as _;
    let invalid = |why: &str| s3_error!(InvalidPolicyDocument, "Invalid Policy: {why}");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(policy.trim())
        .map_err(|_| invalid("the policy is not base64"))?;
    let doc: Value =
        serde_json::from_slice(&decoded).map_err(|_| invalid("the policy is not JSON"))?;
    let expiration = doc
        .get("expiration")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("Policy missing expiration."))?;
    // ISO 8601 in UTC with a `T` and a `Z` (`2030-01-01T00:00:00Z`, milliseconds allowed), as
    // S3 requires; a date with a space or an offset is refused.
    let shaped =
        expiration.len() >= 20 && expiration.as_bytes()[10] == b'T' && expiration.ends_with('Z');
    let expires = Some(expiration)
        .filter(|_| shaped)
        .and_then(|e| Timestamp::parse(s3s::dto::TimestampFormat::DateTime, e).ok())
        .ok_or(())
        .map_err(|_| invalid("Invalid 'expiration' value: use an ISO 8601 UTC time such as 2030-01-01T00:00:00Z."))?;
    if crate::convert::timestamp_seconds(&expires) < pier_store::now_millis() / 1000 {
        return Err(policy_refusal("Policy expired."));
    }
    let conditions = doc
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("Policy missing conditions."))?;
    let value_of = |name: &str| -> Option<String> {
        match name {
            "bucket" => Some(bucket.to_owned()),
            "key" => Some(key.to_owned()),
            other => fields.get(other).map(str::to_owned),
        }
    };
    let mut covered: Vec<String> = vec!["bucket".into()];
    let mut range = None;
    for c in conditions {
        match c {
            Value::Object(map) if map.is_empty() => {
                return Err(invalid("a condition object names no field"))
            }
            Value::Object(map) => {
                for (name, want) in map {
                    let name = name.to_ascii_lowercase();
                    let want = want
                        .as_str()
                        .ok_or_else(|| invalid("condition values must be strings"))?;
                    if value_of(&name).as_deref() != Some(want) {
                        return Err(policy_refusal(&format!(
                            "Policy Condition failed: [\"eq\", \"${name}\", \"{want}\"]"
                        )));
                    }
                    covered.push(name);
                }
            }
            Value::Array(items) => {
                let op = items.first().and_then(Value::as_str).unwrap_or_default();
                if op.eq_ignore_ascii_case("content-length-range") {
                    let bound = |i: usize| {
                        items
                            .get(i)
                            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                            .ok_or_else(|| invalid("content-length-range needs two numbers"))
                    };
                    range = Some((bound(1)?, bound(2)?));
                    continue;
                }
                let field = items
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(|f| f.strip_prefix('$'))
                    .ok_or_else(|| invalid("a condition names a field as \"$name\""))?
                    .to_ascii_lowercase();
                let want = items
                    .get(2)
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("condition values must be strings"))?;
                let have = value_of(&field).unwrap_or_default();
                let ok = match op.to_ascii_lowercase().as_str() {
                    "eq" => have == want,
                    "starts-with" if field == "content-type" => {
                        have.split(',').all(|t| t.trim().starts_with(want))
                    }
                    "starts-with" => have.starts_with(want),
                    other => return Err(invalid(&format!("unknown condition {other:?}"))),
                };
                if !ok {
                    return Err(policy_refusal(&format!(
                        "Policy Condition failed: [\"{op}\", \"${field}\", \"{want}\"]"
                    )));
                }
                covered.push(field);
            }
            _ => return Err(invalid("a condition is an object or an array")),
        }
    }
    let extra: Vec<&str> = fields
        .0
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !exempt(n) && !covered.iter().any(|c| c == n))
        .collect();
    if !extra.is_empty() {
        return Err(policy_refusal(&format!(
            "Extra input fields: {}",
            extra.join(", ")
        )));
    }
    Ok(range)
}
