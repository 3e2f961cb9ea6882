//! The controller: validates admin intents, places replicas, and commits metadata records
//! through the Raft quorum that holds `__cluster_metadata`.
//!
//! Callers state intents (create topics, alter configs, register a broker, …). On the active
//! controller (the Raft leader) [`decide`] turns them into records against the latest image
//! and the records are committed as one Raft entry; every node applies committed entries to
//! its [`MetadataImage`] and publishes it on a watch channel. On any other node the intent is
//! forwarded to the active controller over gRPC, so callers never care who leads.
//!
//! A broker-only node (`process.roles=broker`) runs no Raft: [`Controller::open_remote`] gives it
//! the same API, with requests sent to the voters over gRPC and the image followed by polling
//! them ([`ControllerRequest::FetchImage`]).
//!
//! It must never know the Kafka wire format (errors are [`ControllerError`]; the protocol
//! crate maps them to Kafka error codes) and never touches partition data.
//!
//! # Layout
//! - this file: the [`Controller`] handle — opening the Raft store, the public API, and sending
//!   each request to wherever the active controller is.
//! - [`requests`]: the controller's settings, and the request types it accepts (defined in
//!   `strata_metadata::requests` so brokers need not depend on this crate).
//! - `forward`: the forwarded request/response contract ([`ControllerRequest`],
//!   [`ControllerResponse`]).
//! - `handlers`: executing a request on the active controller: decide, commit, answer.
//! - [`decide`]: admin intents turned into metadata records; [`placement`]: replica placement;
//!   [`elections`]: leader elections, ISR changes and fencing as records.
//! - `liveness`: broker heartbeats, controlled shutdown, session expiry and fencing.
//! - `quorum`: DescribeQuorum ([`QuorumInfo`]).
//! - `remote`: the backend of a broker-only node (requests to the voters, image polling).
//! - [`raft`]: openraft over sled and tonic.
//! - [`error`]: [`ControllerError`] (defined in `strata_metadata`).

pub mod decide;
pub mod elections;
pub use strata_metadata::controller_error as error;
mod forward;
mod handlers;
mod liveness;
pub mod placement;
mod quorum;
pub mod raft;
mod remote;
pub mod requests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::BasicNode;
use serde::{Deserialize, Serialize};
use strata_metadata::config::ConfigSource;
use strata_metadata::{
    BrokerRegistration, ConfigDef, ConfigResourceType, ImageSnapshot, MetadataImage, MetadataRecord,
};
use tokio::sync::{watch, Mutex};
use tracing::info;

use crate::decide::{Decision, Entropy, RandomEntropy};
pub use crate::error::{ControllerError, WireError};
pub use crate::forward::{ControllerRequest, ControllerResponse};
use crate::liveness::{watch_broker_sessions, Liveness};
pub use crate::quorum::{QuorumInfo, ReplicaState};
use crate::raft::log_store::SledLogStore;
use crate::raft::network::{Caller, GrpcNetworkFactory};
use crate::raft::progress::ReplicationProgress;
use crate::raft::prompt_election::{self, LeaderContact};
use crate::raft::service::ControllerService;
use crate::raft::state_machine::MetadataStateMachine;
use crate::raft::types::{MetadataBatch, Raft};
use crate::remote::RemoteState;
pub use crate::requests::AlterPartitionRequest;
pub use crate::requests::{
    ConfigOp, ConfigOpKind, ControllerConfig, CreatePartitionsSpec, CreateTopicSpec, CreatedTopic,
    ElectionTarget, ElectionType, QuorumConfig, TopicRef,
};
use strata_clock::wall_clock_ms;

