//! Helpers for the integration tests: start real `strata` processes on free loopback ports
//! ([`StrataNode`]) and speak raw Kafka frames over TCP ([`wire`]) for bad-input tests.
//!
//! This crate owns only test scaffolding. It must never reach into the server's crates (the
//! tests drive the real binary as a black box, exactly like a Kafka client would) and it must
//! never talk to anything but 127.0.0.1.

pub mod error;
pub mod node;
pub mod wire;

pub use error::NodeError;
pub use node::{free_port, strata_bin, StrataNode};
