//! One consumer group under the classic protocol: members, generations and the rebalance
//! state machine (Empty → PreparingRebalance → CompletingRebalance → Stable), plus its
//! committed offsets. Synchronous: the coordinator parks requests and calls in here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;
use strata_clock::wall_clock_ms;
use tokio::sync::oneshot;

use crate::error::GroupError;

/// A group's state, with Kafka's names (DescribeGroups, ListGroups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (offsets may remain).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment handed out.
    Stable,
    /// Deleted.
    Dead,
}

impl GroupState {
    /// Kafka's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A JoinGroup request, wire-format free.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The group.
    pub group_id: String,
    /// Empty for a new member.
    pub member_id: String,
    /// Static membership (`group.instance.id`).
    pub group_instance_id: Option<String>,
    /// Client id, for DescribeGroups.
    pub client_id: String,
    /// Client host, for DescribeGroups.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout (-1 before JoinGroup v1: the session timeout).
    pub rebalance_timeout_ms: i32,
    /// "consumer" for consumers.
    pub protocol_type: String,
    /// (assignor name, subscription metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: an unknown member must first get its id (KIP-394).
    pub require_known_member_id: bool,
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResponse {
    /// The generation the member joined.
    pub generation_id: i32,
    /// The chosen protocol type.
    pub protocol_type: String,
    /// The chosen assignor.
    pub protocol_name: String,
    /// The leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// Every member with its subscription metadata, for the leader only.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    /// The protocol type.
    pub protocol_type: String,
    /// The assignor.
    pub protocol_name: String,
    /// This member's assignment.
    pub assignment: Bytes,
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The offset.
    pub offset: i64,
    /// The leader epoch of the record before it (-1 unknown).
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: String,
    /// When it was committed (ms since the epoch).
    pub commit_timestamp_ms: i64,
}

/// One member as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Subscription metadata for the chosen protocol.
    pub metadata: Bytes,
    /// Its current assignment.
    pub assignment: Bytes,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Group id.
    pub group_id: String,
    /// State.
    pub state: GroupState,
    /// Protocol type ("consumer"), empty when none.
    pub protocol_type: String,
    /// Chosen assignor, empty unless Stable or CompletingRebalance.
    pub protocol: String,
    /// Members.
    pub members: Vec<MemberDescription>,
}

pub(crate) type JoinSender = oneshot::Sender<Result<JoinResponse, GroupError>>;
pub(crate) type SyncSender = oneshot::Sender<Result<SyncResponse, GroupError>>;

pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) session_timeout: Duration,
    pub(crate) rebalance_timeout: Duration,
    pub(crate) protocols: Vec<(String, Bytes)>,
    pub(crate) assignment: Bytes,
    pub(crate) last_heartbeat: Instant,
    pub(crate) awaiting_join: Option<JoinSender>,
    pub(crate) awaiting_sync: Option<SyncSender>,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

/// A consumer group.
pub struct Group {
    pub(crate) id: String,
    pub(crate) state: GroupState,
    pub(crate) generation: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED and not yet used (KIP-394), each with
    /// when it expires: a join phase waits for them, but (as Kafka) only for one session
    /// timeout, so an id the client dropped never holds the other members up for longer.
    pub(crate) pending_members: HashMap<String, Instant>,
    /// When the current join phase ends even if members are missing.
    pub(crate) rebalance_deadline: Option<Instant>,
    /// The initial rebalance delay of an empty group: no completion before this.
    pub(crate) initial_delay_until: Option<Instant>,
    pub(crate) offsets: HashMap<(String, i32), CommittedOffset>,
    /// When the group last became empty (ms since the epoch; 0 = never had members here).
    pub(crate) empty_since_ms: i64,
}

