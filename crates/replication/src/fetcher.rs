//! The follower side: one fetcher task per leader this broker follows. Each loops over
//! long-poll fetches carrying every partition it replicates from that leader, and hands the
//! answers to the broker. A task idles while it has nothing to fetch and wakes on the next
//! leadership change.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use strata_broker::{Broker, ReplicaFetchError, ReplicaFetchPartition};
use tonic::transport::{Channel, Endpoint};

use crate::codec::{partition_to_wire, result_from_wire};
use crate::proto::replication_client::ReplicationClient;
use crate::proto::ReplicaFetchRequest;
use crate::service::MAX_RPC_MESSAGE_BYTES;

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

/// The fetch loop for one leader. Runs as long as the broker does; idles without partitions.
async fn fetch_from(broker: Arc<Broker>, cluster_id: String, leader: i32) {
    let mut changes = broker.subscribe_leadership();
    let mut client: Option<(String, ReplicationClient<Channel>)> = None;
    let config = broker.config().clone();
    let mut failures = 0u32;
    loop {
        changes.borrow_and_update();
        let requests = broker.replica_fetch_requests(leader);
        let Some(address) = broker.inter_broker_address(leader) else {
            // Not registered (yet) with the inter-broker listener: look again shortly.
            wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS * 4)).await;
            continue;
        };
        if requests.is_empty() {
            wait_for_change(&mut changes, None).await;
            continue;
        }
        let rpc = match &client {
            Some((addr, c)) if *addr == address => c.clone(),
            _ => match connect(&address) {
                Ok(c) => {
                    client = Some((address.clone(), c.clone()));
                    c
                }
                Err(error) => {
                    tracing::warn!(leader, %address, %error, "bad leader address");
                    wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS)).await;
                    continue;
                }
            },
        };
        let request = ReplicaFetchRequest {
            cluster_id: cluster_id.clone(),
            replica_id: config.node_id,
            max_wait_ms: i32::try_from(config.replica_fetch_wait_max_ms).unwrap_or(i32::MAX),
            max_bytes: i32::try_from(config.replica_fetch_response_max_bytes).unwrap_or(i32::MAX),
            partition_max_bytes: i32::try_from(config.replica_fetch_max_bytes).unwrap_or(i32::MAX),
            partitions: requests.iter().map(partition_to_wire).collect(),
        };
        let timeout =
            Duration::from_millis(config.replica_fetch_wait_max_ms + FETCH_TIMEOUT_SLACK_MS);
        let response = tokio::time::timeout(timeout, rpc.clone().fetch(request)).await;
        match response {
            Ok(Ok(response)) => {
                failures = 0;
                let retry = apply(&broker, leader, &requests, response.into_inner());
                if retry {
                    wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS)).await;
                }
            }
            Ok(Err(status)) => {
                failures += 1;
                // The first failure of a run is worth a line; a dead leader's next ones until
                // the controller moves leadership are not.
                if failures == 1 {
                    tracing::warn!(leader, %address, code = ?status.code(), message = status.message(), "replica fetch failed");
                } else {
                    tracing::debug!(leader, %address, code = ?status.code(), "replica fetch failed again");
                }
                client = None;
                wait_for_change(&mut changes, Some(RETRY_BACKOFF_MS)).await;
            }
            Err(_) => {
                tracing::warn!(leader, %address, timeout_ms = timeout.as_millis(), "replica fetch timed out");
                client = None;
            }
        }
    }
}

/// Applies a response; returns whether some partition asks for a pause before the next
/// fetch (leader epochs out of step: the metadata is moving).
fn apply(
    broker: &Broker,
    leader: i32,
    requests: &[ReplicaFetchPartition],
    response: crate::proto::ReplicaFetchResponse,
) -> bool {
    let mut retry = false;
    let by_key: HashMap<(&str, i32), &ReplicaFetchPartition> = requests
        .iter()
        .map(|r| ((r.topic.as_str(), r.partition), r))
        .collect();
    for data in response.partitions {
        let Some(request) = by_key.get(&(data.topic.as_str(), data.partition)).copied() else {
            tracing::warn!(leader, topic = %data.topic, partition = data.partition, "leader answered for a partition not asked for");
            continue;
        };
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
    retry
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
