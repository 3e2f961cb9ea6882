//! Kafka's text checkpoint files: a version line (`0`), an entry count, then one entry per line
//! with space-separated fields. Used for `recovery-point-offset-checkpoint`,
//! `log-start-offset-checkpoint` (entries `topic partition offset`) and `leader-epoch-checkpoint`
//! (entries `epoch start_offset`). Writes go to `<file>.tmp`, are fsynced, then renamed.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::StorageError;

/// The only checkpoint format version.
pub const CHECKPOINT_VERSION: u32 = 0;
/// Log-dir file holding, per partition, the offset up to which the log is fsynced.
pub const RECOVERY_POINT_CHECKPOINT_FILE: &str = "recovery-point-offset-checkpoint";
/// Log-dir file holding, per partition, the log start offset (when above the first segment).
pub const LOG_START_OFFSET_CHECKPOINT_FILE: &str = "log-start-offset-checkpoint";
/// Per-log-dir file with each partition's high watermark (Kafka's name).
pub const REPLICATION_OFFSET_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";

/// Writes `entries` (each already formatted as one line without newline) atomically.
pub(crate) fn write_lines(path: &Path, entries: &[String]) -> Result<(), StorageError> {
    let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", entries.len());
    for e in entries {
        text.push_str(e);
        text.push('\n');
    }
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    {
        let mut f = File::create(&tmp).map_err(|e| StorageError::io(&tmp, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| StorageError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StorageError::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| StorageError::io(path, e))?;
    if let Some(parent) = path.parent() {
        // Make the rename durable; failure to open a directory for fsync is not fatal on
        // filesystems that do not support it.
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Reads the entry lines (split on whitespace) of a checkpoint file; `None` if it is missing.
pub(crate) fn read_lines(path: &Path) -> Result<Option<Vec<Vec<String>>>, StorageError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(path, e)),
    };
    let corrupt = |line: usize, reason: String| StorageError::CorruptCheckpoint {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text.lines();
    let version = lines
        .next()
        .ok_or_else(|| corrupt(1, "empty file".into()))?;
    if version.trim() != CHECKPOINT_VERSION.to_string() {
        return Err(corrupt(1, format!("unsupported version {version:?}")));
    }
    let count: usize = lines
        .next()
        .ok_or_else(|| corrupt(2, "missing entry count".into()))?
        .trim()
        .parse()
        .map_err(|e| corrupt(2, format!("bad entry count: {e}")))?;
    let entries: Vec<Vec<String>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    if entries.len() != count {
        return Err(corrupt(
            2,
            format!("header says {count} entries, found {}", entries.len()),
        ));
    }
    Ok(Some(entries))
}

/// Reads a `topic partition offset` checkpoint; a missing file reads as empty.
pub fn read_offset_checkpoint(path: &Path) -> Result<HashMap<(String, i32), i64>, StorageError> {
    let mut map = HashMap::new();
    let Some(entries) = read_lines(path)? else {
        return Ok(map);
    };
    for (i, fields) in entries.into_iter().enumerate() {
        let line = i + 3;
        let bad = |reason: String| StorageError::CorruptCheckpoint {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let [topic, partition, offset] = fields.as_slice() else {
            return Err(bad(format!("expected 3 fields, found {}", fields.len())));
        };
        let partition: i32 = partition
            .parse()
            .map_err(|e| bad(format!("bad partition {partition:?}: {e}")))?;
        let offset: i64 = offset
            .parse()
            .map_err(|e| bad(format!("bad offset {offset:?}: {e}")))?;
        map.insert((topic.clone(), partition), offset);
    }
    Ok(map)
}

/// Writes a `topic partition offset` checkpoint atomically (entries sorted for stable output).
pub fn write_offset_checkpoint(
    path: &Path,
    entries: &[(String, i32, i64)],
) -> Result<(), StorageError> {
    let mut sorted: Vec<&(String, i32, i64)> = entries.iter().collect();
    sorted.sort();
    let lines: Vec<String> = sorted
        .into_iter()
        .map(|(t, p, o)| format!("{t} {p} {o}"))
        .collect();
    write_lines(path, &lines)
}
