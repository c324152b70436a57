//! Blobs in any S3-compatible cluster (SeaweedFS, Garage, Ceph RGW, MinIO, AWS), for pier nodes
//! that share their bytes (`docs/scale.md`): one immutable backend object per blob, named
//! `PREFIX/<id>`.
//!
//! Writing streams. A blob whose length is declared and larger than [`STREAMED_AFTER`] (up to
//! [`STREAMED_MAX`]) goes out as it arrives, in one `PutObject` with a body signed chunk by
//! chunk ([`super::streamed_put`]), holding no more than a short queue of chunks. Otherwise
//! bytes collect in a buffer of [`PART_SIZE`]; a blob that fits in one buffer is one
//! `PutObject` sent whole (which `object_store` retries on a passing failure), a larger one a
//! multipart upload whose parts go out while the next ones arrive, at most
//! [`PARTS_IN_FLIGHT`] at a time, so an upload holds at most
//! `(1 + PARTS_IN_FLIGHT) * PART_SIZE` bytes. Those buffers are allocated once per upload and
//! reused as their parts are confirmed. [`BlobSink::finish`] returns once the backend
//! confirmed the whole object; an unfinished upload is aborted. Reading fetches only the byte
//! range asked for and streams it through a bounded queue.
//!
//! The client (the `object_store` crate) is async; it runs on a small runtime of its own, and the
//! store's synchronous callers wait on channels, so no async runtime is ever nested.

use super::cluster_wait::{unavailable, wait_on};
use super::streamed_put::{StreamedPut, Target};
use super::{BlobSink, BlobSource, BlobStore, S3Location, StoredBlob};
use crate::error::{Result, StoreError};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, MultipartUpload, ObjectStore, PutPayload};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// Bytes per backend part (and the largest blob sent in one `PutObject`).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one blob uploading at once.
pub const PARTS_IN_FLIGHT: usize = 1;
/// Declared blobs larger than this stream to the cluster as they arrive; smaller ones are sent
/// whole from memory, where a failed request can be sent again.
pub const STREAMED_AFTER: u64 = 1024 * 1024;
/// The largest blob streamed in one `PutObject` (S3's limit for one); a larger one, or one of
/// unknown length, is a multipart upload.
pub const STREAMED_MAX: u64 = 5 * 1024 * 1024 * 1024;
/// How long one backend request is retried before the failure is passed on (as 503).
const RETRY_TIMEOUT: Duration = Duration::from_secs(20);
/// Chunks of a read waiting for the reader.
const READ_QUEUE: usize = 4;

/// What SigV4's canonical path leaves as it is: letters, digits, `-._~` and the `/` between
/// segments; every other byte is percent-encoded, so the path sent is the path signed.
const AWS_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// An S3-compatible cluster holding the blobs.
pub struct S3Blobs {
    client: Arc<AmazonS3>,
    /// The client and credentials for streamed `PutObject`s.
    streamed: Target,
    /// The bucket's URL (ending in `/`), which a streamed blob's path follows.
    bucket_url: String,
    prefix: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn backend_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { path, .. } => io::Error::new(
            io::ErrorKind::NotFound,
            format!("blob {path} is not in the backend"),
        ),
        other => io::Error::other(format!("blob backend: {other}")),
    }
}

impl S3Blobs {
    /// Connects to the cluster at `location` with these credentials, and checks that its bucket
    /// answers.
    pub fn open(location: &S3Location, access_key: &str, secret_key: &str) -> Result<S3Blobs> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            // A few quick retries, then the client hears 503 and retries itself: a request
            // never hangs on the cluster for minutes (the crate's default is three).
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: RETRY_TIMEOUT,
                ..object_store::RetryConfig::default()
            });
        if let Some(endpoint) = &location.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let client = builder
            .build()
            .map_err(|e| StoreError::Io(io::Error::other(format!("blob backend: {e}"))))?;
        // Path-style, as the client above addresses an endpoint; AWS's regional endpoint
        // otherwise.
        let endpoint = match &location.endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
            None => format!("https://s3.{}.amazonaws.com", location.region),
        };
        let bucket_url = format!("{endpoint}/{}/", location.bucket);
        reqwest::Url::parse(&bucket_url)
            .map_err(|e| StoreError::Io(io::Error::other(format!("blob backend: {e}"))))?;
        // A streamed request cannot be sent again, so it must not meet a connection the
        // cluster is closing: idle connections are dropped well before the usual server
        // timeouts (AWS S3's is about 20 s).
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| StoreError::Io(io::Error::other(format!("blob backend: {e}"))))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pier-blobs")
            .enable_all()
            .build()?;
        let blobs = S3Blobs {
            client: Arc::new(client),
            streamed: Target {
                http,
                access_key: access_key.to_owned(),
                secret_key: secret_key.to_owned(),
                region: location.region.clone(),
                check: location.check,
            },
            bucket_url,
            prefix: location.prefix.clone(),
            runtime: Some(runtime),
        };
        // Fail at start, not at the first upload, when the bucket or credentials are wrong.
        let client = Arc::clone(&blobs.client);
        let probe = blobs.path("pier-probe-never-written");
        match blobs.run(async move { client.head(&probe).await })? {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(blobs),
            Err(e) => Err(StoreError::Io(backend_error(e))),
        }
    }

    fn path(&self, id: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(id)
        } else {
            StorePath::from(format!("{}/{id}", self.prefix))
        }
    }

    /// Runs `fut` on the backend's runtime and waits for it, from any thread.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        wait_on(self.handle(), fut)
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("runtime until drop").handle()
    }
}

