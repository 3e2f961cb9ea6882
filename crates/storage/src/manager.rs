//! `LogManager`: every partition log under the broker's `log.dirs`, plus the log-dir-level
//! checkpoint files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::checkpoint::{
    read_offset_checkpoint, write_offset_checkpoint, LOG_START_OFFSET_CHECKPOINT_FILE,
    RECOVERY_POINT_CHECKPOINT_FILE, REPLICATION_OFFSET_CHECKPOINT_FILE,
};
use crate::config::LogConfig;
use crate::error::StorageError;
use crate::log::{parse_topic_partition, OpenHints, PartitionLog};

/// Suffix of a partition directory scheduled for deletion.
const DELETE_DIR_SUFFIX: &str = "-delete";
/// Suffix of a partition directory set aside because the metadata no longer assigns it to this
/// node (Kafka's KIP-858). Such directories are kept, never loaded nor deleted.
pub const STRAY_DIR_SUFFIX: &str = "-stray";
/// Directory names in a log dir that are never partitions of this manager.
const IGNORED_DIR_NAMES: &[&str] = &["__cluster_metadata-0"];

type Key = (String, i32);

/// A partition log shared between the manager and its users.
pub type SharedLog = Arc<Mutex<PartitionLog>>;

struct Entry {
    log: Arc<Mutex<PartitionLog>>,
    dir_index: usize,
}

/// Owns the partition logs of all log dirs. All methods take `&self`; each log sits behind its
/// own `std::sync::Mutex`.
pub struct LogManager {
    dirs: Vec<PathBuf>,
    default_config: LogConfig,
    logs: Mutex<HashMap<Key, Entry>>,
    /// Serialises checkpoint writers: they share one `<file>.tmp` per checkpoint file.
    checkpoint_lock: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a log lock leaves in-memory state we can still read; the files
    // are the source of truth and recovery handles them on the next open.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// 32 hex digits (the width of Kafka's dash-less UUID) that differ between calls and processes:
/// the wall clock mixed with std's per-process random hash keys and a call counter.
fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let random = hasher.finish();
    format!("{random:016x}{:016x}", nanos as u64)
}

/// Reads one log-dir checkpoint for start-up. Like Kafka's `LogManager.loadLogs`, a file that
/// cannot be read or parsed is logged and treated as empty rather than aborting start-up;
/// `None` tells the caller the file was unusable.
fn read_checkpoint_or_warn(path: &Path) -> Option<HashMap<(String, i32), i64>> {
    match read_offset_checkpoint(path) {
        Ok(map) => Some(map),
        Err(error) => {
            tracing::warn!(
                file = %path.display(), %error,
                "unreadable checkpoint file; treating it as empty"
            );
            None
        }
    }
}

