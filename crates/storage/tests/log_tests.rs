//! PartitionLog behaviour: appends, reads, rolls, recovery, retention, idempotence.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use bytes::Bytes;
use common::{batch, batch_with, fix_crc, idempotent_batch};
use strata_storage::{parse_batch_headers, LogConfig, PartitionLog, StorageError, TimestampType};

const NOW: i64 = 1_700_000_000_000;

fn dir_in(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("orders-0")
}

fn small_segments(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        index_interval_bytes: 100,
        ..LogConfig::default()
    }
}

fn segment_files(dir: &std::path::Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(&format!(".{ext}")))
        .collect();
    v.sort();
    v
}

fn read_all(log: &PartitionLog, from: i64) -> Vec<strata_storage::BatchHeader> {
    let mut out = Vec::new();
    let mut offset = from;
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX, true).unwrap();
        assert!(!r.records.is_empty(), "no data at {offset}");
        let headers = parse_batch_headers(&r.records).unwrap();
        offset = headers.last().unwrap().last_offset() + 1;
        out.extend(headers);
    }
    out
}

#[test]
fn append_assigns_offsets_and_reads_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir_in(&tmp), LogConfig::default()).unwrap();
    assert_eq!(log.topic_partition(), ("orders", 0));
    let b1 = batch(3, 10, NOW);
    let b2 = batch(2, 10, NOW);
    let a1 = log.append(b1.clone(), 7, NOW).unwrap();
    let a2 = log.append(b2.clone(), 7, NOW).unwrap();
    assert_eq!((a1.base_offset, a1.last_offset, a1.record_count), (0, 2, 3));
    assert_eq!((a2.base_offset, a2.last_offset), (3, 4));
    assert_eq!(a1.log_append_time_ms, -1);
    assert!(!a1.duplicate);
    assert_eq!(log.log_end_offset(), 5);

    let r = log.read(0, 1 << 20, i64::MAX, false).unwrap();
    assert_eq!(r.records.len(), b1.len() + b2.len());
    assert_eq!((r.log_start_offset, r.log_end_offset), (0, 5));
    let headers = parse_batch_headers(&r.records).unwrap();
    assert_eq!(headers.len(), 2);
    assert_eq!(headers[1].base_offset, 3);
    assert_eq!(headers[0].partition_leader_epoch, 7);
    // Everything after the 16-byte prefix is stored verbatim.
    assert_eq!(&r.records[16..b1.len()], &b1[16..]);
    assert_eq!(&r.records[b1.len() + 16..], &b2[16..]);
}

#[test]
fn read_from_middle_of_batch_returns_whole_batch_and_respects_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir_in(&tmp), LogConfig::default()).unwrap();
    let b = batch(5, 100, NOW);
    for _ in 0..3 {
        log.append(b.clone(), 0, NOW).unwrap();
    }
    let r = log.read(7, 1 << 20, i64::MAX, false).unwrap();
    let h = parse_batch_headers(&r.records).unwrap();
    assert_eq!(h[0].base_offset, 5);
    assert_eq!(h.len(), 2);

    // KIP-74: a first batch larger than max_bytes is returned only with min_one_batch.
    let small = log.read(0, 10, i64::MAX, true).unwrap();
    assert_eq!(small.records.len(), b.len());
    assert!(log.read(0, 10, i64::MAX, false).unwrap().records.is_empty());
    // max_bytes between one and two batches gives one batch.
    let one = log.read(0, b.len() + b.len() / 2, i64::MAX, false).unwrap();
    assert_eq!(one.records.len(), b.len());

    // The high watermark stops reads before a batch that reaches it.
    let hw = log.read(0, 1 << 20, 12, false).unwrap();
    assert_eq!(parse_batch_headers(&hw.records).unwrap().len(), 2);
    assert!(log.read(10, 1 << 20, 12, true).unwrap().records.is_empty());

    // Range checks.
    assert!(log
        .read(15, 100, i64::MAX, true)
        .unwrap()
        .records
        .is_empty());
    assert!(matches!(
        log.read(16, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange {
            requested: 16,
            log_start: 0,
            log_end: 15
        })
    ));
}

