//! The group coordinator: the groups this node coordinates, the waits of JoinGroup and
//! SyncGroup, and a ticker that completes rebalances and expires sessions.
//!
//! Committed offsets live in memory here; the `__consumer_offsets` log that makes them survive
//! the loss of this node is written by the caller (the protocol layer) before it acknowledges
//! a commit, and read back through [`GroupCoordinator::load_offsets`] when this node becomes
//! the coordinator of a partition.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::error::GroupError;
use crate::group::{
    CommittedOffset, Group, GroupDescription, GroupState, JoinRequest, JoinResponse, SyncResponse,
};

/// How often rebalance deadlines and sessions are checked.
pub const TICK_MS: u64 = 100;

/// Coordinator settings (Kafka's broker config names).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms` (Kafka: 6 s).
    pub min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms` (Kafka: 30 min).
    pub max_session_timeout_ms: u64,
    /// `group.initial.rebalance.delay.ms` (Kafka: 3 s): how long a group that was empty waits
    /// for more members before its first generation.
    pub initial_rebalance_delay_ms: u64,
    /// `group.max.size` (Kafka: unbounded).
    pub max_size: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            max_size: usize::MAX,
        }
    }
}

/// The groups of one node; cheap to clone.
#[derive(Clone)]
pub struct GroupCoordinator {
    inner: Arc<Inner>,
}

struct Inner {
    config: GroupConfig,
    groups: Mutex<HashMap<String, Group>>,
}

impl GroupCoordinator {
    /// A coordinator with no groups; starts its ticker on the current tokio runtime.
    pub fn new(config: GroupConfig) -> Self {
        let coordinator = GroupCoordinator {
            inner: Arc::new(Inner {
                config,
                groups: Mutex::new(HashMap::new()),
            }),
        };
        tokio::spawn(tick(Arc::downgrade(&coordinator.inner)));
        coordinator
    }

    fn groups(&self) -> MutexGuard<'_, HashMap<String, Group>> {
        self.inner
            .groups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// JoinGroup: returns when this member's join phase completes (or is refused).
    pub async fn join(&self, req: JoinRequest) -> Result<JoinResponse, GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let config = &self.inner.config;
        let timeout = u64::try_from(req.session_timeout_ms).unwrap_or(0);
        if timeout < config.min_session_timeout_ms || timeout > config.max_session_timeout_ms {
            return Err(GroupError::InvalidSessionTimeout {
                timeout_ms: req.session_timeout_ms,
                min_ms: config.min_session_timeout_ms,
                max_ms: config.max_session_timeout_ms,
            });
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut groups = self.groups();
            let group = groups
                .entry(req.group_id.clone())
                .or_insert_with(|| Group::new(&req.group_id));
            if group.members.len() >= config.max_size && !group.members.contains_key(&req.member_id)
            {
                return Err(GroupError::GroupMaxSizeReached);
            }
            let delay = Duration::from_millis(config.initial_rebalance_delay_ms);
            group.join(req, tx, Instant::now(), delay);
        }
        rx.await.unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// SyncGroup: returns this member's assignment once the leader has sent it.
    pub async fn sync(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<SyncResponse, GroupError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut groups = self.groups();
            let Some(group) = groups.get_mut(group_id) else {
                return Err(GroupError::UnknownMemberId);
            };
            group.sync(
                member_id,
                instance_id,
                generation,
                assignments,
                tx,
                Instant::now(),
            );
        }
        rx.await.unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// Heartbeat; `instance_id` is the static member's `group.instance.id` (v3+).
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        let mut groups = self.groups();
        match groups.get_mut(group_id) {
            Some(group) => group.heartbeat(member_id, instance_id, generation, Instant::now()),
            None => Err(GroupError::UnknownMemberId),
        }
    }

    /// LeaveGroup of one member, by member id or (v3+) by static instance id.
    pub fn leave(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        let mut groups = self.groups();
        let Some(group) = groups.get_mut(group_id) else {
            return Err(GroupError::UnknownMemberId);
        };
        let id = match instance_id {
            Some(instance) => match group.member_by_instance(instance) {
                Some(id) if member_id.is_empty() || id == member_id => id,
                Some(_) => return Err(GroupError::FencedInstanceId),
                None => return Err(GroupError::UnknownMemberId),
            },
            None => member_id.to_string(),
        };
        if group.remove_member(&id, Instant::now()) {
            tracing::info!(group = group_id, member = %id, "member left the group");
            Ok(())
        } else {
            Err(GroupError::UnknownMemberId)
        }
    }

    /// Checks an OffsetCommit before the caller persists it.
    pub fn check_commit(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let groups = self.groups();
        match groups.get(group_id) {
            Some(group) => group.check_commit(member_id, instance_id, generation),
            None if generation < 0 => Ok(()),
            None => Err(GroupError::IllegalGeneration),
        }
    }

    /// Stores committed offsets (after the caller persisted them).
    pub fn store_offsets(&self, group_id: &str, offsets: Vec<((String, i32), CommittedOffset)>) {
        let mut groups = self.groups();
        let group = groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id));
        if group.state == GroupState::Dead {
            group.state = GroupState::Empty;
        }
        for (key, offset) in offsets {
            group.offsets.insert(key, offset);
        }
    }

    /// Restores offsets read back from `__consumer_offsets` (a `None` removes the entry:
    /// a tombstone). Members are not restored: they rejoin a new coordinator.
    pub fn load_offsets(
        &self,
        group_id: &str,
        offsets: Vec<((String, i32), Option<CommittedOffset>)>,
    ) {
        let mut groups = self.groups();
        let group = groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id));
        for (key, offset) in offsets {
            match offset {
                Some(o) => {
                    group.offsets.insert(key, o);
                }
                None => {
                    group.offsets.remove(&key);
                }
            }
        }
    }

    /// Committed offsets of a group: all of them, or those of `partitions` (a partition
    /// without a commit is absent).
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Vec<((String, i32), CommittedOffset)> {
        let groups = self.groups();
        let Some(group) = groups.get(group_id) else {
            return Vec::new();
        };
        let mut found: Vec<_> = match partitions {
            Some(wanted) => wanted
                .iter()
                .filter_map(|k| group.offsets.get(k).map(|o| (k.clone(), o.clone())))
                .collect(),
            None => group
                .offsets
                .iter()
                .map(|(k, o)| (k.clone(), o.clone()))
                .collect(),
        };
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    /// Groups with their state and protocol type (ListGroups).
    pub fn list(&self) -> Vec<(String, GroupState, String)> {
        let groups = self.groups();
        let mut out: Vec<_> = groups
            .values()
            .filter(|g| g.state != GroupState::Dead)
            .filter(|g| !(g.members.is_empty() && g.offsets.is_empty()))
            .map(|g| (g.id.clone(), g.state, g.protocol_type()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// DescribeGroups of one group (Dead with no members when unknown, as Kafka).
    pub fn describe(&self, group_id: &str) -> GroupDescription {
        let groups = self.groups();
        match groups.get(group_id) {
            Some(g) => g.describe(),
            None => GroupDescription {
                group_id: group_id.to_string(),
                state: GroupState::Dead,
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            },
        }
    }

    /// DeleteGroups of one group: only an empty group (with or without offsets).
    pub fn delete(&self, group_id: &str) -> Result<(), GroupError> {
        let mut groups = self.groups();
        match groups.get(group_id) {
            None => Err(GroupError::GroupIdNotFound),
            Some(g) if g.state == GroupState::Dead => Err(GroupError::GroupIdNotFound),
            Some(g) if !g.members.is_empty() => Err(GroupError::NonEmptyGroup),
            Some(_) => {
                groups.remove(group_id);
                Ok(())
            }
        }
    }

    /// OffsetDelete: removes the offsets of `partitions`, except those of topics the group's
    /// members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC, per partition). The caller writes the
    /// tombstones for the `Ok` ones.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        let mut groups = self.groups();
        let Some(group) = groups
            .get_mut(group_id)
            .filter(|g| g.state != GroupState::Dead)
        else {
            return Err(GroupError::GroupIdNotFound);
        };
        let subscribed = group.subscribed_topics();
        Ok(partitions
            .iter()
            .map(|key| {
                if subscribed.contains(&key.0) {
                    Err(GroupError::GroupSubscribedToTopic)
                } else {
                    group.offsets.remove(key);
                    Ok(())
                }
            })
            .collect())
    }

    /// Forgets the groups `owned` says this node no longer coordinates (their partition moved
    /// away): members waiting in JoinGroup or SyncGroup get NOT_COORDINATOR-like errors and
    /// rejoin the new coordinator.
    pub fn unload(&self, owned: impl Fn(&str) -> bool) {
        let mut groups = self.groups();
        let gone: Vec<String> = groups.keys().filter(|g| !owned(g)).cloned().collect();
        for id in gone {
            if let Some(mut group) = groups.remove(&id) {
                for m in group.members.values_mut() {
                    if let Some(tx) = m.awaiting_join.take() {
                        let _ = tx.send(Err(GroupError::CoordinatorNotAvailable));
                    }
                    if let Some(tx) = m.awaiting_sync.take() {
                        let _ = tx.send(Err(GroupError::CoordinatorNotAvailable));
                    }
                }
                tracing::info!(group = %id, "group unloaded: its offsets partition moved away");
            }
        }
    }

    /// Expires the offsets of empty groups older than `retention_ms`
    /// (`offsets.retention.minutes`); returns them per group for tombstones. A group left with
    /// neither members nor offsets is forgotten.
    pub fn expire_offsets(&self, retention_ms: i64) -> Vec<(String, Vec<(String, i32)>)> {
        let now = strata_clock::wall_clock_ms();
        let mut groups = self.groups();
        let mut out = Vec::new();
        for group in groups.values_mut() {
            let expired = group.expire_offsets(now, retention_ms);
            if !expired.is_empty() {
                tracing::info!(group = %group.id, partitions = expired.len(), "committed offsets expired");
                out.push((group.id.clone(), expired));
            }
        }
        groups.retain(|_, g| !(g.state == GroupState::Empty && g.offsets.is_empty()));
        out
    }

    fn on_tick(&self) {
        let now = Instant::now();
        let mut groups = self.groups();
        for group in groups.values_mut() {
            for member in group.expired_members(now) {
                tracing::info!(group = %group.id, %member, "member session expired");
                group.remove_member(&member, now);
            }
            group.expire_pending_members(now);
            group.maybe_complete_join(now);
        }
    }
}

async fn tick(inner: std::sync::Weak<Inner>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(TICK_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        GroupCoordinator { inner }.on_tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join_req(group: &str, member: &str, v4: bool) -> JoinRequest {
        JoinRequest {
            group_id: group.to_string(),
            member_id: member.to_string(),
            group_instance_id: None,
            client_id: "c".to_string(),
            client_host: "/127.0.0.1".to_string(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 2_000,
            protocol_type: "consumer".to_string(),
            protocols: vec![("range".to_string(), Bytes::from_static(b"m"))],
            require_known_member_id: v4,
        }
    }

    fn coordinator() -> GroupCoordinator {
        GroupCoordinator::new(GroupConfig {
            initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        })
    }

    #[tokio::test]
    async fn two_members_join_sync_and_leave() {
        let c = coordinator();
        let err = c.join(join_req("g", "", true)).await.unwrap_err();
        let GroupError::MemberIdRequired(id1) = err else {
            panic!("{err:?}")
        };
        let first = c.join(join_req("g", &id1, true)).await.unwrap();
        assert_eq!(first.generation_id, 1);
        assert_eq!(first.leader, id1);
        assert_eq!(first.members.len(), 1);
        let s = c
            .sync(
                "g",
                &id1,
                None,
                1,
                vec![(id1.clone(), Bytes::from_static(b"a1"))],
            )
            .await
            .unwrap();
        assert_eq!(s.assignment, Bytes::from_static(b"a1"));
        // A second member: the first sees REBALANCE_IN_PROGRESS and rejoins.
        let GroupError::MemberIdRequired(id2) = c.join(join_req("g", "", true)).await.unwrap_err()
        else {
            panic!()
        };
        let c2 = c.clone();
        let second = tokio::spawn(async move { c2.join(join_req("g", &id2, true)).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            c.heartbeat("g", &id1, None, 1),
            Err(GroupError::RebalanceInProgress)
        );
        let again = c.join(join_req("g", &id1, true)).await.unwrap();
        let second = second.await.unwrap().unwrap();
        assert_eq!(again.generation_id, 2);
        assert_eq!(second.generation_id, 2);
        assert_eq!(again.members.len(), 2, "the leader gets every member");
        assert!(second.members.is_empty());
        assert_eq!(c.describe("g").state, GroupState::CompletingRebalance);
        assert_eq!(
            c.sync("g", &second.member_id, None, 1, vec![]).await,
            Err(GroupError::IllegalGeneration)
        );
        c.leave("g", &second.member_id, None).unwrap();
        assert_eq!(c.describe("g").state, GroupState::PreparingRebalance);
        assert_eq!(
            c.check_commit("g", "nobody", None, 2),
            Err(GroupError::UnknownMemberId)
        );
    }

    #[tokio::test]
    async fn a_restarted_static_member_keeps_its_assignment_without_a_rebalance() {
        let c = coordinator();
        let mut leader_req = join_req("s", "", false);
        leader_req.group_instance_id = Some("i-1".to_string());
        let leader = c.join(leader_req.clone()).await.unwrap();
        let mut follower_req = join_req("s", "", false);
        follower_req.group_instance_id = Some("i-2".to_string());
        let c2 = c.clone();
        let follower = tokio::spawn(async move { c2.join(follower_req).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let leader = c
            .join(join_req("s", &leader.member_id, false))
            .await
            .unwrap();
        let follower = follower.await.unwrap().unwrap();
        let generation = leader.generation_id;
        let c3 = c.clone();
        let follower_id = follower.member_id.clone();
        let pending =
            tokio::spawn(async move { c3.sync("s", &follower_id, None, generation, vec![]).await });
        c.sync(
            "s",
            &leader.member_id,
            None,
            generation,
            vec![
                (leader.member_id.clone(), Bytes::from_static(b"L")),
                (follower.member_id.clone(), Bytes::from_static(b"F")),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            pending.await.unwrap().unwrap().assignment,
            Bytes::from_static(b"F")
        );
        // The follower's process restarts: same instance id, no member id.
        let mut again = join_req("s", "", false);
        again.group_instance_id = Some("i-2".to_string());
        let rejoined = c.join(again).await.unwrap();
        assert_eq!(rejoined.generation_id, generation, "no rebalance");
        assert_ne!(rejoined.member_id, follower.member_id, "a new member id");
        let s = c
            .sync("s", &rejoined.member_id, None, generation, vec![])
            .await
            .unwrap();
        assert_eq!(
            s.assignment,
            Bytes::from_static(b"F"),
            "its assignment is kept"
        );
        assert_eq!(c.describe("s").state, GroupState::Stable);
        // The old incarnation is fenced: its requests name the instance with its old member
        // id, and get FENCED_INSTANCE_ID (fatal for the client) rather than UNKNOWN_MEMBER_ID,
        // which would make it rejoin and fence the new incarnation in turn.
        let old = follower.member_id.as_str();
        assert_eq!(
            c.heartbeat("s", old, Some("i-2"), generation),
            Err(GroupError::FencedInstanceId)
        );
        assert_eq!(
            c.sync("s", old, Some("i-2"), generation, vec![]).await,
            Err(GroupError::FencedInstanceId)
        );
        assert_eq!(
            c.check_commit("s", old, Some("i-2"), generation),
            Err(GroupError::FencedInstanceId)
        );
        let mut stale_join = join_req("s", old, false);
        stale_join.group_instance_id = Some("i-2".to_string());
        assert_eq!(c.join(stale_join).await, Err(GroupError::FencedInstanceId));
        // Without the instance id the old member id is simply unknown.
        assert_eq!(
            c.heartbeat("s", old, None, generation),
            Err(GroupError::UnknownMemberId)
        );
        // The new incarnation is unaffected.
        assert_eq!(
            c.heartbeat("s", &rejoined.member_id, Some("i-2"), generation),
            Ok(())
        );
        assert_eq!(c.describe("s").state, GroupState::Stable);
    }

    #[tokio::test]
    async fn offsets_of_empty_groups_expire() {
        let c = coordinator();
        let old = CommittedOffset {
            offset: 5,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: 1,
        };
        c.store_offsets("g", vec![(("t".to_string(), 0), old)]);
        assert_eq!(c.fetch_offsets("g", None).len(), 1);
        assert!(c.expire_offsets(i64::MAX / 2).is_empty(), "not yet");
        assert_eq!(
            c.expire_offsets(1000),
            vec![("g".to_string(), vec![("t".to_string(), 0)])]
        );
        assert!(c.fetch_offsets("g", None).is_empty());
        assert!(c.list().is_empty());
    }

    #[tokio::test]
    async fn bad_input_gets_kafka_errors() {
        let c = coordinator();
        assert_eq!(
            c.join(join_req("", "", true)).await,
            Err(GroupError::InvalidGroupId)
        );
        let mut short = join_req("g", "", false);
        short.session_timeout_ms = 10;
        assert!(matches!(
            c.join(short).await,
            Err(GroupError::InvalidSessionTimeout { .. })
        ));
        assert_eq!(
            c.join(join_req("g", "ghost", true)).await,
            Err(GroupError::UnknownMemberId)
        );
        let ok = c.join(join_req("g", "", false)).await.unwrap();
        let mut other = join_req("g", "", false);
        other.protocol_type = "connect".to_string();
        assert_eq!(
            c.join(other).await,
            Err(GroupError::InconsistentGroupProtocol)
        );
        assert_eq!(
            c.heartbeat("g", &ok.member_id, None, 7),
            Err(GroupError::IllegalGeneration)
        );
        assert_eq!(c.delete("g"), Err(GroupError::NonEmptyGroup));
        assert_eq!(c.delete("nope"), Err(GroupError::GroupIdNotFound));
    }
}
