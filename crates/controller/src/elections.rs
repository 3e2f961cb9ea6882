//! Partition leadership when brokers come and go: fencing a broker moves its leaderships to
//! the first live member of each ISR (with a leader-epoch bump, applied by the image) and
//! takes it out of the ISRs; a returning broker leads partitions that went offline with it;
//! partition leaders change ISRs through [`alter_partition`]; operators (ElectLeaders) and the
//! leader balancer (`auto.leader.rebalance.enable`) move leaderships with [`elect_leaders`].
//!
//! Pure functions of the image, like [`crate::decide`], so they replay deterministically.

use strata_metadata::records::PartitionChangeRecord;

use crate::requests::{AlterPartitionRequest, ElectionTarget, ElectionType};
use crate::ControllerError;
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
        let unclean = unclean_enabled(image, &topic.name, unclean_default);
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

/// Records that give a returning (just unfenced) broker back what it can safely have: the
/// leadership of partitions that went offline with it as the last ISR member (as Kafka, the
/// ISR kept it, so it holds every committed record), or, with unclean leader election, of
/// offline partitions it replicates. It does not rejoin other ISRs here: its log may lag, so
/// the partition leader adds it back (AlterPartition) once it has caught up.
pub fn restore_broker(
    image: &MetadataImage,
    broker_id: i32,
    unclean_default: bool,
) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for topic in image.topics() {
        let unclean = unclean_enabled(image, &topic.name, unclean_default);
        for (index, p) in &topic.partitions {
            if p.leader >= 0 || !p.replicas.contains(&broker_id) {
                continue;
            }
            let isr = if p.isr.contains(&broker_id) {
                p.isr.clone()
            } else if unclean {
                vec![broker_id]
            } else {
                continue;
            };
            push_change(
                &mut records,
                topic.topic_id,
                *index,
                p.leader,
                &p.isr,
                broker_id,
                isr,
            );
        }
    }
    records
}

/// Checks an AlterPartition request against the image, as Kafka's controller does, and
/// returns the record that commits the new ISR (none when it is already the ISR).
///
/// Refused: an unknown partition; a sender that is not the leader of the current leader
/// epoch (FENCED_LEADER_EPOCH); a partition epoch other than the current one
/// (INVALID_UPDATE_VERSION); an ISR without the leader, with a non-replica, or with a fenced
/// or unregistered broker (INELIGIBLE_REPLICA).
pub fn alter_partition(
    image: &MetadataImage,
    request: &AlterPartitionRequest,
) -> Result<Vec<MetadataRecord>, ControllerError> {
    let p = image
        .topic_by_id(&request.topic_id)
        .and_then(|t| t.partitions.get(&request.partition))
        .ok_or_else(ControllerError::unknown_topic)?;
    if p.leader != request.broker_id || p.leader_epoch != request.leader_epoch {
        return Err(ControllerError::FencedLeaderEpoch(format!(
            "broker {} at leader epoch {} is not the leader of partition {} (leader {}, epoch {})",
            request.broker_id, request.leader_epoch, request.partition, p.leader, p.leader_epoch
        )));
    }
    if p.partition_epoch != request.partition_epoch {
        return Err(ControllerError::InvalidUpdateVersion(format!(
            "partition epoch {} is stale: the partition is at {}",
            request.partition_epoch, p.partition_epoch
        )));
    }
    if !request.new_isr.contains(&request.broker_id) {
        return Err(ControllerError::IneligibleReplica(format!(
            "the ISR {:?} must contain the leader {}",
            request.new_isr, request.broker_id
        )));
    }
    for member in &request.new_isr {
        let eligible =
            p.replicas.contains(member) && image.brokers.get(member).is_some_and(|b| !b.fenced);
        if !eligible {
            return Err(ControllerError::IneligibleReplica(format!(
                "replica {member} is not a live replica of partition {}",
                request.partition
            )));
        }
    }
    let mut isr = request.new_isr.clone();
    // Keep the replica order Kafka prints.
    isr.sort_by_key(|r| p.replicas.iter().position(|x| x == r).unwrap_or(usize::MAX));
    isr.dedup();
    let mut records = Vec::new();
    push_change(
        &mut records,
        request.topic_id,
        request.partition,
        p.leader,
        &p.isr,
        p.leader,
        isr,
    );
    Ok(records)
}

/// The result of one partition's election.
pub type ElectionResult = (ElectionTarget, Result<(), ControllerError>);

