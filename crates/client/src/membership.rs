//! Consumer-group membership (classic protocol) for the console consumer: join, the range
//! assignment when this member leads, sync, heartbeats, committed offsets, leave.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::client::Client;
use crate::error::{ClientError, Result};

/// The consumer's session timeout (Kafka's consumer default, 45 s).
pub const SESSION_TIMEOUT_MS: i32 = 45_000;
/// The rebalance timeout (Kafka's `max.poll.interval.ms` default, 5 min).
pub const REBALANCE_TIMEOUT_MS: i32 = 300_000;
/// How often a member heartbeats (Kafka's consumer default, 3 s).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);
/// The only assignor offered: Kafka's `range`.
pub const RANGE: &str = "range";

/// MEMBER_ID_REQUIRED.
const MEMBER_ID_REQUIRED: i16 = 79;
/// REBALANCE_IN_PROGRESS.
pub const REBALANCE_IN_PROGRESS: i16 = 27;

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A subscription's metadata (ConsumerProtocolSubscription v0: the topics).
pub fn encode_subscription(topics: &[String]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    let sub = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| str_bytes(t)).collect());
    // Encoding our own in-memory value cannot fail for v0.
    let _ = sub.encode(&mut buf, 0);
    buf.freeze()
}

/// The topics of a member's subscription metadata (any version up to 3); empty when it
/// cannot be read.
pub fn decode_subscription(mut data: Bytes) -> Vec<String> {
    if data.remaining() < 2 {
        return Vec::new();
    }
    let version = data.get_i16().clamp(0, 3);
    ConsumerProtocolSubscription::decode(&mut data, version)
        .map(|s| s.topics.iter().map(|t| t.to_string()).collect())
        .unwrap_or_default()
}

/// An assignment (ConsumerProtocolAssignment v0).
pub fn encode_assignment(partitions: &BTreeMap<String, Vec<i32>>) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
        partitions
            .iter()
            .map(|(t, ps)| {
                AssignedTopic::default()
                    .with_topic(TopicName(str_bytes(t)))
                    .with_partitions(ps.clone())
            })
            .collect(),
    );
    let _ = assignment.encode(&mut buf, 0);
    buf.freeze()
}

/// The partitions of an assignment (any version up to 3); empty when it cannot be read.
pub fn decode_assignment(mut data: Bytes) -> Vec<(String, i32)> {
    if data.remaining() < 2 {
        return Vec::new();
    }
    let version = data.get_i16().clamp(0, 3);
    ConsumerProtocolAssignment::decode(&mut data, version)
        .map(|a| {
            a.assigned_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().map(move |p| (t.topic.to_string(), *p)))
                .collect()
        })
        .unwrap_or_default()
}

/// Kafka's range assignor: per topic, members (by id) subscribed to it get consecutive
/// ranges, the first `partitions % members` one more.
pub fn range_assign(
    members: &[(String, Vec<String>)],
    partition_counts: &BTreeMap<String, i32>,
) -> BTreeMap<String, BTreeMap<String, Vec<i32>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<i32>>> = members
        .iter()
        .map(|(m, _)| (m.clone(), BTreeMap::new()))
        .collect();
    let topics: BTreeSet<&String> = members.iter().flat_map(|(_, ts)| ts.iter()).collect();
    for topic in topics {
        let Some(&count) = partition_counts.get(topic) else {
            continue;
        };
        let mut subscribed: Vec<&String> = members
            .iter()
            .filter(|(_, ts)| ts.contains(topic))
            .map(|(m, _)| m)
            .collect();
        subscribed.sort();
        let n = i32::try_from(subscribed.len()).unwrap_or(i32::MAX).max(1);
        let (per, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, member) in subscribed.iter().enumerate() {
            let i = i32::try_from(i).unwrap_or(i32::MAX);
            let take = per + i32::from(i < extra);
            let parts: Vec<i32> = (next..next + take).collect();
            next += take;
            if !parts.is_empty() {
                out.entry((*member).clone())
                    .or_default()
                    .insert(topic.clone(), parts);
            }
        }
    }
    out
}

