//! The follower side of PartitionLog: batches replicated from a leader are stored verbatim,
//! rebuild the producer state and epoch cache, and truncation restarts a log cleanly.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::{batch, idempotent_batch};
use strata_storage::{LogConfig, PartitionLog, StorageError};

const NOW: i64 = 1_700_000_000_000;

/// A leader log with three batches in epochs 1, 1, 2 (the last from producer 42).
fn leader(tmp: &tempfile::TempDir) -> PartitionLog {
    let mut log = PartitionLog::open(tmp.path().join("leader-0"), LogConfig::default()).unwrap();
    log.append(batch(3, 10, NOW), 1, NOW).unwrap();
    log.append(batch(2, 10, NOW), 1, NOW).unwrap();
    log.append(idempotent_batch(2, (42, 0, 0)), 2, NOW).unwrap();
    log
}

fn everything(log: &PartitionLog) -> Bytes {
    log.read(0, 1 << 20, i64::MAX, true).unwrap().records
}

#[test]
fn replicated_batches_are_stored_verbatim_with_the_leaders_offsets_and_epochs() {
    let tmp = tempfile::tempdir().unwrap();
    let leader = leader(&tmp);
    let mut follower =
        PartitionLog::open(tmp.path().join("follower-0"), LogConfig::default()).unwrap();
    let records = everything(&leader);
    let info = follower
        .append_replicated(&records, NOW)
        .unwrap()
        .expect("appended");
    assert_eq!(
        (info.base_offset, info.last_offset, info.record_count),
        (0, 6, 7)
    );
    assert_eq!(follower.log_end_offset(), leader.log_end_offset());
    assert_eq!(
        everything(&follower),
        records,
        "byte for byte the leader's log"
    );
    assert_eq!(follower.epoch_entries(), leader.epoch_entries());
    assert_eq!(follower.end_offset_for_epoch(1), Some((1, 5)));

    // The producer state came along: the producer's retry is a duplicate on the follower.
    let retry = follower
        .append(idempotent_batch(2, (42, 0, 0)), 3, NOW)
        .unwrap();
    assert!(
        retry.duplicate,
        "a retry of a replicated batch is deduplicated"
    );
    assert_eq!((retry.base_offset, retry.last_offset), (5, 6));
}

#[test]
fn replicated_batches_must_continue_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let leader = leader(&tmp);
    let mut follower =
        PartitionLog::open(tmp.path().join("follower-0"), LogConfig::default()).unwrap();
    let all = everything(&leader);
    follower.append_replicated(&all, NOW).unwrap();
    // The same batches again (a stale response) do not start at the log end.
    assert!(matches!(
        follower.append_replicated(&all, NOW),
        Err(StorageError::InvalidOffset { offset: 0, .. })
    ));
    // A torn batch is refused whole.
    let torn = all.slice(..all.len() - 3);
    let mut fresh = PartitionLog::open(tmp.path().join("fresh-0"), LogConfig::default()).unwrap();
    assert!(fresh.append_replicated(&torn, NOW).is_err());
    assert_eq!(fresh.log_end_offset(), 0);
    assert_eq!(fresh.append_replicated(&Bytes::new(), NOW).unwrap(), None);
}

#[test]
fn truncation_then_refetch_and_starting_over() {
    let tmp = tempfile::tempdir().unwrap();
    let leader = leader(&tmp);
    let dir = tmp.path().join("follower-0");
    let mut follower = PartitionLog::open(dir.clone(), LogConfig::default()).unwrap();
    follower
        .append_replicated(&everything(&leader), NOW)
        .unwrap();
    // Diverged at the start of epoch 2: drop it and fetch it again.
    follower.truncate_to(5).unwrap();
    assert_eq!(follower.log_end_offset(), 5);
    assert_eq!(follower.latest_epoch(), Some(1));
    let rest = leader.read(5, 1 << 20, i64::MAX, true).unwrap().records;
    follower.append_replicated(&rest, NOW).unwrap();
    assert_eq!(everything(&follower), everything(&leader));

    // Behind the leader's log start: start over there, and survive a reopen.
    follower.truncate_fully_and_start_at(100).unwrap();
    assert_eq!(
        (follower.log_start_offset(), follower.log_end_offset()),
        (100, 100)
    );
    assert_eq!(follower.latest_epoch(), None);
    follower.close().unwrap();
    let reopened = PartitionLog::open(dir, LogConfig::default()).unwrap();
    assert_eq!(
        (reopened.log_start_offset(), reopened.log_end_offset()),
        (100, 100)
    );
}

#[test]
fn an_empty_epoch_at_the_log_end_is_dropped_by_a_no_op_truncation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(tmp.path().join("t-0"), LogConfig::default()).unwrap();
    log.append(batch(2, 10, NOW), 1, NOW).unwrap();
    // Became leader of epoch 3 and appended nothing before losing leadership.
    log.assign_leader_epoch(3).unwrap();
    assert_eq!(log.latest_epoch(), Some(3));
    log.truncate_to(log.log_end_offset()).unwrap();
    assert_eq!(log.latest_epoch(), Some(1), "the empty epoch is gone");
    assert_eq!(log.log_end_offset(), 2);
}
