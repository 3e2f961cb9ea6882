//! One handler per Kafka API; each turns a decoded request into a response.

pub mod admin;
pub mod api_versions;
pub mod cluster;
pub mod configs;
pub mod elections;
pub mod fetch;
pub mod groups;
mod leader_hint;
pub mod metadata;
pub mod offsets;
pub mod produce;
pub mod quorum;

use kafka_protocol::messages::{BrokerId, RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::dispatch::{Dispatcher, Outcome, RequestContext};

/// Runs the handler for `request`.
pub async fn handle(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    request: RequestKind,
) -> Outcome<ResponseKind> {
    let v = ctx.version();
    Outcome::Respond(match request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions::handle()),
        RequestKind::Metadata(req) => ResponseKind::Metadata(metadata::handle(d, ctx, req).await),
        RequestKind::Produce(req) => {
            return produce::handle(d, ctx, req, v)
                .await
                .map(ResponseKind::Produce)
        }
        RequestKind::Fetch(req) => ResponseKind::Fetch(fetch::handle(d, ctx, req, v).await),
        RequestKind::ListOffsets(req) => {
            ResponseKind::ListOffsets(offsets::list_offsets(d, req, v))
        }
        RequestKind::OffsetForLeaderEpoch(req) => {
            ResponseKind::OffsetForLeaderEpoch(offsets::offset_for_leader_epoch(d, req))
        }
        RequestKind::DeleteRecords(req) => {
            ResponseKind::DeleteRecords(offsets::delete_records(d, req))
        }
        RequestKind::InitProducerId(req) => {
            ResponseKind::InitProducerId(offsets::init_producer_id(d, req).await)
        }
        RequestKind::CreateTopics(req) => {
            ResponseKind::CreateTopics(admin::create_topics(d, req, v).await)
        }
        RequestKind::DeleteTopics(req) => {
            ResponseKind::DeleteTopics(admin::delete_topics(d, req, v).await)
        }
        RequestKind::CreatePartitions(req) => {
            ResponseKind::CreatePartitions(admin::create_partitions(d, req).await)
        }
        RequestKind::FindCoordinator(req) => {
            ResponseKind::FindCoordinator(groups::find_coordinator(d, ctx, req, v).await)
        }
        RequestKind::JoinGroup(req) => {
            ResponseKind::JoinGroup(groups::join_group(d, ctx, req, v).await)
        }
        RequestKind::SyncGroup(req) => ResponseKind::SyncGroup(groups::sync_group(d, req).await),
        RequestKind::Heartbeat(req) => ResponseKind::Heartbeat(groups::heartbeat(d, req)),
        RequestKind::LeaveGroup(req) => ResponseKind::LeaveGroup(groups::leave_group(d, req, v)),
        RequestKind::OffsetCommit(req) => {
            ResponseKind::OffsetCommit(groups::offset_commit(d, req).await)
        }
        RequestKind::OffsetFetch(req) => ResponseKind::OffsetFetch(groups::offset_fetch(d, req, v)),
        RequestKind::OffsetDelete(req) => {
            ResponseKind::OffsetDelete(groups::offset_delete(d, req).await)
        }
        RequestKind::ListGroups(req) => ResponseKind::ListGroups(groups::list_groups(d, req)),
        RequestKind::DescribeGroups(req) => {
            ResponseKind::DescribeGroups(groups::describe_groups(d, req))
        }
        RequestKind::DeleteGroups(req) => {
            ResponseKind::DeleteGroups(groups::delete_groups(d, req).await)
        }
        RequestKind::ElectLeaders(req) => {
            ResponseKind::ElectLeaders(elections::elect_leaders(d, req, v).await)
        }
        RequestKind::DescribeConfigs(req) => {
            ResponseKind::DescribeConfigs(configs::describe_configs(d, req))
        }
        RequestKind::AlterConfigs(req) => {
            ResponseKind::AlterConfigs(configs::alter_configs(d, req).await)
        }
        RequestKind::IncrementalAlterConfigs(req) => {
            ResponseKind::IncrementalAlterConfigs(configs::incremental_alter_configs(d, req).await)
        }
        RequestKind::DescribeCluster(req) => {
            ResponseKind::DescribeCluster(cluster::describe_cluster(d, ctx, req))
        }
        RequestKind::DescribeTopicPartitions(req) => {
            ResponseKind::DescribeTopicPartitions(cluster::describe_topic_partitions(d, req))
        }
        RequestKind::DescribeLogDirs(req) => {
            ResponseKind::DescribeLogDirs(cluster::describe_log_dirs(d, req))
        }
        RequestKind::DescribeQuorum(req) => {
            ResponseKind::DescribeQuorum(quorum::describe_quorum(d, req, v).await)
        }
        other => {
            // Unreachable: dispatch only decodes APIs listed in `versions`.
            tracing::error!(request = ?std::mem::discriminant(&other), "no handler for a supported API");
            return Outcome::Close("no handler for this API".to_string());
        }
    })
}

/// A topic name as the protocol type.
pub(crate) fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// A string as the protocol type.
pub(crate) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Broker ids as the protocol type.
pub(crate) fn broker_ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().copied().map(BrokerId).collect()
}
