//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use strata_controller::{ConfigOp, ConfigOpKind};
use strata_metadata::config::{effective_topic_config, ConfigKind, ConfigSource};
use strata_metadata::records::ConfigResourceType;

use super::str_bytes;
use crate::dispatch::Dispatcher;
use crate::errors::KafkaError;

/// Kafka's `ConfigResource.Type` codes.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// Kafka's `DescribeConfigsResponse.ConfigSource` codes.
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

/// The wire code of a config source.
pub fn config_source_code(source: ConfigSource) -> i8 {
    match source {
        ConfigSource::TopicOverride => SOURCE_DYNAMIC_TOPIC,
        ConfigSource::StaticBroker => SOURCE_STATIC_BROKER,
        ConfigSource::Default => SOURCE_DEFAULT,
    }
}

/// Kafka's `ConfigEntry.ConfigType` codes.
fn config_type_code(kind: ConfigKind) -> i8 {
    match kind {
        ConfigKind::Boolean => 1,
        ConfigKind::String => 2,
        ConfigKind::Int => 3,
        ConfigKind::Long => 5,
        ConfigKind::Double => 6,
        ConfigKind::List => 7,
        ConfigKind::Class => 8,
        ConfigKind::Password => 9,
    }
}

/// Broker settings that differ from Kafka's defaults (the "static broker config" layer).
fn broker_overrides(d: &Dispatcher) -> BTreeMap<String, String> {
    d.config()
        .broker_configs
        .iter()
        .filter(|(_, _, is_default, _)| !is_default)
        .map(|(k, v, _, _)| (k.clone(), v.clone()))
        .collect()
}

fn wanted(keys: &Option<Vec<StrBytes>>, name: &str) -> bool {
    keys.as_ref()
        .is_none_or(|keys| keys.is_empty() || keys.iter().any(|k| k.as_str() == name))
}

