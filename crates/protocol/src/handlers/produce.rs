//! Produce: append record batches to partition leaders.

use std::collections::BTreeSet;

use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse,
    TopicProduceResponse,
};
use kafka_protocol::messages::BrokerId;
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use std::time::Duration;

use kafka_protocol::ResponseError;
use strata_broker::Acks;
use strata_metadata::topic::is_internal;

use super::{leader_hint, str_bytes, topic_name};
use crate::dispatch::{Dispatcher, Outcome, RequestContext};
use crate::errors::KafkaError;
use crate::records::{keyless_records, RecordsError};

/// How many record errors Kafka's message lists (`LogValidator.processRecordErrors`).
const RECORD_ERRORS_IN_MESSAGE: usize = 3;

/// Whether `topic`'s `cleanup.policy` (its own, else the broker's `log.cleanup.policy`)
/// includes `compact`.
fn is_compacted(d: &Dispatcher, image: &strata_metadata::MetadataImage, topic: &str) -> bool {
    let broker_policy = || {
        d.config()
            .broker_configs
            .iter()
            .find(|(k, ..)| k == "log.cleanup.policy")
            .map(|(_, v, ..)| v.as_str())
    };
    image
        .topic_config(topic, "cleanup.policy")
        .or_else(broker_policy)
        .is_some_and(|policy| policy.split(',').any(|p| p.trim() == "compact"))
}

/// A batch refused by a record-level check, with Kafka's per-record errors (KIP-467).
struct RecordRefusal {
    error: KafkaError,
    record_errors: Vec<BatchIndexAndErrorMessage>,
}

/// Kafka's `validateKey`: on a compacted topic every record needs a key. INVALID_RECORD with
/// one record error per keyless record, and Kafka's summary message.
fn check_keys(topic: &str, partition: i32, records: &bytes::Bytes) -> Result<(), RecordRefusal> {
    let keyless = keyless_records(records).map_err(|e| {
        let code = match e {
            RecordsError::Corrupt(_) => ResponseError::CorruptMessage,
            RecordsError::TooLarge { .. } => ResponseError::InvalidRecord,
        };
        RecordRefusal {
            error: KafkaError::new(code, e.to_string()),
            record_errors: Vec::new(),
        }
    })?;
    if keyless.is_empty() {
        return Ok(());
    }
    let message = format!(
        "Compacted topic cannot accept message without key in topic partition {topic}-{partition}"
    );
    let shown: Vec<String> = keyless
        .iter()
        .take(RECORD_ERRORS_IN_MESSAGE)
        .map(|i| format!("RecordError(batchIndex={i}, message='{message}')"))
        .collect();
    let summary = format!(
        "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
        keyless.len(),
        shown.join(", ")
    );
    Err(RecordRefusal {
        error: KafkaError::new(ResponseError::InvalidRecord, summary),
        record_errors: keyless
            .iter()
            .map(|i| {
                BatchIndexAndErrorMessage::default()
                    .with_batch_index(*i)
                    .with_batch_index_error_message(Some(str_bytes(&message)))
            })
            .collect(),
    })
}

