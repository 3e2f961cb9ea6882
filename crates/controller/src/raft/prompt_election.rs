//! Prompt election: when the active controller's process is gone, one named survivor campaigns
//! as soon as the voters' leader lease has run out, instead of after a random election timeout
//! on top of the lease.
//!
//! Why: openraft 0.9 starts a follower's campaign after the leader lease
//! (`election_timeout_max`) plus a random election timeout, and every voter refuses votes until
//! its own lease has run out. A kill -9 of the active controller therefore left the cluster
//! without one for 0.9–1.2 s (PERFORMANCE.md, failover). The random part is there so that two
//! followers do not split the vote; naming one successor — the lowest voter id other than the
//! silent leader, much as Kafka's EndQuorumEpoch names preferred successors — avoids the split
//! without the wait.
//!
//! Safety is Raft's: the campaign is an ordinary one, and voters still refuse it while their
//! lease runs or when the successor's log is behind theirs. The successor campaigns only after
//! hearing nothing from the leader for a whole lease plus [`lease_margin`], and only when the
//! leader's controller port refuses a connection or does not accept one within
//! [`PROBE_TIMEOUT`]; a leader that is alive but slow (or stopped: the kernel still accepts) is
//! left to openraft's own timers, which also still run if the prompt campaign loses.
//!
//! What it can cost: a successor whose log is behind the other survivor's (a metadata write in
//! flight at the kill) loses, and having raised its term it makes that survivor's own campaign
//! fail once more: that failover takes up to one election timeout longer than openraft alone.
//! With more than three voters a leader elected by others while the successor retries could be
//! deposed by the successor's higher term; every attempt therefore first checks that the state
//! it judged by (Raft state, term, known leader) still holds.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use openraft::ServerState;
use tokio::time::Instant;

/// How long the successor waits for the silent leader's controller port to accept a TCP
/// connection before it counts the leader as gone.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(150);

/// How many prompt campaigns one silence may start (a campaign started a little before the
/// other voter's lease ran out is refused; the next one, a margin later, is not).
pub const MAX_ATTEMPTS: u32 = 3;

/// How long past its own last contact the successor waits beyond the lease: the other voters'
/// leases started at their last contact, which may be up to a heartbeat later than ours.
pub fn lease_margin(heartbeat_interval: Duration) -> Duration {
    heartbeat_interval + Duration::from_millis(50)
}

/// The last time this voter accepted AppendEntries from a leader (a heartbeat or entries).
#[derive(Debug, Default)]
pub struct LeaderContact {
    last: Mutex<Option<Contact>>,
}

/// One accepted AppendEntries: from which leader, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    /// The leader's node id.
    pub leader: u64,
    /// When its AppendEntries was accepted.
    pub at: Instant,
}

impl LeaderContact {
    /// Records that `leader`'s AppendEntries was just accepted.
    pub fn heard_from(&self, leader: u64) {
        let contact = Contact {
            leader,
            at: Instant::now(),
        };
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(contact);
    }

    /// The last accepted AppendEntries, if any.
    pub fn last(&self) -> Option<Contact> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The voter that campaigns promptly when `leader` falls silent: the lowest id other than it.
pub fn successor(voters: &BTreeMap<i32, String>, leader: u64) -> Option<i32> {
    voters
        .keys()
        .copied()
        .find(|&id| u64::try_from(id).ok() != Some(leader))
}

/// Whether nothing accepts a TCP connection at `endpoint` (refused, unresolvable, or no answer
/// within [`PROBE_TIMEOUT`]).
pub async fn is_gone(endpoint: &str) -> bool {
    !matches!(
        tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(endpoint)).await,
        Ok(Ok(_))
    )
}

/// What one look at the silence decided.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Look again at this instant.
    Wait(Instant),
    /// Campaign now.
    Campaign,
}

/// The fixed facts the decision needs: who we are, who votes, and Raft's timing.
#[derive(Debug, Clone)]
struct Rules {
    me: i32,
    voters: BTreeMap<i32, String>,
    lease: Duration,
    margin: Duration,
}

