//! DescribeQuorum (API 55): the metadata quorum as the active controller sees it, the data
//! behind `kafka-metadata-quorum describe`.
//!
//! Kafka brokers forward this request to the active controller; here the controller handle
//! forwards it itself, so any node answers. Field availability follows the schema: v1 adds
//! the fetch/caught-up timestamps, v2 adds error messages, replica directory ids and the voters'
//! endpoints (`Nodes`).

use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{BrokerId, DescribeQuorumRequest, DescribeQuorumResponse};
use kafka_protocol::ResponseError;
use strata_controller::{ControllerError, QuorumInfo};
// The metadata log's topic, the only one DescribeQuorum knows.
use strata_metadata::topic::CLUSTER_METADATA_TOPIC_NAME;

use super::{str_bytes, topic_name};
use crate::dispatch::Dispatcher;
use crate::errors::KafkaError;

/// The metadata log's only partition.
pub const CLUSTER_METADATA_PARTITION: i32 = 0;
/// Listener name reported for the voters' Raft endpoints (Kafka's `controller.listener.names`
/// default as used in Strata's configuration).
pub const CONTROLLER_LISTENER_NAME: &str = "CONTROLLER";
/// Kafka's default message for NOT_LEADER_OR_FOLLOWER.
const NOT_LEADER_OR_FOLLOWER_MESSAGE: &str = "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.";
/// First version with `LastFetchTimestamp` / `LastCaughtUpTimestamp` (KIP-836).
const TIMESTAMPS_MIN_VERSION: i16 = 1;
/// First version with error messages, directory ids and `Nodes` (KIP-853).
const NODES_MIN_VERSION: i16 = 2;

/// Handles DescribeQuorum.
pub async fn describe_quorum(
    d: &Dispatcher,
    req: DescribeQuorumRequest,
    version: i16,
) -> DescribeQuorumResponse {
    if !names_metadata_partition(&req) {
        return unknown_partition_response(&req, version);
    }
    let controller = d.controller();
    match controller.describe_quorum().await {
        Ok(info) => quorum_response(&info, &controller.config().quorum.voters, version),
        // The controller gave up waiting for a leader: Kafka's Raft client answers a
        // non-leader with a retriable partition-level NOT_LEADER_OR_FOLLOWER.
        Err(ControllerError::NotController) => partition_error_response(
            ResponseError::NotLeaderOrFollower,
            NOT_LEADER_OR_FOLLOWER_MESSAGE,
            version,
        ),
        Err(error) => {
            tracing::warn!(%error, "DescribeQuorum failed");
            let e = KafkaError::from(&error);
            let mut response = DescribeQuorumResponse::default().with_error_code(e.code());
            if version >= NODES_MIN_VERSION {
                response.error_message = e.message();
            }
            response
        }
    }
}

/// Kafka's `hasValidTopicPartition`: exactly one topic, `__cluster_metadata`, with exactly
/// partition 0.
fn names_metadata_partition(req: &DescribeQuorumRequest) -> bool {
    match req.topics.as_slice() {
        [topic] => {
            topic.topic_name.0.as_str() == CLUSTER_METADATA_TOPIC_NAME
                && matches!(topic.partitions.as_slice(),
                    [p] if p.partition_index == CLUSTER_METADATA_PARTITION)
        }
        _ => false,
    }
}

/// UNKNOWN_TOPIC_OR_PARTITION for every partition the request named (Kafka's
/// `getPartitionLevelErrorResponse`).
fn unknown_partition_response(req: &DescribeQuorumRequest, version: i16) -> DescribeQuorumResponse {
    let error = ResponseError::UnknownTopicOrPartition;
    let message = strata_controller::error::UNKNOWN_TOPIC_OR_PARTITION_MESSAGE;
    let topics = req
        .topics
        .iter()
        .map(|t| {
            TopicData::default()
                .with_topic_name(t.topic_name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| partition_error(p.partition_index, error, message, version))
                        .collect(),
                )
        })
        .collect();
    DescribeQuorumResponse::default().with_topics(topics)
}

/// One `__cluster_metadata-0` entry carrying `error` (Kafka's `singletonErrorResponse`).
fn partition_error_response(
    error: ResponseError,
    message: &str,
    version: i16,
) -> DescribeQuorumResponse {
    DescribeQuorumResponse::default().with_topics(vec![TopicData::default()
        .with_topic_name(topic_name(CLUSTER_METADATA_TOPIC_NAME))
        .with_partitions(vec![partition_error(
            CLUSTER_METADATA_PARTITION,
            error,
            message,
            version,
        )])])
}

fn partition_error(index: i32, error: ResponseError, message: &str, version: i16) -> PartitionData {
    let mut partition = PartitionData::default()
        .with_partition_index(index)
        .with_error_code(error.code());
    if version >= NODES_MIN_VERSION {
        partition.error_message = Some(str_bytes(message));
    }
    partition
}