/// Kafka's ElectLeaders, decided against the image: the per-partition results and the records
/// that commit the new leaders.
///
/// - Preferred: the first replica becomes leader when it is live and in the ISR
///   (ELECTION_NOT_NEEDED when it already leads, PREFERRED_LEADER_NOT_AVAILABLE otherwise).
/// - Unclean: a partition without a leader gets a live ISR member, or else any live replica
///   (which becomes the whole ISR); ELECTION_NOT_NEEDED when it has a leader,
///   ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live.
///
/// With `targets` = `None` every partition is tried and, as in Kafka, partitions that needed
/// no election are left out of the results.
pub fn elect_leaders(
    image: &MetadataImage,
    election: ElectionType,
    targets: Option<&[ElectionTarget]>,
) -> (Vec<ElectionResult>, Vec<MetadataRecord>) {
    let mut records = Vec::new();
    let mut results = Vec::new();
    match targets {
        Some(targets) => {
            for target in targets {
                let result = elect_one(image, election, target, &mut records);
                results.push((target.clone(), result));
            }
        }
        None => {
            for topic in image.topics() {
                for index in topic.partitions.keys() {
                    let target = ElectionTarget {
                        topic: topic.name.clone(),
                        partition: *index,
                    };
                    let result = elect_one(image, election, &target, &mut records);
                    if !matches!(result, Err(ControllerError::ElectionNotNeeded(_))) {
                        results.push((target, result));
                    }
                }
            }
        }
    }
    (results, records)
}

/// Records that give every partition whose preferred replica is live, in the ISR and not
/// leading back to that replica (`auto.leader.rebalance.enable`): after a restart, leadership
/// returns to where the assignment spread it instead of piling up on the survivors.
pub fn rebalance_preferred_leaders(image: &MetadataImage) -> Vec<MetadataRecord> {
    let (_, records) = elect_leaders(image, ElectionType::Preferred, None);
    records
}

/// Records that give every offline partition of a topic allowing unclean election (topic
/// config, else `unclean_default`) a leader: a live ISR member, else any live replica.
pub fn unclean_elections(image: &MetadataImage, unclean_default: bool) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for topic in image.topics() {
        let unclean = unclean_enabled(image, &topic.name, unclean_default);
        if !unclean {
            continue;
        }
        for (index, p) in &topic.partitions {
            if p.leader >= 0 {
                continue;
            }
            let target = ElectionTarget {
                topic: topic.name.clone(),
                partition: *index,
            };
            // A partition with no live replica stays offline: nothing to record.
            let _ = elect_one(image, ElectionType::Unclean, &target, &mut records);
        }
    }
    records
}

fn elect_one(
    image: &MetadataImage,
    election: ElectionType,
    target: &ElectionTarget,
    records: &mut Vec<MetadataRecord>,
) -> Result<(), ControllerError> {
    let topic = image.topic(&target.topic).ok_or_else(|| {
        ControllerError::UnknownTopicOrPartition(format!("No such topic as {}", target.topic))
    })?;
    let p = topic.partitions.get(&target.partition).ok_or_else(|| {
        ControllerError::UnknownTopicOrPartition(format!(
            "No such partition as {}-{}",
            target.topic, target.partition
        ))
    })?;
    let live = |id: i32| image.brokers.get(&id).is_some_and(|b| !b.fenced);
    let (leader, isr) = match election {
        ElectionType::Preferred => {
            let preferred = p.replicas.first().copied().unwrap_or(-1);
            if p.leader == preferred {
                return Err(ControllerError::ElectionNotNeeded(
                    ELECTION_NOT_NEEDED_MESSAGE.to_string(),
                ));
            }
            if !(live(preferred) && p.isr.contains(&preferred)) {
                return Err(ControllerError::PreferredLeaderNotAvailable(
                    "The preferred leader was not available.".to_string(),
                ));
            }
            (preferred, p.isr.clone())
        }
        ElectionType::Unclean => {
            if p.leader >= 0 {
                return Err(ControllerError::ElectionNotNeeded(
                    ELECTION_NOT_NEEDED_MESSAGE.to_string(),
                ));
            }
            if let Some(leader) = p.isr.iter().copied().find(|r| live(*r)) {
                (leader, p.isr.clone())
            } else if let Some(leader) = p.replicas.iter().copied().find(|r| live(*r)) {
                (leader, vec![leader])
            } else {
                return Err(ControllerError::EligibleLeadersNotAvailable(
                    "Eligible topic partition leaders are not available.".to_string(),
                ));
            }
        }
    };
    debug_assert!(isr.contains(&leader), "the leader is in the ISR");
    push_change(
        records,
        topic.topic_id,
        target.partition,
        p.leader,
        &p.isr,
        leader,
        isr,
    );
    Ok(())
}

/// Kafka's message for ELECTION_NOT_NEEDED.
const ELECTION_NOT_NEEDED_MESSAGE: &str = "Leader election not needed for topic partition.";

/// `unclean.leader.election.enable` for `topic`: its own config, else the broker default.
fn unclean_enabled(image: &MetadataImage, topic: &str, unclean_default: bool) -> bool {
    image
        .topic_configs(topic)
        .get("unclean.leader.election.enable")
        .map_or(unclean_default, |v| v == "true")
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