/// OffsetCommit's topics for `offsets` (next offset to read, by partition; no leader epoch,
/// empty metadata).
pub fn commit_topics(offsets: &BTreeMap<(String, i32), i64>) -> Vec<OffsetCommitRequestTopic> {
    let mut by_topic: BTreeMap<&String, Vec<(i32, i64)>> = BTreeMap::new();
    for ((t, p), o) in offsets {
        by_topic.entry(t).or_default().push((*p, *o));
    }
    by_topic
        .iter()
        .map(|(t, ps)| {
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(str_bytes(t)))
                .with_partitions(
                    ps.iter()
                        .map(|(p, o)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(*p)
                                .with_committed_offset(*o)
                                .with_committed_leader_epoch(-1)
                                .with_committed_metadata(Some(str_bytes("")))
                        })
                        .collect(),
                )
        })
        .collect()
}

/// A member of one group, as the console consumer uses it.
pub struct GroupMember {
    /// The group.
    pub group: String,
    /// Topics subscribed to.
    pub topics: Vec<String>,
    /// Member id (empty before the first join).
    pub member_id: String,
    /// Generation of the last successful join.
    pub generation: i32,
    /// `session.timeout.ms`.
    pub session_timeout_ms: i32,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    coordinator: i32,
}

impl GroupMember {
    /// A member of `group` subscribing to `topics`, not joined yet.
    pub fn new(group: &str, topics: Vec<String>) -> Self {
        GroupMember {
            group: group.to_string(),
            topics,
            member_id: String::new(),
            generation: -1,
            session_timeout_ms: SESSION_TIMEOUT_MS,
            heartbeat_interval: HEARTBEAT_INTERVAL,
            coordinator: -1,
        }
    }

    async fn coordinator(&mut self, client: &mut Client) -> Result<i32> {
        if self.coordinator < 0 {
            self.coordinator = client.coordinator_for(&self.group).await?;
        }
        Ok(self.coordinator)
    }

    fn on_error(&mut self, code: i16) {
        // NOT_COORDINATOR and friends: look it up again next time.
        if crate::coordinator::is_coordinator_retriable(code) {
            self.coordinator = -1;
        }
    }