#[test]
fn index_lookups_after_many_appends_and_size_roll() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), small_segments(20_000)).unwrap();
    for i in 0..500 {
        let n = 1 + (i % 3);
        log.append(batch(n, 37, NOW + i as i64), 0, NOW).unwrap();
    }
    let leo = log.log_end_offset();
    assert_eq!(leo, (0..500).map(|i| 1 + (i % 3) as i64).sum::<i64>());
    assert!(log.segment_count() > 3, "segments: {}", log.segment_count());
    for name in segment_files(&dir, "log") {
        assert_eq!(name.len(), 24, "{name}");
    }
    for name in segment_files(&dir, "index") {
        let len = std::fs::metadata(dir.join(&name)).unwrap().len();
        assert_eq!(len % 8, 0);
    }
    let first_index = &segment_files(&dir, "index")[0];
    assert!(std::fs::metadata(dir.join(first_index)).unwrap().len() > 0);
    for name in segment_files(&dir, "timeindex") {
        assert_eq!(std::fs::metadata(dir.join(&name)).unwrap().len() % 12, 0);
    }
    for offset in 0..leo {
        let r = log.read(offset, 1, i64::MAX, true).unwrap();
        let h = parse_batch_headers(&r.records).unwrap();
        assert_eq!(h.len(), 1);
        assert!(
            h[0].base_offset <= offset && offset <= h[0].last_offset(),
            "offset {offset}"
        );
    }
    // Segments are contiguous.
    let headers = read_all(&log, 0);
    for w in headers.windows(2) {
        assert_eq!(w[0].last_offset() + 1, w[1].base_offset);
    }
}

#[test]
fn reopen_after_clean_close_and_after_crash_keeps_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), small_segments(5_000)).unwrap();
    for _ in 0..50 {
        log.append(batch(2, 50, NOW), 1, NOW).unwrap();
    }
    log.close().unwrap();
    assert!(dir.join(".strata-clean-shutdown").exists());

    let mut log = PartitionLog::open(dir.clone(), small_segments(5_000)).unwrap();
    assert!(!dir.join(".strata-clean-shutdown").exists());
    assert_eq!(log.log_end_offset(), 100);
    assert_eq!(read_all(&log, 0).len(), 50);
    log.append(batch(1, 50, NOW), 1, NOW).unwrap();
    drop(log); // crash: no marker

    let mut log = PartitionLog::open(dir.clone(), small_segments(5_000)).unwrap();
    assert_eq!(log.log_end_offset(), 101);
    assert_eq!(
        log.append(batch(1, 5, NOW), 1, NOW).unwrap().base_offset,
        101
    );
    assert_eq!(read_all(&log, 0).len(), 52);
    assert_eq!(log.latest_epoch(), Some(1));
}

#[test]
fn torn_tail_is_truncated_on_open_and_appends_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
    let b = batch(4, 30, NOW);
    for _ in 0..5 {
        log.append(b.clone(), 0, NOW).unwrap();
    }
    drop(log);
    let seg = dir.join("00000000000000000000.log");
    let full = std::fs::metadata(&seg).unwrap().len();
    // Cut the last batch in half.
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(full - (b.len() as u64) / 2).unwrap();
    drop(f);
    let mut log = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 16);
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), 4 * b.len() as u64);
    assert_eq!(log.append(b.clone(), 0, NOW).unwrap().base_offset, 16);
    drop(log);

    // Garbage after the last batch.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[0xAB; 100]).unwrap();
    }
    // A batch with a flipped byte (bad CRC) followed by a good one is also cut.
    let log = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 20);
    assert_eq!(read_all(&log, 0).len(), 5);
    drop(log);
    {
        let mut bytes = std::fs::read(&seg).unwrap();
        let last = bytes.len() - b.len();
        bytes[last + 70] ^= 0xFF;
        std::fs::write(&seg, &bytes).unwrap();
    }
    let log = PartitionLog::open(dir, LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 16);
}

#[test]
fn corrupt_or_invalid_payloads_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(
        dir_in(&tmp),
        LogConfig {
            max_message_bytes: 500,
            ..LogConfig::default()
        },
    )
    .unwrap();
    let good = batch(2, 10, NOW).to_vec();

    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 1;
    assert!(matches!(
        log.append(Bytes::from(bad_crc), 0, NOW),
        Err(StorageError::CorruptMessage { .. })
    ));

    let mut magic1 = good.clone();
    magic1[16] = 1;
    assert!(matches!(
        log.append(Bytes::from(magic1), 0, NOW),
        Err(StorageError::UnsupportedMagic { magic: 1, .. })
    ));

    let mut partial = good.clone();
    partial.extend_from_slice(&good[..30]);
    assert!(matches!(
        log.append(Bytes::from(partial), 0, NOW),
        Err(StorageError::CorruptMessage { .. })
    ));

    let mut bad_count = good.clone();
    bad_count[57..61].copy_from_slice(&5i32.to_be_bytes());
    fix_crc(&mut bad_count);
    assert!(matches!(
        log.append(Bytes::from(bad_count), 0, NOW),
        Err(StorageError::InvalidRecord { .. })
    ));

    assert!(matches!(
        log.append(batch(1, 600, NOW), 0, NOW),
        Err(StorageError::MessageTooLarge { max: 500, .. })
    ));
    assert!(matches!(
        log.append(Bytes::new(), 0, NOW),
        Err(StorageError::InvalidRecord { .. })
    ));
    assert_eq!(log.log_end_offset(), 0);
    // Two concatenated batches are fine.
    let mut two = good.clone();
    two.extend_from_slice(&good);
    let info = log.append(Bytes::from(two), 0, NOW).unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.record_count),
        (0, 3, 4)
    );
}

