//! Errors of broker operations; the protocol crate maps each to a Kafka error code.

use strata_metadata::ControllerError;
use strata_storage::StorageError;

/// Why a broker operation on a partition failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The topic or partition does not exist in the metadata image.
    #[error("unknown topic or partition {topic}-{partition}")]
    UnknownTopicOrPartition {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// This node is not the leader of the partition.
    #[error("node {node_id} is not the leader of {topic}-{partition}")]
    NotLeaderOrFollower {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// This node's id.
        node_id: i32,
    },
    /// The partition has no leader.
    #[error("{topic}-{partition} has no leader")]
    LeaderNotAvailable {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// The request's acks value is not -1, 0 or 1.
    #[error("invalid acks value {0}: must be -1 (all), 0 or 1")]
    InvalidRequiredAcks(i16),
    /// Fewer in-sync replicas than `min.insync.replicas` for an acks=all write.
    #[error(
        "{topic}-{partition} has {isr} in-sync replicas, fewer than min.insync.replicas={min}"
    )]
    NotEnoughReplicas {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Current ISR size.
        isr: usize,
        /// Required ISR size.
        min: usize,
    },
    /// The requested leader epoch is older than the partition's.
    #[error("fenced leader epoch {requested} for {topic}-{partition} (current {current})")]
    FencedLeaderEpoch {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Epoch the client sent.
        requested: i32,
        /// The partition's epoch.
        current: i32,
    },
    /// The requested leader epoch is newer than the partition's.
    #[error("unknown leader epoch {requested} for {topic}-{partition} (current {current})")]
    UnknownLeaderEpoch {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Epoch the client sent.
        requested: i32,
        /// The partition's epoch.
        current: i32,
    },
    /// DeleteRecords asked for an offset beyond the high watermark.
    #[error(
        "offset {offset} is beyond the high watermark {high_watermark} of {topic}-{partition}"
    )]
    OffsetBeyondHighWatermark {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Requested offset.
        offset: i64,
        /// Current high watermark.
        high_watermark: i64,
    },
    /// An acks=all write was appended, but the ISR shrank below `min.insync.replicas` before
    /// every member had it.
    #[error("{topic}-{partition} has {isr} in-sync replicas after the append, fewer than min.insync.replicas={min}")]
    NotEnoughReplicasAfterAppend {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// ISR size when the write completed.
        isr: usize,
        /// Required ISR size.
        min: usize,
    },
    /// An acks=all write was not replicated to the ISR within the request's timeout.
    #[error(
        "{topic}-{partition}: offset {offset} was not replicated to the ISR within {timeout_ms} ms"
    )]
    RequestTimedOut {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The last offset of the write.
        offset: i64,
        /// The request's timeout.
        timeout_ms: i64,
    },
    /// The new leader's high watermark has not yet reached the start of its leader epoch, so
    /// the latest offset is not known (Kafka's OFFSET_NOT_AVAILABLE; clients retry).
    #[error("{topic}-{partition}: the high watermark is not yet known after a leader change")]
    OffsetNotAvailable {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// The storage layer refused or failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The controller refused or failed.
    #[error(transparent)]
    Controller(#[from] ControllerError),
}
