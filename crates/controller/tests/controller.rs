//! Controller behaviour against a real on-disk metadata log.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use strata_controller::{
    ConfigOp, ConfigOpKind, Controller, ControllerConfig, ControllerError, CreatePartitionsSpec,
    CreateTopicSpec, TopicRef,
};
use strata_metadata::config::ConfigSource;
use strata_metadata::{BrokerRegistration, ConfigResourceType, Endpoint};
use uuid::Uuid;

fn config(dir: &Path) -> ControllerConfig {
    ControllerConfig::new(1, "test-cluster", dir)
}

fn reg(id: i32, rack: Option<&str>) -> BrokerRegistration {
    BrokerRegistration {
        broker_id: id,
        incarnation_id: Uuid::new_v4(),
        broker_epoch: -1,
        endpoints: vec![Endpoint {
            listener_name: "PLAINTEXT".into(),
            host: "localhost".into(),
            port: 9092,
            security_protocol: "PLAINTEXT".into(),
        }],
        rack: rack.map(str::to_string),
        fenced: true,
    }
}

/// Registers a broker and heartbeats once it has caught up, which unfences it (as a broker
/// process does).
async fn join(c: &Controller, registration: BrokerRegistration) {
    let (id, incarnation) = (registration.broker_id, registration.incarnation_id);
    c.register_broker(registration).await.unwrap();
    c.heartbeat(id, incarnation, c.image().offset)
        .await
        .unwrap();
}

async fn single_node(dir: &Path) -> Controller {
    let c = Controller::open(config(dir)).await.unwrap();
    join(&c, reg(1, None)).await;
    c
}

fn spec(name: &str, partitions: i32, rf: i16) -> CreateTopicSpec {
    CreateTopicSpec {
        num_partitions: partitions,
        replication_factor: rf,
        ..CreateTopicSpec::new(name)
    }
}

fn set(name: &str, v: &str) -> ConfigOp {
    ConfigOp {
        name: name.into(),
        op: ConfigOpKind::Set(v.into()),
    }
}

#[tokio::test]
async fn register_broker_unfences_with_offset_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    let img = c.image();
    let b = &img.brokers[&1];
    assert!(!b.fenced);
    assert_eq!(b.broker_epoch, 0);
    assert_eq!(img.offset, 1);
}

#[tokio::test]
async fn create_topic_defaults_and_publish() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.num_partitions = 3;
    cfg.broker_defaults
        .insert("log.retention.hours".into(), "24".into());
    let c = Controller::open(cfg).await.unwrap();
    join(&c, reg(1, None)).await;
    let mut rx = c.subscribe();
    let mut s = CreateTopicSpec::new("orders");
    s.configs
        .push(("cleanup.policy".into(), Some("compact".into())));
    let res = c.create_topics(vec![s], false).await;
    let created = res[0].as_ref().unwrap();
    assert_eq!((created.num_partitions, created.replication_factor), (3, 1));
    let find = |n: &str| {
        created
            .configs
            .iter()
            .find(|(k, _, _)| k == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        find("cleanup.policy"),
        (
            "cleanup.policy".into(),
            "compact".into(),
            ConfigSource::TopicOverride
        )
    );
    assert_eq!(
        find("retention.ms"),
        (
            "retention.ms".into(),
            "86400000".into(),
            ConfigSource::StaticBroker
        )
    );
    assert_eq!(find("segment.bytes").2, ConfigSource::Default);

    assert!(rx.has_changed().unwrap());
    let img = rx.borrow_and_update().clone();
    let t = img.topic("orders").unwrap();
    assert_eq!(t.topic_id, created.topic_id);
    assert_eq!(t.partitions.len(), 3);
    for (i, p) in &t.partitions {
        assert_eq!(p.partition, *i);
        assert_eq!(
            (p.replicas.clone(), p.isr.clone(), p.leader),
            (vec![1], vec![1], 1)
        );
        assert_eq!((p.leader_epoch, p.partition_epoch), (0, 0));
    }
    assert_eq!(
        img.topic_configs("orders")
            .get("cleanup.policy")
            .map(String::as_str),
        Some("compact")
    );
    let described = c.describe_topic_configs("orders").unwrap();
    assert!(described.iter().any(|(d, v, s)| d.name == "cleanup.policy"
        && v == "compact"
        && *s == ConfigSource::TopicOverride));
    assert!(matches!(
        c.describe_topic_configs("nope"),
        Err(ControllerError::UnknownTopicOrPartition(_))
    ));
}

