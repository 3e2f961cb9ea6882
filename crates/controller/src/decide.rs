//! Deciding records: pure functions from (image, intent) to (per-item results, records to
//! commit). Nothing here touches disk or channels, so the same logic runs unchanged behind the
//! single-node log today and behind openraft later. Checks and messages follow Kafka's
//! `ReplicationControlManager`, `ConfigurationControlManager` and `ProducerIdControlManager`.

use std::collections::{BTreeMap, HashMap, HashSet};

use strata_metadata::config::{
    self, split_list, topic_config_def, topic_config_for_broker_key, validate_topic_configs,
};
use strata_metadata::topic::{self, find_collision, CLUSTER_METADATA_TOPIC_NAME};
use strata_metadata::{
    BrokerRegistration, ConfigKind, ConfigRecord, ConfigResourceType, MetadataImage,
    MetadataRecord, PartitionRecord, TopicRecord,
};
use uuid::Uuid;

use crate::error::ControllerError;
use crate::placement::{place_replicas, PlacementBroker};
use crate::requests::{
    ConfigOp, ConfigOpKind, ControllerConfig, CreatePartitionsSpec, CreateTopicSpec, CreatedTopic,
    TopicRef,
};

/// Most partitions one topic creation or one partition increase may add (Kafka's
/// `MAX_PARTITIONS_PER_BATCH`), bounding the records of a single operation.
pub const MAX_PARTITIONS_PER_REQUEST: i32 = 10_000;
/// Producer ids handed to a broker per request (Kafka's `PRODUCER_ID_BLOCK_SIZE`).
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// Results for each input item plus the records that make them true once committed.
#[derive(Debug)]
pub struct Decision<R> {
    /// What to answer, one entry per input item (or one for single-item operations).
    pub results: R,
    /// Records to append, in order; empty when nothing changes.
    pub records: Vec<MetadataRecord>,
}

/// Source of randomness for ids and placement, injectable for tests.
pub trait Entropy {
    /// A fresh topic id.
    fn topic_id(&mut self) -> Uuid;
    /// A placement seed.
    fn seed(&mut self) -> u64;
}

/// Random ids as Kafka's `Uuid.randomUuid` makes them.
#[derive(Debug, Default)]
pub struct RandomEntropy;

impl Entropy for RandomEntropy {
    fn topic_id(&mut self) -> Uuid {
        loop {
            let id = Uuid::new_v4();
            // Kafka never hands out the zero id, the metadata topic id (0, 1), or ids whose base64
            // form starts with '-' (first six bits 111110) since they read as CLI flags.
            if id != Uuid::nil() && id != Uuid::from_u128(1) && id.as_bytes()[0] >> 2 != 0b11_1110 {
                return id;
            }
        }
    }

    fn seed(&mut self) -> u64 {
        Uuid::new_v4().as_u64_pair().0
    }
}

fn placement_brokers(image: &MetadataImage) -> Vec<PlacementBroker> {
    image
        .brokers
        .values()
        .map(|b| PlacementBroker {
            id: b.broker_id,
            rack: b.rack.clone(),
            fenced: b.fenced,
        })
        .collect()
}

/// Records registering `reg` and unfencing it at once (single node: no heartbeats yet). The
/// broker epoch becomes the offset of the registration record, as in Kafka.
pub fn register_broker(
    image: &MetadataImage,
    reg: BrokerRegistration,
) -> Result<Decision<i64>, ControllerError> {
    if reg.broker_id < 0 {
        return Err(ControllerError::InvalidRequest(format!(
            "Invalid broker id {}: broker ids must be non-negative.",
            reg.broker_id
        )));
    }
    let epoch = image.offset + 1;
    let registration = BrokerRegistration {
        broker_epoch: epoch,
        fenced: true,
        ..reg
    };
    let broker_id = registration.broker_id;
    Ok(Decision {
        results: epoch,
        records: vec![
            MetadataRecord::RegisterBroker(registration),
            MetadataRecord::UnfenceBroker {
                broker_id,
                broker_epoch: epoch,
            },
        ],
    })
}

