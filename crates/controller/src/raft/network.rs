//! The client side of Raft RPCs (and of forwarded controller requests) over tonic gRPC.
//!
//! Connections are lazy and re-established by tonic; an unreachable peer is reported to
//! openraft as `Unreachable`, which makes it back off instead of spinning.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};

use super::progress::{Answer, ReplicationProgress};
use super::proto::controller_client::ControllerClient;
use super::proto::raft_client::RaftClient;
use super::proto::RaftMessage;
use super::types::{NodeId, TypeConfig};
use strata_clock::wall_clock_ms;

/// How long establishing a connection to a peer may take.
pub const CONNECT_TIMEOUT_MS: u64 = 500;

/// Who is calling: stamped on every message so peers can refuse other clusters.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Our cluster id.
    pub cluster_id: String,
    /// Our node id.
    pub node_id: i32,
    /// Our `controller.quorum.voters`, canonical.
    pub voters: String,
    /// Channels to peers by address, reused across forwarded requests (heartbeats are
    /// frequent: one TCP connection each would be wasteful).
    pub channels: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Channel>>>,
}

impl Caller {
    /// A caller with an empty channel cache.
    pub fn new(cluster_id: String, node_id: i32, voters: String) -> Self {
        Caller {
            cluster_id,
            node_id,
            voters,
            channels: Default::default(),
        }
    }

    fn channel(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get(addr) {
            return Ok(channel.clone());
        }
        let channel = channel(addr)?;
        channels.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }
}

impl Caller {
    fn message<T: Serialize>(&self, body: &T) -> Result<RaftMessage, serde_json::Error> {
        Ok(RaftMessage {
            cluster_id: self.cluster_id.clone(),
            node_id: self.node_id,
            payload: serde_json::to_vec(body)?,
            voters: self.voters.clone(),
        })
    }
}

/// A lazily connecting channel to `addr` (`host:port`).
pub fn channel(addr: &str) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// Creates one [`GrpcConnection`] per peer.
#[derive(Clone)]
pub struct GrpcNetworkFactory {
    caller: Caller,
    progress: Arc<ReplicationProgress>,
}

impl GrpcNetworkFactory {
    /// A factory stamping messages with `caller` and recording answers in `progress`.
    pub fn new(caller: Caller, progress: Arc<ReplicationProgress>) -> Self {
        GrpcNetworkFactory { caller, progress }
    }
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetworkFactory {
    type Network = GrpcConnection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Self::Network {
        GrpcConnection {
            caller: self.caller.clone(),
            progress: self.progress.clone(),
            target,
            addr: node.addr.clone(),
            client: None,
        }
    }
}

/// Raft RPCs to one peer.
pub struct GrpcConnection {
    caller: Caller,
    progress: Arc<ReplicationProgress>,
    target: NodeId,
    addr: String,
    client: Option<RaftClient<Channel>>,
}

type RpcResult<T, E = RaftError<NodeId>> = Result<T, RPCError<NodeId, BasicNode, E>>;

impl GrpcConnection {
    fn client<E: std::error::Error>(&mut self) -> RpcResult<RaftClient<Channel>, E> {
        if self.client.is_none() {
            let channel =
                channel(&self.addr).map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
            self.client = Some(RaftClient::new(channel));
        }
        self.client.clone().ok_or_else(|| {
            RPCError::Unreachable(Unreachable::new(&std::io::Error::other("no client")))
        })
    }

    async fn call<Req, Resp, E>(
        &mut self,
        kind: &'static str,
        req: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let message = self
            .caller
            .message(req)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut client = self.client()?;
        let request = tonic::Request::new(message);
        let ttl = option.hard_ttl();
        let call = async {
            match kind {
                "append" => client.append_entries(request).await,
                "vote" => client.vote(request).await,
                _ => client.install_snapshot(request).await,
            }
        };
        let response = match tokio::time::timeout(ttl, call).await {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
                return Err(RPCError::Unreachable(Unreachable::new(&status)));
            }
            Ok(Err(status)) => return Err(RPCError::Network(NetworkError::new(&status))),
            Err(elapsed) => return Err(RPCError::Unreachable(Unreachable::new(&elapsed))),
        };
        let result: Result<Resp, E> = serde_json::from_slice(&response.payload)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for GrpcConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        let term = rpc.vote.leader_id().get_term();
        let leader_log_end = self.progress.log_end();
        // The follower's log end once it accepts: after the last entry sent, or after the
        // entry the request follows on from (a heartbeat).
        let sent_end = rpc
            .entries
            .last()
            .map(|e| e.log_id.index + 1)
            .or_else(|| rpc.prev_log_id.map(|l| l.index + 1))
            .unwrap_or(0);
        let sent_ms = wall_clock_ms();
        let result = self.call("append", &rpc, &option).await;
        let follower_log_end = match &result {
            Ok(AppendEntriesResponse::Success) => Some(Some(sent_end)),
            Ok(AppendEntriesResponse::PartialSuccess(matched)) => {
                Some(Some(matched.map_or(0, |l| l.index + 1)))
            }
            Ok(AppendEntriesResponse::Conflict) => Some(None),
            // A newer vote, or no answer: nothing learnt about this term's replication.
            Ok(AppendEntriesResponse::HigherVote(_)) | Err(_) => None,
        };
        if let Some(follower_log_end) = follower_log_end {
            self.progress.answered(
                self.target,
                Answer {
                    term,
                    leader_log_end,
                    follower_log_end,
                    sent_ms,
                    answered_ms: wall_clock_ms(),
                },
            );
        }
        result
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        self.call("snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        self.call("vote", &rpc, &option).await
    }
}

/// Sends a forwarded controller request to the node at `addr` and decodes its answer.
pub async fn forward<Req: Serialize, Resp: DeserializeOwned>(
    caller: &Caller,
    addr: &str,
    request: &Req,
    timeout: Duration,
) -> Result<Resp, String> {
    let message = caller
        .message(request)
        .map_err(|e| format!("cannot encode request: {e}"))?;
    let channel = caller
        .channel(addr)
        .map_err(|e| format!("bad controller address {addr}: {e}"))?;
    let mut client = ControllerClient::new(channel);
    let response = tokio::time::timeout(timeout, client.forward(tonic::Request::new(message)))
        .await
        .map_err(|_| format!("controller at {addr} did not answer within {timeout:?}"))?
        .map_err(|status| format!("controller at {addr}: {}", status.message()))?;
    serde_json::from_slice(&response.into_inner().payload)
        .map_err(|e| format!("bad answer from {addr}: {e}"))
}
