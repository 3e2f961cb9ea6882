//! `strata server`: resolve settings, check (or auto-format) the data dirs, start controller, broker
//! and listeners, and shut down cleanly on SIGTERM/SIGINT.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Context};
use strata_broker::{Broker, BrokerConfig};
use strata_controller::{Controller, ControllerConfig, QuorumConfig};
use strata_metadata::records::{BrokerRegistration, Endpoint};
use strata_protocol::dispatch::Dispatcher;
use strata_protocol::ProtocolConfig;
use strata_storage::{LogConfig, TimestampType};
use tokio::net::TcpListener;

use crate::config::{parse_listeners, Listener, Settings};

/// What a node runs (`process.roles`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Roles {
    /// `broker,controller`: a Raft voter that also serves clients.
    Combined,
    /// `controller`: a Raft voter only (no client listeners, not a broker).
    ControllerOnly,
    /// `broker`: serves clients; follows the voters of `controller.quorum.voters` remotely.
    BrokerOnly,
}

impl Roles {
    fn parse(value: &str) -> anyhow::Result<Roles> {
        let mut roles: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        roles.sort_unstable();
        roles.dedup();
        match roles.as_slice() {
            ["broker", "controller"] => Ok(Roles::Combined),
            ["controller"] => Ok(Roles::ControllerOnly),
            ["broker"] => Ok(Roles::BrokerOnly),
            _ => bail!(
                "invalid value {value:?} for config process.roles: broker,controller, controller or broker"
            ),
        }
    }

    fn controller(self) -> bool {
        self != Roles::BrokerOnly
    }
}

