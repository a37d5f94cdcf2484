//! A local JSON-lines file of invocation-log records (one record per line), plain or gzip.
//!
//! Useful offline and for exported logs (e.g. the S3 destination, or CloudWatch exports).
//! The file is streamed line by line through one reused line buffer and parsed in place, so
//! memory stays flat whatever the file size, and a line longer than a limit is skipped
//! without being buffered. Gzip is recognised by its magic bytes (so `.jsonl.gz`, `.gz` or
//! any name works) and may hold several concatenated members. Progress is reported in bytes
//! of the file read; cancellation is checked every few hundred lines.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use async_trait::async_trait;
use flate2::bufread::MultiGzDecoder;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{ProgressSink, SourceError, SourceInfo, SourceKind, UsageSource};
use crate::usage::aggregate::Aggregator;
use crate::usage::query::UsageQuery;
use crate::usage::report::UsageReport;

/// Lines longer than this are counted as skipped (CloudWatch events are at most 1 MB).
pub(crate) const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Read-ahead buffer of the file (and of the decompressed stream).
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// Initial line buffer; a buffer grown past [`SHRINK_ABOVE_BYTES`] is given back afterwards.
const LINE_BUFFER_BYTES: usize = 64 * 1024;
const SHRINK_ABOVE_BYTES: usize = 1024 * 1024;
/// Lines between two cancellation checks (and progress reports).
const CHECK_EVERY_LINES: u32 = 256;
/// Progress is reported at most every 1/200 of the file, and at least 1 MiB apart.
const PROGRESS_STEPS: u64 = 200;
const MIN_PROGRESS_BYTES: u64 = 1024 * 1024;

/// A JSON-lines file (`.jsonl`, or gzip-compressed) of invocation-log records.
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    max_line_bytes: usize,
}

impl FileSource {
    /// A source reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource {
            path: path.into(),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }

    /// Sets the longest line read as a record; longer lines are counted as skipped.
    pub fn with_max_line_bytes(mut self, max_line_bytes: usize) -> Self {
        self.max_line_bytes = max_line_bytes.max(1);
        self
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and aggregates the file on the calling thread (blocking I/O).
    ///
    /// `on_progress(done, total)` gets bytes of the file read so far and the file's size.
    pub fn collect_blocking(
        &self,
        query: &UsageQuery,
        on_progress: &mut dyn FnMut(u64, u64),
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        let io_error = |source: io::Error| SourceError::Io {
            path: self.path.clone(),
            source,
        };
        let file = File::open(&self.path).map_err(io_error)?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let read = Rc::new(Cell::new(0u64));
        let mut raw = BufReader::with_capacity(
            READ_BUFFER_BYTES,
            CountingReader {
                inner: file,
                count: Rc::clone(&read),
            },
        );
        let gzip = raw.fill_buf().map_err(io_error)?.starts_with(&[0x1f, 0x8b]);

        let step = (total / PROGRESS_STEPS).max(MIN_PROGRESS_BYTES);
        let mut reported = 0u64;
        on_progress(0, total);
        let mut checkpoint = || {
            let done = read.get();
            if done >= reported.saturating_add(step) {
                reported = done;
                on_progress(done, total);
            }
        };

        let mut aggregator = Aggregator::new(query, self.describe());
        let scanned = if gzip {
            let decoder = BufReader::with_capacity(READ_BUFFER_BYTES, MultiGzDecoder::new(raw));
            scan_lines(
                decoder,
                &mut aggregator,
                self.max_line_bytes,
                cancel,
                &mut checkpoint,
            )
        } else {
            scan_lines(
                raw,
                &mut aggregator,
                self.max_line_bytes,
                cancel,
                &mut checkpoint,
            )
        };
        match scanned {
            Ok(()) => {}
            Err(ScanError::Cancelled) => return Err(SourceError::Cancelled),
            Err(ScanError::Io(e)) => return Err(io_error(e)),
        }
        on_progress(read.get(), total);
        Ok(aggregator.finish())
    }
}

#[async_trait]
impl UsageSource for FileSource {
    /// Runs [`FileSource::collect_blocking`] on the blocking pool and relays its progress.
    /// Dropping the returned future cancels the read.
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        progress.phase(&format!("reading {}", super::file_name(&self.path)));
        let (tx, mut rx) = watch::channel((0u64, 0u64));
        let source = self.clone();
        let query = query.clone();
        let token = cancel.child_token();
        let _cancel_on_drop = token.clone().drop_guard();
        let task = tokio::task::spawn_blocking(move || {
            source.collect_blocking(
                &query,
                &mut |done, total| {
                    let _ = tx.send((done, total));
                },
                &token,
            )
        });
        // The sender lives in the task, so this loop ends when the task does.
        while rx.changed().await.is_ok() {
            let (done, total) = *rx.borrow_and_update();
            progress.progress(done, Some(total));
        }
        match task.await {
            Ok(result) => result,
            Err(e) => Err(SourceError::Internal(e.to_string())),
        }
    }

    fn describe(&self) -> SourceInfo {
        SourceInfo::local(SourceKind::File)
    }
}

enum ScanError {
    Cancelled,
    Io(io::Error),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

/// Feeds every line of `reader` to `aggregator`, one reused buffer at a time.
fn scan_lines<R: BufRead>(
    mut reader: R,
    aggregator: &mut Aggregator,
    max_line_bytes: usize,
    cancel: &CancellationToken,
    checkpoint: &mut dyn FnMut(),
) -> Result<(), ScanError> {
    let limit = u64::try_from(max_line_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut line = Vec::with_capacity(LINE_BUFFER_BYTES);
    let mut first = true;
    let mut until_check = CHECK_EVERY_LINES;
    loop {
        line.clear();
        let n = (&mut reader).take(limit).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.len() > max_line_bytes && line.last() != Some(&b'\n') {
            // Too long: drop the rest of the line unread and count the record as skipped.
            reader.skip_until(b'\n')?;
            aggregator.add_skipped(1);
        } else {
            let mut record = line.as_slice();
            if first {
                record = record.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(record);
            }
            aggregator.add_line(record);
        }
        first = false;
        if line.capacity() > SHRINK_ABOVE_BYTES {
            line = Vec::with_capacity(LINE_BUFFER_BYTES);
        }
        until_check -= 1;
        if until_check == 0 {
            until_check = CHECK_EVERY_LINES;
            if cancel.is_cancelled() {
                return Err(ScanError::Cancelled);
            }
            checkpoint();
        }
    }
    if cancel.is_cancelled() {
        return Err(ScanError::Cancelled);
    }
    Ok(())
}

/// Counts the bytes read from the file, for progress.
struct CountingReader<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(
            self.count
                .get()
                .saturating_add(u64::try_from(n).unwrap_or(0)),
        );
        Ok(n)
    }
}