impl Drop for S3Blobs {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime may not block inside another runtime; nothing is pending here
            // that a caller still waits for.
            runtime.shutdown_background();
        }
    }
}

impl BlobStore for S3Blobs {
    fn create(&self, id: &str, size: Option<u64>) -> Result<Box<dyn BlobSink>> {
        if let Some(size) = size.filter(|n| (STREAMED_AFTER + 1..=STREAMED_MAX).contains(n)) {
            let path = self.path(id).to_string();
            let path = percent_encoding::utf8_percent_encode(&path, AWS_PATH);
            let url = reqwest::Url::parse(&format!("{}{path}", self.bucket_url))
                .map_err(|e| StoreError::Io(io::Error::other(format!("blob backend: {e}"))))?;
            let put = StreamedPut::start(self.handle().clone(), &self.streamed, url, size)
                .map_err(unavailable)?;
            return Ok(Box::new(put));
        }
        Ok(Box::new(S3Sink {
            client: Arc::clone(&self.client),
            handle: self.handle().clone(),
            path: self.path(id),
            buffer: BytesMut::new(),
            spare: Vec::new(),
            upload: None,
            in_flight: VecDeque::new(),
            finished: false,
        }))
    }

    fn open(&self, id: &str, start: u64, len: u64) -> io::Result<Box<dyn BlobSource>> {
        if len == 0 {
            let (_, rx) = tokio::sync::mpsc::channel(1);
            return Ok(Box::new(S3Source {
                chunks: rx,
                pending: Bytes::new(),
                left: 0,
            }));
        }
        let client = Arc::clone(&self.client);
        let path = self.path(id);
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..start + len)),
            ..GetOptions::default()
        };
        // Wait for the response head, so a missing blob is reported before any byte is sent.
        let found = self.run(async move { client.get_opts(&path, options).await })?;
        let body = found.map_err(backend_error)?.into_stream();
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(READ_QUEUE);
        self.handle().spawn(async move {
            let mut body = body;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(backend_error);
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    return; // the reader went away, or the error is passed on
                }
            }
        });
        Ok(Box::new(S3Source {
            chunks: rx,
            pending: Bytes::new(),
            left: len,
        }))
    }

    fn remove(&self, blobs: &[String]) -> Result<()> {
        for blob in blobs {
            let client = Arc::clone(&self.client);
            let path = self.path(blob);
            match self.run(async move { client.delete(&path).await })? {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(backend_error(e).into()),
            }
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<StoredBlob>> {
        let client = Arc::clone(&self.client);
        let prefix = (!self.prefix.is_empty()).then(|| StorePath::from(self.prefix.as_str()));
        let metas = self.run(async move {
            client
                .list(prefix.as_ref())
                .collect::<Vec<object_store::Result<object_store::ObjectMeta>>>()
                .await
        })?;
        metas
            .into_iter()
            .map(|meta| {
                let meta = meta.map_err(backend_error)?;
                let millis = u64::try_from(meta.last_modified.timestamp_millis()).unwrap_or(0);
                Ok(StoredBlob {
                    id: meta.location.filename().unwrap_or_default().to_owned(),
                    modified: UNIX_EPOCH + Duration::from_millis(millis),
                })
            })
            .collect()
    }

    fn shared(&self) -> bool {
        true
    }
}

/// A blob being uploaded.
struct S3Sink {
    client: Arc<AmazonS3>,
    handle: tokio::runtime::Handle,
    path: StorePath,
    buffer: BytesMut,
    /// Buffers of confirmed parts, for the next parts.
    spare: Vec<BytesMut>,
    /// The multipart upload, once the blob outgrew one buffer.
    upload: Option<Box<dyn MultipartUpload>>,
    /// Parts uploading, each with its bytes (a second handle, so the buffer can be reused once
    /// the upload let go of it).
    in_flight: VecDeque<(JoinHandle<object_store::Result<()>>, Bytes)>,
    finished: bool,
}

impl std::fmt::Debug for S3Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Sink")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl S3Sink {
    /// Runs `fut` on the backend's runtime and waits for it.
    fn wait<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        wait_on(&self.handle, fut)
    }

    /// Waits for the oldest part in flight, and keeps its buffer for a next part.
    fn wait_oldest(&mut self) -> io::Result<()> {
        let Some((part, bytes)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        self.wait(part)?
            .map_err(|e| io::Error::other(format!("a part upload panicked: {e}")))?
            .map_err(backend_error)?;
        // The upload is done with its bytes: this handle is the last one.
        if let Ok(mut buffer) = bytes.try_into_mut() {
            buffer.clear();
            self.spare.push(buffer);
        }
        Ok(())
    }

    /// Sends the full buffer as the next part (starting the multipart upload if needed).
    fn send_part(&mut self) -> io::Result<()> {
        if self.upload.is_none() {
            let client = Arc::clone(&self.client);
            let path = self.path.clone();
            let upload = self
                .wait(async move { client.put_multipart(&path).await })?
                .map_err(backend_error)?;
            self.upload = Some(upload);
        }
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.wait_oldest()?;
        }
        let next = self.spare.pop().unwrap_or_default();
        let data = std::mem::replace(&mut self.buffer, next).freeze();
        let part = self
            .upload
            .as_mut()
            .expect("started above")
            .put_part(PutPayload::from(data.clone()));
        self.in_flight.push_back((self.handle.spawn(part), data));
        Ok(())
    }
}

