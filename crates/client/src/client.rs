//! [`Client`]: bootstrap, cluster metadata, leader routing and typed request helpers.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::{
    create_partitions_request::{CreatePartitionsAssignment, CreatePartitionsTopic},
    create_topics_request::{CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig},
    delete_topics_request::DeleteTopicState,
    describe_configs_request::DescribeConfigsResource,
    describe_topic_partitions_request::{Cursor, TopicRequest},
    fetch_request::{FetchPartition, FetchTopic},
    list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic},
    metadata_request::MetadataRequestTopic,
    produce_request::{PartitionProduceData, TopicProduceData},
    ApiKey, BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeClusterRequest, DescribeConfigsRequest, DescribeTopicPartitionsRequest,
    ElectLeadersRequest, FetchRequest, InitProducerIdRequest, ListOffsetsRequest, MetadataRequest,
    ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::connection::Connection;
use crate::error::{codes, ClientError, Result};
use crate::records::{decode_batches, encode_batch, ProduceRecord};
use crate::types::*;

/// Client id sent in request headers unless the caller sets another.
pub const DEFAULT_CLIENT_ID: &str = "strata-client";
/// Broker-side timeout for admin requests (Kafka's admin default request timeout).
pub const ADMIN_TIMEOUT_MS: i32 = 30_000;
/// Partitions per DescribeTopicPartitions response page (Kafka's tool default).
pub const DESCRIBE_PARTITIONS_PAGE_LIMIT: i32 = 2000;
/// DescribeConfigs resource type for topics.
const RESOURCE_TYPE_TOPIC: i8 = 2;
/// ListOffsets timestamp meaning "earliest offset".
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// ListOffsets timestamp meaning "latest offset" (the high watermark).
pub const LATEST_TIMESTAMP: i64 = -1;
/// Kafka isolation level `read_uncommitted`.
pub const READ_UNCOMMITTED: i8 = 0;
/// Kafka isolation level `read_committed`.
pub const READ_COMMITTED: i8 = 1;

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn opt_str(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.as_str().to_string())
}

fn ids(v: &[BrokerId]) -> Vec<i32> {
    v.iter().map(|b| b.0).collect()
}

/// Parses `host:port[,host:port]` into addresses.
pub fn parse_bootstrap(bootstrap: &str) -> Result<Vec<String>> {
    let addrs: Vec<String> = bootstrap
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if addrs.is_empty() {
        return Err(ClientError::InvalidBootstrap {
            input: bootstrap.to_string(),
            reason: "no host:port entries",
        });
    }
    for a in &addrs {
        let port_ok = a
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !port_ok {
            return Err(ClientError::InvalidBootstrap {
                input: bootstrap.to_string(),
                reason: "each entry must be host:port with a numeric port",
            });
        }
    }
    Ok(addrs)
}

/// A small Kafka client: one bootstrap connection plus cached connections per broker id.
///
/// Methods take `&mut self` and run one request at a time; that is all the CLI tools need.
pub struct Client {
    pub(crate) client_id: String,
    bootstrap: Connection,
    pub(crate) brokers: HashMap<i32, String>,
    pub(crate) connections: HashMap<i32, Connection>,
    controller_id: i32,
    /// (topic, partition) -> leader id, from the latest metadata.
    leaders: HashMap<(String, i32), i32>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("bootstrap", &self.bootstrap.addr())
            .field("brokers", &self.brokers)
            .finish()
    }
}

impl Client {
    /// Connects to the first reachable bootstrap server and loads broker metadata.
    pub async fn connect(bootstrap: &str) -> Result<Client> {
        Self::connect_with_client_id(bootstrap, DEFAULT_CLIENT_ID).await
    }

    /// Like [`Client::connect`] with an explicit client id.
    pub async fn connect_with_client_id(bootstrap: &str, client_id: &str) -> Result<Client> {
        let addrs = parse_bootstrap(bootstrap)?;
        let mut last_err = None;
        for addr in &addrs {
            match Connection::connect(addr, client_id).await {
                Ok(conn) => {
                    let mut client = Client {
                        client_id: client_id.to_string(),
                        bootstrap: conn,
                        brokers: HashMap::new(),
                        connections: HashMap::new(),
                        controller_id: -1,
                        leaders: HashMap::new(),
                    };
                    client.metadata(Some(Vec::new()), false).await?;
                    return Ok(client);
                }
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "bootstrap server unreachable");
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or(ClientError::InvalidBootstrap {
            input: bootstrap.to_string(),
            reason: "no host:port entries",
        }))
    }

