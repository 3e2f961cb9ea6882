//! Which leaders this broker's replica fetchers could not reach on their last try.
//!
//! Why: when a leader dies (kill -9, host lost) its clients see their connections drop at once,
//! and ask another broker for Metadata straight away. The controller only moves leadership a
//! broker session later (`broker.session.timeout.ms`), so until then the metadata image still
//! names the dead broker. Answered as is, a client keeps its partitions on the dead broker and
//! librdkafka, say, only asks again on its one-second timer. This broker's followers usually
//! know better at that moment: their long-poll fetch to that leader failed when it died. The
//! Metadata handler then waits a little (up to 600 ms) for the controller to elect another
//! leader, so that client is answered with the new leader rather than the dead one. It never
//! reports such a leader as none: see `MAX_LEADER_WAIT_MS` in the protocol crate for why.
//!
//! A leader counts as unreachable only while this broker's fetches keep failing and at most
//! [`MAX_UNREACHABLE_REPORT_MS`]: a leader that is alive but cut off from this broker alone
//! costs Metadata requests here their short wait for that long, no more.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use strata_metadata::image::MetadataImage;

/// How long a failed fetch may keep a leader counted unreachable without a leadership change.
/// A dead broker is fenced (its partitions moved) within one broker session, 500 ms here by
/// default; this bound is what a live broker that merely cannot be reached from here costs.
pub const MAX_UNREACHABLE_REPORT_MS: u64 = 3_000;

/// The leaders this broker's replica fetchers failed to reach, and since when.
#[derive(Debug, Default)]
pub struct Reachability {
    unreachable_since: Mutex<HashMap<i32, Instant>>,
}

impl Reachability {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Instant>> {
        self.unreachable_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A fetch to `broker` failed without an answer (connection refused or reset, timed out).
    /// The first failure of a run is kept: the report expires counting from it.
    pub fn lost(&self, broker: i32) {
        self.map().entry(broker).or_insert_with(Instant::now);
    }

    /// `broker` answered a fetch, or this broker stopped fetching from it (so it no longer
    /// knows).
    pub fn reached(&self, broker: i32) {
        self.map().remove(&broker);
    }

    /// Whether `broker` counts as unreachable now.
    pub fn is_unreachable(&self, broker: i32) -> bool {
        self.map().get(&broker).is_some_and(still_counts)
    }

    /// Whether any broker counts as unreachable (lets callers skip per-partition checks; a
    /// record past [`MAX_UNREACHABLE_REPORT_MS`] that no fetch cleared does not count).
    pub fn any_unreachable(&self) -> bool {
        self.map().values().any(still_counts)
    }

    /// The brokers that count as unreachable now, taken at once (one lock for a check over
    /// many partitions).
    pub fn unreachable(&self) -> Vec<i32> {
        self.map()
            .iter()
            .filter(|(_, since)| still_counts(since))
            .map(|(broker, _)| *broker)
            .collect()
    }
}

/// Whether a first failure at `since` is recent enough to count.
fn still_counts(since: &Instant) -> bool {
    since.elapsed() < Duration::from_millis(MAX_UNREACHABLE_REPORT_MS)
}

/// How long a broker the controller just fenced is still listed in Metadata answers.
///
/// Why: the answer that moves a dead broker's partitions to their new leaders is, without this,
/// also the first answer without that broker. librdkafka (2.10 and later) then decommissions the
/// broker while the partitions are migrating off it, and that can undo the migration: the
/// partition falls back to "no leader" and waits for the client's next one-second scan. Listed
/// a little longer, the broker is left when nothing is delegated to it any more. Clients do not
/// connect to a listed broker they do not need, and one that tries finds it down and moves on.
pub const FENCED_STILL_LISTED_MS: u64 = 3_000;

/// Brokers fenced since this node saw them unfenced, and when it saw that.
#[derive(Debug, Default)]
pub struct RecentlyFenced {
    state: Mutex<FencingState>,
}

#[derive(Debug, Default)]
struct FencingState {
    /// Offset of the newest image observed: an older one (callers race) is ignored.
    offset: Option<i64>,
    unfenced: HashSet<i32>,
    fenced_at: HashMap<i32, Instant>,
}

impl RecentlyFenced {
    fn state(&self) -> std::sync::MutexGuard<'_, FencingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes which brokers `image` shows fenced that the previous image showed unfenced.
    /// Called with every image the broker applies, and by Metadata with the image it answers
    /// from (which can be newer than the last one applied); older images are ignored.
    pub fn observe(&self, image: &MetadataImage) {
        let mut state = self.state();
        if state.offset.is_some_and(|newest| image.offset < newest) {
            return;
        }
        let FencingState {
            offset,
            unfenced,
            fenced_at,
        } = &mut *state;
        *offset = Some(image.offset);
        for broker in image.brokers.values() {
            if broker.fenced {
                if unfenced.remove(&broker.broker_id) {
                    fenced_at.insert(broker.broker_id, Instant::now());
                }
            } else {
                unfenced.insert(broker.broker_id);
                fenced_at.remove(&broker.broker_id);
            }
        }
        unfenced.retain(|id| image.brokers.contains_key(id));
        fenced_at.retain(|id, at| {
            image.brokers.contains_key(id)
                && at.elapsed() < Duration::from_millis(FENCED_STILL_LISTED_MS)
        });
    }

