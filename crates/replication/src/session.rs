//! Replica fetch sessions, as Kafka's (KIP-227): the leader remembers, per follower, the
//! partitions of its fetch and where the follower stands on each, so the follower's later
//! fetches carry only what changed. Without them every fetch round carries every followed
//! partition both ways; with thousands of partitions and a round per produce request, that
//! encoding and decoding alone kept brokers busy at a hundred records a second.
//!
//! Both halves live here: [`LeaderSessions`] (the leader's cache) and [`FollowerSession`]
//! (what the follower last sent). Neither knows the transport beyond the request's fields.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use strata_broker::{ReplicaFetchPartition, SessionMemo};

/// At most this many sessions are kept by a leader; the least recently used goes first. A
/// follower holds one session per leader, so this only bounds what bad requests can pin.
pub const MAX_REPLICA_FETCH_SESSIONS: usize = 1_000;
/// A session unused this long is dropped (its follower is gone or fetches elsewhere).
pub const SESSION_IDLE_EVICT: Duration = Duration::from_secs(120);

/// Kafka's `FETCH_SESSION_ID_NOT_FOUND`.
pub const FETCH_SESSION_ID_NOT_FOUND: i32 = 70;
/// Kafka's `INVALID_FETCH_SESSION_EPOCH`.
pub const INVALID_FETCH_SESSION_EPOCH: i32 = 71;

/// A partition's key in a session.
pub type PartitionKey = (String, i32);

/// The epoch after `epoch` (Kafka's `nextEpoch`: wraps to 1, never back to 0, which means
/// "full fetch").
pub fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// One follower's session on the leader.
#[derive(Debug)]
pub struct LeaderSession {
    /// The session id handed to the follower.
    pub id: i32,
    /// The epoch its next incremental fetch must carry.
    pub next_epoch: i32,
    /// The partitions served on every fetch of the session, as the follower last described
    /// them.
    partitions: Vec<ReplicaFetchPartition>,
    /// Position of each partition in `partitions`.
    index: HashMap<PartitionKey, usize>,
    /// Partitions the fetch being served described anew (parallel to `partitions`).
    requested: Vec<bool>,
    /// What the broker keeps between this session's fetches.
    memo: SessionMemo,
    last_used: Instant,
}

impl LeaderSession {
    fn new(id: i32, partitions: Vec<ReplicaFetchPartition>) -> Self {
        let mut session = LeaderSession {
            id,
            next_epoch: 1,
            partitions: Vec::with_capacity(partitions.len()),
            index: HashMap::with_capacity(partitions.len()),
            requested: Vec::with_capacity(partitions.len()),
            memo: SessionMemo::default(),
            last_used: Instant::now(),
        };
        for p in partitions {
            session.upsert(p);
        }
        session
    }

    /// Every partition of the session, in a stable order.
    pub fn partitions(&self) -> &[ReplicaFetchPartition] {
        &self.partitions
    }

    /// What a fetch of the session is served from: every partition, which of them the
    /// follower described anew in this fetch, and the broker's memo of earlier fetches.
    pub fn fetch_view(&mut self) -> (&[ReplicaFetchPartition], &[bool], &mut SessionMemo) {
        (&self.partitions, &self.requested, &mut self.memo)
    }

    /// Marks the fetch served: the next one's `requested` starts empty.
    pub fn served(&mut self) {
        self.requested.fill(false);
    }

    /// Adds a partition or replaces what the session knew of it.
    pub fn upsert(&mut self, p: ReplicaFetchPartition) {
        match self.index.get(&(p.topic.clone(), p.partition)) {
            Some(&at) => {
                self.partitions[at] = p;
                self.requested[at] = true;
            }
            None => {
                self.index
                    .insert((p.topic.clone(), p.partition), self.partitions.len());
                self.partitions.push(p);
                self.requested.push(true);
                self.memo.reset();
            }
        }
    }

    /// Drops a partition from the session (nothing when it is not in it).
    pub fn remove(&mut self, topic: &str, partition: i32) {
        let Some(at) = self.index.remove(&(topic.to_string(), partition)) else {
            return;
        };
        self.partitions.swap_remove(at);
        self.requested.swap_remove(at);
        self.memo.reset();
        if let Some(moved) = self.partitions.get(at) {
            self.index
                .insert((moved.topic.clone(), moved.partition), at);
        }
        debug_assert_eq!(self.index.len(), self.partitions.len());
    }
}