/// How long a request waits for an active controller (elections, forwarding) before it
/// fails with [`ControllerError::NotController`], which clients retry.
pub const CONTROLLER_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Pause between attempts while no controller is known.
const RETRY_BACKOFF_MS: u64 = 50;
/// How often a broker-only node asks the voters for a newer metadata image.
pub const IMAGE_POLL_INTERVAL_MS: u64 = 50;
/// How long one image poll (or one attempt at a voter) may take before the next voter is tried.
const REMOTE_ATTEMPT_TIMEOUT_MS: u64 = 1_000;
/// The topic (and broker) config that allows out-of-sync replicas to lead.
const UNCLEAN_CONFIG: &str = "unclean.leader.election.enable";
/// Floor of `leader.imbalance.check.interval.seconds` (tests set 1 s; nothing shorter makes
/// sense when an ISR takes a fetch round to grow).
const MIN_LEADER_IMBALANCE_CHECK_INTERVAL_MS: u64 = 100;
/// Subdirectory of the metadata log dir holding the Raft store.
pub const RAFT_DIR: &str = "__cluster_metadata-0";

/// Handle to this node's controller; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Controller {
    inner: Arc<Inner>,
}

struct Inner {
    config: ControllerConfig,
    backend: Backend,
    images: watch::Receiver<Arc<MetadataImage>>,
    /// Held for decide → commit so every decision sees the image of the previous one.
    entropy: Mutex<Box<dyn Entropy + Send>>,
    caller: Caller,
    liveness: std::sync::Mutex<Liveness>,
    /// When this voter last accepted AppendEntries, and from whom (for the prompt election).
    leader_contact: Arc<LeaderContact>,
    /// When each voter last answered this node as leader, and was last caught up
    /// (DescribeQuorum); empty on a broker-only node.
    progress: Arc<ReplicationProgress>,
}

/// Where the metadata quorum runs, seen from this node.
enum Backend {
    /// This node is a voter: it runs Raft and may be the active controller.
    Local(Raft),
    /// A broker-only node: requests go to the voters, the image is polled from them.
    Remote(RemoteState),
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("node_id", &self.inner.config.node_id)
            .field("offset", &self.image().offset)
            .finish()
    }
}

/// How long opening the Raft store waits for another holder of its lock to let go.
const STORE_LOCK_WAIT_MS: u64 = 5_000;
/// Pause between attempts while the store's lock is held.
const STORE_LOCK_RETRY_MS: u64 = 50;

/// Opens the sled store in `dir`. Its lock can still be held for a moment by the previous
/// incarnation: a process that is still exiting, or, in the same process, a controller just
/// shut down whose last Raft task (a snapshot being built) still holds the store. That is
/// waited out, up to [`STORE_LOCK_WAIT_MS`]; any other error, or a lock held longer, fails.
async fn open_store(dir: &std::path::Path) -> Result<sled::Db, sled::Error> {
    let deadline = Instant::now() + Duration::from_millis(STORE_LOCK_WAIT_MS);
    loop {
        match sled::Config::new().path(dir).open() {
            // sled 0.34 reports a held lock only by this message (kind Other).
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(STORE_LOCK_RETRY_MS)).await;
            }
            result => return result,
        }
    }
}

fn storage_error(what: &str, e: impl std::fmt::Display) -> ControllerError {
    ControllerError::Internal(format!("{what}: {e}"))
}

impl Controller {
    /// Opens the Raft store under `config.metadata_dir`, starts Raft and, on a brand-new store,
    /// initialises the quorum with `config.quorum.voters`.
    pub async fn open(config: ControllerConfig) -> Result<Controller, ControllerError> {
        Self::open_with_entropy(config, Box::new(RandomEntropy)).await
    }