/// Validates a manual assignment the way Kafka's `validateManualPartitionAssignment` does.
fn validate_manual_assignment(
    image: &MetadataImage,
    replicas: &[i32],
    expected_rf: Option<usize>,
) -> Result<(), ControllerError> {
    let bad = |m: String| Err(ControllerError::InvalidReplicaAssignment(m));
    if replicas.is_empty() {
        return bad("The manual partition assignment includes an empty replica list.".into());
    }
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    for (i, id) in sorted.iter().enumerate() {
        if !image.brokers.contains_key(id) {
            return bad(format!(
                "The manual partition assignment includes broker {id}, but no such broker is registered."
            ));
        }
        if i > 0 && sorted[i - 1] == *id {
            return bad(format!(
                "The manual partition assignment includes the broker {id} more than once."
            ));
        }
    }
    if let Some(rf) = expected_rf {
        if sorted.len() != rf {
            return bad(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {rf} replica(s).",
                sorted.len()
            ));
        }
    }
    Ok(())
}

/// ISR for a manually assigned partition: its unfenced replicas; empty is an error.
fn manual_isr(
    image: &MetadataImage,
    partition: i32,
    replicas: &[i32],
) -> Result<Vec<i32>, ControllerError> {
    let isr: Vec<i32> = replicas
        .iter()
        .copied()
        .filter(|id| image.brokers.get(id).is_some_and(|b| !b.fenced))
        .collect();
    if isr.is_empty() {
        return Err(ControllerError::InvalidReplicaAssignment(format!(
            "All brokers specified in the manual partition assignment for partition {partition} are fenced or in controlled shutdown."
        )));
    }
    Ok(isr)
}

fn partition_record(
    topic_id: Uuid,
    partition: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
) -> PartitionRecord {
    // Kafka picks the first ISR member in replica order as leader.
    let leader = replicas
        .iter()
        .copied()
        .find(|r| isr.contains(r))
        .unwrap_or(-1);
    PartitionRecord {
        topic_id,
        partition,
        replicas,
        isr,
        leader,
        leader_epoch: 0,
        partition_epoch: 0,
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    }
}

/// Decides a CreateTopics request: one result per spec, in order.
pub fn create_topics(
    image: &MetadataImage,
    config: &ControllerConfig,
    specs: &[CreateTopicSpec],
    entropy: &mut dyn Entropy,
) -> Decision<Vec<Result<CreatedTopic, ControllerError>>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for spec in specs {
        *counts.entry(spec.name.as_str()).or_default() += 1;
    }
    let mut records = Vec::new();
    let mut created_names: Vec<String> = Vec::new();
    let results = specs
        .iter()
        .map(|spec| {
            if counts.get(spec.name.as_str()).copied().unwrap_or(0) > 1 {
                return Err(ControllerError::InvalidRequest(
                    "Duplicate topic name.".into(),
                ));
            }
            let (created, mut topic_records) =
                create_one_topic(image, config, spec, &created_names, entropy)?;
            created_names.push(created.name.clone());
            records.append(&mut topic_records);
            Ok(created)
        })
        .collect();
    Decision { results, records }
}

