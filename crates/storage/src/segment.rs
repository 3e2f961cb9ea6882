//! One log segment: the `.log` file plus its `.index` and `.timeindex`, with the in-memory
//! metadata (size, next offset, max timestamp) needed to append, read, roll and retain.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::batch::{
    self, check_batch_at, decode_header, BatchHeader, BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES,
    MAGIC_V2, MIN_BATCH_LENGTH_BYTES,
};
use crate::error::StorageError;
use crate::index::{OffsetIndex, TimeIndex};

/// Bytes read at a time when walking batch headers.
const SCAN_CHUNK_BYTES: usize = 64 * 1024;
/// Bytes copied at a time when splitting an overflowed segment.
const SPLIT_COPY_CHUNK_BYTES: usize = 1024 * 1024;
/// Largest offset distance from the segment base an index entry can hold (Kafka's
/// `LogSegment.canConvertToRelativeOffset`: relative offsets are stored as 4 bytes and must
/// stay a non-negative `int`).
pub(crate) const MAX_RELATIVE_OFFSET: i64 = i32::MAX as i64;
/// Largest segment file size: index entries store file positions as `u32`.
pub(crate) const MAX_SEGMENT_FILE_BYTES: u64 = u32::MAX as u64;
/// Digits in segment file names (Kafka zero-pads base offsets to 20 digits).
pub(crate) const SEGMENT_NAME_DIGITS: usize = 20;

/// `<20-digit base offset>.<ext>`.
pub(crate) fn segment_file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:0width$}.{ext}", width = SEGMENT_NAME_DIGITS)
}

/// Why a scan stopped before the end of the file.
#[derive(Debug)]
pub(crate) struct ScanStop {
    /// Byte position of the first unusable batch.
    pub position: u64,
    /// What was wrong with it.
    pub reason: String,
    /// Set when the batch at `position` is valid and follows the previous one but its offsets
    /// (or its end position) do not fit relative to this segment's base: a segment written by
    /// an older version without per-batch rolls. Holds that batch's base offset; the caller
    /// splits the segment there (Kafka's `splitOverflowedSegment`) instead of truncating. The
    /// file is left intact in that case (only the in-memory size stops at `position`).
    pub overflow_base: Option<i64>,
}

/// Walks the batches of a segment file through a chunked read buffer, so that scanning headers
/// costs one `pread` per [`SCAN_CHUNK_BYTES`] rather than one per batch.
struct Scanner<'a> {
    file: &'a File,
    path: &'a Path,
    file_size: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

enum Step {
    Batch(BatchHeader),
    End,
    Invalid(String),
}

