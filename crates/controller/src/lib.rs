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

pub mod decide;
pub mod elections;
pub use strata_metadata::controller_error as error;
pub mod placement;
pub mod raft;
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
use crate::raft::log_store::SledLogStore;
use crate::raft::network::{Caller, GrpcNetworkFactory};
use crate::raft::progress::ReplicationProgress;
use crate::raft::prompt_election::{self, LeaderContact};
use crate::raft::service::ControllerService;
use crate::raft::state_machine::MetadataStateMachine;
use crate::raft::types::{MetadataBatch, Raft};
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

/// An intent, as executed by the active controller (and forwarded to it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// Register (or re-register) a broker.
    RegisterBroker(BrokerRegistration),
    /// A partition leader changes the ISR.
    AlterPartition(AlterPartitionRequest),
    /// Create topics.
    CreateTopics {
        /// The topics.
        topics: Vec<CreateTopicSpec>,
        /// Check only.
        validate_only: bool,
    },
    /// Delete topics.
    DeleteTopics(Vec<TopicRef>),
    /// Add partitions.
    CreatePartitions {
        /// The requests.
        reqs: Vec<CreatePartitionsSpec>,
        /// Check only.
        validate_only: bool,
    },
    /// Change configs of one resource.
    AlterConfigs {
        /// Resource kind.
        resource_type: ConfigResourceType,
        /// Resource name.
        resource_name: String,
        /// Operations.
        ops: Vec<ConfigOp>,
        /// Incremental or replace-all.
        incremental: bool,
        /// Check only.
        validate_only: bool,
    },
    /// A block of producer ids for a broker.
    AllocateProducerIds {
        /// The broker.
        broker_id: i32,
    },
    /// A broker is alive (sent every `broker.heartbeat.interval.ms`).
    BrokerHeartbeat {
        /// The broker.
        broker_id: i32,
        /// The registering process.
        incarnation_id: uuid::Uuid,
        /// Offset of the newest metadata record the broker has applied: it is unfenced once
        /// this reaches its registration (it has caught up with the metadata log).
        #[serde(default)]
        metadata_offset: i64,
    },
    /// Fence a broker whose session expired (the controller's own liveness task).
    FenceBroker {
        /// The broker.
        broker_id: i32,
    },
    /// The quorum's state as the active controller sees it (DescribeQuorum).
    DescribeQuorum,
    /// A broker is shutting down cleanly: move its leaderships away now.
    ControlledShutdown {
        /// The broker.
        broker_id: i32,
        /// The process shutting down.
        incarnation_id: uuid::Uuid,
    },
    /// A broker-only node follows the metadata log: the voter's image if it is newer than
    /// `known_offset`. Answered by any voter from memory (no Raft round trip).
    FetchImage {
        /// Offset of the image the asking node already has (-1 for none).
        known_offset: i64,
    },
    /// The leader balancer (`auto.leader.rebalance.enable`): preferred replicas that are live
    /// and in sync take their leaderships back.
    RebalanceLeaders,
    /// ElectLeaders: preferred or unclean elections for some partitions (`None`: all).
    ElectLeaders {
        /// Preferred or unclean.
        election: ElectionType,
        /// The partitions; `None` for every partition of every topic.
        targets: Option<Vec<ElectionTarget>>,
    },
}

/// The answer to a [`ControllerRequest`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ControllerResponse {
    /// Single-result requests (register broker, alter configs).
    Unit(Result<(), WireError>),
    /// CreateTopics results in request order.
    CreateTopics(Vec<Result<CreatedTopic, WireError>>),
    /// DeleteTopics results in request order.
    DeleteTopics(Vec<Result<(String, uuid::Uuid), WireError>>),
    /// CreatePartitions results in request order.
    CreatePartitions(Vec<Result<(), WireError>>),
    /// A producer-id block `[start, end)`.
    ProducerIds(Result<(i64, i64), WireError>),
    /// DescribeQuorum.
    Quorum(QuorumInfo),
    /// FetchImage: the answering voter's image when newer than the asker's, and who it
    /// believes is the active controller.
    Image {
        /// The image, `None` when it is not newer than `known_offset`.
        image: Option<Box<ImageSnapshot>>,
        /// The active controller as the answering voter knows it.
        leader_id: Option<i32>,
    },
    /// ElectLeaders: one result per partition (see [`elections::elect_leaders`]).
    ElectLeaders(Vec<(ElectionTarget, Result<(), WireError>)>),
    /// The whole request failed (no active controller, storage).
    Failed(WireError),
}

