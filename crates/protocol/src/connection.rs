//! One client connection: requests are read and answered strictly in order.
//!
//! Like Kafka's socket server, a connection processes one request at a time: pipelined
//! requests wait in the socket and read buffer, so responses come back in request order
//! without any reordering machinery, and a slow request (a long-poll fetch) only delays its
//! own connection.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use crate::dispatch::{Dispatcher, Outcome};
use crate::frame::{read_frame, FrameError};

/// Serves `stream` until the peer closes it or sends something that forces a close.
pub async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    listener: String,
    dispatcher: Arc<Dispatcher>,
) {
    let (read_half, write_half) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    let mut writer = BufWriter::new(write_half);
    let max = dispatcher.config().socket_request_max_bytes;
    loop {
        let frame = match read_frame(&mut reader, max).await {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(FrameError::Io(error)) => {
                // Resets and timeouts are how clients usually leave: not worth a warning.
                tracing::debug!(%peer, %listener, %error, "connection ended");
                return;
            }
            Err(error) => {
                tracing::warn!(%peer, %listener, %error, "closing connection: bad frame");
                return;
            }
        };
        // A Fetch may wait up to max.wait.ms: answers to the requests before it must not
        // sit in our buffer meanwhile.
        if is_fetch(&frame) && !writer.buffer().is_empty() {
            if let Err(error) = writer.flush().await {
                tracing::debug!(%peer, %error, "client went away before its response");
                return;
            }
        }
        match dispatcher.handle_from(frame, &listener, Some(peer)).await {
            Outcome::Respond(bytes) => {
                if let Err(error) = writer.write_all(&bytes).await {
                    tracing::debug!(%peer, %error, "client went away before its response");
                    return;
                }
            }
            Outcome::NoResponse => {}
            Outcome::Close(reason) => {
                tracing::warn!(%peer, %listener, %reason, "closing connection");
                let _ = writer.flush().await;
                return;
            }
        }
        // Flush once no further request is already buffered: pipelined requests get their
        // responses in one write, and nothing waits behind a read that may block.
        if reader.buffer().is_empty() {
            if let Err(error) = writer.flush().await {
                tracing::debug!(%peer, %error, "client went away before its response");
                return;
            }
        }
    }
}

/// Kafka's Fetch API key.
const FETCH_API_KEY: i16 = 1;

fn is_fetch(frame: &[u8]) -> bool {
    frame.len() >= 2 && i16::from_be_bytes([frame[0], frame[1]]) == FETCH_API_KEY
}
