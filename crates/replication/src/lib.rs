//! Leader→follower replication over gRPC (`proto/replication.proto`): the service a leader
//! answers follower fetches with, and the fetchers a follower runs, one per leader it
//! follows, each a loop of long-poll fetches over all of that leader's partitions (on one
//! long-lived stream per leader connection), in fetch sessions (KIP-227) so that only what
//! changed travels.
//!
//! This crate only carries bytes: every replication decision (high watermark, ISR, divergence,
//! truncation) is the broker's (`strata_broker::replication`). It must never interpret or
//! re-encode record batches: they travel as the leader stored them.

pub mod codec;
pub mod fetcher;
pub mod service;
pub mod session;

/// Generated gRPC code for `proto/replication.proto`.
pub mod proto {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("strata.replication.v1");
}

pub use fetcher::spawn_fetchers;
pub use service::serve_connections;
