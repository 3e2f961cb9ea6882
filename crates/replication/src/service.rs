//! The leader side: the `Replication` gRPC service, served on connections the inter-broker
//! listener hands over (it tells gRPC from Kafka requests by the HTTP/2 preface).

use std::sync::Arc;
use std::time::Duration;

use strata_broker::Broker;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use crate::codec::{partition_from_wire, result_to_wire};
use crate::proto::replication_server::{Replication, ReplicationServer};
use crate::proto::{ReplicaFetchRequest, ReplicaFetchResponse};

/// Longest long-poll a follower may ask for.
pub const MAX_REPLICA_FETCH_WAIT_MS: i32 = 5_000;
/// Largest request accepted (many partitions, no records) and response sent (records).
pub const MAX_RPC_MESSAGE_BYTES: usize = 128 * 1024 * 1024;
/// Upper bound on a response's records, whatever the follower asks.
pub const MAX_FETCH_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Answers follower fetches from this broker's logs.
pub struct ReplicationService {
    broker: Arc<Broker>,
    cluster_id: String,
}

#[tonic::async_trait]
impl Replication for ReplicationService {
    async fn fetch(
        &self,
        request: Request<ReplicaFetchRequest>,
    ) -> Result<Response<ReplicaFetchResponse>, Status> {
        let request = request.into_inner();
        if request.cluster_id != self.cluster_id {
            tracing::warn!(from = request.replica_id, their_cluster = %request.cluster_id, "refusing a replica fetch from a broker of another cluster");
            return Err(Status::permission_denied(format!(
                "this broker belongs to cluster {}, not {}",
                self.cluster_id, request.cluster_id
            )));
        }
        let mut partitions = Vec::with_capacity(request.partitions.len());
        for p in &request.partitions {
            partitions.push(partition_from_wire(p).map_err(|e| {
                tracing::warn!(from = request.replica_id, error = %e, "refusing a garbled replica fetch");
                Status::invalid_argument(e.to_string())
            })?);
        }
        let wait_ms = request.max_wait_ms.clamp(0, MAX_REPLICA_FETCH_WAIT_MS);
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
        let max_bytes = usize::try_from(request.max_bytes.max(0))
            .unwrap_or(0)
            .min(MAX_FETCH_RESPONSE_BYTES);
        let partition_max_bytes = usize::try_from(request.partition_max_bytes.max(0))
            .unwrap_or(0)
            .min(max_bytes);
        let started = std::time::Instant::now();
        let results = self
            .broker
            .replica_fetch(
                request.replica_id,
                &partitions,
                wait,
                partition_max_bytes,
                max_bytes,
            )
            .await;
        let partitions = partitions
            .iter()
            .zip(results)
            .filter(|(p, r)| r.is_news_for(p))
            .map(|(p, r)| result_to_wire(p, r))
            .collect();
        let partitions: Vec<_> = partitions;
        tracing::trace!(
            replica = request.replica_id,
            asked = request.partitions.len(),
            answered = partitions.len(),
            micros = started.elapsed().as_micros(),
            "served a replica fetch"
        );
        Ok(Response::new(ReplicaFetchResponse { partitions }))
    }
}

/// Serves the replication service on the connections received from `connections` until the
/// sender is dropped.
pub fn serve_connections(
    broker: Arc<Broker>,
    cluster_id: String,
    connections: mpsc::Receiver<TcpStream>,
) -> tokio::task::JoinHandle<()> {
    let service = ReplicationServer::new(ReplicationService { broker, cluster_id })
        .max_decoding_message_size(MAX_RPC_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_RPC_MESSAGE_BYTES);
    let incoming = tokio_stream::wrappers::ReceiverStream::new(connections)
        .map(Ok::<TcpStream, std::io::Error>);
    tokio::spawn(async move {
        if let Err(error) = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await
        {
            tracing::error!(%error, "the replication service stopped");
        }
    })
}
