//! `kafka-metadata-quorum describe` reports what the active controller saw: a voter's
//! LastFetchTimestamp is its last answer to the leader, so once the voter is killed it stops
//! advancing while the live voter's goes on, and its lag (offsets and time) grows.

mod common;

use std::time::{Duration, Instant};

use common::cluster::*;
use common::unique_topic;
use strata_tests::StrataNode;

fn quorum_tool(node: &StrataNode, what: &str) -> String {
    let (out, err) = quorum_describe(node, what);
    assert!(!out.is_empty(), "describe {what}: {err}");
    out
}

/// One `--replication` row.
#[derive(Debug, Clone, Copy)]
struct Row {
    lag: i64,
    last_fetch: i64,
    last_caught_up: i64,
}

/// The `--replication` rows by node id.
fn replication(node: &StrataNode) -> std::collections::BTreeMap<i32, Row> {
    let out = quorum_tool(node, "--replication");
    out.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some((
                f.first()?.parse().ok()?,
                Row {
                    lag: f.get(3)?.parse().ok()?,
                    last_fetch: f.get(4)?.parse().ok()?,
                    last_caught_up: f.get(5)?.parse().ok()?,
                },
            ))
        })
        .collect()
}

fn status_field(node: &StrataNode, name: &str) -> i64 {
    let out = quorum_tool(node, "--status");
    out.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    i64::try_from(since.as_millis()).expect("fits")
}

#[test]
fn a_dead_voter_stops_fetching_and_falls_behind() {
    let mut cluster = Cluster::start();
    let leader = active_controller(cluster.node(1));
    let mut followers = (1..=3).filter(|id| *id != leader);
    let (victim, live) = (followers.next().expect("f1"), followers.next().expect("f2"));

    // Healthy: every voter answered the leader moments ago and is caught up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let before = loop {
        let rows = replication(cluster.node(leader));
        let fresh = |id: i32| {
            rows.get(&id)
                .is_some_and(|r| r.last_fetch > now_ms() - 2_000 && r.last_caught_up > 0)
        };
        if fresh(victim) && fresh(live) {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "voters not reported fresh: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(before[&leader].last_fetch >= now_ms() - 5_000);

    cluster.node_mut(victim).kill9();
    let killed_at = now_ms();
    // The metadata log moves on without the victim.
    let topic = unique_topic("quorum");
    create_with_tool(cluster.node(leader), &topic, 3, 2, &[]);
    std::thread::sleep(Duration::from_secs(3));
    let first = replication(cluster.node(leader));
    std::thread::sleep(Duration::from_secs(2));
    create_with_tool(cluster.node(leader), &unique_topic("quorum"), 3, 2, &[]);
    let second = replication(cluster.node(leader));

    let dead = (first[&victim], second[&victim]);
    assert!(
        dead.0.last_fetch <= killed_at && dead.0.last_fetch == dead.1.last_fetch,
        "the dead voter's LastFetchTimestamp moved: {dead:?} (killed at {killed_at})"
    );
    assert!(
        dead.1.last_caught_up <= killed_at,
        "the dead voter counted as caught up after its death: {dead:?}"
    );
    assert!(
        dead.0.lag > 0 && dead.1.lag > dead.0.lag,
        "the dead voter's lag does not grow: {dead:?}"
    );
    let alive = (first[&live], second[&live]);
    assert!(
        alive.1.last_fetch > alive.0.last_fetch && alive.1.last_fetch > killed_at,
        "the live voter's LastFetchTimestamp does not advance: {alive:?}"
    );
    assert!(alive.1.lag <= 1, "the live voter lags: {alive:?}");

    // --status: the most lagging voter is the dead one, behind by as long as it is dead.
    let lag = status_field(cluster.node(leader), "MaxFollowerLag:");
    let lag_time = status_field(cluster.node(leader), "MaxFollowerLagTimeMs:");
    assert!(lag >= dead.1.lag, "MaxFollowerLag {lag}");
    assert!(
        lag_time >= now_ms() - killed_at - 1_000,
        "MaxFollowerLagTimeMs {lag_time} for a voter dead {} ms",
        now_ms() - killed_at
    );
}
