//! Consumer groups with Kafka's classic protocol: group membership (join, sync, heartbeat,
//! leave, session expiry, rebalances with generations), committed offsets, and which
//! `__consumer_offsets` partition owns a group.
//!
//! Owns: the group state machine ([`group`]), the coordinator that parks JoinGroup and
//! SyncGroup requests until a rebalance completes ([`coordinator`]), and Kafka's
//! group-to-partition mapping ([`partition_for`]).
//!
//! Must never: know the Kafka request/response wire format (the protocol crate translates
//! requests into calls here; only the consumers' embedded subscription metadata is decoded
//! here, with kafka-protocol), or block a caller past the deadline the protocol gives it (every wait is bounded by
//! a rebalance or session timeout).

pub mod coordinator;
pub mod error;
pub mod group;

pub use coordinator::{GroupConfig, GroupCoordinator};
pub use error::GroupError;
pub use group::{
    CommittedOffset, GroupDescription, GroupState, JoinRequest, JoinResponse, MemberDescription,
    SyncResponse,
};

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// `offsets.topic.num.partitions` default.
pub const DEFAULT_OFFSETS_TOPIC_PARTITIONS: i32 = 50;

/// The `__consumer_offsets` partition that owns `group_id`: Kafka's
/// `Utils.abs(groupId.hashCode()) % partitions`, with Java's `String.hashCode` over UTF-16
/// code units, so a group lands on the same partition (and coordinator) as in Kafka.
pub fn partition_for(group_id: &str, partitions: i32) -> i32 {
    let mut hash: i32 = 0;
    for unit in group_id.encode_utf16() {
        hash = hash.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    // Kafka's Utils.abs maps i32::MIN to 0 instead of overflowing.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_match_kafka() {
        // "group1".hashCode() = -1237460590 in Java; abs % 50 = 40.
        assert_eq!(partition_for("group1", 50), 40);
        // "".hashCode() = 0.
        assert_eq!(partition_for("", 50), 0);
        // "my-group".hashCode() = -1906497762; abs % 50 = 12.
        assert_eq!(partition_for("my-group", 50), 12);
    }
}
