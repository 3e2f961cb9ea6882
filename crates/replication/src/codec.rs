//! Conversions between the wire messages and the broker's replication types, with Kafka's
//! error codes for the per-partition errors.

use strata_broker::{ReplicaFetchError, ReplicaFetchPartition, ReplicaFetchResult};
use uuid::Uuid;

use crate::proto::{PartitionData, PartitionFetch};

/// Kafka error codes used on the wire.
mod code {
    pub const NONE: i32 = 0;
    pub const OFFSET_OUT_OF_RANGE: i32 = 1;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i32 = 3;
    pub const NOT_LEADER_OR_FOLLOWER: i32 = 6;
    pub const KAFKA_STORAGE_ERROR: i32 = 56;
    pub const FENCED_LEADER_EPOCH: i32 = 74;
    pub const UNKNOWN_LEADER_EPOCH: i32 = 75;
}

/// Why a wire message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// A topic id that is not 16 bytes.
    #[error("topic id of {topic}-{partition} has {len} bytes, not 16")]
    TopicId {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Bytes received.
        len: usize,
    },
}

/// A partition of a fetch request as sent.
pub fn partition_to_wire(p: &ReplicaFetchPartition) -> PartitionFetch {
    PartitionFetch {
        topic: p.topic.clone(),
        topic_id: p.topic_id.as_bytes().to_vec().into(),
        partition: p.partition,
        current_leader_epoch: p.current_leader_epoch,
        fetch_offset: p.fetch_offset,
        last_fetched_epoch: p.last_fetched_epoch,
        log_start_offset: p.log_start_offset,
        high_watermark: p.high_watermark,
    }
}

/// A partition of a fetch request as received.
pub fn partition_from_wire(p: &PartitionFetch) -> Result<ReplicaFetchPartition, CodecError> {
    let topic_id = Uuid::from_slice(&p.topic_id).map_err(|_| CodecError::TopicId {
        topic: p.topic.clone(),
        partition: p.partition,
        len: p.topic_id.len(),
    })?;
    Ok(ReplicaFetchPartition {
        topic: p.topic.clone(),
        topic_id,
        partition: p.partition,
        current_leader_epoch: p.current_leader_epoch,
        fetch_offset: p.fetch_offset,
        last_fetched_epoch: p.last_fetched_epoch,
        log_start_offset: p.log_start_offset,
        high_watermark: p.high_watermark,
    })
}

/// The leader's answer for one partition as sent.
pub fn result_to_wire(request: &ReplicaFetchPartition, r: ReplicaFetchResult) -> PartitionData {
    let error_code = match &r.error {
        None => code::NONE,
        Some(ReplicaFetchError::OffsetOutOfRange) => code::OFFSET_OUT_OF_RANGE,
        Some(ReplicaFetchError::UnknownTopicOrPartition) => code::UNKNOWN_TOPIC_OR_PARTITION,
        Some(ReplicaFetchError::NotLeader) => code::NOT_LEADER_OR_FOLLOWER,
        Some(ReplicaFetchError::Storage(_)) => code::KAFKA_STORAGE_ERROR,
        Some(ReplicaFetchError::FencedLeaderEpoch) => code::FENCED_LEADER_EPOCH,
        Some(ReplicaFetchError::UnknownLeaderEpoch) => code::UNKNOWN_LEADER_EPOCH,
    };
    let (diverging, diverging_epoch, diverging_end_offset) = match r.diverging_epoch {
        Some((epoch, end)) => (true, epoch, end),
        None => (false, -1, -1),
    };
    PartitionData {
        topic: request.topic.clone(),
        partition: request.partition,
        error_code,
        high_watermark: r.high_watermark,
        log_start_offset: r.log_start_offset,
        log_end_offset: r.log_end_offset,
        diverging,
        diverging_epoch,
        diverging_end_offset,
        records: r.records,
    }
}

/// The leader's answer for one partition as received.
pub fn result_from_wire(d: PartitionData) -> ReplicaFetchResult {
    let error = match d.error_code {
        code::NONE => None,
        code::OFFSET_OUT_OF_RANGE => Some(ReplicaFetchError::OffsetOutOfRange),
        code::UNKNOWN_TOPIC_OR_PARTITION => Some(ReplicaFetchError::UnknownTopicOrPartition),
        code::NOT_LEADER_OR_FOLLOWER => Some(ReplicaFetchError::NotLeader),
        code::FENCED_LEADER_EPOCH => Some(ReplicaFetchError::FencedLeaderEpoch),
        code::UNKNOWN_LEADER_EPOCH => Some(ReplicaFetchError::UnknownLeaderEpoch),
        other => Some(ReplicaFetchError::Storage(format!("error code {other}"))),
    };
    ReplicaFetchResult {
        error,
        high_watermark: d.high_watermark,
        log_start_offset: d.log_start_offset,
        log_end_offset: d.log_end_offset,
        diverging_epoch: d
            .diverging
            .then_some((d.diverging_epoch, d.diverging_end_offset)),
        records: d.records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_results_round_trip() {
        let request = ReplicaFetchPartition {
            topic: "t".to_string(),
            topic_id: Uuid::new_v4(),
            partition: 3,
            current_leader_epoch: 7,
            fetch_offset: 42,
            last_fetched_epoch: 6,
            log_start_offset: 10,
            high_watermark: 40,
        };
        assert_eq!(
            partition_from_wire(&partition_to_wire(&request)).expect("decodes"),
            request
        );
        for error in [
            None,
            Some(ReplicaFetchError::OffsetOutOfRange),
            Some(ReplicaFetchError::FencedLeaderEpoch),
            Some(ReplicaFetchError::UnknownLeaderEpoch),
            Some(ReplicaFetchError::NotLeader),
        ] {
            let result = ReplicaFetchResult {
                error,
                high_watermark: 40,
                log_start_offset: 0,
                log_end_offset: 45,
                diverging_epoch: Some((5, 38)),
                records: bytes::Bytes::from_static(b"batch"),
            };
            assert_eq!(
                result_from_wire(result_to_wire(&request, result.clone())),
                result
            );
        }
    }

    #[test]
    fn a_short_topic_id_is_refused() {
        let mut wire = partition_to_wire(&ReplicaFetchPartition {
            topic: "t".to_string(),
            topic_id: Uuid::nil(),
            partition: 0,
            current_leader_epoch: 0,
            fetch_offset: 0,
            last_fetched_epoch: -1,
            log_start_offset: 0,
            high_watermark: 0,
        });
        wire.topic_id = vec![1, 2, 3].into();
        assert!(partition_from_wire(&wire).is_err());
    }
}