/// Why an incremental fetch names no usable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// No such session (the leader restarted, or evicted it): Kafka's
    /// `FETCH_SESSION_ID_NOT_FOUND`.
    NotFound,
    /// The session exists but the epoch is not the next one (a request or answer was lost):
    /// Kafka's `INVALID_FETCH_SESSION_EPOCH`.
    InvalidEpoch,
}

impl SessionError {
    /// The Kafka error code sent back.
    pub fn code(self) -> i32 {
        match self {
            SessionError::NotFound => FETCH_SESSION_ID_NOT_FOUND,
            SessionError::InvalidEpoch => INVALID_FETCH_SESSION_EPOCH,
        }
    }
}

/// The leader's sessions, one per follower node.
#[derive(Debug, Default)]
pub struct LeaderSessions {
    by_replica: HashMap<i32, LeaderSession>,
    last_id: i32,
}

impl LeaderSessions {
    /// Opens a session for `replica` over `partitions` (a full fetch), replacing its previous
    /// one. The session is handed out for the fetch; [`LeaderSessions::put_back`] keeps it.
    pub fn open(&mut self, replica: i32, partitions: Vec<ReplicaFetchPartition>) -> LeaderSession {
        self.by_replica.remove(&replica);
        self.evict(Instant::now());
        self.last_id = if self.last_id == i32::MAX {
            1
        } else {
            self.last_id + 1
        };
        LeaderSession::new(self.last_id, partitions)
    }

    /// Takes `replica`'s session `id` for an incremental fetch of `epoch`. A wrong epoch
    /// drops the session: the follower starts over with a full fetch.
    pub fn take(
        &mut self,
        replica: i32,
        id: i32,
        epoch: i32,
    ) -> Result<LeaderSession, SessionError> {
        match self.by_replica.get(&replica) {
            Some(s) if s.id == id => {}
            _ => return Err(SessionError::NotFound),
        }
        let session = self
            .by_replica
            .remove(&replica)
            .ok_or(SessionError::NotFound)?;
        if session.next_epoch != epoch {
            return Err(SessionError::InvalidEpoch);
        }
        Ok(session)
    }

    /// Keeps `session` after a served fetch; its next fetch must carry the next epoch. A
    /// session the follower opened while this one was being served (it gave up waiting and
    /// started over) wins: the served one is dropped.
    pub fn put_back(&mut self, replica: i32, mut session: LeaderSession, served_epoch: i32) {
        session.next_epoch = next_epoch(served_epoch);
        session.last_used = Instant::now();
        self.by_replica.entry(replica).or_insert(session);
        if self.by_replica.len() > MAX_REPLICA_FETCH_SESSIONS {
            self.evict(Instant::now());
        }
    }

    /// Sessions kept now.
    pub fn len(&self) -> usize {
        self.by_replica.len()
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.by_replica.is_empty()
    }

    /// Drops idle sessions, then the least recently used ones over the limit.
    fn evict(&mut self, now: Instant) {
        self.by_replica
            .retain(|_, s| now.duration_since(s.last_used) < SESSION_IDLE_EVICT);
        while self.by_replica.len() >= MAX_REPLICA_FETCH_SESSIONS {
            let Some(oldest) = self
                .by_replica
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(&r, _)| r)
            else {
                break;
            };
            self.by_replica.remove(&oldest);
        }
    }
}

/// What a follower has told one leader's session so far, and what it must tell it next.
#[derive(Debug, Default)]
pub struct FollowerSession {
    /// The session id, 0 before the first answered full fetch.
    pub id: i32,
    /// The epoch of the last answered fetch.
    pub epoch: i32,
    /// Each partition as the leader's session knows it.
    sent: HashMap<PartitionKey, ReplicaFetchPartition>,
}

/// The partitions one fetch carries.
#[derive(Debug, Default)]
pub struct FetchPlan {
    /// 0 for a full fetch.
    pub session_id: i32,
    /// 0 for a full fetch.
    pub session_epoch: i32,
    /// Partitions to add or update (every partition for a full fetch).
    pub partitions: Vec<ReplicaFetchPartition>,
    /// Partitions to drop from the session.
    pub removed: Vec<PartitionKey>,
}

