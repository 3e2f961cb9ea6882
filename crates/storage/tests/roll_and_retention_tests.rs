//! Regression tests: per-batch rolls before relative offsets overflow, atomic appends,
//! splitting of overflowed segments on recovery, and retention that includes the active segment.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use common::{batch, raw_batch, set_base_offset};
use strata_storage::{parse_batch_headers, LogConfig, PartitionLog, StorageError};

const NOW: i64 = 1_700_000_000_000;
const GZIP: i16 = 1;
/// First offset that does not fit relative to a segment based at 0.
const OVERFLOW: i64 = 1 << 31;

fn dir_in(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("roll-0")
}

fn big_batches_config() -> LogConfig {
    LogConfig {
        max_message_bytes: 4 * 1024 * 1024,
        ..LogConfig::default()
    }
}

/// A compressed batch (not decompressed by storage) claiming `i32::MAX` records: just big
/// enough for the record-count bound.
fn huge_compressed_batch() -> Vec<u8> {
    raw_batch(
        &vec![0u8; 2 * 1024 * 1024 + 1024],
        i32::MAX,
        i32::MAX - 1,
        GZIP,
    )
}

fn segment_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

#[test]
fn a_batch_that_overflows_relative_offsets_rolls_even_inside_one_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), big_batches_config()).unwrap();
    let mut payload = huge_compressed_batch();
    payload.extend_from_slice(&batch(1, 5, NOW)); // offset 2^31 - 1: still fits
    payload.extend_from_slice(&batch(1, 5, NOW)); // offset 2^31: needs a new segment
    let info = log.append(Bytes::from(payload), 0, NOW).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, OVERFLOW));
    assert_eq!(log.segment_base_offsets(), vec![0, OVERFLOW]);
    log.append(batch(1, 5, NOW), 0, NOW).unwrap();

    // Crash (no close) and recover: nothing is taken for corruption.
    drop(log);
    let log = PartitionLog::open(dir, big_batches_config()).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, OVERFLOW]);
    assert_eq!(log.log_end_offset(), OVERFLOW + 2);
    let r = log.read(OVERFLOW - 1, 1 << 20, i64::MAX, true).unwrap();
    assert_eq!(
        parse_batch_headers(&r.records).unwrap()[0].base_offset,
        OVERFLOW - 1
    );
    let r = log.read(OVERFLOW, 1 << 20, i64::MAX, true).unwrap();
    let headers = parse_batch_headers(&r.records).unwrap();
    assert_eq!(headers.len(), 2);
    assert_eq!(headers[0].base_offset, OVERFLOW);
}

#[test]
fn a_payload_that_fails_part_way_leaves_no_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), big_batches_config()).unwrap();
    // The roll before the third batch cannot create its segment file.
    std::fs::create_dir_all(segment_path(&dir, OVERFLOW)).unwrap();
    let mut payload = huge_compressed_batch();
    payload.extend_from_slice(&batch(1, 5, NOW));
    payload.extend_from_slice(&batch(1, 5, NOW));
    let result = log.append(Bytes::from(payload), 0, NOW);
    assert!(matches!(result, Err(StorageError::Io { .. })), "{result:?}");
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.size_bytes(), 0);
    assert_eq!(log.segment_base_offsets(), vec![0]);
    assert_eq!(std::fs::metadata(segment_path(&dir, 0)).unwrap().len(), 0);
    assert!(!log.is_closed());

    // The next append lands where the failed one would have, and survives a crash.
    std::fs::remove_dir(segment_path(&dir, OVERFLOW)).unwrap();
    let small = batch(2, 5, NOW);
    let info = log.append(small.clone(), 0, NOW).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 1));
    assert_eq!(log.size_bytes(), small.len() as u64);
    drop(log);
    let log = PartitionLog::open(dir, big_batches_config()).unwrap();
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(log.size_bytes(), small.len() as u64);
}

/// Two batches whose offsets overflow a segment based at 0, as older versions wrote them.
fn overflowed_segment() -> (Vec<u8>, usize) {
    let first = batch(1, 5, NOW).to_vec();
    let mut far = batch(1, 5, NOW).to_vec();
    set_base_offset(&mut far, 3_000_000_000);
    let mut farther = batch(2, 5, NOW).to_vec();
    set_base_offset(&mut farther, 3_000_000_001);
    let mut file = first.clone();
    file.extend_from_slice(&far);
    file.extend_from_slice(&farther);
    (file, first.len())
}

