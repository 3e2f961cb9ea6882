//! The client's error type, and Kafka's default messages for broker error codes.

/// Everything that can go wrong while talking to a Kafka-compatible broker.
///
/// [`ClientError::Kafka`] displays only the broker's message (or Kafka's default message for the
/// code), exactly like a Java `ApiException::getMessage`, because the tools print it verbatim.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The bootstrap string could not be parsed into `host:port` entries.
    #[error("invalid bootstrap server list {input:?}: {reason}")]
    InvalidBootstrap {
        /// The string given by the user.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// No TCP connection could be opened.
    #[error("could not connect to {addr}: {source}")]
    Connect {
        /// `host:port` we tried.
        addr: String,
        /// The underlying socket error.
        source: std::io::Error,
    },
    /// A read or write on an open connection failed.
    #[error("I/O error talking to {addr}: {source}")]
    Io {
        /// `host:port` of the broker.
        addr: String,
        /// The underlying socket error.
        source: std::io::Error,
    },
    /// The broker did not answer within the request timeout.
    #[error("timed out after {timeout_ms} ms waiting for {api} response from {addr}")]
    Timeout {
        /// `host:port` of the broker.
        addr: String,
        /// API name, e.g. `Metadata`.
        api: String,
        /// How long we waited.
        timeout_ms: u64,
    },
    /// A response frame announced a size outside `0..=MAX_RESPONSE_FRAME_BYTES`.
    #[error("response frame of {size} bytes from {addr} is outside the allowed 0..={limit} bytes")]
    FrameSize {
        /// `host:port` of the broker.
        addr: String,
        /// The announced size.
        size: i32,
        /// The limit in bytes.
        limit: usize,
    },
    /// A request could not be encoded (a bug or a value not representable in that version).
    #[error("could not encode {api} v{version} request: {message}")]
    Encode {
        /// API name.
        api: String,
        /// Request version.
        version: i16,
        /// Encoder message.
        message: String,
    },
    /// A response could not be decoded.
    #[error("could not decode {api} v{version} response from {addr}: {message}")]
    Decode {
        /// `host:port` of the broker.
        addr: String,
        /// API name.
        api: String,
        /// Response version.
        version: i16,
        /// Decoder message.
        message: String,
    },
    /// The response's correlation id does not match the request's.
    #[error("correlation id mismatch from {addr}: sent {expected}, received {received}")]
    CorrelationMismatch {
        /// `host:port` of the broker.
        addr: String,
        /// Correlation id we sent.
        expected: i32,
        /// Correlation id we got back.
        received: i32,
    },
    /// The broker does not support any version of an API that we can speak.
    #[error("broker {addr} does not support {api} in versions {min}..={max} (broker range: {broker_range})")]
    UnsupportedApi {
        /// `host:port` of the broker.
        addr: String,
        /// API name.
        api: String,
        /// Our lowest version.
        min: i16,
        /// Our highest version.
        max: i16,
        /// What the broker announced, or `none`.
        broker_range: String,
    },
    /// The broker answered with a Kafka error code.
    #[error("{message}")]
    Kafka {
        /// Kafka error code (e.g. 36 = TOPIC_ALREADY_EXISTS).
        code: i16,
        /// The broker's error message, or Kafka's default message for the code.
        message: String,
        /// What we were doing, e.g. `CreateTopics topic 'x'`; not displayed.
        context: String,
    },
    /// Metadata does not name a reachable broker for the given id.
    #[error("broker id {0} is not in the cluster metadata")]
    UnknownBroker(i32),
    /// The partition has no leader (or is not in the metadata).
    #[error("no leader is known for partition {topic}-{partition}")]
    NoLeader {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// Record batches could not be encoded or decoded.
    #[error("record batch error for {topic}-{partition}: {message}")]
    Records {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// What failed.
        message: String,
    },
    /// The broker's response lacked an entry we asked for.
    #[error("{api} response from {addr} has no entry for {what}")]
    MissingInResponse {
        /// `host:port` of the broker.
        addr: String,
        /// API name.
        api: String,
        /// Which entry was missing.
        what: String,
    },
}

impl ClientError {
    /// Builds a [`ClientError::Kafka`] from a code and the broker's optional message.
    pub fn kafka(code: i16, message: Option<&str>, context: impl Into<String>) -> Self {
        let message = match message {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => default_error_message(code),
        };
        ClientError::Kafka {
            code,
            message,
            context: context.into(),
        }
    }

    /// The Kafka error code if this is a broker-reported error.
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            ClientError::Kafka { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True if the connection this error came from should be dropped and re-opened.
    pub fn is_connection_broken(&self) -> bool {
        matches!(
            self,
            ClientError::Io { .. }
                | ClientError::Timeout { .. }
                | ClientError::FrameSize { .. }
                | ClientError::Decode { .. }
                | ClientError::CorrelationMismatch { .. }
        )
    }

    /// True for errors that a metadata refresh and retry can fix (leader moves, topic creation).
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { code, .. } => is_retriable_code(*code),
            ClientError::NoLeader { .. } | ClientError::UnknownBroker(_) => true,
            other => other.is_connection_broken() || matches!(other, ClientError::Connect { .. }),
        }
    }
}

