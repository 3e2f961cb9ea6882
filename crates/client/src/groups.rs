//! Consumer-group admin calls for `kafka-consumer-groups`: list (every broker), describe,
//! committed offsets, offset reset (a simple commit), delete groups and offsets.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    ApiKey, DeleteGroupsRequest, DescribeGroupsRequest, GroupId, ListGroupsRequest,
    OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::membership::{commit_topics, decode_assignment};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// State (empty when the broker does not report it).
    pub state: String,
    /// Protocol type ("consumer").
    pub protocol_type: String,
}

/// One member of a described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMemberInfo {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Assigned partitions (consumer protocol).
    pub assignment: Vec<(String, i32)>,
}

/// A described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// Group id.
    pub group_id: String,
    /// State ("Dead" for an unknown group).
    pub state: String,
    /// Assignment strategy (protocol).
    pub protocol: String,
    /// Coordinator node id.
    pub coordinator_id: i32,
    /// Coordinator `host:port`.
    pub coordinator: String,
    /// Members.
    pub members: Vec<GroupMemberInfo>,
}

impl Client {
    /// ListGroups on every broker, merged (each broker lists the groups it coordinates).
    pub async fn list_groups(&mut self, states: &[String]) -> Result<Vec<ListedGroup>> {
        self.metadata(Some(Vec::new()), false).await?;
        let ids: Vec<i32> = self.brokers.keys().copied().collect();
        let mut out: BTreeMap<String, ListedGroup> = BTreeMap::new();
        for id in ids {
            let conn = self.connection(id).await?;
            let version = conn.negotiated_version(ApiKey::ListGroups)?;
            let mut req = ListGroupsRequest::default();
            if version >= 4 {
                req.states_filter = states.iter().map(|x| s(x)).collect();
            }
            let resp = conn.send_version(&req, version, 0).await?;
            if resp.error_code != 0 {
                return Err(ClientError::kafka(resp.error_code, None, "ListGroups"));
            }
            for g in resp.groups {
                let state = g.group_state.to_string();
                if version < 4 && !states.is_empty() {
                    // Old brokers cannot filter: nothing to compare with.
                    continue;
                }
                out.insert(
                    g.group_id.to_string(),
                    ListedGroup {
                        group_id: g.group_id.to_string(),
                        state,
                        protocol_type: g.protocol_type.to_string(),
                    },
                );
            }
        }
        Ok(out.into_values().collect())
    }

