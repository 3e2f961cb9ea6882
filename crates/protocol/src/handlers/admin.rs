//! CreateTopics, DeleteTopics and CreatePartitions: validated and committed by the controller.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse,
};
use kafka_protocol::ResponseError;
use strata_controller::{CreatePartitionsSpec, CreateTopicSpec, TopicRef};
use uuid::Uuid;

use super::{str_bytes, topic_name};
use crate::dispatch::Dispatcher;
use crate::errors::KafkaError;
use crate::handlers::configs::config_source_code;

/// Handles CreateTopics.
pub async fn create_topics(
    d: &Dispatcher,
    req: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let specs: Vec<CreateTopicSpec> = req
        .topics
        .iter()
        .map(|t| CreateTopicSpec {
            name: t.name.0.to_string(),
            num_partitions: t.num_partitions,
            replication_factor: t.replication_factor,
            assignments: t
                .assignments
                .iter()
                .map(|a| {
                    (
                        a.partition_index,
                        a.broker_ids.iter().map(|b| b.0).collect(),
                    )
                })
                .collect(),
            configs: t
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect(),
        })
        .collect();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let results = d.controller().create_topics(specs, req.validate_only).await;
    if !req.validate_only {
        d.broker().apply_latest_image().await;
    }
    let topics = names
        .iter()
        .zip(results)
        .map(|(name, result)| {
            let base = CreatableTopicResult::default().with_name(topic_name(name));
            match result {
                Ok(created) => {
                    let configs = created
                        .configs
                        .iter()
                        .map(|(name, value, source)| {
                            CreatableTopicConfigs::default()
                                .with_name(str_bytes(name))
                                .with_value(Some(str_bytes(value)))
                                .with_config_source(config_source_code(*source))
                        })
                        .collect();
                    base.with_topic_id(created.topic_id)
                        .with_num_partitions(created.num_partitions)
                        .with_replication_factor(created.replication_factor)
                        .with_configs(if version >= 5 { Some(configs) } else { None })
                }
                Err(error) => {
                    let error = KafkaError::from(&error);
                    base.with_error_code(error.code())
                        .with_error_message(error.message())
                        .with_num_partitions(-1)
                        .with_replication_factor(-1)
                        .with_configs(None)
                }
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

/// Handles DeleteTopics (by name, and by id from v6).
pub async fn delete_topics(
    d: &Dispatcher,
    req: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let refs: Vec<TopicRef> = if version >= 6 {
        req.topics
            .iter()
            .map(|t| match &t.name {
                Some(name) => TopicRef::Name(name.0.to_string()),
                None => TopicRef::Id(t.topic_id),
            })
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| TopicRef::Name(n.0.to_string()))
            .collect()
    };
    if !d.config().delete_topic_enable {
        let responses = refs
            .iter()
            .map(|r| {
                deletion_result(r).with_error_code(ResponseError::TopicDeletionDisabled.code())
            })
            .collect();
        return DeleteTopicsResponse::default().with_responses(responses);
    }
    let results = d.controller().delete_topics(refs.clone()).await;
    d.broker().apply_latest_image().await;
    let responses = refs
        .iter()
        .zip(results)
        .map(|(r, result)| match result {
            Ok((name, id)) => DeletableTopicResult::default()
                .with_name(Some(topic_name(&name)))
                .with_topic_id(id),
            Err(error) => {
                let error = KafkaError::from(&error);
                deletion_result(r)
                    .with_error_code(error.code())
                    .with_error_message(error.message())
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

fn deletion_result(r: &TopicRef) -> DeletableTopicResult {
    match r {
        TopicRef::Name(name) => DeletableTopicResult::default()
            .with_name(Some(topic_name(name)))
            .with_topic_id(Uuid::nil()),
        TopicRef::Id(id) => DeletableTopicResult::default()
            .with_name(None)
            .with_topic_id(*id),
    }
}

/// Handles CreatePartitions.
pub async fn create_partitions(
    d: &Dispatcher,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let specs: Vec<CreatePartitionsSpec> = req
        .topics
        .iter()
        .map(|t| CreatePartitionsSpec {
            topic: t.name.0.to_string(),
            count: t.count,
            assignments: t.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|x| x.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            }),
        })
        .collect();
    let results = d
        .controller()
        .create_partitions(specs, req.validate_only)
        .await;
    if !req.validate_only {
        d.broker().apply_latest_image().await;
    }
    let results = req
        .topics
        .iter()
        .zip(results)
        .map(|(t, result)| {
            let base = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            match result {
                Ok(()) => base,
                Err(error) => {
                    let error = KafkaError::from(&error);
                    base.with_error_code(error.code())
                        .with_error_message(error.message())
                }
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