/// Kafka error codes the client refers to by name.
pub mod codes {
    /// OFFSET_OUT_OF_RANGE
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    /// UNKNOWN_TOPIC_OR_PARTITION
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    /// LEADER_NOT_AVAILABLE
    pub const LEADER_NOT_AVAILABLE: i16 = 5;
    /// NOT_LEADER_OR_FOLLOWER
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    /// REQUEST_TIMED_OUT
    pub const REQUEST_TIMED_OUT: i16 = 7;
    /// UNSUPPORTED_VERSION
    pub const UNSUPPORTED_VERSION: i16 = 35;
    /// TOPIC_ALREADY_EXISTS
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    /// NOT_CONTROLLER
    pub const NOT_CONTROLLER: i16 = 41;
    /// DUPLICATE_SEQUENCE_NUMBER
    pub const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
}

/// Retriable per Kafka's `Errors` table (the subset a simple client meets).
pub fn is_retriable_code(code: i16) -> bool {
    matches!(
        code,
        3 | 5 | 6 | 7 | 13 | 14 | 15 | 16 | 19 | 20 | 41 | 56 | 74 | 75 | 89 | 100
    )
}

/// Kafka's default exception message for an error code (Java `Errors.message()`), used when the
/// broker sends no message of its own.
pub fn default_error_message(code: i16) -> String {
    let text = match code {
        -1 => "The server experienced an unexpected error when processing the request.",
        1 => "The requested offset is not within the range of offsets maintained by the server.",
        2 => "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.",
        3 => "This server does not host this topic-partition.",
        4 => "The requested fetch size is invalid.",
        5 => "There is no leader for this topic-partition as we are in the middle of a leadership election.",
        6 => "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.",
        7 => "The request timed out.",
        8 => "The broker is not available.",
        10 => "The request included a message larger than the max message size the server will accept.",
        13 => "The server disconnected before a response was received.",
        14 => "The coordinator is loading and hence can't process requests.",
        15 => "The coordinator is not available.",
        16 => "This is not the correct coordinator.",
        22 => "Specified group generation id is not valid.",
        23 => "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.",
        24 => "The configured groupId is invalid.",
        25 => "The coordinator is not aware of this member.",
        26 => "The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).",
        27 => "The group is rebalancing, so a rejoin is needed.",
        68 => "The group is not empty.",
        69 => "The group id does not exist.",
        79 => "The group member needs to have a valid member id before actually entering a consumer group.",
        82 => "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.",
        86 => "The consumer group is actively subscribed to the topic",
        17 => "The request attempted to perform an operation on an invalid topic.",
        18 => "The request included message batch larger than the configured segment size on the server.",
        19 => "Messages are rejected since there are fewer in-sync replicas than required.",
        20 => "Messages are written to the log, but to fewer in-sync replicas than required.",
        21 => "Produce request specified an invalid value for required acks.",
        29 => "Topic authorization failed.",
        31 => "Cluster authorization failed.",
        32 => "The timestamp of the message is out of acceptable range.",
        35 => "The version of API is not supported.",
        36 => "Topic with this name already exists.",
        37 => "Number of partitions is below 1.",
        38 => "Replication factor is below 1 or larger than the number of available brokers.",
        39 => "Replica assignment is invalid.",
        40 => "Configuration is invalid.",
        41 => "This is not the correct controller for this cluster.",
        42 => "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.",
        44 => "Request parameters do not satisfy the configured policy.",
        45 => "The broker received an out of order sequence number.",
        46 => "The broker received a duplicate sequence number.",
        47 => "Producer attempted to produce with an old epoch.",
        59 => "This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception.",
        87 => "This record has failed the validation on broker and hence will be rejected.",
        100 => "This server does not host this topic ID.",
        _ => {
            return match kafka_protocol::error::ResponseError::try_from_code(code) {
                Some(e) => format!("{e} (Kafka error code {code})"),
                None => format!("Kafka error code {code}"),
            }
        }
    };
    text.to_string()
}

/// Result alias for client operations.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
