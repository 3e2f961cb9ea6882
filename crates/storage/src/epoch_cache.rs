//! Leader epoch cache (Kafka's `LeaderEpochFileCache`): the start offset of every leader epoch
//! of the partition, persisted to `leader-epoch-checkpoint` after each change. Answers
//! OffsetForLeaderEpoch and tells replication where to truncate.

use std::path::{Path, PathBuf};

use crate::checkpoint::{read_lines, write_lines};
use crate::error::StorageError;

/// File name of the cache inside a partition directory.
pub const LEADER_EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

/// `(epoch, start offset)` entries, both strictly increasing.
pub(crate) struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<(i32, i64)>,
}

impl LeaderEpochCache {
    /// Loads the checkpoint in `dir`; a missing or unreadable file gives an empty cache (it is
    /// then rebuilt from batch headers by the caller).
    pub(crate) fn load(dir: &Path) -> Self {
        let path = dir.join(LEADER_EPOCH_CHECKPOINT_FILE);
        let mut entries = Vec::new();
        match read_lines(&path) {
            Ok(Some(lines)) => {
                for fields in lines {
                    let parsed = match fields.as_slice() {
                        [e, o] => e.parse::<i32>().ok().zip(o.parse::<i64>().ok()),
                        _ => None,
                    };
                    match parsed {
                        Some((epoch, offset))
                            if entries
                                .last()
                                .is_none_or(|&(le, lo)| epoch > le && offset >= lo) =>
                        {
                            entries.push((epoch, offset))
                        }
                        _ => {
                            tracing::warn!(path = %path.display(), "ignoring corrupt leader epoch checkpoint");
                            entries.clear();
                            break;
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "ignoring unreadable leader epoch checkpoint"),
        }
        LeaderEpochCache { path, entries }
    }

    /// Persists the cache.
    pub(crate) fn save(&self) -> Result<(), StorageError> {
        let lines: Vec<String> = self
            .entries
            .iter()
            .map(|(e, o)| format!("{e} {o}"))
            .collect();
        write_lines(&self.path, &lines)
    }

    /// Records that `epoch` starts at `start_offset` (Kafka's `assign`): a no-op unless the epoch
    /// is new or starts earlier than recorded; conflicting later entries are dropped.
    /// Returns whether the cache changed.
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 {
            return false;
        }
        if let Some(&(le, lo)) = self.entries.last() {
            if le == epoch && start_offset >= lo {
                return false;
            }
            if le > epoch {
                // A stale epoch (e.g. a batch from an old leader): Kafka ignores it as well.
                return false;
            }
        }
        self.entries.retain(|&(e, o)| e < epoch && o < start_offset);
        self.entries.push((epoch, start_offset));
        true
    }

    /// The newest epoch.
    pub(crate) fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|&(e, _)| e)
    }

    /// Drops entries starting at or after `end_offset` (after truncation). Returns whether changed.
    pub(crate) fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|&(_, o)| o < end_offset);
        before != self.entries.len()
    }

    /// Drops entries wholly below `start_offset`; the epoch covering it now starts there.
    /// Returns whether changed.
    pub(crate) fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let covering = self.entries.partition_point(|&(_, o)| o <= start_offset);
        if covering == 0 {
            return false;
        }
        let mut changed = covering > 1;
        self.entries.drain(..covering - 1);
        if self.entries[0].1 < start_offset {
            self.entries[0].1 = start_offset;
            changed = true;
        }
        changed
    }

    /// Kafka's `LeaderEpochFileCache.endOffsetFor`: `(epoch, end offset)` for a follower asking
    /// about `requested`; `None` where Kafka answers `(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)`.
    pub(crate) fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        if requested < 0 {
            return None;
        }
        if self.latest_epoch() == Some(requested) {
            return Some((requested, log_end_offset));
        }
        let higher = self.entries.iter().find(|&&(e, _)| e > requested)?;
        let floor = self.entries.iter().rev().find(|&&(e, _)| e <= requested);
        Some(match floor {
            Some(&(e, _)) => (e, higher.1),
            None => (requested, higher.1),
        })
    }

    /// The entries, oldest first.
    pub(crate) fn entries(&self) -> &[(i32, i64)] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_truncate_and_end_offsets_follow_kafka() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        assert!(c.assign(1, 0));
        assert!(!c.assign(1, 5), "same epoch, later offset: no-op");
        assert!(c.assign(3, 10));
        assert!(!c.assign(2, 12), "stale epoch ignored");
        assert!(c.assign(5, 20));
        assert_eq!(c.end_offset_for(0, 30), Some((0, 0)));
        assert_eq!(c.end_offset_for(4, 30), Some((3, 20)));
        assert_eq!(c.end_offset_for(5, 30), Some((5, 30)));
        assert_eq!(c.end_offset_for(6, 30), None);
        assert_eq!(c.end_offset_for(-1, 30), None);
        assert!(c.truncate_from_start(12));
        assert_eq!(c.entries(), &[(3, 12), (5, 20)]);
        assert!(c.truncate_from_end(20));
        assert_eq!(c.entries(), &[(3, 12)]);
        c.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE)).unwrap();
        assert_eq!(text, "0\n1\n3 12\n");
        assert_eq!(LeaderEpochCache::load(dir.path()).entries(), &[(3, 12)]);
    }
}