    /// Whether fenced `broker` is still to be listed to clients.
    pub fn still_listed(&self, broker: i32) -> bool {
        self.state()
            .fenced_at
            .get(&broker)
            .is_some_and(|at| at.elapsed() < Duration::from_millis(FENCED_STILL_LISTED_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_leader_counts_until_it_answers() {
        let r = Reachability::default();
        assert!(!r.any_unreachable());
        r.lost(2);
        r.lost(2);
        assert!(r.is_unreachable(2));
        assert!(!r.is_unreachable(3));
        r.reached(3);
        assert!(r.is_unreachable(2));
        r.reached(2);
        assert!(!r.is_unreachable(2));
        assert!(!r.any_unreachable());
    }

    #[test]
    fn a_report_expires_counting_from_the_first_failure() {
        let r = Reachability::default();
        r.map().insert(
            4,
            Instant::now() - Duration::from_millis(MAX_UNREACHABLE_REPORT_MS + 1),
        );
        r.lost(4);
        assert!(!r.is_unreachable(4));
    }

    fn image_with(brokers: &[(i32, bool)]) -> MetadataImage {
        let mut image = MetadataImage::new("cluster".into());
        for (id, fenced) in brokers {
            image.brokers.insert(
                *id,
                strata_metadata::records::BrokerRegistration {
                    broker_id: *id,
                    incarnation_id: uuid::Uuid::nil(),
                    broker_epoch: 1,
                    endpoints: Vec::new(),
                    rack: None,
                    fenced: *fenced,
                },
            );
        }
        image
    }

    #[test]
    fn only_a_broker_seen_unfenced_then_fenced_is_still_listed() {
        let fencing = RecentlyFenced::default();
        // Broker 3 starts fenced (registered, catching up): never listed while fenced.
        fencing.observe(&image_with(&[(1, false), (2, false), (3, true)]));
        assert!(!fencing.still_listed(3));
        fencing.observe(&image_with(&[(1, false), (2, true), (3, true)]));
        assert!(fencing.still_listed(2));
        assert!(!fencing.still_listed(1) && !fencing.still_listed(3));
        // Unfenced again, or gone from the image: no longer a recently fenced broker.
        fencing.observe(&image_with(&[(1, false), (2, false), (3, true)]));
        assert!(!fencing.still_listed(2));
        fencing.observe(&image_with(&[(1, false), (2, true), (3, true)]));
        fencing.observe(&image_with(&[(1, false), (3, true)]));
        assert!(!fencing.still_listed(2));
    }

    #[test]
    fn an_older_image_does_not_undo_a_fencing() {
        let fencing = RecentlyFenced::default();
        let mut older = image_with(&[(1, false), (2, false)]);
        older.offset = 10;
        let mut newer = image_with(&[(1, false), (2, true)]);
        newer.offset = 11;
        fencing.observe(&older);
        fencing.observe(&newer);
        fencing.observe(&older);
        assert!(fencing.still_listed(2));
    }
}
