//! A blob of declared length sent to the cluster as one `PutObject` while its bytes arrive: the
//! body is `aws-chunked` in 64 KiB chunks ([`super::aws_chunked`]), each signed or all covered by
//! a trailing CRC32C ([`BodyCheck`]), so the cluster checks every byte before it keeps the blob,
//! and the node holds no more than a short queue of chunks (the multipart path buffers two
//! 8 MiB parts and makes the cluster assemble them).
//!
//! A request whose bytes stream cannot be sent again: a failure is passed on (as 503, so the
//! client retries), never retried here. A sink dropped unfinished breaks its request off before
//! the last chunk, so the cluster keeps nothing (and what a cluster might keep anyway is never
//! referenced, and swept as an orphan).

use super::aws_chunked::{
    crc32c_trailer, encoded_length, sign_streaming, unsigned_chunk_header, unsigned_encoded_length,
    ChunkSigner, Credentials, CRC32C_TRAILER, STREAMING_PAYLOAD, UNSIGNED_TRAILER_PAYLOAD,
};
use super::cluster_wait::{unavailable, wait_on};
use super::location::BodyCheck;
use super::BlobSink;
use crate::error::{Result, StoreError};
use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use std::io;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes per chunk of the body (what AWS's SDKs use).
pub const CHUNK: usize = 64 * 1024;
/// Pieces of body (chunk headers, slices of chunks) queued for the connection.
const QUEUE: usize = 64;
/// How long a write waits for the cluster to take more bytes, and `finish` for its answer.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The cluster a streamed `PutObject` goes to, and as whom.
#[derive(Debug)]
pub struct Target {
    /// The client, shared by every request of the backend.
    pub http: reqwest::Client,
    /// The access key id.
    pub access_key: String,
    /// The secret key.
    pub secret_key: String,
    /// The region signed for.
    pub region: String,
    /// How the cluster checks the bytes.
    pub check: BodyCheck,
}

/// What checks the chunks as they go: the chunk signer and the current chunk's SHA-256, or the
/// running CRC32C of the body.
enum ChunkCheck {
    Signed { signer: ChunkSigner, hasher: Sha256 },
    Crc32c(crc_fast::Digest),
}

impl std::fmt::Debug for ChunkCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChunkCheck::Signed { .. } => "Signed",
            ChunkCheck::Crc32c(_) => "Crc32c",
        })
    }
}

impl ChunkCheck {
    /// The check `check` asks for; `signer` signs the chunks of a signed body.
    fn new(check: BodyCheck, signer: ChunkSigner) -> ChunkCheck {
        match check {
            BodyCheck::Crc32cTrailer => {
                ChunkCheck::Crc32c(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi))
            }
            BodyCheck::SignedChunks => ChunkCheck::Signed {
                signer,
                hasher: Sha256::new(),
            },
        }
    }

    fn update(&mut self, piece: &[u8]) {
        match self {
            ChunkCheck::Signed { hasher, .. } => hasher.update(piece),
            ChunkCheck::Crc32c(digest) => digest.update(piece),
        }
    }

    /// The header line before a chunk of `len` bytes, all given to [`ChunkCheck::update`].
    fn chunk_header(&mut self, len: usize) -> String {
        match self {
            ChunkCheck::Signed { signer, hasher } => {
                signer.chunk_header(len, &hasher.finalize_reset())
            }
            ChunkCheck::Crc32c(_) => unsigned_chunk_header(len),
        }
    }

    /// What ends the body after its last chunk.
    fn end(&mut self) -> String {
        match self {
            ChunkCheck::Signed { signer, .. } => signer.final_chunk(),
            // The CRC-32/ISCSI digest's value fits in 32 bits.
            ChunkCheck::Crc32c(digest) => crc32c_trailer(digest.finalize() as u32),
        }
    }
}

/// A blob streaming to the cluster as one `PutObject` of `declared` bytes.
#[derive(Debug)]
pub struct StreamedPut {
    handle: tokio::runtime::Handle,
    /// The body's pieces; `None` once the body is complete.
    body: Option<mpsc::Sender<io::Result<Bytes>>>,
    /// The request, answering with the cluster's verdict.
    request: Option<JoinHandle<std::result::Result<(), String>>>,
    check: ChunkCheck,
    /// The chunk being collected: its pieces and their length.
    pieces: Vec<Bytes>,
    filled: usize,
    declared: u64,
    written: u64,
    finished: bool,
}