impl BlobSink for S3Sink {
    fn write(&mut self, mut data: &[u8], _shared: Option<&Bytes>) -> Result<()> {
        while !data.is_empty() {
            // A full buffer goes out only when more bytes follow: a blob of exactly one
            // buffer stays one PutObject.
            if self.buffer.len() == PART_SIZE {
                self.send_part().map_err(unavailable)?;
            }
            if self.buffer.capacity() < PART_SIZE {
                self.buffer.reserve(PART_SIZE - self.buffer.len());
            }
            let room = PART_SIZE - self.buffer.len();
            let (now, later) = data.split_at(room.min(data.len()));
            self.buffer.extend_from_slice(now);
            data = later;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        if self.upload.is_none() {
            let client = Arc::clone(&self.client);
            let path = self.path.clone();
            let data = PutPayload::from(std::mem::take(&mut self.buffer).freeze());
            self.wait(async move { client.put(&path, data).await })
                .and_then(|put| put.map_err(backend_error))
                .map_err(unavailable)?;
            self.finished = true;
            return Ok(());
        }
        if !self.buffer.is_empty() {
            self.send_part().map_err(unavailable)?;
        }
        while !self.in_flight.is_empty() {
            self.wait_oldest().map_err(unavailable)?;
        }
        let mut upload = self.upload.take().expect("checked above");
        let completed = self
            .wait(async move {
                let done = upload.complete().await;
                if done.is_err() {
                    let _ = upload.abort().await;
                }
                done
            })
            .map_err(unavailable)?;
        completed.map_err(backend_error).map_err(unavailable)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for S3Sink {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        for (part, _) in self.in_flight.drain(..) {
            part.abort();
        }
        if let Some(mut upload) = self.upload.take() {
            // Best effort: a backend keeps an unaborted upload's parts until its own cleanup.
            self.handle.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// A byte range of a blob, streaming from the backend.
#[derive(Debug)]
struct S3Source {
    chunks: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    /// What is left of the last chunk received.
    pending: Bytes,
    left: u64,
}

impl BlobSource for S3Source {
    fn next(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        if self.left == 0 {
            return Ok(None);
        }
        if self.pending.is_empty() {
            // Waits without a runtime of its own: the caller may be any thread.
            self.pending = match futures_executor::block_on(self.chunks.recv()) {
                Some(chunk) => chunk?,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "a blob in the backend is shorter than its metadata says",
                    ))
                }
            };
        }
        let n = max.min(self.pending.len()).min(self.left as usize);
        let chunk = self.pending.split_to(n);
        self.left -= n as u64;
        Ok(Some(chunk))
    }
}
