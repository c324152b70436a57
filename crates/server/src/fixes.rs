//! Corrections applied around s3s 0.14.1 at the edge.

use bytes::Bytes;
use http::{header, Method, Response, StatusCode};
use pier_s3::fault::{S3ErrorKind, S3Fault};
use s3s::Body;

/// The longest validity of a presigned URL (seven days), as S3 enforces.
pub const MAX_PRESIGNED_EXPIRY_SECS: u64 = 604_800;

/// Removes bodies that HTTP forbids: on answers to HEAD (s3s 0.14.1 attaches XML error bodies)
/// and on 304 Not Modified. Keeps `Content-Length` on HEAD (it describes the object).
pub fn strip_forbidden_body(method: &Method, mut resp: Response<Body>) -> Response<Body> {
    let not_modified = resp.status() == StatusCode::NOT_MODIFIED;
    if *method == Method::HEAD || not_modified {
        if resp.status().is_client_error() || resp.status().is_server_error() || not_modified {
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            resp.headers_mut().remove(header::CONTENT_TYPE);
        }
        *resp.body_mut() = Body::empty();
    }
    resp
}

/// True when a request carries `Expect: 100-continue` but no body, so it will be answered
/// without a `100 Continue`.
///
/// botocore (aws CLI, boto3) mishandles a final response that arrives without `100 Continue` on
/// a kept-alive connection: it keeps that response's status for the next request on the same
/// connection and then hangs until its read timeout. hyper sends `100 Continue` only when a body
/// is read, so such answers close the connection ([`close_connection`]), which RFC 9110 allows.
pub fn expects_continue_without_body<B>(req: &http::Request<B>) -> bool {
    expects_continue(req.headers())
        && req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
}

/// True when `Expect: 100-continue` is among `headers`.
pub fn expects_continue(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Asks for the connection to be closed after this response.
pub fn close_connection(resp: &mut Response<Body>) {
    resp.headers_mut()
        .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
}

/// Puts the request id into an S3 `<Error>` document that has none, so the body's `RequestId`
/// matches the `x-amz-request-id` header (clients log one and support desks ask for it).
pub fn error_request_id(resp: Response<Body>, request_id: &str) -> Response<Body> {
    if resp.status().as_u16() < 400 {
        return resp;
    }
    let Some(body) = resp.body().bytes() else {
        return resp;
    };
    let text = String::from_utf8_lossy(&body);
    let Some(end) = text.rfind("</Error>") else {
        return resp;
    };
    if text.contains("<RequestId>") {
        return resp;
    }
    let fixed = format!(
        "{}<RequestId>{}</RequestId>{}",
        &text[..end],
        pier_s3::fault::escape(request_id),
        &text[end..]
    );
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(fixed.len()),
    );
    Response::from_parts(parts, Body::from(bytes::Bytes::from(fixed)))
}

/// GetObjectAttributes names the ETag without quotes (unlike every other S3 document); s3s
/// 0.14.1 writes every ETag quoted. For a GetObjectAttributes answer.
pub fn attributes_etag(resp: Response<Body>) -> Response<Body> {
    if !resp.status().is_success() {
        return resp;
    }
    let Some(body) = resp.body().bytes() else {
        return resp;
    };
    let text = String::from_utf8_lossy(&body);
    if !text.contains("<ETag>\"") {
        return resp;
    }
    let fixed = text
        .replace("<ETag>\"", "<ETag>")
        .replace("\"</ETag>", "</ETag>");
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(fixed.len()),
    );
    Response::from_parts(parts, Body::from(bytes::Bytes::from(fixed)))
}