/// Runs a node until it is told to stop.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    raise_open_file_limit();
    let roles = Roles::parse(settings.get("process.roles").unwrap_or("broker,controller"))?;
    let node_id = crate::format::configured_node_id(&settings)?;
    let listeners = parse_listeners(
        "listeners",
        settings
            .get("listeners")
            .unwrap_or("PLAINTEXT://127.0.0.1:9092"),
    )?;
    let controller_names: Vec<String> = settings
        .get("controller.listener.names")
        .unwrap_or("CONTROLLER")
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .collect();
    let client_listeners: Vec<Listener> = listeners
        .iter()
        .filter(|l| !controller_names.contains(&l.name))
        .cloned()
        .collect();
    match roles {
        Roles::ControllerOnly if !client_listeners.is_empty() => bail!(
            "invalid value for config listeners: a controller-only node (process.roles=controller) has only {controller_names:?} listeners, not {:?}",
            client_listeners.iter().map(|l| l.name.as_str()).collect::<Vec<_>>()
        ),
        Roles::Combined | Roles::BrokerOnly if client_listeners.is_empty() => bail!(
            "invalid value for config listeners: no broker listener besides {controller_names:?}"
        ),
        Roles::BrokerOnly if client_listeners.len() != listeners.len() => bail!(
            "invalid value for config listeners: a broker-only node (process.roles=broker) must not have a {controller_names:?} listener"
        ),
        _ => {}
    }
    let advertised = match settings.get("advertised.listeners") {
        Some(v) => parse_listeners("advertised.listeners", v)?,
        None => client_listeners.clone(),
    };
    let storage = crate::format::NodeStorage::from_settings(&settings)?;
    let auto_format = settings
        .parse_bool(crate::format::AUTO_FORMAT_KEY)?
        .unwrap_or(false);
    let cluster_id = crate::format::prepare_for_start(
        &storage,
        auto_format,
        settings
            .get(crate::format::CLUSTER_ID_KEY)
            .filter(|v| !v.trim().is_empty()),
    )?;
    let dirs = storage.log_dirs.clone();
    let metadata_dir = storage.metadata_dir.clone();

    let log_config = log_config(&settings)?;
    let broker_config = BrokerConfig {
        node_id,
        log_dirs: dirs.clone(),
        default_log_config: log_config,
        auto_create_topics_enable: settings
            .parse_bool("auto.create.topics.enable")?
            .unwrap_or(true),
        num_partitions: settings.parse("num.partitions")?.unwrap_or(1),
        default_replication_factor: settings.parse("default.replication.factor")?.unwrap_or(1),
        min_insync_replicas: settings.parse("min.insync.replicas")?.unwrap_or(1),
        delete_topic_enable: settings.parse_bool("delete.topic.enable")?.unwrap_or(true),
        retention_check_interval_ms: settings
            .parse("log.retention.check.interval.ms")?
            .unwrap_or(300_000),
        checkpoint_interval_ms: settings
            .parse("log.flush.offset.checkpoint.interval.ms")?
            .unwrap_or(60_000),
        high_watermark_checkpoint_interval_ms: settings
            .parse("replica.high.watermark.checkpoint.interval.ms")?
            .unwrap_or(5_000),
        incarnation_id: None,
        replica_lag_time_max_ms: settings.parse("replica.lag.time.max.ms")?.unwrap_or(30_000),
        inter_broker_listener_name: inter_broker_listener(&settings, &client_listeners)?,
        replica_fetch_wait_max_ms: settings.parse("replica.fetch.wait.max.ms")?.unwrap_or(500),
        replica_fetch_max_bytes: settings
            .parse("replica.fetch.max.bytes")?
            .unwrap_or(1_048_576),
        replica_fetch_response_max_bytes: settings
            .parse("replica.fetch.response.max.bytes")?
            .unwrap_or(10_485_760),
        replica_fetch_stream: settings
            .parse_bool("strata.replica.fetch.stream")?
            .unwrap_or(true),
    };
    if broker_config.num_partitions < 1 {
        bail!(
            "invalid value {} for config num.partitions: must be >= 1",
            broker_config.num_partitions
        );
    }
    let broker_defaults: BTreeMap<String, String> = settings
        .describe()
        .into_iter()
        .filter(|(_, _, is_default, _)| !is_default)
        .map(|(k, v, _, _)| (k, v))
        .collect();
    let controller_listener = listeners
        .iter()
        .find(|l| controller_names.contains(&l.name))
        .cloned();
    let quorum = quorum_config(&settings, node_id, roles, controller_listener.as_ref())?;
    let voters = quorum.voters.len();
    let controller_config = ControllerConfig {
        node_id,
        cluster_id: cluster_id.clone(),
        metadata_dir: metadata_dir.clone(),
        num_partitions: broker_config.num_partitions,
        default_replication_factor: broker_config.default_replication_factor,
        broker_defaults,
        quorum,
        auto_leader_rebalance_enable: settings
            .parse_bool("auto.leader.rebalance.enable")?
            .unwrap_or(true),
        leader_imbalance_check_interval_ms: settings
            .parse::<u64>("leader.imbalance.check.interval.seconds")?
            .unwrap_or(300)
            .saturating_mul(1000),
    };
    let controller = if roles.controller() {
        let controller = Controller::open(controller_config).await.with_context(|| {
            format!("cannot open the metadata log in {}", metadata_dir.display())
        })?;
        if let Some(listener) = &controller_listener {
            let socket = bind(listener).await?;
            controller.serve(socket);
        } else if voters > 1 || roles == Roles::ControllerOnly {
            bail!("controller.quorum.voters names {voters} voters but listeners has no {controller_names:?} listener for Raft");
        }
        controller
    } else {
        Controller::open_remote(controller_config).context("cannot follow the controller quorum")?
    };
    if roles == Roles::ControllerOnly {
        return run_controller_only(controller, node_id, &cluster_id, controller_listener).await;
    }

    // Bind before registering, so the advertised endpoints really accept connections.
    let mut bound = Vec::new();
    for listener in &client_listeners {
        let socket = bind(listener).await?;
        bound.push((listener.name.clone(), socket));
    }
    let endpoints = advertised
        .iter()
        .map(|l| Endpoint {
            listener_name: l.name.clone(),
            host: if l.host.is_empty() {
                "localhost".to_string()
            } else {
                l.host.clone()
            },
            port: l.port,
            security_protocol: "PLAINTEXT".to_string(),
        })
        .collect();
    let incarnation_id = uuid::Uuid::new_v4();
    let registration = BrokerRegistration {
        broker_id: node_id,
        incarnation_id,
        broker_epoch: 0,
        endpoints,
        rack: settings.get("broker.rack").map(str::to_string),
        fenced: false,
    };
    register_with_retry(&controller, registration).await?;
    let heartbeat_interval = std::time::Duration::from_millis(
        settings
            .parse::<u64>("broker.heartbeat.interval.ms")?
            .unwrap_or(100)
            .max(1),
    );
    let heartbeats = tokio::spawn(send_heartbeats(
        controller.clone(),
        node_id,
        incarnation_id,
        heartbeat_interval,
    ));
    wait_until_unfenced(&controller, node_id, incarnation_id).await?;

    let broker_config = BrokerConfig {
        incarnation_id: Some(incarnation_id),
        ..broker_config
    };
    let broker = Broker::start(
        broker_config,
        Arc::new(crate::controller_client::BrokerControllerClient(
            controller.clone(),
        )),
    )
    .context("cannot open partition logs")?;
    let protocol_config = ProtocolConfig {
        node_id,
        cluster_id: cluster_id.clone(),
        socket_request_max_bytes: settings
            .parse("socket.request.max.bytes")?
            .unwrap_or(104_857_600),
        broker_configs: settings.describe(),
        delete_topic_enable: broker.config().delete_topic_enable,
    };
    let dispatcher = Arc::new(Dispatcher::new(
        broker.clone(),
        controller.clone(),
        protocol_config,
    ));
    // Replication RPCs arrive on the inter-broker listener next to Kafka requests; followers
    // fetch from the leaders' inter-broker endpoints.
    let (grpc_connections, grpc_incoming) = tokio::sync::mpsc::channel(REPLICATION_ACCEPT_BACKLOG);
    let replication_service =
        strata_replication::serve_connections(broker.clone(), cluster_id.clone(), grpc_incoming);
    let fetchers = strata_replication::spawn_fetchers(broker.clone(), cluster_id.clone());
    let mut tasks = vec![replication_service, fetchers];
    let inter_broker = broker.config().inter_broker_listener_name.clone();
    for (name, socket) in bound {
        let grpc = (name == inter_broker).then(|| grpc_connections.clone());
        tasks.push(strata_protocol::serve(
            name,
            socket,
            dispatcher.clone(),
            grpc,
        ));
    }
    let shown: Vec<String> = client_listeners
        .iter()
        .map(|l| format!("{}://{}:{}", l.name, l.host, l.port))
        .collect();
    tracing::info!(
        "Strata node {node_id} started (cluster {cluster_id}), listeners {}, data in {}",
        shown.join(","),
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    );

    wait_for_shutdown_signal().await;
    tracing::info!("Strata node {node_id} shutting down");
    // Controlled shutdown: stop heartbeating, then ask the controller to move this node's
    // leaderships away and wait until this node's image shows them moved.
    heartbeats.abort();
    controlled_shutdown(&controller, node_id, incarnation_id).await;
    for task in tasks {
        task.abort();
    }
    broker.shutdown().context("flushing logs at shutdown")?;
    controller.shutdown().await;
    tracing::info!("Strata node {node_id} stopped");
    Ok(())
}

