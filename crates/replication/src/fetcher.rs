//! The follower side: one fetcher task per leader this broker follows. Each loops over
//! long-poll fetches over every partition it replicates from that leader, in a fetch session
//! (only partitions whose state changed are sent again), and hands the answers to the broker.
//! A task idles while it has nothing to fetch and wakes on the next leadership change.
//!
//! The fetches of one leader connection travel on one `FetchStream` call (a request message
//! out, its answer back, in turn): no HTTP/2 headers, trailers or per-call tasks per fetch.
//! A leader without that call (`Unimplemented`: an older version) is fetched from one unary
//! `Fetch` call at a time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_broker::{Broker, ReplicaFetchError, ReplicaFetchPartition};
use tonic::transport::{Channel, Endpoint};

use crate::codec::{partition_to_wire, result_from_wire};
use crate::proto::replication_client::ReplicationClient;
use crate::proto::{PartitionKey, ReplicaFetchRequest, ReplicaFetchResponse};
use crate::service::MAX_RPC_MESSAGE_BYTES;
use crate::session::{FollowerSession, PartitionKey as Key};

/// How long connecting to a leader may take.
pub const CONNECT_TIMEOUT_MS: u64 = 500;
/// Pause after a failed fetch (leader down, refused), so a dead leader is not hammered while
/// the controller moves leadership.
pub const RETRY_BACKOFF_MS: u64 = 50;
/// Slack on top of the long-poll wait before a fetch counts as lost.
pub const FETCH_TIMEOUT_SLACK_MS: u64 = 5_000;

