//! `PartitionLog`: one `<topic>-<partition>` directory — segments, offsets, reads, appends,
//! recovery, retention, truncation, idempotence and the leader epoch cache.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use strata_clock::wall_clock_ms;

use crate::batch::{self, parse_batch_headers, BatchHeader, TIMESTAMP_TYPE_BIT};
use crate::config::{LogConfig, TimestampType};
use crate::epoch_cache::LeaderEpochCache;
use crate::error::StorageError;
use crate::producer_state::ProducerStateManager;
use crate::segment::{ScanStop, Segment, SegmentMark, SEGMENT_NAME_DIGITS};

/// Marker written by [`PartitionLog::close`]; its presence (matching the files) lets the next
/// open skip CRC validation. It is removed as soon as a log is opened.
pub const CLEAN_SHUTDOWN_FILE: &str = ".strata-clean-shutdown";

/// Result of an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset assigned to the first record.
    pub base_offset: i64,
    /// Offset assigned to the last record.
    pub last_offset: i64,
    /// The broker timestamp written into the batches; -1 unless the log uses LogAppendTime.
    pub log_append_time_ms: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    /// Number of records appended.
    pub record_count: i64,
    /// True when an idempotent retry matched a cached batch: the offsets are the original ones
    /// and nothing was written.
    pub duplicate: bool,
}

/// Result of a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadInfo {
    /// Whole record batches, possibly empty.
    pub records: Bytes,
    /// Log start offset at the time of the read.
    pub log_start_offset: i64,
    /// Log end offset at the time of the read.
    pub log_end_offset: i64,
}

/// Offsets known from outside the partition directory (the log-dir checkpoint files).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenHints {
    /// From `recovery-point-offset-checkpoint`: everything below is known to be fsynced.
    pub recovery_point: Option<i64>,
    /// From `log-start-offset-checkpoint`.
    pub log_start_offset: Option<i64>,
    /// From `replication-offset-checkpoint`: the high watermark the broker last recorded.
    pub high_watermark: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct CleanShutdown {
    log_start_offset: i64,
    log_end_offset: i64,
    active_base_offset: i64,
    active_size: u64,
}

/// State before an append, to undo a payload whose write failed part-way.
struct AppendMark {
    active_base: i64,
    active: SegmentMark,
    recovery_point: i64,
}

/// Parses `<topic>-<partition>` from a partition directory name.
pub fn parse_topic_partition(dir: &Path) -> Result<(String, i32), StorageError> {
    let invalid = |reason: &str| StorageError::InvalidLogDir {
        path: dir.to_path_buf(),
        reason: reason.to_string(),
    };
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| invalid("directory name is not UTF-8"))?;
    let (topic, partition) = name
        .rsplit_once('-')
        .ok_or_else(|| invalid("name is not <topic>-<partition>"))?;
    let partition: i32 = partition
        .parse()
        .map_err(|_| invalid("partition suffix is not a number"))?;
    if topic.is_empty() || partition < 0 {
        return Err(invalid("empty topic or negative partition"));
    }
    Ok((topic.to_string(), partition))
}

/// The log of one partition.
pub struct PartitionLog {
    dir: PathBuf,
    topic: String,
    partition: i32,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    log_end_offset: i64,
    recovery_point: i64,
    producers: ProducerStateManager,
    epochs: LeaderEpochCache,
    unflushed_messages: u64,
    last_flush_ms: i64,
    closed: bool,
    /// The partition's high watermark as the broker last recorded it, kept for the
    /// `replication-offset-checkpoint` (the log itself does not track commitment).
    high_watermark_hint: Option<i64>,
}

impl std::fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionLog")
            .field("dir", &self.dir)
            .field("log_start_offset", &self.log_start_offset)
            .field("log_end_offset", &self.log_end_offset)
            .field("segments", &self.segments.len())
            .finish()
    }
}

fn segment_base_of(name: &str, ext: &str) -> Option<i64> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    if stem.len() != SEGMENT_NAME_DIGITS || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

impl PartitionLog {
    /// Opens the log in `dir` (created if missing), recovering it when it was not closed cleanly.
    pub fn open(dir: PathBuf, config: LogConfig) -> Result<PartitionLog, StorageError> {
        Self::open_with_hints(dir, config, OpenHints::default())
    }