    /// [`Controller::open`] with a chosen source of topic ids and placement seeds (tests).
    pub async fn open_with_entropy(
        config: ControllerConfig,
        entropy: Box<dyn Entropy + Send>,
    ) -> Result<Controller, ControllerError> {
        let dir = config.metadata_dir.join(RAFT_DIR).join("raft");
        std::fs::create_dir_all(&dir)
            .map_err(|e| storage_error(&format!("cannot create {}", dir.display()), e))?;
        let db = open_store(&dir).await.map_err(|e| {
            storage_error(
                &format!("cannot open the Raft store in {}", dir.display()),
                e,
            )
        })?;
        let progress = Arc::new(ReplicationProgress::default());
        let log_store = SledLogStore::open(db.clone(), progress.clone())
            .map_err(|e| storage_error("cannot open the Raft log", e))?;
        let pristine = log_store
            .is_pristine()
            .map_err(|e| storage_error("cannot read the Raft log", e))?;
        let (images_tx, images) =
            watch::channel(Arc::new(MetadataImage::new(config.cluster_id.clone())));
        let state_machine = MetadataStateMachine::open(&db, &config.cluster_id, images_tx)
            .map_err(|e| storage_error("cannot open the metadata state machine", e))?;
        let caller = Caller::new(
            config.cluster_id.clone(),
            config.node_id,
            canonical_voters(&config.quorum.voters),
        );
        let q = &config.quorum;
        let raft_config = openraft::Config {
            cluster_name: format!("strata-{}", config.cluster_id),
            heartbeat_interval: q.heartbeat_interval_ms,
            election_timeout_min: q.election_timeout_min_ms,
            election_timeout_max: q.election_timeout_max_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(q.snapshot_every_entries),
            max_in_snapshot_log_to_keep: q.snapshot_every_entries,
            ..Default::default()
        }
        .validate()
        .map_err(|e| ControllerError::InvalidRequest(format!("invalid quorum timing: {e}")))?;
        let node_id = u64::try_from(config.node_id).map_err(|_| {
            ControllerError::InvalidRequest(format!("invalid node.id {}", config.node_id))
        })?;
        let raft = Raft::new(
            node_id,
            Arc::new(raft_config),
            GrpcNetworkFactory::new(caller.clone(), progress.clone()),
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| storage_error("cannot start Raft", e))?;
        if pristine {
            let members: BTreeMap<u64, BasicNode> = q
                .voters
                .iter()
                .filter_map(|(id, addr)| {
                    u64::try_from(*id).ok().map(|id| (id, BasicNode::new(addr)))
                })
                .collect();
            match raft.initialize(members).await {
                Ok(()) => {
                    info!(node_id = config.node_id, voters = ?q.voters, "initialised the metadata quorum")
                }
                Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(storage_error("cannot initialise the metadata quorum", e)),
            }
        }
        info!(
            node_id = config.node_id,
            offset = images.borrow().offset,
            "controller started"
        );
        let controller = Controller {
            inner: Arc::new(Inner {
                config,
                backend: Backend::Local(raft),
                progress,
                images,
                entropy: Mutex::new(entropy),
                caller,
                liveness: std::sync::Mutex::new(Liveness::default()),
                leader_contact: Arc::default(),
            }),
        };
        tokio::spawn(watch_broker_sessions(Arc::downgrade(&controller.inner)));
        tokio::spawn(prompt_election::run(Arc::downgrade(&controller.inner)));
        if controller.inner.config.auto_leader_rebalance_enable {
            let interval = Duration::from_millis(
                controller
                    .inner
                    .config
                    .leader_imbalance_check_interval_ms
                    .max(MIN_LEADER_IMBALANCE_CHECK_INTERVAL_MS),
            );
            tokio::spawn(balance_leaders(Arc::downgrade(&controller.inner), interval));
        }
        Ok(controller)
    }

    /// Whether this node runs Raft (a voter) rather than following the voters remotely.
    pub fn is_voter(&self) -> bool {
        matches!(self.inner.backend, Backend::Local(_))
    }

    /// The Raft handle, on voters only.
    fn local_raft(&self) -> Option<&Raft> {
        match &self.inner.backend {
            Backend::Local(raft) => Some(raft),
            Backend::Remote(_) => None,
        }
    }

