//! The server side of the controller listener: Raft RPCs from peer voters and controller
//! requests forwarded by other nodes. Messages from another cluster are refused.

use tonic::{Request, Response, Status};

use super::proto::controller_server::{Controller as ControllerRpc, ControllerServer};
use super::proto::raft_server::{Raft as RaftRpc, RaftServer};
use super::proto::RaftMessage;
use super::types::Raft;
use crate::{Controller, ControllerRequest};

/// Largest gRPC message accepted (snapshots travel whole; the metadata image is small).
pub const MAX_RPC_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Serves Raft RPCs and forwarded requests for one node.
#[derive(Clone)]
pub struct ControllerService {
    raft: Raft,
    controller: Controller,
    cluster_id: String,
    node_id: i32,
    voters: String,
}

impl ControllerService {
    /// A service over this node's Raft and controller.
    pub fn new(
        raft: Raft,
        controller: Controller,
        cluster_id: String,
        node_id: i32,
        voters: String,
    ) -> Self {
        ControllerService {
            raft,
            controller,
            cluster_id,
            node_id,
            voters,
        }
    }

    /// The tonic services to add to a server.
    pub fn into_servers(
        self,
    ) -> (
        RaftServer<ControllerService>,
        ControllerServer<ControllerService>,
    ) {
        (
            RaftServer::new(self.clone())
                .max_decoding_message_size(MAX_RPC_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_RPC_MESSAGE_BYTES),
            ControllerServer::new(self)
                .max_decoding_message_size(MAX_RPC_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_RPC_MESSAGE_BYTES),
        )
    }

    fn check<'a>(&self, message: &'a RaftMessage, what: &str) -> Result<&'a [u8], Status> {
        if message.cluster_id != self.cluster_id {
            tracing::warn!(
                from = message.node_id,
                their_cluster = %message.cluster_id,
                our_cluster = %self.cluster_id,
                "refusing {what} from a node of another cluster"
            );
            return Err(Status::permission_denied(format!(
                "node {} belongs to cluster {}, not {}",
                self.node_id, self.cluster_id, message.cluster_id
            )));
        }
        if !message.voters.is_empty() && message.voters != self.voters {
            tracing::warn!(
                from = message.node_id,
                their_voters = %message.voters,
                our_voters = %self.voters,
                "refusing {what} from a node with a different controller.quorum.voters"
            );
            return Err(Status::failed_precondition(format!(
                "node {} has controller.quorum.voters={}, but node {} has {}: every node must list the same voters",
                self.node_id, self.voters, message.node_id, message.voters
            )));
        }
        Ok(&message.payload)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        message: &RaftMessage,
        what: &str,
    ) -> Result<T, Status> {
        let payload = self.check(message, what)?;
        serde_json::from_slice(payload).map_err(|e| {
            tracing::warn!(from = message.node_id, error = %e, "refusing a garbled {what}");
            Status::invalid_argument(format!("garbled {what}: {e}"))
        })
    }

    fn reply<T: serde::Serialize>(&self, body: &T) -> Result<Response<RaftMessage>, Status> {
        let payload = serde_json::to_vec(body)
            .map_err(|e| Status::internal(format!("cannot encode reply: {e}")))?;
        Ok(Response::new(RaftMessage {
            cluster_id: self.cluster_id.clone(),
            node_id: self.node_id,
            payload,
            voters: self.voters.clone(),
        }))
    }
}

#[tonic::async_trait]
impl RaftRpc for ControllerService {
    async fn append_entries(
        &self,
        request: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let rpc: openraft::raft::AppendEntriesRequest<super::types::TypeConfig> =
            self.decode(request.get_ref(), "AppendEntries")?;
        let leader = rpc.vote.leader_id().voted_for();
        let response = self.raft.append_entries(rpc).await;
        // Accepted (any answer but a higher vote): the leader's lease on this voter was renewed.
        if let (Some(leader), Ok(answer)) = (leader, &response) {
            if !matches!(answer, openraft::raft::AppendEntriesResponse::HigherVote(_)) {
                self.controller.heard_from_leader(leader);
            }
        }
        self.reply(&response)
    }

    async fn vote(&self, request: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let rpc = self.decode(request.get_ref(), "Vote")?;
        self.reply(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let rpc: openraft::raft::InstallSnapshotRequest<super::types::TypeConfig> =
            self.decode(request.get_ref(), "InstallSnapshot")?;
        let sent = *rpc.vote.leader_id();
        let response = self.raft.install_snapshot(rpc).await;
        // Accepted (this voter now holds the sender's vote): like AppendEntries, a snapshot
        // chunk renews the leader's lease here.
        if let (Some(leader), Ok(answer)) = (sent.voted_for(), &response) {
            if *answer.vote.leader_id() == sent {
                self.controller.heard_from_leader(leader);
            }
        }
        self.reply(&response)
    }
}

#[tonic::async_trait]
impl ControllerRpc for ControllerService {
    async fn forward(
        &self,
        request: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let req: ControllerRequest = self.decode(request.get_ref(), "controller request")?;
        let response = self.controller.handle_locally(req).await;
        self.reply(&response)
    }
}