#[tokio::test]
async fn validate_only_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    let before = c.image().offset;
    let res = c.create_topics(vec![spec("a", 2, 1)], true).await;
    assert_eq!(res[0].as_ref().unwrap().num_partitions, 2);
    assert!(c.image().topic("a").is_none());
    assert_eq!(c.image().offset, before);
}

fn msg<T: std::fmt::Debug>(r: &Result<T, ControllerError>) -> String {
    r.as_ref().unwrap_err().to_string()
}

#[tokio::test]
async fn create_topic_validation_errors() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    assert!(c.create_topics(vec![spec("a_b", 1, 1)], false).await[0].is_ok());

    let mut with_assign = spec("assign", 1, -1);
    with_assign.assignments = vec![(0, vec![1])];
    let mut with_assign_rf = spec("assign2", -1, 1);
    with_assign_rf.assignments = vec![(0, vec![1])];
    let mut bad_cfg = spec("badcfg", 1, 1);
    bad_cfg
        .configs
        .push(("segment.bytes".into(), Some("13".into())));
    let mut unknown_cfg = spec("unknowncfg", 1, 1);
    unknown_cfg
        .configs
        .push(("no.such".into(), Some("1".into())));
    let mut null_cfg = spec("nullcfg", 1, 1);
    null_cfg.configs.push(("retention.ms".into(), None));

    let res = c
        .create_topics(
            vec![
                spec("dup", 1, 1),
                spec("bad name", 1, 1),
                spec("a_b", 1, 1),
                spec("a.b", 1, 1),
                spec("p0", 0, 1),
                spec("pneg", -2, 1),
                spec("rf0", 1, 0),
                spec("rf3", 1, 3),
                with_assign,
                with_assign_rf,
                bad_cfg,
                unknown_cfg,
                null_cfg,
                spec("dup", 1, 1),
                spec("__cluster_metadata", 1, 1),
                spec("", 1, 1),
                spec("ok", 1, 1),
                spec("huge", 10_001, 1),
            ],
            false,
        )
        .await;
    use ControllerError as E;
    assert!(matches!(&res[0], Err(E::InvalidRequest(m)) if m == "Duplicate topic name."));
    assert!(matches!(&res[13], Err(E::InvalidRequest(_))));
    assert!(matches!(&res[1], Err(E::InvalidTopic { .. })));
    assert!(msg(&res[1]).contains("contains a character other than ASCII alphanumerics"));
    assert!(matches!(&res[2], Err(E::TopicAlreadyExists(n)) if n == "a_b"));
    assert_eq!(msg(&res[2]), "Topic 'a_b' already exists.");
    assert!(matches!(&res[3], Err(E::InvalidTopic { .. })));
    assert_eq!(
        msg(&res[3]),
        "Topic 'a.b' collides with existing topic: a_b"
    );
    assert!(matches!(&res[4], Err(E::InvalidPartitions(_))));
    assert!(matches!(&res[5], Err(E::InvalidPartitions(_))));
    assert!(matches!(&res[6], Err(E::InvalidReplicationFactor(_))));
    assert!(matches!(&res[7], Err(E::InvalidReplicationFactor(_))));
    assert_eq!(
        msg(&res[7]),
        "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."
    );
    assert!(
        matches!(&res[8], Err(E::InvalidRequest(m)) if m.contains("numPartitions was not set to -1"))
    );
    assert!(
        matches!(&res[9], Err(E::InvalidRequest(m)) if m.contains("replication factor was not set to -1"))
    );
    assert!(
        matches!(&res[10], Err(E::InvalidConfig(m)) if m == "Invalid value 13 for configuration segment.bytes: Value must be at least 14")
    );
    assert!(
        matches!(&res[11], Err(E::InvalidConfig(m)) if m == "Unknown topic config name: no.such")
    );
    assert!(matches!(&res[12], Err(E::InvalidConfig(m)) if m.contains("Null value not supported")));
    assert!(matches!(&res[14], Err(E::InvalidRequest(m)) if m.contains("is prohibited")));
    assert!(matches!(&res[15], Err(E::InvalidTopic { .. })));
    assert!(res[16].is_ok());
    assert!(matches!(&res[17], Err(E::InvalidPartitions(_))));
    let img = c.image();
    let names: Vec<_> = img.topics().map(|t| t.name.clone()).collect();
    assert_eq!(names, vec!["a_b".to_string(), "ok".to_string()]);
}

