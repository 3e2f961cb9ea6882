//! The openraft type configuration of the metadata quorum.

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use strata_metadata::MetadataRecord;

/// One Raft log entry's payload: the records one controller decision produced. They are
/// applied together or not at all, so a decision is never half-visible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetadataBatch {
    /// Records in order.
    pub records: Vec<MetadataRecord>,
}

/// What applying a batch returns: the metadata offset of its last record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// Offset of the batch's last record (-1 for an empty batch before any record).
    pub offset: i64,
}

openraft::declare_raft_types!(
    /// The metadata quorum's Raft types: Kafka node ids as u64, the controller endpoint as node.
    pub TypeConfig:
        D = MetadataBatch,
        R = Applied,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
/// A node id (Kafka's `node.id`).
pub type NodeId = u64;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// Storage errors as openraft reports them.
pub type StorageError = openraft::StorageError<NodeId>;
/// A log id.
pub type LogId = openraft::LogId<NodeId>;
