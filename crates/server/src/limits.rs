//! Limits that keep one hostile or broken client from taking the server down: a cap on open
//! connections (the excess answered `503` at once, `/_pier/health` still answered), a deadline
//! for each request head (which also ends idle keep-alive connections), a deadline for each
//! piece of a request body (a stalled upload frees its temp file), and a cap on HTTP/2 streams
//! per connection.

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The connection and request limits (config keys under `[limits]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most connections served at once; `0` derives it from the open-file limit (half of what
    /// is left after a reserve, at most 10,000), since each connection may hold a second file.
    pub max_connections: usize,
    /// Seconds a connection may take to deliver a complete request head, counted from when it
    /// opens or finishes its previous exchange: it bounds slow headers and idle keep-alive.
    pub header_timeout_secs: u64,
    /// Seconds a request body may go without delivering a byte before the request fails
    /// (`408`/`RequestTimeout`) and what it had sent is discarded.
    pub body_stall_secs: u64,
    /// The least a request body must deliver, in bytes per second averaged over each stall
    /// window: a client dripping a byte now and then fails like a silent one (0: no minimum).
    pub min_body_bytes_per_sec: u64,
    /// Most concurrent streams one HTTP/2 connection may open.
    pub http2_max_streams: u32,
    /// Most connections the dashboard's listener serves at once; `0` derives it from the
    /// open-file limit (an eighth of what is left after the reserve, at most 1,024), so the two
    /// listeners together stay within the process's file descriptors.
    pub dashboard_max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 0,
            header_timeout_secs: 30,
            body_stall_secs: 60,
            min_body_bytes_per_sec: 1024,
            http2_max_streams: 64,
            dashboard_max_connections: 0,
        }
    }
}

/// File descriptors kept back from connections for the database, blob files and logs.
const FD_RESERVE: u64 = 256;
/// The default connection cap's ceiling.
const DEFAULT_MAX_CONNECTIONS: u64 = 10_000;
/// The default dashboard connection cap's ceiling.
const DEFAULT_DASHBOARD_CONNECTIONS: u64 = 1_024;

impl Limits {
    /// The connection cap to apply given the open-file limit `nofile`.
    pub fn connection_cap(&self, nofile: u64) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        (nofile.saturating_sub(FD_RESERVE) / 2).clamp(16, DEFAULT_MAX_CONNECTIONS) as usize
    }

    /// The dashboard listener's connection cap given the open-file limit `nofile`.
    pub fn dashboard_connection_cap(&self, nofile: u64) -> usize {
        if self.dashboard_max_connections > 0 {
            return self.dashboard_max_connections;
        }
        (nofile.saturating_sub(FD_RESERVE) / 8).clamp(16, DEFAULT_DASHBOARD_CONNECTIONS) as usize
    }

    /// The listener limits of the dashboard, given the open-file limit `nofile`.
    pub fn dashboard(&self, nofile: u64) -> pier_edge::listen::ConnLimits {
        pier_edge::listen::ConnLimits {
            cap: self.dashboard_connection_cap(nofile),
            head_timeout: self.header_timeout(),
            http2_max_streams: self.http2_max_streams,
        }
    }

    /// The head deadline.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    /// The body stall deadline.
    pub fn body_stall(&self) -> Duration {
        Duration::from_secs(self.body_stall_secs.max(1))
    }
}

/// Raises the open-file soft limit to the hard limit and returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::Resource::NOFILE
                .get()
                .map_or(1024, |(soft, _)| soft)
        }
    }
}

pub use pier_edge::BodyStalled;

pin_project_lite::pin_project! {
    /// A request body that fails with [`BodyStalled`] when no frame arrives within its stall
    /// deadline (restarted by every frame), or when a whole stall window delivers less than the
    /// minimum rate, so a client that stops mid-upload, or drips it, cannot pin the upload's
    /// temp file and task for long.
    pub struct StallGuard<B> {
        #[pin]
        inner: B,
        #[pin]
        deadline: Sleep,
        stall: Duration,
        // Bytes per second a window must average (0: any).
        min_rate: u64,
        // When the current window began, and what it has delivered.
        window_start: Instant,
        window_bytes: u64,
    }
}

impl<B> StallGuard<B> {
    /// Guards `inner` with a stall deadline of `stall` and a minimum rate of `min_rate` bytes
    /// per second over each window of `stall`.
    pub fn new(inner: B, stall: Duration, min_rate: u64) -> Self {
        StallGuard {
            inner,
            deadline: tokio::time::sleep(stall),
            stall,
            min_rate,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }
}

impl<B> HttpBody for StallGuard<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Ready(frame) => {
                let stall = *this.stall;
                let now = Instant::now();
                this.deadline.as_mut().reset(now + stall);
                if let Some(Ok(f)) = &frame {
                    *this.window_bytes += f.data_ref().map_or(0, |d| d.len() as u64);
                }
                if now.duration_since(*this.window_start) >= stall {
                    let needed = this.min_rate.saturating_mul(stall.as_secs());
                    if *this.window_bytes < needed && !this.inner.is_end_stream() {
                        let sent = (*this.window_bytes).max(1);
                        return Poll::Ready(Some(Err(Box::new(BodyStalled(stall, sent)))));
                    }
                    *this.window_start = now;
                    *this.window_bytes = 0;
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.deadline.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled(*this.stall, 0))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use http_body_util::{BodyExt, StreamBody};

    #[test]
    fn the_default_cap_stays_below_the_file_limit() {
        let limits = Limits::default();
        assert_eq!(limits.connection_cap(20_000), 9_872);
        assert_eq!(limits.connection_cap(1_048_576), 10_000);
        assert_eq!(limits.connection_cap(260), 16);
        let set = Limits {
            max_connections: 50,
            ..Limits::default()
        };
        assert_eq!(set.connection_cap(20_000), 50);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_fails_after_its_deadline() {
        let (mut tx, rx) =
            futures::channel::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        futures::SinkExt::send(&mut tx, Ok(Frame::data(Bytes::from_static(b"abc"))))
            .await
            .unwrap();
        let body = StreamBody::new(rx.map(|x| x));
        let mut guarded = std::pin::pin!(StallGuard::new(body, Duration::from_secs(5), 0));
        let first = guarded.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "abc");
        // The sender stays open but sends nothing: the guard gives up after 5 s.
        let err = guarded.frame().await.unwrap().unwrap_err();
        assert!(err.downcast_ref::<BodyStalled>().is_some(), "{err}");
        drop(tx);
    }

    /// Sends `chunks` one-byte frames, one every `every`, then closes.
    fn drip(
        chunks: usize,
        every: Duration,
    ) -> StreamBody<futures::channel::mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>> {
        let (mut tx, rx) =
            futures::channel::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        tokio::spawn(async move {
            for _ in 0..chunks {
                tokio::time::sleep(every).await;
                let frame = Ok(Frame::data(Bytes::from_static(b"x")));
                if futures::SinkExt::send(&mut tx, frame).await.is_err() {
                    return;
                }
            }
        });
        StreamBody::new(rx)
    }

    #[tokio::test(start_paused = true)]
    async fn a_dripping_body_fails_at_its_first_window_below_the_minimum_rate() {
        // One byte a second never trips the 5-s stall deadline, but 5 bytes per 5-s window is
        // below a minimum of 10 bytes a second.
        let body = drip(100, Duration::from_secs(1));
        let mut guarded = std::pin::pin!(StallGuard::new(body, Duration::from_secs(5), 10));
        let started = Instant::now();
        let err = loop {
            match guarded.frame().await.unwrap() {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        let stalled = err.downcast_ref::<BodyStalled>().expect("a BodyStalled");
        assert!(stalled.1 > 0, "{err}");
        assert!(err.to_string().contains("minimum rate"), "{err}");
        assert!(started.elapsed() <= Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_the_minimum_rate_is_read_to_its_end() {
        let body = drip(30, Duration::from_millis(100));
        let mut guarded = std::pin::pin!(StallGuard::new(body, Duration::from_secs(1), 10));
        let mut n = 0;
        while let Some(frame) = guarded.frame().await {
            frame.unwrap();
            n += 1;
        }
        assert_eq!(n, 30);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_sending_never_stalls() {
        let (mut tx, rx) =
            futures::channel::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        let body = StreamBody::new(rx);
        let mut guarded = std::pin::pin!(StallGuard::new(body, Duration::from_secs(5), 0));
        tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                futures::SinkExt::send(&mut tx, Ok(Frame::data(Bytes::from_static(b"x"))))
                    .await
                    .unwrap();
            }
        });
        let mut n = 0;
        while let Some(frame) = guarded.frame().await {
            frame.unwrap();
            n += 1;
        }
        assert_eq!(n, 10);
    }
}
