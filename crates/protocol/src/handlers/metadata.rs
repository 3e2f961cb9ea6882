//! Metadata: brokers, topics and partition leadership, with topic auto-creation.

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::ResponseError;
use strata_broker::Broker;
use strata_metadata::image::{MetadataImage, TopicImage};
use strata_metadata::topic::{is_internal, validate_topic_name};
use uuid::Uuid;

use super::{broker_ids, str_bytes, topic_name};
use crate::dispatch::{Dispatcher, RequestContext};
use crate::errors::KafkaError;

/// Kafka's "authorized operations not requested" marker.
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Handles Metadata.
pub async fn handle(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    req: MetadataRequest,
) -> MetadataResponse {
    let version = ctx.version();
    let broker = d.broker();
    let mut image = broker.image();
    // v0: an empty list means all topics; v1+: null means all topics.
    let wanted = match req.topics {
        None => None,
        Some(topics) if topics.is_empty() && version == 0 => None,
        Some(topics) => Some(topics),
    };
    let auto_create =
        broker.config().auto_create_topics_enable && (version < 4 || req.allow_auto_topic_creation);
    if broker.reachability().any_unreachable() {
        image = wait_for_reachable_leaders(broker, image, wanted.as_deref()).await;
    }
    let mut topics = Vec::new();
    match wanted {
        None => {
            for topic in image.topics() {
                topics.push(describe_topic(&image, topic));
            }
        }
        Some(requested) => {
            let mut to_create = Vec::new();
            for t in &requested {
                if let Some(name) = &t.name {
                    let name = name.0.as_str();
                    if image.topic(name).is_none()
                        && auto_create
                        && validate_topic_name(name).is_ok()
                    {
                        to_create.push(name.to_string());
                    }
                }
            }
            if !to_create.is_empty() {
                for result in broker.auto_create_topics(to_create).await {
                    if let Err(error) = result {
                        tracing::info!(%error, "topic auto-creation failed");
                    }
                }
                image = broker.image();
            }
            for t in requested {
                let response = match &t.name {
                    Some(name) => match image.topic(name.0.as_str()) {
                        Some(topic) => describe_topic(&image, topic),
                        None => {
                            let code = match validate_topic_name(name.0.as_str()) {
                                Err(_) => ResponseError::InvalidTopicException,
                                Ok(()) => ResponseError::UnknownTopicOrPartition,
                            };
                            topic_error(Some(name.0.as_str()), t.topic_id, code)
                        }
                    },
                    None => match image.topic_by_id(&t.topic_id) {
                        Some(topic) => describe_topic(&image, topic),
                        None => topic_error(None, t.topic_id, ResponseError::UnknownTopicId),
                    },
                };
                topics.push(response);
            }
        }
    }
    // The image answered from may be newer than the last one the broker applied (a held
    // request wakes on the controller's watch): note its fencings before listing.
    broker.recently_fenced().observe(&image);
    MetadataResponse::default()
        .with_brokers(listed_brokers(&image, ctx.listener, &|id| {
            broker.recently_fenced().still_listed(id)
        }))
        .with_cluster_id(Some(str_bytes(&image.cluster_id)))
        // KRaft brokers tell clients a live broker as "controller": admin requests sent there
        // are forwarded to the active controller.
        .with_controller_id(BrokerId(d.config().node_id))
        .with_topics(topics)
        .with_cluster_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// Unfenced brokers with their endpoint on `listener` (or their first endpoint).
pub(crate) fn brokers(image: &MetadataImage, listener: &str) -> Vec<MetadataResponseBroker> {
    listed_brokers(image, listener, &|_| false)
}

/// Unfenced brokers and the fenced ones `also` names, with their endpoint on `listener` (or
/// their first endpoint).
fn listed_brokers(
    image: &MetadataImage,
    listener: &str,
    also: &dyn Fn(i32) -> bool,
) -> Vec<MetadataResponseBroker> {
    image
        .brokers
        .values()
        .filter(|b| !b.fenced || also(b.broker_id))
        .filter_map(|b| {
            let endpoint = b
                .endpoints
                .iter()
                .find(|e| e.listener_name == listener)
                .or_else(|| b.endpoints.first())?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.broker_id))
                    .with_host(str_bytes(&endpoint.host))
                    .with_port(i32::from(endpoint.port))
                    .with_rack(b.rack.as_deref().map(str_bytes)),
            )
        })
        .collect()
}

