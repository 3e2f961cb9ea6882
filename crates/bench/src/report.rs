//! Measuring a workload's CPU cost, and reporting: the table, JSON and the latency chart.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;

use crate::cluster::{cpu_micros_of, self_cpu_micros};
use crate::workloads::Outcome;

/// A workload's outcome with the CPU it cost.
#[derive(Clone, Debug)]
pub struct Measured {
    /// What the client saw.
    pub outcome: Outcome,
    /// utime + stime of the broker processes over the workload, when we know their pids.
    pub broker_cpu_us: Option<u64>,
    /// This process's (the load client's) CPU time over the workload.
    pub client_cpu_us: u64,
}

impl Measured {
    /// Broker CPU microseconds per record.
    pub fn broker_us_per_record(&self) -> Option<f64> {
        self.broker_cpu_us
            .map(|c| c as f64 / self.outcome.records.max(1) as f64)
    }

    /// The client's CPU use in cores.
    pub fn client_cores(&self) -> f64 {
        self.client_cpu_us as f64 / self.outcome.elapsed.as_micros().max(1) as f64
    }
}

/// Runs `run`, charging the CPU time of `pids` (the brokers; empty when unknown) and of this
/// process to it.
pub fn measure(
    pids: &[u32],
    run: impl FnOnce() -> anyhow::Result<Outcome>,
) -> anyhow::Result<Measured> {
    measure_marked(pids, |_| run())
}

/// Where a measurement starts when that is not where its closure starts. The consume workloads
/// start at their first record, as Apache Kafka's consumer-perf-test reports its fetch rate
/// without the time to join the group: before it, librdkafka looks up the leaders and offsets
/// (and backs off 500 ms when an assigned partition's leader connection is not up yet), and
/// the brokers only idle. The first fetch answer (up to a MiB per partition) is served and
/// parsed before the mark, yet its records count: a bias of a few percent in the consume rows'
/// favour on a 1 M-record run, partly offset by partitions whose first fetch starts later.
#[derive(Clone, Debug)]
pub struct Mark {
    pids: Arc<Vec<u32>>,
    /// When the measurement started, with the brokers' and this process's CPU then.
    at: Arc<Mutex<Option<(Instant, u64, u64)>>>,
}

impl Mark {
    /// Starts the measurement now; only the first call counts.
    pub fn start(&self) {
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        if at.is_none() {
            *at = Some((Instant::now(), cpu_micros_of(&self.pids), self_cpu_micros()));
        }
    }

    /// When the first [`Mark::start`] happened, if one did.
    pub fn started(&self) -> Option<Instant> {
        self.at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|(at, _, _)| at)
    }
}

/// Like [`measure`], but the CPU is counted from the first [`Mark::start`] in `run` (from the
/// start of `run` when it never calls it).
pub fn measure_marked(
    pids: &[u32],
    run: impl FnOnce(&Mark) -> anyhow::Result<Outcome>,
) -> anyhow::Result<Measured> {
    let mark = Mark {
        pids: Arc::new(pids.to_vec()),
        at: Arc::default(),
    };
    let before = (cpu_micros_of(pids), self_cpu_micros());
    let outcome = run(&mark)?;
    let (broker_before, client_before) = mark
        .at
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .map_or(before, |(_, broker, client)| (broker, client));
    Ok(Measured {
        broker_cpu_us: (!pids.is_empty())
            .then(|| cpu_micros_of(pids).saturating_sub(broker_before)),
        client_cpu_us: self_cpu_micros().saturating_sub(client_before),
        outcome,
    })
}

/// The header of [`print_rows`].
pub fn print_header() {
    println!(
        "{:<40} {:>10} {:>12} {:>8} {:>9} {:>9} {:>9} {:>9} {:>13} {:>10}",
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
}

/// One table row per measured workload.
pub fn print_rows(rows: &[Measured]) {
    for m in rows {
        let o = &m.outcome;
        let lat = |i: usize| {
            o.latency_us
                .map_or("-".to_string(), |l| format!("{:.2}", l[i] as f64 / 1000.0))
        };
        println!(
            "{:<40} {:>10} {:>12.0} {:>8.1} {:>9} {:>9} {:>9} {:>9} {:>13} {:>9.2}c",
            o.name,
            o.records,
            o.records_per_sec(),
            o.bytes as f64 / o.elapsed.as_secs_f64().max(1e-9) / 1e6,
            lat(0),
            lat(1),
            lat(2),
            lat(3),
            m.broker_us_per_record()
                .map_or("-".to_string(), |c| format!("{c:.3}")),
            m.client_cores()
        );
    }
}

/// The JSON form of measured workloads.
pub fn rows_json(rows: &[Measured]) -> serde_json::Value {
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
                    "broker_cpu_us_per_record": m.broker_us_per_record(),
                    "client_cpu_cores": m.client_cores(),
                })
            })
            .collect(),
    )
}

/// Fonts tried for the chart's text (plotters draws no text without one).
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Draws the latency distributions (percentile → latency, log scale in "nines") as a PNG.
pub fn latency_chart(
    path: &Path,
    title: &str,
    series: &[(String, Histogram<u64>)],
) -> anyhow::Result<()> {
    use plotters::prelude::*;
    if let Some(bytes) = FONTS.iter().find_map(|f| std::fs::read(f).ok()) {
        // plotters keeps the font for the process's lifetime.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| anyhow::anyhow!("registering the chart font"))?;
    }
    // x = -log10(1 - q): 0 → p0, 1 → p90, 2 → p99, 3 → p99.9, 4 → p99.99.
    let points: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, h)| {
            let pts = (0..=400)
                .map(|i| {
                    let x = f64::from(i) / 100.0;
                    let q = 1.0 - 10f64.powf(-x);
                    (x, h.value_at_quantile(q) as f64 / 1000.0)
                })
                .collect();
            (name.clone(), pts)
        })
        .collect();
    let y_max = points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(1.0f64, f64::max)
        * 1.1;
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..4f64, (0.01f64..y_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log scale)")
        .x_label_formatter(&|x| match x.round() as i64 {
            0 => "p0".into(),
            1 => "p90".into(),
            2 => "p99".into(),
            3 => "p99.9".into(),
            4 => "p99.99".into(),
            _ => String::new(),
        })
        .x_labels(5)
        .draw()?;
    for (i, (name, pts)) in points.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
