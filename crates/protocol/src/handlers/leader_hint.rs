//! KIP-951: a Produce or Fetch answered with NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH
//! names the partition's current leader, its epoch and endpoint, so the client moves to the
//! new leader at once instead of first refreshing its metadata.

use std::collections::BTreeSet;

use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::ResponseError;
use strata_metadata::MetadataImage;

/// Error codes whose answers carry the current leader.
pub(crate) fn wants_hint(error_code: i16) -> bool {
    error_code == ResponseError::NotLeaderOrFollower.code()
        || error_code == ResponseError::FencedLeaderEpoch.code()
}

/// `(leader id, leader epoch)` of a partition, when it has a leader.
pub(crate) fn current_leader(
    image: &MetadataImage,
    topic: &str,
    partition: i32,
) -> Option<(i32, i32)> {
    image
        .topic(topic)
        .and_then(|t| t.partitions.get(&partition))
        .filter(|p| p.leader >= 0)
        .map(|p| (p.leader, p.leader_epoch))
}

/// The endpoints (on the client's listener) of the leaders named in hints.
pub(crate) fn endpoints(
    image: &MetadataImage,
    listener: &str,
    leaders: &BTreeSet<i32>,
) -> Vec<MetadataResponseBroker> {
    super::metadata::brokers(image, listener)
        .into_iter()
        .filter(|b| leaders.contains(&b.node_id.0))
        .collect()
}