/// Starts the task that keeps one fetcher running per followed leader.
pub fn spawn_fetchers(broker: Arc<Broker>, cluster_id: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut changes = broker.subscribe_leadership();
        let mut running: HashMap<i32, tokio::task::JoinHandle<()>> = HashMap::new();
        loop {
            changes.borrow_and_update();
            running.retain(|_, task| !task.is_finished());
            for leader in broker.followed_leaders() {
                running.entry(leader).or_insert_with(|| {
                    tracing::debug!(leader, "starting a replica fetcher");
                    tokio::spawn(fetch_from(broker.clone(), cluster_id.clone(), leader))
                });
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
}

/// How often a follower re-reads the state of every partition it fetches for one leader
/// even when no leadership changed (a safety net: between such reads only the partitions
/// the leader answered for are re-read, as only those change on a follower).
pub const FULL_REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// The follower's picture of what it fetches from one leader.
#[derive(Default)]
struct View {
    /// Every partition it follows that leader for, as it would ask for it now.
    current: HashMap<Key, ReplicaFetchPartition>,
    /// Partitions re-read since the last fetch was answered.
    dirty: HashSet<Key>,
    /// Whether `current` was rebuilt whole since then (compare every partition).
    rebuilt: bool,
    refreshed_at: Option<Instant>,
}

impl View {
    fn rebuild(&mut self, broker: &Broker, leader: i32) {
        self.current = broker
            .replica_fetch_requests(leader)
            .into_iter()
            .map(|p| ((p.topic.clone(), p.partition), p))
            .collect();
        self.rebuilt = true;
        self.refreshed_at = Some(Instant::now());
    }

    /// Forces a rebuild before the next fetch: called after every wait on the leadership
    /// watch, since that wait consumes the change it woke for.
    fn invalidate(&mut self) {
        self.refreshed_at = None;
    }

    fn stale(&self) -> bool {
        self.refreshed_at
            .is_none_or(|at| at.elapsed() >= FULL_REFRESH_INTERVAL)
    }

    /// Re-reads the partitions the leader answered for.
    fn refresh(&mut self, broker: &Broker, leader: i32, keys: Vec<Key>) {
        for key in keys {
            match broker.replica_fetch_request(&key.0, key.1, leader) {
                Some(p) => {
                    self.current.insert(key.clone(), p);
                }
                None => {
                    self.current.remove(&key);
                }
            }
            self.dirty.insert(key);
        }
    }
}

/// The fetch loop for one leader. Runs as long as the broker does; idles without partitions.
async fn fetch_from(broker: Arc<Broker>, cluster_id: String, leader: i32) {
    let mut changes = broker.subscribe_leadership();
    let mut client: Option<LeaderConnection> = None;
    let config = broker.config().clone();
    let mut failures = 0u32;
    let mut session = FollowerSession::default();
    let mut view = View::default();
    loop {
        if changes.has_changed().unwrap_or(false) || view.stale() {
            changes.borrow_and_update();
            view.rebuild(&broker, leader);
        }
        let Some(address) = broker.inter_broker_address(leader) else {
            // Not registered (yet) with the inter-broker listener: look again shortly.
            wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS * 4)).await;
            view.invalidate();
            continue;
        };
        if view.current.is_empty() {
            // Nothing to fetch from this leader: its session is left to expire there, and
            // whether it can be reached is no longer this task's to say.
            session.reset();
            broker.reachability().reached(leader);
            wait_for_change(&mut changes, None).await;
            view.invalidate();
            continue;
        }
        let connection = match &mut client {
            Some(c) if c.address == address => c,
            _ => match connect(&address) {
                Ok(rpc) => client.insert(LeaderConnection {
                    address: address.clone(),
                    rpc,
                    stream: None,
                    unary: !config.replica_fetch_stream,
                }),
                Err(error) => {
                    tracing::warn!(leader, %address, %error, "bad leader address");
                    wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS)).await;
                    view.invalidate();
                    continue;
                }
            },
        };
        let plan = session.plan(&view.current, &view.dirty, view.rebuilt);
        let request = ReplicaFetchRequest {
            cluster_id: cluster_id.clone(),
            replica_id: config.node_id,
            max_wait_ms: i32::try_from(config.replica_fetch_wait_max_ms).unwrap_or(i32::MAX),
            max_bytes: i32::try_from(config.replica_fetch_response_max_bytes).unwrap_or(i32::MAX),
            partition_max_bytes: i32::try_from(config.replica_fetch_max_bytes).unwrap_or(i32::MAX),
            partitions: plan.partitions.iter().map(partition_to_wire).collect(),
            session_id: plan.session_id,
            session_epoch: plan.session_epoch,
            removed: plan
                .removed
                .iter()
                .map(|(topic, partition)| PartitionKey {
                    topic: topic.clone(),
                    partition: *partition,
                })
                .collect(),
        };
        let timeout =
            Duration::from_millis(config.replica_fetch_wait_max_ms + FETCH_TIMEOUT_SLACK_MS);
        let response = tokio::time::timeout(timeout, connection.fetch(leader, request)).await;
        match response {
            Ok(Ok(response)) => {
                failures = 0;
                broker.reachability().reached(leader);
                if response.error_code != 0 {
                    // The leader lost or refused the session: start over with a full fetch.
                    tracing::debug!(
                        leader,
                        code = response.error_code,
                        "replica fetch session refused; fetching in full"
                    );
                    session.reset();
                    continue;
                }
                session.answered(&plan, response.session_id);
                view.dirty.clear();
                view.rebuilt = false;
                let (retry, answered) = apply(&broker, leader, &view.current, response);
                view.refresh(&broker, leader, answered);
                if retry {
                    wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS)).await;
                    view.rebuild(&broker, leader);
                }
            }
            Ok(Err(status)) => {
                failures += 1;
                if leader_unreachable(&status) {
                    broker.reachability().lost(leader);
                }
                // The first failure of a run is worth a line; a dead leader's next ones until
                // the controller moves leadership are not.
                if failures == 1 {
                    tracing::warn!(leader, %address, code = ?status.code(), message = status.message(), "replica fetch failed");
                } else {
                    tracing::debug!(leader, %address, code = ?status.code(), "replica fetch failed again");
                }
                client = None;
                session.reset();
                wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS)).await;
                view.rebuild(&broker, leader);
            }
            Err(_) => {
                tracing::warn!(leader, %address, timeout_ms = timeout.as_millis(), "replica fetch timed out");
                broker.reachability().lost(leader);
                client = None;
                session.reset();
                view.rebuild(&broker, leader);
            }
        }
    }
}

/// The follower's connection to one leader, and how its fetches travel on it. Dropped whole
/// after any failure, with the stream open on it.
struct LeaderConnection {
    /// The leader's inter-broker address the connection was made for.
    address: String,
    rpc: ReplicationClient<Channel>,
    /// The open `FetchStream` call, if any: each request sent on it is answered, in order, by
    /// one message.
    stream: Option<FetchStream>,
    /// Unary `Fetch` calls instead: the leader answered FetchStream with `Unimplemented`, or
    /// `strata.replica.fetch.stream` is false.
    unary: bool,
}

/// An open `FetchStream` call.
struct FetchStream {
    requests: tokio::sync::mpsc::Sender<ReplicaFetchRequest>,
    answers: tonic::Streaming<ReplicaFetchResponse>,
}

