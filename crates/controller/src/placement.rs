//! Replica placement in the spirit of Kafka's `StripedReplicaPlacer`: leaders are spread over
//! unfenced brokers round-robin from a random start, and each partition's followers are taken
//! from other racks first, unfenced brokers before fenced ones.

use std::collections::BTreeMap;

/// What the placer needs to know about a broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementBroker {
    /// Broker id.
    pub id: i32,
    /// `broker.rack`, if any.
    pub rack: Option<String>,
    /// Fenced brokers never lead a new partition and are used as followers only when needed.
    pub fenced: bool,
}

/// Places `count` partitions (numbered from `start_partition`) with `replication_factor` replicas
/// each. `seed` picks the rotation so that topics do not all start on the same broker. Errors are
/// Kafka's `InvalidReplicationFactorException` messages.
pub fn place_replicas(
    brokers: &[PlacementBroker],
    start_partition: i32,
    count: i32,
    replication_factor: i16,
    seed: u64,
) -> Result<Vec<Vec<i32>>, String> {
    if replication_factor <= 0 {
        return Err(format!(
            "Invalid replication factor {replication_factor}: the replication factor must be positive."
        ));
    }
    if !brokers.iter().any(|b| !b.fenced) {
        return Err("All brokers are currently fenced.".to_string());
    }
    let rf = replication_factor as usize;
    if rf > brokers.len() {
        return Err(format!(
            "The target replication factor of {replication_factor} cannot be reached because only {} broker(s) are registered.",
            brokers.len()
        ));
    }
    let order = striped_order(brokers, seed);
    let n = order.len();
    let mut result = Vec::with_capacity(count.max(0) as usize);
    for i in 0..count.max(0) {
        let index = (start_partition as i64 + i as i64).rem_euclid(n as i64) as usize;
        let rotation = (index + (seed as usize % n)) % n;
        // Leader: the first unfenced broker from this partition's rotation point.
        let Some(leader_pos) = (0..n)
            .map(|k| (rotation + k) % n)
            .find(|&pos| !order[pos].fenced)
        else {
            return Err("All brokers are currently fenced.".to_string());
        };
        let mut replicas = vec![order[leader_pos]];
        // Followers: four passes of decreasing preference over the brokers after the leader.
        for pass in 0..4 {
            for k in 1..n {
                if replicas.len() == rf {
                    break;
                }
                let cand = order[(leader_pos + k) % n];
                if replicas.iter().any(|r| r.id == cand.id) {
                    continue;
                }
                let new_rack = !replicas.iter().any(|r| r.rack == cand.rack);
                let wanted = match pass {
                    0 => !cand.fenced && new_rack,
                    1 => !cand.fenced,
                    2 => new_rack,
                    _ => true,
                };
                if wanted {
                    replicas.push(cand);
                }
            }
        }
        debug_assert_eq!(replicas.len(), rf, "placement must fill every replica slot");
        result.push(replicas.iter().map(|b| b.id).collect());
    }
    Ok(result)
}

/// Brokers interleaved rack by rack (rack A's first, rack B's first, …, rack A's second, …) so
/// consecutive positions sit on different racks.
fn striped_order(brokers: &[PlacementBroker], seed: u64) -> Vec<&PlacementBroker> {
    let mut racks: BTreeMap<Option<&str>, Vec<&PlacementBroker>> = BTreeMap::new();
    for b in brokers {
        racks.entry(b.rack.as_deref()).or_default().push(b);
    }
    let mut lists: Vec<Vec<&PlacementBroker>> = racks
        .into_values()
        .map(|mut v| {
            v.sort_by_key(|b| b.id);
            let shift = (seed as usize >> 8) % v.len();
            v.rotate_left(shift);
            v
        })
        .collect();
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let mut order = Vec::with_capacity(brokers.len());
    for i in 0..longest {
        for list in &mut lists {
            if let Some(b) = list.get(i) {
                order.push(*b);
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(id: i32, rack: Option<&str>, fenced: bool) -> PlacementBroker {
        PlacementBroker {
            id,
            rack: rack.map(str::to_string),
            fenced,
        }
    }

    #[test]
    fn single_broker_is_trivial() {
        let p = place_replicas(&[b(7, None, false)], 0, 3, 1, 12345).unwrap();
        assert_eq!(p, vec![vec![7], vec![7], vec![7]]);
    }

    #[test]
    fn errors_match_kafka() {
        let one = [b(1, None, false)];
        assert_eq!(
            place_replicas(&one, 0, 1, 3, 0).unwrap_err(),
            "The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."
        );
        assert!(place_replicas(&one, 0, 1, 0, 0)
            .unwrap_err()
            .contains("must be positive"));
        assert_eq!(
            place_replicas(&[b(1, None, true)], 0, 1, 1, 0).unwrap_err(),
            "All brokers are currently fenced."
        );
    }

    #[test]
    fn spreads_leaders_and_racks() {
        let brokers = [
            b(1, Some("a"), false),
            b(2, Some("a"), false),
            b(3, Some("b"), false),
            b(4, Some("b"), false),
            b(5, Some("c"), true),
        ];
        for seed in [0u64, 1, 77, 1 << 20, u64::MAX] {
            let p = place_replicas(&brokers, 0, 8, 3, seed).unwrap();
            let mut leaders = std::collections::BTreeSet::new();
            for replicas in &p {
                assert_eq!(replicas.len(), 3);
                let mut uniq = replicas.clone();
                uniq.sort();
                uniq.dedup();
                assert_eq!(uniq.len(), 3, "{p:?}");
                assert_ne!(replicas[0], 5, "fenced broker must not lead");
                leaders.insert(replicas[0]);
                let rack = |id: i32| brokers.iter().find(|x| x.id == id).unwrap().rack.clone();
                // The first two replicas always sit on different racks.
                assert_ne!(rack(replicas[0]), rack(replicas[1]), "{p:?}");
            }
            assert!(leaders.len() >= 3, "leaders not spread: {p:?}");
        }
    }
}
