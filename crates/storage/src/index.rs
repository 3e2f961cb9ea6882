//! Sparse `.index` (offset → file position) and `.timeindex` (timestamp → offset) files of one
//! segment, in Kafka's on-disk formats. Entries live in memory; the files hold exactly the valid
//! entries (Kafka preallocates and trims on close; the trimmed form is what we always write).
//!
//! The files are written behind: appends only grow the in-memory entries, and [`OffsetIndex::sync`]
//! (on flush, roll and close) writes the new ones and fsyncs. No descriptor stays open, so a
//! node with 10,000 partitions holds one file descriptor per segment, not three. A crash can
//! lose index entries written since the last sync but never leaves wrong ones, and recovery
//! rebuilds every segment's indexes from its batches when the log is opened anyway.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::StorageError;

/// Bytes of one `.index` entry: relative offset u32 BE, position u32 BE.
pub const OFFSET_INDEX_ENTRY_BYTES: usize = 8;
/// Bytes of one `.timeindex` entry: timestamp i64 BE, relative offset u32 BE.
pub const TIME_INDEX_ENTRY_BYTES: usize = 12;

fn open_rw(path: &Path) -> Result<File, StorageError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StorageError::io(path, e))
}

fn read_all(path: &Path) -> Result<Vec<u8>, StorageError> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)
                .map_err(|e| StorageError::io(path, e))?;
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(bytes),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

/// Replaces the file content with `bytes` unless it already holds exactly them.
/// Returns whether the file was rewritten.
fn write_if_different(path: &Path, bytes: &[u8]) -> Result<bool, StorageError> {
    if read_all(path)? == bytes {
        return Ok(false);
    }
    let file = open_rw(path)?;
    file.set_len(0).map_err(|e| StorageError::io(path, e))?;
    file.write_all_at(bytes, 0)
        .map_err(|e| StorageError::io(path, e))?;
    Ok(true)
}

/// Writes `bytes` at `at` (the end of what the file holds) and fsyncs.
fn append_and_sync(path: &Path, bytes: &[u8], at: u64) -> Result<(), StorageError> {
    let file = open_rw(path)?;
    if !bytes.is_empty() {
        file.write_all_at(bytes, at)
            .map_err(|e| StorageError::io(path, e))?;
    }
    file.sync_data().map_err(|e| StorageError::io(path, e))
}

/// Cuts the file to `len` bytes.
fn cut(path: &Path, len: u64) -> Result<(), StorageError> {
    open_rw(path)?
        .set_len(len)
        .map_err(|e| StorageError::io(path, e))
}

/// Offset index of one segment: one entry every `index.interval.bytes`, mapping the last offset
/// of a batch to the file position where the batch starts.
pub(crate) struct OffsetIndex {
    path: PathBuf,
    /// How many of `entries` the file holds (the rest are written by the next sync).
    persisted: usize,
    base_offset: i64,
    entries: Vec<(u32, u32)>,
    max_entries: usize,
}

impl OffsetIndex {
    /// Opens (creating if missing) the index file; entries are supplied by [`Self::replace`].
    pub(crate) fn open(
        path: PathBuf,
        base_offset: i64,
        max_bytes: u32,
    ) -> Result<Self, StorageError> {
        open_rw(&path)?;
        Ok(OffsetIndex {
            path,
            persisted: 0,
            base_offset,
            entries: Vec::new(),
            max_entries: (max_bytes as usize / OFFSET_INDEX_ENTRY_BYTES).max(1),
        })
    }

    /// The file bytes of the entries from `from` on.
    fn encode(&self, from: usize) -> Vec<u8> {
        let entries = self.entries.get(from..).unwrap_or_default();
        let mut bytes = Vec::with_capacity(entries.len() * OFFSET_INDEX_ENTRY_BYTES);
        for (rel, pos) in entries {
            bytes.extend_from_slice(&rel.to_be_bytes());
            bytes.extend_from_slice(&pos.to_be_bytes());
        }
        bytes
    }

    /// Installs entries rebuilt from the segment and makes the file match them.
    /// Returns whether the file had to be rewritten (missing, stale or corrupt).
    pub(crate) fn replace(&mut self, entries: Vec<(u32, u32)>) -> Result<bool, StorageError> {
        self.entries = entries;
        let bytes = self.encode(0);
        let rewritten = write_if_different(&self.path, &bytes)?;
        self.persisted = self.entries.len();
        Ok(rewritten)
    }

    /// Adds an entry for `offset` at `position`; ignored unless both grow (Kafka refuses those).
    pub(crate) fn append(&mut self, offset: i64, position: u32) -> Result<(), StorageError> {
        let rel = relative(offset, self.base_offset);
        if let Some(&(last_rel, last_pos)) = self.entries.last() {
            if rel <= last_rel || position <= last_pos {
                return Ok(());
            }
        }
        self.entries.push((rel, position));
        Ok(())
    }