#[test]
fn recovery_splits_an_overflowed_segment_instead_of_dropping_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    std::fs::create_dir_all(&dir).unwrap();
    let (file, first_len) = overflowed_segment();
    std::fs::write(segment_path(&dir, 0), &file).unwrap();
    // A later, healthy segment must survive too.
    let mut later = batch(1, 5, NOW).to_vec();
    set_base_offset(&mut later, 3_000_000_010);
    std::fs::write(segment_path(&dir, 3_000_000_010), &later).unwrap();

    for _ in 0..2 {
        let log = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
        assert_eq!(
            log.segment_base_offsets(),
            vec![0, 3_000_000_000, 3_000_000_010]
        );
        assert_eq!(log.log_end_offset(), 3_000_000_011);
        assert_eq!(log.size_bytes(), (file.len() + later.len()) as u64);
        assert_eq!(
            std::fs::metadata(segment_path(&dir, 0)).unwrap().len(),
            first_len as u64
        );
        let r = log.read(3_000_000_001, 1 << 20, i64::MAX, true).unwrap();
        assert_eq!(
            parse_batch_headers(&r.records).unwrap()[0].base_offset,
            3_000_000_001
        );
        drop(log); // crash: the second round recovers the split files again
    }
}

#[test]
fn recovery_redoes_a_split_interrupted_before_the_source_was_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    std::fs::create_dir_all(&dir).unwrap();
    let (file, first_len) = overflowed_segment();
    std::fs::write(segment_path(&dir, 0), &file).unwrap();
    // A partial copy of the tail from a split that crashed mid-way.
    std::fs::write(
        segment_path(&dir, 3_000_000_000),
        &file[first_len..first_len + 30],
    )
    .unwrap();
    let log = PartitionLog::open(dir, LogConfig::default()).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 3_000_000_000]);
    assert_eq!(log.log_end_offset(), 3_000_000_003);
    assert_eq!(log.size_bytes(), file.len() as u64);
}

#[test]
fn retention_deletes_the_active_segment_when_everything_breaches() {
    let tmp = tempfile::tempdir().unwrap();
    let hour = 3_600_000;
    let mut log = PartitionLog::open(
        dir_in(&tmp),
        LogConfig {
            retention_ms: hour,
            ..LogConfig::default()
        },
    )
    .unwrap();
    for _ in 0..3 {
        log.append(batch(2, 10, NOW), 0, NOW).unwrap();
    }
    assert_eq!(log.segment_count(), 1);
    // Within retention: nothing happens.
    assert_eq!(log.apply_retention(NOW + hour).unwrap(), 0);
    assert_eq!(log.log_start_offset(), 0);

    assert_eq!(log.apply_retention(NOW + 2 * hour).unwrap(), 1);
    assert_eq!(log.segment_base_offsets(), vec![6]);
    assert_eq!(log.size_bytes(), 0);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (6, 6));
    assert!(matches!(
        log.read(5, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert!(log.read(6, 100, i64::MAX, true).unwrap().records.is_empty());
    // The empty active segment is never deleted.
    assert_eq!(log.apply_retention(NOW + 100 * hour).unwrap(), 0);
    assert_eq!(log.segment_count(), 1);
    assert_eq!(
        log.append(batch(1, 10, NOW), 0, NOW).unwrap().base_offset,
        6
    );
}

#[test]
fn retention_bytes_counts_the_active_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(
        dir.clone(),
        LogConfig {
            retention_bytes: 0,
            ..LogConfig::default()
        },
    )
    .unwrap();
    log.append(batch(4, 10, NOW), 0, NOW).unwrap();
    assert_eq!(log.apply_retention(NOW).unwrap(), 1);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (4, 4));
    assert_eq!(log.segment_base_offsets(), vec![4]);
    // Survives a clean restart.
    log.close().unwrap();
    let log = PartitionLog::open(dir, LogConfig::default()).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (4, 4));
}

#[test]
fn retention_rolls_idle_segments_by_segment_ms() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(
        dir_in(&tmp),
        LogConfig {
            segment_ms: 1_000,
            ..LogConfig::default()
        },
    )
    .unwrap();
    log.append(batch(1, 10, NOW), 0, NOW).unwrap();
    assert_eq!(log.apply_retention(NOW + 500).unwrap(), 0);
    assert_eq!(log.segment_count(), 1);
    // Idle past segment.ms: rolled, nothing deleted (retention.ms is 7 days).
    assert_eq!(log.apply_retention(NOW + 2_000).unwrap(), 0);
    assert_eq!(log.segment_base_offsets(), vec![0, 1]);
    assert_eq!(log.recovery_point(), 1);
}