fn create_one_topic(
    image: &MetadataImage,
    config: &ControllerConfig,
    spec: &CreateTopicSpec,
    created_in_request: &[String],
    entropy: &mut dyn Entropy,
) -> Result<(CreatedTopic, Vec<MetadataRecord>), ControllerError> {
    let name = spec.name.as_str();
    if name == CLUSTER_METADATA_TOPIC_NAME {
        return Err(ControllerError::InvalidRequest(format!(
            "Creation of internal topic {CLUSTER_METADATA_TOPIC_NAME} is prohibited."
        )));
    }
    topic::validate_topic_name(name).map_err(|e| ControllerError::InvalidTopic {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    if image.topic(name).is_some() || created_in_request.iter().any(|n| n == name) {
        return Err(ControllerError::TopicAlreadyExists(name.to_string()));
    }
    let existing = image
        .topics()
        .map(|t| t.name.as_str())
        .chain(created_in_request.iter().map(String::as_str));
    if let Some(other) = find_collision(name, existing) {
        return Err(ControllerError::InvalidTopic {
            name: name.to_string(),
            reason: format!("Topic '{name}' collides with existing topic: {other}"),
        });
    }

    // Configs.
    let null_keys: Vec<&str> = spec
        .configs
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    if !null_keys.is_empty() {
        return Err(ControllerError::InvalidConfig(format!(
            "Null value not supported for topic configs: {}",
            null_keys.join(",")
        )));
    }
    let explicit: BTreeMap<String, String> = spec
        .configs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
        .collect();
    validate_topic_configs(&explicit).map_err(|e| ControllerError::InvalidConfig(e.to_string()))?;

    // Partitions and replicas.
    let mut parts: BTreeMap<i32, (Vec<i32>, Vec<i32>)> = BTreeMap::new();
    if !spec.assignments.is_empty() {
        if spec.replication_factor != -1 {
            return Err(ControllerError::InvalidRequest(
                "A manual partition assignment was specified, but replication factor was not set to -1.".into(),
            ));
        }
        if spec.num_partitions != -1 {
            return Err(ControllerError::InvalidRequest(
                "A manual partition assignment was specified, but numPartitions was not set to -1."
                    .into(),
            ));
        }
        if spec.assignments.len() > MAX_PARTITIONS_PER_REQUEST as usize {
            return Err(too_many_partitions());
        }
        let mut rf = None;
        for (partition, replicas) in &spec.assignments {
            if parts.contains_key(partition) {
                return Err(ControllerError::InvalidReplicaAssignment(format!(
                    "Found multiple manual partition assignments for partition {partition}"
                )));
            }
            validate_manual_assignment(image, replicas, rf)?;
            rf = Some(replicas.len());
            let isr = manual_isr(image, *partition, replicas)?;
            parts.insert(*partition, (replicas.clone(), isr));
        }
        // Partition ids must be exactly 0..n.
        if parts.keys().copied().ne(0..parts.len() as i32) {
            return Err(ControllerError::InvalidReplicaAssignment(
                "partitions should be a consecutive 0-based integer sequence".into(),
            ));
        }
    } else if spec.replication_factor < -1 || spec.replication_factor == 0 {
        return Err(ControllerError::InvalidReplicationFactor(
            "Replication factor must be larger than 0, or -1 to use the default value.".into(),
        ));
    } else if spec.num_partitions < -1 || spec.num_partitions == 0 {
        return Err(ControllerError::InvalidPartitions(
            "Number of partitions was set to an invalid non-positive value.".into(),
        ));
    } else {
        let num_partitions = if spec.num_partitions == -1 {
            config.num_partitions
        } else {
            spec.num_partitions
        };
        if num_partitions > MAX_PARTITIONS_PER_REQUEST {
            return Err(too_many_partitions());
        }
        let rf = if spec.replication_factor == -1 {
            config.default_replication_factor
        } else {
            spec.replication_factor
        };
        let placed = place_replicas(
            &placement_brokers(image),
            0,
            num_partitions,
            rf,
            entropy.seed(),
        )
        .map_err(|m| {
            ControllerError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {rf} time(s): {m}"
            ))
        })?;
        for (p, replicas) in placed.into_iter().enumerate() {
            // Kafka's initial ISR is the placed replica set.
            parts.insert(p as i32, (replicas.clone(), replicas));
        }
    }

    let topic_id = entropy.topic_id();
    let replication_factor = parts
        .values()
        .next()
        .map(|(r, _)| i16::try_from(r.len()).unwrap_or(i16::MAX))
        .unwrap_or(0);
    let mut records = vec![MetadataRecord::Topic(TopicRecord {
        name: name.to_string(),
        topic_id,
    })];
    for (k, v) in &explicit {
        records.push(MetadataRecord::Config(ConfigRecord {
            resource_type: ConfigResourceType::Topic,
            resource_name: name.to_string(),
            name: k.clone(),
            value: Some(v.clone()),
        }));
    }
    let num_partitions = parts.len() as i32;
    for (p, (replicas, isr)) in parts {
        records.push(MetadataRecord::Partition(partition_record(
            topic_id, p, replicas, isr,
        )));
    }
    let configs = config::effective_topic_config(&explicit, &config.broker_defaults)
        .into_iter()
        .map(|(def, value, source)| (def.name.to_string(), value, source))
        .collect();
    Ok((
        CreatedTopic {
            name: name.to_string(),
            topic_id,
            num_partitions,
            replication_factor,
            configs,
        },
        records,
    ))
}