/// Control characters in an S3 XML document (an object key with `\x01` in a listing), written
/// as character references, as AWS writes them: s3s 0.14.1 writes them raw, which no XML parser
/// reads (a raw `\r` even changes the key: parsers turn it into `\n`). Tab and line feed stay
/// as they are. Object bodies (GetObject) are never touched: they are streams, not documents.
pub fn xml_control_chars(resp: Response<Body>) -> Response<Body> {
    let is_xml = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/xml"));
    if !is_xml {
        return resp;
    }
    let Some(body) = resp.body().bytes() else {
        return resp;
    };
    let control = |b: &u8| pier_s3::fault::is_control(*b);
    if !body.iter().any(control) {
        return resp;
    }
    let mut fixed = Vec::with_capacity(body.len() + 16);
    for b in body.iter() {
        if control(b) {
            fixed.extend_from_slice(format!("&#x{b:X};").as_bytes());
        } else {
            fixed.push(*b);
        }
    }
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(fixed.len()),
    );
    Response::from_parts(parts, Body::from(Bytes::from(fixed)))
}

/// An empty `Content-MD5` on an upload is S3's 400 `InvalidDigest` (s3s 0.14.1 drops the empty
/// header and would store the object unchecked).
/// For an upload whose `Content-MD5` checks its bytes (PutObject, UploadPart).
pub fn check_empty_md5(headers: &http::HeaderMap) -> Option<Response<Body>> {
    let value = headers.get("content-md5")?;
    value
        .as_bytes()
        .iter()
        .all(u8::is_ascii_whitespace)
        .then(|| {
            S3Fault::new(
                S3ErrorKind::InvalidDigest,
                "The Content-MD5 you specified is not valid.",
            )
            .into_response()
        })
}

/// Refuses a presigned URL valid for more than seven days (s3s 0.14.1 accepts any expiry).
pub fn check_presigned_expiry(query: Option<&str>) -> Option<Response<Body>> {
    let query = query?;
    let expires = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-Expires="))?;
    let too_long = match expires.parse::<u64>() {
        Ok(secs) => secs > MAX_PRESIGNED_EXPIRY_SECS,
        Err(_) => true,
    };
    too_long.then(|| {
        S3Fault::new(
            S3ErrorKind::AuthorizationQueryParametersError,
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
        )
        .into_response()
    })
}

/// True for a request signed with SigV2 (header or presigned URL).
fn is_sigv2<B>(req: &http::Request<B>) -> bool {
    let header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("AWS "));
    let query = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("AWSAccessKeyId=")));
    header || query
}

/// SigV2 signs a path-style bucket request as `/bucket/` (AWS's CanonicalizedResource always
/// ends a bucket with a slash) while clients send `/bucket`; s3s 0.14.1 signs the path as sent.
/// The path gets its slash before s3s checks the signature; routing is unchanged. Only for a
/// request that addresses a bucket (`addresses_key` false): in virtual-host style a
/// one-segment path is an object key and stays as it is.
pub fn sigv2_bucket_path<B>(mut req: http::Request<B>, addresses_key: bool) -> http::Request<B> {
    if addresses_key {
        return req;
    }
    let path = req.uri().path();
    let one_segment = path.len() > 1 && !path[1..].contains('/');
    if !one_segment || !is_sigv2(&req) {
        return req;
    }
    let pq = match req.uri().query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = pq.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// How far a SigV2 request's date may be from the server's clock (S3's 15 minutes).
const V2_MAX_SKEW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// S3's date checks for a SigV2-signed request (`Authorization: AWS id:signature`), made before
/// the signature, as AWS makes them: no date, or one that does not parse (or falls before
/// 1970), is 403 `AccessDenied`; one more than 15 minutes off is 403 `RequestTimeTooSkewed`.
/// s3s 0.14.1 checks only the signature, so such requests came back `SignatureDoesNotMatch`.
pub fn check_v2_date(headers: &http::HeaderMap) -> Option<Response<Body>> {
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    if !auth.starts_with("AWS ") {
        return None;
    }
    let date = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .and_then(|d| {
            let d = d.trim();
            httpdate::parse_http_date(d)
                .ok()
                .or_else(|| lenient_imf_date(d))
        });
    let Some(date) = date else {
        return Some(
            S3Fault::new(
                S3ErrorKind::AccessDenied,
                "AWS authentication requires a valid Date or x-amz-date header",
            )
            .into_response(),
        );
    };
    let now = std::time::SystemTime::now();
    let skew = now
        .duration_since(date)
        .or_else(|_| date.duration_since(now))
        .unwrap_or_default();
    (skew > V2_MAX_SKEW).then(|| {
        S3Fault::new(
            S3ErrorKind::RequestTimeTooSkewed,
            "The difference between the request time and the current time is too large.",
        )
        .into_response()
    })
}

/// `Www, DD Mon YYYY HH:MM:SS ZONE` without checking the weekday (AWS does not; httpdate does),
/// for years 1970 to 9999, where ZONE is `GMT`, `UTC`, `UT`, `Z` or a numeric offset such as
/// `+0000` or `-0700` (RFC 1123 as RFC 2822 writes it; s3cmd sends `+0000`, and so do AWS's own
/// SigV2 examples).
fn lenient_imf_date(text: &str) -> Option<std::time::SystemTime> {
    let rest = text.split_once(", ").map_or(text, |(_, r)| r);
    let mut parts = rest.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| Some(*m) == parts.clone().next())? as i64
        + 1;
    parts.next();
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let offset = zone_offset_secs(parts.next()?)?;
    if parts.next().is_some() || !(1970..=9999).contains(&year) || !(1..=31).contains(&day) {
        return None;
    }
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..=60).contains(&sec) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + sec - offset;
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Seconds east of UTC a date's zone names: `GMT`, `UTC`, `UT` and `Z` are 0, `+HHMM` and
/// `-HHMM` what they say.
fn zone_offset_secs(zone: &str) -> Option<i64> {
    if matches!(zone, "GMT" | "UTC" | "UT" | "Z") {
        return Some(0);
    }
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hh, mm): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
    (hh <= 23 && mm <= 59).then_some(sign * (hh * 3600 + mm * 60))
}