/// A controller-only node: Raft and the controller listener, until SIGTERM/SIGINT.
async fn run_controller_only(
    controller: Controller,
    node_id: i32,
    cluster_id: &str,
    listener: Option<Listener>,
) -> anyhow::Result<()> {
    let shown = listener
        .map(|l| format!("{}://{}:{}", l.name, l.host, l.port))
        .unwrap_or_default();
    tracing::info!("Strata controller {node_id} started (cluster {cluster_id}), listeners {shown}");
    wait_for_shutdown_signal().await;
    tracing::info!("Strata controller {node_id} shutting down");
    controller.shutdown().await;
    tracing::info!("Strata controller {node_id} stopped");
    Ok(())
}

/// Raises the soft limit on open files to the hard limit, as Go's runtime and many servers do:
/// every segment holds a descriptor and every client a socket, so a node with thousands of
/// partitions needs more than the usual soft limit of 1,024.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by reference.
    let raised = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let soft = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        soft < limit.rlim_max && libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
    };
    if raised {
        tracing::info!(open_files = limit.rlim_cur, "raised the open-file limit");
    }
}

async fn wait_for_shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the node with kill -9");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Broker-level storage defaults from `log.*` keys (`*.ms` wins over `*.minutes` over `*.hours`).
fn log_config(s: &Settings) -> anyhow::Result<LogConfig> {
    let mut c = LogConfig::default();
    if let Some(v) = s.parse::<u64>("log.segment.bytes")? {
        if v < 14 {
            bail!("invalid value {v} for config log.segment.bytes: must be >= 14");
        }
        c.segment_bytes = v;
    }
    c.retention_ms = if let Some(ms) = s.parse::<i64>("log.retention.ms")? {
        ms
    } else if let Some(min) = s.parse::<i64>("log.retention.minutes")? {
        min.saturating_mul(60_000)
    } else {
        s.parse::<i64>("log.retention.hours")?
            .unwrap_or(168)
            .saturating_mul(3_600_000)
    };
    if c.retention_ms < -1 || c.retention_ms == 0 {
        // Kafka allows 0 only with a warning; -1 means forever.
        tracing::warn!(
            retention_ms = c.retention_ms,
            "log.retention.ms is not positive"
        );
    }
    c.segment_ms = match s.parse::<i64>("log.roll.ms")? {
        Some(ms) => ms,
        None => s
            .parse::<i64>("log.roll.hours")?
            .unwrap_or(168)
            .saturating_mul(3_600_000),
    };
    if let Some(v) = s.parse("log.retention.bytes")? {
        c.retention_bytes = v;
    }
    if let Some(v) = s.parse("log.index.interval.bytes")? {
        c.index_interval_bytes = v;
    }
    if let Some(v) = s.parse("log.index.size.max.bytes")? {
        c.segment_index_bytes = v;
    }
    if let Some(v) = s.parse("message.max.bytes")? {
        c.max_message_bytes = v;
    }
    if let Some(v) = s.parse("log.flush.interval.messages")? {
        c.flush_interval_messages = v;
    }
    if let Some(v) = s.parse("log.flush.interval.ms")? {
        c.flush_interval_ms = v;
    }
    c.message_timestamp_type = match s.get("log.message.timestamp.type").unwrap_or("CreateTime") {
        "CreateTime" => TimestampType::CreateTime,
        "LogAppendTime" => TimestampType::LogAppendTime,
        other => bail!("invalid value {other:?} for config log.message.timestamp.type: CreateTime or LogAppendTime"),
    };
    Ok(c)
}