fn too_many_partitions() -> ControllerError {
    ControllerError::InvalidPartitions("Excessively large number of partitions per request.".into())
}

/// Decides a DeleteTopics request: one result per reference, in order.
pub fn delete_topics(
    image: &MetadataImage,
    topics: &[TopicRef],
) -> Decision<Vec<Result<(String, Uuid), ControllerError>>> {
    let mut counts: HashMap<&TopicRef, usize> = HashMap::new();
    for t in topics {
        *counts.entry(t).or_default() += 1;
    }
    let mut deleted: HashSet<Uuid> = HashSet::new();
    let mut records = Vec::new();
    let results = topics
        .iter()
        .map(|t| {
            if counts.get(t).copied().unwrap_or(0) > 1 {
                return Err(ControllerError::InvalidRequest(match t {
                    TopicRef::Name(_) => "Duplicate topic name.".into(),
                    TopicRef::Id(_) => "Duplicate topic id.".into(),
                }));
            }
            let topic = match t {
                TopicRef::Name(name) => image
                    .topic(name)
                    .ok_or_else(ControllerError::unknown_topic)?,
                TopicRef::Id(id) => image
                    .topic_by_id(id)
                    .ok_or(ControllerError::UnknownTopicId(*id))?,
            };
            if !deleted.insert(topic.topic_id) {
                return Err(ControllerError::InvalidRequest(
                    "The provided topic name maps to an ID that was already supplied.".into(),
                ));
            }
            records.push(MetadataRecord::RemoveTopic {
                topic_id: topic.topic_id,
            });
            Ok((topic.name.clone(), topic.topic_id))
        })
        .collect();
    Decision { results, records }
}

/// Decides a CreatePartitions request: one result per spec, in order.
pub fn create_partitions(
    image: &MetadataImage,
    specs: &[CreatePartitionsSpec],
    entropy: &mut dyn Entropy,
) -> Decision<Vec<Result<(), ControllerError>>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for spec in specs {
        *counts.entry(spec.topic.as_str()).or_default() += 1;
    }
    let mut records = Vec::new();
    let results = specs
        .iter()
        .map(|spec| {
            if counts.get(spec.topic.as_str()).copied().unwrap_or(0) > 1 {
                return Err(ControllerError::InvalidRequest(
                    "Duplicate topic name.".into(),
                ));
            }
            let mut r = create_partitions_one(image, spec, entropy)?;
            records.append(&mut r);
            Ok(())
        })
        .collect();
    Decision { results, records }
}