/// The largest XML (or JSON) request document read. AWS's largest documents (1000 keys to
/// delete, 10,000 parts to complete) stay near 1 MiB.
pub const MAX_XML_BODY: usize = 4 * 1024 * 1024;

/// Documents buffered at once: they are read before the signature is checked, so their memory
/// is bounded here (16 × 4 MiB), not by the number of connections.
static DOCUMENT_READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(16);

/// Reads the document body of an XML-bodied S3 request before s3s does, because s3s 0.14.1
/// answers a body over its limit, or one that does not match its signed
/// `x-amz-content-sha256`, with a bare 500. Here they are the client errors AWS gives
/// (`MaxMessageLengthExceeded`, `XAmzContentSHA256Mismatch`, `RequestTimeout`,
/// `IncompleteBody`). The request goes on with its body in memory (s3s would buffer it anyway).
pub async fn read_document_body(
    req: http::Request<Body>,
) -> Result<http::Request<Body>, Response<Body>> {
    use http_body_util::BodyExt;
    let sha = req
        .headers()
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if sha.as_deref().is_some_and(|s| s.starts_with("streaming-")) {
        return Ok(req); // aws-chunked: s3s checks each chunk's signature
    }
    let (parts, body) = req.into_parts();
    let _slot = DOCUMENT_READS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let bytes = match http_body_util::Limited::new(body, MAX_XML_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(S3Fault::new(S3ErrorKind::MaxMessageLengthExceeded, "Your request was too big.").into_response())
        }
        Err(e) if pier_edge::is_body_stall(&*e) => {
            return Err(S3Fault::new(S3ErrorKind::RequestTimeout, "Your socket connection to the server was not read from or written to within the timeout period.").into_response())
        }
        Err(_) => {
            return Err(S3Fault::new(S3ErrorKind::IncompleteBody, "The request body terminated unexpectedly").into_response())
        }
    };
    if let Some(expected) =
        sha.filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        use sha2::Digest as _;
        let actual = hex::encode(sha2::Sha256::digest(&bytes));
        if actual != expected {
            return Err(S3Fault::new(
                S3ErrorKind::XAmzContentSHA256Mismatch,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
            .into_response());
        }
    }
    Ok(http::Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    #[test]
    fn an_empty_content_md5_on_an_upload_is_invalid_digest() {
        let mut h = HeaderMap::new();
        h.insert("content-md5", HeaderValue::from_static(""));
        let resp = check_empty_md5(&h).expect("refused");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        h.insert(
            "content-md5",
            HeaderValue::from_static("1B2M2Y8AsgTpgAmY7PhCfg=="),
        );
        assert!(check_empty_md5(&h).is_none());
    }

    #[test]
    fn presigned_expiry_cap() {
        assert!(check_presigned_expiry(Some("X-Amz-Expires=604800&a=b")).is_none());
        assert!(check_presigned_expiry(Some("a=b&X-Amz-Expires=604801")).is_some());
        assert!(check_presigned_expiry(Some("X-Amz-Expires=soon")).is_some());
        assert!(check_presigned_expiry(None).is_none());
    }

    #[test]
    fn head_errors_lose_their_body() {
        let resp = S3Fault::new(S3ErrorKind::NotFound, "x").into_response();
        let resp = strip_forbidden_body(&Method::HEAD, resp);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(resp.headers().get(header::CONTENT_TYPE).is_none());
    }
}