    /// The bootstrap connection (also used for requests that can go to any broker).
    pub fn any_connection(&mut self) -> &mut Connection {
        &mut self.bootstrap
    }

    /// Controller id from the latest metadata (-1 if unknown).
    pub fn controller_id(&self) -> i32 {
        self.controller_id
    }

    /// Connection to broker `id`, opened and cached on first use.
    pub async fn connection(&mut self, id: i32) -> Result<&mut Connection> {
        if !self.connections.contains_key(&id) {
            let addr = self
                .brokers
                .get(&id)
                .cloned()
                .ok_or(ClientError::UnknownBroker(id))?;
            let conn = Connection::connect(&addr, &self.client_id).await?;
            self.connections.insert(id, conn);
        }
        self.connections
            .get_mut(&id)
            .ok_or(ClientError::UnknownBroker(id))
    }

    /// Drops a cached connection after a transport error so the next call reconnects.
    pub(crate) fn forget_connection(&mut self, id: i32, err: &ClientError) {
        if err.is_connection_broken() {
            self.connections.remove(&id);
        }
    }

    /// Connection for admin requests: the controller if known and reachable, else bootstrap.
    async fn admin_connection(&mut self) -> &mut Connection {
        let id = self.controller_id;
        if id >= 0 && self.brokers.contains_key(&id) && self.connection(id).await.is_ok() {
            if let Some(c) = self.connections.get_mut(&id) {
                return c;
            }
        }
        &mut self.bootstrap
    }

    /// Leader of a partition from cached metadata, refreshing it once if unknown.
    pub async fn leader_for(&mut self, topic: &str, partition: i32) -> Result<i32> {
        let key = (topic.to_string(), partition);
        if let Some(&l) = self.leaders.get(&key) {
            if l >= 0 {
                return Ok(l);
            }
        }
        self.metadata(Some(vec![topic.to_string()]), false).await?;
        match self.leaders.get(&key) {
            Some(&l) if l >= 0 => Ok(l),
            _ => Err(ClientError::NoLeader {
                topic: topic.to_string(),
                partition,
            }),
        }
    }