    /// Serves Raft RPCs and forwarded requests on the controller listener until the process ends.
    /// A broker-only node has nothing to serve: the task logs that and ends.
    pub fn serve(&self, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
        let Some(raft) = self.local_raft() else {
            return tokio::spawn(async {
                tracing::error!("a broker-only node cannot serve the controller listener");
            });
        };
        let service = ControllerService::new(
            raft.clone(),
            self.clone(),
            self.inner.config.cluster_id.clone(),
            self.inner.config.node_id,
            self.inner.caller.voters.clone(),
        );
        let (raft_server, controller_server) = service.into_servers();
        let incoming = tokio_stream_listener(listener);
        tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .add_service(raft_server)
                .add_service(controller_server)
                .serve_with_incoming(incoming)
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "controller listener stopped");
            }
        })
    }

    /// The controller's configuration.
    pub fn config(&self) -> &ControllerConfig {
        &self.inner.config
    }

    /// The Raft handle (metrics, leadership); `None` on a broker-only node.
    pub fn raft(&self) -> Option<&Raft> {
        self.local_raft()
    }

    /// The latest image this node has applied.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.inner.images.borrow().clone()
    }

    /// A receiver notified with every newly applied image.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.inner.images.clone()
    }

    /// The active controller's node id, if one is known.
    pub fn active_controller(&self) -> Option<i32> {
        match &self.inner.backend {
            Backend::Local(raft) => raft
                .metrics()
                .borrow()
                .current_leader
                .and_then(|id| i32::try_from(id).ok()),
            Backend::Remote(remote) => *Self::remote_leader(remote),
        }
    }

    /// Waits until some node is the active controller (start-up).
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(id) = self.active_controller() {
                return Some(id);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
        }
    }

    /// Notes that this voter just accepted AppendEntries from `leader` (the prompt election
    /// judges the leader's silence from these).
    pub(crate) fn heard_from_leader(&self, leader: u64) {
        self.inner.leader_contact.heard_from(leader);
    }

    /// Shuts Raft down (clean exit); on a broker-only node, stops following the voters.
    pub async fn shutdown(&self) {
        match &self.inner.backend {
            Backend::Local(raft) => {
                if let Err(error) = raft.shutdown().await {
                    tracing::warn!(%error, "Raft did not shut down cleanly");
                }
            }
            Backend::Remote(remote) => {
                if let Some(poller) = remote
                    .poller
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                {
                    poller.abort();
                }
            }
        }
    }

    fn unclean_leader_election(&self) -> bool {
        self.inner
            .config
            .broker_defaults
            .get("unclean.leader.election.enable")
            .is_some_and(|v| v == "true")
    }

    /// ElectLeaders: runs preferred or unclean elections and returns once the new leaders are
    /// committed; one result per partition (for `targets` = `None`, only the partitions that
    /// needed an election).
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        targets: Option<Vec<ElectionTarget>>,
    ) -> Result<Vec<(ElectionTarget, Result<(), ControllerError>)>, ControllerError> {
        match self
            .submit(ControllerRequest::ElectLeaders { election, targets })
            .await
        {
            ControllerResponse::ElectLeaders(results) => Ok(results
                .into_iter()
                .map(|(t, r)| (t, r.map_err(ControllerError::from_wire)))
                .collect()),
            other => Err(unexpected(other)),
        }
    }

    /// AlterPartition: commits a leader's ISR change. Returns once the change is committed;
    /// the leader sees it in the next metadata image.
    pub async fn alter_partition(
        &self,
        request: AlterPartitionRequest,
    ) -> Result<(), ControllerError> {
        match self
            .submit(ControllerRequest::AlterPartition(request))
            .await
        {
            ControllerResponse::Unit(r) => r.map_err(ControllerError::from_wire),
            other => Err(unexpected(other)),
        }
    }

    /// Registers a broker. Its broker epoch becomes the offset of the registration record.
    pub async fn register_broker(&self, reg: BrokerRegistration) -> Result<(), ControllerError> {
        match self.submit(ControllerRequest::RegisterBroker(reg)).await {
            ControllerResponse::Unit(r) => r.map_err(ControllerError::from_wire),
            other => Err(unexpected(other)),
        }
    }

    /// Creates topics; one result per input, in input order. With `validate_only` nothing is
    /// written but every check runs.
    pub async fn create_topics(
        &self,
        topics: Vec<CreateTopicSpec>,
        validate_only: bool,
    ) -> Vec<Result<CreatedTopic, ControllerError>> {
        let n = topics.len();
        match self
            .submit(ControllerRequest::CreateTopics {
                topics,
                validate_only,
            })
            .await
        {
            ControllerResponse::CreateTopics(r) => r
                .into_iter()
                .map(|r| r.map_err(ControllerError::from_wire))
                .collect(),
            other => all_failed(n, unexpected(other)),
        }
    }

    /// Deletes topics by name or id; one result (name, id) per input, in input order.
    pub async fn delete_topics(
        &self,
        topics: Vec<TopicRef>,
    ) -> Vec<Result<(String, uuid::Uuid), ControllerError>> {
        let n = topics.len();
        match self.submit(ControllerRequest::DeleteTopics(topics)).await {
            ControllerResponse::DeleteTopics(r) => r
                .into_iter()
                .map(|r| r.map_err(ControllerError::from_wire))
                .collect(),
            other => all_failed(n, unexpected(other)),
        }
    }

    /// Adds partitions to topics; one result per input, in input order.
    pub async fn create_partitions(
        &self,
        reqs: Vec<CreatePartitionsSpec>,
        validate_only: bool,
    ) -> Vec<Result<(), ControllerError>> {
        let n = reqs.len();
        match self
            .submit(ControllerRequest::CreatePartitions {
                reqs,
                validate_only,
            })
            .await
        {
            ControllerResponse::CreatePartitions(r) => r
                .into_iter()
                .map(|r| r.map_err(ControllerError::from_wire))
                .collect(),
            other => all_failed(n, unexpected(other)),
        }
    }

    /// Changes the configs of one resource: incrementally, or (`incremental == false`,
    /// AlterConfigs) replacing the whole set with the ops' `Set` values.
    pub async fn alter_configs(
        &self,
        resource_type: ConfigResourceType,
        resource_name: String,
        ops: Vec<ConfigOp>,
        incremental: bool,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        let request = ControllerRequest::AlterConfigs {
            resource_type,
            resource_name,
            ops,
            incremental,
            validate_only,
        };
        match self.submit(request).await {
            ControllerResponse::Unit(r) => r.map_err(ControllerError::from_wire),
            other => Err(unexpected(other)),
        }
    }

    /// Hands `broker_id` the next block of [`decide::PRODUCER_ID_BLOCK_SIZE`] producer ids.
    pub async fn allocate_producer_ids(
        &self,
        broker_id: i32,
    ) -> Result<std::ops::Range<i64>, ControllerError> {
        match self
            .submit(ControllerRequest::AllocateProducerIds { broker_id })
            .await
        {
            ControllerResponse::ProducerIds(r) => r
                .map(|(start, end)| start..end)
                .map_err(ControllerError::from_wire),
            other => Err(unexpected(other)),
        }
    }

    /// Every config of topic `name` with its effective value and source (DescribeConfigs).
    pub fn describe_topic_configs(
        &self,
        name: &str,
    ) -> Result<Vec<(ConfigDef, String, ConfigSource)>, ControllerError> {
        let image = self.image();
        if image.topic(name).is_none() {
            return Err(ControllerError::unknown_topic());
        }
        Ok(strata_metadata::config::effective_topic_config(
            &image.topic_configs(name),
            &self.inner.config.broker_defaults,
        ))
    }

    /// Runs `request` on the active controller: here if this node leads, else forwarded.
    /// Retries while there is no leader or the leader changes, up to
    /// [`CONTROLLER_REQUEST_TIMEOUT_MS`].
    async fn submit(&self, request: ControllerRequest) -> ControllerResponse {
        if let Backend::Remote(remote) = &self.inner.backend {
            return self.submit_remote(remote, request).await;
        }
        let deadline = Instant::now() + Duration::from_millis(CONTROLLER_REQUEST_TIMEOUT_MS);
        let mut last_error = String::from("no active controller");
        while Instant::now() < deadline {
            let leader = self.active_controller();
            let response = match leader {
                Some(id) if id == self.inner.config.node_id => {
                    self.handle_locally(request.clone()).await
                }
                Some(id) => match self.inner.config.quorum.voters.get(&id) {
                    Some(addr) => {
                        let remaining = deadline.saturating_duration_since(Instant::now());
                        match raft::network::forward(&self.inner.caller, addr, &request, remaining)
                            .await
                        {
                            Ok(response) => response,
                            Err(e) => {
                                last_error = e;
                                tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
                                continue;
                            }
                        }
                    }
                    None => {
                        last_error =
                            format!("active controller {id} is not in controller.quorum.voters");
                        tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
                        continue;
                    }
                },
                None => {
                    tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
                    continue;
                }
            };
            match &response {
                ControllerResponse::Failed(w) if w.kind == "NotController" => {
                    last_error = "leadership moved".to_string();
                    tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
                }
                _ => return response,
            }
        }
        tracing::warn!(error = %last_error, "controller request timed out");
        ControllerResponse::Failed(ControllerError::NotController.to_wire())
    }
}