#[tokio::test]
async fn collisions_within_one_request_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    let res = c
        .create_topics(vec![spec("x.y", 1, 1), spec("x_y", 1, 1)], false)
        .await;
    assert!(res[0].is_ok());
    assert!(matches!(&res[1], Err(ControllerError::InvalidTopic { .. })));
}

#[tokio::test]
async fn manual_assignments_and_multi_broker_placement() {
    let dir = tempfile::tempdir().unwrap();
    let c = Controller::open(config(dir.path())).await.unwrap();
    for (id, rack) in [(1, "a"), (2, "b"), (3, "c")] {
        join(&c, reg(id, Some(rack))).await;
    }
    let res = c.create_topics(vec![spec("r3", 6, 3)], false).await;
    assert_eq!(res[0].as_ref().unwrap().replication_factor, 3);
    let img = c.image();
    let leaders: std::collections::BTreeSet<i32> = img
        .topic("r3")
        .unwrap()
        .partitions
        .values()
        .map(|p| p.leader)
        .collect();
    assert_eq!(leaders.len(), 3, "leaders spread over all brokers");

    let assigned = |name: &str, a: Vec<(i32, Vec<i32>)>| {
        let mut s = spec(name, -1, -1);
        s.assignments = a;
        s
    };
    let res = c
        .create_topics(
            vec![
                assigned("m-ok", vec![(0, vec![2, 3]), (1, vec![3, 1])]),
                assigned("m-unknown", vec![(0, vec![9])]),
                assigned("m-twice", vec![(0, vec![1, 1])]),
                assigned("m-inconsistent", vec![(0, vec![1, 2]), (1, vec![3])]),
                assigned("m-gap", vec![(0, vec![1]), (2, vec![2])]),
                assigned("m-dup-part", vec![(0, vec![1]), (0, vec![2])]),
                assigned("m-empty", vec![(0, vec![])]),
            ],
            false,
        )
        .await;
    assert!(res[0].is_ok(), "{:?}", res[0]);
    let img = c.image();
    let p1 = &img.topic("m-ok").unwrap().partitions[&1];
    assert_eq!((p1.replicas.clone(), p1.leader), (vec![3, 1], 3));
    let expect = [
        "The manual partition assignment includes broker 9, but no such broker is registered.",
        "The manual partition assignment includes the broker 1 more than once.",
        "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).",
        "partitions should be a consecutive 0-based integer sequence",
        "Found multiple manual partition assignments for partition 0",
        "The manual partition assignment includes an empty replica list.",
    ];
    for (r, m) in res[1..].iter().zip(expect) {
        assert!(
            matches!(r, Err(ControllerError::InvalidReplicaAssignment(x)) if x == m),
            "{r:?} vs {m}"
        );
    }
}