/// Counts the record batches in a produce payload by walking their length fields (no CRC
/// work: the storage layer validates each batch once).
fn batch_count(records: &[u8]) -> usize {
    const LENGTH_FIELD_END: usize = 12;
    let mut count = 0;
    let mut pos = 0usize;
    while pos < records.len() {
        count += 1;
        let Some(len) = records.get(pos + 8..pos + LENGTH_FIELD_END) else {
            break;
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        let Ok(len) = usize::try_from(len) else { break };
        pos = pos.saturating_add(LENGTH_FIELD_END).saturating_add(len);
    }
    count
}

/// Handles Produce: appends every partition's batch, then (acks=all) waits for each to be
/// committed, all within the request's `timeout_ms`.
pub async fn handle(
    d: &Dispatcher,
    ctx: &RequestContext<'_>,
    req: ProduceRequest,
    version: i16,
) -> Outcome<ProduceResponse> {
    let broker = d.broker();
    let image = broker.image();
    // Checked once; an invalid value is every partition's INVALID_REQUIRED_ACKS, as Kafka.
    let acks = Acks::try_from(req.acks);
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms.max(0)).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    let transactional = req.transactional_id.is_some();
    let mut appended = Vec::with_capacity(req.topic_data.len());
    for topic in req.topic_data {
        // v13+ names topics by id.
        let name = if topic.name.0.is_empty() {
            image
                .topic_by_id(&topic.topic_id)
                .map(|t| t.name.clone())
                .unwrap_or_default()
        } else {
            topic.name.0.to_string()
        };
        let compacted = !name.is_empty() && is_compacted(d, &image, &name);
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for p in topic.partition_data {
            let mut record_errors = Vec::new();
            let result = if transactional {
                Err(KafkaError::new(
                    ResponseError::TransactionalIdAuthorizationFailed,
                    "transactions are not supported by this Strata version",
                ))
            } else if is_internal(&name) {
                // As Kafka's ReplicaManager: clients never append to internal topics; the
                // group coordinator writes to them through the broker, not the wire.
                Err(KafkaError::new(
                    ResponseError::InvalidTopicException,
                    format!("Cannot append to internal topic {name}"),
                ))
            } else if name.is_empty() {
                Err(KafkaError::new(
                    ResponseError::UnknownTopicId,
                    format!("unknown topic id {}", topic.topic_id),
                ))
            } else {
                match p.records {
                    None => Err(KafkaError::new(
                        ResponseError::InvalidRecord,
                        "produce request without records",
                    )),
                    // Kafka's ProduceRequest.validateRecords for v3+.
                    Some(records) if batch_count(&records) != 1 => Err(KafkaError::new(
                        ResponseError::InvalidRecord,
                        format!(
                            "Produce requests with version {version} are only allowed to contain exactly one record batch"
                        ),
                    )),
                    Some(records) => match compacted
                        .then(|| check_keys(&name, p.index, &records))
                        .transpose()
                    {
                        Err(refusal) => {
                            record_errors = refusal.record_errors;
                            Err(refusal.error)
                        }
                        Ok(_) => match &acks {
                            Ok(acks) => broker
                                .append_without_wake(&name, p.index, records, *acks)
                                .map_err(|e| KafkaError::from(&e)),
                            Err(invalid) => Err(KafkaError::from(invalid)),
                        },
                    },
                }
            };
            partitions.push((p.index, result, record_errors));
        }
        appended.push((name, topic.topic_id, partitions));
    }
    // One wake-up for the whole request (see `append_without_wake`).
    broker.wake_fetches();
    // Every batch is in its leader's log: now wait (acks=all) for each to be committed, so
    // the partitions of one request replicate in parallel under one deadline.
    let mut responses = Vec::with_capacity(appended.len());
    for (name, topic_id, results) in appended {
        let mut partitions = Vec::with_capacity(results.len());
        for (index, result, record_errors) in results {
            let result = match result {
                Ok((info, leader_epoch)) if matches!(acks, Ok(Acks::All)) => {
                    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                    broker
                        .wait_for_replication(
                            &name,
                            index,
                            info.last_offset + 1,
                            leader_epoch,
                            remaining,
                        )
                        .await
                        .map(|()| info)
                        .map_err(|e| KafkaError::from(&e))
                }
                other => other.map(|(info, _)| info),
            };
            let response = PartitionProduceResponse::default().with_index(index);
            partitions.push(match result {
                Ok(info) => response
                    .with_base_offset(info.base_offset)
                    .with_log_append_time_ms(info.log_append_time_ms)
                    .with_log_start_offset(info.log_start_offset),
                Err(error) => {
                    tracing::debug!(topic = %name, partition = index, error = %error.message, "produce failed");
                    response
                        .with_error_code(error.code())
                        .with_error_message(error.message())
                        .with_record_errors(record_errors)
                        .with_base_offset(-1)
                        .with_log_append_time_ms(-1)
                        .with_log_start_offset(-1)
                }
            });
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic_name(&name))
                .with_topic_id(topic_id)
                .with_partition_responses(partitions),
        );
    }
    if matches!(acks, Ok(Acks::None)) {
        let failed = responses
            .iter()
            .flat_map(|t| t.partition_responses.iter().map(move |p| (t, p)))
            .find(|(_, p)| p.error_code != 0);
        return match failed {
            Some((t, p)) => Outcome::Close(format!(
                "acks=0 produce to {}-{} failed with error {}",
                t.name.0.as_str(),
                p.index,
                p.error_code
            )),
            // acks=0 and everything was appended: no response.
            None => Outcome::NoResponse,
        };
    }
    // KIP-951 (v10+): point clients at the new leader.
    let mut hinted = BTreeSet::new();
    if version >= 10 {
        let image = broker.image();
        for topic in &mut responses {
            for p in &mut topic.partition_responses {
                if !leader_hint::wants_hint(p.error_code) {
                    continue;
                }
                if let Some((leader, epoch)) =
                    leader_hint::current_leader(&image, topic.name.0.as_str(), p.index)
                {
                    p.current_leader = LeaderIdAndEpoch::default()
                        .with_leader_id(BrokerId(leader))
                        .with_leader_epoch(epoch);
                    hinted.insert(leader);
                }
            }
        }
    }
    let node_endpoints = leader_hint::endpoints(&broker.image(), ctx.listener, &hinted)
        .into_iter()
        .map(|b| {
            NodeEndpoint::default()
                .with_node_id(b.node_id)
                .with_host(b.host)
                .with_port(b.port)
                .with_rack(b.rack)
        })
        .collect();
    Outcome::Respond(
        ProduceResponse::default()
            .with_responses(responses)
            .with_node_endpoints(node_endpoints),
    )
}

#[cfg(test)]
mod tests {
    use super::batch_count;

    fn batch(len: i32) -> Vec<u8> {
        let mut b = vec![0u8; 12 + len as usize];
        b[8..12].copy_from_slice(&len.to_be_bytes());
        b
    }

    #[test]
    fn counts_batches_by_length_fields() {
        assert_eq!(batch_count(&batch(49)), 1);
        let mut two = batch(49);
        two.extend(batch(60));
        assert_eq!(batch_count(&two), 2);
        assert_eq!(batch_count(&[0u8; 5]), 1);
        assert_eq!(batch_count(&[]), 0);
        let mut negative = batch(49);
        negative[8..12].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(batch_count(&negative), 1);
    }
}