impl LogManager {
    /// Opens every `<topic>-<partition>` directory under `dirs` (creating missing log dirs) and
    /// removes leftover `*-delete` directories; `*-stray` directories are left alone. Recovery
    /// points and log start offsets come from each dir's checkpoint files. A corrupt or
    /// unreadable checkpoint is logged and treated as empty (Kafka's behaviour); an unusable
    /// recovery-point checkpoint makes every log of that dir recover from offset 0 unless it
    /// was closed cleanly.
    pub fn open(dirs: Vec<PathBuf>, default_config: LogConfig) -> Result<LogManager, StorageError> {
        let mut logs = HashMap::new();
        for (dir_index, dir) in dirs.iter().enumerate() {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::io(dir, e))?;
            let recovery = read_checkpoint_or_warn(&dir.join(RECOVERY_POINT_CHECKPOINT_FILE));
            // Kafka resets every recovery point to 0 when this file is unusable.
            let full_recovery = recovery.is_none();
            let recovery = recovery.unwrap_or_default();
            let starts = read_checkpoint_or_warn(&dir.join(LOG_START_OFFSET_CHECKPOINT_FILE))
                .unwrap_or_default();
            let high_watermarks =
                read_checkpoint_or_warn(&dir.join(REPLICATION_OFFSET_CHECKPOINT_FILE))
                    .unwrap_or_default();
            let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io(dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| StorageError::io(dir, e))?;
                let path = entry.path();
                if !path.is_dir() {
                    continue;
                }
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if name.ends_with(DELETE_DIR_SUFFIX) {
                    tracing::info!(dir = %path.display(), "removing partition directory left for deletion");
                    std::fs::remove_dir_all(&path).map_err(|e| StorageError::io(&path, e))?;
                    continue;
                }
                if IGNORED_DIR_NAMES.contains(&name.as_str())
                    || name.ends_with("-future")
                    || name.ends_with(STRAY_DIR_SUFFIX)
                {
                    continue;
                }
                let Ok(key) = parse_topic_partition(&path) else {
                    tracing::warn!(dir = %path.display(), "ignoring directory that is not <topic>-<partition>");
                    continue;
                };
                if logs.contains_key(&key) {
                    return Err(StorageError::InvalidLogDir {
                        path,
                        reason: format!("partition {}-{} exists in two log dirs", key.0, key.1),
                    });
                }
                let hints = OpenHints {
                    recovery_point: if full_recovery {
                        Some(0)
                    } else {
                        recovery.get(&key).copied()
                    },
                    log_start_offset: starts.get(&key).copied(),
                    high_watermark: high_watermarks.get(&key).copied(),
                };
                let log = PartitionLog::open_with_hints(path, default_config.clone(), hints)?;
                logs.insert(
                    key,
                    Entry {
                        log: Arc::new(Mutex::new(log)),
                        dir_index,
                    },
                );
            }
        }
        Ok(LogManager {
            dirs,
            default_config,
            logs: Mutex::new(logs),
            checkpoint_lock: Mutex::new(()),
        })
    }

    /// The log dirs, in configuration order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The configuration logs were opened with at start-up (the broker applies topic overrides
    /// with [`PartitionLog::update_config`]).
    pub fn default_config(&self) -> &LogConfig {
        &self.default_config
    }

    /// The log of `topic`-`partition`, if it exists.
    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Mutex<PartitionLog>>> {
        lock(&self.logs)
            .get(&(topic.to_string(), partition))
            .map(|e| Arc::clone(&e.log))
    }

    /// The log of `topic`-`partition`, created with `config` in the log dir holding the fewest
    /// partitions if it does not exist yet. An existing log keeps its configuration.
    pub fn get_or_create(
        &self,
        topic: &str,
        partition: i32,
        config: LogConfig,
    ) -> Result<Arc<Mutex<PartitionLog>>, StorageError> {
        let mut logs = lock(&self.logs);
        let key = (topic.to_string(), partition);
        if let Some(e) = logs.get(&key) {
            return Ok(Arc::clone(&e.log));
        }
        let mut counts = vec![0usize; self.dirs.len()];
        for e in logs.values() {
            counts[e.dir_index] += 1;
        }
        let dir_index = (0..self.dirs.len())
            .min_by_key(|&i| (counts[i], i))
            .ok_or_else(|| StorageError::InvalidLogDir {
                path: PathBuf::new(),
                reason: "no log dirs configured".into(),
            })?;
        let path = self.dirs[dir_index].join(format!("{topic}-{partition}"));
        let log = Arc::new(Mutex::new(PartitionLog::open(path, config)?));
        logs.insert(
            key,
            Entry {
                log: Arc::clone(&log),
                dir_index,
            },
        );
        Ok(log)
    }

    /// Deletes a partition: its files are released, the directory renamed to
    /// `<topic>-<partition>.<unique>-delete` (so a crash mid-delete is finished on next open),
    /// then removed, and the dir's checkpoint files are rewritten without it (Kafka's
    /// `asyncDelete`). Holders of the `Arc` see [`StorageError::LogClosed`] afterwards.
    pub fn remove(&self, topic: &str, partition: i32) -> Result<(), StorageError> {
        let Some(entry) = lock(&self.logs).remove(&(topic.to_string(), partition)) else {
            return Ok(());
        };
        let dir = {
            let mut log = lock(&entry.log);
            let dir = log.dir().to_path_buf();
            log.release_for_delete();
            dir
        };
        let renamed = self.dirs[entry.dir_index].join(format!(
            "{topic}-{partition}.{}{DELETE_DIR_SUFFIX}",
            unique_suffix()
        ));
        std::fs::rename(&dir, &renamed).map_err(|e| StorageError::io(&dir, e))?;
        // Checkpoint first: once the rename is done the partition is gone on the next open
        // either way, and stale entries must not outlive it (a recreated partition of the same
        // name would inherit its log start offset).
        self.checkpoint_dir(entry.dir_index)?;
        std::fs::remove_dir_all(&renamed).map_err(|e| StorageError::io(&renamed, e))
    }

    /// Sets a partition log aside as stray (Kafka's KIP-858) instead of deleting it: the log is
    /// closed (flushed, with a clean-shutdown marker), dropped from the manager, and its
    /// directory renamed to `<topic>-<partition>.<32 hex digits>-stray`, which [`Self::open`]
    /// skips and never deletes. The dir's checkpoint files are rewritten without it. Returns
    /// the new directory path. Holders of the `Arc` see [`StorageError::LogClosed`] afterwards.
    /// A partition this manager does not hold is [`StorageError::InvalidLogDir`].
    pub fn mark_stray(&self, topic: &str, partition: i32) -> Result<PathBuf, StorageError> {
        let Some(entry) = lock(&self.logs).remove(&(topic.to_string(), partition)) else {
            return Err(StorageError::InvalidLogDir {
                path: PathBuf::from(format!("{topic}-{partition}")),
                reason: "no such partition log in this log manager".into(),
            });
        };
        let dir = {
            let mut log = lock(&entry.log);
            if let Err(error) = log.close_in_place() {
                // The directory is still set aside: recovery sorts out the files if it is
                // ever reused.
                tracing::warn!(%topic, partition, %error, "could not close stray log cleanly");
            }
            let dir = log.dir().to_path_buf();
            log.release_for_delete();
            dir
        };
        let stray = self.dirs[entry.dir_index].join(format!(
            "{topic}-{partition}.{}{STRAY_DIR_SUFFIX}",
            unique_suffix()
        ));
        std::fs::rename(&dir, &stray).map_err(|e| StorageError::io(&dir, e))?;
        self.checkpoint_dir(entry.dir_index)?;
        tracing::info!(from = %dir.display(), to = %stray.display(), "partition log marked stray");
        Ok(stray)
    }

    /// Every log, with its `(topic, partition)`.
    pub fn all(&self) -> Vec<((String, i32), SharedLog)> {
        lock(&self.logs)
            .iter()
            .map(|(k, e)| (k.clone(), Arc::clone(&e.log)))
            .collect()
    }

    /// Writes `recovery-point-offset-checkpoint`, `replication-offset-checkpoint` (the high
    /// watermarks the broker recorded in each log) and `log-start-offset-checkpoint` in every
    /// log dir (Kafka's text format). As in Kafka, a log start offset is only recorded when it
    /// is above the first segment's base offset.
    pub fn checkpoint(&self) -> Result<(), StorageError> {
        for dir_index in 0..self.dirs.len() {
            self.checkpoint_dir(dir_index)?;
        }
        Ok(())
    }

    /// [`Self::checkpoint`] for the log dir at `dir_index` only.
    fn checkpoint_dir(&self, dir_index: usize) -> Result<(), StorageError> {
        let Some(dir) = self.dirs.get(dir_index) else {
            return Ok(());
        };
        let _writer = lock(&self.checkpoint_lock);
        let snapshot: Vec<(Key, Arc<Mutex<PartitionLog>>)> = lock(&self.logs)
            .iter()
            .filter(|(_, e)| e.dir_index == dir_index)
            .map(|(k, e)| (k.clone(), Arc::clone(&e.log)))
            .collect();
        let mut recovery: Vec<(String, i32, i64)> = Vec::new();
        let mut starts: Vec<(String, i32, i64)> = Vec::new();
        let mut high_watermarks: Vec<(String, i32, i64)> = Vec::new();
        for ((topic, partition), log) in snapshot {
            let log = lock(&log);
            if log.is_closed() && log.segment_count() == 0 {
                continue;
            }
            recovery.push((topic.clone(), partition, log.recovery_point()));
            if let Some(hw) = log.high_watermark_hint() {
                high_watermarks.push((topic.clone(), partition, hw));
            }
            let first_base = log.segment_base_offsets().first().copied().unwrap_or(0);
            if log.log_start_offset() > first_base {
                starts.push((topic, partition, log.log_start_offset()));
            }
        }
        write_offset_checkpoint(&dir.join(RECOVERY_POINT_CHECKPOINT_FILE), &recovery)?;
        write_offset_checkpoint(
            &dir.join(REPLICATION_OFFSET_CHECKPOINT_FILE),
            &high_watermarks,
        )?;
        write_offset_checkpoint(&dir.join(LOG_START_OFFSET_CHECKPOINT_FILE), &starts)
    }

    /// Flushes and cleanly closes every log, then writes the checkpoints. Logs stay in the
    /// manager but refuse further operations.
    pub fn shutdown(&self) -> Result<(), StorageError> {
        let mut first_error = None;
        for (key, log) in self.all() {
            if let Err(e) = lock(&log).close_in_place() {
                tracing::error!(topic = %key.0, partition = key.1, error = %e, "failed to close log");
                first_error.get_or_insert(e);
            }
        }
        self.checkpoint()?;
        first_error.map_or(Ok(()), Err)
    }
}

/// Path of a partition directory inside a log dir.
pub fn partition_dir(log_dir: &Path, topic: &str, partition: i32) -> PathBuf {
    log_dir.join(format!("{topic}-{partition}"))
}