    /// DescribeGroups of one group at its coordinator.
    pub async fn describe_group(&mut self, group: &str) -> Result<GroupInfo> {
        let id = self.coordinator_for(group).await?;
        let coordinator = self.brokers.get(&id).cloned().unwrap_or_default();
        let mut req = DescribeGroupsRequest::default();
        req.groups = vec![GroupId(s(group))];
        let (resp, _) = self.connection(id).await?.send(&req).await?;
        let g = resp
            .groups
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::kafka(-1, None, "DescribeGroups: empty response"))?;
        if g.error_code != 0 {
            return Err(ClientError::kafka(
                g.error_code,
                g.error_message.as_ref().map(|m| m.as_str()),
                format!("DescribeGroups '{group}'"),
            ));
        }
        Ok(GroupInfo {
            group_id: group.to_string(),
            state: g.group_state.to_string(),
            protocol: g.protocol_data.to_string(),
            coordinator_id: id,
            coordinator,
            members: g
                .members
                .into_iter()
                .map(|m| GroupMemberInfo {
                    member_id: m.member_id.to_string(),
                    group_instance_id: m.group_instance_id.map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    client_host: m.client_host.to_string(),
                    assignment: decode_assignment(m.member_assignment),
                })
                .collect(),
        })
    }

    /// Every committed offset of `group`.
    pub async fn group_offsets(&mut self, group: &str) -> Result<BTreeMap<(String, i32), i64>> {
        let id = self.coordinator_for(group).await?;
        let conn = self.connection(id).await?;
        let version = conn.negotiated_version(ApiKey::OffsetFetch)?;
        let mut req = OffsetFetchRequest::default();
        if version >= 8 {
            req.groups = vec![OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(s(group)))
                .with_topics(None)];
        } else {
            req.group_id = GroupId(s(group));
            req.topics = None;
        }
        let resp = conn.send_version(&req, version, 0).await?;
        let mut out = BTreeMap::new();
        if version >= 8 {
            for g in resp.groups {
                if g.error_code != 0 {
                    return Err(ClientError::kafka(g.error_code, None, "OffsetFetch"));
                }
                for t in g.topics {
                    for p in t.partitions {
                        if p.committed_offset >= 0 {
                            out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
                        }
                    }
                }
            }
        } else {
            if resp.error_code != 0 {
                return Err(ClientError::kafka(resp.error_code, None, "OffsetFetch"));
            }
            for t in resp.topics {
                for p in t.partitions {
                    if p.committed_offset >= 0 {
                        out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Commits `offsets` for `group` as a tool does (no member, generation -1): the broker
    /// accepts it only while the group has no members.
    pub async fn commit_group_offsets(
        &mut self,
        group: &str,
        offsets: &BTreeMap<(String, i32), i64>,
    ) -> Result<Vec<((String, i32), Result<()>)>> {
        let id = self.coordinator_for(group).await?;
        let mut req = OffsetCommitRequest::default();
        req.group_id = GroupId(s(group));
        req.generation_id_or_member_epoch = -1;
        req.retention_time_ms = -1;
        req.topics = commit_topics(offsets);
        let (resp, _) = self.connection(id).await?.send(&req).await?;
        Ok(resp
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| {
                    let r = if p.error_code == 0 {
                        Ok(())
                    } else {
                        Err(ClientError::kafka(p.error_code, None, "OffsetCommit"))
                    };
                    ((t.name.to_string(), p.partition_index), r)
                })
            })
            .collect())
    }

    /// DeleteGroups, each at its coordinator.
    pub async fn delete_groups(&mut self, groups: &[String]) -> Result<Vec<(String, Result<()>)>> {
        let mut out = Vec::new();
        for group in groups {
            let id = self.coordinator_for(group).await?;
            let mut req = DeleteGroupsRequest::default();
            req.groups_names = vec![GroupId(s(group))];
            let (resp, _) = self.connection(id).await?.send(&req).await?;
            let code = resp.results.first().map_or(-1, |r| r.error_code);
            let r = if code == 0 {
                Ok(())
            } else {
                Err(ClientError::kafka(
                    code,
                    None,
                    format!("DeleteGroups '{group}'"),
                ))
            };
            out.push((group.clone(), r));
        }
        Ok(out)
    }

    /// OffsetDelete of `partitions` of `group`: the top-level error, then per partition.
    pub async fn delete_group_offsets(
        &mut self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<(i16, Vec<((String, i32), i16)>)> {
        let id = self.coordinator_for(group).await?;
        let mut by_topic: BTreeMap<&String, Vec<i32>> = BTreeMap::new();
        for (t, p) in partitions {
            by_topic.entry(t).or_default().push(*p);
        }
        let mut req = OffsetDeleteRequest::default();
        req.group_id = GroupId(s(group));
        req.topics = by_topic
            .iter()
            .map(|(t, ps)| {
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(s(t)))
                    .with_partitions(
                        ps.iter()
                            .map(|p| {
                                OffsetDeleteRequestPartition::default().with_partition_index(*p)
                            })
                            .collect(),
                    )
            })
            .collect();
        let (resp, _) = self.connection(id).await?.send(&req).await?;
        Ok((
            resp.error_code,
            resp.topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(move |p| ((t.name.to_string(), p.partition_index), p.error_code))
                })
                .collect(),
        ))
    }
}
