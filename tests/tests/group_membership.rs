//! Group membership as librdkafka exercises it: consumers that change their subscription in
//! quick succession (dropping the member ids the coordinator hands out with
//! MEMBER_ID_REQUIRED) still get their assignment within a session timeout, and of two static
//! members sharing a `group.instance.id` the older is fenced (FENCED_INSTANCE_ID, fatal) while
//! the newer keeps consuming.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{create_topic, producer, send_all, unique_topic};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use strata_tests::{wire, StrataNode};

/// The broker's minimum (`group.min.session.timeout.ms`), so a pending member id expires soon.
const SESSION_TIMEOUT_MS: u64 = 6_000;

fn member(node: &StrataNode, group: &str, extra: &[(&str, &str)]) -> BaseConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", node.bootstrap())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", SESSION_TIMEOUT_MS.to_string())
        .set("heartbeat.interval.ms", "500")
        // The rebalance timeout: a join that waited for it would take five minutes.
        .set("max.poll.interval.ms", "300000")
        .set("fetch.wait.max.ms", "100")
        // Every member gets partitions (range would leave the third idle with 2-partition
        // topics), so an assignment shows who is in the group.
        .set("partition.assignment.strategy", "roundrobin");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config.create().expect("consumer")
}

/// A client's first JoinGroup (v5) for `group`, whose MEMBER_ID_REQUIRED answer it then drops:
/// the coordinator holds a pending member id that nobody will ever join with.
fn take_a_member_id_and_drop_it(node: &StrataNode, group: &str) {
    const JOIN_GROUP: i16 = 11;
    const MEMBER_ID_REQUIRED: i16 = 79;
    let mut request = wire::header_v1(JOIN_GROUP, 5, 7);
    request
        .string(group)
        .i32(i32::try_from(SESSION_TIMEOUT_MS).expect("fits"))
        .i32(300_000)
        .string("")
        .null_string()
        .string("consumer")
        .i32(1)
        .string("roundrobin")
        .bytes(b"");
    let mut stream = wire::connect(node.addr()).expect("connect");
    wire::send(&mut stream, &wire::frame(&request.buf)).expect("send JoinGroup");
    let wire::ReadOutcome::Frame(response) =
        wire::read_frame(&mut stream, Duration::from_secs(10)).expect("read")
    else {
        panic!("no JoinGroup response");
    };
    let mut r = wire::Reader::new(&response);
    let _correlation = r.i32().expect("correlation id");
    let _throttle = r.i32().expect("throttle");
    assert_eq!(r.i16().expect("error code"), MEMBER_ID_REQUIRED);
}

