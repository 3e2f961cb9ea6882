//! kafka-topics `--describe` output: Kafka's `TopicDescription` / `PartitionDescription` lines.

use base64::Engine;
use strata_client::{ConfigEntry, PartitionInfo, TopicInfo};

/// Kafka's `Uuid.toString()`: URL-safe base64 of the 16 bytes, without padding.
pub fn kafka_uuid_string(id: &uuid::Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Java `String.hashCode()` over UTF-16 code units.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Indices of `names` in the iteration order of a `java.util.HashMap` filled with them in
/// order (default capacity 16, load factor 0.75). Kafka's admin `Config` keeps entries in
/// such a map, so this is the order `kafka-topics --describe` lists configs in.
pub fn java_hashmap_order(names: &[&str]) -> Vec<usize> {
    let mut capacity: usize = 16;
    while names.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |s: &str| {
        let h = java_string_hash(s) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut idx: Vec<usize> = (0..names.len()).collect();
    // Stable: entries sharing a bucket keep insertion order (Java 8+ resize preserves it).
    idx.sort_by_key(|&i| bucket(names[i]));
    idx
}

/// The `Configs:` value: non-default entries as `k=v`, comma-separated, in Java HashMap order.
pub fn configs_string(entries: &[ConfigEntry]) -> String {
    // Later duplicates replace earlier ones in a HashMap; keep the last of each name.
    let mut unique: Vec<&ConfigEntry> = Vec::new();
    for e in entries {
        match unique.iter_mut().find(|u| u.name == e.name) {
            Some(slot) => *slot = e,
            None => unique.push(e),
        }
    }
    let names: Vec<&str> = unique.iter().map(|e| e.name.as_str()).collect();
    java_hashmap_order(&names)
        .into_iter()
        .map(|i| unique[i])
        .filter(|e| !e.is_default())
        .map(|e| format!("{}={}", e.name, e.value.as_deref().unwrap_or("null")))
        .collect::<Vec<_>>()
        .join(",")
}

fn join_ids(ids: &[i32]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The topic line (without the trailing newline).
pub fn topic_line(topic: &TopicInfo, replication_factor: usize, configs: &[ConfigEntry]) -> String {
    let mut s = format!("Topic: {}", topic.name);
    if !topic.topic_id.is_nil() {
        s.push_str(&format!(
            "\tTopicId: {}",
            kafka_uuid_string(&topic.topic_id)
        ));
    }
    s.push_str(&format!(
        "\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
        topic.partitions.len(),
        replication_factor,
        configs_string(configs)
    ));
    s
}

/// One partition line (without the trailing newline).
pub fn partition_line(topic: &str, p: &PartitionInfo) -> String {
    let leader = if p.leader >= 0 {
        p.leader.to_string()
    } else {
        "none".to_string()
    };
    format!(
        "\tTopic: {topic}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}\tElr: {}\tLastKnownElr: {}",
        p.partition,
        join_ids(&p.replicas),
        join_ids(&p.isr),
        join_ids(p.elr.as_deref().unwrap_or(&[])),
        join_ids(p.last_known_elr.as_deref().unwrap_or(&[])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: &str, source: i8) -> ConfigEntry {
        ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            source,
            read_only: false,
            is_sensitive: false,
        }
    }

    #[test]
    fn uuid_is_base64url_without_padding() {
        let id = uuid::Uuid::from_u128(0);
        assert_eq!(kafka_uuid_string(&id), "AAAAAAAAAAAAAAAAAAAAAA");
        // Kafka's Uuid(mostSig=-1, leastSig=-1) prints as "_____________________w".
        let id = uuid::Uuid::from_u128(u128::MAX);
        assert_eq!(kafka_uuid_string(&id), "_____________________w");
        // Bytes fb ef be ... exercise '-' and '_'.
        let id =
            uuid::Uuid::from_bytes([0xfb, 0xff, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
        assert_eq!(kafka_uuid_string(&id), "-_-_AAAAAAAAAAAAAAAAAQ");
    }

    #[test]
    fn java_hash_matches_known_values() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "hello".hashCode() == 99162322 in Java.
        assert_eq!(java_string_hash("hello"), 99162322);
        // "cleanup.policy".hashCode(): computed by the same recurrence; spot check wrap-around.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn configs_skip_defaults_and_follow_hashmap_order() {
        let entries = vec![
            entry("cleanup.policy", "compact", 1),
            entry("retention.ms", "1000", 1),
            entry("segment.bytes", "1073741824", 4),
            entry("flush.ms", "9223372036854775807", 5),
        ];
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        let order = java_hashmap_order(&names);
        let expected: Vec<String> = order
            .iter()
            .map(|&i| &entries[i])
            .filter(|e| e.source != 5)
            .map(|e| format!("{}={}", e.name, e.value.as_deref().unwrap()))
            .collect();
        assert_eq!(configs_string(&entries), expected.join(","));
        assert!(!configs_string(&entries).contains("flush.ms"));
        assert_eq!(configs_string(&[]), "");
    }

    #[test]
    fn golden_describe_lines() {
        let topic = TopicInfo {
            name: "orders".into(),
            topic_id: uuid::Uuid::from_u128(u128::MAX),
            is_internal: false,
            error_code: 0,
            partitions: vec![
                PartitionInfo {
                    partition: 0,
                    error_code: 0,
                    leader: 1,
                    leader_epoch: 0,
                    replicas: vec![1, 2],
                    isr: vec![1, 2],
                    offline_replicas: vec![],
                    elr: Some(vec![]),
                    last_known_elr: Some(vec![]),
                },
                PartitionInfo {
                    partition: 1,
                    error_code: 0,
                    leader: -1,
                    leader_epoch: 0,
                    replicas: vec![2],
                    isr: vec![],
                    offline_replicas: vec![],
                    elr: None,
                    last_known_elr: None,
                },
            ],
        };
        assert_eq!(
            topic_line(&topic, 2, &[entry("cleanup.policy", "compact", 1)]),
            "Topic: orders\tTopicId: _____________________w\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact"
        );
        assert_eq!(
            partition_line("orders", &topic.partitions[0]),
            "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\tElr: \tLastKnownElr: "
        );
        assert_eq!(
            partition_line("orders", &topic.partitions[1]),
            "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2\tIsr: \tElr: \tLastKnownElr: "
        );
        let mut nil = topic.clone();
        nil.topic_id = uuid::Uuid::nil();
        assert_eq!(
            topic_line(&nil, 2, &[]),
            "Topic: orders\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: "
        );
    }
}
