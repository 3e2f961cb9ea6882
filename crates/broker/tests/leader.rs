//! A partition leader's acks, high watermark and ISR logic, driven deterministically against a
//! fake controller (the broker sees the controller only through `ControllerClient`): no Raft,
//! no network, followers are calls to `replica_fetch_in_session`.

// A test: unwrapping is how it fails loudly (outside #[test] functions too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use strata_broker::{
    Acks, BoxFuture, Broker, BrokerConfig, BrokerError, ControllerClient, ReplicaFetchPartition,
    SessionMemo,
};
use strata_client::records::encode_batch;
use strata_client::{Compression, ProduceRecord};
use strata_metadata::records::{
    BrokerRegistration, ConfigRecord, ConfigResourceType, MetadataRecord, PartitionRecord,
    TopicRecord,
};
use strata_metadata::requests::{AlterPartitionRequest, CreateTopicSpec, CreatedTopic};
use strata_metadata::{ControllerError, MetadataImage};
use tokio::sync::watch;
use uuid::Uuid;

const TOPIC: &str = "t";
const LEADER: i32 = 1;

/// A controller that records the ISR changes it is asked for and accepts them.
struct FakeController {
    images: watch::Sender<Arc<MetadataImage>>,
    alter_requests: Mutex<Vec<AlterPartitionRequest>>,
}

impl ControllerClient for FakeController {
    fn images(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.images.subscribe()
    }

    fn alter_partition(
        &self,
        request: AlterPartitionRequest,
    ) -> BoxFuture<'_, Result<(), ControllerError>> {
        self.alter_requests.lock().expect("lock").push(request);
        Box::pin(async { Ok(()) })
    }

    fn create_topics(
        &self,
        specs: Vec<CreateTopicSpec>,
    ) -> BoxFuture<'_, Vec<Result<CreatedTopic, ControllerError>>> {
        let refused = specs
            .iter()
            .map(|_| Err(ControllerError::InvalidRequest("not in this test".into())))
            .collect();
        Box::pin(async move { refused })
    }

    fn allocate_producer_ids(
        &self,
        _broker_id: i32,
    ) -> BoxFuture<'_, Result<Range<i64>, ControllerError>> {
        Box::pin(async { Ok(0..1000) })
    }
}

/// Three registered brokers and topic `t` with one partition led by node 1, with `isr` and
/// `min.insync.replicas`.
fn image(topic_id: Uuid, isr: &[i32], min_insync: Option<&str>) -> MetadataImage {
    let mut image = MetadataImage::new("cluster".to_string());
    let mut offset = 0;
    let mut apply = |record: MetadataRecord| {
        image.apply(offset, &record);
        offset += 1;
    };
    for id in 1..=3 {
        apply(MetadataRecord::RegisterBroker(BrokerRegistration {
            broker_id: id,
            incarnation_id: Uuid::from_u128(u128::from(id.unsigned_abs())),
            broker_epoch: 1,
            endpoints: Vec::new(),
            rack: None,
            fenced: false,
        }));
    }
    apply(MetadataRecord::Topic(TopicRecord {
        name: TOPIC.to_string(),
        topic_id,
    }));
    if let Some(min) = min_insync {
        apply(MetadataRecord::Config(ConfigRecord {
            resource_type: ConfigResourceType::Topic,
            resource_name: TOPIC.to_string(),
            name: "min.insync.replicas".to_string(),
            value: Some(min.to_string()),
        }));
    }
    apply(MetadataRecord::Partition(PartitionRecord {
        topic_id,
        partition: 0,
        replicas: vec![1, 2, 3],
        isr: isr.to_vec(),
        leader: LEADER,
        leader_epoch: 0,
        partition_epoch: 0,
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    }));
    image
}

struct Leader {
    broker: Arc<Broker>,
    controller: Arc<FakeController>,
    topic_id: Uuid,
    _dir: tempfile::TempDir,
}

fn leader(isr: &[i32], min_insync: Option<&str>, lag_ms: u64) -> Leader {
    let dir = tempfile::tempdir().expect("temp dir");
    let topic_id = Uuid::from_u128(42);
    let (images, _) = watch::channel(Arc::new(image(topic_id, isr, min_insync)));
    let controller = Arc::new(FakeController {
        images,
        alter_requests: Mutex::new(Vec::new()),
    });
    let mut config = BrokerConfig::with_defaults(LEADER, dir.path().to_path_buf());
    config.replica_lag_time_max_ms = lag_ms;
    let broker = Broker::start(config, controller.clone()).expect("broker starts");
    Leader {
        broker,
        controller,
        topic_id,
        _dir: dir,
    }
}