#[tokio::test]
async fn create_partitions_rules() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    c.create_topics(vec![spec("t", 3, 1)], false).await[0]
        .as_ref()
        .unwrap();
    let cp = |topic: &str, count: i32, assignments: Option<Vec<Vec<i32>>>| CreatePartitionsSpec {
        topic: topic.into(),
        count,
        assignments,
    };
    let res = c
        .create_partitions(vec![cp("t", 2, None), cp("t2", 5, None)], false)
        .await;
    assert_eq!(
        msg(&res[0]),
        "The topic t currently has 3 partition(s); 2 would not be an increase."
    );
    assert!(matches!(
        &res[0],
        Err(ControllerError::InvalidPartitions(_))
    ));
    assert!(matches!(
        &res[1],
        Err(ControllerError::UnknownTopicOrPartition(_))
    ));
    let res = c.create_partitions(vec![cp("t", 3, None)], false).await;
    assert_eq!(msg(&res[0]), "Topic already has 3 partition(s).");
    let res = c
        .create_partitions(vec![cp("t", 5, Some(vec![vec![1]]))], false)
        .await;
    assert!(
        matches!(&res[0], Err(ControllerError::InvalidReplicaAssignment(m)) if m.contains("Attempted to add 2 additional partition(s), but only 1"))
    );
    let res = c
        .create_partitions(vec![cp("t", 4, Some(vec![vec![1, 1]]))], false)
        .await;
    assert!(matches!(
        &res[0],
        Err(ControllerError::InvalidReplicaAssignment(_))
    ));
    let res = c
        .create_partitions(vec![cp("t", 4, None), cp("t", 6, None)], false)
        .await;
    assert!(matches!(&res[0], Err(ControllerError::InvalidRequest(_))));

    // validate_only changes nothing.
    assert!(c.create_partitions(vec![cp("t", 4, None)], true).await[0].is_ok());
    assert_eq!(c.image().topic("t").unwrap().partitions.len(), 3);

    assert!(c.create_partitions(vec![cp("t", 4, None)], false).await[0].is_ok());
    assert!(c
        .create_partitions(vec![cp("t", 5, Some(vec![vec![1]]))], false)
        .await[0]
        .is_ok());
    let img = c.image();
    let t = img.topic("t").unwrap();
    assert_eq!(
        t.partitions.keys().copied().collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(t.partitions[&4].leader, 1);
}

#[tokio::test]
async fn delete_by_name_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    let res = c
        .create_topics(
            vec![spec("a", 1, 1), spec("b", 1, 1), spec("c", 1, 1)],
            false,
        )
        .await;
    let b_id = res[1].as_ref().unwrap().topic_id;
    let c_id = res[2].as_ref().unwrap().topic_id;
    c.alter_configs(
        ConfigResourceType::Topic,
        "a".into(),
        vec![set("retention.ms", "1000")],
        true,
        false,
    )
    .await
    .unwrap();
    let unknown = Uuid::new_v4();
    let res = c
        .delete_topics(vec![
            TopicRef::Name("a".into()),
            TopicRef::Id(b_id),
            TopicRef::Name("missing".into()),
            TopicRef::Id(unknown),
            TopicRef::Id(c_id),
            TopicRef::Name("c".into()),
        ])
        .await;
    assert_eq!(res[0].as_ref().unwrap().0, "a");
    assert_eq!(res[1].as_ref().unwrap(), &("b".to_string(), b_id));
    assert!(matches!(
        &res[2],
        Err(ControllerError::UnknownTopicOrPartition(_))
    ));
    assert!(matches!(&res[3], Err(ControllerError::UnknownTopicId(id)) if *id == unknown));
    assert!(res[4].is_ok());
    assert!(matches!(&res[5], Err(ControllerError::InvalidRequest(_))));
    let img = c.image();
    assert_eq!(img.topic_count(), 0);
    assert!(
        img.topic_configs("a").is_empty(),
        "configs go with the topic"
    );
    // Duplicates.
    let res = c
        .delete_topics(vec![TopicRef::Name("x".into()), TopicRef::Name("x".into())])
        .await;
    assert!(res.iter().all(
        |r| matches!(r, Err(ControllerError::InvalidRequest(m)) if m == "Duplicate topic name.")
    ));
    // The name can be reused, with a new id.
    let res = c.create_topics(vec![spec("b", 1, 1)], false).await;
    assert_ne!(res[0].as_ref().unwrap().topic_id, b_id);
}

