//! The metadata image: the cluster state obtained by applying metadata records in order.

use std::collections::{BTreeMap, HashMap};

use tracing::warn;
use uuid::Uuid;

use crate::records::{
    BrokerRegistration, ConfigRecord, ConfigResourceType, MetadataRecord, PartitionChangeRecord,
    PartitionRecord, TopicRecord,
};

/// One topic and its partitions.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TopicImage {
    /// Topic name.
    pub name: String,
    /// Topic id.
    pub topic_id: Uuid,
    /// Partitions by index.
    pub partitions: BTreeMap<i32, PartitionRecord>,
}

/// Cluster metadata at one offset of the metadata log. Built only by [`MetadataImage::apply`].
#[derive(Clone, Debug, PartialEq)]
pub struct MetadataImage {
    /// Offset of the last applied record; -1 when nothing was applied.
    pub offset: i64,
    /// The cluster id.
    pub cluster_id: String,
    topics_by_name: BTreeMap<String, TopicImage>,
    topics_by_id: HashMap<Uuid, String>,
    /// Registered brokers by id.
    pub brokers: BTreeMap<i32, BrokerRegistration>,
    configs: HashMap<(ConfigResourceType, String), BTreeMap<String, String>>,
    /// First producer id of the next block the controller hands out.
    pub next_producer_id: i64,
}

/// A [`MetadataImage`] in a serialisable form: what a Raft snapshot of the metadata log holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageSnapshot {
    /// Offset of the last record the image includes.
    pub offset: i64,
    /// The cluster id.
    pub cluster_id: String,
    /// Every topic.
    pub topics: Vec<TopicImage>,
    /// Every registered broker.
    pub brokers: Vec<BrokerRegistration>,
    /// Explicit configs per resource.
    pub configs: Vec<(ConfigResourceType, String, BTreeMap<String, String>)>,
    /// First producer id of the next block.
    pub next_producer_id: i64,
}

impl MetadataImage {
    /// The image as a snapshot.
    pub fn to_snapshot(&self) -> ImageSnapshot {
        let mut configs: Vec<_> = self
            .configs
            .iter()
            .map(|((kind, name), values)| (*kind, name.clone(), values.clone()))
            .collect();
        configs.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        ImageSnapshot {
            offset: self.offset,
            cluster_id: self.cluster_id.clone(),
            topics: self.topics_by_name.values().cloned().collect(),
            brokers: self.brokers.values().cloned().collect(),
            configs,
            next_producer_id: self.next_producer_id,
        }
    }

    /// Rebuilds an image from a snapshot.
    pub fn from_snapshot(snapshot: ImageSnapshot) -> Self {
        let mut image = MetadataImage::new(snapshot.cluster_id);
        image.offset = snapshot.offset;
        image.next_producer_id = snapshot.next_producer_id;
        for topic in snapshot.topics {
            image
                .topics_by_id
                .insert(topic.topic_id, topic.name.clone());
            image.topics_by_name.insert(topic.name.clone(), topic);
        }
        for broker in snapshot.brokers {
            image.brokers.insert(broker.broker_id, broker);
        }
        for (kind, name, values) in snapshot.configs {
            image.configs.insert((kind, name), values);
        }
        image
    }

    /// An empty image for `cluster_id`.
    pub fn new(cluster_id: String) -> Self {
        MetadataImage {
            offset: -1,
            cluster_id,
            topics_by_name: BTreeMap::new(),
            topics_by_id: HashMap::new(),
            brokers: BTreeMap::new(),
            configs: HashMap::new(),
            next_producer_id: 0,
        }
    }