    /// [`PartitionLog::open`] with the recovery point and log start offset from the log-dir
    /// checkpoints (used by [`crate::LogManager`]).
    ///
    /// Cost: every batch header of every segment is read once (to rebuild producer state, the
    /// leader epoch cache and the indexes); batches at or after the recovery point are also
    /// CRC-checked unless the log was closed cleanly. Without a recovery point only the last
    /// segment is CRC-checked: older segments were fsynced when they were rolled.
    pub fn open_with_hints(
        dir: PathBuf,
        config: LogConfig,
        hints: OpenHints,
    ) -> Result<PartitionLog, StorageError> {
        std::fs::create_dir_all(&dir).map_err(|e| StorageError::io(&dir, e))?;
        let (topic, partition) = parse_topic_partition(&dir)?;
        let marker_path = dir.join(CLEAN_SHUTDOWN_FILE);
        let marker: Option<CleanShutdown> = std::fs::read(&marker_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        match std::fs::remove_file(&marker_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io(&marker_path, e)),
        }

        let mut bases = Vec::new();
        let mut index_files = Vec::new();
        let entries = std::fs::read_dir(&dir).map_err(|e| StorageError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StorageError::io(&dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if let Some(base) = segment_base_of(&name, "log") {
                bases.push(base);
            } else if let Some(base) =
                segment_base_of(&name, "index").or_else(|| segment_base_of(&name, "timeindex"))
            {
                index_files.push((base, entry.path()));
            } else if name.ends_with(".deleted")
                || name.ends_with(".cleaned")
                || name.ends_with(".tmp")
            {
                // Leftovers of an interrupted delete/clean/checkpoint, as Kafka removes them.
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| StorageError::io(&path, e))?;
            }
        }
        bases.sort_unstable();
        for (base, path) in index_files {
            if bases.binary_search(&base).is_err() {
                std::fs::remove_file(&path).map_err(|e| StorageError::io(&path, e))?;
            }
        }
        let now = wall_clock_ms();
        let hinted_start = marker
            .as_ref()
            .map(|m| m.log_start_offset)
            .or(hints.log_start_offset)
            .unwrap_or(0)
            .max(0);
        if bases.is_empty() {
            bases.push(hinted_start);
        }
        let mut segments = BTreeMap::new();
        for &base in &bases {
            let seg = Segment::open(
                &dir,
                base,
                config.index_interval_bytes,
                config.segment_index_bytes,
                now,
            )?;
            segments.insert(base, seg);
        }
        let clean = marker.as_ref().is_some_and(|m| {
            segments
                .last_key_value()
                .is_some_and(|(&b, s)| b == m.active_base_offset && s.size() == m.active_size)
        });
        let last_base = *bases.last().unwrap_or(&0);
        let recover_from = if clean {
            i64::MAX
        } else {
            hints.recovery_point.unwrap_or(last_base).min(last_base)
        };
        // A brand-new log has nothing to recover: only say so when there is data.
        let has_data = segments.values().any(|s| s.size() > 0);
        if !clean && has_data {
            tracing::info!(dir = %dir.display(), recover_from, "log was not closed cleanly; recovering");
        }

        let mut producers = ProducerStateManager::default();
        let mut epochs = LeaderEpochCache::load(&dir);
        let mut epochs_changed = false;
        let mut keep = Vec::new();
        let mut truncated = false;
        let mut queue: VecDeque<i64> = bases.iter().copied().collect();
        while let Some(base) = queue.pop_front() {
            let Some(mut seg) = segments.remove(&base) else {
                continue;
            };
            if truncated {
                // Everything after a corrupt batch is unusable.
                tracing::warn!(dir = %dir.display(), base, "deleting segment after corruption");
                seg.delete_files()?;
                continue;
            }
            let next_base = queue.front().copied();
            let validate = !clean && next_base.is_none_or(|nb| nb > recover_from);
            let is_last = queue.is_empty();
            let stop = seg.recover(validate, !is_last || clean, &mut |h: &BatchHeader| {
                producers.replay(h);
                epochs_changed |= epochs.assign(h.partition_leader_epoch, h.base_offset);
            })?;
            match stop {
                Some(ScanStop {
                    position,
                    reason,
                    overflow_base: Some(split_base),
                }) if split_base > base => {
                    // Valid batches whose offsets do not fit relative to this segment (written
                    // before appends rolled per batch): move them to their own segment rather
                    // than losing them, as Kafka's `splitOverflowedSegment` does.
                    tracing::warn!(
                        dir = %dir.display(), segment = base, position, split_base,
                        %reason, "splitting segment with overflowed relative offsets"
                    );
                    // A segment already starting at `split_base` can only be the copy left by
                    // an interrupted split (a valid later segment starts after every offset
                    // of this one): this segment still holds the data, so redo the copy.
                    if let Some(leftover) = segments.remove(&split_base) {
                        queue.retain(|&b| b != split_base);
                        leftover.delete_files()?;
                    }
                    seg.move_tail_to(position, &dir, split_base)?;
                    let tail = Segment::open(
                        &dir,
                        split_base,
                        config.index_interval_bytes,
                        config.segment_index_bytes,
                        now,
                    )?;
                    segments.insert(split_base, tail);
                    queue.push_front(split_base);
                    if seg.size() == 0 {
                        seg.delete_files()?;
                    } else {
                        seg.on_become_inactive()?;
                        seg.sync()?;
                        keep.push(seg);
                    }
                    continue;
                }
                Some(stop) => {
                    tracing::warn!(
                        dir = %dir.display(), segment = base, position = stop.position,
                        reason = %stop.reason, "truncated log at invalid batch"
                    );
                    truncated = true;
                }
                None => {}
            }
            if validate {
                seg.sync()?;
            }
            keep.push(seg);
        }
        for seg in keep {
            segments.insert(seg.base_offset(), seg);
        }
        let (first_base, log_end_offset) =
            match (segments.first_key_value(), segments.last_key_value()) {
                (Some((&f, _)), Some((_, last))) => (f, last.next_offset()),
                _ => {
                    return Err(StorageError::InvalidLogDir {
                        path: dir,
                        reason: "no segment after recovery".into(),
                    })
                }
            };
        let log_start_offset = hinted_start.max(first_base).min(log_end_offset);
        producers.truncate_head(log_start_offset);
        epochs_changed |= epochs.truncate_from_end(log_end_offset);
        epochs_changed |= epochs.truncate_from_start(log_start_offset);
        if epochs_changed
            || !dir
                .join(crate::epoch_cache::LEADER_EPOCH_CHECKPOINT_FILE)
                .exists()
        {
            epochs.save()?;
        }
        tracing::debug!(
            dir = %dir.display(), log_start_offset, log_end_offset,
            producers = producers.len(), "opened partition log"
        );
        Ok(PartitionLog {
            dir,
            topic,
            partition,
            config,
            segments,
            log_start_offset,
            log_end_offset,
            recovery_point: log_end_offset,
            producers,
            epochs,
            unflushed_messages: 0,
            last_flush_ms: now,
            closed: false,
            // A checkpointed HW above what survived recovery is clamped: the tail is gone.
            high_watermark_hint: hints
                .high_watermark
                .map(|hw| hw.clamp(log_start_offset, log_end_offset)),
        })
    }