    /// The position to start scanning from for `offset`: the entry with the largest offset
    /// <= `offset`, or the segment start.
    pub(crate) fn lookup(&self, offset: i64) -> u32 {
        if offset < self.base_offset {
            return 0;
        }
        let rel = offset - self.base_offset;
        let idx = self.entries.partition_point(|&(r, _)| i64::from(r) <= rel);
        if idx == 0 {
            0
        } else {
            self.entries[idx - 1].1
        }
    }

    /// Whether no more entries fit in `segment.index.bytes`.
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= self.max_entries
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Keeps the first `count` entries (undoing appends); the file is cut to match.
    pub(crate) fn truncate_entries(&mut self, count: usize) -> Result<(), StorageError> {
        if count >= self.entries.len() {
            return Ok(());
        }
        self.entries.truncate(count);
        if count < self.persisted {
            self.persisted = count;
            cut(&self.path, (count * OFFSET_INDEX_ENTRY_BYTES) as u64)?;
        }
        Ok(())
    }

    /// Writes the entries the file lacks and fsyncs it.
    pub(crate) fn sync(&mut self) -> Result<(), StorageError> {
        let bytes = self.encode(self.persisted);
        append_and_sync(
            &self.path,
            &bytes,
            (self.persisted * OFFSET_INDEX_ENTRY_BYTES) as u64,
        )?;
        self.persisted = self.entries.len();
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Time index of one segment: increasing max-timestamp-so-far → offset of the batch holding it.
pub(crate) struct TimeIndex {
    path: PathBuf,
    /// How many of `entries` the file holds (the rest are written by the next sync).
    persisted: usize,
    base_offset: i64,
    entries: Vec<(i64, u32)>,
    max_entries: usize,
}

impl TimeIndex {
    /// Opens (creating if missing) the time index file; entries are supplied by [`Self::replace`].
    pub(crate) fn open(
        path: PathBuf,
        base_offset: i64,
        max_bytes: u32,
    ) -> Result<Self, StorageError> {
        open_rw(&path)?;
        Ok(TimeIndex {
            path,
            persisted: 0,
            base_offset,
            entries: Vec::new(),
            max_entries: (max_bytes as usize / TIME_INDEX_ENTRY_BYTES).max(1),
        })
    }

    /// The file bytes of the entries from `from` on.
    fn encode(&self, from: usize) -> Vec<u8> {
        let entries = self.entries.get(from..).unwrap_or_default();
        let mut bytes = Vec::with_capacity(entries.len() * TIME_INDEX_ENTRY_BYTES);
        for (ts, rel) in entries {
            bytes.extend_from_slice(&ts.to_be_bytes());
            bytes.extend_from_slice(&rel.to_be_bytes());
        }
        bytes
    }

    /// Installs rebuilt entries and makes the file match; returns whether it was rewritten.
    pub(crate) fn replace(&mut self, entries: Vec<(i64, u32)>) -> Result<bool, StorageError> {
        self.entries = entries;
        let bytes = self.encode(0);
        let rewritten = write_if_different(&self.path, &bytes)?;
        self.persisted = self.entries.len();
        Ok(rewritten)
    }

    /// Adds `(timestamp, offset)` if the timestamp is newer than the last entry (Kafka's
    /// `TimeIndex.maybeAppend`).
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: i64) -> Result<(), StorageError> {
        let rel = relative(offset, self.base_offset);
        if let Some(&(last_ts, last_rel)) = self.entries.last() {
            if timestamp <= last_ts || rel < last_rel {
                return Ok(());
            }
        }
        self.entries.push((timestamp, rel));
        Ok(())
    }

    /// The offset to start searching from for `timestamp`: the offset of the entry with the
    /// largest timestamp <= `timestamp`, or the segment base offset.
    pub(crate) fn lookup(&self, timestamp: i64) -> i64 {
        let idx = self.entries.partition_point(|&(ts, _)| ts <= timestamp);
        if idx == 0 {
            self.base_offset
        } else {
            self.base_offset + i64::from(self.entries[idx - 1].1)
        }
    }

    /// Whether no more entries fit in `segment.index.bytes`.
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= self.max_entries
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Keeps the first `count` entries (undoing appends); the file is cut to match.
    pub(crate) fn truncate_entries(&mut self, count: usize) -> Result<(), StorageError> {
        if count >= self.entries.len() {
            return Ok(());
        }
        self.entries.truncate(count);
        if count < self.persisted {
            self.persisted = count;
            cut(&self.path, (count * TIME_INDEX_ENTRY_BYTES) as u64)?;
        }
        Ok(())
    }

    /// Writes the entries the file lacks and fsyncs it.
    pub(crate) fn sync(&mut self) -> Result<(), StorageError> {
        let bytes = self.encode(self.persisted);
        append_and_sync(
            &self.path,
            &bytes,
            (self.persisted * TIME_INDEX_ENTRY_BYTES) as u64,
        )?;
        self.persisted = self.entries.len();
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// `offset - base` as the u32 stored in index entries. Segments roll before a relative offset
/// could exceed `i32::MAX`, so the conversion cannot lose information.
fn relative(offset: i64, base: i64) -> u32 {
    debug_assert!(offset >= base && offset - base <= i64::from(i32::MAX));
    (offset - base).clamp(0, i64::from(i32::MAX)) as u32
}
