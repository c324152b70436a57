//! The `aws-chunked` bodies of a `PutObject` whose bytes go out as they arrive, and their SigV4
//! signatures. The request's headers are signed once (the seed signature); the cluster then
//! checks every byte it is sent in one of two ways, with no need to hold the payload first:
//! - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: each chunk carries a signature over its SHA-256,
//!   chained to the one before ([`ChunkSigner`]);
//! - `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: the chunks carry their length only, and a trailer
//!   after the last one carries the CRC32C of them all ([`crc32c_trailer`]).
//!
//! Pure: no I/O, the time is given. AWS's references: "Signature Calculations for the
//! Authorization Header: Transferring Payload in Multiple Chunks" (the tests below reproduce its
//! worked example) and "... Including Trailing Headers".

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

type HmacSha256 = Hmac<Sha256>;

/// What `x-amz-content-sha256` says for a body signed chunk by chunk.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// What `x-amz-content-sha256` says for a body of unsigned chunks and a trailing checksum.
pub const UNSIGNED_TRAILER_PAYLOAD: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// The trailing header that carries the CRC32C of an unsigned body (`x-amz-trailer` names it).
pub const CRC32C_TRAILER: &str = "x-amz-checksum-crc32c";
/// The hex SHA-256 of nothing, which every chunk's string to sign carries.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// `;chunk-signature=` and 64 hex digits, then CRLF: what every chunk's header adds to its size
/// in hex.
const CHUNK_HEADER_TAIL: u64 = 17 + 64 + 2;

/// The keys and place a request is signed for.
#[derive(Clone, Debug)]
pub struct Credentials<'a> {
    /// The access key id.
    pub access_key: &'a str,
    /// The secret key.
    pub secret_key: &'a str,
    /// The region in the credential scope.
    pub region: &'a str,
}

/// A request's signed headers and the signer of its chunks, from [`sign_streaming`].
#[derive(Debug)]
pub struct SignedStream {
    /// The `Authorization` header's value.
    pub authorization: String,
    /// Signs the body's chunks in order.
    pub chunks: ChunkSigner,
}

/// Signs a streamed request: `headers` are every header to sign, names lower-case, values as
/// sent (they must include `host`, `x-amz-date` (`timestamp`), `x-amz-content-sha256`
/// ([`STREAMING_PAYLOAD`] or [`UNSIGNED_TRAILER_PAYLOAD`], which the signature covers),
/// `content-encoding`, `content-length` and `x-amz-decoded-content-length`). `path` is the
/// request's path, already URI-encoded. `timestamp` is `YYYYMMDDTHHMMSSZ`. The chunk signer is
/// for a [`STREAMING_PAYLOAD`] body only.
pub fn sign_streaming(
    credentials: &Credentials<'_>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    timestamp: &str,
) -> SignedStream {
    let mut sorted: Vec<(&str, &str)> = headers.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut canonical = format!("{method}\n{path}\n\n");
    for (name, value) in &sorted {
        let _ = writeln!(canonical, "{name}:{}", value.trim());
    }
    let names: Vec<&str> = sorted.iter().map(|(name, _)| *name).collect();
    let signed_headers = names.join(";");
    let payload = sorted
        .iter()
        .find(|(name, _)| *name == "x-amz-content-sha256")
        .map_or(STREAMING_PAYLOAD, |(_, value)| *value);
    let _ = write!(canonical, "\n{signed_headers}\n{payload}");
    let day = &timestamp[..8.min(timestamp.len())];
    let scope = format!("{day}/{}/s3/aws4_request", credentials.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(credentials.secret_key, day, credentials.region);
    let seed = hex::encode(hmac(&key, to_sign.as_bytes()));
    SignedStream {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={seed}",
            credentials.access_key
        ),
        chunks: ChunkSigner {
            key,
            timestamp: timestamp.to_owned(),
            scope,
            previous: seed,
        },
    }
}

/// Signs a streamed body's chunks, each chained to the signature before it (the first to the
/// request's seed signature): a chunk left out, repeated or reordered fails the check.
#[derive(Debug)]
pub struct ChunkSigner {
    key: [u8; 32],
    timestamp: String,
    scope: String,
    previous: String,
}

impl ChunkSigner {
    /// The header line that goes before a chunk of `len` bytes whose SHA-256 is `sha256`
    /// (`HEX-LEN;chunk-signature=SIG\r\n`); the chunk's bytes and a CRLF follow it.
    pub fn chunk_header(&mut self, len: usize, sha256: &[u8]) -> String {
        let to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.timestamp,
            self.scope,
            self.previous,
            hex::encode(sha256)
        );
        self.previous = hex::encode(hmac(&self.key, to_sign.as_bytes()));
        format!("{len:x};chunk-signature={}\r\n", self.previous)
    }

    /// The empty chunk that ends the body, with its CRLF.
    pub fn final_chunk(&mut self) -> String {
        let empty: [u8; 32] = Sha256::digest([]).into();
        self.chunk_header(0, &empty) + "\r\n"
    }
}

