//! Consumer-group APIs (classic protocol): FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups.
//!
//! A group belongs to partition `partition_for(group) % offsets.topic.num.partitions` of
//! `__consumer_offsets`; its coordinator is that partition's leader. Requests for a group this
//! node does not lead answer NOT_COORDINATOR, and clients ask FindCoordinator again.

use bytes::Bytes;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    BrokerId, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId,
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, ListGroupsRequest, ListGroupsResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest,
    OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::ResponseError;
use strata_broker::Acks;
use strata_clock::wall_clock_ms;
use strata_controller::CreateTopicSpec;
use strata_group::{partition_for, CommittedOffset, GroupError, JoinRequest, OFFSETS_TOPIC};

use super::{str_bytes, topic_name};
use crate::dispatch::{Dispatcher, RequestContext};

/// `offsets.topic.replication.factor` default (capped by the live brokers at creation).
const DEFAULT_OFFSETS_TOPIC_REPLICATION_FACTOR: i16 = 3;

/// A group error as Kafka's code.
fn code(error: &GroupError) -> i16 {
    let code = match error {
        GroupError::InvalidGroupId => ResponseError::InvalidGroupId,
        GroupError::InvalidSessionTimeout { .. } => ResponseError::InvalidSessionTimeout,
        GroupError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
        GroupError::UnknownMemberId => ResponseError::UnknownMemberId,
        GroupError::MemberIdRequired(_) => ResponseError::MemberIdRequired,
        GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
        GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        GroupError::GroupIdNotFound => ResponseError::GroupIdNotFound,
        GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup,
        GroupError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic,
        GroupError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
        GroupError::FencedInstanceId => ResponseError::FencedInstanceId,
        GroupError::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached,
    };
    code.code()
}

fn offsets_replication_factor(d: &Dispatcher) -> i16 {
    d.config()
        .broker_configs
        .iter()
        .find(|(k, ..)| k == "offsets.topic.replication.factor")
        .and_then(|(_, v, ..)| v.parse().ok())
        .filter(|n: &i16| *n > 0)
        .unwrap_or(DEFAULT_OFFSETS_TOPIC_REPLICATION_FACTOR)
}

/// Why this node cannot serve `group` now: NOT_COORDINATOR when it does not lead the
/// group's offsets partition, COORDINATOR_LOAD_IN_PROGRESS while it is still reading it.
fn coordinator_error(d: &Dispatcher, group: &str) -> Option<i16> {
    let partition = partition_for(group, d.offsets_partitions());
    let state = d
        .broker()
        .partition(OFFSETS_TOPIC, partition)
        .map(|p| p.state());
    match state {
        Some(s) if s.leader == d.config().node_id => {
            if d.loaded().epoch(partition) == Some(s.leader_epoch) {
                None
            } else {
                Some(ResponseError::CoordinatorLoadInProgress.code())
            }
        }
        _ => Some(NOT_COORDINATOR),
    }
}

/// Whether this node coordinates `group` now.
fn coordinates(d: &Dispatcher, group: &str) -> bool {
    coordinator_error(d, group).is_none()
}

const NOT_COORDINATOR: i16 = 16;

/// How long a commit waits for the offsets partition's ISR (Kafka: `offsets.commit.timeout.ms`).
const OFFSETS_COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Appends offset records for `group` to its `__consumer_offsets` partition and waits until
/// they are committed (acks=all), as Kafka does before acknowledging an OffsetCommit.
async fn persist(
    d: &Dispatcher,
    group: &str,
    records: &[((String, i32), Option<CommittedOffset>)],
) -> Result<(), i16> {
    let Some(batch) = crate::offsets_log::encode(group, records) else {
        return Ok(());
    };
    let partition = partition_for(group, d.offsets_partitions());
    match d
        .broker()
        .produce_and_replicate(
            OFFSETS_TOPIC,
            partition,
            batch,
            Acks::All,
            OFFSETS_COMMIT_TIMEOUT,
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(error) => {
            tracing::warn!(group, partition, %error, "cannot write offsets to __consumer_offsets");
            // Kafka's mapping of append errors for offset commits.
            Err(match crate::errors::KafkaError::from(&error).code {
                ResponseError::NotLeaderOrFollower => NOT_COORDINATOR,
                ResponseError::MessageTooLarge | ResponseError::RecordListTooLarge => {
                    ResponseError::InvalidCommitOffsetSize.code()
                }
                _ => ResponseError::CoordinatorNotAvailable.code(),
            })
        }
    }
}