#[test]
fn missing_index_files_are_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), small_segments(10_000)).unwrap();
    for i in 0..200 {
        log.append(batch(1, 60, NOW + i), 0, NOW).unwrap();
    }
    log.close().unwrap();
    let index = dir.join(&segment_files(&dir, "index")[0]);
    let timeindex = dir.join(&segment_files(&dir, "timeindex")[0]);
    let before = std::fs::read(&index).unwrap();
    let before_time = std::fs::read(&timeindex).unwrap();
    assert!(!before.is_empty() && !before_time.is_empty());
    std::fs::remove_file(&index).unwrap();
    std::fs::write(&timeindex, b"garbage!").unwrap();

    let log = PartitionLog::open(dir.clone(), small_segments(10_000)).unwrap();
    assert_eq!(std::fs::read(&index).unwrap(), before);
    assert_eq!(std::fs::read(&timeindex).unwrap(), before_time);
    assert_eq!(read_all(&log, 0).len(), 200);
    assert_eq!(
        log.offset_for_timestamp(NOW + 50).unwrap(),
        Some((50, NOW + 50))
    );
}

#[test]
fn retention_by_time_and_bytes_deletes_old_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let hour = 3_600_000;
    let config = LogConfig {
        segment_bytes: 1_000,
        retention_ms: 10 * hour,
        ..LogConfig::default()
    };
    let mut log = PartitionLog::open(dir.clone(), config.clone()).unwrap();
    // Batches ~ 300 bytes: 3 per segment. Timestamps one hour apart.
    for i in 0..12 {
        log.append(batch(1, 230, NOW + i * hour), 0, NOW + i * hour)
            .unwrap();
    }
    let segments = log.segment_count();
    assert!(segments >= 4, "{segments}");
    // Nothing is older than 10h at NOW + 12h... except segments whose newest record is < NOW+2h.
    let deleted = log.apply_retention(NOW + 12 * hour + 1).unwrap();
    assert!(deleted >= 1);
    assert_eq!(log.segment_count(), segments - deleted);
    let first = log.segment_base_offsets()[0];
    assert_eq!(log.log_start_offset(), first);
    assert!(matches!(
        log.read(0, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    // Far in the future every segment but the active one goes.
    log.apply_retention(NOW + 1000 * hour).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_start_offset(), log.segment_base_offsets()[0]);
    assert_eq!(segment_files(&dir, "log").len(), 1);

    // retention.bytes
    let tmp2 = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(
        dir_in(&tmp2),
        LogConfig {
            segment_bytes: 1_000,
            retention_bytes: 2_000,
            ..LogConfig::default()
        },
    )
    .unwrap();
    for _ in 0..20 {
        log.append(batch(1, 230, NOW), 0, NOW).unwrap();
    }
    log.apply_retention(NOW).unwrap();
    assert!(
        log.size_bytes() >= 2_000 - 1_000 && log.size_bytes() <= 3_000,
        "{}",
        log.size_bytes()
    );
    assert!(log.log_start_offset() > 0);
    assert_eq!(log.log_end_offset(), 20);
}

#[test]
fn delete_records_before_moves_log_start_and_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), small_segments(1_000)).unwrap();
    for _ in 0..20 {
        log.append(batch(1, 230, NOW), 0, NOW).unwrap();
    }
    let segments = log.segment_count();
    assert_eq!(log.delete_records_before(7).unwrap(), 7);
    assert!(log.segment_count() < segments);
    assert!(log.segment_base_offsets()[0] <= 7);
    assert!(matches!(
        log.read(6, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    let r = log.read(7, 100, i64::MAX, true).unwrap();
    assert_eq!(parse_batch_headers(&r.records).unwrap()[0].base_offset, 7);
    assert_eq!(log.delete_records_before(3).unwrap(), 7);
    assert!(matches!(
        log.delete_records_before(21),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    log.close().unwrap();
    let log = PartitionLog::open(dir, small_segments(1_000)).unwrap();
    assert_eq!(log.log_start_offset(), 7);
}

#[test]
fn idempotent_retries_and_sequence_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
    let pid = 42;
    let a = log
        .append(idempotent_batch(3, (pid, 0, 0)), 0, NOW)
        .unwrap();
    let b = log
        .append(idempotent_batch(2, (pid, 0, 3)), 0, NOW)
        .unwrap();
    assert_eq!((b.base_offset, b.last_offset), (3, 4));
    // Retry of the first batch: original offsets, nothing written.
    let dup = log
        .append(idempotent_batch(3, (pid, 0, 0)), 0, NOW)
        .unwrap();
    assert!(dup.duplicate);
    assert_eq!(
        (dup.base_offset, dup.last_offset),
        (a.base_offset, a.last_offset)
    );
    assert_eq!(log.log_end_offset(), 5);
    // Gap.
    assert!(matches!(
        log.append(idempotent_batch(1, (pid, 0, 9)), 0, NOW),
        Err(StorageError::OutOfOrderSequence {
            producer_id: 42,
            expected: 5,
            got: 9
        })
    ));
    // New epoch must start at 0.
    assert!(matches!(
        log.append(idempotent_batch(1, (pid, 1, 5)), 0, NOW),
        Err(StorageError::OutOfOrderSequence {
            expected: 0,
            got: 5,
            ..
        })
    ));
    log.append(idempotent_batch(1, (pid, 1, 0)), 0, NOW)
        .unwrap();
    // Old epoch is fenced.
    assert!(matches!(
        log.append(idempotent_batch(1, (pid, 0, 5)), 0, NOW),
        Err(StorageError::InvalidProducerEpoch {
            current: 1,
            got: 0,
            ..
        })
    ));
    // Unknown producer: any sequence is accepted (KIP-360).
    log.append(idempotent_batch(1, (77, 3, 17)), 0, NOW)
        .unwrap();
    assert_eq!(log.log_end_offset(), 7);
    drop(log); // crash

    // State rebuilt from headers.
    let mut log = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
    assert_eq!(log.producer_count(), 2);
    let dup = log
        .append(idempotent_batch(1, (pid, 1, 0)), 0, NOW)
        .unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.base_offset, 5);
    assert!(matches!(
        log.append(idempotent_batch(1, (77, 3, 19)), 0, NOW),
        Err(StorageError::OutOfOrderSequence {
            expected: 18,
            got: 19,
            ..
        })
    ));
    log.append(idempotent_batch(1, (77, 3, 18)), 0, NOW)
        .unwrap();
    log.close().unwrap();
    let mut log = PartitionLog::open(dir, LogConfig::default()).unwrap();
    assert!(
        log.append(idempotent_batch(1, (77, 3, 18)), 0, NOW)
            .unwrap()
            .duplicate
    );
}

#[test]
fn offset_for_timestamp_and_max_timestamp() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir_in(&tmp), small_segments(400)).unwrap();
    // Offsets 0..3 ts 100,200,300; 3..6 ts 400,900,600; 6..9 ts 700,800,850
    log.append(
        Bytes::from(batch_with(&[b"a", b"b", b"c"], &[100, 200, 300], None)),
        0,
        NOW,
    )
    .unwrap();
    log.append(
        Bytes::from(batch_with(&[b"d", b"e", b"f"], &[400, 900, 600], None)),
        0,
        NOW,
    )
    .unwrap();
    log.append(
        Bytes::from(batch_with(&[b"g", b"h", b"i"], &[700, 800, 850], None)),
        0,
        NOW,
    )
    .unwrap();
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 100)));
    assert_eq!(log.offset_for_timestamp(150).unwrap(), Some((1, 200)));
    assert_eq!(log.offset_for_timestamp(500).unwrap(), Some((4, 900)));
    assert_eq!(log.offset_for_timestamp(900).unwrap(), Some((4, 900)));
    assert_eq!(log.offset_for_timestamp(901).unwrap(), None);
    assert_eq!(log.max_timestamp_offset(), Some((4, 900)));
}