fn create_partitions_one(
    image: &MetadataImage,
    spec: &CreatePartitionsSpec,
    entropy: &mut dyn Entropy,
) -> Result<Vec<MetadataRecord>, ControllerError> {
    let topic = image
        .topic(&spec.topic)
        .ok_or_else(ControllerError::unknown_topic)?;
    let current = topic.partitions.len() as i32;
    if spec.count == current {
        return Err(ControllerError::InvalidPartitions(format!(
            "Topic already has {current} partition(s)."
        )));
    }
    if spec.count < current {
        return Err(ControllerError::InvalidPartitions(format!(
            "The topic {} currently has {current} partition(s); {} would not be an increase.",
            spec.topic, spec.count
        )));
    }
    let additional = spec.count - current;
    if additional > MAX_PARTITIONS_PER_REQUEST {
        return Err(too_many_partitions());
    }
    let Some(first) = topic.partitions.values().next() else {
        return Err(ControllerError::Internal(format!(
            "Invalid state: topic {} appears to have no partitions.",
            spec.topic
        )));
    };
    let rf = first.replicas.len();
    let mut new_parts = Vec::with_capacity(additional as usize);
    match &spec.assignments {
        Some(assignments) => {
            if assignments.len() != additional as usize {
                return Err(ControllerError::InvalidReplicaAssignment(format!(
                    "Attempted to add {additional} additional partition(s), but only {} assignment(s) were specified.",
                    assignments.len()
                )));
            }
            for (i, replicas) in assignments.iter().enumerate() {
                validate_manual_assignment(image, replicas, Some(rf))?;
                let partition = current + i as i32;
                let isr = manual_isr(image, partition, replicas)?;
                new_parts.push((partition, replicas.clone(), isr));
            }
        }
        None => {
            let rf16 = i16::try_from(rf).unwrap_or(i16::MAX);
            let placed = place_replicas(
                &placement_brokers(image),
                current,
                additional,
                rf16,
                entropy.seed(),
            )
            .map_err(|m| {
                ControllerError::InvalidReplicationFactor(format!(
                    "Unable to replicate the partition {rf16} time(s): {m}"
                ))
            })?;
            for (i, replicas) in placed.into_iter().enumerate() {
                new_parts.push((current + i as i32, replicas.clone(), replicas));
            }
        }
    }
    Ok(new_parts
        .into_iter()
        .map(|(p, replicas, isr)| {
            MetadataRecord::Partition(partition_record(topic.topic_id, p, replicas, isr))
        })
        .collect())
}

/// Decides an AlterConfigs (`incremental == false`: the ops' `Set`s replace the whole set) or
/// IncrementalAlterConfigs request for one resource.
pub fn alter_configs(
    image: &MetadataImage,
    resource_type: ConfigResourceType,
    resource_name: &str,
    ops: &[ConfigOp],
    incremental: bool,
) -> Result<Decision<()>, ControllerError> {
    match resource_type {
        ConfigResourceType::Topic => {
            if image.topic(resource_name).is_none() {
                return Err(ControllerError::UnknownTopicOrPartition(format!(
                    "The topic '{resource_name}' does not exist."
                )));
            }
        }
        ConfigResourceType::Broker => {
            if !resource_name.is_empty() && resource_name.parse::<i32>().is_err() {
                return Err(ControllerError::InvalidRequest(format!(
                    "Invalid broker name {resource_name}"
                )));
            }
        }
    }
    let mut seen = HashSet::new();
    for op in ops {
        if !seen.insert(op.name.as_str()) {
            return Err(ControllerError::InvalidRequest(format!(
                "Error due to duplicate config keys: {}",
                op.name
            )));
        }
    }
    let current = image.resource_configs(resource_type, resource_name);
    let mut next = if incremental {
        current.clone()
    } else {
        BTreeMap::new()
    };
    for op in ops {
        match &op.op {
            ConfigOpKind::Set(v) => {
                next.insert(op.name.clone(), v.clone());
            }
            ConfigOpKind::Delete if incremental => {
                next.remove(&op.name);
            }
            ConfigOpKind::Append(v) | ConfigOpKind::Subtract(v) if incremental => {
                let verb = if matches!(op.op, ConfigOpKind::Append(_)) {
                    "APPEND"
                } else {
                    "SUBTRACT"
                };
                let (is_list, default) = list_info(resource_type, &op.name);
                if !is_list {
                    return Err(ControllerError::InvalidConfig(format!(
                        "Can't {verb} to key {} because its type is not LIST.",
                        op.name
                    )));
                }
                let base = next.get(&op.name).cloned().or(default).unwrap_or_default();
                let mut list = split_list(&base);
                for element in split_list(v) {
                    if matches!(op.op, ConfigOpKind::Append(_)) {
                        if !list.contains(&element) {
                            list.push(element);
                        }
                    } else {
                        list.retain(|e| *e != element);
                    }
                }
                next.insert(op.name.clone(), list.join(","));
            }
            _ => {
                return Err(ControllerError::InvalidRequest(format!(
                    "AlterConfigs (non-incremental) only sets values; got {:?} for {}",
                    op.op, op.name
                )));
            }
        }
    }
    validate_resource_configs(resource_type, &next)?;
    let mut records = Vec::new();
    for (k, v) in &next {
        if current.get(k) != Some(v) {
            records.push(config_record(
                resource_type,
                resource_name,
                k,
                Some(v.clone()),
            ));
        }
    }
    for k in current.keys() {
        if !next.contains_key(k) {
            records.push(config_record(resource_type, resource_name, k, None));
        }
    }
    Ok(Decision {
        results: (),
        records,
    })
}