/// The coordinator of one key: `(node id, host, port)` or an error code.
async fn find_one(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    key: &str,
) -> Result<(i32, String, i32), i16> {
    let image = d.broker().image();
    let Some(topic) = image.topic(OFFSETS_TOPIC) else {
        // First use: create the offsets topic; the client asks again.
        let live = i16::try_from(image.unfenced_brokers().count()).unwrap_or(i16::MAX);
        let mut spec = CreateTopicSpec::new(OFFSETS_TOPIC);
        spec.num_partitions = d.offsets_partitions();
        spec.replication_factor = offsets_replication_factor(d).min(live.max(1));
        let results = d.controller().create_topics(vec![spec], false).await;
        if let Some(Err(error)) = results.first() {
            tracing::debug!(%error, "creating __consumer_offsets");
        }
        d.broker().apply_latest_image().await;
        return Err(ResponseError::CoordinatorNotAvailable.code());
    };
    let partition = partition_for(key, d.offsets_partitions());
    let leader = topic.partitions.get(&partition).map_or(-1, |p| p.leader);
    let Some(broker) = image.brokers.get(&leader).filter(|b| !b.fenced) else {
        return Err(ResponseError::CoordinatorNotAvailable.code());
    };
    let endpoint = broker
        .endpoints
        .iter()
        .find(|e| e.listener_name == ctx.listener)
        .or_else(|| broker.endpoints.first());
    match endpoint {
        Some(e) => Ok((leader, e.host.clone(), i32::from(e.port))),
        None => Err(ResponseError::CoordinatorNotAvailable.code()),
    }
}