impl Group {
    /// An empty group.
    pub fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending_members: HashMap::new(),
            rebalance_deadline: None,
            initial_delay_until: None,
            offsets: HashMap::new(),
            empty_since_ms: 0,
        }
    }

    /// Current state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// Current generation.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Whether `protocols` share an assignor with every current member.
    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    /// The assignor every member supports that most members prefer (Kafka's vote).
    fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&String> = self
            .members
            .values()
            .next()?
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(x, _)| x == *n))
            })
            .collect();
        let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                *votes.entry(name).or_default() += 1;
            }
        }
        candidates
            .iter()
            .max_by_key(|c| (votes.get(*c).copied().unwrap_or(0), std::cmp::Reverse(*c)))
            .map(|c| (*c).clone())
    }

    /// Starts (or extends) a rebalance: every member must rejoin.
    fn prepare_rebalance(&mut self, now: Instant, initial_delay: Duration) {
        if self.state == GroupState::CompletingRebalance {
            // Members waiting in SyncGroup must rejoin.
            for m in self.members.values_mut() {
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(Err(GroupError::RebalanceInProgress));
                }
            }
        }
        let timeout = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::from_secs(60));
        if self.state != GroupState::PreparingRebalance {
            if self.state == GroupState::Empty && !initial_delay.is_zero() {
                self.initial_delay_until = Some(now + initial_delay.min(timeout));
            }
            self.rebalance_deadline = Some(now + timeout);
        }
        self.state = GroupState::PreparingRebalance;
    }

    /// Handles a JoinGroup. Returns the response now, or parks it in the member (completed by
    /// [`Group::maybe_complete_join`]).
    pub(crate) fn join(
        &mut self,
        req: JoinRequest,
        reply: JoinSender,
        now: Instant,
        initial_delay: Duration,
    ) {
        if self.state == GroupState::Dead {
            let _ = reply.send(Err(GroupError::CoordinatorNotAvailable));
            return;
        }
        if !self.supports(&req.protocol_type, &req.protocols) {
            let _ = reply.send(Err(GroupError::InconsistentGroupProtocol));
            return;
        }
        let session_timeout =
            Duration::from_millis(u64::try_from(req.session_timeout_ms).unwrap_or(0));
        let rebalance_timeout = if req.rebalance_timeout_ms > 0 {
            Duration::from_millis(u64::try_from(req.rebalance_timeout_ms).unwrap_or(0))
        } else {
            session_timeout
        };
        let mut member_id = req.member_id.clone();
        if member_id.is_empty() {
            // Static members keep their id across restarts.
            if let Some(instance) = &req.group_instance_id {
                if let Some(existing) = self.member_by_instance(instance) {
                    // A restarted static member replaces its old incarnation, which is fenced:
                    // its requests now get FENCED_INSTANCE_ID (see `validate_member`).
                    let new_id = format!("{instance}-{}", uuid::Uuid::new_v4());
                    if let Some(mut old) = self.members.remove(&existing) {
                        if let Some(tx) = old.awaiting_join.take() {
                            let _ = tx.send(Err(GroupError::FencedInstanceId));
                        }
                        if let Some(tx) = old.awaiting_sync.take() {
                            let _ = tx.send(Err(GroupError::FencedInstanceId));
                        }
                        old.id = new_id.clone();
                        if self.leader.as_deref() == Some(existing.as_str()) {
                            self.leader = Some(new_id.clone());
                        }
                        tracing::info!(group = %self.id, %instance, old = %existing, new = %new_id, "static member rejoined: its old member id is fenced");
                        self.members.insert(new_id.clone(), old);
                    }
                    member_id = new_id;
                } else {
                    // As Kafka: a new static member joins at once, without MEMBER_ID_REQUIRED.
                    member_id = format!("{instance}-{}", uuid::Uuid::new_v4());
                }
            } else {
                member_id = format!("{}-{}", req.client_id, uuid::Uuid::new_v4());
                if req.require_known_member_id {
                    self.pending_members
                        .insert(member_id.clone(), now + session_timeout);
                    let _ = reply.send(Err(GroupError::MemberIdRequired(member_id)));
                    return;
                }
            }
        } else if self.pending_members.contains_key(&member_id) {
            if req.group_instance_id.is_some() {
                // Pending ids are only handed to dynamic members.
                let _ = reply.send(Err(GroupError::FencedInstanceId));
                return;
            }
        } else if let Err(e) =
            self.validate_join_member(&member_id, req.group_instance_id.as_deref())
        {
            let _ = reply.send(Err(e));
            return;
        }
        self.pending_members.remove(&member_id);
        let is_new = !self.members.contains_key(&member_id);
        let changed = match self.members.get(&member_id) {
            Some(m) => m.protocols != req.protocols,
            None => true,
        };
        let member = self
            .members
            .entry(member_id.clone())
            .or_insert_with(|| Member {
                id: member_id.clone(),
                instance_id: req.group_instance_id.clone(),
                client_id: req.client_id.clone(),
                client_host: req.client_host.clone(),
                session_timeout,
                rebalance_timeout,
                protocols: req.protocols.clone(),
                assignment: Bytes::new(),
                last_heartbeat: now,
                awaiting_join: None,
                awaiting_sync: None,
            });
        member.session_timeout = session_timeout;
        member.rebalance_timeout = rebalance_timeout;
        member.protocols = req.protocols.clone();
        member.last_heartbeat = now;
        if let Some(old) = member.awaiting_join.replace(reply) {
            let _ = old.send(Err(GroupError::UnknownMemberId));
        }
        if self.protocol_type.is_none() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        match self.state {
            GroupState::Empty | GroupState::PreparingRebalance => {
                self.prepare_rebalance(now, initial_delay)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                let is_leader = self.leader.as_deref() == Some(member_id.as_str());
                if is_new || changed || (is_leader && self.state == GroupState::Stable) {
                    self.prepare_rebalance(now, initial_delay);
                } else {
                    // Nothing changed: answer with the current generation at once.
                    let response = self.join_response(&member_id);
                    if let Some(tx) = self
                        .members
                        .get_mut(&member_id)
                        .and_then(|m| m.awaiting_join.take())
                    {
                        let _ = tx.send(Ok(response));
                    }
                }
            }
            GroupState::Dead => {}
        }
        self.maybe_complete_join(now);
    }

    fn join_response(&self, member_id: &str) -> JoinResponse {
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let members = if leader == member_id {
            self.members
                .values()
                .map(|m| {
                    (
                        m.id.clone(),
                        m.instance_id.clone(),
                        m.metadata_for(&protocol),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResponse {
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_name: protocol,
            leader,
            member_id: member_id.to_string(),
            members,
        }
    }

    /// Completes the join phase when every member has rejoined (after any initial delay), or
    /// when the rebalance timeout has passed (dropping the members that did not rejoin).
    pub(crate) fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        if self.initial_delay_until.is_some_and(|t| now < t) {
            return;
        }
        let all_joined = self.members.values().all(|m| m.awaiting_join.is_some())
            && self.pending_members.is_empty();
        let timed_out = self.rebalance_deadline.is_some_and(|t| now >= t);
        if !all_joined && !timed_out {
            return;
        }
        if timed_out {
            let gone: Vec<String> = self
                .members
                .values()
                .filter(|m| m.awaiting_join.is_none())
                .map(|m| m.id.clone())
                .collect();
            for id in gone {
                tracing::info!(group = %self.id, member = %id, "member did not rejoin in time: removed");
                self.members.remove(&id);
            }
            self.pending_members.clear();
        }
        self.initial_delay_until = None;
        self.rebalance_deadline = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.empty_since_ms = wall_clock_ms();
            self.protocol = None;
            self.protocol_type = None;
            self.leader = None;
            return;
        }
        self.protocol = self.select_protocol();
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
        }
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let response = self.join_response(&id);
            if let Some(m) = self.members.get_mut(&id) {
                m.last_heartbeat = now;
                if let Some(tx) = m.awaiting_join.take() {
                    let _ = tx.send(Ok(response));
                }
            }
        }
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), protocol = ?self.protocol, "rebalance: members joined");
    }

    /// Forgets the pending member ids (KIP-394) whose session timeout passed without the
    /// client joining with them, then completes the join phase if they were all it awaited.
    pub(crate) fn expire_pending_members(&mut self, now: Instant) {
        let before = self.pending_members.len();
        self.pending_members.retain(|_, expires| now < *expires);
        let expired = before - self.pending_members.len();
        if expired > 0 {
            tracing::info!(group = %self.id, expired, "pending member ids expired unused");
            self.maybe_complete_join(now);
        }
    }

    /// Kafka's `validateMember` (Heartbeat, SyncGroup, OffsetCommit): a request naming a
    /// static instance must carry that instance's current member id; FENCED_INSTANCE_ID when
    /// another incarnation took the instance over, UNKNOWN_MEMBER_ID for an unknown member.
    fn validate_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        if let Some(instance) = instance_id {
            match self.member_by_instance(instance) {
                None => return Err(GroupError::UnknownMemberId),
                Some(current) if current != member_id => return Err(GroupError::FencedInstanceId),
                Some(_) => {}
            }
        }
        if !self.members.contains_key(member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        Ok(())
    }

    /// Kafka's `validateExistingMember` for a JoinGroup with a member id: a static member
    /// whose instance now belongs to another member id (or to none) is fenced.
    fn validate_join_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        match instance_id {
            None if self.members.contains_key(member_id) => Ok(()),
            None => Err(GroupError::UnknownMemberId),
            Some(instance) => match self.member_by_instance(instance) {
                Some(current) if current == member_id => Ok(()),
                _ => Err(GroupError::FencedInstanceId),
            },
        }
    }

    fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        self.validate_member(member_id, instance_id)?;
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// Handles a SyncGroup; `assignments` is non-empty from the leader.
    pub(crate) fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        reply: SyncSender,
        now: Instant,
    ) {
        if let Err(e) = self.check_member(member_id, instance_id, generation) {
            let _ = reply.send(Err(e));
            return;
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_heartbeat = now;
        }
        match self.state {
            GroupState::PreparingRebalance => {
                let _ = reply.send(Err(GroupError::RebalanceInProgress));
            }
            GroupState::Stable => {
                let response = self.sync_response(member_id);
                let _ = reply.send(Ok(response));
            }
            GroupState::CompletingRebalance => {
                if let Some(m) = self.members.get_mut(member_id) {
                    if let Some(old) = m.awaiting_sync.replace(reply) {
                        let _ = old.send(Err(GroupError::RebalanceInProgress));
                    }
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                    }
                    self.state = GroupState::Stable;
                    let ids: Vec<String> = self.members.keys().cloned().collect();
                    for id in ids {
                        let response = self.sync_response(&id);
                        if let Some(tx) = self
                            .members
                            .get_mut(&id)
                            .and_then(|m| m.awaiting_sync.take())
                        {
                            let _ = tx.send(Ok(response));
                        }
                    }
                    tracing::info!(group = %self.id, generation = self.generation, "rebalance complete: assignment handed out");
                }
            }
            GroupState::Empty | GroupState::Dead => {
                let _ = reply.send(Err(GroupError::UnknownMemberId));
            }
        }
    }

    fn sync_response(&self, member_id: &str) -> SyncResponse {
        SyncResponse {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_name: self.protocol.clone().unwrap_or_default(),
            assignment: self
                .members
                .get(member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    /// Handles a Heartbeat.
    pub(crate) fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        self.validate_member(member_id, instance_id)?;
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_heartbeat = now;
        }
        if self.state == GroupState::PreparingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// Removes a member (LeaveGroup, or an expired session) and rebalances the rest.
    pub(crate) fn remove_member(&mut self, member_id: &str, now: Instant) -> bool {
        let Some(mut m) = self.members.remove(member_id) else {
            return false;
        };
        if let Some(tx) = m.awaiting_join.take() {
            let _ = tx.send(Err(GroupError::UnknownMemberId));
        }
        if let Some(tx) = m.awaiting_sync.take() {
            let _ = tx.send(Err(GroupError::UnknownMemberId));
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = None;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                if self.members.is_empty() {
                    self.state = GroupState::Empty;
                    self.empty_since_ms = wall_clock_ms();
                    self.generation += 1;
                    self.protocol = None;
                    self.protocol_type = None;
                } else {
                    self.prepare_rebalance(now, Duration::ZERO);
                }
            }
            GroupState::PreparingRebalance => {
                self.maybe_complete_join(now);
            }
            GroupState::Empty | GroupState::Dead => {}
        }
        true
    }

    /// Finds a member by static instance id (LeaveGroup v3+ by instance).
    pub(crate) fn member_by_instance(&self, instance: &str) -> Option<String> {
        self.members
            .values()
            .find(|m| m.instance_id.as_deref() == Some(instance))
            .map(|m| m.id.clone())
    }

    /// Members whose session expired at `now`.
    pub(crate) fn expired_members(&self, now: Instant) -> Vec<String> {
        self.members
            .values()
            // A member parked in JoinGroup is waiting on us, not silent.
            .filter(|m| m.awaiting_join.is_none())
            .filter(|m| now.duration_since(m.last_heartbeat) > m.session_timeout)
            .map(|m| m.id.clone())
            .collect()
    }

    /// Checks an OffsetCommit's member and generation (generation -1 with no member id is a
    /// simple commit, allowed only when the group has no members); refused with
    /// REBALANCE_IN_PROGRESS only while the group awaits its assignment.
    pub(crate) fn check_commit(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        if generation < 0 && member_id.is_empty() && instance_id.is_none() {
            return if self.members.is_empty() {
                Ok(())
            } else {
                Err(GroupError::IllegalGeneration)
            };
        }
        self.check_member(member_id, instance_id, generation)?;
        // As Kafka: members commit what they processed while the group prepares a rebalance
        // (before they rejoin), so the next owner of a partition starts there; between the
        // join and the assignment there is nothing to commit for.
        if self.state == GroupState::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        Ok(())
    }

    /// Topics the members subscribe to (for the "consumer" protocol, read from their
    /// subscription metadata: int16 version, then an array of topic names).
    pub fn subscribed_topics(&self) -> HashSet<String> {
        let mut topics = HashSet::new();
        if self.protocol_type.as_deref() != Some("consumer") {
            return topics;
        }
        for m in self.members.values() {
            for (_, metadata) in &m.protocols {
                topics.extend(subscription_topics(metadata));
            }
        }
        topics
    }

    /// Offsets of an empty group older than `retention_ms` (Kafka's KIP-211: counted from
    /// when the group became empty, or from the commit for a group never seen with members),
    /// removed and returned so the caller can write their tombstones.
    pub(crate) fn expire_offsets(&mut self, now_ms: i64, retention_ms: i64) -> Vec<(String, i32)> {
        if self.state != GroupState::Empty {
            return Vec::new();
        }
        let empty_since = self.empty_since_ms;
        let expired: Vec<(String, i32)> = self
            .offsets
            .iter()
            .filter(|(_, o)| {
                o.commit_timestamp_ms
                    .max(empty_since)
                    .saturating_add(retention_ms)
                    < now_ms
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in &expired {
            self.offsets.remove(key);
        }
        expired
    }

    /// DescribeGroups view.
    pub fn describe(&self) -> GroupDescription {
        let protocol = self.protocol.clone().unwrap_or_default();
        let show_protocol = matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance
        );
        GroupDescription {
            group_id: self.id.clone(),
            state: self.state,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol: if show_protocol {
                protocol.clone()
            } else {
                String::new()
            },
            members: self
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if show_protocol {
                        m.metadata_for(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if self.state == GroupState::Stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        }
    }

    /// The protocol type (for ListGroups).
    pub fn protocol_type(&self) -> String {
        self.protocol_type.clone().unwrap_or_else(|| {
            // An empty group that only holds offsets is still a consumer group.
            if self.offsets.is_empty() {
                String::new()
            } else {
                "consumer".to_string()
            }
        })
    }
}

/// The newest ConsumerProtocolSubscription version kafka-protocol knows. Later versions only
/// add fields at the end, so Kafka reads them as its newest (`ConsumerProtocol`).
const NEWEST_SUBSCRIPTION_VERSION: i16 = 3;

/// The topics of a consumer's subscription metadata (Kafka's ConsumerProtocolSubscription:
/// an int16 version, then the message); none when it does not decode.
fn subscription_topics(metadata: &Bytes) -> Vec<String> {
    let Some(version) = metadata.get(..2).map(|v| i16::from_be_bytes([v[0], v[1]])) else {
        return Vec::new();
    };
    let mut message = metadata.slice(2..);
    match ConsumerProtocolSubscription::decode(
        &mut message,
        version.clamp(0, NEWEST_SUBSCRIPTION_VERSION),
    ) {
        Ok(subscription) => subscription
            .topics
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
        Err(error) => {
            tracing::debug!(%error, "a member's subscription metadata does not decode");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_join(member_id: &str, session_timeout_ms: i32) -> JoinRequest {
        JoinRequest {
            group_id: "g".to_string(),
            member_id: member_id.to_string(),
            group_instance_id: None,
            client_id: "c".to_string(),
            client_host: "/127.0.0.1".to_string(),
            session_timeout_ms,
            rebalance_timeout_ms: 300_000,
            protocol_type: "consumer".to_string(),
            protocols: vec![("range".to_string(), Bytes::from_static(b"m"))],
            require_known_member_id: true,
        }
    }

    /// Asks for a member id (KIP-394's first JoinGroup) and returns it.
    fn member_id_required(group: &mut Group, now: Instant, session_timeout_ms: i32) -> String {
        let (tx, mut rx) = oneshot::channel();
        group.join(v4_join("", session_timeout_ms), tx, now, Duration::ZERO);
        match rx.try_recv() {
            Ok(Err(GroupError::MemberIdRequired(id))) => id,
            other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
        }
    }

    #[test]
    fn a_dropped_member_id_holds_a_join_for_one_session_timeout_at_most() {
        let start = Instant::now();
        let mut group = Group::new("g");
        let used = member_id_required(&mut group, start, 10_000);
        // A second client is handed an id and never uses it (librdkafka drops the answer
        // when its subscription changes under it).
        let _dropped = member_id_required(&mut group, start, 6_000);
        let (tx, mut rx) = oneshot::channel();
        group.join(v4_join(&used, 10_000), tx, start, Duration::ZERO);
        assert_eq!(group.state(), GroupState::PreparingRebalance);
        assert!(rx.try_recv().is_err(), "waits for the pending id for now");
        // Not yet past the dropped id's session timeout: still waiting.
        group.expire_pending_members(start + Duration::from_millis(5_900));
        assert!(rx.try_recv().is_err());
        // Past it: the id is forgotten and the join completes for the member that is there,
        // long before the 300 s rebalance timeout.
        group.expire_pending_members(start + Duration::from_millis(6_001));
        let joined = rx.try_recv().expect("answered").expect("joined");
        assert_eq!(joined.generation_id, 1);
        assert_eq!(joined.members.len(), 1);
        assert!(group.pending_members.is_empty());
        assert_eq!(group.state(), GroupState::CompletingRebalance);
    }

    #[test]
    fn an_expired_pending_id_is_unknown() {
        let start = Instant::now();
        let mut group = Group::new("g");
        let id = member_id_required(&mut group, start, 6_000);
        group.expire_pending_members(start + Duration::from_secs(7));
        let (tx, mut rx) = oneshot::channel();
        group.join(v4_join(&id, 6_000), tx, start, Duration::ZERO);
        assert_eq!(rx.try_recv(), Ok(Err(GroupError::UnknownMemberId)));
    }

    #[test]
    fn subscription_topics_are_read_without_panicking() {
        // Version 0: two topics, null user data.
        let mut v = vec![
            0u8, 0, 0, 0, 0, 2, 0, 1, b'a', 0, 2, b'b', b'c', 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(
            subscription_topics(&Bytes::from(v.clone())),
            vec!["a", "bc"]
        );
        // A version newer than any known reads as the newest (its new fields come last).
        let mut newer = v.clone();
        newer[1] = 9;
        newer.extend([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(subscription_topics(&Bytes::from(newer)), vec!["a", "bc"]);
        v.truncate(9);
        assert!(subscription_topics(&Bytes::from(v)).is_empty());
        assert!(subscription_topics(&Bytes::from_static(b"\x00")).is_empty());
        // A count of two billion topics in a few bytes.
        let huge = [0u8, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, b'a'];
        assert!(subscription_topics(&Bytes::copy_from_slice(&huge)).is_empty());
    }
}