impl StreamedPut {
    /// Starts the request for a blob of exactly `declared` bytes at `url` (its path already
    /// percent-encoded as SigV4 signs it) on `target`.
    pub fn start(
        handle: tokio::runtime::Handle,
        target: &Target,
        url: reqwest::Url,
        declared: u64,
    ) -> io::Result<StreamedPut> {
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(io::Error::other("the blob cluster's URL has no host")),
        };
        let now = time::OffsetDateTime::now_utc();
        let timestamp = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let (payload, length, trailer) = match target.check {
            BodyCheck::Crc32cTrailer => (
                UNSIGNED_TRAILER_PAYLOAD,
                unsigned_encoded_length(declared, CHUNK as u64),
                Some(("x-amz-trailer", CRC32C_TRAILER)),
            ),
            BodyCheck::SignedChunks => (
                STREAMING_PAYLOAD,
                encoded_length(declared, CHUNK as u64),
                None,
            ),
        };
        let length = length.to_string();
        let decoded = declared.to_string();
        let mut headers = vec![
            ("host", host.as_str()),
            ("x-amz-date", timestamp.as_str()),
            ("x-amz-content-sha256", payload),
            ("content-encoding", "aws-chunked"),
            ("content-length", length.as_str()),
            ("x-amz-decoded-content-length", decoded.as_str()),
        ];
        headers.extend(trailer);
        let signed = sign_streaming(
            &Credentials {
                access_key: &target.access_key,
                secret_key: &target.secret_key,
                region: &target.region,
            },
            "PUT",
            url.path(),
            &headers,
            &timestamp,
        );
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(QUEUE);
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|piece| (piece, rx))
        });
        let mut request = target
            .http
            .put(url)
            .header("authorization", signed.authorization)
            .body(reqwest::Body::wrap_stream(body));
        for (name, value) in headers.iter().filter(|(name, _)| *name != "host") {
            request = request.header(*name, *value);
        }
        let request = handle.spawn(async move {
            let response = request
                .send()
                .await
                .map_err(|e| format!("blob backend: {e}"))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let text = response.text().await.unwrap_or_default();
            Err(format!("blob backend answered {status}: {text}"))
        });
        Ok(StreamedPut {
            handle,
            body: Some(tx),
            request: Some(request),
            check: ChunkCheck::new(target.check, signed.chunks),
            pieces: Vec::new(),
            filled: 0,
            declared,
            written: 0,
            finished: false,
        })
    }

    /// Queues one piece of the body, waiting while the connection is behind.
    fn push(&mut self, piece: Bytes) -> io::Result<()> {
        let body = self
            .body
            .as_ref()
            .ok_or_else(|| io::Error::other("the body was already complete"))?;
        match body.try_send(Ok(piece)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(piece)) => {
                let body = body.clone();
                let sent = wait_on(&self.handle, async move {
                    tokio::time::timeout(STALL_TIMEOUT, body.send(piece)).await
                })?;
                match sent {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(self.request_outcome()),
                    Err(_) => Err(io::Error::other(
                        "blob backend: took no bytes for 30 s during an upload",
                    )),
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(self.request_outcome()),
        }
    }

    /// Why the request stopped taking the body: its error, once it ended.
    fn request_outcome(&mut self) -> io::Error {
        match self.answer() {
            Ok(()) => io::Error::other("blob backend: answered before the whole body"),
            Err(e) => e,
        }
    }

    /// Waits (at most [`STALL_TIMEOUT`]) for the cluster's answer to the request.
    fn answer(&mut self) -> io::Result<()> {
        let request = self
            .request
            .take()
            .ok_or_else(|| io::Error::other("blob backend: the upload already ended"))?;
        match wait_on(&self.handle, async move {
            tokio::time::timeout(STALL_TIMEOUT, request).await
        })? {
            Ok(Ok(answer)) => answer.map_err(io::Error::other),
            Ok(Err(e)) => Err(io::Error::other(format!(
                "blob backend: the upload task failed: {e}"
            ))),
            Err(_) => Err(io::Error::other(format!(
                "blob backend: no answer for {} s after the body stopped",
                STALL_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Queues the collected chunk: its header (signed, or its length only), its pieces, a CRLF.
    fn send_chunk(&mut self) -> io::Result<()> {
        let header = self.check.chunk_header(self.filled);
        self.push(Bytes::from(header))?;
        for piece in std::mem::take(&mut self.pieces) {
            self.push(piece)?;
        }
        self.filled = 0;
        self.push(Bytes::from_static(b"\r\n"))
    }
}

impl BlobSink for StreamedPut {
    fn write(&mut self, data: &[u8], shared: Option<&Bytes>) -> Result<()> {
        // `BlobWriter` refuses a client's extra bytes first; here they would be the server's
        // own fault, and would break the request's framing.
        if self.written + data.len() as u64 > self.declared {
            return Err(StoreError::Io(io::Error::other(format!(
                "more bytes than the {} a streamed blob declared",
                self.declared
            ))));
        }
        let bytes = match shared {
            Some(shared) if shared.len() == data.len() => shared.clone(),
            _ => Bytes::copy_from_slice(data),
        };
        let mut at = 0;
        while at < bytes.len() {
            let take = (CHUNK - self.filled).min(bytes.len() - at);
            let piece = bytes.slice(at..at + take);
            self.check.update(&piece);
            self.pieces.push(piece);
            self.filled += take;
            at += take;
            if self.filled == CHUNK {
                self.send_chunk().map_err(unavailable)?;
            }
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        if self.written != self.declared {
            return Err(StoreError::Io(io::Error::other(format!(
                "a blob declared as {} bytes was given {}",
                self.declared, self.written
            ))));
        }
        let ended = (|| {
            if self.filled > 0 {
                self.send_chunk()?;
            }
            let last = self.check.end();
            self.push(Bytes::from(last))?;
            self.body = None;
            self.answer()
        })();
        ended.map_err(unavailable)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for StreamedPut {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Break the body off before its last chunk: the cluster stores nothing.
        if let Some(body) = self.body.take() {
            let _ = body.try_send(Err(io::Error::other("the upload was abandoned")));
        }
        if let Some(request) = self.request.take() {
            request.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;

    /// A cluster on loopback that reads a request's head and `take` bytes of its body, then
    /// answers `answer` (if any) and closes; returns its address and what it received.
    fn cluster(
        take: usize,
        answer: Option<&'static str>,
    ) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}/bucket/blob", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut received = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let head_end = loop {
                let n = socket.read(&mut buf).unwrap();
                assert!(n > 0, "the request ended before its head");
                received.extend_from_slice(&buf[..n]);
                if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
            };
            while received.len() - head_end < take {
                match socket.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            }
            if let Some(answer) = answer {
                let _ = socket.write_all(answer.as_bytes());
            }
            received
        });
        (address, server)
    }

    fn target(check: BodyCheck) -> Target {
        Target {
            http: reqwest::Client::new(),
            access_key: "AK".into(),
            secret_key: "SK".into(),
            region: "us-east-1".into(),
            check,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    /// A streamed upload of `declared` bytes to `url`, on `runtime`, checked as `check` says.
    fn start(
        runtime: &tokio::runtime::Runtime,
        url: &str,
        declared: u64,
        check: BodyCheck,
    ) -> Box<StreamedPut> {
        Box::new(
            StreamedPut::start(
                runtime.handle().clone(),
                &target(check),
                url.parse().unwrap(),
                declared,
            )
            .unwrap(),
        )
    }

    /// The value of header `name` in a request's head.
    fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
        head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    #[test]
    fn an_unsigned_body_carries_its_bytes_in_chunks_and_their_crc32c_in_a_trailer() {
        let runtime = runtime();
        let data: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let length = unsigned_encoded_length(data.len() as u64, CHUNK as u64) as usize;
        let (url, server) = cluster(
            length,
            Some("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        );
        let mut put = start(&runtime, &url, data.len() as u64, BodyCheck::Crc32cTrailer);
        // Pieces of uneven sizes, as a client's body arrives.
        for piece in data.chunks(10_000) {
            put.write(piece, None).unwrap();
        }
        put.finish().unwrap();
        let received = server.join().unwrap();
        let at = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&received[..at]).into_owned();
        let mut body = &received[at..];
        assert_eq!(
            header(&head, "content-length"),
            Some(length.to_string().as_str())
        );
        assert_eq!(body.len(), length);
        assert_eq!(
            header(&head, "x-amz-content-sha256"),
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        );
        assert_eq!(
            header(&head, "x-amz-trailer"),
            Some("x-amz-checksum-crc32c")
        );
        assert_eq!(
            header(&head, "x-amz-decoded-content-length"),
            Some("150000")
        );
        let mut decoded = Vec::new();
        loop {
            let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
            let len =
                usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap(), 16).unwrap();
            body = &body[line_end + 2..];
            if len == 0 {
                break;
            }
            assert!(
                len == CHUNK || decoded.len() + len == data.len(),
                "a short chunk midway"
            );
            decoded.extend_from_slice(&body[..len]);
            assert_eq!(&body[len..len + 2], b"\r\n");
            body = &body[len + 2..];
        }
        assert!(decoded == data, "the chunks do not carry the bytes written");
        let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, &data) as u32;
        use base64::Engine as _;
        let want = format!(
            "x-amz-checksum-crc32c:{}\r\n\r\n",
            base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
        );
        assert_eq!(String::from_utf8_lossy(body), want);
    }

    /// What a cluster received of a 1 MiB upload checked as `check` says, dropped after half
    /// its bytes.
    fn abandoned_half_way(check: BodyCheck) -> String {
        let runtime = runtime();
        let (url, server) = cluster(usize::MAX, None);
        let mut put = start(&runtime, &url, 1 << 20, check);
        let chunk = Bytes::from(vec![7u8; 64 * 1024]);
        for _ in 0..8 {
            put.write(&chunk, Some(&chunk)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
        drop(put);
        let received = server.join().unwrap();
        let text = String::from_utf8_lossy(&received).into_owned();
        assert!(text.starts_with("PUT /bucket/blob HTTP/1.1"), "{text:.200}");
        assert!(text.contains("x-amz-decoded-content-length: 1048576"));
        text
    }

    #[test]
    fn an_unsigned_upload_dropped_unfinished_never_sends_its_trailer() {
        let text = abandoned_half_way(BodyCheck::Crc32cTrailer);
        assert!(
            !text.contains("x-amz-checksum-crc32c:"),
            "a trailer was sent"
        );
        assert!(!text.contains("\r\n0\r\n"), "a final chunk was sent");
    }

    #[test]
    fn a_cluster_refusing_midway_makes_the_upload_unavailable_not_hung() {
        let runtime = runtime();
        let (url, server) = cluster(
            200_000,
            Some("HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\nConnection: close\r\n\r\nAccessDenied"),
        );
        let mut put = start(&runtime, &url, 8 << 20, BodyCheck::SignedChunks);
        let chunk = Bytes::from(vec![7u8; 64 * 1024]);
        let mut outcome = Ok(());
        for _ in 0..128 {
            outcome = put.write(&chunk, Some(&chunk));
            if outcome.is_err() {
                break;
            }
        }
        let outcome = outcome.and_then(|()| put.finish());
        assert!(
            matches!(&outcome, Err(StoreError::Unavailable(_))),
            "{outcome:?}"
        );
        server.join().unwrap();
    }

    #[test]
    fn a_streamed_upload_dropped_unfinished_never_sends_its_last_chunk() {
        let text = abandoned_half_way(BodyCheck::SignedChunks);
        // What was queued may or may not have gone out before the drop; the final chunk,
        // which would make the cluster keep the object, never does.
        assert!(
            text.matches(";chunk-signature=").count() <= 8,
            "{text:.200}"
        );
        assert!(
            !text.contains("\r\n0;chunk-signature="),
            "a final chunk was sent"
        );
    }
}