/// How long start-up waits for a quorum to register this broker (the other voters may still
/// be starting).
const REGISTRATION_TIMEOUT_MS: u64 = 120_000;

async fn register_with_retry(
    controller: &Controller,
    registration: BrokerRegistration,
) -> anyhow::Result<()> {
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_millis(REGISTRATION_TIMEOUT_MS);
    loop {
        match controller.register_broker(registration.clone()).await {
            Ok(()) => return Ok(()),
            Err(error @ strata_controller::ControllerError::DuplicateBrokerRegistration(_)) => {
                return Err(anyhow::anyhow!("refused by the controller quorum: {error}"));
            }
            Err(error) if std::time::Instant::now() < deadline => {
                tracing::info!(%error, "waiting for the controller quorum to register this broker");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(anyhow::anyhow!(
                    "cannot register this broker with the controller quorum: {error}"
                ))
            }
        }
    }
}

/// The quorum from `controller.quorum.voters` (`id@host:port,…`, Kafka's format); without it,
/// a quorum of this node alone (single-node and `--standalone` clusters).
fn quorum_config(
    settings: &Settings,
    node_id: i32,
    roles: Roles,
    controller: Option<&Listener>,
) -> anyhow::Result<QuorumConfig> {
    let mut quorum = QuorumConfig::single(node_id);
    if roles == Roles::BrokerOnly {
        // Not a voter: the quorum is only what controller.quorum.voters lists.
        quorum.voters.clear();
    }
    if let Some(listener) = controller.filter(|_| roles.controller()) {
        let host = if listener.host.is_empty() {
            "localhost"
        } else {
            listener.host.as_str()
        };
        quorum
            .voters
            .insert(node_id, format!("{host}:{}", listener.port));
    }
    let Some(value) = settings
        .get("controller.quorum.voters")
        .filter(|v| !v.trim().is_empty())
    else {
        if roles == Roles::BrokerOnly {
            bail!("a broker-only node (process.roles=broker) needs controller.quorum.voters to find the controllers");
        }
        return Ok(quorum);
    };
    quorum.voters.clear();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let parsed = item.split_once('@').and_then(|(id, endpoint)| {
            let id: i32 = id.trim().parse().ok()?;
            let (host, port) = endpoint.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            Some((
                id,
                format!(
                    "{}:{port}",
                    host.trim_start_matches('[').trim_end_matches(']')
                ),
            ))
        });
        let Some((id, endpoint)) = parsed else {
            bail!("invalid value {value:?} for config controller.quorum.voters: {item:?} is not id@host:port");
        };
        if quorum.voters.insert(id, endpoint).is_some() {
            bail!("invalid value {value:?} for config controller.quorum.voters: node {id} is listed twice");
        }
    }
    // This node must be a voter, at its own controller port: a process reusing another node's
    // id (or a stale voters list) would otherwise speak in Raft as someone else.
    match (quorum.voters.get(&node_id), controller) {
        // A broker-only node follows the voters and must not be one of them.
        (None, _) if roles == Roles::BrokerOnly => {}
        (Some(endpoint), _) if roles == Roles::BrokerOnly => bail!(
            "node {node_id} is a broker-only node (process.roles=broker) but controller.quorum.voters lists it at {endpoint}: a voter needs the controller role"
        ),
        (None, _) => bail!(
            "node {node_id} is not in controller.quorum.voters={value}: a node with the controller role must be a voter (use process.roles=broker for a node that only follows the quorum)"
        ),
        (Some(endpoint), Some(listener)) => {
            let port_matches = endpoint.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()) == Some(listener.port);
            if !port_matches {
                bail!(
                    "controller.quorum.voters lists node {node_id} at {endpoint}, but this node's CONTROLLER listener is port {}: is node.id right (another node may have this id)?",
                    listener.port
                );
            }
        }
        (Some(_), None) => bail!("node {node_id} is a voter but listeners has no CONTROLLER listener"),
    }
    if let Some(ms) = settings.parse::<u64>("broker.session.timeout.ms")? {
        quorum.broker_session_timeout_ms = ms;
    }
    if let Some(ms) = settings.parse::<u64>("controller.quorum.election.timeout.ms")? {
        quorum.election_timeout_min_ms = ms;
        quorum.election_timeout_max_ms = ms.saturating_mul(2);
    }
    Ok(quorum)
}