/// Whether `name` is a LIST config of the resource type, and its default.
fn list_info(resource_type: ConfigResourceType, name: &str) -> (bool, Option<String>) {
    let def = match resource_type {
        ConfigResourceType::Topic => topic_config_def(name),
        ConfigResourceType::Broker => topic_config_for_broker_key(name),
    };
    match def {
        Some(d) if d.kind == ConfigKind::List => (true, d.default.map(str::to_string)),
        _ => (false, None),
    }
}

fn validate_resource_configs(
    resource_type: ConfigResourceType,
    configs: &BTreeMap<String, String>,
) -> Result<(), ControllerError> {
    let invalid = |e: strata_metadata::MetadataError| ControllerError::InvalidConfig(e.to_string());
    match resource_type {
        ConfigResourceType::Topic => validate_topic_configs(configs).map_err(invalid),
        ConfigResourceType::Broker => {
            // Only broker keys that are the same-unit synonym of a topic config are checked;
            // other broker settings are stored as given (broker config definitions are not
            // modelled yet).
            for (k, v) in configs {
                if let Some(def) = topic_config_for_broker_key(k) {
                    if def.broker_synonym == Some(k.as_str()) {
                        config::validate_topic_config(def.name, v).map_err(|e| {
                            ControllerError::InvalidConfig(format!(
                                "Invalid value {v} for configuration {k}: {}",
                                match e {
                                    strata_metadata::MetadataError::InvalidConfig {
                                        reason,
                                        ..
                                    } => reason,
                                    other => other.to_string(),
                                }
                            ))
                        })?;
                    }
                }
            }
            Ok(())
        }
    }
}

fn config_record(
    resource_type: ConfigResourceType,
    resource_name: &str,
    name: &str,
    value: Option<String>,
) -> MetadataRecord {
    MetadataRecord::Config(ConfigRecord {
        resource_type,
        resource_name: resource_name.to_string(),
        name: name.to_string(),
        value,
    })
}

/// Decides a producer-id block for `broker_id`.
pub fn allocate_producer_ids(
    image: &MetadataImage,
    broker_id: i32,
) -> Result<Decision<std::ops::Range<i64>>, ControllerError> {
    let broker = image
        .brokers
        .get(&broker_id)
        .ok_or(ControllerError::BrokerIdNotRegistered(broker_id))?;
    let start = image.next_producer_id;
    let end = start
        .checked_add(PRODUCER_ID_BLOCK_SIZE)
        .ok_or(ControllerError::ProducerIdsExhausted(i64::MAX))?;
    debug_assert!(end > start, "producer id blocks must move forward");
    Ok(Decision {
        results: start..end,
        records: vec![MetadataRecord::ProducerIds {
            broker_id,
            broker_epoch: broker.broker_epoch,
            next_producer_id_block_start: end,
        }],
    })
}
