//! `kafka-metadata-quorum describe` output: Kafka 3.9's `--status` block and `--replication`
//! table (`MetadataQuorumCommand.handleDescribeStatus` / `handleDescribeReplication`).

use strata_client::{QuorumDescription, QuorumReplica};

use crate::describe::kafka_uuid_string;

/// Header of the `--replication` table.
const REPLICATION_HEADERS: [&str; 7] = [
    "NodeId",
    "DirectoryId",
    "LogEndOffset",
    "Lag",
    "LastFetchTimestamp",
    "LastCaughtUpTimestamp",
    "Status",
];

/// What Java's `Optional.get()` says when the leader is not among the voters (Kafka's tool
/// fails with exactly this).
pub const NO_LEADER_MESSAGE: &str = "No value present";

/// The leader's entry: the first voter whose id is the leader id, with its index.
fn leader(quorum: &QuorumDescription) -> Result<(usize, &QuorumReplica), String> {
    quorum
        .voters
        .iter()
        .enumerate()
        .find(|(_, v)| v.replica_id == quorum.leader_id)
        .ok_or_else(|| NO_LEADER_MESSAGE.to_string())
}

/// The `--status` block (no trailing newline; the caller prints it as one line like
/// `System.out.println`).
pub fn status(cluster_id: &str, quorum: &QuorumDescription) -> Result<String, String> {
    let (leader_index, leader) = leader(quorum)?;
    // Java's `Stream.min` keeps the first of equal elements.
    let (lagging_index, lagging) = quorum
        .voters
        .iter()
        .enumerate()
        .fold(None::<(usize, &QuorumReplica)>, |best, (i, v)| match best {
            Some((_, b)) if b.log_end_offset <= v.log_end_offset => best,
            _ => Some((i, v)),
        })
        .ok_or_else(|| NO_LEADER_MESSAGE.to_string())?;
    let max_follower_lag = leader.log_end_offset - lagging.log_end_offset;
    // Kafka compares the two entries by identity: the leader is "the most lagging" only when it
    // is the first voter with the smallest log end offset.
    let max_follower_lag_time_ms = if leader_index == lagging_index {
        0
    } else {
        match (
            leader.last_caught_up_timestamp,
            lagging.last_caught_up_timestamp,
        ) {
            (Some(l), Some(f)) => l - f,
            _ => -1,
        }
    };
    Ok(format!(
        "ClusterId:              {cluster_id}\n\
         LeaderId:               {}\n\
         LeaderEpoch:            {}\n\
         HighWatermark:          {}\n\
         MaxFollowerLag:         {max_follower_lag}\n\
         MaxFollowerLagTimeMs:   {max_follower_lag_time_ms}\n\
         CurrentVoters:          {}\n\
         CurrentObservers:       {}",
        quorum.leader_id,
        quorum.leader_epoch,
        quorum.high_watermark,
        replica_list(quorum, &quorum.voters),
        replica_list(quorum, &quorum.observers),
    ))
}

/// Kafka 3.9's voter/observer list:
/// `[{"id": 1, "directoryId": null, "endpoints": ["CONTROLLER://host:9093"]}, …]`.
fn replica_list(quorum: &QuorumDescription, replicas: &[QuorumReplica]) -> String {
    let entries: Vec<String> = replicas
        .iter()
        .map(|r| {
            let directory = if r.directory_id.is_nil() {
                "null".to_string()
            } else {
                format!("\"{}\"", kafka_uuid_string(&r.directory_id))
            };
            let mut entry = format!("{{\"id\": {}, \"directoryId\": {directory}", r.replica_id);
            if let Some(endpoints) = quorum.nodes.get(&r.replica_id).filter(|e| !e.is_empty()) {
                let quoted: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
                entry.push_str(&format!(", \"endpoints\": [{}]", quoted.join(", ")));
            }
            entry.push('}');
            entry
        })
        .collect();
    format!("[{}]", entries.join(", "))
}

