//! The Kafka wire protocol over TCP: framing, version negotiation and request dispatch.
//!
//! # Layout
//! - [`frame`]: size-prefixed frames with an upper bound (`socket.request.max.bytes`).
//! - [`connection`]: one client connection — read a request, answer it, in order.
//! - [`server`]: listeners and the per-node [`server::ProtocolConfig`].
//! - [`versions`]: the API versions this node really implements (ApiVersions).
//! - [`dispatch`]: decodes a request and hands it to its handler in [`handlers`].
//! - [`errors`]: broker, storage and controller errors as Kafka error codes.
//! - [`offsets_log`]: committed offsets as `__consumer_offsets` records, and their loading.
//! - [`records`]: the records inside a produced batch (bounded decompression), for checks such
//!   as compacted topics' keys.
//!
//! This crate translates; it must never hold partition or metadata state itself (group
//! state lives in `strata-group`, offsets in the `__consumer_offsets` log).

pub mod connection;
pub mod dispatch;
pub mod errors;
pub mod frame;
pub mod handlers;
pub mod offsets_log;
pub mod records;
pub mod server;
pub mod versions;

pub use server::{serve, ListenerEndpoint, ProtocolConfig};