impl Rules {
    /// Decides from the last contact, the Raft state and the campaigns already started for
    /// this silence whether this voter should campaign. Pure, so the rules are unit-tested.
    /// `not_before` holds the next attempt back until the previous one has had a margin to win.
    fn decide(
        &self,
        now: Instant,
        contact: Option<Contact>,
        state: ServerState,
        current_leader: Option<u64>,
        attempts: u32,
        not_before: Option<Instant>,
    ) -> Step {
        let idle = now + self.lease;
        let Some(contact) = contact else {
            return Step::Wait(idle);
        };
        let mut due = contact.at + self.lease + self.margin * (attempts + 1);
        if let Some(not_before) = not_before {
            due = due.max(not_before);
        }
        if now < due {
            return Step::Wait(due);
        }
        if attempts >= MAX_ATTEMPTS || successor(&self.voters, contact.leader) != Some(self.me) {
            return Step::Wait(idle);
        }
        let campaign = match state {
            // The first campaign: still following the silent leader.
            ServerState::Follower => attempts == 0 && current_leader == Some(contact.leader),
            // A refused campaign leaves a candidate: try again while no one else leads.
            ServerState::Candidate => attempts > 0 && current_leader.is_none(),
            ServerState::Leader | ServerState::Learner | ServerState::Shutdown => false,
        };
        if campaign {
            Step::Campaign
        } else {
            Step::Wait(idle)
        }
    }
}

/// The Raft state a decision was made on: a campaign goes ahead only if it still holds.
fn raft_view(raft: &super::types::Raft) -> Option<(ServerState, Option<u64>, u64)> {
    let m = raft.metrics();
    let m = m.borrow();
    m.running_state
        .is_ok()
        .then_some((m.state, m.current_leader, m.current_term))
}

