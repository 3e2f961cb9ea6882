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

/// Accepts connections on `listener` forever, one task per connection.
pub fn serve(
    listener_name: String,
    listener: TcpListener,
    dispatcher: Arc<Dispatcher>,
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
                    tokio::spawn(crate::connection::run(stream, peer, name, dispatcher));
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
