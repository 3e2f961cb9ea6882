//! ListOffsets, OffsetForLeaderEpoch, DeleteRecords and InitProducerId.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    DeleteRecordsRequest, DeleteRecordsResponse, InitProducerIdRequest, InitProducerIdResponse,
    ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, ProducerId,
};
use kafka_protocol::ResponseError;

use crate::dispatch::Dispatcher;
use crate::errors::KafkaError;

/// Handles ListOffsets.
/// (`leader_epoch` exists from v4; older versions must leave it at its default.)
pub fn list_offsets(d: &Dispatcher, req: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let broker = d.broker();
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.0.as_str();
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let base = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    match broker.list_offset(
                        name,
                        p.partition_index,
                        p.timestamp,
                        p.current_leader_epoch,
                    ) {
                        Ok(found) => base
                            .with_offset(found.offset)
                            .with_timestamp(found.timestamp)
                            .with_leader_epoch(if version >= 4 { found.leader_epoch } else { -1 }),
                        Err(error) => base
                            .with_error_code(KafkaError::from(&error).code())
                            .with_offset(-1)
                            .with_timestamp(-1)
                            .with_leader_epoch(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// Handles OffsetForLeaderEpoch.
pub fn offset_for_leader_epoch(
    d: &Dispatcher,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let broker = d.broker();
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.topic.0.as_str();
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let base = EpochEndOffset::default().with_partition(p.partition);
                    match broker.end_offset_for_epoch(
                        name,
                        p.partition,
                        p.leader_epoch,
                        p.current_leader_epoch,
                    ) {
                        Ok((epoch, end_offset)) => {
                            base.with_leader_epoch(epoch).with_end_offset(end_offset)
                        }
                        Err(error) => base
                            .with_error_code(KafkaError::from(&error).code())
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

/// Handles DeleteRecords.
pub fn delete_records(d: &Dispatcher, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let broker = d.broker();
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.0.as_str();
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let base = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index);
                    match broker.delete_records(name, p.partition_index, p.offset) {
                        Ok(low_watermark) => base.with_low_watermark(low_watermark),
                        Err(error) => base
                            .with_error_code(KafkaError::from(&error).code())
                            .with_low_watermark(-1),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

/// Handles InitProducerId for idempotent producers. Like Kafka without a transactional id,
/// every call (including an epoch-bump request, KIP-360) gets a fresh producer id at epoch 0.
pub async fn init_producer_id(
    d: &Dispatcher,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let base = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1)
        .with_ongoing_txn_producer_id(ProducerId(-1))
        .with_ongoing_txn_producer_epoch(-1);
    if req.transactional_id.is_some() {
        tracing::info!(
            "InitProducerId with a transactional id: transactions are not supported yet"
        );
        return base.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
    }
    match d.broker().next_producer_id().await {
        Ok(id) => base.with_producer_id(ProducerId(id)).with_producer_epoch(0),
        Err(error) => base.with_error_code(KafkaError::from(&error).code()),
    }
}
