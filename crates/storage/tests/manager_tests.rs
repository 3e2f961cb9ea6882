//! LogManager: discovery, placement, removal and checkpoint files.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::batch;
use strata_storage::{LogConfig, LogManager};

const NOW: i64 = 1_700_000_000_000;

#[test]
fn manager_places_checkpoints_and_reloads() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
    std::fs::create_dir_all(a.path().join("__cluster_metadata-0")).unwrap();
    std::fs::create_dir_all(a.path().join("old-3.abc-delete")).unwrap();
    std::fs::write(a.path().join("meta.properties"), "version=1\n").unwrap();
    let mgr = LogManager::open(dirs.clone(), LogConfig::default()).unwrap();
    assert!(!a.path().join("old-3.abc-delete").exists());
    assert!(mgr.all().is_empty());
    for p in 0..4 {
        let log = mgr.get_or_create("t", p, LogConfig::default()).unwrap();
        let mut log = log.lock().unwrap();
        for _ in 0..=p {
            log.append(batch(2, 10, NOW), 0, NOW).unwrap();
        }
    }
    // Two partitions per dir.
    let in_a = (0..4)
        .filter(|p| a.path().join(format!("t-{p}")).exists())
        .count();
    assert_eq!(in_a, 2);
    mgr.get("t", 3)
        .unwrap()
        .lock()
        .unwrap()
        .delete_records_before(3)
        .unwrap();
    mgr.get("t", 0).unwrap().lock().unwrap().flush().unwrap();
    mgr.checkpoint().unwrap();
    let rp_a = std::fs::read_to_string(a.path().join("recovery-point-offset-checkpoint")).unwrap();
    let mut lines: Vec<&str> = rp_a.lines().collect();
    assert_eq!(&lines[..2], &["0", "2"]);
    lines.drain(..2);
    for l in &lines {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0], "t");
    }
    let starts: String = [a.path(), b.path()]
        .iter()
        .map(|d| std::fs::read_to_string(d.join("log-start-offset-checkpoint")).unwrap())
        .collect();
    assert!(starts.contains("t 3 3\n"), "{starts}");
    assert!(starts.contains("0\n0\n"), "{starts}");

    // Crash (no shutdown): the log start offset comes back from the checkpoint.
    drop(mgr);
    let mgr = LogManager::open(dirs.clone(), LogConfig::default()).unwrap();
    assert_eq!(mgr.all().len(), 4);
    assert_eq!(
        mgr.get("t", 3).unwrap().lock().unwrap().log_start_offset(),
        3
    );
    assert_eq!(mgr.get("t", 2).unwrap().lock().unwrap().log_end_offset(), 6);

    mgr.remove("t", 1).unwrap();
    assert!(mgr.get("t", 1).is_none());
    assert!(!a.path().join("t-1").exists() && !b.path().join("t-1").exists());
    mgr.shutdown().unwrap();
    let mgr = LogManager::open(dirs, LogConfig::default()).unwrap();
    assert_eq!(mgr.all().len(), 3);
    assert_eq!(mgr.get("t", 3).unwrap().lock().unwrap().log_end_offset(), 8);
}

fn stray_dirs(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(strata_storage::STRAY_DIR_SUFFIX))
        .collect()
}