/// The successful answer for `info`, with only the fields `version` carries.
/// `voter_endpoints` maps voter ids to their controller `host:port` (empty when unknown).
pub fn quorum_response(
    info: &QuorumInfo,
    voter_endpoints: &std::collections::BTreeMap<i32, String>,
    version: i16,
) -> DescribeQuorumResponse {
    let states = |replicas: &[strata_controller::ReplicaState]| -> Vec<ReplicaState> {
        replicas
            .iter()
            .map(|r| {
                let state = ReplicaState::default()
                    .with_replica_id(BrokerId(r.node_id))
                    .with_log_end_offset(r.log_end_offset);
                // Directory ids are not tracked: a static quorum reports none (the nil UUID),
                // which is also what v0/v1 require.
                if version >= TIMESTAMPS_MIN_VERSION {
                    state
                        .with_last_fetch_timestamp(r.last_fetch_timestamp)
                        .with_last_caught_up_timestamp(r.last_caught_up_timestamp)
                } else {
                    state
                }
            })
            .collect()
    };
    let partition = PartitionData::default()
        .with_partition_index(CLUSTER_METADATA_PARTITION)
        .with_error_code(0)
        .with_leader_id(BrokerId(info.leader_id))
        .with_leader_epoch(info.leader_epoch)
        .with_high_watermark(info.high_watermark)
        .with_current_voters(states(&info.voters))
        .with_observers(states(&info.observers));
    let mut response = DescribeQuorumResponse::default().with_topics(vec![TopicData::default()
        .with_topic_name(topic_name(CLUSTER_METADATA_TOPIC_NAME))
        .with_partitions(vec![partition])]);
    if version >= NODES_MIN_VERSION {
        // Like Kafka, one node per voter; observers (brokers) have no controller endpoint.
        response.nodes = info
            .voters
            .iter()
            .map(|v| {
                Node::default()
                    .with_node_id(BrokerId(v.node_id))
                    .with_listeners(
                        voter_endpoints
                            .get(&v.node_id)
                            .and_then(|e| controller_listener(e))
                            .into_iter()
                            .collect(),
                    )
            })
            .collect();
    }
    response
}

/// `host:port` (IPv6 hosts possibly in brackets) as a CONTROLLER listener; `None` when the
/// endpoint is empty (a single-node quorum without a controller listener) or malformed.
fn controller_listener(endpoint: &str) -> Option<Listener> {
    let (host, port) = endpoint.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some(
        Listener::default()
            .with_name(str_bytes(CONTROLLER_LISTENER_NAME))
            .with_host(str_bytes(host))
            .with_port(port),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::BytesMut;
    use kafka_protocol::messages::describe_quorum_request;
    use kafka_protocol::protocol::Encodable;

    use super::*;

    fn info() -> QuorumInfo {
        let replica = |node_id, log_end_offset| strata_controller::ReplicaState {
            node_id,
            log_end_offset,
            last_fetch_timestamp: 1_700_000_000_000,
            last_caught_up_timestamp: 1_700_000_000_000,
        };
        QuorumInfo {
            leader_id: 1,
            leader_epoch: 3,
            high_watermark: 42,
            voters: vec![replica(1, 42), replica(2, 40)],
            observers: vec![replica(4, -1)],
        }
    }

    fn endpoints() -> BTreeMap<i32, String> {
        BTreeMap::from([(1, "ctl-1:9093".to_string()), (2, String::new())])
    }

    #[test]
    fn every_version_encodes() {
        for version in 0..=2 {
            let response = quorum_response(&info(), &endpoints(), version);
            let mut buf = BytesMut::new();
            response
                .encode(&mut buf, version)
                .unwrap_or_else(|e| panic!("v{version}: {e}"));
            assert_eq!(response.nodes.is_empty(), version < 2);
            for version in version..=2 {
                let mut buf = BytesMut::new();
                partition_error_response(ResponseError::NotLeaderOrFollower, "x", version)
                    .encode(&mut buf, version)
                    .unwrap();
            }
        }
    }

    #[test]
    fn v2_names_voter_endpoints() {
        let response = quorum_response(&info(), &endpoints(), 2);
        assert_eq!(response.nodes.len(), 2);
        let listener = &response.nodes[0].listeners[0];
        assert_eq!(listener.name.as_str(), "CONTROLLER");
        assert_eq!(listener.host.as_str(), "ctl-1");
        assert_eq!(listener.port, 9093);
        assert!(response.nodes[1].listeners.is_empty());
        let partition = &response.topics[0].partitions[0];
        assert_eq!(partition.leader_id.0, 1);
        assert_eq!(partition.high_watermark, 42);
        assert_eq!(partition.observers[0].log_end_offset, -1);
    }

    #[test]
    fn v0_leaves_out_timestamps() {
        let response = quorum_response(&info(), &endpoints(), 0);
        let voter = &response.topics[0].partitions[0].current_voters[0];
        assert_eq!(voter.last_fetch_timestamp, -1);
    }

    #[test]
    fn only_the_metadata_partition_is_described() {
        let request = |topic: &str, partitions: Vec<i32>| {
            DescribeQuorumRequest::default().with_topics(vec![
                describe_quorum_request::TopicData::default()
                    .with_topic_name(topic_name(topic))
                    .with_partitions(
                        partitions
                            .into_iter()
                            .map(|p| {
                                describe_quorum_request::PartitionData::default()
                                    .with_partition_index(p)
                            })
                            .collect(),
                    ),
            ])
        };
        assert!(names_metadata_partition(&request(
            "__cluster_metadata",
            vec![0]
        )));
        assert!(!names_metadata_partition(&request(
            "__cluster_metadata",
            vec![1]
        )));
        assert!(!names_metadata_partition(&request(
            "__cluster_metadata",
            vec![0, 1]
        )));
        assert!(!names_metadata_partition(&request("other", vec![0])));
        assert!(!names_metadata_partition(&DescribeQuorumRequest::default()));
        let response = unknown_partition_response(&request("other", vec![0, 1]), 2);
        let partitions = &response.topics[0].partitions;
        assert_eq!(partitions.len(), 2);
        assert_eq!(
            partitions[1].error_code,
            ResponseError::UnknownTopicOrPartition.code()
        );
        assert_eq!(
            partitions[1].error_message.as_deref(),
            Some("This server does not host this topic-partition.")
        );
    }
}
