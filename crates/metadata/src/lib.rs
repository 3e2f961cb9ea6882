//! Cluster metadata records, the in-memory metadata image they build, Kafka's topic-name and
//! config rules, and the requests brokers and admin handlers make of the controller.
//!
//! This crate owns the *meaning* of metadata: what records exist, how they change the image,
//! which topic names and config values are legal, and what may be asked of the controller (and
//! why it refuses). The Raft log that stores the records is the controller's. It must never know
//! the Kafka wire format (no kafka-protocol types or error codes: the protocol crate maps
//! [`error::MetadataError`]) and never decides anything: deciding which records to write is the
//! controller's job.

pub mod config;
pub mod controller_error;
pub mod error;
pub mod image;
pub mod records;
pub mod requests;
pub mod topic;

pub use config::{ConfigDef, ConfigKind, ConfigSource, ConfigValidator};
pub use controller_error::{ControllerError, WireError};
pub use error::MetadataError;
pub use image::{ImageSnapshot, MetadataImage, TopicImage};
pub use records::{
    BrokerRegistration, ConfigRecord, ConfigResourceType, Endpoint, MetadataRecord,
    PartitionChangeRecord, PartitionRecord, TopicRecord,
};