impl FollowerSession {
    /// The next fetch, for the follower's current view `current`: a full one when there is no
    /// session yet, else only the partitions of `dirty` that differ from what was sent, and
    /// those sent but no longer in `current`.
    pub fn plan(
        &self,
        current: &HashMap<PartitionKey, ReplicaFetchPartition>,
        dirty: &HashSet<PartitionKey>,
        full_check: bool,
    ) -> FetchPlan {
        if self.id == 0 {
            return FetchPlan {
                partitions: current.values().cloned().collect(),
                ..FetchPlan::default()
            };
        }
        let changed = |key: &PartitionKey, p: &ReplicaFetchPartition| {
            self.sent.get(key).is_none_or(|sent| sent != p)
        };
        let partitions = if full_check {
            current
                .iter()
                .filter(|(k, p)| changed(k, p))
                .map(|(_, p)| p.clone())
                .collect()
        } else {
            dirty
                .iter()
                .filter_map(|k| current.get(k).filter(|p| changed(k, p)).cloned())
                .collect()
        };
        let removed = self
            .sent
            .keys()
            .filter(|k| !current.contains_key(*k))
            .cloned()
            .collect();
        FetchPlan {
            session_id: self.id,
            session_epoch: next_epoch(self.epoch),
            partitions,
            removed,
        }
    }

    /// Records that the leader answered `plan` within session `session_id`.
    pub fn answered(&mut self, plan: &FetchPlan, session_id: i32) {
        if plan.session_id == 0 {
            self.sent.clear();
            self.epoch = 0;
        } else {
            self.epoch = plan.session_epoch;
        }
        self.id = session_id;
        if session_id == 0 {
            // The leader opened no session (an older leader): every fetch stays full.
            self.sent.clear();
            return;
        }
        for key in &plan.removed {
            self.sent.remove(key);
        }
        for p in &plan.partitions {
            self.sent.insert((p.topic.clone(), p.partition), p.clone());
        }
    }

    /// Forgets the session: the next fetch is full.
    pub fn reset(&mut self) {
        *self = FollowerSession::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn part(topic: &str, partition: i32, offset: i64) -> ReplicaFetchPartition {
        ReplicaFetchPartition {
            topic: topic.to_string(),
            topic_id: Uuid::nil(),
            partition,
            current_leader_epoch: 1,
            fetch_offset: offset,
            last_fetched_epoch: 1,
            log_start_offset: 0,
            high_watermark: offset,
        }
    }

    fn view(parts: &[ReplicaFetchPartition]) -> HashMap<PartitionKey, ReplicaFetchPartition> {
        parts
            .iter()
            .map(|p| ((p.topic.clone(), p.partition), p.clone()))
            .collect()
    }

    #[test]
    fn leader_session_updates_and_removes_keep_the_index_right() {
        let mut s = LeaderSession::new(7, vec![part("a", 0, 0), part("a", 1, 0), part("b", 0, 0)]);
        s.upsert(part("a", 1, 5));
        s.remove("a", 0);
        s.upsert(part("c", 3, 1));
        s.remove("zzz", 9);
        let mut got: Vec<(String, i32, i64)> = s
            .partitions()
            .iter()
            .map(|p| (p.topic.clone(), p.partition, p.fetch_offset))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![("a".into(), 1, 5), ("b".into(), 0, 0), ("c".into(), 3, 1)]
        );
        for (key, &at) in &s.index {
            assert_eq!(
                (&s.partitions[at].topic, s.partitions[at].partition),
                (&key.0, key.1)
            );
        }
    }

    #[test]
    fn leader_session_marks_what_each_fetch_described() {
        let mut s = LeaderSession::new(7, vec![part("a", 0, 0), part("a", 1, 0), part("b", 0, 0)]);
        assert_eq!(
            s.fetch_view().1,
            &[true, true, true],
            "a new session serves all"
        );
        s.served();
        assert_eq!(s.fetch_view().1, &[false, false, false]);
        s.upsert(part("a", 1, 5));
        let described: Vec<_> = {
            let (partitions, requested, _) = s.fetch_view();
            partitions
                .iter()
                .zip(requested)
                .filter(|(_, r)| **r)
                .map(|(p, _)| (p.topic.clone(), p.partition))
                .collect()
        };
        assert_eq!(described, vec![("a".to_string(), 1)]);
        s.served();
        s.remove("a", 0);
        s.upsert(part("c", 3, 1));
        let (partitions, requested, _) = s.fetch_view();
        assert_eq!(partitions.len(), requested.len());
        let described: Vec<_> = partitions
            .iter()
            .zip(requested)
            .filter(|(_, r)| **r)
            .map(|(p, _)| (p.topic.clone(), p.partition))
            .collect();
        assert_eq!(described, vec![("c".to_string(), 3)]);
    }