/// Watches this voter's contact with the leader and campaigns promptly when the rules of the
/// module allow. Ends when the controller is dropped, Raft has stopped, or there is no one to
/// succeed (a single-voter quorum).
pub(crate) async fn run(inner: std::sync::Weak<crate::Inner>) {
    let Some(rules) = inner.upgrade().map(|i| {
        let q = &i.config.quorum;
        Rules {
            me: i.config.node_id,
            voters: q.voters.clone(),
            lease: Duration::from_millis(q.election_timeout_max_ms),
            margin: lease_margin(Duration::from_millis(q.heartbeat_interval_ms)),
        }
    }) else {
        return;
    };
    if rules.voters.len() < 2 || !rules.voters.contains_key(&rules.me) {
        return;
    }
    // Per silence (the contact it began after): campaigns started, whether the probe found the
    // leader gone, and when the next attempt may start.
    let mut silence: Option<Instant> = None;
    let mut attempts = 0;
    let mut leader_gone = false;
    let mut not_before: Option<Instant> = None;
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let crate::Backend::Local(raft) = &strong.backend else {
            return;
        };
        let (raft, contact) = (raft.clone(), strong.leader_contact.clone());
        drop(strong);
        let last = contact.last();
        if silence != last.map(|c| c.at) {
            silence = last.map(|c| c.at);
            (attempts, leader_gone, not_before) = (0, false, None);
        }
        let Some(view) = raft_view(&raft) else { return };
        let (state, current_leader, term) = view;
        match rules.decide(
            Instant::now(),
            last,
            state,
            current_leader,
            attempts,
            not_before,
        ) {
            Step::Wait(until) => {
                drop(raft);
                tokio::time::sleep_until(until).await;
            }
            Step::Campaign => {
                let Some(leader) = last else { continue };
                attempts += 1;
                if !leader_gone {
                    let endpoint = i32::try_from(leader.leader)
                        .ok()
                        .and_then(|id| rules.voters.get(&id))
                        .cloned()
                        .unwrap_or_default();
                    if !is_gone(&endpoint).await {
                        tracing::info!(
                            leader = leader.leader,
                            %endpoint,
                            "the active controller is silent but its port answers: leaving the election to Raft's timers"
                        );
                        attempts = MAX_ATTEMPTS;
                        continue;
                    }
                    leader_gone = true;
                }
                // The probe took time: campaign only if nothing changed meanwhile (a leader
                // heard from, a vote granted, a term moved on).
                if contact.last() != last || raft_view(&raft) != Some(view) {
                    continue;
                }
                tracing::info!(
                    leader = leader.leader,
                    silent_ms = leader.at.elapsed().as_millis() as u64,
                    attempt = attempts,
                    "the active controller is gone: campaigning now as its named successor"
                );
                if let Err(error) = raft.trigger().elect().await {
                    tracing::debug!(%error, "Raft has stopped; prompt election ends");
                    return;
                }
                // The trigger only queues the campaign: let it start (the term moves on)
                // before judging it, and give it a margin to win before the next attempt.
                let _ = raft
                    .wait(Some(rules.margin))
                    .metrics(|m| m.current_term > term, "the prompt campaign has started")
                    .await;
                not_before = Some(Instant::now() + rules.margin);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_millis(600);
    const MARGIN: Duration = Duration::from_millis(100);

    fn voters() -> BTreeMap<i32, String> {
        (1..=3).map(|id| (id, format!("127.0.0.1:{id}"))).collect()
    }

    fn rules(me: i32) -> Rules {
        Rules {
            me,
            voters: voters(),
            lease: LEASE,
            margin: MARGIN,
        }
    }

    fn contact(leader: u64, at: Instant) -> Option<Contact> {
        Some(Contact { leader, at })
    }

    #[test]
    fn the_successor_is_the_lowest_voter_other_than_the_leader() {
        assert_eq!(successor(&voters(), 1), Some(2));
        assert_eq!(successor(&voters(), 2), Some(1));
        assert_eq!(successor(&voters(), 3), Some(1));
        let alone: BTreeMap<i32, String> = [(1, String::new())].into();
        assert_eq!(successor(&alone, 1), None);
    }

    #[test]
    fn the_successor_campaigns_only_after_lease_and_margin() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let rules = rules(1);
        let look = |now, state, leader, attempts| {
            rules.decide(now, contact(3, t0), state, leader, attempts, None)
        };
        // Within lease + margin: wait until exactly then.
        assert_eq!(
            look(at(650), ServerState::Follower, Some(3), 0),
            Step::Wait(at(700))
        );
        assert_eq!(
            look(at(700), ServerState::Follower, Some(3), 0),
            Step::Campaign
        );
        // A refused campaign leaves a candidate: the next try one margin later.
        assert_eq!(
            look(at(720), ServerState::Candidate, None, 1),
            Step::Wait(at(800))
        );
        assert_eq!(
            look(at(800), ServerState::Candidate, None, 1),
            Step::Campaign
        );
        // Never more than MAX_ATTEMPTS for one silence.
        assert!(matches!(
            look(at(5_000), ServerState::Candidate, None, MAX_ATTEMPTS),
            Step::Wait(_)
        ));
    }

    #[test]
    fn a_retry_waits_a_margin_after_the_last_campaign() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        // The first campaign started late (a slow probe) at 790 ms: the retry, due by the
        // contact at 800 ms, waits until a margin after it instead.
        assert_eq!(
            rules(1).decide(
                at(800),
                contact(3, t0),
                ServerState::Candidate,
                None,
                1,
                Some(at(890))
            ),
            Step::Wait(at(890))
        );
        assert_eq!(
            rules(1).decide(
                at(890),
                contact(3, t0),
                ServerState::Candidate,
                None,
                1,
                Some(at(890))
            ),
            Step::Campaign
        );
    }

    #[test]
    fn others_leave_the_election_to_raft() {
        let t0 = Instant::now();
        let late = t0 + Duration::from_secs(2);
        // Node 2 is not the named successor of leader 3.
        assert!(matches!(
            rules(2).decide(
                late,
                contact(3, t0),
                ServerState::Follower,
                Some(3),
                0,
                None
            ),
            Step::Wait(_)
        ));
        // A leader, or a follower that already follows someone else, does nothing.
        assert!(matches!(
            rules(1).decide(late, contact(3, t0), ServerState::Leader, Some(1), 0, None),
            Step::Wait(_)
        ));
        assert!(matches!(
            rules(1).decide(
                late,
                contact(3, t0),
                ServerState::Follower,
                Some(2),
                0,
                None
            ),
            Step::Wait(_)
        ));
        // Never heard from a leader (just started): nothing to judge.
        assert!(matches!(
            rules(1).decide(late, None, ServerState::Follower, None, 0, None),
            Step::Wait(_)
        ));
    }

    #[tokio::test]
    async fn a_closed_port_is_gone_and_a_listening_one_is_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let open = listener.local_addr().expect("addr").to_string();
        assert!(!is_gone(&open).await);
        drop(listener);
        assert!(is_gone(&open).await);
        assert!(is_gone("").await);
    }
}