/// The `--replication` table, one `\n`-terminated line per row. `human_readable_now_ms` is
/// the current time when `--human-readable` was given (timestamps become `N ms ago`).
pub fn replication(
    quorum: &QuorumDescription,
    human_readable_now_ms: Option<i64>,
) -> Result<String, String> {
    let (_, leader) = leader(quorum)?;
    let followers = quorum
        .voters
        .iter()
        .filter(|v| v.replica_id != quorum.leader_id);
    let mut rows = Vec::new();
    let groups: [(&str, Vec<&QuorumReplica>); 3] = [
        ("Leader", vec![leader]),
        ("Follower", followers.collect()),
        ("Observer", quorum.observers.iter().collect()),
    ];
    for (status, replicas) in groups {
        for r in replicas {
            let timestamp = |ts: Option<i64>, desc: &str| -> Result<String, String> {
                match (ts, human_readable_now_ms) {
                    (None, _) => Ok("-1".to_string()),
                    (Some(ts), Some(now)) => {
                        relative_time_ms(ts, desc, now).map(|ms| format!("{ms} ms ago"))
                    }
                    (Some(ts), None) => Ok(ts.to_string()),
                }
            };
            rows.push(vec![
                r.replica_id.to_string(),
                kafka_uuid_string(&r.directory_id),
                r.log_end_offset.to_string(),
                (leader.log_end_offset - r.log_end_offset).to_string(),
                timestamp(r.last_fetch_timestamp, "last fetch")?,
                timestamp(r.last_caught_up_timestamp, "last caught up")?,
                status.to_string(),
            ]);
        }
    }
    let headers: Vec<String> = REPLICATION_HEADERS.iter().map(|h| h.to_string()).collect();
    Ok(pretty_table(&headers, &rows))
}

/// Kafka's `MetadataQuorumCommand.relativeTimeMs`: how long ago `timestamp_ms` was, refusing
/// timestamps at or before the epoch or in the future.
pub fn relative_time_ms(timestamp_ms: i64, desc: &str, now_ms: i64) -> Result<i64, String> {
    if timestamp_ms > 0 && timestamp_ms <= now_ms {
        Ok(now_ms - timestamp_ms)
    } else {
        Err(format!(
            "Error while computing relative time, possible drift in system clock.\n\
             Current timestamp is {now_ms}, {desc} timestamp is {timestamp_ms}"
        ))
    }
}

