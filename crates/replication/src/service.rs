//! The leader side: the `Replication` gRPC service, served on connections the inter-broker
//! listener hands over (it tells gRPC from Kafka requests by the HTTP/2 preface).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata_broker::Broker;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use crate::codec::{partition_from_wire, result_to_wire};
use crate::proto::replication_server::{Replication, ReplicationServer};
use crate::proto::{ReplicaFetchRequest, ReplicaFetchResponse};
use crate::session::LeaderSessions;

/// Longest long-poll a follower may ask for.
pub const MAX_REPLICA_FETCH_WAIT_MS: i32 = 5_000;
/// Largest request accepted (many partitions, no records) and response sent (records).
pub const MAX_RPC_MESSAGE_BYTES: usize = 128 * 1024 * 1024;
/// Upper bound on a response's records, whatever the follower asks.
pub const MAX_FETCH_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Answers follower fetches from this broker's logs.
pub struct ReplicationService {
    inner: Arc<Inner>,
}

/// What the service's calls share (behind an `Arc`, so a stream's answers can outlive the call
/// that opened it).
struct Inner {
    broker: Arc<Broker>,
    cluster_id: String,
    /// Fetch sessions (KIP-227), one per follower. Held only between awaits.
    sessions: Mutex<LeaderSessions>,
}

#[tonic::async_trait]
impl Replication for ReplicationService {
    async fn fetch(
        &self,
        request: Request<ReplicaFetchRequest>,
    ) -> Result<Response<ReplicaFetchResponse>, Status> {
        self.inner
            .serve(request.into_inner())
            .await
            .map(Response::new)
    }

    type FetchStreamStream = std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<ReplicaFetchResponse, Status>> + Send + 'static>,
    >;

    async fn fetch_stream(
        &self,
        request: Request<tonic::Streaming<ReplicaFetchRequest>>,
    ) -> Result<Response<Self::FetchStreamStream>, Status> {
        if !self.inner.broker.config().replica_fetch_stream {
            return Err(Status::unimplemented(
                "FetchStream is off on this broker (strata.replica.fetch.stream=false)",
            ));
        }
        let state = (Arc::clone(&self.inner), request.into_inner(), false);
        // One answer per request, in order; the first error ends the call.
        let answers =
            futures_util::stream::unfold(state, |(inner, mut requests, done)| async move {
                if done {
                    return None;
                }
                let answer = match requests.message().await {
                    Ok(Some(request)) => inner.serve(request).await,
                    Ok(None) => return None,
                    Err(status) => Err(status),
                };
                let done = answer.is_err();
                Some((answer, (inner, requests, done)))
            });
        Ok(Response::new(Box::pin(answers)))
    }
}

impl Inner {
    fn sessions(&self) -> std::sync::MutexGuard<'_, LeaderSessions> {
        // A panic while holding it cannot leave a session half-updated in a way that matters:
        // the worst is a follower's next fetch being refused and sent again in full.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One replica fetch, whichever call carried it.
    async fn serve(&self, request: ReplicaFetchRequest) -> Result<ReplicaFetchResponse, Status> {
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
        let replica = request.replica_id;
        let mut session = if request.session_id == 0 {
            self.sessions().open(replica, partitions)
        } else {
            let taken = self
                .sessions()
                .take(replica, request.session_id, request.session_epoch);
            match taken {
                Ok(mut session) => {
                    for key in &request.removed {
                        session.remove(&key.topic, key.partition);
                    }
                    for p in partitions {
                        session.upsert(p);
                    }
                    session
                }
                Err(error) => {
                    tracing::debug!(
                        from = replica,
                        session = request.session_id,
                        epoch = request.session_epoch,
                        ?error,
                        "replica fetch session refused: the follower starts over"
                    );
                    return Ok(ReplicaFetchResponse {
                        partitions: Vec::new(),
                        error_code: error.code(),
                        session_id: 0,
                    });
                }
            }
        };
        let wait_ms = request.max_wait_ms.clamp(0, MAX_REPLICA_FETCH_WAIT_MS);
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
        let max_bytes = usize::try_from(request.max_bytes.max(0))
            .unwrap_or(0)
            .min(MAX_FETCH_RESPONSE_BYTES);
        let partition_max_bytes = usize::try_from(request.partition_max_bytes.max(0))
            .unwrap_or(0)
            .min(max_bytes);
        let started = std::time::Instant::now();
        let (in_session, answered) = {
            let (partitions, requested, memo) = session.fetch_view();
            let results = self
                .broker
                .replica_fetch_in_session(
                    replica,
                    partitions,
                    requested,
                    memo,
                    wait,
                    partition_max_bytes,
                    max_bytes,
                )
                .await;
            let answered: Vec<_> = results
                .into_iter()
                .filter_map(|(i, r)| {
                    let p = partitions.get(i)?;
                    r.is_news_for(p).then(|| result_to_wire(p, r))
                })
                .collect();
            (partitions.len(), answered)
        };
        session.served();
        tracing::trace!(
            replica,
            session = session.id,
            sent = request.partitions.len(),
            in_session,
            answered = answered.len(),
            micros = started.elapsed().as_micros(),
            "served a replica fetch"
        );
        let session_id = session.id;
        // If the follower gave up on this fetch meanwhile (timeout), its next one carries the
        // same epoch and is refused: it then starts over with a full fetch.
        self.sessions()
            .put_back(replica, session, request.session_epoch);
        Ok(ReplicaFetchResponse {
            partitions: answered,
            error_code: 0,
            session_id,
        })
    }
}

/// Serves the replication service on the connections received from `connections` until the
/// sender is dropped.
pub fn serve_connections(
    broker: Arc<Broker>,
    cluster_id: String,
    connections: mpsc::Receiver<TcpStream>,
) -> tokio::task::JoinHandle<()> {
    let service = ReplicationServer::new(ReplicationService {
        inner: Arc::new(Inner {
            broker,
            cluster_id,
            sessions: Mutex::new(LeaderSessions::default()),
        }),
    })
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