fn topic_error(name: Option<&str>, topic_id: Uuid, code: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(code.code())
        .with_name(name.map(topic_name))
        .with_topic_id(topic_id)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// Longest a Metadata request waits for the controller to replace leaders this broker's
/// followers lost. A dead broker's partitions move one broker session (500 ms by default) after
/// its last heartbeat; the client asking right after its connection dropped then gets the new
/// leaders instead of a dead one or none. The wait holds up this connection's later requests
/// (they are answered in order), so it stays short; past it, the image is answered as it is.
///
/// A lost leader is never reported as none (-1): with its leader epoch unchanged, librdkafka
/// (2.4 and later, confluentinc/librdkafka#4804) parks such a partition on its internal broker
/// and never moves it back when the same leader is named again with the same epoch — a leader
/// that was only slow to answer would stall that client's partition for good (the chaos suite
/// showed it: thousands of sends timed out).
pub const MAX_LEADER_WAIT_MS: u64 = 600;
/// How often a waiting Metadata request looks again whether its lost leaders answer again
/// (the followers' next fetch), besides on every new image.
const LEADER_WAIT_RECHECK_MS: u64 = 50;

/// Waits (at most [`MAX_LEADER_WAIT_MS`]) until no topic of the request has a leader this
/// broker's followers cannot reach; returns the newest image.
async fn wait_for_reachable_leaders(
    broker: &Broker,
    mut image: std::sync::Arc<MetadataImage>,
    wanted: Option<&[MetadataRequestTopic]>,
) -> std::sync::Arc<MetadataImage> {
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_millis(MAX_LEADER_WAIT_MS);
    let mut images = broker.subscribe_images();
    loop {
        let unreachable = broker.reachability().unreachable();
        if unreachable.is_empty() {
            return image;
        }
        let lost = |t: &TopicImage| {
            t.partitions
                .values()
                .any(|p| p.leader >= 0 && unreachable.contains(&p.leader))
        };
        let waiting = match wanted {
            None => image.topics().any(lost),
            Some(requested) => requested
                .iter()
                .filter_map(|t| match &t.name {
                    Some(name) => image.topic(name.0.as_str()),
                    None => image.topic_by_id(&t.topic_id),
                })
                .any(lost),
        };
        let now = tokio::time::Instant::now();
        if !waiting || now >= deadline {
            return image;
        }
        let recheck = deadline.min(now + std::time::Duration::from_millis(LEADER_WAIT_RECHECK_MS));
        if let Ok(Err(_)) = tokio::time::timeout_at(recheck, images.changed()).await {
            // The controller is gone (shutting down): answer with what there is.
            return image;
        }
        image = broker.image();
    }
}

fn describe_topic(image: &MetadataImage, topic: &TopicImage) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .map(|(index, p)| {
            let offline: Vec<i32> = p
                .replicas
                .iter()
                .copied()
                .filter(|r| image.brokers.get(r).is_none_or(|b| b.fenced))
                .collect();
            let error = if p.leader < 0 {
                KafkaError::new(ResponseError::LeaderNotAvailable, "").code()
            } else {
                0
            };
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(*index)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(broker_ids(&p.replicas))
                .with_isr_nodes(broker_ids(&p.isr))
                .with_offline_replicas(broker_ids(&offline))
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(topic.topic_id)
        .with_is_internal(is_internal(&topic.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}
