//! A small async Kafka client on kafka-protocol types, used by the Strata CLI tools.
//!
//! Owns: TCP connections to brokers (framing, correlation ids, ApiVersions negotiation),
//! cluster metadata and leader routing, typed helpers for the admin, produce, fetch and
//! list-offsets requests the tools need, record-batch encode/decode and Kafka's key partitioner.
//!
//! Must never: depend on any server-side Strata crate (it must behave like an external client),
//! panic on bytes that came from the network, or hide broker error codes (they are kept in
//! [`ClientError::Kafka`] together with the broker's message).

pub mod client;
pub mod connection;
pub mod coordinator;
pub mod error;
pub mod groups;
pub mod membership;
pub mod partitioner;
pub mod quorum;
pub mod records;
pub mod types;

pub use client::{Client, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, READ_COMMITTED, READ_UNCOMMITTED};
pub use connection::{Connection, MAX_RESPONSE_FRAME_BYTES};
pub use error::{ClientError, Result};
pub use kafka_protocol::records::Compression;
pub use quorum::{QuorumDescription, QuorumReplica, RaftEndpoint};
pub use records::{ConsumedRecord, ProduceRecord, ProducerIdentity, TimestampKind};
pub use types::*;
