//! What the active controller saw of each voter's replication, for DescribeQuorum: when the
//! voter last answered an AppendEntries (Kafka's `LastFetchTimestamp`: openraft pushes entries
//! and heartbeats where Kafka's followers fetch, so an answer is a fetch) and when it was last
//! caught up with the leader's log (`LastCaughtUpTimestamp`).
//!
//! openraft 0.9's metrics carry each follower's matched log id but no times, so the network
//! layer records them here as answers arrive. Figures are kept per Raft term: a controller that
//! wins an election reports -1 (unknown) for a voter until it has heard from it itself, as a
//! new Kafka leader does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::types::NodeId;

/// One voter as the leader of `term` saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The Raft term (leader epoch) the figures belong to.
    pub term: u64,
    /// Milliseconds since the epoch of the voter's last answer to an AppendEntries.
    pub last_fetch_ms: i64,
    /// Milliseconds since the epoch when it last held every entry the leader had (-1 never
    /// in this term).
    pub last_caught_up_ms: i64,
}

/// Replication progress of the voters, shared by the log store (which knows the local log's
/// end) and the Raft network (which sees the answers).
#[derive(Debug, Default)]
pub struct ReplicationProgress {
    /// Index after the last entry of the local log (0 when empty): on the leader, its log end.
    log_end: AtomicU64,
    seen: Mutex<HashMap<NodeId, Seen>>,
}

/// One answered AppendEntries, as [`ReplicationProgress::answered`] takes it.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// The leader's term that sent it.
    pub term: u64,
    /// The leader's log end when it was sent.
    pub leader_log_end: u64,
    /// The follower's log end once it applied it (index after the request's last entry, or
    /// after `prev_log_id` for a heartbeat); `None` when the follower refused it (conflict).
    pub follower_log_end: Option<u64>,
    /// When it was sent (ms since the epoch).
    pub sent_ms: i64,
    /// When the answer arrived (ms since the epoch).
    pub answered_ms: i64,
}

impl ReplicationProgress {
    /// The local log's end (index after its last entry).
    pub fn log_end(&self) -> u64 {
        self.log_end.load(Ordering::Acquire)
    }

    /// Records the local log's end after an append, truncation or start-up.
    pub fn set_log_end(&self, end: u64) {
        self.log_end.store(end, Ordering::Release);
    }

    /// Records `target`'s answer: it fetched at `answered_ms`, and was caught up as of
    /// `sent_ms` if it now holds everything the leader held when the request left (Kafka
    /// counts a follower caught up when its fetch reaches the leader's log end).
    pub fn answered(&self, target: NodeId, answer: Answer) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let entry = seen.entry(target).or_insert(Seen {
            term: answer.term,
            last_fetch_ms: -1,
            last_caught_up_ms: -1,
        });
        if entry.term != answer.term {
            if entry.term > answer.term {
                // A late answer to an older leader's request: nothing to learn.
                return;
            }
            *entry = Seen {
                term: answer.term,
                last_fetch_ms: -1,
                last_caught_up_ms: -1,
            };
        }
        entry.last_fetch_ms = entry.last_fetch_ms.max(answer.answered_ms);
        if answer
            .follower_log_end
            .is_some_and(|end| end >= answer.leader_log_end)
        {
            entry.last_caught_up_ms = entry.last_caught_up_ms.max(answer.sent_ms);
        }
    }

    /// What the leader of `term` saw of `target`; `None` when it has not heard from it.
    pub fn seen(&self, target: NodeId, term: u64) -> Option<Seen> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&target).copied().filter(|s| s.term == term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(term: u64, leader: u64, follower: Option<u64>, sent: i64) -> Answer {
        Answer {
            term,
            leader_log_end: leader,
            follower_log_end: follower,
            sent_ms: sent,
            answered_ms: sent + 2,
        }
    }

    #[test]
    fn a_lagging_voter_keeps_its_last_caught_up_time() {
        let p = ReplicationProgress::default();
        assert_eq!(p.seen(2, 1), None, "unknown until it answers");
        p.answered(2, answer(1, 10, Some(10), 1_000));
        assert_eq!(
            p.seen(2, 1),
            Some(Seen {
                term: 1,
                last_fetch_ms: 1_002,
                last_caught_up_ms: 1_000
            })
        );
        // Behind the leader: it fetched, but its caught-up time stays.
        p.answered(2, answer(1, 20, Some(15), 2_000));
        let s = p.seen(2, 1).unwrap();
        assert_eq!((s.last_fetch_ms, s.last_caught_up_ms), (2_002, 1_000));
        // A refused request (log conflict) is still a fetch.
        p.answered(2, answer(1, 20, None, 3_000));
        let s = p.seen(2, 1).unwrap();
        assert_eq!((s.last_fetch_ms, s.last_caught_up_ms), (3_002, 1_000));
    }

    #[test]
    fn figures_belong_to_one_term() {
        let p = ReplicationProgress::default();
        p.answered(3, answer(1, 5, Some(5), 100));
        assert_eq!(p.seen(3, 2), None, "a new leader has not heard from it");
        p.answered(3, answer(2, 9, Some(7), 200));
        assert_eq!(p.seen(3, 2).unwrap().last_caught_up_ms, -1);
        // A late answer from term 1 changes nothing.
        p.answered(3, answer(1, 5, Some(5), 300));
        assert_eq!(p.seen(3, 2).unwrap().last_fetch_ms, 202);
        assert_eq!(p.seen(3, 1), None);
    }
}
