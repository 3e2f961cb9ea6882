//! Partition leadership when brokers come and go: fencing a broker moves its leaderships to
//! the first live member of each ISR (with a leader-epoch bump, applied by the image) and
//! takes it out of the ISRs; a returning broker is put back.
//!
//! Pure functions of the image, like [`crate::decide`], so they replay deterministically.

use strata_metadata::records::PartitionChangeRecord;
use strata_metadata::{MetadataImage, MetadataRecord};

/// Records that fence `broker_id` and re-elect the leaders it held. Empty when the broker is
/// unknown or already fenced.
///
/// - The ISR loses the broker, except that it never becomes empty (Kafka keeps the last
///   member so the partition can come back with it).
/// - A partition it led gets the first ISR member that is still live; with none, it goes
///   offline (leader -1) unless `unclean.leader.election.enable` lets a live replica outside
///   the ISR lead (the ISR is then that replica alone).
pub fn fence_broker(
    image: &MetadataImage,
    broker_id: i32,
    unclean_default: bool,
) -> Vec<MetadataRecord> {
    let Some(reg) = image.brokers.get(&broker_id) else {
        return Vec::new();
    };
    if reg.fenced {
        return Vec::new();
    }
    let live = |id: i32| id != broker_id && image.brokers.get(&id).is_some_and(|b| !b.fenced);
    let mut records = vec![MetadataRecord::FenceBroker {
        broker_id,
        broker_epoch: reg.broker_epoch,
    }];
    for topic in image.topics() {
        let unclean = image
            .topic_configs(&topic.name)
            .get("unclean.leader.election.enable")
            .map(|v| v == "true")
            .unwrap_or(unclean_default);
        for (index, p) in &topic.partitions {
            if !p.replicas.contains(&broker_id) {
                continue;
            }
            let mut isr = p.isr.clone();
            if isr.len() > 1 {
                isr.retain(|r| *r != broker_id);
            }
            let leader = if p.leader == broker_id || p.leader < 0 {
                isr.iter()
                    .copied()
                    .find(|r| live(*r))
                    .or_else(|| {
                        unclean
                            .then(|| p.replicas.iter().copied().find(|r| live(*r)))
                            .flatten()
                    })
                    .unwrap_or(-1)
            } else {
                p.leader
            };
            if leader >= 0 && !isr.contains(&leader) {
                isr = vec![leader];
            }
            debug_assert!(
                leader < 0 || isr.contains(&leader),
                "the leader is in the ISR"
            );
            push_change(
                &mut records,
                topic.topic_id,
                *index,
                p.leader,
                &p.isr,
                leader,
                isr,
            );
        }
    }
    records
}

/// Records that give a returning (just unfenced) broker its place back: it rejoins the ISR of
/// every partition it replicates and leads partitions that had no leader.
///
/// Until replication exists (the next issue) a replica holds no data to catch up, so it
/// rejoins at once; replication replaces this with ISR expansion once the follower has
/// caught up with the leader.
pub fn restore_broker(image: &MetadataImage, broker_id: i32) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for topic in image.topics() {
        for (index, p) in &topic.partitions {
            if !p.replicas.contains(&broker_id) {
                continue;
            }
            let mut isr = p.isr.clone();
            if !isr.contains(&broker_id) {
                isr.push(broker_id);
                // Keep the replica order Kafka prints.
                isr.sort_by_key(|r| p.replicas.iter().position(|x| x == r).unwrap_or(usize::MAX));
            }
            let leader = if p.leader < 0 { broker_id } else { p.leader };
            push_change(
                &mut records,
                topic.topic_id,
                *index,
                p.leader,
                &p.isr,
                leader,
                isr,
            );
        }
    }
    records
}

fn push_change(
    records: &mut Vec<MetadataRecord>,
    topic_id: uuid::Uuid,
    partition: i32,
    old_leader: i32,
    old_isr: &[i32],
    leader: i32,
    isr: Vec<i32>,
) {
    if leader == old_leader && isr == old_isr {
        return;
    }
    records.push(MetadataRecord::PartitionChange(PartitionChangeRecord {
        topic_id,
        partition,
        leader: (leader != old_leader).then_some(leader),
        isr: (isr != old_isr).then_some(isr),
        replicas: None,
    }));
}