#[tokio::test]
async fn alter_configs_incremental_and_legacy() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    c.create_topics(vec![spec("t", 1, 1)], false).await[0]
        .as_ref()
        .unwrap();
    let alter = |ops: Vec<ConfigOp>, incremental: bool| {
        let c = c.clone();
        async move {
            c.alter_configs(
                ConfigResourceType::Topic,
                "t".into(),
                ops,
                incremental,
                false,
            )
            .await
        }
    };
    let op = |name: &str, op: ConfigOpKind| ConfigOp {
        name: name.into(),
        op,
    };
    let cfg = || c.image().topic_configs("t");

    alter(
        vec![set("retention.ms", "1000"), set("segment.ms", "50")],
        true,
    )
    .await
    .unwrap();
    assert_eq!(cfg().len(), 2);
    alter(vec![op("segment.ms", ConfigOpKind::Delete)], true)
        .await
        .unwrap();
    assert_eq!(cfg().keys().collect::<Vec<_>>(), vec!["retention.ms"]);
    // APPEND starts from the default ("delete") when unset.
    alter(
        vec![op("cleanup.policy", ConfigOpKind::Append("compact".into()))],
        true,
    )
    .await
    .unwrap();
    assert_eq!(cfg()["cleanup.policy"], "delete,compact");
    alter(
        vec![op("cleanup.policy", ConfigOpKind::Append("compact".into()))],
        true,
    )
    .await
    .unwrap();
    assert_eq!(cfg()["cleanup.policy"], "delete,compact");
    alter(
        vec![op(
            "cleanup.policy",
            ConfigOpKind::Subtract("delete".into()),
        )],
        true,
    )
    .await
    .unwrap();
    assert_eq!(cfg()["cleanup.policy"], "compact");

    let e = alter(
        vec![op("retention.ms", ConfigOpKind::Append("5".into()))],
        true,
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Can't APPEND to key retention.ms because its type is not LIST."
    );
    let e = alter(
        vec![op("cleanup.policy", ConfigOpKind::Append("bogus".into()))],
        true,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ControllerError::InvalidConfig(_)));
    let e = alter(vec![set("no.such", "1")], true).await.unwrap_err();
    assert_eq!(e.to_string(), "Unknown topic config name: no.such");
    let e = alter(vec![set("segment.ms", "0")], true).await.unwrap_err();
    assert!(matches!(e, ControllerError::InvalidConfig(_)));
    let e = alter(
        vec![
            set("segment.ms", "5"),
            op("segment.ms", ConfigOpKind::Delete),
        ],
        true,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ControllerError::InvalidRequest(_)));
    assert_eq!(
        cfg()["cleanup.policy"],
        "compact",
        "failed ops change nothing"
    );

    // validate_only.
    c.alter_configs(
        ConfigResourceType::Topic,
        "t".into(),
        vec![set("segment.ms", "9")],
        true,
        true,
    )
    .await
    .unwrap();
    assert!(!cfg().contains_key("segment.ms"));

    // Legacy AlterConfigs replaces the whole set.
    alter(vec![set("segment.bytes", "1048576")], false)
        .await
        .unwrap();
    assert_eq!(
        cfg().into_iter().collect::<Vec<_>>(),
        vec![("segment.bytes".to_string(), "1048576".to_string())]
    );

    let e = c
        .alter_configs(
            ConfigResourceType::Topic,
            "missing".into(),
            vec![set("retention.ms", "1")],
            true,
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ControllerError::UnknownTopicOrPartition(_)));

    // Broker resources.
    c.alter_configs(
        ConfigResourceType::Broker,
        "".into(),
        vec![set("log.retention.ms", "5000")],
        true,
        false,
    )
    .await
    .unwrap();
    assert_eq!(c.image().broker_configs("")["log.retention.ms"], "5000");
    let e = c
        .alter_configs(
            ConfigResourceType::Broker,
            "1".into(),
            vec![set("log.segment.bytes", "1")],
            true,
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ControllerError::InvalidConfig(_)));
    let e = c
        .alter_configs(
            ConfigResourceType::Broker,
            "x".into(),
            vec![set("a", "1")],
            true,
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ControllerError::InvalidRequest(_)));
}