/// Heartbeats to the active controller until aborted; failures are retried on the next tick.
async fn send_heartbeats(
    controller: Controller,
    node_id: i32,
    incarnation_id: uuid::Uuid,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let applied = controller.image().offset;
        if let Err(error) = controller.heartbeat(node_id, incarnation_id, applied).await {
            tracing::debug!(%error, "heartbeat failed");
        }
    }
}

/// How long a clean shutdown waits for the controller to move leaderships away.
const CONTROLLED_SHUTDOWN_TIMEOUT_MS: u64 = 5_000;

async fn controlled_shutdown(controller: &Controller, node_id: i32, incarnation_id: uuid::Uuid) {
    let request = controller.controlled_shutdown(node_id, incarnation_id);
    match tokio::time::timeout(
        std::time::Duration::from_millis(CONTROLLED_SHUTDOWN_TIMEOUT_MS),
        request,
    )
    .await
    {
        Ok(Ok(())) => tracing::info!("controlled shutdown: leaderships moved away"),
        Ok(Err(error)) => tracing::warn!(%error, "controlled shutdown refused; exiting anyway"),
        Err(_) => tracing::warn!("controlled shutdown timed out; exiting anyway"),
    }
}

/// How long start-up waits for this broker to catch up with the metadata log and be unfenced.
const UNFENCE_TIMEOUT_MS: u64 = 60_000;