fn assigned(c: &BaseConsumer) -> BTreeSet<(String, i32)> {
    c.assignment()
        .map(|tpl| {
            tpl.elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fast_subscription_changes_settle_within_a_session_timeout() {
    let node = StrataNode::start_with(&[("group.initial.rebalance.delay.ms", "0")]);
    let topics: Vec<String> = (0..8).map(|_| unique_topic("churn")).collect();
    for t in &topics {
        create_topic(&node, t, 2);
    }
    let group = unique_topic("churn-group");
    let consumers: Vec<BaseConsumer> = (0..3).map(|_| member(&node, &group, &[])).collect();
    // Each consumer subscribes to ever different topic sets, barely polling in between: its
    // JoinGroup answers (MEMBER_ID_REQUIRED among them) arrive after it moved on.
    for round in 0..12 {
        for (i, c) in consumers.iter().enumerate() {
            let set: Vec<&str> = topics
                .iter()
                .skip((round + i) % topics.len())
                .take(1 + (round % 3))
                .map(String::as_str)
                .collect();
            c.subscribe(&set).expect("subscribe");
            let _ = c.poll(Duration::from_millis(5));
        }
        if round % 4 == 0 {
            for c in &consumers {
                c.unsubscribe();
            }
        }
    }
    // However the client's timing falls, at least one id is handed out and never used.
    take_a_member_id_and_drop_it(&node, &group);
    let everything: Vec<&str> = topics.iter().map(String::as_str).collect();
    for c in &consumers {
        c.subscribe(&everything).expect("subscribe");
    }
    let settled_at = Instant::now();
    let limit = Duration::from_millis(SESSION_TIMEOUT_MS) + Duration::from_secs(4);
    let wanted = topics.len() * 2;
    loop {
        for c in &consumers {
            let _ = c.poll(Duration::from_millis(20));
        }
        let sets: Vec<_> = consumers.iter().map(assigned).collect();
        let total: BTreeSet<_> = sets.iter().flatten().cloned().collect();
        let each_has_some = sets.iter().all(|s| !s.is_empty());
        let disjoint = sets.iter().map(BTreeSet::len).sum::<usize>() == total.len();
        if each_has_some && disjoint && total.len() == wanted {
            break;
        }
        assert!(
            settled_at.elapsed() < limit,
            "after {:?} the members hold {:?} of {wanted} partitions (a join waited for member \
             ids nobody uses)",
            settled_at.elapsed(),
            sets.iter().map(BTreeSet::len).collect::<Vec<_>>()
        );
    }
    eprintln!(
        "assignment complete {:?} after the last subscribe",
        settled_at.elapsed()
    );
}

/// Polls `c` for `wait`, returning the values read.
fn read_for(c: &BaseConsumer, wait: Duration) -> Vec<String> {
    let until = Instant::now() + wait;
    let mut values = Vec::new();
    while Instant::now() < until {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
            values.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
    }
    values
}

#[test]
fn a_replaced_static_member_is_fenced_and_the_new_one_keeps_consuming() {
    let node = StrataNode::start_with(&[("group.initial.rebalance.delay.ms", "0")]);
    let topic = unique_topic("static");
    create_topic(&node, &topic, 2);
    let group = unique_topic("static-group");
    let statik = [("group.instance.id", "instance-1")];
    let old = member(&node, &group, &statik);
    old.subscribe(&[&topic]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(20);
    while assigned(&old).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the first instance got no assignment"
        );
        let _ = old.poll(Duration::from_millis(50));
    }

    // The same instance starts elsewhere (a restarted pod whose old process lingers).
    let new = member(&node, &group, &statik);
    new.subscribe(&[&topic]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = old.poll(Duration::from_millis(20));
        let _ = new.poll(Duration::from_millis(20));
        if old.client().fatal_error().is_some() && assigned(&new).len() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "old fatal error {:?}, new assignment {:?}",
            old.client().fatal_error(),
            assigned(&new)
        );
    }
    let (code, message) = old.client().fatal_error().expect("fatal");
    assert_eq!(code, RDKafkaErrorCode::FencedInstanceId, "{message}");

    // The old process keeps polling (as a lingering one would): the new one is not fenced
    // in turn, and reads what is produced.
    let p = producer(&node, &[]);
    let values: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
    send_all(
        &p,
        values
            .iter()
            .map(|v| FutureRecord::to(&topic).payload(v.as_bytes()))
            .collect(),
    );
    let mut read = Vec::new();
    let until = Instant::now() + Duration::from_secs(20);
    while read.len() < values.len() && Instant::now() < until {
        let _ = old.poll(Duration::from_millis(10));
        read.extend(read_for(&new, Duration::from_millis(200)));
    }
    read.sort();
    let mut expected = values.clone();
    expected.sort();
    assert_eq!(read, expected);
    // A few more heartbeats' worth of time: still the member.
    let _ = read_for(&old, Duration::from_secs(2));
    let _ = read_for(&new, Duration::from_secs(1));
    assert!(
        new.client().fatal_error().is_none(),
        "the new instance was fenced: {:?}",
        new.client().fatal_error()
    );
    assert_eq!(assigned(&new).len(), 2);
}