    /// Applies the record found at `offset`. Never panics: records referring to unknown
    /// topics, partitions or brokers are ignored with a warning, because a log written by a
    /// buggy or newer controller must not keep a node from starting.
    pub fn apply(&mut self, offset: i64, record: &MetadataRecord) {
        debug_assert!(
            offset > self.offset,
            "metadata offsets must grow: {} after {}",
            offset,
            self.offset
        );
        self.offset = offset;
        match record {
            MetadataRecord::RegisterBroker(reg) => {
                self.brokers.insert(reg.broker_id, reg.clone());
            }
            MetadataRecord::FenceBroker {
                broker_id,
                broker_epoch,
            } => self.set_fenced(offset, *broker_id, *broker_epoch, true),
            MetadataRecord::UnfenceBroker {
                broker_id,
                broker_epoch,
            } => self.set_fenced(offset, *broker_id, *broker_epoch, false),
            MetadataRecord::Topic(t) => self.apply_topic(offset, t),
            MetadataRecord::Partition(p) => self.apply_partition(offset, p),
            MetadataRecord::PartitionChange(c) => self.apply_partition_change(offset, c),
            MetadataRecord::RemoveTopic { topic_id } => match self.topics_by_id.remove(topic_id) {
                Some(name) => {
                    self.topics_by_name.remove(&name);
                    // Kafka drops a deleted topic's configs with it.
                    self.configs.remove(&(ConfigResourceType::Topic, name));
                }
                None => warn!(offset, %topic_id, "RemoveTopic for unknown topic id ignored"),
            },
            MetadataRecord::Config(c) => self.apply_config(c),
            MetadataRecord::ProducerIds {
                broker_id,
                next_producer_id_block_start,
                ..
            } => {
                if *next_producer_id_block_start < self.next_producer_id {
                    warn!(
                        offset,
                        broker_id,
                        next = next_producer_id_block_start,
                        current = self.next_producer_id,
                        "ProducerIds record would move producer ids backwards; ignored"
                    );
                } else {
                    self.next_producer_id = *next_producer_id_block_start;
                }
            }
        }
    }

    fn set_fenced(&mut self, offset: i64, broker_id: i32, broker_epoch: i64, fenced: bool) {
        match self.brokers.get_mut(&broker_id) {
            Some(reg) if reg.broker_epoch == broker_epoch => reg.fenced = fenced,
            Some(reg) => warn!(
                offset,
                broker_id,
                broker_epoch,
                registered_epoch = reg.broker_epoch,
                fenced,
                "fence/unfence record with stale broker epoch ignored"
            ),
            None => warn!(
                offset,
                broker_id, fenced, "fence/unfence of unknown broker ignored"
            ),
        }
    }

    fn apply_topic(&mut self, offset: i64, t: &TopicRecord) {
        if let Some(old_id) = self.topics_by_name.get(&t.name).map(|old| old.topic_id) {
            if old_id == t.topic_id {
                return;
            }
            warn!(offset, name = %t.name, %old_id, new_id = %t.topic_id,
                "Topic record replaces an existing topic of the same name");
            self.topics_by_id.remove(&old_id);
        }
        if let Some(old_name) = self.topics_by_id.get(&t.topic_id).cloned() {
            warn!(offset, id = %t.topic_id, %old_name, new_name = %t.name,
                "Topic record reuses an existing topic id; the old topic is dropped");
            self.topics_by_name.remove(&old_name);
        }
        self.topics_by_id.insert(t.topic_id, t.name.clone());
        self.topics_by_name.insert(
            t.name.clone(),
            TopicImage {
                name: t.name.clone(),
                topic_id: t.topic_id,
                partitions: BTreeMap::new(),
            },
        );
    }

    fn topic_mut_by_id(&mut self, id: &Uuid) -> Option<&mut TopicImage> {
        let name = self.topics_by_id.get(id)?;
        self.topics_by_name.get_mut(name)
    }

    fn apply_partition(&mut self, offset: i64, p: &PartitionRecord) {
        match self.topic_mut_by_id(&p.topic_id) {
            Some(topic) => {
                topic.partitions.insert(p.partition, p.clone());
            }
            None => warn!(offset, topic_id = %p.topic_id, partition = p.partition,
                "Partition record for unknown topic ignored"),
        }
    }

