//! Errors raised while starting or stopping a strata process.

use std::path::PathBuf;

/// What went wrong while managing a `strata` process for a test.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The binary is missing: build it first (`cargo build --bins`) or set `STRATA_BIN`.
    #[error(
        "strata binary not found at {path} (build it with `cargo build --bins` or set STRATA_BIN)"
    )]
    BinaryNotFound {
        /// Where the binary was looked for.
        path: PathBuf,
    },
    /// An I/O operation (spawn, temp dir, log file, bind) failed.
    #[error("{what}: {source}")]
    Io {
        /// The operation that failed, with its input.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The process exited before it became ready.
    #[error("strata exited with {status} before becoming ready; its output:\n{output}")]
    ExitedEarly {
        /// The exit status.
        status: std::process::ExitStatus,
        /// Everything it printed.
        output: String,
    },
    /// The process did not print its ready line and accept connections in time.
    #[error("strata did not become ready on 127.0.0.1:{port} within {waited_ms} ms; its output:\n{output}")]
    NotReady {
        /// The listener port it was told to use.
        port: u16,
        /// How long we waited.
        waited_ms: u128,
        /// Everything it printed.
        output: String,
    },
}

impl NodeError {
    /// Wraps an I/O error with a description of the operation.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        NodeError::Io {
            what: what.into(),
            source,
        }
    }
}
