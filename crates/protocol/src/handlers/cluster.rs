//! DescribeCluster, DescribeTopicPartitions (KIP-966, used by `kafka-topics --describe`) and
//! DescribeLogDirs.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, DescribeLogDirsRequest,
    DescribeLogDirsResponse, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
};
use kafka_protocol::ResponseError;
use strata_metadata::image::TopicImage;
use strata_metadata::topic::is_internal;
use uuid::Uuid;

use super::{broker_ids, str_bytes, topic_name};
use crate::dispatch::{Dispatcher, RequestContext};

/// Most partitions one DescribeTopicPartitions response carries (Kafka's
/// `max.request.partition.size.limit` default).
const MAX_DESCRIBE_PARTITIONS: i32 = 2000;
/// Kafka's "authorized operations not requested" marker.
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;
/// DescribeLogDirs value for unknown volume sizes.
const UNKNOWN_VOLUME_BYTES: i64 = -1;

/// Handles DescribeCluster.
pub fn describe_cluster(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let image = d.broker().image();
    let brokers = super::metadata::brokers(&image, ctx.listener)
        .into_iter()
        .map(|b| {
            DescribeClusterBroker::default()
                .with_broker_id(b.node_id)
                .with_host(b.host)
                .with_port(b.port)
                .with_rack(b.rack)
        })
        .collect();
    DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(str_bytes(&image.cluster_id))
        .with_controller_id(BrokerId(active_controller_id(d)))
        .with_brokers(brokers)
        .with_cluster_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// The active controller's id (Kafka's DescribeCluster names it); this node while no leader is
/// known, so clients always get a node they can send admin requests to.
pub(crate) fn active_controller_id(d: &Dispatcher) -> i32 {
    d.controller()
        .active_controller()
        .unwrap_or(d.config().node_id)
}

/// Handles DescribeTopicPartitions: topics in name order, paginated by a cursor.
pub fn describe_topic_partitions(
    d: &Dispatcher,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let image = d.broker().image();
    let mut limit = req
        .response_partition_limit
        .clamp(1, MAX_DESCRIBE_PARTITIONS);
    let (cursor_topic, cursor_partition) = match &req.cursor {
        Some(c) => (Some(c.topic_name.0.to_string()), c.partition_index),
        None => (None, 0),
    };
    let mut names: Vec<String> = if req.topics.is_empty() {
        image.topics().map(|t| t.name.clone()).collect()
    } else {
        req.topics.iter().map(|t| t.name.0.to_string()).collect()
    };
    names.sort();
    names.dedup();
    let mut topics = Vec::new();
    let mut next_cursor = None;
    for name in names {
        if cursor_topic.as_ref().is_some_and(|c| name < *c) {
            continue;
        }
        let Some(topic) = image.topic(&name) else {
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                    .with_name(Some(topic_name(&name)))
                    .with_topic_id(Uuid::nil())
                    .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED),
            );
            continue;
        };
        if limit <= 0 {
            next_cursor = Some(
                Cursor::default()
                    .with_topic_name(topic_name(&name))
                    .with_partition_index(0),
            );
            break;
        }
        let first = if cursor_topic.as_deref() == Some(name.as_str()) {
            cursor_partition
        } else {
            0
        };
        let (response, stopped_at) = describe_topic(topic, first, &mut limit);
        topics.push(response);
        if let Some(partition) = stopped_at {
            next_cursor = Some(
                Cursor::default()
                    .with_topic_name(topic_name(&name))
                    .with_partition_index(partition),
            );
            break;
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(topics)
        .with_next_cursor(next_cursor)
}

fn describe_topic(
    topic: &TopicImage,
    first: i32,
    limit: &mut i32,
) -> (DescribeTopicPartitionsResponseTopic, Option<i32>) {
    let mut partitions = Vec::new();
    let mut stopped_at = None;
    for (index, p) in topic.partitions.range(first..) {
        if *limit <= 0 {
            stopped_at = Some(*index);
            break;
        }
        *limit -= 1;
        partitions.push(
            DescribeTopicPartitionsResponsePartition::default()
                .with_partition_index(*index)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(broker_ids(&p.replicas))
                .with_isr_nodes(broker_ids(&p.isr))
                .with_eligible_leader_replicas(Some(broker_ids(&p.elr)))
                .with_last_known_elr(Some(broker_ids(&p.last_known_elr)))
                .with_offline_replicas(Vec::new()),
        );
    }
    let response = DescribeTopicPartitionsResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(topic.topic_id)
        .with_is_internal(is_internal(&topic.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED);
    (response, stopped_at)
}

/// Handles DescribeLogDirs.
pub fn describe_log_dirs(d: &Dispatcher, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let broker = d.broker();
    let wanted = |topic: &str, partition: i32| match &req.topics {
        None => true,
        Some(topics) => topics
            .iter()
            .any(|t| t.topic.0.as_str() == topic && t.partitions.contains(&partition)),
    };
    let mut by_dir: BTreeMap<String, BTreeMap<String, Vec<DescribeLogDirsPartition>>> =
        BTreeMap::new();
    for dir in &broker.config().log_dirs {
        by_dir.entry(dir.display().to_string()).or_default();
    }
    for partition in broker.partitions() {
        if !wanted(&partition.topic, partition.index) {
            continue;
        }
        let log = partition.log();
        let dir = log
            .dir()
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let size = i64::try_from(log.size_bytes()).unwrap_or(i64::MAX);
        by_dir
            .entry(dir)
            .or_default()
            .entry(partition.topic.clone())
            .or_default()
            .push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(partition.index)
                    .with_partition_size(size)
                    .with_offset_lag(0),
            );
    }
    let results = by_dir
        .into_iter()
        .map(|(dir, topics)| {
            DescribeLogDirsResult::default()
                .with_log_dir(str_bytes(&dir))
                .with_total_bytes(UNKNOWN_VOLUME_BYTES)
                .with_usable_bytes(UNKNOWN_VOLUME_BYTES)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(name, partitions)| {
                            DescribeLogDirsTopic::default()
                                .with_name(topic_name(&name))
                                .with_partitions(partitions)
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeLogDirsResponse::default().with_results(results)
}
