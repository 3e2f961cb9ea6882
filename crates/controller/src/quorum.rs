//! DescribeQuorum: the metadata quorum as the active controller sees it.

use super::*;

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

impl Controller {
    /// The quorum as the active controller sees it.
    pub async fn describe_quorum(&self) -> Result<QuorumInfo, ControllerError> {
        match self.submit(ControllerRequest::DescribeQuorum).await {
            ControllerResponse::Quorum(info) => Ok(info),
            other => Err(unexpected(other)),
        }
    }

    pub(crate) fn local_quorum_info(&self) -> QuorumInfo {
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
}