/// Waits until the metadata image shows this incarnation registered and unfenced (the
/// controller unfences a broker once its heartbeats show it has caught up).
/// Connections accepted for the replication service but not yet taken by it.
const REPLICATION_ACCEPT_BACKLOG: usize = 64;

/// `inter.broker.listener.name`: must name a broker listener when set; unset, Kafka's default
/// `PLAINTEXT`, or the first broker listener when there is none of that name.
fn inter_broker_listener(
    settings: &Settings,
    client_listeners: &[Listener],
) -> anyhow::Result<String> {
    match settings.get("inter.broker.listener.name") {
        Some(name) => {
            if !client_listeners.iter().any(|l| l.name == name) {
                bail!(
                    "invalid value {name} for config inter.broker.listener.name: it must be one of the listeners ({})",
                    client_listeners.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(",")
                );
            }
            Ok(name.to_string())
        }
        None => Ok(client_listeners
            .iter()
            .find(|l| l.name == "PLAINTEXT")
            .or_else(|| client_listeners.first())
            .map_or_else(|| "PLAINTEXT".to_string(), |l| l.name.clone())),
    }
}

async fn wait_until_unfenced(
    controller: &Controller,
    node_id: i32,
    incarnation_id: uuid::Uuid,
) -> anyhow::Result<()> {
    let mut images = controller.subscribe();
    let wait = async {
        loop {
            let unfenced = images
                .borrow_and_update()
                .brokers
                .get(&node_id)
                .is_some_and(|b| b.incarnation_id == incarnation_id && !b.fenced);
            if unfenced {
                return;
            }
            if images.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_millis(UNFENCE_TIMEOUT_MS), wait)
        .await
        .map_err(|_| anyhow::anyhow!("this broker was not unfenced within {UNFENCE_TIMEOUT_MS} ms: is the controller quorum reachable?"))
}

/// Binds a listener; an empty host means all interfaces.
async fn bind(listener: &Listener) -> anyhow::Result<TcpListener> {
    let host = if listener.host.is_empty() {
        "0.0.0.0"
    } else {
        listener.host.as_str()
    };
    TcpListener::bind((host, listener.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}://{}:{}",
                listener.name, host, listener.port
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_in_any_order() {
        assert_eq!(Roles::parse("controller, broker").unwrap(), Roles::Combined);
        assert_eq!(Roles::parse("controller").unwrap(), Roles::ControllerOnly);
        assert_eq!(Roles::parse("broker").unwrap(), Roles::BrokerOnly);
        assert!(Roles::parse("").is_err());
        assert!(Roles::parse("broker,zookeeper").is_err());
    }

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut s = Settings::defaults();
        for (k, v) in pairs {
            s.set(k, v, "test");
        }
        s
    }

    #[test]
    fn a_broker_only_node_follows_but_is_not_a_voter() {
        let voters = "1@c1:9093,2@c2:9093,3@c3:9093";
        let s = settings(&[("controller.quorum.voters", voters)]);
        let quorum = quorum_config(&s, 4, Roles::BrokerOnly, None).unwrap();
        assert_eq!(quorum.voters.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
        // Listed as a voter, or with no voters to follow: refused.
        assert!(quorum_config(&s, 2, Roles::BrokerOnly, None).is_err());
        assert!(quorum_config(&settings(&[]), 4, Roles::BrokerOnly, None).is_err());
        // A controller must still be a voter.
        assert!(quorum_config(&s, 4, Roles::ControllerOnly, None).is_err());
    }
}