    /// Joins (or rejoins) the group and returns this member's partitions. Retries through
    /// coordinator moves and MEMBER_ID_REQUIRED.
    pub async fn join(&mut self, client: &mut Client) -> Result<Vec<(String, i32)>> {
        for _attempt in 0..50 {
            let id = self.coordinator(client).await?;
            let mut req = JoinGroupRequest::default();
            req.group_id = GroupId(str_bytes(&self.group));
            req.session_timeout_ms = self.session_timeout_ms;
            req.rebalance_timeout_ms = REBALANCE_TIMEOUT_MS;
            req.member_id = str_bytes(&self.member_id);
            req.protocol_type = str_bytes("consumer");
            req.protocols = vec![JoinGroupRequestProtocol::default()
                .with_name(str_bytes(RANGE))
                .with_metadata(encode_subscription(&self.topics))];
            let conn = match client.connection(id).await {
                Ok(c) => c,
                Err(e) => {
                    self.coordinator = -1;
                    tracing::debug!(error = %e, "coordinator unreachable; looking it up again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let version = conn.negotiated_version(ApiKey::JoinGroup)?;
            let wait = u64::try_from(REBALANCE_TIMEOUT_MS).unwrap_or(0);
            let resp = match conn.send_version(&req, version, wait).await {
                Ok(r) => r,
                Err(e) => {
                    client.forget_connection(id, &e);
                    self.coordinator = -1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if resp.error_code == MEMBER_ID_REQUIRED {
                self.member_id = resp.member_id.to_string();
                continue;
            }
            if resp.error_code != 0 {
                self.on_error(resp.error_code);
                if resp.error_code == 25 {
                    // UNKNOWN_MEMBER_ID: start over as a new member.
                    self.member_id.clear();
                }
                if crate::error::is_retriable_code(resp.error_code)
                    || matches!(resp.error_code, 14..=16 | 25 | 27)
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                return Err(ClientError::kafka(resp.error_code, None, "JoinGroup"));
            }
            self.member_id = resp.member_id.to_string();
            self.generation = resp.generation_id;
            let assignments = if resp.leader == resp.member_id {
                let members: Vec<(String, Vec<String>)> = resp
                    .members
                    .iter()
                    .map(|m| {
                        (
                            m.member_id.to_string(),
                            decode_subscription(m.metadata.clone()),
                        )
                    })
                    .collect();
                let topics: Vec<String> = members
                    .iter()
                    .flat_map(|(_, ts)| ts.iter().cloned())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let md = client.metadata(Some(topics), false).await?;
                let counts: BTreeMap<String, i32> = md
                    .topics
                    .iter()
                    .filter(|t| t.error_code == 0)
                    .map(|t| {
                        (
                            t.name.clone(),
                            i32::try_from(t.partitions.len()).unwrap_or(0),
                        )
                    })
                    .collect();
                range_assign(&members, &counts)
                    .into_iter()
                    .map(|(m, parts)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(str_bytes(&m))
                            .with_assignment(encode_assignment(&parts))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let conn = client.connection(id).await?;
            let version = conn.negotiated_version(ApiKey::SyncGroup)?;
            let mut sync = SyncGroupRequest::default();
            sync.group_id = GroupId(str_bytes(&self.group));
            sync.generation_id = self.generation;
            sync.member_id = str_bytes(&self.member_id);
            if version >= 5 {
                sync.protocol_type = Some(str_bytes("consumer"));
                sync.protocol_name = Some(str_bytes(RANGE));
            }
            sync.assignments = assignments;
            let resp = match conn.send_version(&sync, version, wait).await {
                Ok(r) => r,
                Err(e) => {
                    client.forget_connection(id, &e);
                    self.coordinator = -1;
                    continue;
                }
            };
            if resp.error_code != 0 {
                self.on_error(resp.error_code);
                if resp.error_code == 25 {
                    self.member_id.clear();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let mut mine = decode_assignment(resp.assignment);
            mine.sort();
            tracing::debug!(group = %self.group, generation = self.generation, partitions = ?mine, "joined");
            return Ok(mine);
        }
        Err(ClientError::kafka(
            REBALANCE_IN_PROGRESS,
            None,
            format!("could not join group '{}'", self.group),
        ))
    }

    /// Heartbeat; the error code (0 when fine; REBALANCE_IN_PROGRESS means rejoin).
    pub async fn heartbeat(&mut self, client: &mut Client) -> Result<i16> {
        let id = self.coordinator(client).await?;
        let mut req = HeartbeatRequest::default();
        req.group_id = GroupId(str_bytes(&self.group));
        req.generation_id = self.generation;
        req.member_id = str_bytes(&self.member_id);
        let (resp, _) = client.connection(id).await?.send(&req).await?;
        self.on_error(resp.error_code);
        Ok(resp.error_code)
    }

    /// The group's committed offsets of `partitions` (-1 when none).
    pub async fn committed(
        &mut self,
        client: &mut Client,
        partitions: &[(String, i32)],
    ) -> Result<BTreeMap<(String, i32), i64>> {
        let id = self.coordinator(client).await?;
        let mut by_topic: BTreeMap<&String, Vec<i32>> = BTreeMap::new();
        for (t, p) in partitions {
            by_topic.entry(t).or_default().push(*p);
        }
        let conn = client.connection(id).await?;
        let version = conn.negotiated_version(ApiKey::OffsetFetch)?;
        let mut req = OffsetFetchRequest::default();
        // v8 asks for several groups; earlier versions for one.
        if version >= 8 {
            req.groups = vec![OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(str_bytes(&self.group)))
                .with_topics(Some(
                    by_topic
                        .iter()
                        .map(|(t, ps)| {
                            OffsetFetchRequestTopics::default()
                                .with_name(TopicName(str_bytes(t)))
                                .with_partition_indexes(ps.clone())
                        })
                        .collect(),
                ))];
        } else {
            req.group_id = GroupId(str_bytes(&self.group));
            req.topics = Some(
                by_topic
                    .iter()
                    .map(|(t, ps)| {
                        OffsetFetchRequestTopic::default()
                            .with_name(TopicName(str_bytes(t)))
                            .with_partition_indexes(ps.clone())
                    })
                    .collect(),
            );
        }
        let resp = conn.send_version(&req, version, 0).await?;
        let mut out = BTreeMap::new();
        if version >= 8 {
            for g in &resp.groups {
                if g.error_code != 0 {
                    self.on_error(g.error_code);
                    return Err(ClientError::kafka(g.error_code, None, "OffsetFetch"));
                }
                for t in &g.topics {
                    for p in &t.partitions {
                        out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
                    }
                }
            }
        } else {
            if resp.error_code != 0 {
                self.on_error(resp.error_code);
                return Err(ClientError::kafka(resp.error_code, None, "OffsetFetch"));
            }
            for t in &resp.topics {
                for p in &t.partitions {
                    out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
                }
            }
        }
        Ok(out)
    }

    /// Commits `positions` (next offset to read) for this generation.
    pub async fn commit(
        &mut self,
        client: &mut Client,
        positions: &BTreeMap<(String, i32), i64>,
    ) -> Result<()> {
        if positions.is_empty() {
            return Ok(());
        }
        let id = self.coordinator(client).await?;
        let mut req = OffsetCommitRequest::default();
        req.group_id = GroupId(str_bytes(&self.group));
        req.generation_id_or_member_epoch = self.generation;
        req.member_id = str_bytes(&self.member_id);
        req.retention_time_ms = -1;
        req.topics = commit_topics(positions);
        let (resp, _) = client.connection(id).await?.send(&req).await?;
        for t in &resp.topics {
            for p in &t.partitions {
                if p.error_code != 0 {
                    self.on_error(p.error_code);
                    return Err(ClientError::kafka(p.error_code, None, "OffsetCommit"));
                }
            }
        }
        Ok(())
    }

    /// Leaves the group (a clean exit: the others rebalance at once).
    pub async fn leave(&mut self, client: &mut Client) -> Result<()> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let id = self.coordinator(client).await?;
        let conn = client.connection(id).await?;
        let version = conn.negotiated_version(ApiKey::LeaveGroup)?;
        let mut req = LeaveGroupRequest::default();
        req.group_id = GroupId(str_bytes(&self.group));
        // v3 leaves in batches; earlier versions name one member.
        if version >= 3 {
            req.members =
                vec![MemberIdentity::default().with_member_id(str_bytes(&self.member_id))];
        } else {
            req.member_id = str_bytes(&self.member_id);
        }
        conn.send_version(&req, version, 0).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_assignor_matches_kafka() {
        let members = vec![
            ("b".to_string(), vec!["t".to_string()]),
            ("a".to_string(), vec!["t".to_string()]),
        ];
        let counts: BTreeMap<String, i32> = [("t".to_string(), 5)].into_iter().collect();
        let out = range_assign(&members, &counts);
        assert_eq!(out["a"]["t"], vec![0, 1, 2]);
        assert_eq!(out["b"]["t"], vec![3, 4]);
        let one = range_assign(&members[..1], &counts);
        assert_eq!(one["b"]["t"], vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn protocol_bytes_round_trip() {
        let topics = vec!["t1".to_string(), "t2".to_string()];
        assert_eq!(decode_subscription(encode_subscription(&topics)), topics);
        let parts: BTreeMap<String, Vec<i32>> =
            [("t1".to_string(), vec![0, 2])].into_iter().collect();
        assert_eq!(
            decode_assignment(encode_assignment(&parts)),
            vec![("t1".to_string(), 0), ("t1".to_string(), 2)]
        );
        assert!(decode_assignment(Bytes::from_static(b"\x00")).is_empty());
        assert!(decode_subscription(Bytes::from_static(b"\x00\x00\xff")).is_empty());
    }
}