/// Kafka's `ToolsUtils.prettyPrintTable`: every cell left-aligned and padded to its column's
/// widest cell, then followed by a tab (also after the last column).
pub fn pretty_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
        for (cell, width) in row.iter().zip(&widths) {
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use strata_client::RaftEndpoint;

    use super::*;

    const NOW: i64 = 1_717_000_000_000;

    fn replica(id: i32, leo: i64, fetch: Option<i64>, caught_up: Option<i64>) -> QuorumReplica {
        QuorumReplica {
            replica_id: id,
            directory_id: uuid::Uuid::nil(),
            log_end_offset: leo,
            last_fetch_timestamp: fetch,
            last_caught_up_timestamp: caught_up,
        }
    }

    fn endpoint(host: &str, port: u16) -> Vec<RaftEndpoint> {
        vec![RaftEndpoint {
            name: "CONTROLLER".into(),
            host: host.into(),
            port,
        }]
    }

    fn three_voters() -> QuorumDescription {
        QuorumDescription {
            leader_id: 2,
            leader_epoch: 7,
            high_watermark: 1234,
            voters: vec![
                replica(1, 1200, Some(NOW - 500), Some(NOW - 3000)),
                replica(2, 1234, Some(NOW), Some(NOW)),
                replica(3, 1234, Some(NOW - 10), Some(NOW - 10)),
            ],
            observers: vec![replica(4, 1230, Some(NOW - 20), None)],
            nodes: BTreeMap::from([
                (1, endpoint("ctl-1", 9093)),
                (2, endpoint("ctl-2", 9093)),
                (3, endpoint("::1", 9095)),
            ]),
        }
    }

    #[test]
    fn status_golden() {
        let out = status("MkU3OEVBNTcwNTJENDM2Qg", &three_voters()).unwrap();
        assert_eq!(
            out,
            "ClusterId:              MkU3OEVBNTcwNTJENDM2Qg\n\
             LeaderId:               2\n\
             LeaderEpoch:            7\n\
             HighWatermark:          1234\n\
             MaxFollowerLag:         34\n\
             MaxFollowerLagTimeMs:   3000\n\
             CurrentVoters:          [{\"id\": 1, \"directoryId\": null, \"endpoints\": [\"CONTROLLER://ctl-1:9093\"]}, \
             {\"id\": 2, \"directoryId\": null, \"endpoints\": [\"CONTROLLER://ctl-2:9093\"]}, \
             {\"id\": 3, \"directoryId\": null, \"endpoints\": [\"CONTROLLER://[::1]:9095\"]}]\n\
             CurrentObservers:       [{\"id\": 4, \"directoryId\": null}]"
        );
    }

    #[test]
    fn status_single_voter_and_directory_ids() {
        let mut q = QuorumDescription {
            leader_id: 1,
            leader_epoch: 1,
            high_watermark: 5,
            voters: vec![replica(1, 5, Some(NOW), Some(NOW))],
            observers: vec![],
            nodes: BTreeMap::new(),
        };
        q.voters[0].directory_id = uuid::Uuid::from_bytes([1; 16]);
        let out = status("c", &q).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[4], "MaxFollowerLag:         0");
        assert_eq!(lines[5], "MaxFollowerLagTimeMs:   0");
        assert_eq!(
            lines[6],
            "CurrentVoters:          [{\"id\": 1, \"directoryId\": \"AQEBAQEBAQEBAQEBAQEBAQ\"}]"
        );
        assert_eq!(lines[7], "CurrentObservers:       []");
    }

    #[test]
    fn status_lag_time_unknown_or_tied() {
        let mut q = three_voters();
        q.voters[0].last_caught_up_timestamp = None;
        assert!(status("c", &q)
            .unwrap()
            .contains("MaxFollowerLagTimeMs:   -1\n"));
        // A follower first in the list and tied with the leader is the "most lagging" one.
        let mut q = three_voters();
        q.voters.remove(0);
        q.voters.swap(0, 1);
        let out = status("c", &q).unwrap();
        assert!(out.contains("MaxFollowerLag:         0\nMaxFollowerLagTimeMs:   10\n"));
    }

    #[test]
    fn leader_missing_fails_like_optional_get() {
        let mut q = three_voters();
        q.leader_id = 9;
        assert_eq!(status("c", &q).unwrap_err(), "No value present");
        assert_eq!(replication(&q, None).unwrap_err(), "No value present");
    }

    #[test]
    fn replication_golden() {
        let out = replication(&three_voters(), None).unwrap();
        let expected = [
            "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t",
            "2     \tAAAAAAAAAAAAAAAAAAAAAA\t1234        \t0  \t1717000000000     \t1717000000000        \tLeader  \t",
            "1     \tAAAAAAAAAAAAAAAAAAAAAA\t1200        \t34 \t1716999999500     \t1716999997000        \tFollower\t",
            "3     \tAAAAAAAAAAAAAAAAAAAAAA\t1234        \t0  \t1716999999990     \t1716999999990        \tFollower\t",
            "4     \tAAAAAAAAAAAAAAAAAAAAAA\t1230        \t4  \t1716999999980     \t-1                   \tObserver\t",
        ];
        assert_eq!(out, expected.map(|l| format!("{l}\n")).concat());
    }

    #[test]
    fn replication_human_readable_golden() {
        let out = replication(&three_voters(), Some(NOW)).unwrap();
        let expected = [
            "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t",
            "2     \tAAAAAAAAAAAAAAAAAAAAAA\t1234        \t0  \t0 ms ago          \t0 ms ago             \tLeader  \t",
            "1     \tAAAAAAAAAAAAAAAAAAAAAA\t1200        \t34 \t500 ms ago        \t3000 ms ago          \tFollower\t",
            "3     \tAAAAAAAAAAAAAAAAAAAAAA\t1234        \t0  \t10 ms ago         \t10 ms ago            \tFollower\t",
            "4     \tAAAAAAAAAAAAAAAAAAAAAA\t1230        \t4  \t20 ms ago         \t-1                   \tObserver\t",
        ];
        assert_eq!(out, expected.map(|l| format!("{l}\n")).concat());
    }

    #[test]
    fn relative_time_refuses_clock_drift() {
        assert_eq!(relative_time_ms(NOW - 5, "x", NOW), Ok(5));
        assert_eq!(relative_time_ms(NOW, "x", NOW), Ok(0));
        assert_eq!(
            relative_time_ms(NOW + 1, "last fetch", NOW).unwrap_err(),
            format!(
                "Error while computing relative time, possible drift in system clock.\n\
                 Current timestamp is {NOW}, last fetch timestamp is {}",
                NOW + 1
            )
        );
        assert!(relative_time_ms(0, "x", NOW).is_err());
    }
}
