//! Kafka's command-line tools for Strata: `kafka-topics`, `kafka-console-producer`,
//! `kafka-console-consumer`, `kafka-metadata-quorum` and `kafka-leader-election`, with Apache Kafka 3.9's flags,
//! messages and output formats; plus Strata's own `healthcheck` probe (containers).
//!
//! Owns: argument parsing (joptsimple syntax; argparse4j for `kafka-metadata-quorum`), Kafka's
//! output formats (topic describe lines, `DefaultMessageFormatter`, `LineMessageReader`, the
//! metadata-quorum status block and replication table), and the tool flows on top of `strata-client`.
//!
//! Must never: talk to Strata internals (only the Kafka protocol via `strata-client`), call
//! `process::exit` (entry points return the exit code so the `strata` binary decides), or
//! print anything Kafka's tools would not print on stdout (scripts parse it).

pub mod args;
pub mod consumer;
pub mod describe;
pub mod formatter;
pub mod groups_tool;
pub mod healthcheck;
pub mod interrupt;
pub mod leader_election;
pub mod line_reader;
pub mod metadata_quorum;
pub mod producer;
pub mod props;
pub mod quorum_output;
pub mod topics;

pub use consumer::kafka_console_consumer;
pub use groups_tool::kafka_consumer_groups;
pub use healthcheck::healthcheck;
pub use leader_election::kafka_leader_election;
pub use metadata_quorum::kafka_metadata_quorum;
pub use producer::kafka_console_producer;
pub use topics::kafka_topics;

/// The Apache Kafka version whose tool behaviour we reproduce (printed by `--version`).
pub const KAFKA_COMPAT_VERSION: &str = "3.9.0";

/// A fresh multi-threaded tokio runtime for one tool invocation.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the async runtime: {e}"))
}