impl<'a> Scanner<'a> {
    fn new(file: &'a File, path: &'a Path, file_size: u64) -> Self {
        Scanner {
            file,
            path,
            file_size,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// Makes `[pos, pos + len)` available in the buffer and returns it. The caller guarantees
    /// that range lies within the file.
    fn ensure(&mut self, pos: u64, len: usize) -> Result<&[u8], StorageError> {
        let end = pos + len as u64;
        debug_assert!(end <= self.file_size);
        let covered = pos >= self.buf_start && end <= self.buf_start + self.buf.len() as u64;
        if !covered {
            let want = len
                .max(SCAN_CHUNK_BYTES)
                .min(usize::try_from(self.file_size - pos).unwrap_or(usize::MAX));
            // `read_exact_at_into` fills the whole spare capacity: a buffer grown by an earlier
            // large batch would make every later chunk read that much more.
            if self.buf.capacity() > want {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
            read_exact_at_into(self.file, &mut self.buf, want, pos)
                .map_err(|e| StorageError::io(self.path, e))?;
            self.buf_start = pos;
        }
        let from = (pos - self.buf_start) as usize;
        Ok(&self.buf[from..from + len])
    }

    /// Reads the batch at `pos`: framing always checked, CRC only when `validate`.
    fn next(&mut self, pos: u64, validate: bool) -> Result<Step, StorageError> {
        let remaining = self.file_size.saturating_sub(pos);
        if remaining == 0 {
            return Ok(Step::End);
        }
        if remaining < BATCH_HEADER_BYTES as u64 {
            return Ok(Step::Invalid(format!(
                "torn batch: only {remaining} bytes left"
            )));
        }
        let head = self.ensure(pos, BATCH_HEADER_BYTES)?;
        let total = match framed_size(head, remaining) {
            Ok(total) => total,
            Err(reason) => return Ok(Step::Invalid(reason)),
        };
        if validate {
            let whole = self.ensure(pos, total)?;
            return Ok(match check_batch_at(whole, 0) {
                Ok(h) => Step::Batch(h),
                Err(e) => Step::Invalid(e.to_string()),
            });
        }
        Ok(Step::Batch(decode_header(head)))
    }

    /// Position and header of the first batch at or after `pos` whose last offset is
    /// >= `offset`, if any.
    fn find(
        &mut self,
        mut pos: u64,
        offset: i64,
    ) -> Result<Option<(u64, BatchHeader)>, StorageError> {
        loop {
            match self.next(pos, false)? {
                Step::Batch(h) => {
                    if h.last_offset() >= offset {
                        return Ok(Some((pos, h)));
                    }
                    pos += h.total_size() as u64;
                }
                Step::End => return Ok(None),
                Step::Invalid(reason) => {
                    return Err(StorageError::CorruptMessage {
                        position: pos as usize,
                        reason: format!("in {}: {reason}", self.path.display()),
                    })
                }
            }
        }
    }

    /// The bytes `[start, end)` of the file: a slice of the scan buffer when it already holds
    /// them (a read near the log end then costs no further `pread` and no copy), else one
    /// `pread`. The caller guarantees the range lies within the file.
    fn take(mut self, start: u64, end: u64) -> Result<Bytes, StorageError> {
        debug_assert!(start <= end && end <= self.file_size);
        let buf_end = self.buf_start + self.buf.len() as u64;
        if start >= self.buf_start && end <= buf_end {
            let from = (start - self.buf_start) as usize;
            let to = (end - self.buf_start) as usize;
            return Ok(Bytes::from(std::mem::take(&mut self.buf)).slice(from..to));
        }
        let mut buf = Vec::new();
        read_exact_at_into(self.file, &mut buf, (end - start) as usize, start)
            .map_err(|e| StorageError::io(self.path, e))?;
        Ok(Bytes::from(buf))
    }
}

/// Appends exactly `len` bytes of `file` at `at` to `buf`, reading into its spare capacity:
/// a fetch of a megabyte reads a megabyte, without first zeroing it (the zeroing was a sixth
/// of a consuming broker's CPU). Each `pread` fills the whole spare capacity, so callers pass
/// a buffer without much more room than `len`.
fn read_exact_at_into(file: &File, buf: &mut Vec<u8>, len: usize, at: u64) -> std::io::Result<()> {
    let start = buf.len();
    let target = start + len;
    buf.reserve_exact(len);
    while buf.len() < target {
        let done = (buf.len() - start) as u64;
        match rustix::io::pread(file, rustix::buffer::spare_capacity(buf), at + done) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "file ends {} bytes short of a read at {at}",
                        target - buf.len()
                    ),
                ))
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The allocator may have given more capacity than asked, and the read filled it.
    buf.truncate(target);
    Ok(())
}

/// Writes every byte of `parts`, in order, at `at`: one `pwritev` for the usual append (a
/// batch's patched prefix and its body), more only after a short write. Returns the bytes
/// written.
fn write_all_vectored_at(file: &File, parts: &[&[u8]], at: u64) -> std::io::Result<u64> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut done = 0usize;
    while done < total {
        // Skip what was written, then hand the rest to the kernel in one call.
        let mut skip = done;
        let mut slices = Vec::with_capacity(parts.len());
        for part in parts {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            slices.push(std::io::IoSlice::new(&part[skip..]));
            skip = 0;
        }
        match rustix::io::pwritev(file, &slices, at + done as u64) {
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(total as u64)
}

/// Checks the framing of the batch whose first [`BATCH_HEADER_BYTES`] are `head`, with
/// `remaining` bytes of file from its start, and returns its total size (length prefix
/// included).
fn framed_size(head: &[u8], remaining: u64) -> Result<usize, String> {
    let magic = head[16] as i8;
    let batch_length = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    if magic != MAGIC_V2 {
        return Err(format!("magic {magic} is not 2"));
    }
    if batch_length < MIN_BATCH_LENGTH_BYTES {
        return Err(format!("batch length {batch_length} too small"));
    }
    let total = batch_length as u64 + LOG_OVERHEAD_BYTES as u64;
    if total > remaining {
        return Err(format!(
            "torn batch: length {total} but only {remaining} bytes left"
        ));
    }
    Ok(total as usize)
}

/// A segment of a partition log.
pub(crate) struct Segment {
    base_offset: i64,
    log_path: PathBuf,
    log: File,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    rolling_timestamp: Option<i64>,
    created_ms: i64,
    bytes_since_last_index_entry: u64,
    index_interval_bytes: u32,
}

impl Segment {
    /// Opens (creating if missing) the files of the segment starting at `base_offset`.
    /// Metadata is empty until [`Segment::recover`] scans the file.
    pub(crate) fn open(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        index_max_bytes: u32,
        now_ms: i64,
    ) -> Result<Self, StorageError> {
        let log_path = dir.join(segment_file_name(base_offset, "log"));
        let log = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&log_path)
            .map_err(|e| StorageError::io(&log_path, e))?;
        let size = log
            .metadata()
            .map_err(|e| StorageError::io(&log_path, e))?
            .len();
        let offset_index = OffsetIndex::open(
            dir.join(segment_file_name(base_offset, "index")),
            base_offset,
            index_max_bytes,
        )?;
        let time_index = TimeIndex::open(
            dir.join(segment_file_name(base_offset, "timeindex")),
            base_offset,
            index_max_bytes,
        )?;
        Ok(Segment {
            base_offset,
            log_path,
            log,
            offset_index,
            time_index,
            size,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            rolling_timestamp: None,
            created_ms: now_ms,
            bytes_since_last_index_entry: 0,
            index_interval_bytes,
        })
    }

    /// Scans every batch, rebuilding metadata and both indexes (rewriting index files that are
    /// missing, stale or corrupt). With `validate`, CRCs are checked too. The file is truncated
    /// at the first unusable batch (torn or corrupt tail); that position is returned.
    /// `inactive` adds Kafka's final time-index entry for segments that are no longer appended to.
    pub(crate) fn recover(
        &mut self,
        validate: bool,
        inactive: bool,
        on_batch: &mut dyn FnMut(&BatchHeader),
    ) -> Result<Option<ScanStop>, StorageError> {
        let mut offset_entries = Vec::new();
        let mut time_entries: Vec<(i64, u32)> = Vec::new();
        let mut bytes_since = 0u64;
        let mut max_ts = -1i64;
        let mut off_max = self.base_offset;
        let mut next_offset = self.base_offset;
        let mut rolling = None;
        let mut pos = 0u64;
        let mut stop = None;
        {
            let mut scanner = Scanner::new(&self.log, &self.log_path, self.size);
            loop {
                let h = match scanner.next(pos, validate)? {
                    Step::End => break,
                    Step::Invalid(reason) => {
                        stop = Some(ScanStop {
                            position: pos,
                            reason,
                            overflow_base: None,
                        });
                        break;
                    }
                    Step::Batch(h) => h,
                };
                let last = h.checked_last_offset().filter(|&l| l < i64::MAX);
                let Some(last) =
                    last.filter(|_| h.base_offset >= next_offset && h.last_offset_delta >= 0)
                else {
                    stop = Some(ScanStop {
                        position: pos,
                        reason: format!(
                            "batch offsets {}+{} do not follow {next_offset} in segment {}",
                            h.base_offset, h.last_offset_delta, self.base_offset
                        ),
                        overflow_base: None,
                    });
                    break;
                };
                let rel_last = last - self.base_offset;
                if rel_last > MAX_RELATIVE_OFFSET
                    || pos + h.total_size() as u64 > MAX_SEGMENT_FILE_BYTES
                {
                    stop = Some(ScanStop {
                        position: pos,
                        reason: format!(
                            "batch {}..={last} at byte {pos} does not fit relative to segment {}",
                            h.base_offset, self.base_offset
                        ),
                        overflow_base: Some(h.base_offset),
                    });
                    break;
                }
                if h.max_timestamp > max_ts {
                    max_ts = h.max_timestamp;
                    off_max = h.last_offset();
                }
                if rolling.is_none() {
                    rolling = Some(h.max_timestamp);
                }
                if bytes_since > u64::from(self.index_interval_bytes) {
                    offset_entries.push((rel_last as u32, pos as u32));
                    push_time_entry(&mut time_entries, max_ts, off_max - self.base_offset);
                    bytes_since = 0;
                }
                bytes_since += h.total_size() as u64;
                on_batch(&h);
                pos += h.total_size() as u64;
                next_offset = h.last_offset() + 1;
            }
        }
        if inactive && max_ts >= 0 {
            push_time_entry(&mut time_entries, max_ts, off_max - self.base_offset);
        }
        let overflowed = stop.as_ref().is_some_and(|s| s.overflow_base.is_some());
        if pos < self.size {
            // An overflowed tail is valid data: the caller moves it to its own segment and
            // cuts the file afterwards (see `move_tail_to`).
            if !overflowed {
                self.log
                    .set_len(pos)
                    .map_err(|e| StorageError::io(&self.log_path, e))?;
            }
            self.size = pos;
        }
        self.next_offset = next_offset;
        self.max_timestamp = max_ts;
        self.offset_of_max_timestamp = off_max;
        self.rolling_timestamp = rolling;
        self.bytes_since_last_index_entry = bytes_since;
        if self.offset_index.replace(offset_entries)? {
            tracing::info!(index = %self.offset_index.path().display(), "rebuilt offset index");
        }
        if self.time_index.replace(time_entries)? {
            tracing::info!(index = %self.time_index.path().display(), "rebuilt time index");
        }
        Ok(stop)
    }

    /// Appends one batch whose header (offsets, max timestamp) is already final. `parts` are
    /// written back to back; together they are exactly the batch bytes.
    pub(crate) fn append_batch(
        &mut self,
        header: &BatchHeader,
        parts: &[&[u8]],
    ) -> Result<(), StorageError> {
        debug_assert!(header.base_offset >= self.next_offset, "offsets only grow");
        let position = self.size;
        let written = write_all_vectored_at(&self.log, parts, position)
            .map_err(|e| StorageError::io(&self.log_path, e))?;
        debug_assert_eq!(written, header.total_size() as u64);
        self.size = position + written;
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max_timestamp = header.last_offset();
        }
        if self.rolling_timestamp.is_none() {
            self.rolling_timestamp = Some(header.max_timestamp);
        }
        if self.bytes_since_last_index_entry > u64::from(self.index_interval_bytes) {
            self.offset_index
                .append(header.last_offset(), position as u32)?;
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp)?;
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += header.total_size() as u64;
        self.next_offset = header.last_offset() + 1;
        Ok(())
    }