    fn apply_partition_change(&mut self, offset: i64, c: &PartitionChangeRecord) {
        let Some(part) = self
            .topic_mut_by_id(&c.topic_id)
            .and_then(|t| t.partitions.get_mut(&c.partition))
        else {
            warn!(offset, topic_id = %c.topic_id, partition = c.partition,
                "PartitionChange record for unknown partition ignored");
            return;
        };
        if let Some(leader) = c.leader {
            if leader != part.leader {
                part.leader = leader;
                part.leader_epoch = part.leader_epoch.saturating_add(1);
            }
        }
        if let Some(isr) = &c.isr {
            part.isr = isr.clone();
        }
        if let Some(replicas) = &c.replicas {
            part.replicas = replicas.clone();
        }
        part.partition_epoch = part.partition_epoch.saturating_add(1);
    }

    fn apply_config(&mut self, c: &ConfigRecord) {
        let key = (c.resource_type, c.resource_name.clone());
        match &c.value {
            Some(v) => {
                self.configs
                    .entry(key)
                    .or_default()
                    .insert(c.name.clone(), v.clone());
            }
            None => {
                if let Some(map) = self.configs.get_mut(&key) {
                    map.remove(&c.name);
                    if map.is_empty() {
                        self.configs.remove(&key);
                    }
                }
            }
        }
    }

