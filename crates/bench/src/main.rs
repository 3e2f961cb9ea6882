//! `strata-bench`: Strata's benchmark tool (issue 7, first part). librdkafka is the load
//! client, so figures are what users of real clients see.
//!
//! Starts a local cluster of the given binary (or targets `--bootstrap-server`), runs the
//! workloads — produce (acks=all RF 3, acks=1 RF 3, acks=1 RF 1) and consume from the beginning
//! — and prints a table: records/s, MB/s, produce latency p50/p99/p99.9/max, broker CPU-µs per
//! record (utime + stime of the broker processes over the workload ÷ records, only for a
//! cluster it started) and the client's own CPU share. `--json FILE` writes the same figures.
//! `--smoke` runs a tiny single-node round trip (CI checks that it runs; no timing asserted).
//!
//! Not done yet (issue 7): end-to-end latency at a fixed rate, failover, scale, start-up,
//! `--peers`, charts, progress bar.

mod cluster;
mod workloads;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use crate::cluster::{self_cpu_micros, LocalCluster};
use crate::workloads::{consume, create_topic, produce, Outcome};

#[derive(Parser, Debug)]
#[command(
    name = "strata-bench",
    about = "Benchmarks a Strata cluster with librdkafka"
)]
struct Args {
    /// Target an existing cluster instead of starting one.
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// The strata binary to start (default: next to this one).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Nodes to start.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Records per workload.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Partitions per topic.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only these produce workloads, by number in the plan (1 = acks=all RF 3, 2 = acks=1 RF 3,
    /// 3 = acks=1 RF 1); the last one run is consumed.
    #[arg(long, value_delimiter = ',')]
    only: Vec<usize>,
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

struct Measured {
    outcome: Outcome,
    broker_cpu_us: Option<u64>,
    client_cpu_us: u64,
}

fn measure(
    cluster: Option<&LocalCluster>,
    run: impl FnOnce() -> anyhow::Result<Outcome>,
) -> anyhow::Result<Measured> {
    let (broker_before, client_before) = (cluster.map(|c| c.cpu_micros()), self_cpu_micros());
    let outcome = run()?;
    Ok(Measured {
        broker_cpu_us: cluster
            .zip(broker_before)
            .map(|(c, before)| c.cpu_micros().saturating_sub(before)),
        client_cpu_us: self_cpu_micros().saturating_sub(client_before),
        outcome,
    })
}

fn print_table(rows: &[Measured]) {
    println!(
        "{:<28} {:>10} {:>12} {:>8} {:>9} {:>9} {:>9} {:>9} {:>12} {:>11}",
        "workload",
        "records",
        "records/s",
        "MB/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "broker µs/rec",
        "client CPU"
    );
    for m in rows {
        let o = &m.outcome;
        let lat = |i: usize| {
            o.latency_us
                .map_or("-".to_string(), |l| format!("{:.2}", l[i] as f64 / 1000.0))
        };
        let per_record = m.broker_cpu_us.map_or("-".to_string(), |c| {
            format!("{:.3}", c as f64 / o.records.max(1) as f64)
        });
        let client_share = m.client_cpu_us as f64 / o.elapsed.as_micros().max(1) as f64;
        println!(
            "{:<28} {:>10} {:>12.0} {:>8.1} {:>9} {:>9} {:>9} {:>9} {:>12} {:>10.2}c",
            o.name,
            o.records,
            o.records_per_sec(),
            o.bytes as f64 / o.elapsed.as_secs_f64().max(1e-9) / 1e6,
            lat(0),
            lat(1),
            lat(2),
            lat(3),
            per_record,
            client_share
        );
    }
}

fn to_json(rows: &[Measured]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|m| {
                let o = &m.outcome;
                serde_json::json!({
                    "workload": o.name,
                    "records": o.records,
                    "seconds": o.elapsed.as_secs_f64(),
                    "records_per_sec": o.records_per_sec(),
                    "mb_per_sec": o.bytes as f64 / o.elapsed.as_secs_f64().max(1e-9) / 1e6,
                    "latency_us": o.latency_us.map(|l| serde_json::json!({"p50": l[0], "p99": l[1], "p999": l[2], "max": l[3]})),
                    "broker_cpu_us_per_record": m.broker_cpu_us.map(|c| c as f64 / o.records.max(1) as f64),
                    "client_cpu_cores": m.client_cpu_us as f64 / o.elapsed.as_micros().max(1) as f64,
                })
            })
            .collect(),
    )
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args.nodes = 1;
        args.records = args.records.min(2_000);
        args.partitions = 2;
    }
    let cluster = match &args.bootstrap_server {
        Some(_) => None,
        None => {
            let bin = args.bin.clone().unwrap_or_else(default_binary);
            Some(LocalCluster::start(&bin, args.nodes, &[]).context("starting the cluster")?)
        }
    };
    let bootstrap = match (&args.bootstrap_server, &cluster) {
        (Some(b), _) => b.clone(),
        (None, Some(c)) => c.bootstrap(),
        (None, None) => unreachable!("a cluster is started when no bootstrap server is given"),
    };
    let replicated = args.nodes >= 3 || args.bootstrap_server.is_some();
    let mut plan: Vec<(&str, &str, i32)> = vec![("acks=1, RF 1", "1", 1)];
    if replicated && !args.smoke {
        plan.insert(0, ("acks=all, RF 3", "all", 3));
        plan.insert(1, ("acks=1, RF 3", "1", 3));
    }
    if !args.only.is_empty() {
        let keep: Vec<_> = plan
            .iter()
            .enumerate()
            .filter(|(i, _)| args.only.contains(&(i + 1)))
            .map(|(_, p)| *p)
            .collect();
        plan = keep;
    }
    let mut rows = Vec::new();
    for (i, (name, acks, rf)) in plan.iter().enumerate() {
        let topic = format!("bench-{i}-{}", std::process::id());
        let configs: &[(&str, &str)] = if *rf == 3 {
            &[("min.insync.replicas", "2")]
        } else {
            &[]
        };
        create_topic(&bootstrap, &topic, args.partitions, *rf, configs)?;
        let label = format!("produce {name}");
        rows.push(measure(cluster.as_ref(), || {
            produce(
                &bootstrap,
                &topic,
                args.partitions,
                args.records,
                args.size,
                acks,
                &label,
            )
        })?);
        if i == plan.len() - 1 {
            let label = format!("consume {name}");
            rows.push(measure(cluster.as_ref(), || {
                consume(&bootstrap, &topic, args.partitions, args.records, &label)
            })?);
        }
    }
    print_table(&rows);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&to_json(&rows))?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
