//! DescribeQuorum (API 55): the metadata quorum behind `kafka-metadata-quorum`, translated
//! like Kafka's `KafkaAdminClient.describeMetadataQuorum` into a [`QuorumDescription`].

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::describe_quorum_response::{self, DescribeQuorumResponse};
use kafka_protocol::messages::{DescribeQuorumRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};

/// The metadata log's topic: the only topic DescribeQuorum describes.
pub const CLUSTER_METADATA_TOPIC: &str = "__cluster_metadata";
/// The metadata log's only partition.
pub const CLUSTER_METADATA_PARTITION: i32 = 0;
/// Kafka's UNKNOWN_SERVER_ERROR code, used (like the Java admin client's
/// `UnknownServerException`) for a response of the wrong shape.
const UNKNOWN_SERVER_ERROR: i16 = -1;
/// What failures of this request are reported as (the `context` of [`ClientError::Kafka`]).
const CONTEXT: &str = "DescribeQuorum";

/// The metadata quorum as the active controller reports it (Kafka's `QuorumInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumDescription {
    /// The active controller, -1 if unknown.
    pub leader_id: i32,
    /// The leader epoch (Raft term).
    pub leader_epoch: i32,
    /// The metadata log's high watermark.
    pub high_watermark: i64,
    /// Voters, in the order the leader listed them.
    pub voters: Vec<QuorumReplica>,
    /// Observers, in the order the leader listed them.
    pub observers: Vec<QuorumReplica>,
    /// Endpoints by node id (DescribeQuorum v2+; empty on older versions).
    pub nodes: BTreeMap<i32, Vec<RaftEndpoint>>,
}

/// One replica of the metadata log (Kafka's `QuorumInfo.ReplicaState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumReplica {
    /// Node id.
    pub replica_id: i32,
    /// The replica's log directory id; nil when unknown (before v2 or a static quorum).
    pub directory_id: uuid::Uuid,
    /// Its log end offset as the leader knows it, -1 if unknown.
    pub log_end_offset: i64,
    /// Leader wall-clock ms of its last fetch; `None` when the leader reported -1.
    pub last_fetch_timestamp: Option<i64>,
    /// Leader wall-clock ms when it was last caught up; `None` when the leader reported -1.
    pub last_caught_up_timestamp: Option<i64>,
}

/// A voter's listener (Kafka's `RaftVoterEndpoint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftEndpoint {
    /// Listener name, e.g. `CONTROLLER`.
    pub name: String,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl std::fmt::Display for RaftEndpoint {
    /// Kafka's `RaftVoterEndpoint.toString`: `NAME://host:port`, IPv6 hosts in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

impl Client {
    /// DescribeQuorum for `__cluster_metadata-0`, sent to the bootstrap broker (which has the
    /// active controller answer). Error codes come back as [`ClientError::Kafka`]; a response
    /// of the wrong shape is UNKNOWN_SERVER_ERROR with the Java admin client's message.
    pub async fn describe_quorum(&mut self) -> Result<QuorumDescription> {
        let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(CLUSTER_METADATA_TOPIC)))
            .with_partitions(vec![
                PartitionData::default().with_partition_index(CLUSTER_METADATA_PARTITION)
            ])]);
        let (response, _version) = self.any_connection().send(&request).await?;
        quorum_from_response(&response)
    }
}