    /// Sends Metadata. `topics = None` asks for all topics; `Some(vec![])` for none (brokers only).
    /// Updates the broker, controller and leader caches.
    pub async fn metadata(
        &mut self,
        topics: Option<Vec<String>>,
        allow_auto_create: bool,
    ) -> Result<ClusterMetadata> {
        let mut req = MetadataRequest::default();
        req.topics = topics.map(|ts| {
            ts.into_iter()
                .map(|t| {
                    let mut mt = MetadataRequestTopic::default();
                    mt.name = Some(topic_name(&t));
                    mt
                })
                .collect()
        });
        req.allow_auto_topic_creation = allow_auto_create;
        let (resp, _) = self.bootstrap.send(&req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(resp.error_code, None, "Metadata"));
        }
        let md = ClusterMetadata {
            cluster_id: opt_str(&resp.cluster_id),
            controller_id: resp.controller_id.0,
            brokers: resp
                .brokers
                .iter()
                .map(|b| BrokerInfo {
                    node_id: b.node_id.0,
                    host: b.host.as_str().to_string(),
                    port: b.port,
                    rack: opt_str(&b.rack),
                })
                .collect(),
            topics: resp
                .topics
                .iter()
                .map(|t| TopicInfo {
                    name: t
                        .name
                        .as_ref()
                        .map(|n| n.0.as_str().to_string())
                        .unwrap_or_default(),
                    topic_id: t.topic_id,
                    is_internal: t.is_internal,
                    error_code: t.error_code,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| PartitionInfo {
                            partition: p.partition_index,
                            error_code: p.error_code,
                            leader: p.leader_id.0,
                            leader_epoch: p.leader_epoch,
                            replicas: ids(&p.replica_nodes),
                            isr: ids(&p.isr_nodes),
                            offline_replicas: ids(&p.offline_replicas),
                            elr: None,
                            last_known_elr: None,
                        })
                        .collect(),
                })
                .collect(),
        };
        self.controller_id = md.controller_id;
        for b in &md.brokers {
            let addr = b.address();
            if self.brokers.get(&b.node_id) != Some(&addr) {
                self.connections.remove(&b.node_id);
                self.brokers.insert(b.node_id, addr);
            }
        }
        for t in &md.topics {
            for p in &t.partitions {
                self.leaders.insert((t.name.clone(), p.partition), p.leader);
            }
        }
        Ok(md)
    }

    /// Creates topics; one result per requested topic, in request order.
    pub async fn create_topics(
        &mut self,
        specs: Vec<NewTopic>,
        validate_only: bool,
    ) -> Result<Vec<(String, Result<()>)>> {
        let mut req = CreateTopicsRequest::default();
        req.timeout_ms = ADMIN_TIMEOUT_MS;
        req.validate_only = validate_only;
        req.topics = specs
            .iter()
            .map(|s| {
                let mut t = CreatableTopic::default();
                t.name = topic_name(&s.name);
                t.num_partitions = s.num_partitions;
                t.replication_factor = s.replication_factor;
                t.assignments = s
                    .assignments
                    .iter()
                    .enumerate()
                    .map(|(i, replicas)| {
                        let mut a = CreatableReplicaAssignment::default();
                        a.partition_index = i as i32;
                        a.broker_ids = replicas.iter().map(|&b| BrokerId(b)).collect();
                        a
                    })
                    .collect();
                t.configs = s
                    .configs
                    .iter()
                    .map(|(k, v)| {
                        let mut c = CreatableTopicConfig::default();
                        c.name = StrBytes::from_string(k.clone());
                        c.value = Some(StrBytes::from_string(v.clone()));
                        c
                    })
                    .collect();
                t
            })
            .collect();
        let resp = self.send_admin(&req).await?;
        let mut by_name: HashMap<String, Result<()>> = resp
            .topics
            .iter()
            .map(|t| {
                let name = t.name.0.as_str().to_string();
                let r = if t.error_code == 0 {
                    Ok(())
                } else {
                    Err(ClientError::kafka(
                        t.error_code,
                        t.error_message.as_ref().map(|m| m.as_str()),
                        format!("CreateTopics topic '{name}'"),
                    ))
                };
                (name, r)
            })
            .collect();
        Ok(specs
            .into_iter()
            .map(|s| {
                let r = by_name.remove(&s.name).unwrap_or_else(|| {
                    Err(ClientError::MissingInResponse {
                        addr: self.bootstrap.addr().to_string(),
                        api: "CreateTopics".to_string(),
                        what: format!("topic '{}'", s.name),
                    })
                });
                (s.name, r)
            })
            .collect())
    }

    /// Deletes topics by name; one result per requested topic.
    pub async fn delete_topics(&mut self, names: Vec<String>) -> Result<Vec<(String, Result<()>)>> {
        let mut req = DeleteTopicsRequest::default();
        req.timeout_ms = ADMIN_TIMEOUT_MS;
        // v6 sends names inside `topics`; v1-5 use `topic_names`. Fill both; the encoder
        // writes only the field its version has.
        req.topic_names = names.iter().map(|n| topic_name(n)).collect();
        req.topics = names
            .iter()
            .map(|n| {
                let mut s = DeleteTopicState::default();
                s.name = Some(topic_name(n));
                s
            })
            .collect();
        let resp = self.send_admin(&req).await?;
        let mut by_name: HashMap<String, Result<()>> = resp
            .responses
            .iter()
            .filter_map(|r| {
                let name = r.name.as_ref()?.0.as_str().to_string();
                let res = if r.error_code == 0 {
                    Ok(())
                } else {
                    Err(ClientError::kafka(
                        r.error_code,
                        r.error_message.as_ref().map(|m| m.as_str()),
                        format!("DeleteTopics topic '{name}'"),
                    ))
                };
                Some((name, res))
            })
            .collect();
        Ok(names
            .into_iter()
            .map(|n| {
                let r = by_name.remove(&n).unwrap_or(Ok(()));
                (n, r)
            })
            .collect())
    }

    /// Increases partition counts; one result per requested topic.
    pub async fn create_partitions(
        &mut self,
        specs: Vec<NewPartitions>,
        validate_only: bool,
    ) -> Result<Vec<(String, Result<()>)>> {
        let mut req = CreatePartitionsRequest::default();
        req.timeout_ms = ADMIN_TIMEOUT_MS;
        req.validate_only = validate_only;
        req.topics = specs
            .iter()
            .map(|s| {
                let mut t = CreatePartitionsTopic::default();
                t.name = topic_name(&s.topic);
                t.count = s.total_count;
                t.assignments = s.assignments.as_ref().map(|a| {
                    a.iter()
                        .map(|replicas| {
                            let mut x = CreatePartitionsAssignment::default();
                            x.broker_ids = replicas.iter().map(|&b| BrokerId(b)).collect();
                            x
                        })
                        .collect()
                });
                t
            })
            .collect();
        let resp = self.send_admin(&req).await?;
        let mut by_name: HashMap<String, Result<()>> = resp
            .results
            .iter()
            .map(|r| {
                let name = r.name.0.as_str().to_string();
                let res = if r.error_code == 0 {
                    Ok(())
                } else {
                    Err(ClientError::kafka(
                        r.error_code,
                        r.error_message.as_ref().map(|m| m.as_str()),
                        format!("CreatePartitions topic '{name}'"),
                    ))
                };
                (name, res)
            })
            .collect();
        Ok(specs
            .into_iter()
            .map(|s| {
                let r = by_name.remove(&s.topic).unwrap_or(Ok(()));
                (s.topic, r)
            })
            .collect())
    }

    /// ElectLeaders: `election_type` 0 = preferred, 1 = unclean; `partitions` = `None` for
    /// every partition. Returns ((topic, partition), result) as the broker reported them.
    pub async fn elect_leaders(
        &mut self,
        election_type: i8,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<((String, i32), Result<()>)>> {
        use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
        let mut req = ElectLeadersRequest::default();
        req.election_type = election_type;
        req.timeout_ms = ADMIN_TIMEOUT_MS;
        req.topic_partitions = partitions.map(|parts| {
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (topic, partition) in parts {
                by_topic.entry(topic).or_default().push(partition);
            }
            by_topic
                .into_iter()
                .map(|(topic, partitions)| {
                    let mut t = TopicPartitions::default();
                    t.topic = topic_name(&topic);
                    t.partitions = partitions;
                    t
                })
                .collect()
        });
        let resp = self.send_admin(&req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(resp.error_code, None, "ElectLeaders"));
        }
        let mut results = Vec::new();
        for topic in &resp.replica_election_results {
            let name = topic.topic.0.as_str().to_string();
            for p in &topic.partition_result {
                let result = if p.error_code == 0 {
                    Ok(())
                } else {
                    Err(ClientError::kafka(
                        p.error_code,
                        p.error_message.as_ref().map(|m| m.as_str()),
                        format!("ElectLeaders {name}-{}", p.partition_id),
                    ))
                };
                results.push(((name.clone(), p.partition_id), result));
            }
        }
        Ok(results)
    }

    /// Sends an admin request to the controller (or any broker), retrying once on NOT_CONTROLLER
    /// after refreshing metadata.
    async fn send_admin<R: kafka_protocol::protocol::Request>(
        &mut self,
        req: &R,
    ) -> Result<R::Response>
    where
        R::Response: AdminResponse,
    {
        let conn = self.admin_connection().await;
        let (resp, _) = conn.send(req).await?;
        if resp.has_not_controller() {
            self.metadata(Some(Vec::new()), false).await?;
            let conn = self.admin_connection().await;
            let (resp, _) = conn.send(req).await?;
            return Ok(resp);
        }
        Ok(resp)
    }

    /// Describes topic configs (all entries, each with its source).
    pub async fn describe_configs(&mut self, topics: Vec<String>) -> Result<Vec<TopicConfigs>> {
        let mut req = DescribeConfigsRequest::default();
        req.resources = topics
            .iter()
            .map(|t| {
                let mut r = DescribeConfigsResource::default();
                r.resource_type = RESOURCE_TYPE_TOPIC;
                r.resource_name = StrBytes::from_string(t.clone());
                r.configuration_keys = None;
                r
            })
            .collect();
        let (resp, _) = self.bootstrap.send(&req).await?;
        let mut out = Vec::with_capacity(resp.results.len());
        for r in &resp.results {
            let name = r.resource_name.as_str().to_string();
            if r.error_code != 0 {
                return Err(ClientError::kafka(
                    r.error_code,
                    r.error_message.as_ref().map(|m| m.as_str()),
                    format!("DescribeConfigs topic '{name}'"),
                ));
            }
            out.push(TopicConfigs {
                topic: name,
                entries: r
                    .configs
                    .iter()
                    .map(|c| ConfigEntry {
                        name: c.name.as_str().to_string(),
                        value: opt_str(&c.value),
                        source: c.config_source,
                        read_only: c.read_only,
                        is_sensitive: c.is_sensitive,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Describes topics with DescribeTopicPartitions (API 75, paginated), falling back to
    /// Metadata when the broker does not support it. Unknown topics come back with
    /// `error_code` 3.
    pub async fn describe_topic_partitions(
        &mut self,
        topics: Vec<String>,
    ) -> Result<Vec<TopicInfo>> {
        if !self.bootstrap.supports(ApiKey::DescribeTopicPartitions) {
            let md = self.metadata(Some(topics), false).await?;
            return Ok(md.topics);
        }
        // BTreeMap keeps a deterministic order while pages arrive.
        let mut acc: BTreeMap<String, TopicInfo> = BTreeMap::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let mut req = DescribeTopicPartitionsRequest::default();
            req.topics = topics
                .iter()
                .map(|t| {
                    let mut r = TopicRequest::default();
                    r.name = topic_name(t);
                    r
                })
                .collect();
            req.response_partition_limit = DESCRIBE_PARTITIONS_PAGE_LIMIT;
            req.cursor = cursor.take();
            let (resp, _) = self.bootstrap.send(&req).await?;
            for t in &resp.topics {
                let name = t
                    .name
                    .as_ref()
                    .map(|n| n.0.as_str().to_string())
                    .unwrap_or_default();
                let entry = acc.entry(name.clone()).or_insert_with(|| TopicInfo {
                    name,
                    topic_id: t.topic_id,
                    is_internal: t.is_internal,
                    error_code: t.error_code,
                    partitions: Vec::new(),
                });
                entry
                    .partitions
                    .extend(t.partitions.iter().map(|p| PartitionInfo {
                        partition: p.partition_index,
                        error_code: p.error_code,
                        leader: p.leader_id.0,
                        leader_epoch: p.leader_epoch,
                        replicas: ids(&p.replica_nodes),
                        isr: ids(&p.isr_nodes),
                        offline_replicas: ids(&p.offline_replicas),
                        elr: p.eligible_leader_replicas.as_ref().map(|v| ids(v)),
                        last_known_elr: p.last_known_elr.as_ref().map(|v| ids(v)),
                    }));
            }
            match resp.next_cursor {
                Some(c) => {
                    let c2 = {
                        let mut x = Cursor::default();
                        x.topic_name = c.topic_name.clone();
                        x.partition_index = c.partition_index;
                        x
                    };
                    cursor = Some(c2);
                }
                None => break,
            }
        }
        // Return in request order.
        let mut ordered: Vec<TopicInfo> = topics.iter().filter_map(|t| acc.remove(t)).collect();
        ordered.extend(acc.into_values());
        Ok(ordered)
    }

    /// DescribeCluster (falls back to Metadata brokers if unsupported).
    pub async fn describe_cluster(&mut self) -> Result<ClusterDescription> {
        if !self.bootstrap.supports(ApiKey::DescribeCluster) {
            let md = self.metadata(Some(Vec::new()), false).await?;
            return Ok(ClusterDescription {
                cluster_id: md.cluster_id.unwrap_or_default(),
                controller_id: md.controller_id,
                brokers: md.brokers,
            });
        }
        let req = DescribeClusterRequest::default();
        let (resp, _) = self.bootstrap.send(&req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(
                resp.error_code,
                resp.error_message.as_ref().map(|m| m.as_str()),
                "DescribeCluster",
            ));
        }
        Ok(ClusterDescription {
            cluster_id: resp.cluster_id.as_str().to_string(),
            controller_id: resp.controller_id.0,
            brokers: resp
                .brokers
                .iter()
                .map(|b| BrokerInfo {
                    node_id: b.broker_id.0,
                    host: b.host.as_str().to_string(),
                    port: b.port,
                    rack: opt_str(&b.rack),
                })
                .collect(),
        })
    }

    /// ListOffsets for one partition at the leader. `timestamp` is a time in ms, or
    /// [`EARLIEST_TIMESTAMP`] / [`LATEST_TIMESTAMP`]. Returns the offset (-1 if none).
    pub async fn list_offsets(
        &mut self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> Result<i64> {
        self.list_offsets_isolated(topic, partition, timestamp, READ_UNCOMMITTED)
            .await
    }

    /// [`Client::list_offsets`] with an explicit isolation level.
    pub async fn list_offsets_isolated(
        &mut self,
        topic: &str,
        partition: i32,
        timestamp: i64,
        isolation_level: i8,
    ) -> Result<i64> {
        let leader = self.leader_for(topic, partition).await?;
        let mut req = ListOffsetsRequest::default();
        req.replica_id = BrokerId(-1);
        req.isolation_level = isolation_level;
        req.timeout_ms = ADMIN_TIMEOUT_MS;
        let mut p = ListOffsetsPartition::default();
        p.partition_index = partition;
        p.current_leader_epoch = -1;
        p.timestamp = timestamp;
        let mut t = ListOffsetsTopic::default();
        t.name = topic_name(topic);
        t.partitions = vec![p];
        req.topics = vec![t];
        let result = async {
            let conn = self.connection(leader).await?;
            let addr = conn.addr().to_string();
            let (resp, _) = conn.send(&req).await?;
            let part = resp
                .topics
                .iter()
                .filter(|t| t.name.0.as_str() == topic)
                .flat_map(|t| t.partitions.iter())
                .find(|p| p.partition_index == partition)
                .ok_or_else(|| ClientError::MissingInResponse {
                    addr,
                    api: "ListOffsets".to_string(),
                    what: format!("partition {topic}-{partition}"),
                })?;
            if part.error_code != 0 {
                return Err(ClientError::kafka(
                    part.error_code,
                    None,
                    format!("ListOffsets {topic}-{partition}"),
                ));
            }
            Ok(part.offset)
        }
        .await;
        self.after_partition_call(leader, topic, partition, &result);
        result
    }

    /// After a partition-routed call: drop broken connections and forget stale leaders.
    fn after_partition_call<T>(&mut self, broker: i32, topic: &str, partition: i32, r: &Result<T>) {
        if let Err(e) = r {
            self.forget_connection(broker, e);
            if e.is_retriable() {
                self.leaders.remove(&(topic.to_string(), partition));
            }
        }
    }

    /// InitProducerId for a non-transactional idempotent producer.
    pub async fn init_producer_id(&mut self) -> Result<(i64, i16)> {
        let mut req = InitProducerIdRequest::default();
        req.transactional_id = None;
        req.transaction_timeout_ms = -1;
        req.producer_id = kafka_protocol::messages::ProducerId(-1);
        req.producer_epoch = -1;
        let (resp, _) = self.bootstrap.send(&req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(resp.error_code, None, "InitProducerId"));
        }
        Ok((resp.producer_id.0, resp.producer_epoch))
    }

    /// Produces one batch to a partition's leader.
    pub async fn produce(
        &mut self,
        topic: &str,
        partition: i32,
        records: &[ProduceRecord],
        options: &ProduceOptions,
    ) -> Result<ProduceResult> {
        let batch = encode_batch(
            topic,
            partition,
            records,
            options.producer,
            options.compression,
        )?;
        let leader = self.leader_for(topic, partition).await?;
        let mut req = ProduceRequest::default();
        req.transactional_id = None;
        req.acks = options.acks;
        req.timeout_ms = options.timeout_ms;
        let mut pd = PartitionProduceData::default();
        pd.index = partition;
        pd.records = Some(batch);
        let mut td = TopicProduceData::default();
        td.name = topic_name(topic);
        td.partition_data = vec![pd];
        req.topic_data = vec![td];
        let result = async {
            let conn = self.connection(leader).await?;
            let addr = conn.addr().to_string();
            let version = conn.negotiated_version(ApiKey::Produce)?;
            if options.acks == 0 {
                conn.send_without_response(&req, version).await?;
                return Ok(ProduceResult {
                    base_offset: -1,
                    log_append_time_ms: -1,
                });
            }
            let resp = conn.send_version(&req, version, 0).await?;
            let part = resp
                .responses
                .iter()
                .filter(|t| t.name.0.as_str() == topic)
                .flat_map(|t| t.partition_responses.iter())
                .find(|p| p.index == partition)
                .ok_or_else(|| ClientError::MissingInResponse {
                    addr,
                    api: "Produce".to_string(),
                    what: format!("partition {topic}-{partition}"),
                })?;
            if part.error_code != 0 && part.error_code != codes::DUPLICATE_SEQUENCE_NUMBER {
                let record_msg = part
                    .record_errors
                    .iter()
                    .find_map(|e| e.batch_index_error_message.as_ref())
                    .map(|m| m.as_str().to_string());
                let msg = part
                    .error_message
                    .as_ref()
                    .map(|m| m.as_str().to_string())
                    .or(record_msg);
                return Err(ClientError::kafka(
                    part.error_code,
                    msg.as_deref(),
                    format!("Produce {topic}-{partition}"),
                ));
            }
            Ok(ProduceResult {
                base_offset: part.base_offset,
                log_append_time_ms: part.log_append_time_ms,
            })
        }
        .await;
        self.after_partition_call(leader, topic, partition, &result);
        result
    }

    /// Fetches one partition from its leader.
    pub async fn fetch(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_wait_ms: i32,
        max_bytes: i32,
    ) -> Result<FetchedPartition> {
        let targets = [FetchTarget {
            topic: topic.to_string(),
            partition,
            offset,
        }];
        let mut out = self
            .fetch_many(&targets, max_wait_ms, max_bytes, READ_UNCOMMITTED)
            .await?;
        out.pop().ok_or_else(|| ClientError::MissingInResponse {
            addr: self.bootstrap.addr().to_string(),
            api: "Fetch".to_string(),
            what: format!("partition {topic}-{partition}"),
        })
    }

    /// Fetches several partitions: one Fetch request per leader, sent one after another.
    /// Partitions whose leader is unknown come back with a [`ClientError::NoLeader`] error.
    /// `max_bytes` applies per partition and per response.
    pub async fn fetch_many(
        &mut self,
        targets: &[FetchTarget],
        max_wait_ms: i32,
        max_bytes: i32,
        isolation_level: i8,
    ) -> Result<Vec<FetchedPartition>> {
        let mut by_leader: BTreeMap<i32, Vec<&FetchTarget>> = BTreeMap::new();
        let mut out = Vec::new();
        for t in targets {
            match self.leader_for(&t.topic, t.partition).await {
                Ok(l) => by_leader.entry(l).or_default().push(t),
                Err(e) => out.push(FetchedPartition {
                    topic: t.topic.clone(),
                    partition: t.partition,
                    error: Some(e),
                    high_watermark: -1,
                    log_start_offset: -1,
                    records: Vec::new(),
                    next_offset: None,
                }),
            }
        }
        for (leader, group) in by_leader {
            let mut req = FetchRequest::default();
            req.replica_id = BrokerId(-1);
            req.max_wait_ms = max_wait_ms;
            req.min_bytes = 1;
            req.max_bytes = max_bytes;
            req.isolation_level = isolation_level;
            // Sessionless full fetch (KIP-227): session id 0, epoch -1.
            req.session_id = 0;
            req.session_epoch = -1;
            let mut topics: Vec<FetchTopic> = Vec::new();
            for t in &group {
                let mut p = FetchPartition::default();
                p.partition = t.partition;
                p.current_leader_epoch = -1;
                p.fetch_offset = t.offset;
                p.last_fetched_epoch = -1;
                p.log_start_offset = -1;
                p.partition_max_bytes = max_bytes;
                match topics.iter_mut().find(|ft| ft.topic.0.as_str() == t.topic) {
                    Some(ft) => ft.partitions.push(p),
                    None => {
                        let mut ft = FetchTopic::default();
                        ft.topic = topic_name(&t.topic);
                        ft.partitions = vec![p];
                        topics.push(ft);
                    }
                }
            }
            req.topics = topics;
            let extra_wait = u64::try_from(max_wait_ms).unwrap_or(0);
            let sent = async {
                let conn = self.connection(leader).await?;
                let version = conn.negotiated_version(ApiKey::Fetch)?;
                conn.send_version(&req, version, extra_wait).await
            }
            .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    self.forget_connection(leader, &e);
                    for t in &group {
                        self.leaders.remove(&(t.topic.clone(), t.partition));
                    }
                    return Err(e);
                }
            };
            if resp.error_code != 0 {
                return Err(ClientError::kafka(resp.error_code, None, "Fetch"));
            }
            for t in group {
                let part = resp
                    .responses
                    .iter()
                    .filter(|r| r.topic.0.as_str() == t.topic)
                    .flat_map(|r| r.partitions.iter())
                    .find(|p| p.partition_index == t.partition);
                let Some(part) = part else {
                    out.push(FetchedPartition {
                        topic: t.topic.clone(),
                        partition: t.partition,
                        error: None,
                        high_watermark: -1,
                        log_start_offset: -1,
                        records: Vec::new(),
                        next_offset: None,
                    });
                    continue;
                };
                let mut fp = FetchedPartition {
                    topic: t.topic.clone(),
                    partition: t.partition,
                    error: None,
                    high_watermark: part.high_watermark,
                    log_start_offset: part.log_start_offset,
                    records: Vec::new(),
                    next_offset: None,
                };
                if part.error_code != 0 {
                    let err = ClientError::kafka(
                        part.error_code,
                        None,
                        format!("Fetch {}-{}", t.topic, t.partition),
                    );
                    if err.is_retriable() {
                        self.leaders.remove(&(t.topic.clone(), t.partition));
                    }
                    fp.error = Some(err);
                } else if let Some(data) = &part.records {
                    match decode_batches(&t.topic, t.partition, data.clone(), t.offset) {
                        Ok(d) => {
                            fp.records = d.records;
                            fp.next_offset = d.next_offset;
                        }
                        Err(e) => fp.error = Some(e),
                    }
                }
                out.push(fp);
            }
        }
        Ok(out)
    }
}

/// Lets [`Client::send_admin`] spot NOT_CONTROLLER in any admin response.
pub trait AdminResponse {
    /// True if any entry carries NOT_CONTROLLER.
    fn has_not_controller(&self) -> bool;
}

impl AdminResponse for kafka_protocol::messages::CreateTopicsResponse {
    fn has_not_controller(&self) -> bool {
        self.topics
            .iter()
            .any(|t| t.error_code == codes::NOT_CONTROLLER)
    }
}

impl AdminResponse for kafka_protocol::messages::DeleteTopicsResponse {
    fn has_not_controller(&self) -> bool {
        self.responses
            .iter()
            .any(|t| t.error_code == codes::NOT_CONTROLLER)
    }
}

impl AdminResponse for kafka_protocol::messages::CreatePartitionsResponse {
    fn has_not_controller(&self) -> bool {
        self.results
            .iter()
            .any(|t| t.error_code == codes::NOT_CONTROLLER)
    }
}

impl AdminResponse for kafka_protocol::messages::ElectLeadersResponse {
    fn has_not_controller(&self) -> bool {
        self.error_code == codes::NOT_CONTROLLER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_parsing() {
        assert_eq!(
            parse_bootstrap("a:9092, b:9093").unwrap(),
            vec!["a:9092".to_string(), "b:9093".to_string()]
        );
        assert!(parse_bootstrap("").is_err());
        assert!(parse_bootstrap("localhost").is_err());
        assert!(parse_bootstrap("localhost:x").is_err());
    }
}
