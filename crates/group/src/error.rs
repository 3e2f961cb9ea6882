//! Why a group request was refused; the protocol crate maps each variant to Kafka's code.

/// A group request's failure, named after Kafka's error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// INVALID_GROUP_ID: an empty group id.
    #[error("The configured groupId is invalid.")]
    InvalidGroupId,
    /// INVALID_SESSION_TIMEOUT: outside the broker's min/max session timeout.
    #[error("session timeout {timeout_ms} ms is outside [{min_ms}, {max_ms}] ms")]
    InvalidSessionTimeout {
        /// What the member asked for.
        timeout_ms: i32,
        /// `group.min.session.timeout.ms`.
        min_ms: u64,
        /// `group.max.session.timeout.ms`.
        max_ms: u64,
    },
    /// INCONSISTENT_GROUP_PROTOCOL: another protocol type, or no protocol in common.
    #[error("The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.")]
    InconsistentGroupProtocol,
    /// UNKNOWN_MEMBER_ID.
    #[error("The coordinator is not aware of this member.")]
    UnknownMemberId,
    /// MEMBER_ID_REQUIRED (KIP-394): rejoin with the member id in the response.
    #[error("The group member needs to have a valid member id before actually entering a consumer group.")]
    MemberIdRequired(String),
    /// ILLEGAL_GENERATION.
    #[error("Specified group generation id is not valid.")]
    IllegalGeneration,
    /// REBALANCE_IN_PROGRESS.
    #[error("The group is rebalancing, so a rejoin is needed.")]
    RebalanceInProgress,
    /// GROUP_ID_NOT_FOUND (DeleteGroups, OffsetDelete).
    #[error("The group id does not exist.")]
    GroupIdNotFound,
    /// NON_EMPTY_GROUP (DeleteGroups).
    #[error("The group is not empty.")]
    NonEmptyGroup,
    /// GROUP_SUBSCRIBED_TO_TOPIC (OffsetDelete of a topic the group still consumes).
    #[error("The consumer group is actively subscribed to the topic")]
    GroupSubscribedToTopic,
    /// COORDINATOR_NOT_AVAILABLE: the group is being unloaded or the wait was cut short.
    #[error("The coordinator is not available.")]
    CoordinatorNotAvailable,
    /// FENCED_INSTANCE_ID: another member took over this static member's instance id.
    #[error("The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.")]
    FencedInstanceId,
    /// GROUP_MAX_SIZE_REACHED.
    #[error("The consumer group has reached its max size.")]
    GroupMaxSizeReached,
}
