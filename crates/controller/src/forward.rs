//! The forwarded request/response contract: what any node may ask the active controller
//! (over gRPC when it is elsewhere) and what it answers. Errors travel as [`WireError`].

use super::*;

/// An intent, as executed by the active controller (and forwarded to it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// Register (or re-register) a broker.
    RegisterBroker(BrokerRegistration),
    /// A partition leader changes the ISR.
    AlterPartition(AlterPartitionRequest),
    /// Create topics.
    CreateTopics {
        /// The topics.
        topics: Vec<CreateTopicSpec>,
        /// Check only.
        validate_only: bool,
    },
    /// Delete topics.
    DeleteTopics(Vec<TopicRef>),
    /// Add partitions.
    CreatePartitions {
        /// The requests.
        reqs: Vec<CreatePartitionsSpec>,
        /// Check only.
        validate_only: bool,
    },
    /// Change configs of one resource.
    AlterConfigs {
        /// Resource kind.
        resource_type: ConfigResourceType,
        /// Resource name.
        resource_name: String,
        /// Operations.
        ops: Vec<ConfigOp>,
        /// Incremental or replace-all.
        incremental: bool,
        /// Check only.
        validate_only: bool,
    },
    /// A block of producer ids for a broker.
    AllocateProducerIds {
        /// The broker.
        broker_id: i32,
    },
    /// A broker is alive (sent every `broker.heartbeat.interval.ms`).
    BrokerHeartbeat {
        /// The broker.
        broker_id: i32,
        /// The registering process.
        incarnation_id: uuid::Uuid,
        /// Offset of the newest metadata record the broker has applied: it is unfenced once
        /// this reaches its registration (it has caught up with the metadata log).
        #[serde(default)]
        metadata_offset: i64,
    },
    /// Fence a broker whose session expired (the controller's own liveness task).
    FenceBroker {
        /// The broker.
        broker_id: i32,
    },
    /// The quorum's state as the active controller sees it (DescribeQuorum).
    DescribeQuorum,
    /// A broker is shutting down cleanly: move its leaderships away now.
    ControlledShutdown {
        /// The broker.
        broker_id: i32,
        /// The process shutting down.
        incarnation_id: uuid::Uuid,
    },
    /// A broker-only node follows the metadata log: the voter's image if it is newer than
    /// `known_offset`. Answered by any voter from memory (no Raft round trip).
    FetchImage {
        /// Offset of the image the asking node already has (-1 for none).
        known_offset: i64,
    },
    /// The leader balancer (`auto.leader.rebalance.enable`): preferred replicas that are live
    /// and in sync take their leaderships back.
    RebalanceLeaders,
    /// ElectLeaders: preferred or unclean elections for some partitions (`None`: all).
    ElectLeaders {
        /// Preferred or unclean.
        election: ElectionType,
        /// The partitions; `None` for every partition of every topic.
        targets: Option<Vec<ElectionTarget>>,
    },
}

/// The answer to a [`ControllerRequest`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ControllerResponse {
    /// Single-result requests (register broker, alter configs).
    Unit(Result<(), WireError>),
    /// CreateTopics results in request order.
    CreateTopics(Vec<Result<CreatedTopic, WireError>>),
    /// DeleteTopics results in request order.
    DeleteTopics(Vec<Result<(String, uuid::Uuid), WireError>>),
    /// CreatePartitions results in request order.
    CreatePartitions(Vec<Result<(), WireError>>),
    /// A producer-id block `[start, end)`.
    ProducerIds(Result<(i64, i64), WireError>),
    /// DescribeQuorum.
    Quorum(QuorumInfo),
    /// FetchImage: the answering voter's image when newer than the asker's, and who it
    /// believes is the active controller.
    Image {
        /// The image, `None` when it is not newer than `known_offset`.
        image: Option<Box<ImageSnapshot>>,
        /// The active controller as the answering voter knows it.
        leader_id: Option<i32>,
    },
    /// ElectLeaders: one result per partition (see [`elections::elect_leaders`]).
    ElectLeaders(Vec<(ElectionTarget, Result<(), WireError>)>),
    /// The whole request failed (no active controller, storage).
    Failed(WireError),
}