/// One batch of `n` records.
fn batch(n: usize) -> Bytes {
    let records: Vec<ProduceRecord> = (0..n)
        .map(|i| ProduceRecord {
            key: None,
            value: Some(Bytes::from(format!("v{i}"))),
            headers: Vec::new(),
            timestamp: 1_700_000_000_000,
        })
        .collect();
    encode_batch(TOPIC, 0, &records, None, Compression::None).expect("encode")
}

impl Leader {
    fn high_watermark(&self) -> i64 {
        self.broker
            .partition(TOPIC, 0)
            .expect("hosted")
            .high_watermark()
    }

    /// Follower `replica` fetches from `offset` (its log end).
    async fn follower_fetches(&self, replica: i32, offset: i64) {
        let request = ReplicaFetchPartition {
            topic: TOPIC.to_string(),
            topic_id: self.topic_id,
            partition: 0,
            current_leader_epoch: 0,
            fetch_offset: offset,
            last_fetched_epoch: if offset > 0 { 0 } else { -1 },
            log_start_offset: 0,
            high_watermark: 0,
        };
        let mut memo = SessionMemo::default();
        let results = self
            .broker
            .replica_fetch_in_session(
                replica,
                &[request],
                &[true],
                &mut memo,
                Duration::ZERO,
                1 << 20,
                1 << 20,
            )
            .await;
        for (_, result) in results {
            assert_eq!(
                result.error, None,
                "follower {replica} fetching at {offset}"
            );
        }
    }

    fn alter_requests(&self) -> Vec<Vec<i32>> {
        self.controller
            .alter_requests
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.new_isr.clone())
            .collect()
    }
}

#[tokio::test]
async fn the_high_watermark_waits_for_every_isr_member() {
    let l = leader(&[1, 2, 3], None, 30_000);
    let (info, epoch) = l
        .broker
        .append_without_wake(TOPIC, 0, batch(5), Acks::All)
        .expect("append");
    assert_eq!((info.base_offset, info.last_offset, epoch), (0, 4, 0));
    assert_eq!(l.high_watermark(), 0, "nothing replicated yet");

    // An acks=all write is not acknowledged before the ISR has it.
    let waiting = l
        .broker
        .wait_for_replication(TOPIC, 0, 5, epoch, Duration::from_millis(50))
        .await;
    assert!(
        matches!(waiting, Err(BrokerError::RequestTimedOut { .. })),
        "{waiting:?}"
    );

    l.follower_fetches(2, 0).await;
    l.follower_fetches(2, 5).await;
    assert_eq!(
        l.high_watermark(),
        0,
        "node 3 is in the ISR and has nothing"
    );
    l.follower_fetches(3, 3).await;
    assert_eq!(l.high_watermark(), 3, "the ISR's minimum log end");
    l.follower_fetches(3, 5).await;
    assert_eq!(l.high_watermark(), 5);
    l.broker
        .wait_for_replication(TOPIC, 0, 5, epoch, Duration::from_millis(50))
        .await
        .expect("replicated");
}

#[tokio::test]
async fn acks_all_needs_min_insync_replicas() {
    let l = leader(&[1], Some("2"), 30_000);
    match l.broker.append_without_wake(TOPIC, 0, batch(1), Acks::All) {
        Err(BrokerError::NotEnoughReplicas { isr: 1, min: 2, .. }) => {}
        other => panic!("acks=all with an ISR of 1 under min.insync.replicas=2: {other:?}"),
    }
    // acks=1 does not need the ISR.
    l.broker
        .append_without_wake(TOPIC, 0, batch(1), Acks::Leader)
        .expect("acks=1");
    // Alone in the ISR, the leader's own log end is the high watermark.
    assert_eq!(l.high_watermark(), 1);
}

#[tokio::test]
async fn a_caught_up_follower_is_proposed_for_the_isr() {
    let l = leader(&[1], None, 30_000);
    l.broker
        .append_without_wake(TOPIC, 0, batch(3), Acks::Leader)
        .expect("append");
    l.follower_fetches(2, 1).await;
    assert!(l.alter_requests().is_empty(), "not caught up yet");
    l.follower_fetches(2, 3).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(l.alter_requests(), vec![vec![1, 2]]);
}

#[tokio::test]
async fn a_silent_follower_leaves_the_isr() {
    let l = leader(&[1, 2, 3], None, 100);
    l.broker
        .append_without_wake(TOPIC, 0, batch(2), Acks::Leader)
        .expect("append");
    l.follower_fetches(2, 2).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Node 2 keeps up; node 3 never fetched within replica.lag.time.max.ms.
    l.follower_fetches(2, 2).await;
    l.broker.shrink_lagging_isrs();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(l.alter_requests(), vec![vec![1, 2]]);
}