#[tokio::test]
async fn replay_round_trip_gives_same_image() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    let mut s = spec("kept", 2, 1);
    s.configs.push(("retention.ms".into(), Some("123".into())));
    c.create_topics(vec![s, spec("gone", 1, 1)], false).await;
    c.create_partitions(
        vec![CreatePartitionsSpec {
            topic: "kept".into(),
            count: 4,
            assignments: None,
        }],
        false,
    )
    .await;
    c.delete_topics(vec![TopicRef::Name("gone".into())]).await;
    c.alter_configs(
        ConfigResourceType::Topic,
        "kept".into(),
        vec![set("segment.ms", "77")],
        true,
        false,
    )
    .await
    .unwrap();
    c.allocate_producer_ids(1).await.unwrap();
    let before = c.image();
    c.shutdown().await;
    drop(c);
    let reopened = Controller::open(config(dir.path())).await.unwrap();
    assert_eq!(*reopened.image(), *before);
    assert_eq!(reopened.image().topic("kept").unwrap().partitions.len(), 4);
}

#[tokio::test]
async fn restart_from_snapshot_and_log_tail_keeps_everything() {
    // Snapshots every 5 entries: the restart loads a snapshot and replays the entries after it.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.quorum.snapshot_every_entries = 5;
    let c = Controller::open(cfg.clone()).await.unwrap();
    join(&c, reg(1, None)).await;
    for i in 0..12 {
        c.create_topics(vec![spec(&format!("snap{i}"), 2, 1)], false)
            .await[0]
            .as_ref()
            .unwrap();
    }
    let before = c.image();
    c.shutdown().await;
    drop(c);
    assert!(
        dir.path().join("__cluster_metadata-0/raft").exists(),
        "the Raft store lives under the metadata log dir"
    );
    let c = Controller::open(cfg).await.unwrap();
    c.wait_for_leader(std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(c.image().topic_count(), 12);
    assert_eq!(*c.image(), *before);
    c.create_topics(vec![spec("after", 1, 1)], false).await[0]
        .as_ref()
        .unwrap();
}

#[tokio::test]
async fn producer_id_blocks_are_monotonic_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    assert_eq!(c.allocate_producer_ids(1).await.unwrap(), 0..1000);
    assert_eq!(c.allocate_producer_ids(1).await.unwrap(), 1000..2000);
    assert!(matches!(
        c.allocate_producer_ids(7).await,
        Err(ControllerError::BrokerIdNotRegistered(7))
    ));
    c.shutdown().await;
    drop(c);
    let c = Controller::open(config(dir.path())).await.unwrap();
    // Re-registering after restart keeps the counter.
    join(&c, reg(1, None)).await;
    assert_eq!(c.allocate_producer_ids(1).await.unwrap(), 2000..3000);
}

#[tokio::test]
async fn concurrent_creates_are_serialised() {
    let dir = tempfile::tempdir().unwrap();
    let c = single_node(dir.path()).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.create_topics(vec![spec(&format!("t{}", i % 8), 1, 1)], false)
                .await
        }));
    }
    let mut ok = 0;
    let mut exists = 0;
    for t in tasks {
        match &t.await.unwrap()[0] {
            Ok(_) => ok += 1,
            Err(ControllerError::TopicAlreadyExists(_)) => exists += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, exists), (8, 8));
    c.shutdown().await;
    drop(c);
    let c = Controller::open(config(dir.path())).await.unwrap();
    assert_eq!(c.image().topic_count(), 8);
}

#[test]
fn controller_handle_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Controller>();
}