impl LeaderConnection {
    /// One fetch: on the open stream (opened first when there is none), or as a unary call.
    /// The stream is taken out while the fetch runs, so a fetch that fails, or is abandoned on
    /// its timeout, closes it; the next one opens a new one.
    async fn fetch(
        &mut self,
        leader: i32,
        request: ReplicaFetchRequest,
    ) -> Result<ReplicaFetchResponse, tonic::Status> {
        if self.unary {
            return self.fetch_unary(request).await;
        }
        let mut open = match self.stream.take() {
            Some(open) => open,
            None => match self.open_stream().await {
                Ok(open) => open,
                // A leader that predates FetchStream (a rolling upgrade): one call per fetch,
                // for as long as this connection lasts.
                Err(status) if status.code() == tonic::Code::Unimplemented => {
                    tracing::info!(
                        leader,
                        "the leader has no FetchStream; fetching one call at a time"
                    );
                    self.unary = true;
                    return self.fetch_unary(request).await;
                }
                Err(status) => return Err(status),
            },
        };
        if open.requests.send(request).await.is_err() {
            return Err(tonic::Status::unavailable(
                "the replica fetch stream is closed",
            ));
        }
        let answer = open.answers.message().await?.ok_or_else(|| {
            tonic::Status::unavailable("the leader ended the replica fetch stream")
        })?;
        self.stream = Some(open);
        Ok(answer)
    }

    async fn fetch_unary(
        &mut self,
        request: ReplicaFetchRequest,
    ) -> Result<ReplicaFetchResponse, tonic::Status> {
        self.rpc
            .fetch(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// Opens a `FetchStream` call (one round trip, for its response headers).
    async fn open_stream(&mut self) -> Result<FetchStream, tonic::Status> {
        let (requests, outgoing) = tokio::sync::mpsc::channel(1);
        let answers = self
            .rpc
            .fetch_stream(tokio_stream::wrappers::ReceiverStream::new(outgoing))
            .await?
            .into_inner();
        Ok(FetchStream { requests, answers })
    }
}

/// Applies a response; returns whether some partition asks for a pause before the next
/// fetch (leader epochs out of step: the metadata is moving), and the partitions answered
/// (the only ones whose follower-side state may have changed).
fn apply(
    broker: &Broker,
    leader: i32,
    requests: &HashMap<Key, ReplicaFetchPartition>,
    response: crate::proto::ReplicaFetchResponse,
) -> (bool, Vec<Key>) {
    let mut retry = false;
    let mut answered = Vec::with_capacity(response.partitions.len());
    for data in response.partitions {
        let key = (data.topic.clone(), data.partition);
        let Some(request) = requests.get(&key) else {
            tracing::warn!(leader, topic = %data.topic, partition = data.partition, "leader answered for a partition not asked for");
            continue;
        };
        answered.push(key);
        let result = result_from_wire(data);
        match &result.error {
            Some(
                ReplicaFetchError::FencedLeaderEpoch
                | ReplicaFetchError::UnknownLeaderEpoch
                | ReplicaFetchError::NotLeader
                | ReplicaFetchError::UnknownTopicOrPartition,
            ) => {
                tracing::debug!(leader, topic = %request.topic, partition = request.partition, error = ?result.error, "leader refused the fetch");
                retry = true;
                continue;
            }
            Some(ReplicaFetchError::Storage(message)) => {
                tracing::warn!(leader, topic = %request.topic, partition = request.partition, %message, "leader failed to read");
                retry = true;
                continue;
            }
            Some(ReplicaFetchError::OffsetOutOfRange) | None => {}
        }
        if let Err(error) = broker.apply_replica_fetch(request, result) {
            tracing::error!(leader, topic = %request.topic, partition = request.partition, %error, "cannot apply replicated batches");
            retry = true;
        }
    }
    (retry, answered)
}

/// Whether a failed fetch means the leader could not be reached (refused, reset, gone) rather
/// than that it answered with a refusal of its own (another cluster, a bad request).
fn leader_unreachable(status: &tonic::Status) -> bool {
    !matches!(
        status.code(),
        tonic::Code::PermissionDenied | tonic::Code::InvalidArgument
    )
}

/// Waits for the next leadership change, or at most `timeout_ms` when given.
async fn wait_for_change(changes: &mut tokio::sync::watch::Receiver<u64>, timeout_ms: Option<u64>) {
    match timeout_ms {
        Some(ms) => {
            let _ = tokio::time::timeout(Duration::from_millis(ms), changes.changed()).await;
        }
        None => {
            if changes.changed().await.is_err() {
                // The broker is gone: nothing will change any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

fn connect(address: &str) -> Result<ReplicationClient<Channel>, tonic::transport::Error> {
    let channel = Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .tcp_nodelay(true)
        .connect_lazy();
    Ok(ReplicationClient::new(channel)
        .max_decoding_message_size(MAX_RPC_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_RPC_MESSAGE_BYTES))
}
