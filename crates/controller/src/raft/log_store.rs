//! The Raft log, vote and commit index, stored in sled.
//!
//! Trees: `log` maps an index (u64, big-endian so sled's order is log order) to the JSON of
//! the entry; `raft_meta` holds `vote`, `committed` and `last_purged`. Every write that
//! openraft must see durable (appends, votes) is flushed before it is acknowledged.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError, Vote};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::progress::ReplicationProgress;
use super::types::{Entry, LogId, NodeId, StorageError, TypeConfig};

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_LAST_PURGED: &[u8] = b"last_purged";

/// The Raft log store; cheap to clone (sled trees are shared handles).
#[derive(Clone)]
pub struct SledLogStore {
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
    /// Told the log's end after every change (the leader's log end for DescribeQuorum).
    progress: Arc<ReplicationProgress>,
}

fn read_err(e: &(impl std::error::Error + 'static)) -> StorageError {
    StorageIOError::read(e).into()
}

fn write_err(e: &(impl std::error::Error + 'static)) -> StorageError {
    StorageIOError::write(e).into()
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|e| write_err(&e))
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(bytes).map_err(|e| read_err(&e))
}

impl SledLogStore {
    /// Opens (or creates) the log trees in `db`; `progress` is kept told the log's end.
    pub fn open(db: sled::Db, progress: Arc<ReplicationProgress>) -> Result<Self, StorageError> {
        let log = db.open_tree("log").map_err(|e| read_err(&e))?;
        let meta = db.open_tree("raft_meta").map_err(|e| read_err(&e))?;
        let store = SledLogStore {
            db,
            log,
            meta,
            progress,
        };
        let (_, last) = store.log_ids()?;
        store.progress.set_log_end(last.map_or(0, |l| l.index + 1));
        Ok(store)
    }

    /// Whether nothing was ever written (a node that still needs `initialize`).
    pub fn is_pristine(&self) -> Result<bool, sled::Error> {
        Ok(self.log.is_empty()
            && self.meta.get(KEY_VOTE)?.is_none()
            && self.meta.get(KEY_LAST_PURGED)?.is_none())
    }

    fn get_meta<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        match self.meta.get(key).map_err(|e| read_err(&e))? {
            Some(bytes) => Ok(Some(from_json(&bytes)?)),
            None => Ok(None),
        }
    }

    async fn put_meta<T: Serialize>(&self, key: &[u8], value: &T) -> Result<(), StorageError> {
        self.meta
            .insert(key, to_json(value)?)
            .map_err(|e| write_err(&e))?;
        self.db.flush_async().await.map_err(|e| write_err(&e))?;
        Ok(())
    }

    /// The last purged log id, and the last log id (of the last entry, else the last purged).
    fn log_ids(&self) -> Result<(Option<LogId>, Option<LogId>), StorageError> {
        let last_purged: Option<LogId> = self.get_meta(KEY_LAST_PURGED)?;
        let last = self.last_entry_log_id()?.or(last_purged);
        Ok((last_purged, last))
    }

    fn last_entry_log_id(&self) -> Result<Option<LogId>, StorageError> {
        match self.log.last().map_err(|e| read_err(&e))? {
            Some((_, bytes)) => Ok(Some(from_json::<Entry>(&bytes)?.log_id)),
            None => Ok(None),
        }
    }
}

fn key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

impl RaftLogReader<TypeConfig> for SledLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let mut entries = Vec::new();
        for item in self.log.range(key(start)..) {
            let (k, bytes) = item.map_err(|e| read_err(&e))?;
            let mut index_bytes = [0u8; 8];
            index_bytes.copy_from_slice(&k[..8.min(k.len())]);
            if !range.contains(&u64::from_be_bytes(index_bytes)) {
                break;
            }
            entries.push(from_json(&bytes)?);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for SledLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let (last_purged_log_id, last_log_id) = self.log_ids()?;
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        self.put_meta(KEY_VOTE, vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Flushed: after a crash the state machine replays exactly what was committed, so
        // the metadata image never comes back older than the partition logs built from it.
        self.put_meta(KEY_COMMITTED, &committed).await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.get_meta::<Option<LogId>>(KEY_COMMITTED)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = sled::Batch::default();
        let mut end = None;
        for entry in entries {
            batch.insert(&key(entry.log_id.index), to_json(&entry)?);
            end = Some(entry.log_id.index + 1);
        }
        self.log.apply_batch(batch).map_err(|e| write_err(&e))?;
        let flushed = self
            .db
            .flush_async()
            .await
            .map(|_| ())
            .map_err(std::io::Error::other);
        let failed = flushed.as_ref().err().map(write_err);
        if let (None, Some(end)) = (&failed, end) {
            self.progress.set_log_end(end);
        }
        callback.log_io_completed(flushed);
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // Remove entries at and after log_id.index (conflicting entries from an old leader).
        let keys: Vec<_> = self
            .log
            .range(key(log_id.index)..)
            .keys()
            .collect::<Result<_, _>>()
            .map_err(|e| read_err(&e))?;
        for k in keys {
            self.log.remove(k).map_err(|e| write_err(&e))?;
        }
        self.progress.set_log_end(log_id.index);
        self.db.flush_async().await.map_err(|e| write_err(&e))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // Record the purge point first: a crash in between leaves extra entries, never a gap.
        self.put_meta(KEY_LAST_PURGED, &log_id).await?;
        let keys: Vec<_> = self
            .log
            .range(..=key(log_id.index))
            .keys()
            .collect::<Result<_, _>>()
            .map_err(|e| read_err(&e))?;
        for k in keys {
            self.log.remove(k).map_err(|e| write_err(&e))?;
        }
        Ok(())
    }
}