#[test]
fn log_append_time_restamps_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(
        dir_in(&tmp),
        LogConfig {
            message_timestamp_type: TimestampType::LogAppendTime,
            ..LogConfig::default()
        },
    )
    .unwrap();
    let info = log.append(batch(2, 10, 5), 3, NOW).unwrap();
    assert_eq!(info.log_append_time_ms, NOW);
    let r = log.read(0, 1000, i64::MAX, true).unwrap();
    let h = parse_batch_headers(&r.records).unwrap(); // CRC recomputed
    assert_eq!(h[0].timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(h[0].max_timestamp, NOW);
    assert_eq!(h[0].base_timestamp, 5);
    assert_eq!(log.offset_for_timestamp(NOW).unwrap(), Some((0, NOW)));
}

#[test]
fn leader_epochs_and_truncation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_in(&tmp);
    let mut log = PartitionLog::open(dir.clone(), small_segments(500)).unwrap();
    for _ in 0..3 {
        log.append(batch(2, 100, NOW), 0, NOW).unwrap();
    }
    for _ in 0..3 {
        log.append(batch(2, 100, NOW), 2, NOW).unwrap();
    }
    assert_eq!(log.latest_epoch(), Some(2));
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 6)));
    assert_eq!(log.end_offset_for_epoch(1), Some((0, 6)));
    assert_eq!(log.end_offset_for_epoch(2), Some((2, 12)));
    assert_eq!(log.end_offset_for_epoch(3), None);
    let text = std::fs::read_to_string(dir.join("leader-epoch-checkpoint")).unwrap();
    assert_eq!(text, "0\n2\n0 0\n2 6\n");

    log.truncate_to(5).unwrap(); // mid-batch: the batch 4..=5 goes whole
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(log.latest_epoch(), Some(0));
    assert_eq!(
        log.append(batch(1, 10, NOW), 3, NOW).unwrap().base_offset,
        4
    );
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 4)));
    drop(log);
    let log = PartitionLog::open(dir.clone(), small_segments(500)).unwrap();
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(log.epoch_entries(), vec![(0, 0), (3, 4)]);
    assert_eq!(read_all(&log, 0).len(), 3);
}