/// The `Content-Length` of a signed `aws-chunked` body carrying `decoded` bytes in chunks of
/// `chunk` bytes (the last one shorter), with the empty chunk that ends it.
pub fn encoded_length(decoded: u64, chunk: u64) -> u64 {
    framed_length(decoded, chunk, CHUNK_HEADER_TAIL, 1 + CHUNK_HEADER_TAIL + 2)
}

/// The `Content-Length` of an unsigned `aws-chunked` body carrying `decoded` bytes in chunks of
/// `chunk` bytes (the last one shorter), with the empty chunk and the CRC32C trailer that end it.
pub fn unsigned_encoded_length(decoded: u64, chunk: u64) -> u64 {
    framed_length(decoded, chunk, 2, crc32c_trailer(0).len() as u64)
}

/// The length of `decoded` bytes in chunks of `chunk` bytes, each after its size in hex and
/// `header_tail` more bytes of its header line and followed by a CRLF, then `end` bytes.
fn framed_length(decoded: u64, chunk: u64, header_tail: u64, end: u64) -> u64 {
    let framed = |len: u64| format!("{len:x}").len() as u64 + header_tail + len + 2;
    let full = decoded / chunk;
    let rest = decoded % chunk;
    full * framed(chunk) + if rest > 0 { framed(rest) } else { 0 } + end
}

/// The header line before a chunk of `len` bytes of an unsigned body; the chunk's bytes and a
/// CRLF follow it.
pub fn unsigned_chunk_header(len: usize) -> String {
    format!("{len:x}\r\n")
}

/// The end of an unsigned body whose bytes have the CRC32C `crc`: the empty chunk, the trailer
/// carrying the checksum (base64 of its four big-endian bytes, as S3's checksum headers are),
/// and the blank line.
pub fn crc32c_trailer(crc: u32) -> String {
    use base64::Engine as _;
    let value = base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes());
    format!("0\r\n{CRC32C_TRAILER}:{value}\r\n\r\n")
}

/// The key SigV4 derives for `day` in `region` for S3.
fn signing_key(secret: &str, day: &str, region: &str) -> [u8; 32] {
    let k = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, b"s3");
    hmac(&k, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's worked example: 66,560 bytes of `a` in 64 KiB chunks to
    /// `/examplebucket/chunkObject.txt`.
    fn example() -> SignedStream {
        sign_streaming(
            &Credentials {
                access_key: "AKIAIOSFODNN7EXAMPLE",
                secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                region: "us-east-1",
            },
            "PUT",
            "/examplebucket/chunkObject.txt",
            &[
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("host", "s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", STREAMING_PAYLOAD),
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("content-length", "66824"),
            ],
            "20130524T000000Z",
        )
    }

    #[test]
    fn the_seed_signature_is_awss_example() {
        assert_eq!(
            example().authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
             x-amz-decoded-content-length;x-amz-storage-class, \
             Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        );
    }

    #[test]
    fn each_chunk_signature_chains_to_the_one_before_as_in_awss_example() {
        let mut chunks = example().chunks;
        let first: [u8; 32] = Sha256::digest(vec![b'a'; 65536]).into();
        assert_eq!(
            chunks.chunk_header(65536, &first),
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
        );
        let second: [u8; 32] = Sha256::digest(vec![b'a'; 1024]).into();
        assert_eq!(
            chunks.chunk_header(1024, &second),
            "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
        );
        assert_eq!(
            chunks.final_chunk(),
            "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
        );
    }

    #[test]
    fn an_unsigned_body_is_signed_as_its_content_sha256_header_says() {
        let sign = |payload| {
            sign_streaming(
                &Credentials {
                    access_key: "AK",
                    secret_key: "SK",
                    region: "us-east-1",
                },
                "PUT",
                "/bucket/blob",
                &[
                    ("host", "cluster"),
                    ("x-amz-date", "20130524T000000Z"),
                    ("x-amz-content-sha256", payload),
                ],
                "20130524T000000Z",
            )
            .authorization
        };
        assert_ne!(sign(UNSIGNED_TRAILER_PAYLOAD), sign(STREAMING_PAYLOAD));
    }

    #[test]
    fn the_crc32c_trailer_is_base64_of_the_checksum_as_s3_writes_it() {
        // The CRC32C of "Hello World", as a bit-by-bit reference computes it.
        let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, b"Hello World") as u32;
        assert_eq!(
            crc32c_trailer(crc),
            "0\r\nx-amz-checksum-crc32c:aR2qLw==\r\n\r\n"
        );
    }

    #[test]
    fn the_unsigned_encoded_length_counts_every_chunk_header_and_the_trailer() {
        let trailer = "0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n".len() as u64;
        assert_eq!(unsigned_encoded_length(0, 65536), trailer);
        assert_eq!(
            unsigned_encoded_length(65536, 65536),
            5 + 2 + 65536 + 2 + trailer
        );
        assert_eq!(
            unsigned_encoded_length(66560, 65536),
            (5 + 2 + 65536 + 2) + (3 + 2 + 1024 + 2) + trailer
        );
    }

    #[test]
    fn the_encoded_length_counts_every_chunk_header_and_the_final_chunk() {
        assert_eq!(encoded_length(66560, 65536), 66824);
        assert_eq!(encoded_length(0, 65536), 86);
        assert_eq!(encoded_length(65536, 65536), 65536 + 5 + 83 + 2 + 86);
    }
}