    #[test]
    fn leader_sessions_check_ids_and_epochs() {
        let mut sessions = LeaderSessions::default();
        let s = sessions.open(2, vec![part("a", 0, 0)]);
        let id = s.id;
        sessions.put_back(2, s, 0);
        assert_eq!(
            sessions.take(2, id + 1, 1).unwrap_err(),
            SessionError::NotFound
        );
        assert_eq!(sessions.take(3, id, 1).unwrap_err(), SessionError::NotFound);
        let s = sessions.take(2, id, 1).unwrap();
        sessions.put_back(2, s, 1);
        // Epoch 1 again (a lost answer, say): refused, and the session is gone.
        assert_eq!(
            sessions.take(2, id, 1).unwrap_err(),
            SessionError::InvalidEpoch
        );
        assert_eq!(sessions.take(2, id, 2).unwrap_err(), SessionError::NotFound);
        // A new full fetch opens a fresh session with a new id.
        let s = sessions.open(2, vec![part("a", 0, 0)]);
        assert_ne!(s.id, id);
        // While it is served the follower starts over: the newer session is the one kept.
        let newer = sessions.open(2, vec![part("a", 0, 0)]);
        let newer_id = newer.id;
        sessions.put_back(2, newer, 0);
        sessions.put_back(2, s, 0);
        assert!(sessions.take(2, newer_id, 1).is_ok());
        assert_eq!(next_epoch(i32::MAX), 1);
    }

    #[test]
    fn leader_sessions_are_bounded() {
        let mut sessions = LeaderSessions::default();
        for replica in 0..(MAX_REPLICA_FETCH_SESSIONS as i32 + 50) {
            let s = sessions.open(replica, vec![part("a", 0, 0)]);
            sessions.put_back(replica, s, 0);
        }
        assert!(sessions.len() <= MAX_REPLICA_FETCH_SESSIONS);
    }

    #[test]
    fn follower_sends_everything_first_then_only_what_changed() {
        let mut f = FollowerSession::default();
        let mut current = view(&[part("a", 0, 0), part("a", 1, 0), part("b", 0, 0)]);
        let plan = f.plan(&current, &HashSet::new(), false);
        assert_eq!(
            (plan.session_id, plan.session_epoch, plan.partitions.len()),
            (0, 0, 3)
        );
        f.answered(&plan, 11);
        assert_eq!((f.id, f.epoch), (11, 0));

        // Nothing changed: an empty incremental fetch of epoch 1.
        let plan = f.plan(&current, &HashSet::new(), true);
        assert_eq!((plan.session_id, plan.session_epoch), (11, 1));
        assert!(plan.partitions.is_empty() && plan.removed.is_empty());
        f.answered(&plan, 11);

        // a-1 moved, b-0 was dropped, c-0 was added.
        current.insert(("a".into(), 1), part("a", 1, 9));
        current.remove(&("b".to_string(), 0));
        current.insert(("c".into(), 0), part("c", 0, 0));
        let dirty: HashSet<PartitionKey> = [("a".to_string(), 1), ("c".to_string(), 0)].into();
        let plan = f.plan(&current, &dirty, false);
        assert_eq!(plan.session_epoch, 2);
        let mut sent: Vec<_> = plan
            .partitions
            .iter()
            .map(|p| (p.topic.clone(), p.fetch_offset))
            .collect();
        sent.sort();
        assert_eq!(sent, vec![("a".into(), 9), ("c".into(), 0)]);
        assert_eq!(plan.removed, vec![("b".to_string(), 0)]);
        f.answered(&plan, 11);
        // The same view again: nothing to send, even on a full check.
        let plan = f.plan(&current, &dirty, true);
        assert!(plan.partitions.is_empty() && plan.removed.is_empty());

        // An older leader that opens no session: every fetch stays full.
        f.reset();
        let plan = f.plan(&current, &HashSet::new(), false);
        f.answered(&plan, 0);
        assert_eq!(f.plan(&current, &HashSet::new(), false).partitions.len(), 3);
    }
}
