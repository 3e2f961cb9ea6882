//! The Raft state machine: committed metadata batches applied to the metadata image.
//!
//! Every applied entry publishes a new image on a watch channel (brokers and the controller
//! follow it). Snapshots are the serialised image ([`strata_metadata::ImageSnapshot`]) stored
//! in sled, so a restarted node starts from its snapshot and replays only the log after it,
//! and a lagging or new node receives the snapshot instead of the whole log.

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use strata_metadata::{ImageSnapshot, MetadataImage};
use tokio::sync::watch;

use super::types::{Applied, Entry, LogId, NodeId, StorageError, TypeConfig};

const KEY_SNAPSHOT: &[u8] = b"current";

/// A snapshot as stored in sled.
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

/// Persists `stored` as the current snapshot (flushed: a snapshot lets the log before it go).
async fn store_snapshot(tree: &sled::Tree, stored: &StoredSnapshot) -> Result<(), StorageError> {
    let bytes = serde_json::to_vec(stored).map_err(|e| write_err(&e))?;
    tree.insert(KEY_SNAPSHOT, bytes)
        .map_err(|e| write_err(&e))?;
    tree.flush_async().await.map_err(|e| write_err(&e))?;
    Ok(())
}

/// The metadata state machine.
pub struct MetadataStateMachine {
    image: MetadataImage,
    last_applied: Option<LogId>,
    last_membership: StoredMembership<NodeId, BasicNode>,
    snapshots: sled::Tree,
    images: watch::Sender<Arc<MetadataImage>>,
    snapshot_count: u64,
}

fn read_err(e: &(impl std::error::Error + 'static)) -> StorageError {
    StorageIOError::read_state_machine(e).into()
}

fn write_err(e: &(impl std::error::Error + 'static)) -> StorageError {
    StorageIOError::write_state_machine(e).into()
}

impl MetadataStateMachine {
    /// Opens the state machine: the stored snapshot if any, else an empty image.
    pub fn open(
        db: &sled::Db,
        cluster_id: &str,
        images: watch::Sender<Arc<MetadataImage>>,
    ) -> Result<Self, StorageError> {
        let snapshots = db.open_tree("snapshot").map_err(|e| read_err(&e))?;
        let mut sm = MetadataStateMachine {
            image: MetadataImage::new(cluster_id.to_string()),
            last_applied: None,
            last_membership: StoredMembership::default(),
            snapshots,
            images,
            snapshot_count: 0,
        };
        if let Some(stored) = sm.load_snapshot()? {
            sm.restore(&stored.meta, &stored.data)?;
        }
        sm.publish();
        Ok(sm)
    }

    fn load_snapshot(&self) -> Result<Option<StoredSnapshot>, StorageError> {
        match self.snapshots.get(KEY_SNAPSHOT).map_err(|e| read_err(&e))? {
            Some(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).map_err(|e| read_err(&e))?,
            )),
            None => Ok(None),
        }
    }

    fn restore(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        data: &[u8],
    ) -> Result<(), StorageError> {
        let snapshot: ImageSnapshot = serde_json::from_slice(data).map_err(|e| read_err(&e))?;
        self.image = MetadataImage::from_snapshot(snapshot);
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        Ok(())
    }

    fn publish(&self) {
        self.images.send_replace(Arc::new(self.image.clone()));
    }
}

/// Builds a snapshot from a copy of the image taken when openraft asked for a builder.
pub struct SnapshotBuilder {
    image: MetadataImage,
    last_applied: Option<LogId>,
    last_membership: StoredMembership<NodeId, BasicNode>,
    snapshots: sled::Tree,
    id: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let data = serde_json::to_vec(&self.image.to_snapshot()).map_err(|e| write_err(&e))?;
        let snapshot_id = match self.last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, self.id),
            None => format!("empty-{}", self.id),
        };
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.last_membership.clone(),
            snapshot_id,
        };
        store_snapshot(
            &self.snapshots,
            &StoredSnapshot {
                meta: meta.clone(),
                data: data.clone(),
            },
        )
        .await?;
        tracing::info!(last_applied = ?self.last_applied, bytes = data.len(), "metadata snapshot taken");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for MetadataStateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<NodeId, BasicNode>), StorageError> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError>
    where
        I: IntoIterator<Item = Entry> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let mut responses = Vec::new();
        for entry in entries {
            debug_assert!(
                self.last_applied < Some(entry.log_id),
                "entries apply in log order"
            );
            self.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(batch) => {
                    for record in &batch.records {
                        let offset = self.image.offset + 1;
                        self.image.apply(offset, record);
                    }
                }
                EntryPayload::Membership(membership) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), membership);
                }
            }
            responses.push(Applied {
                offset: self.image.offset,
            });
        }
        self.publish();
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshot_count += 1;
        SnapshotBuilder {
            image: self.image.clone(),
            last_applied: self.last_applied,
            last_membership: self.last_membership.clone(),
            snapshots: self.snapshots.clone(),
            id: self.snapshot_count,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        self.restore(meta, &data)?;
        store_snapshot(
            &self.snapshots,
            &StoredSnapshot {
                meta: meta.clone(),
                data,
            },
        )
        .await?;
        tracing::info!(last_applied = ?self.last_applied, "installed metadata snapshot from the leader");
        self.publish();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(self.load_snapshot()?.map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}