/// The metadata quorum as the active controller sees it (Kafka's DescribeQuorum).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QuorumInfo {
    /// Active controller.
    pub leader_id: i32,
    /// Raft term (Kafka's leader epoch).
    pub leader_epoch: i32,
    /// Committed offset of the metadata log (index of the last committed entry + 1).
    pub high_watermark: i64,
    /// Voters.
    pub voters: Vec<ReplicaState>,
    /// Non-voting nodes following the log.
    pub observers: Vec<ReplicaState>,
}

/// One replica of the metadata log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplicaState {
    /// Node id.
    pub node_id: i32,
    /// Its log end offset as the leader knows it (-1 unknown).
    pub log_end_offset: i64,
    /// Milliseconds since the epoch of its last fetch (-1 unknown).
    pub last_fetch_timestamp: i64,
    /// Milliseconds since the epoch when it was last caught up (-1 unknown).
    pub last_caught_up_timestamp: i64,
}

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

/// What a broker-only node knows about the quorum it is not part of.
struct RemoteState {
    /// The active controller as last reported by a voter.
    leader: std::sync::Mutex<Option<i32>>,
    /// The image-polling task, aborted at shutdown.
    poller: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Publishes images fetched from the voters (by the poller, and after our own writes).
    images_tx: watch::Sender<Arc<MetadataImage>>,
}

impl RemoteState {
    /// Publishes `snapshot` if it is newer than the current image (a lagging voter may answer
    /// with an older one after a leader change: the image never goes backwards).
    fn publish(&self, snapshot: ImageSnapshot) {
        self.images_tx.send_if_modified(|current| {
            if snapshot.offset <= current.offset {
                return false;
            }
            let image = MetadataImage::from_snapshot(snapshot);
            debug_assert!(image.offset > current.offset, "images only move forward");
            *current = Arc::new(image);
            true
        });
    }
}

/// When the active controller last heard from each broker. Kept in memory on the active
/// controller only: a new active controller starts every clock afresh (a grace period).
#[derive(Default)]
struct Liveness {
    /// Last heartbeat from each broker, recorded on every voter.
    last_seen: std::collections::HashMap<i32, Instant>,
    /// When this node became the active controller (as its liveness loop saw it).
    leading_since: Option<Instant>,
    /// The liveness loop's previous tick while leading (to notice it was paused).
    last_tick: Option<Instant>,
    /// After a stall of the liveness loop, no session expires before a full one from here.
    grace_from: Option<Instant>,
}