#[test]
fn corrupt_checkpoints_are_ignored_and_the_dir_recovers_fully() {
    let a = tempfile::tempdir().unwrap();
    let dirs = vec![a.path().to_path_buf()];
    let config = LogConfig {
        segment_bytes: 1_000,
        ..LogConfig::default()
    };
    let mgr = LogManager::open(dirs.clone(), config.clone()).unwrap();
    {
        let log = mgr.get_or_create("t", 0, config.clone()).unwrap();
        let mut log = log.lock().unwrap();
        for _ in 0..6 {
            log.append(batch(1, 230, NOW), 0, NOW).unwrap();
        }
        assert!(log.segment_count() >= 2);
        log.flush().unwrap();
    }
    mgr.checkpoint().unwrap();
    drop(mgr); // crash: no clean-shutdown marker

    // Flip a byte inside the first (old, fsynced) segment's second batch: only a full
    // recovery (recovery point 0) notices it.
    let seg = a.path().join("t-0").join("00000000000000000000.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    let batch_len = batch(1, 230, NOW).len();
    bytes[batch_len + 100] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    std::fs::write(
        a.path().join("recovery-point-offset-checkpoint"),
        "garbage\n",
    )
    .unwrap();
    std::fs::write(a.path().join("log-start-offset-checkpoint"), "0\n7\nt 0\n").unwrap();

    let mgr = LogManager::open(dirs, config).unwrap();
    let log = mgr.get("t", 0).unwrap();
    let log = log.lock().unwrap();
    assert_eq!(
        log.log_end_offset(),
        1,
        "recovered from offset 0 and cut at the bad batch"
    );
    assert_eq!(log.segment_count(), 1);
}

#[test]
fn mark_stray_renames_instead_of_deleting_and_open_leaves_it_alone() {
    let a = tempfile::tempdir().unwrap();
    let dirs = vec![a.path().to_path_buf()];
    let mgr = LogManager::open(dirs.clone(), LogConfig::default()).unwrap();
    for p in 0..2 {
        let log = mgr.get_or_create("t", p, LogConfig::default()).unwrap();
        let mut log = log.lock().unwrap();
        log.append(batch(3, 10, NOW), 0, NOW).unwrap();
        log.delete_records_before(1).unwrap();
    }
    mgr.checkpoint().unwrap();
    let held = mgr.get("t", 0).unwrap();

    let stray = mgr.mark_stray("t", 0).unwrap();
    let name = stray.file_name().unwrap().to_str().unwrap().to_string();
    let hex = name
        .strip_prefix("t-0.")
        .and_then(|n| n.strip_suffix("-stray"))
        .unwrap();
    assert_eq!(hex.len(), 32, "{name}");
    assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    assert_eq!(stray.parent().unwrap(), a.path());
    assert!(stray.join("00000000000000000000.log").exists());
    assert!(!a.path().join("t-0").exists());
    assert!(mgr.get("t", 0).is_none());
    assert!(held.lock().unwrap().is_closed());
    assert!(matches!(
        held.lock().unwrap().append(batch(1, 1, NOW), 0, NOW),
        Err(strata_storage::StorageError::LogClosed { .. })
    ));
    for file in [
        "recovery-point-offset-checkpoint",
        "log-start-offset-checkpoint",
    ] {
        let text = std::fs::read_to_string(a.path().join(file)).unwrap();
        assert!(!text.contains("t 0 "), "{file}: {text}");
        assert!(text.contains("t 1 "), "{file}: {text}");
    }
    assert!(mgr.mark_stray("t", 0).is_err());

    // A second stray of the same partition gets its own name.
    mgr.get_or_create("t", 0, LogConfig::default()).unwrap();
    let stray2 = mgr.mark_stray("t", 0).unwrap();
    assert_ne!(stray, stray2);
    drop(mgr);

    let mgr = LogManager::open(dirs, LogConfig::default()).unwrap();
    assert!(mgr.get("t", 0).is_none());
    assert_eq!(mgr.all().len(), 1);
    assert_eq!(stray_dirs(a.path()).len(), 2);
    assert!(stray.exists() && stray2.exists());
}

#[test]
fn remove_drops_the_partition_from_the_checkpoint_files() {
    let a = tempfile::tempdir().unwrap();
    let dirs = vec![a.path().to_path_buf()];
    let mgr = LogManager::open(dirs.clone(), LogConfig::default()).unwrap();
    for p in 0..2 {
        let log = mgr.get_or_create("gone", p, LogConfig::default()).unwrap();
        let mut log = log.lock().unwrap();
        log.append(batch(5, 10, NOW), 0, NOW).unwrap();
        log.delete_records_before(3).unwrap();
    }
    mgr.checkpoint().unwrap();
    let starts = std::fs::read_to_string(a.path().join("log-start-offset-checkpoint")).unwrap();
    assert!(starts.contains("gone 0 3"), "{starts}");

    mgr.remove("gone", 0).unwrap();
    for file in [
        "recovery-point-offset-checkpoint",
        "log-start-offset-checkpoint",
    ] {
        let text = std::fs::read_to_string(a.path().join(file)).unwrap();
        assert!(!text.contains("gone 0 "), "{file}: {text}");
        assert!(text.contains("gone 1 "), "{file}: {text}");
    }
    // A partition recreated under the same name does not inherit the old log start offset.
    drop(mgr);
    let mgr = LogManager::open(dirs.clone(), LogConfig::default()).unwrap();
    let log = mgr.get_or_create("gone", 0, LogConfig::default()).unwrap();
    log.lock()
        .unwrap()
        .append(batch(1, 1, NOW), 0, NOW)
        .unwrap();
    drop(log);
    drop(mgr);
    let mgr = LogManager::open(dirs, LogConfig::default()).unwrap();
    let log = mgr.get("gone", 0).unwrap();
    assert_eq!(log.lock().unwrap().log_start_offset(), 0);
}

#[test]
fn high_watermarks_come_back_from_the_replication_checkpoint_clamped_to_the_log() {
    let a = tempfile::tempdir().unwrap();
    let dirs = vec![a.path().to_path_buf()];
    let mgr = LogManager::open(dirs.clone(), LogConfig::default()).unwrap();
    for p in 0..2 {
        let log = mgr.get_or_create("t", p, LogConfig::default()).unwrap();
        let mut log = log.lock().unwrap();
        for _ in 0..3 {
            log.append(batch(2, 10, NOW), 0, NOW).unwrap();
        }
        // LEO 6: partition 0 committed 4 records, partition 1 none recorded.
        if p == 0 {
            log.set_high_watermark_hint(4);
        }
    }
    mgr.checkpoint().unwrap();
    let text = std::fs::read_to_string(a.path().join("replication-offset-checkpoint")).unwrap();
    assert_eq!(text, "0\n1\nt 0 4\n");
    drop(mgr);
    // Kafka's file from a broker whose HW was ahead of what this log kept is clamped.
    std::fs::write(
        a.path().join("replication-offset-checkpoint"),
        "0\n2\nt 0 4\nt 1 99\n",
    )
    .unwrap();
    let mgr = LogManager::open(dirs, LogConfig::default()).unwrap();
    let hint = |p: i32| {
        mgr.get("t", p)
            .unwrap()
            .lock()
            .unwrap()
            .high_watermark_hint()
    };
    assert_eq!(hint(0), Some(4));
    assert_eq!(hint(1), Some(6));
}