/// Validates and translates a DescribeQuorum response (Kafka's `handleResponse` +
/// `createQuorumResult`).
pub fn quorum_from_response(response: &DescribeQuorumResponse) -> Result<QuorumDescription> {
    let message = |m: &Option<StrBytes>| m.as_ref().map(|m| m.to_string());
    if response.error_code != 0 {
        return Err(ClientError::kafka(
            response.error_code,
            message(&response.error_message).as_deref(),
            CONTEXT,
        ));
    }
    let malformed = |msg: String| ClientError::kafka(UNKNOWN_SERVER_ERROR, Some(&msg), CONTEXT);
    let [topic] = response.topics.as_slice() else {
        return Err(malformed(format!(
            "DescribeMetadataQuorum received {} topics when 1 was expected",
            response.topics.len()
        )));
    };
    let name = topic.topic_name.0.as_str();
    if name != CLUSTER_METADATA_TOPIC {
        return Err(malformed(format!(
            "DescribeMetadataQuorum received a topic with name {name} when {CLUSTER_METADATA_TOPIC} was expected"
        )));
    }
    let [partition] = topic.partitions.as_slice() else {
        return Err(malformed(format!(
            "DescribeMetadataQuorum received a topic {name} with {} partitions when 1 was expected",
            topic.partitions.len()
        )));
    };
    if partition.partition_index != CLUSTER_METADATA_PARTITION {
        return Err(malformed(format!(
            "DescribeMetadataQuorum received a single partition with index {} when {CLUSTER_METADATA_PARTITION} was expected",
            partition.partition_index
        )));
    }
    if partition.error_code != 0 {
        return Err(ClientError::kafka(
            partition.error_code,
            message(&partition.error_message).as_deref(),
            CONTEXT,
        ));
    }
    let replicas = |states: &[describe_quorum_response::ReplicaState]| {
        states
            .iter()
            .map(|r| QuorumReplica {
                replica_id: r.replica_id.0,
                directory_id: r.replica_directory_id,
                log_end_offset: r.log_end_offset,
                last_fetch_timestamp: known_timestamp(r.last_fetch_timestamp),
                last_caught_up_timestamp: known_timestamp(r.last_caught_up_timestamp),
            })
            .collect()
    };
    let nodes = response
        .nodes
        .iter()
        .map(|n| {
            let endpoints = n
                .listeners
                .iter()
                .map(|l| RaftEndpoint {
                    name: l.name.to_string(),
                    host: l.host.to_string(),
                    port: l.port,
                })
                .collect();
            (n.node_id.0, endpoints)
        })
        .collect();
    Ok(QuorumDescription {
        leader_id: partition.leader_id.0,
        leader_epoch: partition.leader_epoch,
        high_watermark: partition.high_watermark,
        voters: replicas(&partition.current_voters),
        observers: replicas(&partition.observers),
        nodes,
    })
}

/// Kafka maps exactly -1 to "unknown" (`OptionalLong.empty()`).
fn known_timestamp(ms: i64) -> Option<i64> {
    (ms != -1).then_some(ms)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::describe_quorum_response::{
        Listener, Node, PartitionData, ReplicaState, TopicData,
    };
    use kafka_protocol::messages::BrokerId;

    use super::*;

    fn response() -> DescribeQuorumResponse {
        DescribeQuorumResponse::default()
            .with_topics(vec![TopicData::default()
                .with_topic_name(TopicName(StrBytes::from_static_str(CLUSTER_METADATA_TOPIC)))
                .with_partitions(vec![PartitionData::default()
                    .with_leader_id(BrokerId(1))
                    .with_leader_epoch(2)
                    .with_high_watermark(10)
                    .with_current_voters(vec![ReplicaState::default()
                        .with_replica_id(BrokerId(1))
                        .with_log_end_offset(10)
                        .with_last_fetch_timestamp(5)])])])
            .with_nodes(vec![Node::default()
                .with_node_id(BrokerId(1))
                .with_listeners(vec![Listener::default()
                    .with_name(StrBytes::from_static_str("CONTROLLER"))
                    .with_host(StrBytes::from_static_str("::1"))
                    .with_port(9093)])])
    }

    #[test]
    fn translates_like_the_java_admin_client() {
        let q = quorum_from_response(&response()).unwrap();
        assert_eq!((q.leader_id, q.leader_epoch, q.high_watermark), (1, 2, 10));
        assert_eq!(q.voters[0].last_fetch_timestamp, Some(5));
        assert_eq!(q.voters[0].last_caught_up_timestamp, None);
        assert_eq!(q.nodes[&1][0].to_string(), "CONTROLLER://[::1]:9093");
    }

    #[test]
    fn rejects_wrong_shapes_and_reports_errors() {
        let mut r = response();
        r.topics[0].topic_name = TopicName(StrBytes::from_static_str("x"));
        let e = quorum_from_response(&r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "DescribeMetadataQuorum received a topic with name x when __cluster_metadata was expected"
        );
        let mut r = response();
        r.topics[0].partitions[0].error_code = 6;
        r.topics[0].partitions[0].error_message = None;
        let e = quorum_from_response(&r).unwrap_err();
        assert_eq!(e.kafka_code(), Some(6));
        let r = DescribeQuorumResponse::default();
        let e = quorum_from_response(&r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "DescribeMetadataQuorum received 0 topics when 1 was expected"
        );
    }
}
