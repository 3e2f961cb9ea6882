//! Bad consumer-group requests get Kafka's error codes and hurt nothing: an empty
//! group id, a session timeout out of bounds, an unknown member id, a wrong generation, a
//! protocol type mismatch, a commit to a partition that does not exist.

mod common;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, GroupId, HeartbeatRequest, JoinGroupRequest, OffsetCommitRequest, SyncGroupRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strata_client::Client;
use strata_tests::StrataNode;

const INVALID_GROUP_ID: i16 = 24;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const UNKNOWN_MEMBER_ID: i16 = 25;
const ILLEGAL_GENERATION: i16 = 22;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const MEMBER_ID_REQUIRED: i16 = 79;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn join(group: &str, member: &str, protocol_type: &str, session_ms: i32) -> JoinGroupRequest {
    let mut req = JoinGroupRequest::default();
    req.group_id = GroupId(s(group));
    req.member_id = s(member);
    req.session_timeout_ms = session_ms;
    req.rebalance_timeout_ms = 10_000;
    req.protocol_type = s(protocol_type);
    req.protocols = vec![JoinGroupRequestProtocol::default()
        .with_name(s("range"))
        .with_metadata(Bytes::from_static(b"\0\0\0\0\0\0\xff\xff\xff\xff"))];
    req
}

#[test]
fn bad_group_requests_get_kafka_errors() {
    let mut node = StrataNode::start_with(&[("group.initial.rebalance.delay.ms", "0")]);
    let bootstrap = node.bootstrap();
    common::block_on(async {
        let mut client = Client::connect(&bootstrap).await.expect("connect");
        let coordinator = client.coordinator_for("g").await.expect("coordinator");
        let conn = client
            .connection(coordinator)
            .await
            .expect("coordinator connection");
        let jv = conn
            .negotiated_version(ApiKey::JoinGroup)
            .expect("JoinGroup version");
        assert!(jv >= 5, "JoinGroup v{jv}");

        let r = conn
            .send_version(&join("", "", "consumer", 10_000), jv, 0)
            .await
            .unwrap();
        assert_eq!(r.error_code, INVALID_GROUP_ID);
        let r = conn
            .send_version(&join("g", "", "consumer", 10), jv, 0)
            .await
            .unwrap();
        assert_eq!(r.error_code, INVALID_SESSION_TIMEOUT);
        let r = conn
            .send_version(&join("g", "nobody", "consumer", 10_000), jv, 0)
            .await
            .unwrap();
        assert_eq!(r.error_code, UNKNOWN_MEMBER_ID);

        // KIP-394: a new member first gets its id, then joins with it.
        let r = conn
            .send_version(&join("g", "", "consumer", 10_000), jv, 0)
            .await
            .unwrap();
        assert_eq!(r.error_code, MEMBER_ID_REQUIRED);
        let member = r.member_id.to_string();
        assert!(!member.is_empty());
        let r = conn
            .send_version(&join("g", &member, "consumer", 10_000), jv, 0)
            .await
            .unwrap();
        assert_eq!(r.error_code, 0);
        assert_eq!(r.leader.to_string(), member);
        let generation = r.generation_id;

        // Another protocol type cannot join a consumer group.
        let r = conn
            .send_version(&join("g", "", "connect", 10_000), jv, 0)
            .await
            .unwrap();
        assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL);

        let mut hb = HeartbeatRequest::default();
        hb.group_id = GroupId(s("g"));
        hb.member_id = s("nobody");
        hb.generation_id = generation;
        let (r, _) = conn.send(&hb).await.unwrap();
        assert_eq!(r.error_code, UNKNOWN_MEMBER_ID);
        hb.member_id = s(&member);
        hb.generation_id = generation + 7;
        let (r, _) = conn.send(&hb).await.unwrap();
        assert_eq!(r.error_code, ILLEGAL_GENERATION);

        let mut sync = SyncGroupRequest::default();
        sync.group_id = GroupId(s("g"));
        sync.member_id = s("nobody");
        sync.generation_id = generation;
        let (r, _) = conn.send(&sync).await.unwrap();
        assert_eq!(r.error_code, UNKNOWN_MEMBER_ID);

        // The leader hands out the (empty) assignment: the group is Stable.
        let mut sync = SyncGroupRequest::default();
        sync.group_id = GroupId(s("g"));
        sync.member_id = s(&member);
        sync.generation_id = generation;
        sync.assignments = vec![
            kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(s(&member))
                .with_assignment(Bytes::from_static(b"\0\0\0\0\0\0\xff\xff\xff\xff")),
        ];
        let (r, _) = conn.send(&sync).await.unwrap();
        assert_eq!(r.error_code, 0);

        let commit = |generation: i32, topic: &str| {
            let mut req = OffsetCommitRequest::default();
            req.group_id = GroupId(s("g"));
            req.member_id = s(&member);
            req.generation_id_or_member_epoch = generation;
            req.topics = vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(9)
                    .with_committed_offset(5)])];
            req
        };
        let (r, _) = conn.send(&commit(generation + 1, "nope")).await.unwrap();
        assert_eq!(r.topics[0].partitions[0].error_code, ILLEGAL_GENERATION);
        let (r, _) = conn
            .send(&commit(generation, "no-such-topic"))
            .await
            .unwrap();
        assert_eq!(
            r.topics[0].partitions[0].error_code,
            UNKNOWN_TOPIC_OR_PARTITION
        );
    });
    common::assert_node_healthy(&mut node, "after bad group requests");
}