/// The active controller's leader balancer: every `leader.imbalance.check.interval.seconds`
/// it gives preferred replicas that are live and in the ISR their leaderships back.
async fn balance_leaders(inner: std::sync::Weak<Inner>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once: skip it, a fresh controller has nothing to balance yet.
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let controller = Controller { inner };
        if controller.active_controller() != Some(controller.inner.config.node_id) {
            continue;
        }
        let response = controller
            .handle_locally(ControllerRequest::RebalanceLeaders)
            .await;
        if let ControllerResponse::Unit(Err(e)) | ControllerResponse::Failed(e) = response {
            tracing::debug!(error = %e.message, kind = %e.kind, "leader rebalance did not run");
        }
    }
}

/// `controller.quorum.voters` in one canonical form (`id@host:port` by id), compared between
/// peers. A single-node quorum (no endpoints) is empty: it talks to nobody.
fn canonical_voters(voters: &BTreeMap<i32, String>) -> String {
    if voters.len() <= 1 {
        return String::new();
    }
    voters
        .iter()
        .map(|(id, addr)| format!("{id}@{addr}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn unexpected(response: ControllerResponse) -> ControllerError {
    match response {
        ControllerResponse::Failed(w) => ControllerError::from_wire(w),
        other => ControllerError::Internal(format!("unexpected controller response {other:?}")),
    }
}

fn all_failed<T>(n: usize, e: ControllerError) -> Vec<Result<T, ControllerError>> {
    (0..n).map(|_| Err(e.clone())).collect()
}

/// Adapts a tokio listener to the stream of connections tonic's server takes.
fn tokio_stream_listener(
    listener: tokio::net::TcpListener,
) -> tokio_stream::wrappers::TcpListenerStream {
    tokio_stream::wrappers::TcpListenerStream::new(listener)
}

#[cfg(test)]
mod tests {
    use super::open_store;

    #[tokio::test]
    async fn opening_the_store_waits_for_a_previous_holder_to_let_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = sled::Config::new()
            .path(dir.path())
            .open()
            .expect("first open");
        let release = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            drop(held);
        });
        let reopened = open_store(dir.path()).await;
        assert!(reopened.is_ok(), "second open: {:?}", reopened.err());
        release.await.expect("release task");
    }
}
