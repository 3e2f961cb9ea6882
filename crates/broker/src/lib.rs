//! The broker: partitions on top of `strata-storage`.
//!
//! # Layout
//! - [`acks`]: how many replicas must hold a write before it is answered ([`Acks`]).
//! - [`config`]: the broker's settings (limits and defaults taken from `server.properties`).
//! - [`partition`]: one partition replica — its log, high watermark and leader epoch.
//! - [`broker`]: the [`Broker`] that owns all partitions, follows metadata images, and
//!   implements produce, fetch (with long polls), list offsets, delete records and producer ids.
//! - [`controller_client`]: the broker's narrow view of the controller ([`ControllerClient`]):
//!   metadata images, ISR changes, auto-created topics, producer ids.
//! - [`log_config`]: how topic configs and broker defaults combine into a [`strata_storage::LogConfig`].
//! - [`background`]: retention, flush and checkpoint tasks.
//! - [`reachability`]: leaders this broker's replica fetchers could not reach (Metadata waits
//!   briefly for their replacements) and brokers fenced a moment ago (still listed).
//! - [`error`]: the broker's error type, [`BrokerError`].
//!
//! The broker must never depend on the controller's implementation (Raft, storage, RPCs): it
//! sees it only through [`ControllerClient`]. It must never know the Kafka wire format: it takes and returns plain Rust values and
//! record-batch bytes; the protocol crate translates.

pub mod acks;
pub mod background;
pub mod broker;
pub mod config;
pub mod controller_client;
pub mod error;
pub mod log_config;
pub mod partition;
pub mod reachability;
pub mod replication;

pub use acks::Acks;
pub use broker::{Broker, FetchPartition, FetchedPartition, ListOffsetResult};
pub use config::BrokerConfig;
pub use controller_client::{BoxFuture, ControllerClient};
pub use error::BrokerError;
pub use partition::Partition;
pub use replication::{ReplicaFetchError, ReplicaFetchPartition, ReplicaFetchResult, SessionMemo};
