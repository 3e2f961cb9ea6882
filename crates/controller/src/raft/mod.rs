//! The Raft quorum that holds `__cluster_metadata`: openraft over sled (log and snapshots)
//! and tonic (RPCs). The metadata image is the state machine; it knows nothing of Raft.
//!
//! - [`types`]: the openraft type configuration and the log payload.
//! - [`log_store`]: Raft log, vote and commit index in sled.
//! - [`state_machine`]: applies committed batches to the [`strata_metadata::MetadataImage`] and
//!   publishes each new image; snapshots are the serialised image.
//! - [`network`]: the gRPC client side of Raft RPCs.
//! - [`service`]: the gRPC server side (Raft RPCs and forwarded controller requests).
//! - [`progress`]: when each voter last answered the leader and was last caught up
//!   (DescribeQuorum's timestamps).
//! - [`prompt_election`]: the named successor of a dead active controller campaigns as soon as
//!   the leader lease allows, not after a random timeout on top of it.

// openraft's StorageError and RPCError are large, and its traits fix them as our error types.
#![allow(clippy::result_large_err)]

pub mod log_store;
pub mod network;
pub mod progress;
pub mod prompt_election;
pub mod service;
pub mod state_machine;
pub mod types;

/// Generated gRPC code for `proto/controller.proto`.
pub mod proto {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("strata.controller.v1");
}
