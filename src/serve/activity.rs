//! When bytes last moved on a connection, for the idle timeout and for telling a slow request
//! head from a kept-alive connection that is merely unused.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Times of the last read and the last write on one connection.
#[derive(Debug)]
pub(crate) struct Activity {
    start: Instant,
    /// Milliseconds since `start` plus one; 0 for never.
    last_read: AtomicU64,
    last_write: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_read: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
        })
    }

    fn stamp(&self, slot: &AtomicU64) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        slot.store(ms + 1, Ordering::Relaxed);
    }

    /// Whether the client sent bytes since the server last wrote: a request head is under
    /// way, as opposed to a connection waiting unused for its next request.
    pub(crate) fn reading_since_last_write(&self) -> bool {
        self.last_read.load(Ordering::Relaxed) > self.last_write.load(Ordering::Relaxed)
    }

    /// Whether the server has written anything yet (a connection that never got an answer
    /// never sent a complete request).
    pub(crate) fn wrote_anything(&self) -> bool {
        self.last_write.load(Ordering::Relaxed) > 0
    }

    /// Resolves once no byte has moved either way for `idle`.
    pub(crate) async fn idle_for(&self, idle: Duration) {
        loop {
            let last = self
                .last_read
                .load(Ordering::Relaxed)
                .max(self.last_write.load(Ordering::Relaxed));
            let deadline = self.start + Duration::from_millis(last.saturating_sub(1)) + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
        }
    }
}

/// An I/O stream that stamps [`Activity`] on every read and write that moves bytes.
#[derive(Debug)]
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.stamp(&self.activity.last_read);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.stamp(&self.activity.last_write);
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.stamp(&self.activity.last_write);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
