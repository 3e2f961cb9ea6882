//! `strata-bench`: Strata's benchmark tool. librdkafka is the load client, so the
//! figures are what users of real clients see.
//!
//! It starts a local cluster of the given binary (three nodes by default) or targets
//! `--bootstrap-server`, runs the workloads asked for and prints a table (records/s, MB/s,
//! latency p50/p99/p99.9/max, broker CPU-µs per record from /proc for brokers it started, and
//! the client's own CPU share); `--json` writes every figure, `--chart` a PNG of the
//! end-to-end latency distributions. `--peers` runs the single-node comparison with Tansu and
//! noida-db. `--smoke` is a tiny run that only checks the tool works (CI); no timing is
//! asserted anywhere.
//!
//! Workloads (`--workloads`, default `throughput,e2e`; `--all` adds the long ones):
//! - `throughput`: produce acks=all RF 3, acks=1 RF 3, acks=1 RF 1; consume with one
//!   consumer, then with a group of three;
//! - `consume`: one consumer reads `--records` of an existing `--topic` (profiling);
//! - `e2e`: end-to-end latency at a fixed rate (default: half of the acks=all maximum);
//! - `failover`: kill -9 of a partition leader under load → first acknowledged produce;
//! - `scale`: 10,000 partitions (time, RSS, Metadata latency), then a low-rate produce to all;
//! - `startup`: restart of a node holding `--startup-gb` GB of log;
//! - `peers`: only the side-by-side comparison (as `--peers`, without the other workloads).
//!
//! Environment, for looking into a run: `STRATA_BENCH_CLIENT_DEBUG` (librdkafka debug contexts,
//! e.g. `fetch,msg`), `STRATA_BENCH_CONSUMER_CONFIG` (`key=value;…` librdkafka settings over
//! the consumers' own), `STRATA_BENCH_KEEP_DATA=1` (keep the started cluster's data).

mod cluster;
mod failover;
mod peers;
mod report;
mod scale;
mod startup;
mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster::{rss_bytes, LocalCluster};
use crate::report::{measure, measure_marked, print_header, print_rows, Measured};
use crate::workloads::{consume, consume_group, create_topic, end_to_end, produce};

#[derive(Parser, Debug)]
#[command(name = "strata-bench", about = "Benchmarks Strata with librdkafka")]
struct Args {
    /// Target an existing cluster instead of starting one (no broker CPU figures then).
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// The strata binary to start (default: the one next to this binary).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Nodes to start.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Records per throughput workload.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Partitions per topic.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// Workloads to run: throughput, e2e, failover, scale, startup.
    #[arg(long, value_delimiter = ',', default_values_t = ["throughput".to_string(), "e2e".to_string()])]
    workloads: Vec<String>,
    /// Every workload.
    #[arg(long)]
    all: bool,
    /// Only these produce rows of the throughput workload (1 = acks=all RF 3, 2 = acks=1 RF 3,
    /// 3 = acks=1 RF 1); the last one run is consumed.
    #[arg(long, value_delimiter = ',')]
    only: Vec<usize>,
    /// End-to-end rate in records/s (default: half the acks=all maximum measured, else 20,000).
    #[arg(long)]
    e2e_rate: Option<u64>,
    /// End-to-end duration in seconds.
    #[arg(long, default_value_t = 20)]
    e2e_seconds: u64,
    /// Failover runs.
    #[arg(long, default_value_t = 10)]
    failover_runs: usize,
    /// Failover: which node each run kills.
    #[arg(long, value_enum, default_value_t = failover::Victim::Leader)]
    failover_victim: failover::Victim,
    /// Scale: topics × partitions.
    #[arg(long, default_value_t = 100)]
    scale_topics: usize,
    /// Scale: partitions per topic.
    #[arg(long, default_value_t = 100)]
    scale_partitions: i32,
    /// Scale: produce rate over all partitions (records/s) and seconds.
    #[arg(long, default_value_t = 100)]
    scale_rate: u64,
    /// Scale: produce seconds.
    #[arg(long, default_value_t = 20)]
    scale_seconds: u64,
    /// Start-up: GB of log to restart with.
    #[arg(long, default_value_t = 10.0)]
    startup_gb: f64,
    /// Run the single-node comparison with Tansu and noida-db (installs them with
    /// bench/peers.sh).
    #[arg(long)]
    peers: bool,
    /// Rounds of the peer comparison (medians are reported).
    #[arg(long, default_value_t = 3)]
    peer_rounds: usize,
    /// The peers script.
    #[arg(long, default_value = "bench/peers.sh")]
    peers_script: PathBuf,
    /// With `--bootstrap-server`: broker process ids whose CPU to count (e.g. a node started
    /// by hand to run under `perf`).
    #[arg(long, value_delimiter = ',')]
    broker_pids: Vec<u32>,
    /// `consume` workload: the existing topic to read `--records` from with one consumer
    /// (for profiling the fetch path on its own).
    #[arg(long)]
    topic: Option<String>,
    /// Write every figure as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw the end-to-end latency distributions here (PNG).
    #[arg(long)]
    chart: Option<PathBuf>,
    /// A tiny single-node run that only checks the tool works.
    #[arg(long)]
    smoke: bool,
}

fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("strata")))
        .unwrap_or_else(|| PathBuf::from("strata"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Writes the figures so far to `--json` (after every workload, so a later failure keeps them).
fn save(args: &Args, json: &serde_json::Map<String, serde_json::Value>) -> anyhow::Result<()> {
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(json.clone()))?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.workloads.iter().any(|w| w == "peers") {
        args.peers = true;
    }
    if args.smoke {
        args.nodes = 1;
        args.records = args.records.min(2_000);
        args.partitions = 2;
        args.e2e_rate = Some(1_000);
        args.e2e_seconds = 3;
        args.peers = false;
    }
    let wanted = |w: &str| args.all || args.workloads.iter().any(|x| x == w);
    for w in &args.workloads {
        if ![
            "throughput",
            "consume",
            "e2e",
            "failover",
            "scale",
            "startup",
            "peers",
        ]
        .contains(&w.as_str())
        {
            bail!(
                "unknown workload {w} (throughput, consume, e2e, failover, scale, startup, peers)"
            );
        }
    }
    let binary = args.bin.clone().unwrap_or_else(default_binary);
    let mut json = serde_json::Map::new();
    let mut histograms = Vec::new();
    let steps = ["throughput", "e2e", "failover", "scale", "startup"]
        .iter()
        .filter(|w| wanted(w))
        .count()
        + usize::from(args.peers);
    let bar = ProgressBar::new(u64::try_from(steps).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));

    // `--workloads peers` runs only the side-by-side comparison: no cluster idles beside it.
    let peers_only = !args.all && args.workloads.iter().all(|w| w == "peers");
    let mut cluster = match &args.bootstrap_server {
        Some(_) => None,
        None if peers_only => None,
        None => {
            Some(LocalCluster::start(&binary, args.nodes, &[]).context("starting the cluster")?)
        }
    };
    let bootstrap = match (&args.bootstrap_server, &cluster) {
        (Some(b), _) => b.clone(),
        (None, Some(c)) => c.bootstrap(),
        (None, None) if peers_only => String::new(),
        (None, None) => bail!("no cluster"),
    };
    let pids = cluster
        .as_ref()
        .map(LocalCluster::pids)
        .unwrap_or_else(|| args.broker_pids.clone());
    // `--nodes` (3 by default) also says what an external cluster is: `--nodes 1` runs only
    // the unreplicated rows against it.
    let replicated = args.nodes >= 3;
    let mut rows: Vec<Measured> = Vec::new();
    let mut acks_all_max = None;

    if wanted("throughput") {
        bar.set_message("throughput");
        let mut plan: Vec<(&str, &str, i32)> = vec![("acks=1, RF 1", "1", 1)];
        if replicated && !args.smoke {
            plan.insert(0, ("acks=all, RF 3", "all", 3));
            plan.insert(1, ("acks=1, RF 3", "1", 3));
        }
        if !args.only.is_empty() {
            plan = plan
                .iter()
                .enumerate()
                .filter(|(i, _)| args.only.contains(&(i + 1)))
                .map(|(_, p)| *p)
                .collect();
        }
        for (i, (name, acks, rf)) in plan.iter().enumerate() {
            let topic = format!("bench-{i}-{}", std::process::id());
            let configs: &[(&str, &str)] = if *rf == 3 {
                &[("min.insync.replicas", "2")]
            } else {
                &[]
            };
            create_topic(&bootstrap, &topic, args.partitions, *rf, configs)?;
            let label = format!("produce {name}");
            let m = measure(&pids, || {
                produce(
                    &bootstrap,
                    &topic,
                    args.partitions,
                    args.records,
                    args.size,
                    acks,
                    &label,
                )
            })?;
            if *acks == "all" {
                acks_all_max = Some(m.outcome.records_per_sec());
            }
            rows.push(m);
            if i == plan.len() - 1 {
                let label = format!("consume {name}, one consumer");
                let mut first = Duration::ZERO;
                rows.push(measure_marked(&pids, |mark| {
                    let (outcome, startup) = consume(
                        &bootstrap,
                        &topic,
                        args.partitions,
                        args.records,
                        &[],
                        &label,
                        mark,
                    )?;
                    first = startup;
                    Ok(outcome)
                })?);
                println!(
                    "  consume, one consumer: first record {:.0} ms after assign (librdkafka's leader and offset look-ups; not counted, as the group's join is not)",
                    ms(first)
                );
                json.insert("consume_first_record_ms".into(), ms(first).into());
                let members = if args.smoke { 1 } else { 3 };
                let label = format!("consume {name}, group of {members}");
                let mut joined = Duration::ZERO;
                rows.push(measure_marked(&pids, |mark| {
                    let (outcome, join) =
                        consume_group(&bootstrap, &topic, members, args.records, &label, mark)?;
                    joined = join;
                    Ok(outcome)
                })?);
                json.insert("group_join_ms".into(), ms(joined).into());
            }
        }
        bar.inc(1);
    }

    if args.workloads.iter().any(|w| w == "consume") {
        let Some(topic) = &args.topic else {
            bail!("the consume workload reads an existing topic: give --topic");
        };
        bar.set_message("consume");
        let label = format!("consume {topic}, one consumer");
        rows.push(measure_marked(&pids, |mark| {
            let (outcome, first) = consume(
                &bootstrap,
                topic,
                args.partitions,
                args.records,
                &[],
                &label,
                mark,
            )?;
            println!(
                "  {label}: first record {:.0} ms after assign (not counted)",
                ms(first)
            );
            Ok(outcome)
        })?);
        bar.inc(1);
    }

    if wanted("e2e") {
        let rate = args
            .e2e_rate
            .or(acks_all_max.map(|m| (m / 2.0) as u64))
            .unwrap_or(peers::E2E_RATE);
        bar.set_message(format!("end-to-end at {rate}/s"));
        let (rf, acks, configs): (i32, &str, &[(&str, &str)]) = if replicated {
            (3, "all", &[("min.insync.replicas", "2")])
        } else {
            (1, "1", &[])
        };
        let topic = format!("bench-e2e-{}", std::process::id());
        create_topic(&bootstrap, &topic, args.partitions, rf, configs)?;
        let label = format!("end-to-end acks={acks} RF {rf} at {rate}/s");
        let mut histogram = None;
        rows.push(measure(&pids, || {
            let (outcome, h) = end_to_end(
                &bootstrap,
                &topic,
                args.partitions,
                rate,
                Duration::from_secs(args.e2e_seconds),
                args.size,
                acks,
                &label,
            )?;
            histogram = Some(h);
            Ok(outcome)
        })?);
        if let Some(h) = histogram {
            histograms.push((format!("strata, {label}"), h));
        }
        bar.inc(1);
    }
    json.insert("workloads".into(), report::rows_json(&rows));
    if !rows.is_empty() {
        bar.suspend(|| {
            print_header();
            print_rows(&rows);
        });
    }
    save(&args, &json)?;

    if wanted("failover") {
        let outcome = (|| -> anyhow::Result<()> {
            bar.set_message("failover");
            let Some(c) = cluster.as_mut().filter(|c| c.nodes.len() >= 3) else {
                bail!("failover needs a cluster of three nodes started by the tool");
            };
            let f = failover::run(c, args.failover_runs, args.failover_victim)?;
            let stats = |runs: &[Duration]| {
                let mut sorted = runs.to_vec();
                sorted.sort();
                (
                    sorted.first().copied().unwrap_or_default(),
                    sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
                    sorted.last().copied().unwrap_or_default(),
                )
            };
            let (lmin, lmed, lmax) = stats(&f.leader_runs);
            println!(
                "failover (kill -9 of the leader → new leader in Metadata), {} runs: min {:.0} ms, median {:.0} ms, max {:.0} ms",
                f.leader_runs.len(), ms(lmin), ms(lmed), ms(lmax)
            );
            let mut sorted = f.runs.clone();
            sorted.sort();
            let (min, median, max) = (
                sorted.first().copied().unwrap_or_default(),
                sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
                sorted.last().copied().unwrap_or_default(),
            );
            println!(
            "failover (kill -9 of the leader → first acknowledged acks=all produce), {} runs: min {:.0} ms, median {:.0} ms, max {:.0} ms; background load {} acknowledged, {} failed",
            sorted.len(), ms(min), ms(median), ms(max), f.background_acked, f.background_failed
        );
            json.insert(
            "failover".into(),
            serde_json::json!({
                "runs_ms": f.runs.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                    "new_leader_in_metadata_ms": f.leader_runs.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "victim": format!("{:?}", args.failover_victim).to_lowercase(),
                "victim_was_controller": f.victim_was_controller,
                "min_ms": ms(min), "median_ms": ms(median), "max_ms": ms(max),
                "background_acked": f.background_acked, "background_failed": f.background_failed,
            }),
        );
            Ok(())
        })();
        if let Err(error) = outcome {
            // One workload failing (e.g. a timeout at scale) is a result, not the end of the run.
            eprintln!("failover failed: {error:#}");
            json.insert(
                "failover".into(),
                serde_json::json!({ "error": format!("{error:#}") }),
            );
        }
        save(&args, &json)?;
        bar.inc(1);
    }

    if wanted("scale") {
        // Restarted nodes (failover) have new pids.
        let pids = cluster
            .as_ref()
            .map(LocalCluster::pids)
            .unwrap_or_else(|| args.broker_pids.clone());
        let outcome = (|| -> anyhow::Result<()> {
            bar.set_message("scale");
            let s = scale::run(
                &bootstrap,
                &pids,
                args.scale_topics,
                args.scale_partitions,
                args.scale_rate,
                Duration::from_secs(args.scale_seconds),
            )?;
            let rss = |v: &[u64]| {
                v.iter()
                    .map(|b| format!("{:.0}", mib(*b)))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            println!(
            "scale: {} partitions (RF 3) created and led in {:.1} s; RSS per node {} MiB; Metadata (all topics) p50 {:.1} ms, max {:.1} ms; after the produce RSS {} MiB",
            s.partitions,
            s.create.as_secs_f64(),
            rss(&s.rss_after_create),
            ms(s.metadata_latency.0),
            ms(s.metadata_latency.1),
            rss(&s.rss_after_produce)
        );
            let produce_row = s.produce.clone();
            print_header();
            print_rows(std::slice::from_ref(&produce_row));
            json.insert(
            "scale".into(),
            serde_json::json!({
                "partitions": s.partitions,
                "create_seconds": s.create.as_secs_f64(),
                "rss_mib_after_create": s.rss_after_create.iter().map(|b| mib(*b)).collect::<Vec<_>>(),
                "metadata_p50_ms": ms(s.metadata_latency.0),
                "metadata_max_ms": ms(s.metadata_latency.1),
                "produce": report::rows_json(std::slice::from_ref(&produce_row)),
                "rss_mib_after_produce": s.rss_after_produce.iter().map(|b| mib(*b)).collect::<Vec<_>>(),
            }),
        );
            Ok(())
        })();
        if let Err(error) = outcome {
            // One workload failing (e.g. a timeout at scale) is a result, not the end of the run.
            eprintln!("scale failed: {error:#}");
            json.insert(
                "scale".into(),
                serde_json::json!({ "error": format!("{error:#}") }),
            );
        }
        save(&args, &json)?;
        bar.inc(1);
    }
    if let Some(c) = &cluster {
        json.insert(
            "rss_mib_at_end".into(),
            c.pids()
                .iter()
                .map(|p| mib(rss_bytes(*p)))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    drop(cluster);

    if wanted("startup") {
        let outcome = (|| -> anyhow::Result<()> {
            bar.set_message(format!("start-up with {} GB", args.startup_gb));
            let s = startup::run(&binary, args.startup_gb)?;
            println!(
            "start-up with {:.1} GB of log: after SIGTERM ready {:.2} s, serving {:.2} s; after kill -9 ready {:.2} s, serving {:.2} s",
            s.log_bytes as f64 / 1e9,
            s.clean.0.as_secs_f64(),
            s.clean.1.as_secs_f64(),
            s.killed.0.as_secs_f64(),
            s.killed.1.as_secs_f64()
        );
            json.insert(
            "startup".into(),
            serde_json::json!({
                "log_bytes": s.log_bytes,
                "clean_ready_s": s.clean.0.as_secs_f64(), "clean_serving_s": s.clean.1.as_secs_f64(),
                "killed_ready_s": s.killed.0.as_secs_f64(), "killed_serving_s": s.killed.1.as_secs_f64(),
            }),
        );
            Ok(())
        })();
        if let Err(error) = outcome {
            // One workload failing (e.g. a timeout at scale) is a result, not the end of the run.
            eprintln!("startup failed: {error:#}");
            json.insert(
                "startup".into(),
                serde_json::json!({ "error": format!("{error:#}") }),
            );
        }
        save(&args, &json)?;
        bar.inc(1);
    }

    let mut peer_rows = Vec::new();
    let mut peer_errors: Vec<String> = Vec::new();
    if args.peers {
        peers::install(&args.peers_script)?;
        let all = [peers::Peer::Strata, peers::Peer::Tansu, peers::Peer::Noida];
        let mut rounds: Vec<Vec<Vec<Measured>>> = vec![Vec::new(); all.len()];
        let mut peer_histograms: Vec<Vec<hdrhistogram::Histogram<u64>>> =
            vec![Vec::new(); all.len()];
        for round in 0..args.peer_rounds {
            for (i, peer) in all.iter().enumerate() {
                bar.set_message(format!(
                    "peers: round {} of {}, {}",
                    round + 1,
                    args.peer_rounds,
                    peer.name()
                ));
                // A broker failing a round (noida-db can answer a fetch with more than
                // librdkafka accepts) is reported and left out of its medians; the
                // comparison goes on.
                match peers::round(*peer, &binary, &args.peers_script, args.records) {
                    Ok((rows, h)) => {
                        rounds[i].push(rows);
                        peer_histograms[i].push(h);
                    }
                    Err(error) => {
                        let error = format!("{}, round {}: {error:#}", peer.name(), round + 1);
                        bar.suspend(|| eprintln!("peers: {error}"));
                        peer_errors.push(error);
                    }
                }
            }
        }
        for (i, peer) in all.iter().enumerate() {
            peer_rows.extend(peers::medians(&rounds[i]));
            // The chart shows each broker's median-p99 end-to-end run.
            let mut hs = std::mem::take(&mut peer_histograms[i]);
            hs.sort_by_key(|h| h.value_at_quantile(0.99));
            if let Some(h) = hs.get(hs.len() / 2) {
                histograms.push((
                    format!(
                        "{}, single node, end-to-end at {}/s",
                        peer.name(),
                        peers::E2E_RATE
                    ),
                    h.clone(),
                ));
            }
        }
        json.insert("peers_median".into(), report::rows_json(&peer_rows));
        json.insert("peers_errors".into(), peer_errors.clone().into());
        bar.inc(1);
    }
    bar.finish_and_clear();

    if !peer_rows.is_empty() {
        println!(
            "\nside by side, one node each, median of {} rounds:",
            args.peer_rounds
        );
        print_header();
        print_rows(&peer_rows);
    }
    save(&args, &json)?;
    if let Some(path) = &args.chart {
        report::latency_chart(
            path,
            "Strata end-to-end latency (produce → consume)",
            &histograms,
        )?;
    }
    Ok(())
}