    /// The high watermark recorded for the checkpoint (at open: the checkpointed one, within
    /// the recovered log).
    pub fn high_watermark_hint(&self) -> Option<i64> {
        self.high_watermark_hint
    }

    /// Records the partition's high watermark for the next `replication-offset-checkpoint`.
    pub fn set_high_watermark_hint(&mut self, high_watermark: i64) {
        self.high_watermark_hint =
            Some(high_watermark.clamp(self.log_start_offset, self.log_end_offset));
    }

    /// `(topic, partition)` parsed from the directory name.
    pub fn topic_partition(&self) -> (&str, i32) {
        (&self.topic, self.partition)
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ensure_open(&self) -> Result<(), StorageError> {
        if self.closed {
            return Err(StorageError::LogClosed {
                topic: self.topic.clone(),
                partition: self.partition,
            });
        }
        Ok(())
    }

    fn active(&mut self) -> Result<&mut Segment, StorageError> {
        match self.segments.last_entry() {
            Some(e) => Ok(e.into_mut()),
            None => Err(StorageError::LogClosed {
                topic: self.topic.clone(),
                partition: self.partition,
            }),
        }
    }

    /// Appends a produce payload (one or more RecordBatch v2), assigning offsets from the log end
    /// and stamping `leader_epoch` into every batch. Idempotent retries of one of a producer's
    /// last 5 batches return the original offsets with `duplicate: true`.
    pub fn append(
        &mut self,
        records: Bytes,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, StorageError> {
        self.ensure_open()?;
        let headers = parse_batch_headers(&records)?;
        for h in &headers {
            if h.total_size() > self.config.max_message_bytes as usize {
                return Err(StorageError::MessageTooLarge {
                    size: h.total_size(),
                    max: self.config.max_message_bytes,
                });
            }
        }
        if records.len() as u64 > self.config.segment_bytes {
            return Err(StorageError::RecordListTooLarge {
                size: records.len(),
                segment_bytes: self.config.segment_bytes,
            });
        }
        let log_append_time = self.config.message_timestamp_type == TimestampType::LogAppendTime;
        for h in &headers {
            if let Some(dup) = self.producers.find_duplicate(h) {
                tracing::debug!(
                    producer_id = h.producer_id,
                    first_seq = dup.first_seq,
                    "duplicate batch"
                );
                return Ok(AppendInfo {
                    base_offset: dup.first_offset,
                    last_offset: dup.last_offset,
                    log_append_time_ms: if log_append_time { dup.timestamp } else { -1 },
                    log_start_offset: self.log_start_offset,
                    record_count: dup.last_offset - dup.first_offset + 1,
                    duplicate: true,
                });
            }
        }
        let mut assigned = headers;
        let mut next = self.log_end_offset;
        let mut max_timestamp = -1;
        let mut record_count = 0i64;
        for h in &mut assigned {
            h.base_offset = next;
            h.partition_leader_epoch = leader_epoch;
            if log_append_time {
                h.max_timestamp = now_ms;
                h.attributes |= TIMESTAMP_TYPE_BIT;
            }
            max_timestamp = max_timestamp.max(h.max_timestamp);
            record_count += i64::from(h.record_count);
            next = h
                .checked_last_offset()
                .and_then(|last| last.checked_add(1))
                .ok_or_else(|| StorageError::InvalidOffset {
                    offset: next,
                    reason: format!(
                        "a batch of {} records at offset {next} overflows the offset space",
                        h.record_count
                    ),
                })?;
        }
        let base_offset = self.log_end_offset;
        let last_offset = next - 1;
        let pending = self.producers.prepare(&assigned)?;

        // Everything the writes below change, so a failure part-way leaves no trace: the
        // in-memory segment must never run ahead of `log_end_offset`.
        let mark = {
            let recovery_point = self.recovery_point;
            let active = self.active()?;
            AppendMark {
                active_base: active.base_offset(),
                active: active.mark(),
                recovery_point,
            }
        };
        let written = self.write_batches(
            &records,
            &assigned,
            leader_epoch,
            (max_timestamp, last_offset),
            log_append_time,
            now_ms,
        );
        if let Err(e) = written {
            self.undo_partial_append(&mark);
            return Err(e);
        }
        self.producers.commit(pending);
        debug_assert!(next > self.log_end_offset, "offsets only grow");
        self.log_end_offset = next;
        if self.epochs.assign(leader_epoch, base_offset) {
            self.epochs.save()?;
        }
        self.unflushed_messages = self
            .unflushed_messages
            .saturating_add(record_count.max(0) as u64);
        if self.unflushed_messages >= self.config.flush_interval_messages
            || now_ms.saturating_sub(self.last_flush_ms) >= self.config.flush_interval_ms
        {
            self.flush()?;
            self.last_flush_ms = now_ms;
        }
        Ok(AppendInfo {
            base_offset,
            last_offset,
            log_append_time_ms: if log_append_time { now_ms } else { -1 },
            log_start_offset: self.log_start_offset,
            record_count,
            duplicate: false,
        })
    }

    /// Appends batches fetched from the partition leader, as a follower: offsets, leader
    /// epochs and timestamps are the leader's and the bytes are written verbatim. The first
    /// batch must start at the log end (the fetcher asks for exactly that offset). Producer
    /// state is rebuilt from the batch headers without sequence checks (the leader did them),
    /// so a follower that becomes leader deduplicates retries of batches it replicated.
    pub fn append_replicated(
        &mut self,
        records: &Bytes,
        now_ms: i64,
    ) -> Result<Option<AppendInfo>, StorageError> {
        self.ensure_open()?;
        if records.is_empty() {
            return Ok(None);
        }
        let headers = batch::parse_replicated_batches(records)?;
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            return Ok(None);
        };
        if first.base_offset != self.log_end_offset {
            return Err(StorageError::InvalidOffset {
                offset: first.base_offset,
                reason: format!(
                    "replicated batches must start at the log end offset {}",
                    self.log_end_offset
                ),
            });
        }
        // Leader epochs never go back in a log: a batch of an older epoch than the newest this
        // log holds (or started as leader) would make the epoch cache lie about where epochs
        // end, and followers diverge from it forever.
        let latest = self.epochs.latest_epoch().unwrap_or(-1);
        if let Some(stale) = headers.iter().find(|h| h.partition_leader_epoch < latest) {
            return Err(StorageError::InvalidOffset {
                offset: stale.base_offset,
                reason: format!(
                    "replicated batch of leader epoch {} is older than this log's epoch {latest}",
                    stale.partition_leader_epoch
                ),
            });
        }
        let (base_offset, last_offset) = (first.base_offset, last.last_offset());
        let mut position = 0;
        let mut record_count = 0i64;
        for h in &headers {
            let size = h.total_size();
            let bytes = records.slice(position..position + size);
            position += size;
            let mark = {
                let recovery_point = self.recovery_point;
                let active = self.active()?;
                AppendMark {
                    active_base: active.base_offset(),
                    active: active.mark(),
                    recovery_point,
                }
            };
            let written = self.write_batches(
                &bytes,
                std::slice::from_ref(h),
                h.partition_leader_epoch,
                (h.max_timestamp, h.last_offset()),
                false,
                now_ms,
            );
            if let Err(e) = written {
                self.undo_partial_append(&mark);
                return Err(e);
            }
            self.producers.replay(h);
            debug_assert!(h.last_offset() >= self.log_end_offset, "offsets only grow");
            self.log_end_offset = h.last_offset() + 1;
            if self.epochs.assign(h.partition_leader_epoch, h.base_offset) {
                self.epochs.save()?;
            }
            record_count += i64::from(h.record_count);
        }
        self.unflushed_messages = self
            .unflushed_messages
            .saturating_add(record_count.max(0) as u64);
        if self.unflushed_messages >= self.config.flush_interval_messages
            || now_ms.saturating_sub(self.last_flush_ms) >= self.config.flush_interval_ms
        {
            self.flush()?;
            self.last_flush_ms = now_ms;
        }
        Ok(Some(AppendInfo {
            base_offset,
            last_offset,
            log_append_time_ms: -1,
            log_start_offset: self.log_start_offset,
            record_count,
            duplicate: false,
        }))
    }

    /// Writes the assigned batches of one payload, rolling first when the payload as a whole
    /// calls for it (Kafka's `maybeRoll`) and again before any batch whose offsets or size do
    /// not fit the active segment (relative offsets are 31-bit, file positions 32-bit).
    /// `payload` is `(max timestamp, last offset)` of the whole payload.
    fn write_batches(
        &mut self,
        records: &Bytes,
        assigned: &[BatchHeader],
        leader_epoch: i32,
        payload: (i64, i64),
        log_append_time: bool,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let (segment_bytes, segment_ms) = (self.config.segment_bytes, self.config.segment_ms);
        let first_base = assigned
            .first()
            .map_or(self.log_end_offset, |h| h.base_offset);
        if self.active()?.should_roll(
            records.len() as u64,
            payload.0,
            payload.1,
            segment_bytes,
            segment_ms,
            now_ms,
        ) {
            self.roll_at(first_base, now_ms)?;
        }
        // LogAppendTime is the only case that re-encodes: one copy per append call, patched
        // in place.
        let mut restamped = log_append_time.then(|| BytesMut::from(&records[..]));
        let mut position = 0;
        for h in assigned {
            let size = h.total_size();
            if !self
                .active()?
                .can_hold(h.base_offset, h.last_offset(), size as u64)
            {
                self.roll_at(h.base_offset, now_ms)?;
            }
            match restamped.as_mut() {
                Some(buf) => {
                    let batch_bytes = &mut buf[position..position + size];
                    let prefix = batch::patched_prefix(batch_bytes, h.base_offset, leader_epoch);
                    batch_bytes[..prefix.len()].copy_from_slice(&prefix);
                    batch::set_log_append_time(batch_bytes, now_ms);
                    self.active()?.append_batch(h, &[batch_bytes])?;
                }
                None => {
                    let batch_bytes = &records[position..position + size];
                    let prefix = batch::patched_prefix(batch_bytes, h.base_offset, leader_epoch);
                    self.active()?
                        .append_batch(h, &[&prefix, &batch_bytes[prefix.len()..]])?;
                }
            }
            position += size;
        }
        Ok(())
    }

    /// Undoes a partly written payload: segments rolled for it are deleted and the segment
    /// that was active is cut back to `mark`. If the files cannot be put back, the log is
    /// closed (Kafka takes the log dir offline on such I/O errors); recovery on the next open
    /// sorts out the files.
    fn undo_partial_append(&mut self, mark: &AppendMark) {
        let mut failure: Option<StorageError> = None;
        let rolled: Vec<i64> = self
            .segments
            .range((Bound::Excluded(mark.active_base), Bound::Unbounded))
            .map(|(&b, _)| b)
            .collect();
        for base in rolled {
            if let Err(e) = self.delete_segment(base) {
                failure.get_or_insert(e);
            }
        }
        match self.segments.get_mut(&mark.active_base) {
            Some(seg) => {
                if let Err(e) = seg.restore(&mark.active) {
                    failure.get_or_insert(e);
                }
            }
            None => {
                failure.get_or_insert(StorageError::InvalidLogDir {
                    path: self.dir.clone(),
                    reason: format!("segment {} vanished during an append", mark.active_base),
                });
            }
        }
        self.recovery_point = mark.recovery_point;
        if let Some(e) = failure {
            tracing::error!(
                dir = %self.dir.display(), error = %e,
                "cannot undo a failed append; closing the log"
            );
            self.closed = true;
        }
        debug_assert!(
            self.closed
                || self
                    .segments
                    .last_key_value()
                    .is_some_and(|(_, s)| s.next_offset() == self.log_end_offset),
            "after an undone append the active segment ends at the log end"
        );
    }

    /// Reads whole batches starting with the one holding `offset`.
    ///
    /// Batches whose last offset is >= `max_offset_exclusive` (the high watermark) are not
    /// returned; at most `max_bytes` are returned except that with `min_one_batch` (KIP-74) the
    /// first batch is returned whole even if larger. Reads stop at a segment end. An `offset`
    /// below the log start or above the log end is [`StorageError::OffsetOutOfRange`];
    /// `offset == log_end_offset` gives empty records.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset_exclusive: i64,
        min_one_batch: bool,
    ) -> Result<ReadInfo, StorageError> {
        self.ensure_open()?;
        if offset < self.log_start_offset || offset > self.log_end_offset {
            return Err(StorageError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start_offset,
                log_end: self.log_end_offset,
            });
        }
        let mut records = Bytes::new();
        if offset < self.log_end_offset && offset < max_offset_exclusive {
            let floor = self
                .segments
                .range(..=offset)
                .next_back()
                .map_or(offset, |(&b, _)| b);
            for seg in self.segments.range(floor..).map(|(_, s)| s) {
                if let Some(read) =
                    seg.read(offset, max_bytes, max_offset_exclusive, min_one_batch)?
                {
                    records = read;
                    break;
                }
            }
        }
        Ok(ReadInfo {
            records,
            log_start_offset: self.log_start_offset,
            log_end_offset: self.log_end_offset,
        })
    }

    /// First offset still readable.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// Offset below which everything is fsynced.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    /// Total bytes of all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    /// Number of segments (at least one).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.keys().copied().collect()
    }

    /// ListOffsets by timestamp: the first record with timestamp >= `timestamp_ms`, as
    /// `(offset, timestamp)`, searching the first segment whose max timestamp reaches it.
    ///
    /// Exact for uncompressed batches (records are decoded) and LogAppendTime batches. For
    /// compressed CreateTime batches the batch's base offset and max timestamp are returned
    /// (no decompression), which may be earlier than Kafka's record-level answer.
    pub fn offset_for_timestamp(
        &self,
        timestamp_ms: i64,
    ) -> Result<Option<(i64, i64)>, StorageError> {
        self.ensure_open()?;
        for seg in self.segments.values() {
            if seg.max_timestamp() < timestamp_ms || seg.next_offset() <= self.log_start_offset {
                continue;
            }
            if let Some(found) =
                seg.find_offset_by_timestamp(timestamp_ms, self.log_start_offset)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP (-3): the record with the largest timestamp, as
    /// `(offset, timestamp)`; the earliest such record on ties. `None` for an empty log.
    pub fn max_timestamp_offset(&self) -> Option<(i64, i64)> {
        let mut best: Option<&Segment> = None;
        for seg in self.segments.values() {
            if seg.max_timestamp() >= 0
                && best.is_none_or(|b| seg.max_timestamp() > b.max_timestamp())
            {
                best = Some(seg);
            }
        }
        let seg = best?;
        let (ts, shallow) = (seg.max_timestamp(), seg.offset_of_max_timestamp());
        // The index records the batch's last offset; find the record itself inside the batch.
        let exact = seg.find_batch(shallow).ok().flatten().and_then(|(pos, h)| {
            let bytes = seg.read_range(pos, pos + h.total_size() as u64).ok()?;
            batch::first_record_at_or_after(&bytes, ts)
        });
        Some(exact.unwrap_or((shallow, ts)))
    }

    /// OffsetForLeaderEpoch: `(epoch, end offset)` for `epoch`, per Kafka's
    /// `LeaderEpochFileCache.endOffsetFor`. `None` where Kafka answers `(-1, -1)` (unknown or
    /// newer epoch).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset)
    }

    /// The newest leader epoch in the cache.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.latest_epoch()
    }

    /// The leader epoch cache entries `(epoch, start offset)`, oldest first.
    pub fn epoch_entries(&self) -> Vec<(i32, i64)> {
        self.epochs.entries().to_vec()
    }

    /// Records that `epoch` starts at the current log end (Kafka does this when a replica
    /// becomes leader, before it appends anything), so OffsetForLeaderEpoch knows the epoch.
    pub fn assign_leader_epoch(&mut self, epoch: i32) -> Result<(), StorageError> {
        self.ensure_open()?;
        if self.epochs.assign(epoch, self.log_end_offset) {
            self.epochs.save()?;
        }
        Ok(())
    }

    fn delete_segment(&mut self, base: i64) -> Result<(), StorageError> {
        if let Some(seg) = self.segments.remove(&base) {
            tracing::info!(dir = %self.dir.display(), base, "deleting segment");
            seg.delete_files()?;
        }
        Ok(())
    }

    /// Drops every record at or after `offset` (a batch holding `offset` is dropped whole).
    /// Producer state is rebuilt by rescanning all batch headers, and the leader epoch cache
    /// is truncated.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), StorageError> {
        self.ensure_open()?;
        if offset >= self.log_end_offset {
            // Nothing to drop, but an epoch this replica started as leader without appending
            // anything may sit at the log end and conflict with the new leader's: drop it, as
            // Kafka does, or the follower would report it forever and never stop diverging.
            if self.epochs.truncate_from_end(self.log_end_offset) {
                self.epochs.save()?;
            }
            return Ok(());
        }
        let offset = offset.max(0);
        let first_base = self.segments.keys().next().copied().unwrap_or(0);
        if offset <= first_base {
            // Nothing survives: start over at `offset` (Kafka's truncateFullyAndStartAt).
            let bases: Vec<i64> = self.segments.keys().copied().collect();
            for base in bases {
                self.delete_segment(base)?;
            }
            let mut seg = Segment::open(
                &self.dir,
                offset,
                self.config.index_interval_bytes,
                self.config.segment_index_bytes,
                wall_clock_ms(),
            )?;
            seg.recover(false, false, &mut |_| {})?;
            self.segments.insert(offset, seg);
            self.log_start_offset = offset;
        } else {
            let doomed: Vec<i64> = self.segments.range(offset..).map(|(&b, _)| b).collect();
            for base in doomed {
                self.delete_segment(base)?;
            }
            self.active()?.truncate_to(offset)?;
        }
        self.log_end_offset = self.active()?.next_offset();
        self.log_start_offset = self.log_start_offset.min(self.log_end_offset);
        self.recovery_point = self.recovery_point.min(self.log_end_offset);
        self.rebuild_producer_state()?;
        if self.epochs.truncate_from_end(self.log_end_offset) {
            self.epochs.save()?;
        }
        Ok(())
    }

    /// Drops every record and starts the log over, empty, at `offset` (Kafka's
    /// `truncateFullyAndStartAt`): a follower whose log lies wholly outside the leader's
    /// (below its log start) starts again from the leader's log start.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), StorageError> {
        self.ensure_open()?;
        let offset = offset.max(0);
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        for base in bases {
            self.delete_segment(base)?;
        }
        let mut seg = Segment::open(
            &self.dir,
            offset,
            self.config.index_interval_bytes,
            self.config.segment_index_bytes,
            wall_clock_ms(),
        )?;
        seg.recover(false, false, &mut |_| {})?;
        self.segments.insert(offset, seg);
        self.log_start_offset = offset;
        self.log_end_offset = offset;
        self.recovery_point = offset;
        self.producers.clear();
        if self.epochs.truncate_from_end(i64::MIN) {
            self.epochs.save()?;
        }
        Ok(())
    }

    fn rebuild_producer_state(&mut self) -> Result<(), StorageError> {
        self.producers.clear();
        let producers = &mut self.producers;
        for seg in self.segments.values() {
            seg.for_each_header(&mut |h| producers.replay(h))?;
        }
        self.producers.truncate_head(self.log_start_offset);
        Ok(())
    }

    /// Deletes whole non-active segments that lie entirely below the log start offset.
    fn delete_segments_below_start(&mut self) -> Result<usize, StorageError> {
        let mut deleted = 0;
        while self.segments.len() > 1 {
            let mut keys = self.segments.keys();
            let (Some(&first), Some(&second)) = (keys.next(), keys.next()) else {
                break;
            };
            if second > self.log_start_offset {
                break;
            }
            self.delete_segment(first)?;
            deleted += 1;
        }
        Ok(deleted)
    }

    fn on_start_offset_moved(&mut self) -> Result<(), StorageError> {
        if let Some(&first) = self.segments.keys().next() {
            self.log_start_offset = self.log_start_offset.max(first);
        }
        self.producers.truncate_head(self.log_start_offset);
        if self.epochs.truncate_from_start(self.log_start_offset) {
            self.epochs.save()?;
        }
        Ok(())
    }

    /// DeleteRecords: moves the log start offset up to `offset` and deletes whole segments
    /// below it. Returns the new log start offset. `offset` above the log end is out of range.
    /// (The broker must refuse offsets above the high watermark itself.)
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, StorageError> {
        self.ensure_open()?;
        if offset > self.log_end_offset || offset < 0 {
            return Err(StorageError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start_offset,
                log_end: self.log_end_offset,
            });
        }
        if offset > self.log_start_offset {
            self.log_start_offset = offset;
            self.delete_segments_below_start()?;
            self.on_start_offset_moved()?;
        }
        Ok(self.log_start_offset)
    }

    /// Kafka's retention pass (`UnifiedLog.deleteOldSegments`): deletes whole segments wholly
    /// below the log start offset, then oldest first while the log stays at or above
    /// `retention.bytes`, then oldest first while a segment's newest timestamp is older than
    /// `now_ms - retention.ms`. Returns the number of segments deleted.
    ///
    /// The active segment counts too, as in Kafka: when every segment (including a non-empty
    /// active one) breaches retention, a new empty segment is rolled at the log end offset
    /// first, and the log start offset moves up to the log end. The segment that is active
    /// after that roll is never deleted. Before anything else the active segment is rolled if
    /// it is older than `segment.ms` ([`PartitionLog::maybe_roll`]), so idle partitions age out.
    ///
    /// Unlike Kafka, segments above the high watermark are not protected: the broker owns the
    /// high watermark and on a single replica it equals the log end.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, StorageError> {
        self.ensure_open()?;
        self.maybe_roll(now_ms)?;
        let mut deleted = self.delete_segments_below_start()?;
        if self.config.retention_bytes >= 0 {
            let mut excess = i64::try_from(self.size_bytes())
                .unwrap_or(i64::MAX)
                .saturating_sub(self.config.retention_bytes);
            deleted += self.delete_oldest_while(now_ms, |seg| {
                let size = i64::try_from(seg.size()).unwrap_or(i64::MAX);
                if excess.saturating_sub(size) < 0 {
                    return false;
                }
                excess -= size;
                true
            })?;
        }
        if self.config.retention_ms >= 0 {
            let retention_ms = self.config.retention_ms;
            deleted += self.delete_oldest_while(now_ms, |seg| {
                now_ms.saturating_sub(seg.largest_timestamp()) > retention_ms
            })?;
        }
        if deleted > 0 {
            self.on_start_offset_moved()?;
        }
        Ok(deleted)
    }

    /// Deletes segments from the oldest while `breached` says so (Kafka's `deletableSegments`:
    /// an empty last segment is never a candidate). If that takes every segment, a new empty
    /// one is rolled at the log end first so the log keeps an active segment.
    fn delete_oldest_while(
        &mut self,
        now_ms: i64,
        mut breached: impl FnMut(&Segment) -> bool,
    ) -> Result<usize, StorageError> {
        let total = self.segments.len();
        let mut count = 0;
        for (i, seg) in self.segments.values().enumerate() {
            let is_last = i + 1 == total;
            if (is_last && seg.size() == 0) || !breached(seg) {
                break;
            }
            count += 1;
        }
        if count == 0 {
            return Ok(0);
        }
        if count == total {
            self.roll(now_ms)?;
        }
        let doomed: Vec<i64> = self.segments.keys().take(count).copied().collect();
        for base in doomed {
            self.delete_segment(base)?;
        }
        debug_assert!(
            !self.segments.is_empty(),
            "the active segment survives retention"
        );
        if let Some(&first) = self.segments.keys().next() {
            self.log_start_offset = self.log_start_offset.max(first);
        }
        Ok(count)
    }

    /// Rolls the active segment if it is older than `segment.ms` (Kafka checks only on
    /// append; calling this periodically also rolls idle segments so retention can reach them).
    pub fn maybe_roll(&mut self, now_ms: i64) -> Result<(), StorageError> {
        self.ensure_open()?;
        let segment_ms = self.config.segment_ms;
        if self.active()?.is_older_than(segment_ms, now_ms) {
            self.roll(now_ms)?;
        }
        Ok(())
    }

    /// Starts a new active segment at the log end, fsyncing the old one first.
    fn roll(&mut self, now_ms: i64) -> Result<(), StorageError> {
        self.roll_at(self.log_end_offset, now_ms)
    }

    /// Starts a new active segment at `base` (the log end, or the base offset of the next
    /// batch of a payload being written), fsyncing the old one first. An empty active segment
    /// already starting at `base` is kept as is.
    fn roll_at(&mut self, base: i64, now_ms: i64) -> Result<(), StorageError> {
        {
            let dir = self.dir.clone();
            let active = self.active()?;
            if active.size() == 0 {
                if active.base_offset() == base {
                    return Ok(());
                }
                // An empty active segment always starts at the log end, which is where the
                // next batch goes; anything else means the in-memory state is broken.
                return Err(StorageError::InvalidLogDir {
                    path: dir,
                    reason: format!(
                        "empty active segment {} cannot be rolled to base offset {base}",
                        active.base_offset()
                    ),
                });
            }
            debug_assert!(base >= active.next_offset(), "offsets only grow");
            active.on_become_inactive()?;
            active.sync()?;
        }
        let mut seg = Segment::open(
            &self.dir,
            base,
            self.config.index_interval_bytes,
            self.config.segment_index_bytes,
            now_ms,
        )?;
        if seg.size() != 0 {
            return Err(StorageError::InvalidLogDir {
                path: self.dir.clone(),
                reason: format!("segment file for new base offset {base} already holds data"),
            });
        }
        seg.recover(false, false, &mut |_| {})?;
        tracing::debug!(dir = %self.dir.display(), base, "rolled new segment");
        self.segments.insert(base, seg);
        // Every older segment has now been fsynced.
        self.recovery_point = self.recovery_point.max(base);
        Ok(())
    }

    /// Replaces the configuration (takes effect for the next append / roll / retention;
    /// index sizes of existing segments are unchanged).
    pub fn update_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// The current configuration.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// fsyncs the active segment and its indexes and advances the recovery point to the log end.
    pub fn flush(&mut self) -> Result<(), StorageError> {
        self.ensure_open()?;
        self.active()?.sync()?;
        debug_assert!(self.log_end_offset >= self.recovery_point);
        self.recovery_point = self.log_end_offset;
        self.unflushed_messages = 0;
        self.last_flush_ms = wall_clock_ms();
        Ok(())
    }

    /// Flushes and writes the clean-shutdown marker; the log accepts no more operations.
    pub(crate) fn close_in_place(&mut self) -> Result<(), StorageError> {
        if self.closed {
            return Ok(());
        }
        self.flush()?;
        let (log_start_offset, log_end_offset) = (self.log_start_offset, self.log_end_offset);
        let active = self.active()?;
        active.on_become_inactive()?;
        active.sync()?;
        let marker = CleanShutdown {
            log_start_offset,
            log_end_offset,
            active_base_offset: active.base_offset(),
            active_size: active.size(),
        };
        let path = self.dir.join(CLEAN_SHUTDOWN_FILE);
        let json = serde_json::to_vec(&marker).map_err(|e| StorageError::io(&path, e.into()))?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&path).map_err(|e| StorageError::io(&path, e))?;
            f.write_all(&json).map_err(|e| StorageError::io(&path, e))?;
            f.sync_all().map_err(|e| StorageError::io(&path, e))?;
        }
        self.closed = true;
        Ok(())
    }

    /// Flushes and writes a clean-shutdown marker so the next open skips CRC validation.
    pub fn close(mut self) -> Result<(), StorageError> {
        self.close_in_place()
    }

    /// Closes every file and marks the log unusable (before its directory is removed).
    pub(crate) fn release_for_delete(&mut self) {
        self.closed = true;
        self.segments.clear();
    }

    /// Removes the partition directory with everything in it.
    pub fn delete(mut self) -> Result<(), StorageError> {
        self.release_for_delete();
        std::fs::remove_dir_all(&self.dir).map_err(|e| StorageError::io(&self.dir, e))
    }

    /// Number of producer ids with idempotence state.
    pub fn producer_count(&self) -> usize {
        self.producers.len()
    }

    /// Whether the log has been closed or deleted.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}
