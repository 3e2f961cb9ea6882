//! Fetch: read whole record batches, long-polling for `min.bytes` up to `max.wait.ms`.
//!
//! Fetch sessions (KIP-227) are declined cleanly: every response carries session id 0, which
//! tells clients to keep sending full fetch requests.

use bytes::Bytes;
use std::collections::BTreeSet;

use kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
};
use kafka_protocol::messages::BrokerId;
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;
use strata_broker::FetchPartition;

use super::{leader_hint, topic_name};
use crate::dispatch::{Dispatcher, RequestContext};
use crate::errors::KafkaError;

/// Handles Fetch.
pub async fn handle(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    req: FetchRequest,
    version: i16,
) -> FetchResponse {
    if req.session_id != 0 {
        // We never hand out session ids, so any non-zero id is unknown to us.
        return FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code())
            .with_session_id(0);
    }
    let broker = d.broker();
    let image = broker.image();
    // Resolve names (v13+ sends topic ids) and flatten, remembering the request's shape.
    let mut wanted = Vec::new();
    let mut shape = Vec::with_capacity(req.topics.len());
    for topic in &req.topics {
        let name = if version >= 13 {
            image.topic_by_id(&topic.topic_id).map(|t| t.name.clone())
        } else {
            Some(topic.topic.0.to_string())
        };
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            match &name {
                Some(name) => {
                    partitions.push(Some(wanted.len()));
                    wanted.push(FetchPartition {
                        topic: name.clone(),
                        partition: p.partition,
                        fetch_offset: p.fetch_offset,
                        max_bytes: p.partition_max_bytes,
                        current_leader_epoch: p.current_leader_epoch,
                    });
                }
                None => partitions.push(None),
            }
        }
        shape.push((name, partitions));
    }
    let mut results = broker
        .fetch(&wanted, req.max_wait_ms, req.min_bytes, req.max_bytes)
        .await
        .into_iter();
    let mut responses = Vec::with_capacity(req.topics.len());
    let mut hinted = BTreeSet::new();
    for (topic, (name, slots)) in req.topics.iter().zip(shape) {
        let mut partitions = Vec::with_capacity(slots.len());
        for (p, slot) in topic.partitions.iter().zip(slots) {
            let base = PartitionData::default()
                .with_partition_index(p.partition)
                .with_preferred_read_replica((-1).into());
            let result = match slot {
                None => Err(KafkaError::new(
                    ResponseError::UnknownTopicId,
                    "unknown topic id",
                )),
                Some(_) => match results.next() {
                    Some(result) => result.map_err(|e| KafkaError::from(&e)),
                    None => Err(KafkaError::new(
                        ResponseError::UnknownServerError,
                        "missing fetch result",
                    )),
                },
            };
            partitions.push(match result {
                Ok(data) => base
                    .with_high_watermark(data.high_watermark)
                    .with_last_stable_offset(data.last_stable_offset)
                    .with_log_start_offset(data.log_start_offset)
                    .with_records(Some(data.records)),
                Err(error) => {
                    let mut data = base
                        .with_error_code(error.code())
                        .with_high_watermark(-1)
                        .with_last_stable_offset(-1)
                        .with_log_start_offset(-1)
                        .with_records(Some(Bytes::new()));
                    // KIP-951 (v12+): point the consumer at the new leader.
                    let hint = (version >= 12 && leader_hint::wants_hint(error.code()))
                        .then(|| {
                            leader_hint::current_leader(
                                &image,
                                name.as_deref().unwrap_or_default(),
                                p.partition,
                            )
                        })
                        .flatten();
                    if let Some((leader, epoch)) = hint {
                        data.current_leader = LeaderIdAndEpoch::default()
                            .with_leader_id(BrokerId(leader))
                            .with_leader_epoch(epoch);
                        hinted.insert(leader);
                    }
                    data
                }
            });
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(topic_name(name.as_deref().unwrap_or_default()))
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    let node_endpoints = if version >= 16 {
        leader_hint::endpoints(&image, ctx.listener, &hinted)
            .into_iter()
            .map(|b| {
                NodeEndpoint::default()
                    .with_node_id(b.node_id)
                    .with_host(b.host)
                    .with_port(b.port)
                    .with_rack(b.rack)
            })
            .collect()
    } else {
        Vec::new()
    };
    FetchResponse::default()
        .with_session_id(0)
        .with_responses(responses)
        .with_node_endpoints(node_endpoints)
}