    /// Whether a batch with these offsets and size can be appended here without a relative
    /// offset or file position overflowing the index formats (Kafka's
    /// `canConvertToRelativeOffset`, checked per batch).
    pub(crate) fn can_hold(&self, base_offset: i64, last_offset: i64, bytes: u64) -> bool {
        base_offset >= self.base_offset
            && last_offset.saturating_sub(self.base_offset) <= MAX_RELATIVE_OFFSET
            && self.size.saturating_add(bytes) <= MAX_SEGMENT_FILE_BYTES
    }

    /// Everything an append changes, to undo a partly written payload.
    pub(crate) fn mark(&self) -> SegmentMark {
        SegmentMark {
            size: self.size,
            next_offset: self.next_offset,
            max_timestamp: self.max_timestamp,
            offset_of_max_timestamp: self.offset_of_max_timestamp,
            rolling_timestamp: self.rolling_timestamp,
            bytes_since_last_index_entry: self.bytes_since_last_index_entry,
            offset_index_entries: self.offset_index.len(),
            time_index_entries: self.time_index.len(),
        }
    }

    /// Returns the segment to `mark`: cuts the file and both indexes back and restores the
    /// in-memory metadata. The metadata is restored even when cutting a file fails (so reads
    /// and later appends never see the undone bytes); the error is still returned.
    pub(crate) fn restore(&mut self, mark: &SegmentMark) -> Result<(), StorageError> {
        debug_assert!(
            mark.size <= self.size,
            "a mark is never ahead of the segment"
        );
        self.size = mark.size;
        self.next_offset = mark.next_offset;
        self.max_timestamp = mark.max_timestamp;
        self.offset_of_max_timestamp = mark.offset_of_max_timestamp;
        self.rolling_timestamp = mark.rolling_timestamp;
        self.bytes_since_last_index_entry = mark.bytes_since_last_index_entry;
        let log = self
            .log
            .set_len(mark.size)
            .map_err(|e| StorageError::io(&self.log_path, e));
        let offsets = self
            .offset_index
            .truncate_entries(mark.offset_index_entries);
        let times = self.time_index.truncate_entries(mark.time_index_entries);
        log.and(offsets).and(times)
    }