/// Handles DescribeConfigs.
pub fn describe_configs(d: &Dispatcher, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let image = d.broker().image();
    let overrides = broker_overrides(d);
    let results = req
        .resources
        .iter()
        .map(|resource| {
            let base = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let name = resource.resource_name.as_str();
            match resource.resource_type {
                RESOURCE_TOPIC => {
                    if image.topic(name).is_none() {
                        return base
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(str_bytes(&format!(
                                "Topic {name} does not exist"
                            ))));
                    }
                    let explicit = image.topic_configs(name);
                    let configs = effective_topic_config(&explicit, &overrides)
                        .into_iter()
                        .filter(|(def, _, _)| wanted(&resource.configuration_keys, def.name))
                        .map(|(def, value, source)| {
                            let sensitive = def.kind == ConfigKind::Password;
                            let mut synonyms = Vec::new();
                            if req.include_synonyms {
                                if let Some(v) = explicit.get(def.name) {
                                    synonyms.push(synonym(def.name, v, SOURCE_DYNAMIC_TOPIC));
                                }
                                if let Some(key) = def.broker_synonym {
                                    if let Some(v) = overrides.get(key) {
                                        synonyms.push(synonym(key, v, SOURCE_STATIC_BROKER));
                                    }
                                }
                                if let Some(v) = def.default {
                                    synonyms.push(synonym(
                                        def.broker_synonym.unwrap_or(def.name),
                                        v,
                                        SOURCE_DEFAULT,
                                    ));
                                }
                            }
                            DescribeConfigsResourceResult::default()
                                .with_name(str_bytes(def.name))
                                .with_value(if sensitive {
                                    None
                                } else {
                                    Some(str_bytes(&value))
                                })
                                .with_read_only(false)
                                .with_config_source(config_source_code(source))
                                .with_is_sensitive(sensitive)
                                .with_synonyms(synonyms)
                                .with_config_type(config_type_code(def.kind))
                                .with_documentation(if req.include_documentation {
                                    Some(str_bytes(def.doc))
                                } else {
                                    None
                                })
                        })
                        .collect();
                    base.with_configs(configs)
                }
                RESOURCE_BROKER => {
                    if !name.is_empty() && name != d.config().node_id.to_string() {
                        return base
                            .with_error_code(ResponseError::InvalidRequest.code())
                            .with_error_message(Some(str_bytes(&format!(
                                "broker {name} cannot be described by node {}",
                                d.config().node_id
                            ))));
                    }
                    let configs = d
                        .config()
                        .broker_configs
                        .iter()
                        .filter(|(k, _, _, _)| wanted(&resource.configuration_keys, k))
                        .map(|(k, v, is_default, sensitive)| {
                            DescribeConfigsResourceResult::default()
                                .with_name(str_bytes(k))
                                .with_value(if *sensitive { None } else { Some(str_bytes(v)) })
                                .with_read_only(true)
                                .with_config_source(if *is_default {
                                    SOURCE_DEFAULT
                                } else {
                                    SOURCE_STATIC_BROKER
                                })
                                .with_is_sensitive(*sensitive)
                                .with_config_type(2)
                        })
                        .collect();
                    base.with_configs(configs)
                }
                other => base
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes(&format!(
                        "unsupported config resource type {other}"
                    )))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn synonym(name: &str, value: &str, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(str_bytes(name))
        .with_value(Some(str_bytes(value)))
        .with_source(source)
}

fn resource_type(code: i8) -> Result<ConfigResourceType, KafkaError> {
    match code {
        RESOURCE_TOPIC => Ok(ConfigResourceType::Topic),
        RESOURCE_BROKER => Err(KafkaError::new(
            ResponseError::InvalidRequest,
            "dynamic broker configs are not supported yet: set them in server.properties",
        )),
        other => Err(KafkaError::new(
            ResponseError::InvalidRequest,
            format!("unsupported config resource type {other}"),
        )),
    }
}

async fn alter(
    d: &Dispatcher,
    code: i8,
    name: &StrBytes,
    ops: Vec<ConfigOp>,
    incremental: bool,
    validate_only: bool,
) -> AlterConfigsResourceResponse {
    let base = AlterConfigsResourceResponse::default()
        .with_resource_type(code)
        .with_resource_name(name.clone());
    let result = match resource_type(code) {
        Ok(kind) => d
            .controller()
            .alter_configs(kind, name.to_string(), ops, incremental, validate_only)
            .await
            .map_err(|e| KafkaError::from(&e)),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => {
            if !validate_only {
                d.broker().apply_latest_image().await;
            }
            base
        }
        Err(error) => base
            .with_error_code(error.code())
            .with_error_message(error.message()),
    }
}

/// Handles AlterConfigs (replaces a resource's whole config set).
pub async fn alter_configs(d: &Dispatcher, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut responses = Vec::with_capacity(req.resources.len());
    for resource in &req.resources {
        let ops = resource
            .configs
            .iter()
            .map(|c| ConfigOp {
                name: c.name.to_string(),
                op: match &c.value {
                    Some(v) => ConfigOpKind::Set(v.to_string()),
                    None => ConfigOpKind::Delete,
                },
            })
            .collect();
        responses.push(
            alter(
                d,
                resource.resource_type,
                &resource.resource_name,
                ops,
                false,
                req.validate_only,
            )
            .await,
        );
    }
    AlterConfigsResponse::default().with_responses(responses)
}

/// Handles IncrementalAlterConfigs (SET 0, DELETE 1, APPEND 2, SUBTRACT 3).
pub async fn incremental_alter_configs(
    d: &Dispatcher,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::with_capacity(req.resources.len());
    for resource in &req.resources {
        let mut ops = Vec::with_capacity(resource.configs.len());
        let mut bad = None;
        for c in &resource.configs {
            let value = c.value.as_ref().map(|v| v.to_string()).unwrap_or_default();
            let op = match c.config_operation {
                0 => ConfigOpKind::Set(value),
                1 => ConfigOpKind::Delete,
                2 => ConfigOpKind::Append(value),
                3 => ConfigOpKind::Subtract(value),
                other => {
                    bad = Some(other);
                    break;
                }
            };
            ops.push(ConfigOp {
                name: c.name.to_string(),
                op,
            });
        }
        let response = match bad {
            Some(op) => AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(str_bytes(&format!("unknown config operation {op}")))),
            None => {
                alter(
                    d,
                    resource.resource_type,
                    &resource.resource_name,
                    ops,
                    true,
                    req.validate_only,
                )
                .await
            }
        };
        responses.push(
            kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(response.error_code)
                .with_error_message(response.error_message)
                .with_resource_type(response.resource_type)
                .with_resource_name(response.resource_name),
        );
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