#[cfg(test)]
mod v2_date_tests {
    use super::check_v2_date;
    use http::{HeaderMap, HeaderValue};

    fn signed(date: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("AWS AKID:c2lnbmF0dXJl"),
        );
        if let Some(d) = date {
            h.insert("date", HeaderValue::from_str(d).unwrap());
        }
        h
    }

    fn code(h: &HeaderMap) -> Option<String> {
        let resp = check_v2_date(h)?;
        let body = resp.body().bytes().unwrap();
        let text = String::from_utf8_lossy(&body).into_owned();
        Some(
            text.split("<Code>")
                .nth(1)?
                .split("</Code>")
                .next()?
                .to_owned(),
        )
    }

    #[test]
    fn bad_or_missing_dates_are_access_denied() {
        for d in [
            None,
            Some("Bad Date"),
            Some(""),
            Some("Tue, 07 Jul 1950 21:53:04 GMT"),
        ] {
            assert_eq!(code(&signed(d)).as_deref(), Some("AccessDenied"), "{d:?}");
        }
    }

    #[test]
    fn skewed_dates_are_request_time_too_skewed() {
        for d in [
            "Tue, 07 Jul 2010 21:53:04 GMT",
            "Tue, 07 Jul 9999 21:53:04 GMT",
        ] {
            assert_eq!(
                code(&signed(Some(d))).as_deref(),
                Some("RequestTimeTooSkewed"),
                "{d}"
            );
        }
    }

    #[test]
    fn dates_with_numeric_zones_and_the_other_http_forms_are_read() {
        let utc = super::lenient_imf_date("Tue, 07 Jul 2010 21:53:04 GMT").unwrap();
        for same in [
            "Tue, 07 Jul 2010 21:53:04 +0000",
            "Tue, 07 Jul 2010 21:53:04 UTC",
            "Tue, 07 Jul 2010 23:53:04 +0200",
            "Tue, 07 Jul 2010 14:53:04 -0700",
        ] {
            assert_eq!(super::lenient_imf_date(same), Some(utc), "{same}");
        }
        for bad in [
            "Tue, 07 Jul 2010 21:53:04 +00",
            "Tue, 07 Jul 2010 21:53:04 EST5",
            "Tue, 07 Jul 2010 25:53:04 GMT",
        ] {
            assert_eq!(super::lenient_imf_date(bad), None, "{bad}");
        }
        // RFC 850 and asctime, as HTTP allows them (httpdate reads those).
        let now = std::time::SystemTime::now();
        let imf = httpdate::fmt_http_date(now);
        let t = httpdate::parse_http_date(&imf).unwrap();
        let rfc850 = {
            let d = time_parts(t);
            format!("{}, {:02}-{}-{:02} {} GMT", d.0, d.1, d.2, d.3 % 100, d.4)
        };
        let asctime = {
            let d = time_parts(t);
            format!("{} {} {:>2} {} {}", &d.0[..3], d.2, d.1, d.4, d.3)
        };
        for form in [rfc850, asctime] {
            let h = signed(Some(&form));
            assert!(check_v2_date(&h).is_none(), "{form}");
        }
    }

    /// Weekday name, day, month, year and `HH:MM:SS` of `t` (from its IMF-fixdate).
    fn time_parts(t: std::time::SystemTime) -> (String, u32, String, u32, String) {
        let imf = httpdate::fmt_http_date(t);
        let p: Vec<&str> = imf.split_whitespace().collect();
        let weekday = match p[0].trim_end_matches(',') {
            "Mon" => "Monday",
            "Tue" => "Tuesday",
            "Wed" => "Wednesday",
            "Thu" => "Thursday",
            "Fri" => "Friday",
            "Sat" => "Saturday",
            _ => "Sunday",
        };
        (
            weekday.to_owned(),
            p[1].parse().unwrap(),
            p[2].to_owned(),
            p[3].parse().unwrap(),
            p[4].to_owned(),
        )
    }

    #[test]
    fn the_lenient_parser_reads_dates_httpdate_refuses() {
        let t = super::lenient_imf_date("Tue, 07 Jul 2010 21:53:04 GMT").unwrap();
        assert_eq!(httpdate::fmt_http_date(t), "Wed, 07 Jul 2010 21:53:04 GMT");
    }

    #[test]
    fn a_current_date_and_sigv4_pass() {
        let now = httpdate::fmt_http_date(std::time::SystemTime::now());
        assert!(check_v2_date(&signed(Some(&now))).is_none());
        let mut v4 = HeaderMap::new();
        v4.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=x"),
        );
        assert!(check_v2_date(&v4).is_none());
    }
}