#[test]
fn segment_rolls_by_time() {
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
    log.append(batch(1, 10, NOW + 500), 0, NOW + 500).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(batch(1, 10, NOW + 1_500), 0, NOW + 1_500)
        .unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
    log.maybe_roll(NOW + 1_600).unwrap();
    assert_eq!(log.segment_count(), 2);
    log.maybe_roll(NOW + 10_000).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2, 3]);
    assert_eq!(log.recovery_point(), 3);
}

/// Reads over a segment much larger than one scan buffer: every byte budget and start gives
/// whole, contiguous batches, as many as fit, exactly the bytes that were appended.
#[test]
fn reads_across_a_large_segment_return_whole_batches_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir_in(&tmp), LogConfig::default()).unwrap();
    // 400 batches of 1..=8 records of 300 bytes: ~600 KB, far past the 64 KB scan chunk.
    let mut sizes = Vec::new();
    for i in 0..400 {
        let b = batch(1 + i % 8, 300, NOW);
        sizes.push((log.log_end_offset(), b.len()));
        log.append(b, 3, NOW).unwrap();
    }
    let everything = read_all(&log, 0);
    assert_eq!(everything.len(), 400);
    for &start_batch in &[0usize, 1, 57, 200, 399] {
        let (offset, _) = sizes[start_batch];
        for &budget in &[1usize, 500, 4_000, 70_000, 200_000, 1 << 20] {
            let r = log.read(offset, budget, i64::MAX, true).unwrap();
            let headers = parse_batch_headers(&r.records).unwrap();
            assert_eq!(headers[0].base_offset, offset, "starts at the asked batch");
            let expected: Vec<usize> = {
                let mut taken = 0;
                let mut out = Vec::new();
                for &(_, len) in &sizes[start_batch..] {
                    if !out.is_empty() && taken + len > budget {
                        break;
                    }
                    taken += len;
                    out.push(len);
                }
                out
            };
            assert_eq!(
                headers.len(),
                expected.len(),
                "start {offset}, budget {budget}"
            );
            assert_eq!(r.records.len(), expected.iter().sum::<usize>());
            // The high watermark cuts a read at whole batches too.
            let hw = headers.last().unwrap().base_offset;
            let cut = log.read(offset, budget, hw, true).unwrap();
            if hw == offset {
                assert!(cut.records.is_empty());
            } else {
                let cut_headers = parse_batch_headers(&cut.records).unwrap();
                assert_eq!(cut_headers.len(), headers.len() - 1);
            }
        }
    }
}