/// Handles FindCoordinator (v0–3: one key; v4+: a batch). Only group coordinators
/// (key type 0); transactions are not supported.
pub async fn find_coordinator(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let keys: Vec<String> = if version >= 4 {
        req.coordinator_keys.iter().map(|k| k.to_string()).collect()
    } else {
        vec![req.key.to_string()]
    };
    let mut coordinators = Vec::new();
    for key in keys {
        let result = if req.key_type != 0 {
            Err(ResponseError::InvalidRequest.code())
        } else {
            find_one(d, ctx, &key).await
        };
        let c = match result {
            Ok((node, host, port)) => Coordinator::default()
                .with_key(str_bytes(&key))
                .with_node_id(BrokerId(node))
                .with_host(str_bytes(&host))
                .with_port(port),
            Err(code) => Coordinator::default()
                .with_key(str_bytes(&key))
                .with_node_id(BrokerId(-1))
                .with_host(str_bytes(""))
                .with_port(-1)
                .with_error_code(code)
                .with_error_message(None),
        };
        coordinators.push(c);
    }
    if version >= 4 {
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let c = coordinators.pop().unwrap_or_default();
    FindCoordinatorResponse::default()
        .with_error_code(c.error_code)
        .with_error_message(if version >= 1 { c.error_message } else { None })
        .with_node_id(c.node_id)
        .with_host(c.host)
        .with_port(c.port)
}

/// Handles JoinGroup.
pub async fn join_group(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    req: JoinGroupRequest,
    version: i16,
) -> JoinGroupResponse {
    let group_id = req.group_id.to_string();
    let base = JoinGroupResponse::default()
        .with_generation_id(-1)
        .with_member_id(req.member_id.clone());
    if let Some(code) = coordinator_error(d, &group_id).filter(|_| !group_id.is_empty()) {
        return base.with_error_code(code);
    }
    let join = JoinRequest {
        group_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: ctx
            .header
            .client_id
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        client_host: ctx.peer.map(|p| format!("/{}", p.ip())).unwrap_or_default(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 {
            req.rebalance_timeout_ms
        } else {
            -1
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
    };
    match d.groups().join(join).await {
        Ok(r) => {
            let members = r
                .members
                .into_iter()
                .map(|(id, instance, metadata)| {
                    JoinGroupResponseMember::default()
                        .with_member_id(str_bytes(&id))
                        .with_group_instance_id(instance.as_deref().map(str_bytes))
                        .with_metadata(metadata)
                })
                .collect();
            JoinGroupResponse::default()
                .with_generation_id(r.generation_id)
                .with_protocol_type(Some(str_bytes(&r.protocol_type)))
                .with_protocol_name(Some(str_bytes(&r.protocol_name)))
                .with_leader(str_bytes(&r.leader))
                .with_member_id(str_bytes(&r.member_id))
                .with_members(members)
        }
        Err(GroupError::MemberIdRequired(id)) => base
            .with_member_id(str_bytes(&id))
            .with_error_code(ResponseError::MemberIdRequired.code()),
        Err(e) => base.with_error_code(code(&e)),
    }
}

/// Handles SyncGroup.
pub async fn sync_group(d: &Dispatcher, req: SyncGroupRequest) -> SyncGroupResponse {
    let group_id = req.group_id.to_string();
    if let Some(code) = coordinator_error(d, &group_id) {
        return SyncGroupResponse::default().with_error_code(code);
    }
    let assignments = req
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    match d
        .groups()
        .sync(
            &group_id,
            &req.member_id,
            req.group_instance_id.as_ref().map(|s| s.as_str()),
            req.generation_id,
            assignments,
        )
        .await
    {
        Ok(r) => SyncGroupResponse::default()
            .with_protocol_type(Some(str_bytes(&r.protocol_type)))
            .with_protocol_name(Some(str_bytes(&r.protocol_name)))
            .with_assignment(r.assignment),
        Err(e) => SyncGroupResponse::default()
            .with_error_code(code(&e))
            .with_assignment(Bytes::new()),
    }
}

/// Handles Heartbeat.
pub fn heartbeat(d: &Dispatcher, req: HeartbeatRequest) -> HeartbeatResponse {
    let group_id = req.group_id.to_string();
    if let Some(code) = coordinator_error(d, &group_id) {
        return HeartbeatResponse::default().with_error_code(code);
    }
    match d.groups().heartbeat(
        &group_id,
        &req.member_id,
        req.group_instance_id.as_ref().map(|s| s.as_str()),
        req.generation_id,
    ) {
        Ok(()) => HeartbeatResponse::default(),
        Err(e) => HeartbeatResponse::default().with_error_code(code(&e)),
    }
}

/// Handles LeaveGroup (v0–2: one member; v3+: a batch, by member or instance id).
pub fn leave_group(d: &Dispatcher, req: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let group_id = req.group_id.to_string();
    if let Some(code) = coordinator_error(d, &group_id) {
        return LeaveGroupResponse::default().with_error_code(code);
    }
    if version < 3 {
        return match d.groups().leave(&group_id, &req.member_id, None) {
            Ok(()) => LeaveGroupResponse::default(),
            Err(e) => LeaveGroupResponse::default().with_error_code(code(&e)),
        };
    }
    let members = req
        .members
        .iter()
        .map(|m| {
            let result = d.groups().leave(
                &group_id,
                &m.member_id,
                m.group_instance_id.as_ref().map(|s| s.as_str()),
            );
            MemberResponse::default()
                .with_member_id(m.member_id.clone())
                .with_group_instance_id(m.group_instance_id.clone())
                .with_error_code(result.err().map_or(0, |e| code(&e)))
        })
        .collect();
    LeaveGroupResponse::default().with_members(members)
}

/// Handles OffsetCommit: validated by the group, written to `__consumer_offsets` (acks=all),
/// then visible to OffsetFetch.
pub async fn offset_commit(d: &Dispatcher, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let group_id = req.group_id.to_string();
    let whole = if group_id.is_empty() {
        Some(ResponseError::InvalidGroupId.code())
    } else if let Some(code) = coordinator_error(d, &group_id) {
        Some(code)
    } else {
        d.groups()
            .check_commit(
                &group_id,
                &req.member_id,
                req.group_instance_id.as_ref().map(|s| s.as_str()),
                req.generation_id_or_member_epoch,
            )
            .err()
            .map(|e| code(&e))
    };
    let image = d.broker().image();
    let mut stored = Vec::new();
    let mut topics: Vec<OffsetCommitResponseTopic> = req
        .topics
        .iter()
        .map(|t| {
            let name = t.name.to_string();
            let known = image.topic(&name);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let error = whole.unwrap_or_else(|| {
                        let exists =
                            known.is_some_and(|k| k.partitions.contains_key(&p.partition_index));
                        if exists {
                            stored.push((
                                (name.clone(), p.partition_index),
                                CommittedOffset {
                                    offset: p.committed_offset,
                                    leader_epoch: p.committed_leader_epoch,
                                    metadata: p
                                        .committed_metadata
                                        .as_ref()
                                        .map(|m| m.to_string())
                                        .unwrap_or_default(),
                                    commit_timestamp_ms: wall_clock_ms(),
                                },
                            ));
                            0
                        } else {
                            ResponseError::UnknownTopicOrPartition.code()
                        }
                    });
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    if !stored.is_empty() {
        let records: Vec<_> = stored
            .iter()
            .map(|(k, o)| (k.clone(), Some(o.clone())))
            .collect();
        match persist(d, &group_id, &records).await {
            Ok(()) => d.groups().store_offsets(&group_id, stored),
            Err(code) => {
                for t in &mut topics {
                    for p in &mut t.partitions {
                        if p.error_code == 0 {
                            p.error_code = code;
                        }
                    }
                }
            }
        }
    }
    OffsetCommitResponse::default().with_topics(topics)
}

/// One group's offsets for OffsetFetch: `(topic, [(partition, offset, epoch, metadata)])`,
/// with -1 for requested partitions that have no commit.
type FetchedTopics = Vec<(String, Vec<(i32, i64, i32, String)>)>;

fn fetch_group(
    d: &Dispatcher,
    group_id: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> Result<FetchedTopics, i16> {
    if let Some(code) = coordinator_error(d, group_id) {
        return Err(code);
    }
    let wanted: Option<Vec<(String, i32)>> = topics.as_ref().map(|ts| {
        ts.iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), *p)))
            .collect()
    });
    let found = d.groups().fetch_offsets(group_id, wanted.as_deref());
    let mut out: FetchedTopics = Vec::new();
    let mut push = |topic: &str, entry: (i32, i64, i32, String)| match out
        .iter_mut()
        .find(|(t, _)| t == topic)
    {
        Some((_, ps)) => ps.push(entry),
        None => out.push((topic.to_string(), vec![entry])),
    };
    match topics {
        Some(ts) => {
            for (t, ps) in ts {
                for p in ps {
                    let o = found.iter().find(|((ft, fp), _)| *ft == t && *fp == p);
                    match o {
                        Some((_, c)) => push(&t, (p, c.offset, c.leader_epoch, c.metadata.clone())),
                        None => push(&t, (p, -1, -1, String::new())),
                    }
                }
            }
        }
        None => {
            for ((t, p), c) in found {
                push(&t, (p, c.offset, c.leader_epoch, c.metadata));
            }
        }
    }
    Ok(out)
}

/// Handles OffsetFetch (v0–7: one group; v8+: several).
pub fn offset_fetch(d: &Dispatcher, req: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = req
            .groups
            .iter()
            .map(|g| {
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                let base = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                match fetch_group(d, &g.group_id, topics) {
                    Ok(found) => base.with_topics(
                        found
                            .into_iter()
                            .map(|(t, ps)| {
                                OffsetFetchResponseTopics::default()
                                    .with_name(topic_name(&t))
                                    .with_partitions(
                                        ps.into_iter()
                                            .map(|(p, o, e, m)| {
                                                OffsetFetchResponsePartitions::default()
                                                    .with_partition_index(p)
                                                    .with_committed_offset(o)
                                                    .with_committed_leader_epoch(e)
                                                    .with_metadata(Some(str_bytes(&m)))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    ),
                    Err(code) => base.with_error_code(code),
                }
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let topics = req.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    match fetch_group(d, &req.group_id, topics) {
        Ok(found) => OffsetFetchResponse::default().with_topics(
            found
                .into_iter()
                .map(|(t, ps)| {
                    OffsetFetchResponseTopic::default()
                        .with_name(topic_name(&t))
                        .with_partitions(
                            ps.into_iter()
                                .map(|(p, o, e, m)| {
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(o)
                                        .with_committed_leader_epoch(e)
                                        .with_metadata(Some(str_bytes(&m)))
                                })
                                .collect(),
                        )
                })
                .collect(),
        ),
        Err(code) => {
            // v0–1 have no top-level error: put it on every requested partition.
            let topics = req
                .topics
                .iter()
                .flatten()
                .map(|t| {
                    OffsetFetchResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(
                            t.partition_indexes
                                .iter()
                                .map(|p| {
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(*p)
                                        .with_committed_offset(-1)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                })
                .collect();
            OffsetFetchResponse::default()
                .with_topics(topics)
                .with_error_code(if version >= 2 { code } else { 0 })
        }
    }
}

/// Handles ListGroups (v4+: state filter) over the groups this node coordinates.
pub fn list_groups(d: &Dispatcher, req: ListGroupsRequest) -> ListGroupsResponse {
    let filter: Vec<String> = req
        .states_filter
        .iter()
        .map(|s| s.to_string().to_ascii_lowercase())
        .collect();
    let groups = d
        .groups()
        .list()
        .into_iter()
        .filter(|(id, ..)| coordinates(d, id))
        .filter(|(_, state, _)| {
            filter.is_empty() || filter.contains(&state.name().to_ascii_lowercase())
        })
        .map(|(id, state, protocol_type)| {
            ListedGroup::default()
                .with_group_id(GroupId(str_bytes(&id)))
                .with_protocol_type(str_bytes(&protocol_type))
                .with_group_state(str_bytes(state.name()))
                .with_group_type(str_bytes("classic"))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

/// Handles DescribeGroups.
pub fn describe_groups(d: &Dispatcher, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = req
        .groups
        .iter()
        .map(|g| {
            let id = g.to_string();
            if let Some(code) = coordinator_error(d, &id) {
                return DescribedGroup::default()
                    .with_group_id(g.clone())
                    .with_error_code(code);
            }
            let desc = d.groups().describe(&id);
            DescribedGroup::default()
                .with_group_id(g.clone())
                .with_group_state(str_bytes(desc.state.name()))
                .with_protocol_type(str_bytes(&desc.protocol_type))
                .with_protocol_data(str_bytes(&desc.protocol))
                .with_members(
                    desc.members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(str_bytes(&m.member_id))
                                .with_group_instance_id(
                                    m.group_instance_id.as_deref().map(str_bytes),
                                )
                                .with_client_id(str_bytes(&m.client_id))
                                .with_client_host(str_bytes(&m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// Handles DeleteGroups: an empty group's offsets get tombstones in `__consumer_offsets`.
pub async fn delete_groups(d: &Dispatcher, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::new();
    for g in &req.groups_names {
        let error = match coordinator_error(d, g) {
            Some(code) => code,
            None => {
                let offsets = d.groups().fetch_offsets(g, None);
                let tombstones: Vec<_> = offsets.into_iter().map(|(k, _)| (k, None)).collect();
                match d.groups().delete(g) {
                    Err(e) => code(&e),
                    Ok(()) => match persist(d, g, &tombstones).await {
                        Ok(()) => 0,
                        Err(code) => code,
                    },
                }
            }
        };
        results.push(
            DeletableGroupResult::default()
                .with_group_id(g.clone())
                .with_error_code(error),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}

/// Handles OffsetDelete: offsets of topics the group no longer subscribes to are removed
/// (tombstones in `__consumer_offsets`).
pub async fn offset_delete(d: &Dispatcher, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let group_id = req.group_id.to_string();
    if let Some(code) = coordinator_error(d, &group_id) {
        return OffsetDeleteResponse::default().with_error_code(code);
    }
    let keys: Vec<(String, i32)> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.to_string(), p.partition_index))
        })
        .collect();
    let results = match d.groups().delete_offsets(&group_id, &keys) {
        Ok(r) => r,
        Err(e) => return OffsetDeleteResponse::default().with_error_code(code(&e)),
    };
    let tombstones: Vec<_> = keys
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(k, _)| (k.clone(), None))
        .collect();
    let persisted = persist(d, &group_id, &tombstones).await;
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for (key, result) in keys.iter().zip(results) {
        let error = match (result, &persisted) {
            (Err(e), _) => code(&e),
            (Ok(()), Err(c)) => *c,
            (Ok(()), Ok(())) => 0,
        };
        let partition = OffsetDeleteResponsePartition::default()
            .with_partition_index(key.1)
            .with_error_code(error);
        match topics.iter_mut().find(|t| t.name.0.as_str() == key.0) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(
                OffsetDeleteResponseTopic::default()
                    .with_name(topic_name(&key.0))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    OffsetDeleteResponse::default().with_topics(topics)
}