    /// Moves the bytes from `position` to the end of the file into the (empty) `.log` file of
    /// the segment at `dst_base` in `dir`, fsyncs it, then cuts this file at `position` (the
    /// order makes a crash in between leave a duplicate tail that the next split overwrites,
    /// never a loss). Used to split a segment whose tail overflowed relative offsets.
    pub(crate) fn move_tail_to(
        &mut self,
        position: u64,
        dir: &Path,
        dst_base: i64,
    ) -> Result<(), StorageError> {
        let dst_path = dir.join(segment_file_name(dst_base, "log"));
        let dst = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&dst_path)
            .map_err(|e| StorageError::io(&dst_path, e))?;
        let end = self
            .log
            .metadata()
            .map_err(|e| StorageError::io(&self.log_path, e))?
            .len();
        let mut buf = vec![0u8; SPLIT_COPY_CHUNK_BYTES];
        let mut at = position;
        while at < end {
            let n = usize::try_from(end - at)
                .unwrap_or(usize::MAX)
                .min(SPLIT_COPY_CHUNK_BYTES);
            self.log
                .read_exact_at(&mut buf[..n], at)
                .map_err(|e| StorageError::io(&self.log_path, e))?;
            dst.write_all_at(&buf[..n], at - position)
                .map_err(|e| StorageError::io(&dst_path, e))?;
            at += n as u64;
        }
        dst.sync_all().map_err(|e| StorageError::io(&dst_path, e))?;
        self.log
            .set_len(position)
            .map_err(|e| StorageError::io(&self.log_path, e))?;
        self.log
            .sync_all()
            .map_err(|e| StorageError::io(&self.log_path, e))?;
        self.size = self.size.min(position);
        Ok(())
    }

    /// Kafka's `onBecomeInactiveSegment`: make the time index end with the segment's max timestamp.
    pub(crate) fn on_become_inactive(&mut self) -> Result<(), StorageError> {
        if self.max_timestamp >= 0 {
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp)?;
        }
        Ok(())
    }

    /// Position and header of the first batch whose last offset is >= `offset`, if any.
    pub(crate) fn find_batch(
        &self,
        offset: i64,
    ) -> Result<Option<(u64, BatchHeader)>, StorageError> {
        let pos = u64::from(self.offset_index.lookup(offset));
        Scanner::new(&self.log, &self.log_path, self.size).find(pos, offset)
    }

    /// Calls `f` with every batch header of the segment, in order (no CRC check).
    pub(crate) fn for_each_header(
        &self,
        f: &mut dyn FnMut(&BatchHeader),
    ) -> Result<(), StorageError> {
        let mut pos = 0u64;
        let mut scanner = Scanner::new(&self.log, &self.log_path, self.size);
        while let Step::Batch(h) = scanner.next(pos, false)? {
            f(&h);
            pos += h.total_size() as u64;
        }
        Ok(())
    }

    /// Reads whole batches starting with the one holding `offset`; `None` when this segment
    /// holds no batch whose last offset is >= `offset`.
    ///
    /// Stops before a batch whose last offset is >= `max_offset_exclusive` or that would
    /// exceed `max_bytes` (unless it is the first and `min_one_batch`). One scan finds the
    /// start and the same buffer usually holds the answer, so a read near the log end costs a
    /// single `pread`; a longer read costs one more, of the bytes it returns, never a copy.
    pub(crate) fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset_exclusive: i64,
        min_one_batch: bool,
    ) -> Result<Option<Bytes>, StorageError> {
        let mut scanner = Scanner::new(&self.log, &self.log_path, self.size);
        let index_pos = u64::from(self.offset_index.lookup(offset));
        let Some((start, first)) = scanner.find(index_pos, offset)? else {
            return Ok(None);
        };
        let first_size = first.total_size();
        if first.last_offset() >= max_offset_exclusive || (first_size > max_bytes && !min_one_batch)
        {
            return Ok(Some(Bytes::new()));
        }
        // The window holds at most what may be returned; batches are then cut at whole
        // batches, at the offset bound and at the window's end (the byte budget).
        let budget = max_bytes.max(first_size) as u64;
        let window_end = self.size.min(start + budget);
        let window = scanner.take(start, window_end)?;
        let mut end = 0usize;
        while end + BATCH_HEADER_BYTES <= window.len() {
            let head = &window[end..end + BATCH_HEADER_BYTES];
            let remaining = self.size - (start + end as u64);
            let size =
                framed_size(head, remaining).map_err(|reason| StorageError::CorruptMessage {
                    position: (start as usize) + end,
                    reason: format!("in {}: {reason}", self.log_path.display()),
                })?;
            let h = decode_header(head);
            if h.last_offset() >= max_offset_exclusive || end + size > window.len() {
                break;
            }
            end += size;
        }
        debug_assert!(end > 0, "the first batch fits the window");
        Ok(Some(window.slice(..end)))
    }

    /// The bytes `[start, end)` of the log file.
    pub(crate) fn read_range(&self, start: u64, end: u64) -> Result<Bytes, StorageError> {
        let mut buf = Vec::new();
        read_exact_at_into(&self.log, &mut buf, (end - start) as usize, start)
            .map_err(|e| StorageError::io(&self.log_path, e))?;
        Ok(Bytes::from(buf))
    }

    /// First record with timestamp >= `timestamp_ms` and offset >= `min_offset` in this segment,
    /// as `(offset, timestamp)` (Kafka's `LogSegment.findOffsetByTimestamp`).
    pub(crate) fn find_offset_by_timestamp(
        &self,
        timestamp_ms: i64,
        min_offset: i64,
    ) -> Result<Option<(i64, i64)>, StorageError> {
        let start_offset = self.time_index.lookup(timestamp_ms).max(min_offset);
        let mut pos = u64::from(self.offset_index.lookup(start_offset));
        let mut scanner = Scanner::new(&self.log, &self.log_path, self.size);
        loop {
            match scanner.next(pos, false)? {
                Step::Batch(h) => {
                    if h.max_timestamp >= timestamp_ms && h.last_offset() >= min_offset {
                        let bytes = self.read_range(pos, pos + h.total_size() as u64)?;
                        return Ok(batch::first_record_at_or_after(&bytes, timestamp_ms)
                            .map(|(o, t)| (o.max(min_offset), t)));
                    }
                    pos += h.total_size() as u64;
                }
                Step::End | Step::Invalid(_) => return Ok(None),
            }
        }
    }

    /// Cuts the segment so that it holds no batch with last offset >= `offset` (a batch holding
    /// `offset` is removed whole), then rebuilds metadata and indexes.
    pub(crate) fn truncate_to(&mut self, offset: i64) -> Result<(), StorageError> {
        if let Some((pos, _)) = self.find_batch(offset)? {
            self.log
                .set_len(pos)
                .map_err(|e| StorageError::io(&self.log_path, e))?;
            self.size = pos;
        }
        self.recover(false, false, &mut |_| {})?;
        Ok(())
    }

    /// fsyncs the log and both indexes.
    pub(crate) fn sync(&mut self) -> Result<(), StorageError> {
        self.log
            .sync_data()
            .map_err(|e| StorageError::io(&self.log_path, e))?;
        self.offset_index.sync()?;
        self.time_index.sync()
    }

    /// Removes the segment's files.
    pub(crate) fn delete_files(self) -> Result<(), StorageError> {
        let paths = [
            self.log_path.clone(),
            self.offset_index.path().to_path_buf(),
            self.time_index.path().to_path_buf(),
        ];
        drop(self);
        for path in paths {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::io(&path, e)),
            }
        }
        Ok(())
    }

    /// Whether the next append must go to a new segment (Kafka's `LogSegment.shouldRoll`).
    /// The relative-offset check applies even to an empty segment; the size and time checks
    /// only to one holding data.
    pub(crate) fn should_roll(
        &self,
        append_bytes: u64,
        append_max_timestamp: i64,
        append_last_offset: i64,
        segment_bytes: u64,
        segment_ms: i64,
        now_ms: i64,
    ) -> bool {
        if !self.can_hold(self.next_offset, append_last_offset, append_bytes) {
            return true;
        }
        if self.size == 0 {
            return false;
        }
        let full = self.size.saturating_add(append_bytes) > segment_bytes;
        let waited = match self.rolling_timestamp {
            Some(first) if first >= 0 => append_max_timestamp.saturating_sub(first),
            _ => now_ms.saturating_sub(self.created_ms),
        };
        full || waited > segment_ms || self.offset_index.is_full() || self.time_index.is_full()
    }

    /// Age-based roll check without an append (Kafka only checks on append; the broker's
    /// periodic task uses this so an idle segment still rolls): wall-clock time since the first
    /// batch's timestamp, or since the segment was created when that is unknown.
    pub(crate) fn is_older_than(&self, segment_ms: i64, now_ms: i64) -> bool {
        if self.size == 0 {
            return false;
        }
        let since = match self.rolling_timestamp {
            Some(first) if first >= 0 => first,
            _ => self.created_ms,
        };
        now_ms.saturating_sub(since) > segment_ms
    }

    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub(crate) fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }

    /// Newest timestamp for retention: the max record timestamp, or the file's mtime when the
    /// segment holds no timestamp (Kafka's `LogSegment.largestTimestamp`).
    pub(crate) fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            return self.max_timestamp;
        }
        self.log
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(-1)
    }
}

