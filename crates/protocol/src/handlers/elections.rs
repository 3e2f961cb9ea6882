//! ElectLeaders: preferred and unclean leader elections, decided by the controller.

use std::collections::BTreeMap;

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};
use kafka_protocol::ResponseError;
use strata_controller::{ControllerError, ElectionTarget, ElectionType};

use super::{str_bytes, topic_name};
use crate::dispatch::Dispatcher;
use crate::errors::KafkaError;

/// Handles ElectLeaders (v0 is always a preferred election; v1+ carries the type and a
/// top-level error code). A request without partitions elects over the whole cluster and, as
/// in Kafka, reports only the partitions that needed an election.
pub async fn elect_leaders(
    d: &Dispatcher,
    req: ElectLeadersRequest,
    version: i16,
) -> ElectLeadersResponse {
    let targets: Option<Vec<ElectionTarget>> = req.topic_partitions.as_ref().map(|topics| {
        let mut targets = Vec::new();
        for t in topics {
            for partition in &t.partitions {
                let target = ElectionTarget {
                    topic: t.topic.0.to_string(),
                    partition: *partition,
                };
                // The Admin client sends a set; a hand-made request may repeat a partition.
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
        targets
    });
    let election = if version == 0 {
        Some(ElectionType::Preferred)
    } else {
        ElectionType::from_code(req.election_type)
    };
    let Some(election) = election else {
        let error = KafkaError::new(
            ResponseError::InvalidRequest,
            format!("unknown election type {}", req.election_type),
        );
        return whole_request_failed(&targets, &error, version);
    };
    match d
        .controller()
        .elect_leaders(election, targets.clone())
        .await
    {
        Ok(results) => {
            // The new leaders are committed: act on them here before answering.
            d.broker().apply_latest_image().await;
            response(results, version)
        }
        Err(error) => {
            let error = match error {
                // No controller answered within the request's time: Kafka's broker answers a
                // forwarded request that timed out with REQUEST_TIMED_OUT (retriable).
                ControllerError::NotController => KafkaError::new(
                    ResponseError::RequestTimedOut,
                    "no active controller answered the election request",
                ),
                other => KafkaError::from(&other),
            };
            whole_request_failed(&targets, &error, version)
        }
    }
}

fn response(
    results: Vec<(ElectionTarget, Result<(), ControllerError>)>,
    _version: i16,
) -> ElectLeadersResponse {
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for (target, result) in results {
        let entry = PartitionResult::default().with_partition_id(target.partition);
        let entry = match result {
            Ok(()) => entry.with_error_message(None),
            Err(error) => {
                let error = KafkaError::from(&error);
                entry
                    .with_error_code(error.code())
                    .with_error_message(error.message())
            }
        };
        by_topic.entry(target.topic).or_default().push(entry);
    }
    ElectLeadersResponse::default().with_replica_election_results(
        by_topic
            .into_iter()
            .map(|(topic, partitions)| {
                ReplicaElectionResult::default()
                    .with_topic(topic_name(&topic))
                    .with_partition_result(partitions)
            })
            .collect(),
    )
}

/// The whole request failed: v1+ says so at the top; every named partition carries the error
/// too (v0 has nowhere else to put it).
fn whole_request_failed(
    targets: &Option<Vec<ElectionTarget>>,
    error: &KafkaError,
    version: i16,
) -> ElectLeadersResponse {
    let results = targets
        .iter()
        .flatten()
        .map(|t| {
            (
                t.clone(),
                Err(ControllerError::InvalidRequest(error.message.clone())),
            )
        })
        .collect();
    let mut response = response(results, version);
    for topic in &mut response.replica_election_results {
        for p in &mut topic.partition_result {
            p.error_code = error.code();
            p.error_message = Some(str_bytes(&error.message));
        }
    }
    if version >= 1 {
        response.error_code = error.code();
    }
    response
}
