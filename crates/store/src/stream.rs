//! Object bytes as an async stream, for any API to send: small objects in one piece, larger ones
//! as memory-mapped windows produced by a blocking task through a two-slot channel (so a reader
//! holds at most about three windows).

use crate::{Readable, Result, Store};
use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Bytes per window when streaming an object out.
const WINDOW: usize = 1024 * 1024;
/// Objects up to this size are read in one piece on the caller's task.
const INLINE_READ: u64 = 128 * 1024;

/// A stream of an object's bytes.
pub struct ObjectStream(Inner);

enum Inner {
    Once(Option<Bytes>),
    Channel(mpsc::Receiver<io::Result<Bytes>>),
}

impl futures_core::Stream for ObjectStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.0 {
            Inner::Once(b) => Poll::Ready(b.take().map(Ok)),
            Inner::Channel(rx) => rx.poll_recv(cx),
        }
    }
}

impl Store {
    /// Streams `len` bytes of `entry` from `start`, from what its snapshot named. A missing
    /// blob is reported here, before any byte is sent: `Reclaimed` when the entry is gone since
    /// it was read (read it again), an error of the machine otherwise. Must be called inside a
    /// Tokio runtime.
    pub fn stream(&self, entry: &Readable, start: u64, len: u64) -> Result<ObjectStream> {
        let mut reader = self.reader(entry, start, len);
        if len <= INLINE_READ {
            let mut data = Vec::with_capacity(len as usize);
            while reader.remaining() > 0 {
                let chunk = reader
                    .next_mapped(WINDOW)
                    .map_err(|e| self.read_failure(entry, e))?;
                match chunk {
                    // An inline object's whole range is one chunk: no copy.
                    Some(chunk) if data.is_empty() && chunk.len() as u64 == len => {
                        return Ok(ObjectStream(Inner::Once(Some(chunk))));
                    }
                    Some(chunk) => data.extend_from_slice(&chunk),
                    None => break,
                }
            }
            return Ok(ObjectStream(Inner::Once(Some(Bytes::from(data)))));
        }
        reader.prepare().map_err(|e| self.read_failure(entry, e))?;
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(2);
        tokio::task::spawn_blocking(move || loop {
            match reader.next_mapped(WINDOW) {
                Ok(None) => return,
                Ok(Some(chunk)) => {
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        return; // the client went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        });
        Ok(ObjectStream(Inner::Channel(rx)))
    }
}