/// In-memory state of a segment before an append (see [`Segment::mark`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegmentMark {
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    rolling_timestamp: Option<i64>,
    bytes_since_last_index_entry: u64,
    offset_index_entries: usize,
    time_index_entries: usize,
}

fn push_time_entry(entries: &mut Vec<(i64, u32)>, ts: i64, rel: i64) {
    let rel = rel as u32;
    match entries.last() {
        Some(&(last_ts, last_rel)) if ts <= last_ts || rel < last_rel => {}
        _ => entries.push((ts, rel)),
    }
}

#[cfg(test)]
mod tests {
    use super::read_exact_at_into;
    use std::io::Write;

    #[test]
    fn reads_exactly_into_spare_capacity_and_reports_a_short_file() {
        let mut file = tempfile::tempfile().expect("temp file");
        let content: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        file.write_all(&content).expect("write");
        let mut buf = b"prefix".to_vec();
        read_exact_at_into(&file, &mut buf, 200_000, 1_000).expect("read");
        assert_eq!(&buf[..6], b"prefix");
        assert_eq!(&buf[6..], &content[1_000..201_000]);
        let mut short = Vec::new();
        let error = read_exact_at_into(&file, &mut short, 10, 299_995).expect_err("past the end");
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        let mut empty = Vec::new();
        read_exact_at_into(&file, &mut empty, 0, 400_000).expect("an empty read");
        assert!(empty.is_empty());
    }
}