    /// The topic named `name`.
    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topics_by_name.get(name)
    }

    /// The topic with id `id`.
    pub fn topic_by_id(&self, id: &Uuid) -> Option<&TopicImage> {
        self.topics_by_id
            .get(id)
            .and_then(|name| self.topics_by_name.get(name))
    }

    /// All topics, by name.
    pub fn topics(&self) -> impl Iterator<Item = &TopicImage> {
        self.topics_by_name.values()
    }

    /// Number of topics.
    pub fn topic_count(&self) -> usize {
        self.topics_by_name.len()
    }

    /// The explicitly set configs of topic `name` (no defaults).
    pub fn topic_configs(&self, name: &str) -> BTreeMap<String, String> {
        self.resource_configs(ConfigResourceType::Topic, name)
    }

    /// One explicitly set config of topic `name`, without copying the others.
    pub fn topic_config(&self, name: &str, key: &str) -> Option<&str> {
        self.configs
            .get(&(ConfigResourceType::Topic, name.to_string()))
            .and_then(|configs| configs.get(key))
            .map(String::as_str)
    }

    /// The dynamic configs of broker `broker` (its id in decimal), or the cluster-wide
    /// broker defaults when `broker` is `""`.
    pub fn broker_configs(&self, broker: &str) -> BTreeMap<String, String> {
        self.resource_configs(ConfigResourceType::Broker, broker)
    }

    /// The explicitly set configs of any resource.
    pub fn resource_configs(
        &self,
        resource_type: ConfigResourceType,
        name: &str,
    ) -> BTreeMap<String, String> {
        self.configs
            .get(&(resource_type, name.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// Unfenced brokers, by id.
    pub fn unfenced_brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.values().filter(|b| !b.fenced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tid(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn broker(id: i32, epoch: i64) -> MetadataRecord {
        MetadataRecord::RegisterBroker(BrokerRegistration {
            broker_id: id,
            incarnation_id: tid(99),
            broker_epoch: epoch,
            endpoints: vec![],
            rack: None,
            fenced: true,
        })
    }

    fn part(topic: u128, p: i32) -> MetadataRecord {
        MetadataRecord::Partition(PartitionRecord {
            topic_id: tid(topic),
            partition: p,
            replicas: vec![1],
            isr: vec![1],
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
            elr: vec![],
            last_known_elr: vec![],
        })
    }

    fn apply_all(image: &mut MetadataImage, records: &[MetadataRecord]) {
        for r in records {
            let next = image.offset + 1;
            image.apply(next, r);
        }
    }

    #[test]
    fn builds_topics_partitions_and_changes() {
        let mut img = MetadataImage::new("c".into());
        apply_all(
            &mut img,
            &[
                broker(1, 0),
                MetadataRecord::UnfenceBroker {
                    broker_id: 1,
                    broker_epoch: 0,
                },
                MetadataRecord::Topic(TopicRecord {
                    name: "t".into(),
                    topic_id: tid(1),
                }),
                part(1, 0),
                part(1, 1),
                MetadataRecord::PartitionChange(PartitionChangeRecord {
                    topic_id: tid(1),
                    partition: 1,
                    leader: Some(2),
                    isr: Some(vec![2]),
                    replicas: None,
                }),
                MetadataRecord::PartitionChange(PartitionChangeRecord {
                    topic_id: tid(1),
                    partition: 1,
                    leader: Some(2),
                    isr: Some(vec![2, 1]),
                    replicas: None,
                }),
            ],
        );
        assert_eq!(img.offset, 6);
        assert!(!img.brokers[&1].fenced);
        let t = img.topic("t").unwrap();
        assert_eq!(img.topic_by_id(&tid(1)).unwrap().name, "t");
        assert_eq!(t.partitions.len(), 2);
        let p1 = &t.partitions[&1];
        assert_eq!((p1.leader, p1.leader_epoch, p1.partition_epoch), (2, 1, 2));
        assert_eq!(p1.isr, vec![2, 1]);
    }

    #[test]
    fn configs_set_delete_and_remove_topic() {
        let mut img = MetadataImage::new("c".into());
        let cfg = |name: &str, value: Option<&str>| {
            MetadataRecord::Config(ConfigRecord {
                resource_type: ConfigResourceType::Topic,
                resource_name: "t".into(),
                name: name.into(),
                value: value.map(str::to_string),
            })
        };
        apply_all(
            &mut img,
            &[
                MetadataRecord::Topic(TopicRecord {
                    name: "t".into(),
                    topic_id: tid(1),
                }),
                cfg("retention.ms", Some("1")),
                cfg("segment.ms", Some("2")),
                cfg("segment.ms", None),
            ],
        );
        assert_eq!(img.topic_configs("t").len(), 1);
        assert!(img.broker_configs("").is_empty());
        apply_all(
            &mut img,
            &[MetadataRecord::RemoveTopic { topic_id: tid(1) }],
        );
        assert!(img.topic("t").is_none());
        assert!(img.topic_by_id(&tid(1)).is_none());
        assert!(img.topic_configs("t").is_empty());
    }

    #[test]
    fn never_panics_on_out_of_order_records() {
        let mut img = MetadataImage::new("c".into());
        apply_all(
            &mut img,
            &[
                part(7, 0),
                MetadataRecord::PartitionChange(PartitionChangeRecord {
                    topic_id: tid(7),
                    partition: 0,
                    leader: Some(1),
                    isr: None,
                    replicas: None,
                }),
                MetadataRecord::RemoveTopic { topic_id: tid(7) },
                MetadataRecord::FenceBroker {
                    broker_id: 3,
                    broker_epoch: 0,
                },
                broker(3, 5),
                MetadataRecord::UnfenceBroker {
                    broker_id: 3,
                    broker_epoch: 4,
                },
                MetadataRecord::ProducerIds {
                    broker_id: 3,
                    broker_epoch: 5,
                    next_producer_id_block_start: 2000,
                },
                MetadataRecord::ProducerIds {
                    broker_id: 3,
                    broker_epoch: 5,
                    next_producer_id_block_start: 1000,
                },
                MetadataRecord::Topic(TopicRecord {
                    name: "a".into(),
                    topic_id: tid(1),
                }),
                MetadataRecord::Topic(TopicRecord {
                    name: "b".into(),
                    topic_id: tid(1),
                }),
            ],
        );
        assert!(
            img.brokers[&3].fenced,
            "stale-epoch unfence must be ignored"
        );
        assert_eq!(img.next_producer_id, 2000);
        assert!(img.topic("a").is_none());
        assert_eq!(img.topic_by_id(&tid(1)).unwrap().name, "b");
        assert_eq!(img.topic_count(), 1);
    }
}