/// A liveness tick this late means the process was paused or starved (see
/// `watch_broker_sessions`).
const LIVENESS_STALL_MS: u64 = 250;
/// Lower bound of one heartbeat call's timeout (half a session otherwise).
const MIN_HEARTBEAT_ATTEMPT_TIMEOUT_MS: u64 = 50;
/// How often the active controller looks for expired broker sessions.
const LIVENESS_CHECK_INTERVAL_MS: u64 = 50;

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

    /// A controller handle for a broker-only node: no Raft here; requests are sent to the
    /// voters of `config.quorum.voters` (to the active controller when known, else to each in
    /// turn) and the metadata image is polled from them every [`IMAGE_POLL_INTERVAL_MS`].
    pub fn open_remote(config: ControllerConfig) -> Result<Controller, ControllerError> {
        if config.quorum.voters.is_empty() {
            return Err(ControllerError::InvalidRequest(
                "a broker-only node needs controller.quorum.voters".to_string(),
            ));
        }
        if config.quorum.voters.contains_key(&config.node_id) {
            return Err(ControllerError::InvalidRequest(format!(
                "node {} is in controller.quorum.voters: a voter must run the controller role",
                config.node_id
            )));
        }
        let (images_tx, images) =
            watch::channel(Arc::new(MetadataImage::new(config.cluster_id.clone())));
        let caller = Caller::new(
            config.cluster_id.clone(),
            config.node_id,
            canonical_voters(&config.quorum.voters),
        );
        info!(node_id = config.node_id, voters = ?config.quorum.voters, "following the metadata quorum remotely");
        let controller = Controller {
            inner: Arc::new(Inner {
                config,
                backend: Backend::Remote(RemoteState {
                    leader: std::sync::Mutex::new(None),
                    poller: std::sync::Mutex::new(None),
                    images_tx,
                }),
                progress: Arc::default(),
                images,
                entropy: Mutex::new(Box::new(RandomEntropy)),
                caller,
                liveness: std::sync::Mutex::new(Liveness::default()),
                leader_contact: Arc::default(),
            }),
        };
        let poller = tokio::spawn(poll_images(Arc::downgrade(&controller.inner)));
        if let Backend::Remote(remote) = &controller.inner.backend {
            *remote.poller.lock().unwrap_or_else(|p| p.into_inner()) = Some(poller);
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

    fn remote_leader(remote: &RemoteState) -> std::sync::MutexGuard<'_, Option<i32>> {
        remote.leader.lock().unwrap_or_else(|p| p.into_inner())
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

    /// The quorum as the active controller sees it.
    pub async fn describe_quorum(&self) -> Result<QuorumInfo, ControllerError> {
        match self.submit(ControllerRequest::DescribeQuorum).await {
            ControllerResponse::Quorum(info) => Ok(info),
            other => Err(unexpected(other)),
        }
    }

    fn local_quorum_info(&self) -> QuorumInfo {
        let Some(raft) = self.local_raft() else {
            return QuorumInfo {
                leader_id: self.active_controller().unwrap_or(-1),
                leader_epoch: -1,
                high_watermark: -1,
                voters: Vec::new(),
                observers: Vec::new(),
            };
        };
        let metrics = raft.metrics().borrow().clone();
        let now_ms = wall_clock_ms();
        let leader_end = metrics
            .last_log_index
            .map(|i| i64::try_from(i).unwrap_or(i64::MAX) + 1)
            .unwrap_or(0);
        let committed = metrics
            .last_applied
            .map(|l| i64::try_from(l.index).unwrap_or(i64::MAX) + 1)
            .unwrap_or(0);
        let replication = metrics.replication.clone().unwrap_or_default();
        let state = |id: u64| {
            let node_id = i32::try_from(id).unwrap_or(-1);
            let log_end_offset = if Some(id) == metrics.current_leader {
                leader_end
            } else {
                replication
                    .get(&id)
                    .map(|m| {
                        m.map(|l| i64::try_from(l.index).unwrap_or(i64::MAX) + 1)
                            .unwrap_or(0)
                    })
                    .unwrap_or(-1)
            };
            // As Kafka's leader: its own replica fetched and is caught up "now"; a voter's
            // times are those of its answers to this leader, -1 until it has answered one.
            let (last_fetch_timestamp, last_caught_up_timestamp) =
                if Some(id) == metrics.current_leader {
                    (now_ms, now_ms)
                } else {
                    self.inner
                        .progress
                        .seen(id, metrics.current_term)
                        .map_or((-1, -1), |s| (s.last_fetch_ms, s.last_caught_up_ms))
                };
            ReplicaState {
                node_id,
                log_end_offset,
                last_fetch_timestamp,
                last_caught_up_timestamp,
            }
        };
        let membership = metrics.membership_config.membership();
        let voters: Vec<u64> = membership.voter_ids().collect();
        let observers: Vec<u64> = membership.learner_ids().collect();
        QuorumInfo {
            leader_id: metrics
                .current_leader
                .and_then(|l| i32::try_from(l).ok())
                .unwrap_or(-1),
            leader_epoch: i32::try_from(metrics.current_term).unwrap_or(i32::MAX),
            high_watermark: committed,
            voters: voters.into_iter().map(state).collect(),
            observers: observers.into_iter().map(state).collect(),
        }
    }

    /// Tells every voter this broker is alive, each call bounded by half a session.
    ///
    /// Why every voter and not only the active controller: a voter that becomes the active
    /// controller then already knows when it last heard from each broker, so it fences a dead
    /// broker (say, on the node the previous controller died with) at once instead of first
    /// granting every broker a whole new session; and a voter that hangs (SIGSTOP) delays no
    /// heartbeat to the others, so a live broker is never fenced because its heartbeats were
    /// stuck behind one to a paused controller.
    ///
    /// Ok once the active controller accepted it; its error (e.g. not registered) otherwise.
    pub async fn heartbeat(
        &self,
        broker_id: i32,
        incarnation_id: uuid::Uuid,
        metadata_offset: i64,
    ) -> Result<(), ControllerError> {
        let request = ControllerRequest::BrokerHeartbeat {
            broker_id,
            incarnation_id,
            metadata_offset,
        };
        let timeout = Duration::from_millis(
            (self.inner.config.quorum.broker_session_timeout_ms / 2)
                .max(MIN_HEARTBEAT_ATTEMPT_TIMEOUT_MS),
        );
        let me = self.inner.config.node_id;
        let local = matches!(self.inner.backend, Backend::Local(_));
        let mut calls = tokio::task::JoinSet::new();
        for (id, addr) in &self.inner.config.quorum.voters {
            let (controller, request, id, addr) =
                (self.clone(), request.clone(), *id, addr.clone());
            calls.spawn(async move {
                if local && id == me {
                    return controller.handle_locally(request).await;
                }
                match raft::network::forward::<_, ControllerResponse>(
                    &controller.inner.caller,
                    &addr,
                    &request,
                    timeout,
                )
                .await
                {
                    Ok(response) => response,
                    Err(e) => ControllerResponse::Failed(
                        ControllerError::Internal(format!("heartbeat to voter {id}: {e}"))
                            .to_wire(),
                    ),
                }
            });
        }
        let mut outcome = Err(ControllerError::NotController);
        while let Some(joined) = calls.join_next().await {
            match joined {
                Ok(ControllerResponse::Unit(Ok(()))) => outcome = Ok(()),
                Ok(ControllerResponse::Unit(Err(e))) if outcome.is_err() => {
                    outcome = Err(ControllerError::from_wire(e))
                }
                _ => {}
            }
        }
        outcome
    }

    /// Controlled shutdown: fences the broker now so its leaderships move before it exits.
    pub async fn controlled_shutdown(
        &self,
        broker_id: i32,
        incarnation_id: uuid::Uuid,
    ) -> Result<(), ControllerError> {
        match self
            .submit(ControllerRequest::ControlledShutdown {
                broker_id,
                incarnation_id,
            })
            .await
        {
            ControllerResponse::Unit(r) => r.map_err(ControllerError::from_wire),
            other => Err(unexpected(other)),
        }
    }

    fn unclean_leader_election(&self) -> bool {
        self.inner
            .config
            .broker_defaults
            .get("unclean.leader.election.enable")
            .is_some_and(|v| v == "true")
    }

    fn liveness(&self) -> std::sync::MutexGuard<'_, Liveness> {
        self.inner
            .liveness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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

    /// [`Controller::submit`] on a broker-only node: to the active controller when a voter
    /// told us who it is, else to each voter in turn (a voter that does not lead answers
    /// NotController), until [`CONTROLLER_REQUEST_TIMEOUT_MS`].
    async fn submit_remote(
        &self,
        remote: &RemoteState,
        request: ControllerRequest,
    ) -> ControllerResponse {
        let deadline = Instant::now() + Duration::from_millis(CONTROLLER_REQUEST_TIMEOUT_MS);
        let voters: Vec<(i32, String)> = self
            .inner
            .config
            .quorum
            .voters
            .iter()
            .map(|(id, addr)| (*id, addr.clone()))
            .collect();
        let mut next = 0usize;
        let mut last_error = String::from("no voter answered");
        while Instant::now() < deadline {
            let known_leader = *Self::remote_leader(remote);
            let (id, addr) = match known_leader
                .and_then(|id| self.inner.config.quorum.voters.get(&id).map(|a| (id, a)))
            {
                Some((id, addr)) => (id, addr.clone()),
                None => {
                    let (id, addr) = &voters[next % voters.len()];
                    next += 1;
                    (*id, addr.clone())
                }
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            match raft::network::forward::<_, ControllerResponse>(
                &self.inner.caller,
                &addr,
                &request,
                remaining,
            )
            .await
            {
                Ok(ControllerResponse::Failed(w)) if w.kind == "NotController" => {
                    last_error = format!("voter {id} is not the active controller");
                }
                Ok(response) => {
                    *Self::remote_leader(remote) = Some(id);
                    // Read-your-writes: the active controller answers once it has applied the
                    // change, so its image now includes it; publish that before returning
                    // rather than on the next poll.
                    let changes_metadata = !matches!(
                        request,
                        ControllerRequest::BrokerHeartbeat { .. }
                            | ControllerRequest::DescribeQuorum
                            | ControllerRequest::FetchImage { .. }
                    );
                    if changes_metadata {
                        self.fetch_image_from(remote, id, &addr).await;
                    }
                    return response;
                }
                Err(e) => last_error = e,
            }
            // Forget a leader that did not answer as one; the poller or the next voter will
            // tell us the new one.
            forget_leader(remote, id);
            tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
        }
        tracing::warn!(error = %last_error, "controller request timed out");
        ControllerResponse::Failed(ControllerError::NotController.to_wire())
    }

    /// Asks voter `id` at `addr` for an image newer than ours and publishes it.
    async fn fetch_image_from(&self, remote: &RemoteState, id: i32, addr: &str) {
        let known_offset = remote.images_tx.borrow().offset;
        let answer = raft::network::forward::<_, ControllerResponse>(
            &self.inner.caller,
            addr,
            &ControllerRequest::FetchImage { known_offset },
            Duration::from_millis(REMOTE_ATTEMPT_TIMEOUT_MS),
        )
        .await;
        match answer {
            Ok(ControllerResponse::Image { image, leader_id }) => {
                *Self::remote_leader(remote) = leader_id;
                if let Some(snapshot) = image {
                    remote.publish(*snapshot);
                }
            }
            Ok(other) => {
                tracing::debug!(voter = id, answer = ?other, "unexpected answer to FetchImage");
                forget_leader(remote, id);
            }
            Err(error) => {
                tracing::debug!(voter = id, %error, "cannot fetch the metadata image");
                forget_leader(remote, id);
            }
        }
    }

    /// Executes a request on this node, which must be the active controller (any voter
    /// answers [`ControllerRequest::FetchImage`] and [`ControllerRequest::DescribeQuorum`]).
    pub async fn handle_locally(&self, request: ControllerRequest) -> ControllerResponse {
        let Some(raft) = self.local_raft() else {
            return ControllerResponse::Failed(ControllerError::NotController.to_wire());
        };
        if let ControllerRequest::FetchImage { known_offset } = &request {
            let image = self.image();
            return ControllerResponse::Image {
                image: (image.offset > *known_offset).then(|| Box::new(image.to_snapshot())),
                leader_id: self.active_controller(),
            };
        }
        if let ControllerRequest::DescribeQuorum = &request {
            return ControllerResponse::Quorum(self.local_quorum_info());
        }
        if let ControllerRequest::BrokerHeartbeat {
            broker_id,
            incarnation_id,
            metadata_offset,
        } = &request
        {
            // The hot path: no Raft round trip unless the broker must be unfenced. Every
            // voter records the heartbeat (see [`Controller::heartbeat`]); only the active
            // controller answers for it.
            let image = self.image();
            let reg = image
                .brokers
                .get(broker_id)
                .filter(|r| r.incarnation_id == *incarnation_id);
            if reg.is_some() {
                self.liveness().last_seen.insert(*broker_id, Instant::now());
            }
            if self.active_controller() != Some(self.inner.config.node_id) {
                return ControllerResponse::Failed(ControllerError::NotController.to_wire());
            }
            let Some(reg) = reg else {
                return ControllerResponse::Unit(Err(ControllerError::BrokerIdNotRegistered(
                    *broker_id,
                )
                .to_wire()));
            };
            // Fenced until it has applied the metadata log up to its own registration.
            if !reg.fenced || *metadata_offset < reg.broker_epoch {
                return ControllerResponse::Unit(Ok(()));
            }
        }
        let mut entropy = self.inner.entropy.lock().await;
        // Decide against everything committed so far (a new leader first applies its
        // predecessor's entries).
        if raft.ensure_linearizable().await.is_err() {
            return ControllerResponse::Failed(ControllerError::NotController.to_wire());
        }
        let image = self.image();
        let config = &self.inner.config;
        match request {
            ControllerRequest::RegisterBroker(reg) => {
                let broker_id = reg.broker_id;
                let timeout = Duration::from_millis(config.quorum.broker_session_timeout_ms);
                if let Some(existing) = image.brokers.get(&broker_id) {
                    let heard = self
                        .liveness()
                        .last_seen
                        .get(&broker_id)
                        .map(|t| t.elapsed());
                    if existing.incarnation_id != reg.incarnation_id
                        && !existing.fenced
                        && heard.is_some_and(|h| h < timeout)
                    {
                        let message = format!(
                            "Another process is registered as node {broker_id} and is alive (heard from {} ms ago): node.id must be unique",
                            heard.map(|h| h.as_millis()).unwrap_or(0)
                        );
                        tracing::warn!(broker_id, "refusing a duplicate broker registration");
                        return ControllerResponse::Unit(Err(
                            ControllerError::DuplicateBrokerRegistration(message).to_wire(),
                        ));
                    }
                }
                match decide::register_broker(&image, reg) {
                    Ok(decision) => {
                        // Registered fenced, as in Kafka: the broker is unfenced (and rejoins
                        // ISRs) by a heartbeat showing it has caught up with the metadata log.
                        let records: Vec<MetadataRecord> = decision
                            .records
                            .into_iter()
                            .filter(|r| !matches!(r, MetadataRecord::UnfenceBroker { .. }))
                            .collect();
                        self.liveness().last_seen.insert(broker_id, Instant::now());
                        ControllerResponse::Unit(
                            self.commit(records).await.map_err(|e| e.to_wire()),
                        )
                    }
                    Err(e) => ControllerResponse::Unit(Err(e.to_wire())),
                }
            }
            ControllerRequest::BrokerHeartbeat { broker_id, .. } => {
                // A fenced broker that has caught up (new registration, or heard from again after
                // a pause) is unfenced and rejoins the ISRs.
                let Some(reg) = image.brokers.get(&broker_id) else {
                    return ControllerResponse::Unit(Err(ControllerError::BrokerIdNotRegistered(
                        broker_id,
                    )
                    .to_wire()));
                };
                if !reg.fenced {
                    return ControllerResponse::Unit(Ok(()));
                }
                let mut records = vec![MetadataRecord::UnfenceBroker {
                    broker_id,
                    broker_epoch: reg.broker_epoch,
                }];
                records.extend(elections::restore_broker(
                    &image,
                    broker_id,
                    self.unclean_leader_election(),
                ));
                tracing::info!(
                    broker_id,
                    "unfencing a broker that has caught up with the metadata log"
                );
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::FenceBroker { broker_id } => {
                let records =
                    elections::fence_broker(&image, broker_id, self.unclean_leader_election());
                if !records.is_empty() {
                    tracing::warn!(
                        broker_id,
                        changes = records.len() - 1,
                        "fencing a broker whose session expired"
                    );
                }
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::DescribeQuorum => {
                ControllerResponse::Quorum(self.local_quorum_info())
            }
            ControllerRequest::FetchImage { .. } => {
                // Answered above, before the linearizability wait.
                ControllerResponse::Failed(
                    ControllerError::Internal("FetchImage reached decide".to_string()).to_wire(),
                )
            }
            ControllerRequest::ControlledShutdown {
                broker_id,
                incarnation_id,
            } => {
                if image
                    .brokers
                    .get(&broker_id)
                    .is_some_and(|r| r.incarnation_id != incarnation_id)
                {
                    return ControllerResponse::Unit(Ok(()));
                }
                let records =
                    elections::fence_broker(&image, broker_id, self.unclean_leader_election());
                tracing::info!(
                    broker_id,
                    changes = records.len().saturating_sub(1),
                    "controlled shutdown"
                );
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::AlterPartition(request) => {
                let result = match elections::alter_partition(&image, &request) {
                    Ok(records) if records.is_empty() => Ok(()),
                    Ok(records) => {
                        tracing::info!(
                            topic_id = %request.topic_id,
                            partition = request.partition,
                            leader = request.broker_id,
                            isr = ?request.new_isr,
                            "ISR change"
                        );
                        self.commit(records).await
                    }
                    Err(e) => Err(e),
                };
                ControllerResponse::Unit(result.map_err(|e| e.to_wire()))
            }
            ControllerRequest::RebalanceLeaders => {
                let records = elections::rebalance_preferred_leaders(&image);
                if !records.is_empty() {
                    tracing::info!(
                        partitions = records.len(),
                        "moving leaderships back to preferred replicas"
                    );
                }
                ControllerResponse::Unit(self.commit(records).await.map_err(|e| e.to_wire()))
            }
            ControllerRequest::ElectLeaders { election, targets } => {
                let (results, records) =
                    elections::elect_leaders(&image, election, targets.as_deref());
                let elected = records.len();
                let committed = self.commit(records).await;
                if elected > 0 {
                    tracing::info!(
                        election = election.name(),
                        elected,
                        ok = committed.is_ok(),
                        "leader election"
                    );
                }
                ControllerResponse::ElectLeaders(
                    results
                        .into_iter()
                        .map(|(target, r)| {
                            let r = match (&committed, r) {
                                (_, Err(e)) => Err(e.to_wire()),
                                (Err(e), Ok(())) => Err(e.to_wire()),
                                (Ok(()), Ok(())) => Ok(()),
                            };
                            (target, r)
                        })
                        .collect(),
                )
            }
            ControllerRequest::CreateTopics {
                topics,
                validate_only,
            } => {
                let Decision { results, records } =
                    decide::create_topics(&image, config, &topics, entropy.as_mut());
                ControllerResponse::CreateTopics(self.finish(results, records, validate_only).await)
            }
            ControllerRequest::DeleteTopics(topics) => {
                let Decision { results, records } = decide::delete_topics(&image, &topics);
                ControllerResponse::DeleteTopics(self.finish(results, records, false).await)
            }
            ControllerRequest::CreatePartitions {
                reqs,
                validate_only,
            } => {
                let Decision { results, records } =
                    decide::create_partitions(&image, &reqs, entropy.as_mut());
                ControllerResponse::CreatePartitions(
                    self.finish(results, records, validate_only).await,
                )
            }
            ControllerRequest::AlterConfigs {
                resource_type,
                resource_name,
                ops,
                incremental,
                validate_only,
            } => {
                let result = match decide::alter_configs(
                    &image,
                    resource_type,
                    &resource_name,
                    &ops,
                    incremental,
                ) {
                    Ok(_) if validate_only => Ok(()),
                    Ok(decision) => self.commit(decision.records).await,
                    Err(e) => Err(e),
                };
                let unclean_changed = ops.iter().any(|op| op.name == UNCLEAN_CONFIG);
                if result.is_ok() && !validate_only && unclean_changed {
                    // As Kafka: turning unclean election on elects a leader for the partitions
                    // that are offline now, not only for those that go offline later.
                    let records =
                        elections::unclean_elections(&self.image(), self.unclean_leader_election());
                    if !records.is_empty() {
                        tracing::info!(
                            partitions = records.len(),
                            "unclean leader election after a config change"
                        );
                        if let Err(e) = self.commit(records).await {
                            tracing::warn!(error = %e, "unclean leader election failed");
                        }
                    }
                }
                ControllerResponse::Unit(result.map_err(|e| e.to_wire()))
            }
            ControllerRequest::AllocateProducerIds { broker_id } => {
                let result = match decide::allocate_producer_ids(&image, broker_id) {
                    Ok(decision) => self
                        .commit(decision.records)
                        .await
                        .map(|()| decision.results),
                    Err(e) => Err(e),
                };
                ControllerResponse::ProducerIds(
                    result.map(|r| (r.start, r.end)).map_err(|e| e.to_wire()),
                )
            }
        }
    }

    /// Commits `records` unless `validate_only`; if the commit fails every success becomes
    /// that error, since nothing was written.
    async fn finish<T>(
        &self,
        results: Vec<Result<T, ControllerError>>,
        records: Vec<MetadataRecord>,
        validate_only: bool,
    ) -> Vec<Result<T, WireError>> {
        let committed = if validate_only {
            Ok(())
        } else {
            self.commit(records).await
        };
        results
            .into_iter()
            .map(|r| match (&committed, r) {
                (_, Err(e)) => Err(e.to_wire()),
                (Err(e), Ok(_)) => Err(e.to_wire()),
                (Ok(()), Ok(v)) => Ok(v),
            })
            .collect()
    }

    /// Commits `records` as one Raft entry; returns once this node has applied it.
    async fn commit(&self, records: Vec<MetadataRecord>) -> Result<(), ControllerError> {
        if records.is_empty() {
            return Ok(());
        }
        let Some(raft) = self.local_raft() else {
            return Err(ControllerError::NotController);
        };
        match raft.client_write(MetadataBatch { records }).await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                Err(ControllerError::NotController)
            }
            Err(e) => Err(ControllerError::Internal(format!(
                "metadata commit failed: {e}"
            ))),
        }
    }
}

/// The active controller's liveness loop: fences brokers whose session expired.
async fn watch_broker_sessions(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_millis(LIVENESS_CHECK_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let controller = Controller { inner };
        let me = controller.inner.config.node_id;
        if controller.active_controller() != Some(me) {
            let mut liveness = controller.liveness();
            liveness.leading_since = None;
            liveness.last_tick = None;
            liveness.grace_from = None;
            continue;
        }
        let timeout =
            Duration::from_millis(controller.inner.config.quorum.broker_session_timeout_ms);
        let image = controller.image();
        let expired: Vec<i32> = {
            let mut liveness = controller.liveness();
            let now = Instant::now();
            // This loop (so this process) did not run for a while: paused, or starved. Whatever
            // heartbeats arrived meanwhile were not read yet, so judge nobody on that gap:
            // every broker gets a full session from now.
            let stalled = liveness
                .last_tick
                .is_some_and(|t| now.duration_since(t) > Duration::from_millis(LIVENESS_STALL_MS));
            liveness.last_tick = Some(now);
            if stalled {
                liveness.grace_from = Some(now);
            }
            let grace_from = liveness.grace_from;
            let since = *liveness.leading_since.get_or_insert(now);
            image
                .brokers
                .values()
                .filter(|b| !b.fenced)
                .filter(|b| {
                    // Heartbeats reach every voter, so a new active controller judges by the
                    // ones it received as a follower; a broker it never heard from (it just
                    // started) gets a full session from when it began to lead.
                    let last = liveness
                        .last_seen
                        .get(&b.broker_id)
                        .copied()
                        .unwrap_or(since);
                    let last = grace_from.map_or(last, |g| last.max(g));
                    now.duration_since(last) > timeout
                })
                .map(|b| b.broker_id)
                .collect()
        };
        for broker_id in expired {
            let response = controller
                .handle_locally(ControllerRequest::FenceBroker { broker_id })
                .await;
            match response {
                ControllerResponse::Failed(e) | ControllerResponse::Unit(Err(e))
                    if e.kind == "NotController" =>
                {
                    // Deposed meanwhile: the next active controller decides.
                    tracing::debug!(broker_id, "not fencing: no longer the active controller");
                    break;
                }
                ControllerResponse::Failed(e) | ControllerResponse::Unit(Err(e)) => {
                    tracing::warn!(broker_id, kind = %e.kind, error = %e.message, "fencing failed");
                }
                _ => {}
            }
        }
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

/// A broker-only node's follower loop: every [`IMAGE_POLL_INTERVAL_MS`] asks a voter (the
/// active controller when known, else each in turn) for a newer image and publishes it.
async fn poll_images(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_millis(IMAGE_POLL_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next = 0usize;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let controller = Controller { inner };
        let Backend::Remote(remote) = &controller.inner.backend else {
            return;
        };
        let voters = &controller.inner.config.quorum.voters;
        let known_leader = *Controller::remote_leader(remote);
        let target = known_leader
            .and_then(|id| voters.get(&id).map(|a| (id, a.clone())))
            .or_else(|| {
                let picked = voters.iter().nth(next % voters.len().max(1));
                next += 1;
                picked.map(|(id, a)| (*id, a.clone()))
            });
        let Some((id, addr)) = target else { return };
        controller.fetch_image_from(remote, id, &addr).await;
    }
}

/// Drops `id` as the known active controller (it did not answer), so the next attempt tries
/// the other voters.
fn forget_leader(remote: &RemoteState, id: i32) {
    let mut leader = Controller::remote_leader(remote);
    if *leader == Some(id) {
        *leader = None;
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
