//! TCP listeners and the settings the protocol layer needs.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::dispatch::Dispatcher;

/// One advertised endpoint of this node: what clients are told to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerEndpoint {
    /// Listener name (e.g. `PLAINTEXT`).
    pub name: String,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: u16,
}

/// Settings of the protocol layer.
#[derive(Clone, Debug)]
pub struct ProtocolConfig {
    /// `node.id`.
    pub node_id: i32,
    /// The cluster id from `meta.properties`.
    pub cluster_id: String,
    /// `socket.request.max.bytes`.
    pub socket_request_max_bytes: usize,
    /// The node's static configuration, `(name, value, is_default, is_sensitive)`, for
    /// DescribeConfigs on the broker resource.
    pub broker_configs: Vec<(String, String, bool, bool)>,
    /// `delete.topic.enable`.
    pub delete_topic_enable: bool,
}

/// First byte of the HTTP/2 connection preface (`PRI * HTTP/2.0…`). A Kafka request starts
/// with its 4-byte size, whose first byte is 0 for any request below 16 MiB and never 'P'
/// for an acceptable one (that would be over 1.3 GB), so one byte tells the two apart.
const HTTP2_PREFACE_FIRST_BYTE: u8 = b'P';

/// Accepts connections on `listener` forever, one task per connection. With `grpc`, this is
/// the inter-broker listener: connections that open with the HTTP/2 preface (replication
/// RPCs from other brokers) are handed to it; the rest speak Kafka.
pub fn serve(
    listener_name: String,
    listener: TcpListener,
    dispatcher: Arc<Dispatcher>,
    grpc: Option<tokio::sync::mpsc::Sender<tokio::net::TcpStream>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    // Small responses (produce acks) must not wait for Nagle.
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
                    }
                    let dispatcher = dispatcher.clone();
                    let name = listener_name.clone();
                    let grpc = grpc.clone();
                    tokio::spawn(async move {
                        if let Some(grpc) = grpc {
                            let mut first = [0u8; 1];
                            match stream.peek(&mut first).await {
                                Ok(1) if first[0] == HTTP2_PREFACE_FIRST_BYTE => {
                                    if grpc.send(stream).await.is_err() {
                                        tracing::warn!(%peer, "replication service is down: dropping a gRPC connection");
                                    }
                                    return;
                                }
                                Ok(_) => {}
                                Err(error) => {
                                    tracing::debug!(%peer, %error, "connection failed before its first byte");
                                    return;
                                }
                            }
                        }
                        crate::connection::run(stream, peer, name, dispatcher).await
                    });
                }
                Err(error) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(listener = %listener_name, %error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    })
}