#[cfg(test)]
mod xml_tests {
    use super::*;

    fn xml(body: &'static [u8]) -> Response<Body> {
        Response::builder()
            .header(header::CONTENT_TYPE, "application/xml")
            .body(Body::from(Bytes::from_static(body)))
            .unwrap()
    }

    #[test]
    fn control_characters_in_xml_become_references() {
        let fixed = xml_control_chars(xml(b"<Key>a\x01b\rc\td\ne</Key>"));
        assert_eq!(
            fixed.body().bytes().unwrap().as_ref(),
            b"<Key>a&#x1;b&#xD;c\td\ne</Key>"
        );
        assert_eq!(fixed.headers()[header::CONTENT_LENGTH], "28");
        let plain = xml_control_chars(xml(b"<Key>abc</Key>"));
        assert!(plain.headers().get(header::CONTENT_LENGTH).is_none());
    }
}

/// Canaries: each shows that s3s 0.14.1 still has the limitation a fix here corrects. When
/// one fails after an s3s upgrade, its fix can go.
#[cfg(test)]
mod s3s_canaries {
    use s3s::dto::{ETag, GetObjectAttributesOutput, ListObjectsV2Output, Object};
    use s3s::xml::{Serialize, Serializer};

    fn xml(value: &impl Serialize) -> String {
        let mut out = Vec::new();
        value
            .serialize(&mut Serializer::new(&mut out))
            .expect("serializes");
        String::from_utf8_lossy(&out).into_owned()
    }

    /// [`super::attributes_etag`]: s3s quotes GetObjectAttributes' ETag; S3 does not.
    #[test]
    fn s3s_still_quotes_the_etag_of_get_object_attributes() {
        let out = GetObjectAttributesOutput {
            e_tag: Some(ETag::Strong("abc".into())),
            ..Default::default()
        };
        assert!(xml(&out).contains("<ETag>\"abc\"</ETag>"), "{}", xml(&out));
    }

    /// [`super::xml_control_chars`]: s3s writes control characters of a key raw.
    #[test]
    fn s3s_still_writes_control_characters_raw() {
        let out = ListObjectsV2Output {
            contents: Some(vec![Object {
                key: Some("a\u{1}b".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert!(xml(&out).contains("<Key>a\u{1}b</Key>"), "{}", xml(&out));
    }
}
